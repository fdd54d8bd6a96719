/* Helpers the data commands share: data options, the model's schema, metric lines, output checks. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

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

/* The directory part of `path` ("." when it has none); 0 when too long. */
static int dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (n >= cap)
        return 0;
    if (!slash)
        memcpy(dir, ".", 2);
    else if (n == 0)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return 1;
}

/* Fails early (exit 1) when `path` cannot be written, so a long run does not
 * end in an unwritable output: a name too long for its file system, a missing
 * or read-only directory, a directory, a read-only file (unless `force`), a
 * device the user may not write.  A regular file or new name is probed by
 * creating and removing the writer's temporary beside it; a device or FIFO is
 * checked with access() only, since opening one may block or have effects. */
int check_writable(const char *cmd, const char *what, const char *path, int force)
{
    char dir[PATH_MAX];
    if (!*path || strlen(path) >= PATH_MAX || !dir_of(path, dir, sizeof dir)) {
        fprintf(stderr, "backprop %s: %s '%s': cannot write: %s\n", cmd, what, path,
                *path ? strerror(ENAMETOOLONG) : "empty name");
        return 1;
    }
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "backprop %s: %s %s: cannot write: it is a directory\n", cmd, what,
                    path);
            return 1;
        }
        if (!S_ISREG(sb.st_mode)) {
            if (access(path, W_OK) != 0) {
                fprintf(stderr, "backprop %s: %s %s: cannot write: %s\n", cmd, what, path,
                        strerror(errno));
                return 1;
            }
            return 0;
        }
        /* Root may write anything; the mode bits still say "keep this". */
        if (!force && (access(path, W_OK) != 0 || !(sb.st_mode & 0222))) {
            fprintf(stderr, "backprop %s: %s %s is read-only (mode %04o); give --force to "
                            "replace it\n", cmd, what, path, (unsigned)(sb.st_mode & 07777));
            return 1;
        }
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        errno = 0;
        long max = pathconf(dir, _PC_NAME_MAX);
        if (max > 0 && strlen(base) > (size_t)max) {
            fprintf(stderr, "backprop %s: %s %s: cannot write: %s (the limit is %ld bytes)\n",
                    cmd, what, path, strerror(ENAMETOOLONG), max);
            return 1;
        }
    }
    bp_output *probe;
    if (bp_output_open(&probe, path) != BP_OK) {
        fprintf(stderr, "backprop %s: %s %s\n", cmd, what, bp_errmsg());
        return 1;
    }
    bp_output_abort(probe);
    return 0;
}

/* 1 when a and b name the same file: the same device and inode, or for
 * names that do not exist yet, the same last component in the same
 * directory.  Devices and FIFOs never count (two outputs to /dev/null are
 * fine). */
static int same_file(const char *a, const char *b, int both_must_exist)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return S_ISREG(sa.st_mode) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea || eb || both_must_exist)
        return 0;
    const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');
    if (strcmp(ba ? ba + 1 : a, bb ? bb + 1 : b) != 0)
        return 0;
    char da[PATH_MAX], db[PATH_MAX];
    if (!dir_of(a, da, sizeof da) || !dir_of(b, db, sizeof db))
        return 0;
    return stat(da, &sa) == 0 && stat(db, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int check_distinct(const char *cmd, const cli_file *files, int n)
{
    for (int i = 0; i < n; i++) {
        if (!files[i].path || !files[i].output)
            continue;
        for (int j = 0; j < n; j++) {
            if (j == i || !files[j].path || (files[j].output && j > i))
                continue;
            if (same_file(files[i].path, files[j].path, !files[j].output)) {
                fprintf(stderr, "backprop %s: %s %s and %s %s are the same file; %s would be "
                                "overwritten (give another name)\n", cmd, files[j].what,
                        files[j].path, files[i].what, files[i].path,
                        files[j].output ? "one output" : "an input");
                return 2;
            }
        }
    }
    return 0;
}

const char *required_output(const cli_args *a, const char *cmd, const char *what)
{
    const char *out = cli_get(a, "output");
    if (!out)
        fprintf(stderr, "backprop %s: -o %s is required\n", cmd, what);
    return out;
}

int check_output(const char *cmd, const cli_args *a, const char *input_what, const char *input,
                 const char *output)
{
    cli_file files[] = {{input_what, input, 0}, {"-o", output, 1}};
    int rc = check_distinct(cmd, files, 2);
    if (rc)
        return rc;
    return check_writable(cmd, "output", output, cli_get(a, "force") != NULL);
}

/* Exit status for a failed library call: invalid options are usage errors. */
int fail_rc(bp_status st) { return st == BP_ERR_ARG ? 2 : 1; }
