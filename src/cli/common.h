/* Helpers the data commands (train, eval, predict) share. */
#ifndef BP_CLI_COMMON_H
#define BP_CLI_COMMON_H

#include <stddef.h>

#include "args.h"
#include "data.h"

#define DATA_OPTIONS                                                                               \
    {"data-dir", 0, 1, "DIR", "where mnist/fashion-mnist IDX files are", 0},                       \
    {"labels", 0, 1, "FILE", "IDX labels file for IDX images", 0},                                 \
    {"target", 0, 1, "COLUMN", "CSV target column(s): name, 1-based index or 'last'", 0},          \
    {"task", 0, 1, "TASK", "classification|regression (default: detect from the target)", 0}

/* Reads the DATA_OPTIONS of a command into d; 2 on a usage error, else 0. */
int data_options(cli_args *a, const char *cmd, cli_data_options *d);
/* The schema block of `info` (task, input and target columns, classes). */
void print_schema(const bp_net *net);
/* Name of class k: from the model's schema, else the data set's, else NULL. */
const char *class_name(const bp_net *net, const bp_dataset *ds, int k, char *buf, size_t cap);
/* "what: loss … accuracy …" or the regression metrics, one line. */
void print_eval(const char *what, const bp_metrics *m);
/* Fails early (exit 1) when `path` cannot be created or replaced. */
int check_writable(const char *cmd, const char *what, const char *path);
/* Exit status for a failed library call: invalid options are usage errors. */
int fail_rc(bp_status st);

#endif
