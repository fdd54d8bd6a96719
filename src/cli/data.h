#ifndef BP_CLI_DATA_H
#define BP_CLI_DATA_H

#include "backprop.h"

typedef struct cli_data_options {
    const char *data_dir; /* for named sets */
    const char *labels;   /* IDX labels file */
    const char *target;   /* CSV target column(s) */
    int task;             /* CSV: -1 detect, 0 regression, 1 classification */
} cli_data_options;

/* 1 for "mnist" and "fashion-mnist". */
int cli_is_named_set(const char *spec);
/* A named set gives train and test; a file gives train only (*test = NULL).
 * The format follows the name: IDX (-ubyte, .idx, or with labels), FANN
 * (.data/.train/.test), else CSV. */
bp_status cli_load_data(const char *spec, const cli_data_options *o, bp_dataset **train,
                        bp_dataset **test);

/* BP_OK if ds has targets; else BP_ERR_ARG with a message saying how to give
 * them (IDX images need their labels file, --labels FILE).  For commands
 * that train or evaluate; predict needs no targets. */
bp_status cli_need_targets(const char *spec, const bp_dataset *ds);

#endif
