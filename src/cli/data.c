/* Loading data sets for the CLI from a file name or a named set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cli_is_named_set(const char *spec)
{
    return !strcmp(spec, "mnist") || !strcmp(spec, "fashion-mnist");
}

bp_status cli_need_targets(const char *spec, const bp_dataset *ds)
{
    if (bp_dataset_outputs(ds) > 0)
        return BP_OK;
    return bp_error(BP_ERR_ARG,
                    "%s has no targets: IDX images need their labels file, given with "
                    "--labels FILE (e.g. --labels train-labels-idx1-ubyte.gz)",
                    spec);
}

bp_status cli_load_data(const char *spec, const cli_data_options *o, bp_dataset **train,
                        bp_dataset **test)
{
    *train = NULL;
    if (test)
        *test = NULL;
    if (cli_is_named_set(spec)) {
        bp_dataset *tr, *te;
        bp_status st = bp_dataset_load_named(spec, o->data_dir, &tr, &te);
        if (st != BP_OK)
            return st;
        *train = tr;
        if (test)
            *test = te;
        else
            bp_dataset_free(te);
        return BP_OK;
    }
    if (o->labels || ends_with(spec, "-ubyte") || ends_with(spec, "-ubyte.gz") ||
        ends_with(spec, ".idx") || ends_with(spec, ".idx.gz"))
        return bp_dataset_read_idx(train, spec, o->labels);
    if (ends_with(spec, ".data") || ends_with(spec, ".train") || ends_with(spec, ".test"))
        return bp_dataset_read_fann(train, spec);
    bp_csv_options csv;
    bp_csv_options_default(&csv);
    csv.target = o->target;
    csv.task = o->task;
    return bp_dataset_read_csv(train, spec, &csv);
}
