/* Helpers the data commands share: data options, the model's schema, metric lines, output checks. */
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
    d->cmd = cmd;
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

/* ---- the model's schema ------------------------------------------------------ */

/* Name of class k: from the model's schema, else the data set's, else NULL. */
const char *class_name(const bp_net *net, const bp_dataset *ds, int k, char *buf, size_t cap)
{
    const char *name = bp_net_class_name(net, k);
    if (!name)
        name = bp_dataset_class_name(ds, k);
    if (name)
        snprintf(buf, cap, "%s", name);
    return name ? buf : NULL;
}

/* "a, b, c" of up to 12 names, then "… (N in all)". */
static void print_names(const char *label, int n, const char *(*get)(const bp_net *, int),
                        const bp_net *net)
{
    printf("%s:", label);
    for (int i = 0; i < n && i < 12; i++) {
        const char *s = get(net, i);
        if (s)
            printf("%s %s", i ? "," : "", s);
        else
            printf("%s %d", i ? "," : "", i);
    }
    if (n > 12)
        printf(", ... (%d in all)", n);
    putchar('\n');
}

/* The schema block of `info`: what data the model expects. */
void print_schema(const bp_net *net)
{
    bp_task t = bp_net_task(net);
    printf("task: %s\n", t == BP_TASK_CLASSIFICATION ? "classification"
                         : t == BP_TASK_REGRESSION   ? "regression"
                                                     : "not recorded");
    if (bp_net_input_name(net, 0))
        print_names("input columns", bp_net_inputs(net), bp_net_input_name, net);
    if (bp_net_target_count(net) > 0)
        print_names("target columns", bp_net_target_count(net), bp_net_target_name, net);
    if (bp_net_classes(net) > 0)
        print_names("classes", bp_net_classes(net), bp_net_class_name, net);
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
