/*
 * Evaluation metrics: loss, accuracy, per-class precision/recall/F1 and the
 * confusion matrix for classification; MSE, MAE and R² for regression.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

void bp_metrics_init_size(bp_metrics *m, size_t size)
{
    bp_metrics empty;
    memset(&empty, 0, sizeof empty);
    bp_abi_fill(m, size, &empty, sizeof empty);
}

/* Frees what m holds and empties the fields this library knows, keeping the
 * caller's size (a struct from a newer header keeps its tail). */
static void metrics_reset(bp_metrics *m)
{
    size_t size = m->size;
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->confusion);
    memset(m, 0, sizeof *m);
    m->size = size;
}

void bp_metrics_clear(bp_metrics *m)
{
    if (m)
        metrics_reset(m);
}

int bp_predicted_class(const float *out, int n_out)
{
    return bpk_predicted_class(out, n_out); /* the one rule, shared with training's accuracy */
}

bp_status bp_metrics_compute(const float *outputs, const float *targets, const int32_t *labels,
                             size_t rows, int n_out, int classes, bp_metrics *m)
{
    bp_status st = bp_abi_check(m, BP_METRICS_V1, "bp_metrics_compute", "bp_metrics",
                                "bp_metrics_init");
    if (st != BP_OK)
        return st;
    if (!outputs || n_out < 1 || (classes > 0 && !labels) || (classes == 0 && !targets))
        return bp_error(BP_ERR_ARG, "bp_metrics_compute: bad argument");
    double loss = m->loss;
    metrics_reset(m);
    m->loss = loss;
    m->rows = rows;
    m->classes = classes;
    if (classes > 0) {
        size_t k = (size_t)classes;
        m->precision = calloc(k, sizeof(double));
        m->recall = calloc(k, sizeof(double));
        m->f1 = calloc(k, sizeof(double));
        m->confusion = calloc(k * k, sizeof(size_t));
        if (!m->precision || !m->recall || !m->f1 || !m->confusion) {
            bp_metrics_clear(m);
            return bp_error(BP_ERR_NOMEM, "out of memory for metrics");
        }
        size_t correct = 0;
        for (size_t r = 0; r < rows; r++) {
            const float *o = outputs + r * (size_t)n_out;
            int pred = bp_predicted_class(o, n_out);
            int truth = labels[r];
            if (truth < 0 || truth >= classes || pred >= classes) {
                bp_metrics_clear(m);
                return bp_error(BP_ERR_SHAPE, "row %zu: class %d outside 0..%d", r + 1, truth,
                                classes - 1);
            }
            m->confusion[(size_t)truth * k + (size_t)pred]++;
            correct += pred == truth;
        }
        m->accuracy = rows ? (double)correct / (double)rows : NAN;
        for (size_t c = 0; c < k; c++) {
            size_t tp = m->confusion[c * k + c], predicted = 0, actual = 0;
            for (size_t j = 0; j < k; j++) {
                predicted += m->confusion[j * k + c];
                actual += m->confusion[c * k + j];
            }
            /* A class never predicted (or never present) has precision
             * (recall) 0 by convention, as scikit-learn reports it. */
            m->precision[c] = predicted ? (double)tp / (double)predicted : 0;
            m->recall[c] = actual ? (double)tp / (double)actual : 0;
            double pr = m->precision[c] + m->recall[c];
            m->f1[c] = pr > 0 ? 2 * m->precision[c] * m->recall[c] / pr : 0;
        }
        m->mse = m->mae = m->r2 = NAN;
    } else {
        size_t n = rows * (size_t)n_out;
        double se = 0, ae = 0, mean = 0, ss_tot = 0;
        for (size_t i = 0; i < n; i++)
            mean += targets[i];
        mean = n ? mean / (double)n : 0;
        for (size_t i = 0; i < n; i++) {
            double d = (double)outputs[i] - targets[i];
            se += d * d;
            ae += fabs(d);
            ss_tot += ((double)targets[i] - mean) * ((double)targets[i] - mean);
        }
        m->mse = n ? se / (double)n : NAN;
        m->mae = n ? ae / (double)n : NAN;
        m->r2 = ss_tot > 0 ? 1 - se / ss_tot : NAN;
        m->accuracy = NAN;
    }
    return BP_OK;
}

bp_status bp_evaluate(const bp_net *net, const bp_dataset *ds, int threads, bp_metrics *out)
{
    if (!net || !ds || !out)
        return bp_error(BP_ERR_ARG, "bp_evaluate: NULL argument");
    bp_status st = bp_abi_check(out, BP_METRICS_V1, "bp_evaluate", "bp_metrics",
                                "bp_metrics_init");
    if (st != BP_OK)
        return st;
    metrics_reset(out); /* a reused struct's arrays are freed, not leaked */
    st = bp_check_data_fits(net, ds, NULL, "model");
    if (st != BP_OK)
        return st;
    int n_out = bp_net_outputs(net);
    size_t rows = bp_dataset_rows(ds);
    const int chunk = 256;
    bp_workspace *ws;
    st = bp_workspace_create(&ws, net, chunk, threads < 1 ? 1 : threads);
    if (st != BP_OK)
        return st;
    float *outputs = malloc(rows * (size_t)n_out * sizeof(float));
    if (!outputs) {
        bp_workspace_free(ws);
        return bp_error(BP_ERR_NOMEM, "out of memory for %zu predictions", rows);
    }
    const float *X = bp_dataset_x_const(ds), *Y = bp_dataset_y_const(ds);
    size_t in = (size_t)net->n_inputs;
    double loss = 0;
    int L = net->n_layers - 1;
    int frozen = rows > (size_t)chunk; /* passes over the same weights (bp_predict) */
    if (frozen)
        bpk_freeze(ws->be, 1);
    for (size_t r = 0; r < rows && st == BP_OK; r += chunk) {
        int n = (int)(rows - r < (size_t)chunk ? rows - r : (size_t)chunk);
        bp_net_scale_inputs(net, X + r * in, ws->input, (size_t)n);
        float l;
        st = bp_forward(net, ws, ws->input, n);
        if (st == BP_OK)
            st = bp_loss_value(net, ws, Y + r * (size_t)n_out, n, &l);
        if (st == BP_OK) {
            loss += (double)l * n;
            memcpy(outputs + r * (size_t)n_out, ws->a[L], (size_t)n * (size_t)n_out * sizeof(float));
        }
    }
    if (frozen)
        bpk_freeze(ws->be, 0);
    if (st == BP_OK) {
        out->loss = loss / (double)rows;
        st = bp_metrics_compute(outputs, Y, bp_dataset_labels(ds), rows, n_out,
                                bp_dataset_classes(ds), out);
    }
    free(outputs);
    bp_workspace_free(ws);
    return st;
}
