/*
 * The schema a net keeps of the data it was trained on: task, input names,
 * target names and class names (see backprop.h).  Stored in model files
 * (io/model.c, section SCHM) so eval and predict map new data the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

void bp_net_schema_free(bp_net *net)
{
    bp_names_free(net->input_names, net->n_inputs);
    bp_names_free(net->target_names, net->n_targets);
    bp_names_free(net->class_names, net->n_classes);
    net->input_names = net->target_names = net->class_names = NULL;
    net->n_targets = net->n_classes = 0;
    net->task = BP_TASK_UNKNOWN;
}

bp_status bp_net_schema_copy(bp_net *dst, const bp_net *src)
{
    bp_status st = bp_net_set_input_names(dst, (const char *const *)src->input_names);
    if (st == BP_OK)
        st = bp_net_set_target_names(dst, src->n_targets, (const char *const *)src->target_names);
    if (st == BP_OK)
        st = bp_net_set_classes(dst, src->n_classes, (const char *const *)src->class_names);
    if (st == BP_OK)
        dst->task = src->task;
    return st;
}

bp_status bp_net_set_task(bp_net *net, bp_task task)
{
    if (!net)
        return bp_error(BP_ERR_ARG, "bp_net_set_task: net is NULL");
    if (task != BP_TASK_UNKNOWN && task != BP_TASK_REGRESSION && task != BP_TASK_CLASSIFICATION)
        return bp_error(BP_ERR_ARG, "bp_net_set_task: unknown task %d", (int)task);
    if (task != BP_TASK_CLASSIFICATION && net->n_classes > 0)
        bp_net_set_classes(net, 0, NULL);
    net->task = task;
    return BP_OK;
}

bp_task bp_net_task(const bp_net *net) { return net ? net->task : BP_TASK_UNKNOWN; }

bp_status bp_net_set_input_names(bp_net *net, const char *const *names)
{
    if (!net)
        return bp_error(BP_ERR_ARG, "bp_net_set_input_names: net is NULL");
    char **c;
    bp_status st = bp_names_copy(&c, net->n_inputs, names, "input", BP_NAME_MAX);
    if (st != BP_OK)
        return st;
    bp_names_free(net->input_names, net->n_inputs);
    net->input_names = c;
    return BP_OK;
}

const char *bp_net_input_name(const bp_net *net, int i)
{
    return net ? bp_name_at(net->input_names, net->n_inputs, i) : NULL;
}

bp_status bp_net_set_target_names(bp_net *net, int n, const char *const *names)
{
    if (!net)
        return bp_error(BP_ERR_ARG, "bp_net_set_target_names: net is NULL");
    if (n < 0 || n > BP_MAX_UNITS || (n > 0 && !names))
        return bp_error(BP_ERR_ARG, "bp_net_set_target_names: bad count %d or NULL names", n);
    char **c;
    bp_status st = bp_names_copy(&c, n, names, "target", BP_NAME_MAX);
    if (st != BP_OK)
        return st;
    bp_names_free(net->target_names, net->n_targets);
    net->target_names = c;
    net->n_targets = n;
    return BP_OK;
}

int bp_net_target_count(const bp_net *net) { return net ? net->n_targets : 0; }

const char *bp_net_target_name(const bp_net *net, int j)
{
    return net ? bp_name_at(net->target_names, net->n_targets, j) : NULL;
}

bp_status bp_net_set_classes(bp_net *net, int classes, const char *const *names)
{
    if (!net)
        return bp_error(BP_ERR_ARG, "bp_net_set_classes: net is NULL");
    int outputs = net->layer[net->n_layers - 1].units;
    if (classes < 0 || (classes > 0 && classes != outputs && !(classes == 2 && outputs == 1)))
        return bp_error(BP_ERR_SHAPE, "%d classes do not fit a net with %d output%s (one per "
                        "class, or 1 for 2 classes)", classes, outputs, outputs == 1 ? "" : "s");
    char **c;
    bp_status st = bp_names_copy(&c, classes, names, "class", BP_NAME_MAX);
    if (st != BP_OK)
        return st;
    bp_names_free(net->class_names, net->n_classes);
    net->class_names = c;
    net->n_classes = classes;
    if (classes > 0)
        net->task = BP_TASK_CLASSIFICATION;
    return BP_OK;
}

int bp_net_classes(const bp_net *net) { return net ? net->n_classes : 0; }

const char *bp_net_class_name(const bp_net *net, int k)
{
    return net ? bp_name_at(net->class_names, net->n_classes, k) : NULL;
}

bp_status bp_net_set_schema(bp_net *net, const bp_dataset *ds)
{
    if (!net || !ds)
        return bp_error(BP_ERR_ARG, "bp_net_set_schema: NULL argument");
    if (bp_dataset_inputs(ds) != net->n_inputs)
        return bp_error(BP_ERR_SHAPE, "the data has %d inputs per row but the net takes %d",
                        bp_dataset_inputs(ds), net->n_inputs);
    int k = bp_dataset_classes(ds), n = bp_dataset_inputs(ds);
    const char **names = malloc(((size_t)(k > n ? k : n) + 1) * sizeof *names);
    if (!names)
        return bp_error(BP_ERR_NOMEM, "out of memory copying a data set's schema");
    int have = 1;
    for (int i = 0; i < n && have; i++)
        have = (names[i] = bp_dataset_input_name(ds, i)) != NULL;
    bp_status st = bp_net_set_input_names(net, have ? names : NULL);
    int nt = bp_dataset_target_count(ds);
    if (st == BP_OK) {
        const char **t = malloc(((size_t)nt + 1) * sizeof *t);
        if (!t)
            st = bp_error(BP_ERR_NOMEM, "out of memory copying a data set's schema");
        for (int j = 0; t && j < nt; j++)
            t[j] = bp_dataset_target_name(ds, j);
        if (t)
            st = bp_net_set_target_names(net, nt, t);
        free(t);
    }
    if (st == BP_OK && k > 0) {
        have = 1;
        for (int c = 0; c < k && have; c++)
            have = (names[c] = bp_dataset_class_name(ds, c)) != NULL;
        st = bp_net_set_classes(net, k, have ? names : NULL);
    } else if (st == BP_OK) {
        st = bp_net_set_classes(net, 0, NULL);
        net->task = BP_TASK_REGRESSION;
    }
    free(names);
    return st;
}
