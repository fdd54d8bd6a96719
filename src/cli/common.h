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
/* Fails early (exit 1) when `path` cannot be written: name too long,
 * directory missing or not writable, a directory, a read-only file (unless
 * force: --force), a device the user may not write. */
int check_writable(const char *cmd, const char *what, const char *path, int force);
/* A file a command reads or writes, for check_distinct. */
typedef struct cli_file {
    const char *what; /* "-o", "--log", "DATA", ... */
    const char *path; /* NULL: not given */
    int output;
} cli_file;
/* Refuses (exit 2) an output that is the same file as an input or another
 * output (same device and inode; for new names, same directory and name). */
int check_distinct(const char *cmd, const cli_file *files, int n);
/* The -o FILE a command cannot do without; NULL after saying so ("-o what
 * is required"), for exit status 2. */
const char *required_output(const cli_args *a, const char *cmd, const char *what);
/* Both checks for a command with one input file and one output (-o):
 * 2 when they are the same file, 1 when the output cannot be written. */
int check_output(const char *cmd, const cli_args *a, const char *input_what, const char *input,
                 const char *output);
/* The --force option of commands that write files. */
#define FORCE_OPTION {"force", 0, 0, "", "replace a read-only output file", 0}
/* Exit status for a failed library call: invalid options are usage errors. */
int fail_rc(bp_status st);

#endif
