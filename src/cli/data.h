#ifndef BP_CLI_DATA_H
#define BP_CLI_DATA_H

#include "backprop.h"

typedef struct cli_data_options {
    const char *data_dir; /* for named sets */
    const char *labels;   /* IDX labels file */
    const char *target;   /* CSV target column(s) */
    int task;             /* -1 detect, 0 regression, 1 classification */
    const char *id;       /* CSV column kept as row ids (predict --id) */
    const char *cmd;      /* the command, for notes on stderr */
    int named_train;      /* cli_load_data_for: a named set gives its training split */
} cli_data_options;

/* 1 for "mnist" and "fashion-mnist". */
int cli_is_named_set(const char *spec);
/* A named set gives train and test; a file gives train only (*test = NULL).
 * The format: IDX by name (-ubyte, .idx, or with labels), FANN by content
 * (its "rows inputs outputs" line), else CSV.  The reader's notes (targets
 * read as classes, …) go to stderr. */
bp_status cli_load_data(const char *spec, const cli_data_options *o, bp_dataset **train,
                        bp_dataset **test);
/* Data for an existing model (eval, predict, train --test): mapped through
 * the model's schema — columns by name, labels through its classes; the
 * target may be absent (outputs 0).  Named sets give their test split, or
 * their training split with o->named_train (quantize calibrates on it). */
bp_status cli_load_data_for(const char *spec, const cli_data_options *o, const bp_net *net,
                            bp_dataset **out);
/* 1 when spec is read as IDX images. */
int cli_data_is_idx(const char *spec, const cli_data_options *o);
/* The model's task: recorded, else classification for softmax/bce outputs. */
bp_task cli_model_task(const bp_net *net);

/* BP_OK if ds has targets; else BP_ERR_ARG with a message saying how to give
 * them (IDX images need their labels file, --labels FILE).  For commands
 * that train or evaluate; predict needs no targets. */
bp_status cli_need_targets(const char *spec, const bp_dataset *ds);

#endif
