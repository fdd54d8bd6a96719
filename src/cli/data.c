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

enum data_format { FMT_NAMED, FMT_IDX, FMT_FANN, FMT_CSV };

/* FANN by content; its extensions only decide for a file whose first line
 * looks like a FANN header but whose numbers do not add up (so the FANN
 * reader can say where it goes wrong). */
static enum data_format data_format(const char *spec, const cli_data_options *o, int *sniff)
{
    *sniff = 0;
    if (cli_is_named_set(spec))
        return FMT_NAMED;
    if (o->labels || ends_with(spec, "-ubyte") || ends_with(spec, "-ubyte.gz") ||
        ends_with(spec, ".idx") || ends_with(spec, ".idx.gz"))
        return FMT_IDX;
    *sniff = bp_fann_sniff(spec);
    int fann_name = ends_with(spec, ".data") || ends_with(spec, ".train") ||
                    ends_with(spec, ".test");
    return *sniff == 1 || (*sniff == 2 && fann_name) ? FMT_FANN : FMT_CSV;
}

/* A CSV that fails to parse gets a hint about the formats read. */
static bp_status csv_hint(bp_status st, int sniff)
{
    if (st != BP_ERR_PARSE)
        return st;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", bp_errmsg());
    return bp_error(st, "%s; hint: %s", msg,
                    sniff == 2 ? "the first line looks like a FANN header (rows inputs outputs) "
                                 "but the numbers after it do not match its counts, so the file "
                                 "was read as CSV"
                               : "data files are CSV (comma, semicolon or tab separated; the "
                                 "target column last or named by --target) or FANN (first "
                                 "line: rows inputs outputs)");
}

static void print_notes(const cli_data_options *o, const bp_dataset *ds)
{
    const char *n = ds ? bp_dataset_notes(ds) : NULL;
    while (n && *n) {
        size_t len = strcspn(n, "\n");
        fprintf(stderr, "backprop %s: note: %.*s\n", o->cmd ? o->cmd : "", (int)len, n);
        n += len + (n[len] == '\n');
    }
}

int cli_data_is_idx(const char *spec, const cli_data_options *o)
{
    int sniff;
    return !cli_is_named_set(spec) && data_format(spec, o, &sniff) == FMT_IDX;
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
    int sniff;
    bp_status st;
    switch (data_format(spec, o, &sniff)) {
    case FMT_NAMED: {
        bp_dataset *tr, *te;
        if ((st = bp_dataset_load_named(spec, o->data_dir, &tr, &te)) != BP_OK)
            return st;
        *train = tr;
        if (test)
            *test = te;
        else
            bp_dataset_free(te);
        return BP_OK;
    }
    case FMT_IDX:
        return bp_dataset_read_idx(train, spec, o->labels);
    case FMT_FANN:
        if ((st = bp_dataset_read_fann(train, spec)) == BP_OK &&
            (st = bp_dataset_detect_task(*train, o->task, spec)) != BP_OK) {
            bp_dataset_free(*train);
            *train = NULL;
        }
        break;
    default: {
        bp_csv_options csv;
        bp_csv_options_default(&csv);
        csv.target = o->target;
        csv.task = o->task;
        csv.id = o->id;
        st = csv_hint(bp_dataset_read_csv(train, spec, &csv), sniff);
    }
    }
    print_notes(o, *train);
    return st;
}

bp_task cli_model_task(const bp_net *net)
{
    bp_task t = bp_net_task(net);
    if (t != BP_TASK_UNKNOWN)
        return t;
    bp_layer_spec last = bp_net_layer(net, bp_net_layers(net) - 1);
    return last.act == BP_ACT_SOFTMAX || bp_net_loss(net) == BP_LOSS_BCE ? BP_TASK_CLASSIFICATION
                                                                        : BP_TASK_REGRESSION;
}

/* A FANN file for a model: the same widths; one-hot rows (or 0/1 for a
 * one-output classifier) become the model's classes. */
static bp_status fann_for(const char *spec, const bp_net *net, bp_dataset **out)
{
    bp_status st = bp_dataset_read_fann(out, spec);
    if (st != BP_OK)
        return st;
    bp_dataset *ds = *out;
    int outs = bp_dataset_outputs(ds);
    if (bp_dataset_inputs(ds) != bp_net_inputs(net) || (outs && outs != bp_net_outputs(net)))
        st = bp_error(BP_ERR_SHAPE, "%s has %d inputs and %d outputs per row but the model takes "
                      "%d and gives %d", spec, bp_dataset_inputs(ds), outs, bp_net_inputs(net),
                      bp_net_outputs(net));
    else if (outs > 1 && cli_model_task(net) == BP_TASK_CLASSIFICATION)
        st = bp_dataset_detect_task(ds, 1, spec);
    else if (outs == 1 && cli_model_task(net) == BP_TASK_CLASSIFICATION) {
        size_t rows = bp_dataset_rows(ds);
        int32_t *labels = malloc((rows ? rows : 1) * sizeof *labels);
        const float *y = bp_dataset_y_const(ds);
        if (!labels)
            st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", spec);
        for (size_t r = 0; st == BP_OK && r < rows; r++) {
            if (y[r] != 0.0f && y[r] != 1.0f)
                st = bp_error(BP_ERR_PARSE, "%s: row %zu: target %g is not a class (0 or 1)",
                              spec, r + 1, (double)y[r]);
            else
                labels[r] = y[r] == 1.0f;
        }
        if (st == BP_OK)
            st = bp_dataset_set_labels(ds, labels, 2);
        free(labels);
    }
    if (st != BP_OK) {
        bp_dataset_free(ds);
        *out = NULL;
    }
    return st;
}

bp_status cli_load_data_for(const char *spec, const cli_data_options *o, const bp_net *net,
                            bp_dataset **out)
{
    *out = NULL;
    bp_task task = cli_model_task(net);
    if (o->task >= 0 && (o->task == 1) != (task == BP_TASK_CLASSIFICATION))
        return bp_error(BP_ERR_ARG, "--task %s does not fit the model, which is a %s model",
                        o->task ? "classification" : "regression",
                        task == BP_TASK_CLASSIFICATION ? "classification" : "regression");
    int sniff;
    bp_status st;
    switch (data_format(spec, o, &sniff)) {
    case FMT_NAMED: {
        bp_dataset *tr, *te;
        if ((st = bp_dataset_load_named(spec, o->data_dir, &tr, &te)) != BP_OK)
            return st;
        *out = o->named_train ? tr : te;
        bp_dataset_free(o->named_train ? te : tr);
        return BP_OK;
    }
    case FMT_IDX:
        return bp_dataset_read_idx(out, spec, o->labels);
    case FMT_FANN:
        return fann_for(spec, net, out);
    default: {
        bp_csv_options csv;
        bp_csv_options_default(&csv);
        csv.target = o->target;
        csv.id = o->id;
        /* Mapped through the model's schema, most failures are about that
         * mapping (an unseen label, a missing column): the format hint would
         * mislead there, so only a FANN-looking file gets it. */
        st = bp_dataset_read_csv_schema(out, spec, &csv, net);
        if (sniff == 2)
            st = csv_hint(st, sniff);
    }
    }
    print_notes(o, *out);
    return st;
}
