/* Helpers the data commands share: data options, class names kept in the
 * model, metric lines, output checks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"

int data_options(cli_args *a, const char *cmd, cli_data_options *d)
{
    memset(d, 0, sizeof *d);
    d->data_dir = cli_get(a, "data-dir");
    d->labels = cli_get(a, "labels");
    d->target = cli_get(a, "target");
    d->task = -1;
    const char *t = cli_get(a, "task");
    if (t) {
        if (!strcmp(t, "classification"))
            d->task = 1;
        else if (!strcmp(t, "regression"))
            d->task = 0;
        else {
            fprintf(stderr, "backprop %s: --task: expected classification or regression, got '%s'\n",
                    cmd, t);
            return 2;
        }
    }
    return 0;
}

/* ---- class names kept in the model ----------------------------------------- */

/* The model remembers its classes' names (meta "classes", comma-separated)
 * so predict can name them for data that has no labels. */
void store_class_names(bp_net *net, const bp_dataset *ds)
{
    char buf[256];
    size_t len = 0;
    int k = bp_dataset_classes(ds);
    for (int c = 0; c < k; c++) {
        const char *name = bp_dataset_class_name(ds, c);
        if (!name || strchr(name, ','))
            return;
        size_t n = strlen(name);
        if (len + n + 2 > sizeof buf)
            return;
        if (c)
            buf[len++] = ',';
        memcpy(buf + len, name, n);
        len += n;
    }
    if (k > 0) {
        buf[len] = '\0';
        bp_net_set_meta(net, "classes", buf);
    }
}

/* Name of class k: from the model's meta, else the data set's, else NULL. */
const char *class_name(const bp_net *net, const bp_dataset *ds, int k, char *buf,
                              size_t cap)
{
    const char *list = bp_net_get_meta(net, "classes");
    if (list) {
        for (int c = 0; c < k && list; c++) {
            list = strchr(list, ',');
            if (list)
                list++;
        }
        if (list) {
            size_t n = strcspn(list, ",");
            if (n < cap) {
                memcpy(buf, list, n);
                buf[n] = '\0';
                return buf;
            }
        }
    }
    return bp_dataset_class_name(ds, k);
}

void print_eval(const char *what, const bp_metrics *m)
{
    if (m->classes)
        printf("%s: loss %.4f  accuracy %.4f (%zu rows)\n", what, m->loss, m->accuracy, m->rows);
    else
        printf("%s: loss %.4f  MSE %.6g  MAE %.6g  R² %.4f (%zu rows)\n", what, m->loss, m->mse,
               m->mae, m->r2, m->rows);
}

/* Fails early (exit 1) when `path` cannot be created or replaced, so a long
 * run does not end in an unwritable output.  The real write is atomic. */
int check_writable(const char *cmd, const char *what, const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (!*path || n >= sizeof dir) {
        fprintf(stderr, "backprop %s: %s '%s': cannot write there\n", cmd, what, path);
        return 1;
    }
    if (slash && n == 0)
        n = 1; /* "/file" */
    memcpy(dir, slash ? path : ".", slash ? n : 2);
    dir[slash ? n : 1] = '\0';
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "backprop %s: %s %s: cannot write: it is a directory\n", cmd, what, path);
        return 1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "backprop %s: %s %s: cannot write: %s: %s\n", cmd, what, path, dir,
                strerror(errno));
        return 1;
    }
    return 0;
}

/* Exit status for a failed library call: invalid options are usage errors. */
int fail_rc(bp_status st) { return st == BP_ERR_ARG ? 2 : 1; }
