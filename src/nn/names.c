/*
 * Arrays of owned name strings: the names a data set and a net's schema keep
 * (inputs, targets, classes).  One copy of the rules both follow.
 */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

void bp_names_free(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

bp_status bp_names_copy(char ***out, int n, const char *const *names, const char *what,
                        size_t max_len)
{
    *out = NULL;
    if (!names || n == 0)
        return BP_OK;
    char **c = calloc((size_t)n, sizeof *c);
    if (!c)
        return bp_error(BP_ERR_NOMEM, "out of memory copying %d %s names", n, what);
    for (int i = 0; i < n; i++) {
        size_t len = names[i] ? strlen(names[i]) : 0;
        if (!names[i] || (max_len && len > max_len)) {
            bp_names_free(c, n);
            return bp_error(BP_ERR_ARG, "%s name %d is %s", what, i + 1,
                            names[i] ? "longer than BP_NAME_MAX bytes" : "NULL");
        }
        if (!(c[i] = malloc(len + 1))) {
            bp_names_free(c, n);
            return bp_error(BP_ERR_NOMEM, "out of memory copying %d %s names", n, what);
        }
        memcpy(c[i], names[i], len + 1);
    }
    *out = c;
    return BP_OK;
}

const char *bp_name_at(char *const *names, int n, int i)
{
    return names && i >= 0 && i < n ? names[i] : NULL;
}
