/*
 * Workspaces and the passes that write them: forward, loss, backward, the
 * plain gradient-descent step, online SGD and prediction.
 *
 * The net is only read here (except by the update steps), which is what lets
 * one const net serve many threads, each with its own workspace.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "kernels/rng.h"

/* Room for n floats, rounded up to 16 so every buffer starts 64-byte aligned. */
static size_t padded(size_t n) { return (n + 15) & ~(size_t)15; }

/* The CUDA backend on GPU `index`, or the reason it cannot be had. */
static bp_status cuda_backend(bpk_backend **out, int index)
{
    bpk_cuda_status why = BPK_CUDA_OK;
    char detail[256] = "";
    *out = bpk_cuda_backend_create(index, &why, detail, sizeof detail);
    if (*out)
        return BP_OK;
    if (detail[0])
        return bp_error(BP_ERR_UNSUPPORTED, "cannot use device cuda:%d: %s (%s)", index,
                        bpk_cuda_status_text(why), detail);
    return bp_error(BP_ERR_UNSUPPORTED, "cannot use device cuda:%d: %s", index,
                    bpk_cuda_status_text(why));
}

/* The backend `device` names ("cpu" or NULL, "cuda:N", or the test backend
 * "checked"), with the message kernels/ leaves to its caller. */
static bp_status backend_create(bpk_backend **out, int threads, const char *device)
{
    int failed = 0;
    *out = NULL;
    if (device && strncmp(device, "cuda:", 5) == 0)
        return cuda_backend(out, atoi(device + 5));
    int checked = device && strcmp(device, "checked") == 0;
    if (device && !checked && strcmp(device, "cpu") != 0)
        return bp_error(BP_ERR_ARG, "unknown device \"%s\" (cpu, cuda, cuda:N)", device);
    *out = checked ? bpk_checked_backend_create(threads, &failed)
                   : bpk_cpu_backend_create(threads, &failed);
    if (*out)
        return BP_OK;
    if (errno == EINVAL && threads < 1)
        return bp_error(BP_ERR_ARG, "thread count must be at least 1 (got %d)", threads);
    if (errno == EINVAL)
        return bp_error(BP_ERR_ARG, "thread count %d is too large (at most 1024)", threads);
    if (errno == EAGAIN)
        return bp_error(BP_ERR_NOMEM, "cannot create thread %d of a pool of %d", failed, threads);
    return bp_error(BP_ERR_NOMEM, "out of memory creating a thread pool");
}

bp_status bp_workspace_create(bp_workspace **out, const bp_net *net, int max_batch, int threads)
{
    return bp_workspace_create_on(out, net, max_batch, threads, NULL);
}

bp_status bp_workspace_create_on(bp_workspace **out, const bp_net *net, int max_batch,
                                 int threads, const char *device)
{
    if (out)
        *out = NULL;
    if (!out || !net)
        return bp_error(BP_ERR_ARG, "bp_workspace_create: NULL argument");
    if (max_batch < 1 || max_batch > (1 << 24))
        return bp_error(BP_ERR_ARG, "batch size must be between 1 and %d (got %d)", 1 << 24,
                        max_batch);
    if (threads < 1 || threads > 256)
        return bp_error(BP_ERR_ARG, "threads must be between 1 and 256 (got %d)", threads);
    bp_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return bp_error(BP_ERR_NOMEM, "out of memory for a workspace");
    ws->n_inputs = net->n_inputs;
    ws->n_layers = net->n_layers;
    ws->n_params = net->n_params;
    ws->max_batch = max_batch;

    /* Sizes: each term is ≤ 2^24 · 2^20 floats, and there are ≤ 3·64 + 2 terms,
     * so the total stays far below SIZE_MAX on 64-bit; check it anyway for 32-bit. */
    size_t total = 0, rows = (size_t)max_batch;
    const size_t limit = SIZE_MAX / sizeof(float) / 4;
    for (int l = 0; l < net->n_layers; l++) {
        ws->units[l] = net->layer[l].units;
        ws->has_bias[l] = net->layer[l].bias;
        size_t per = padded(rows * (size_t)net->layer[l].units);
        if (per > limit / 3 || total > limit - 3 * per)
            goto too_big;
        total += 3 * per;
    }
    if (padded(net->n_params) > limit - total)
        goto too_big;
    total += padded(net->n_params);
    if (padded(rows * (size_t)net->n_inputs) > limit - total)
        goto too_big;
    total += padded(rows * (size_t)net->n_inputs);

    /* The backend first: it owns the arena's memory. */
    bp_status st = backend_create(&ws->be, threads, device);
    if (st != BP_OK) {
        free(ws);
        return st;
    }
    ws->arena = bpk_alloc(ws->be, total);
    if (ws->arena && !ws->be->host_memory && !(ws->params = bpk_alloc(ws->be, net->n_params))) {
        bpk_release(ws->be, ws->arena);
        ws->arena = NULL;
    }
    if (!ws->arena) {
        bpk_backend_free(ws->be);
        free(ws);
        return bp_error(BP_ERR_NOMEM, "out of memory for a workspace of %zu MiB",
                        total * sizeof(float) >> 20);
    }
    float *p = ws->arena;
    for (int l = 0; l < net->n_layers; l++) {
        size_t per = padded(rows * (size_t)net->layer[l].units);
        ws->s[l] = p, p += per;
        ws->a[l] = p, p += per;
        ws->delta[l] = p, p += per;
    }
    ws->grads = p, p += padded(net->n_params);
    ws->input = p;
    *out = ws;
    return BP_OK;

too_big:
    free(ws);
    return bp_error(BP_ERR_NOMEM, "workspace for batch %d would exceed the address space",
                    max_batch);
}

void bp_workspace_free(bp_workspace *ws)
{
    if (!ws)
        return;
    if (ws->drop_arena)
        bpk_release(ws->be, ws->drop_arena);
    if (ws->params)
        bpk_release(ws->be, ws->params);
    bpk_release(ws->be, ws->arena);
    bpk_backend_free(ws->be);
    free(ws);
}

/* The getters' rule (backprop.h): a NULL workspace or a layer index outside
 * 0..layers-1 gives NULL or 0, never a crash. */
static int bad_layer(const bp_workspace *ws, int layer)
{
    return !ws || layer < 0 || layer >= ws->n_layers;
}

int bp_workspace_max_batch(const bp_workspace *ws) { return ws ? ws->max_batch : 0; }
int bp_workspace_threads(const bp_workspace *ws) { return ws ? ws->be->threads : 0; }
int bp_workspace_batch(const bp_workspace *ws) { return ws ? ws->batch : 0; }
const float *bp_workspace_s(const bp_workspace *ws, int layer)
{
    return bad_layer(ws, layer) ? NULL : ws->s[layer];
}
const float *bp_workspace_a(const bp_workspace *ws, int layer)
{
    return bad_layer(ws, layer) ? NULL : ws->a[layer];
}
const float *bp_workspace_delta(const bp_workspace *ws, int layer)
{
    return bad_layer(ws, layer) ? NULL : ws->delta[layer];
}
const float *bp_workspace_grads(const bp_workspace *ws) { return ws ? ws->grads : NULL; }

/* Gradient offsets mirror the net's parameter offsets; recompute them from
 * the shapes the workspace recorded rather than keeping a second table. */
static size_t grad_offset(const bp_workspace *ws, int layer, int bias)
{
    size_t off = 0;
    int fan_in = ws->n_inputs;
    for (int l = 0; l < layer; l++) {
        off += (size_t)ws->units[l] * (size_t)fan_in + (ws->has_bias[l] ? (size_t)ws->units[l] : 0);
        fan_in = ws->units[l];
    }
    return bias ? off + (size_t)ws->units[layer] * (size_t)fan_in : off;
}

const float *bp_workspace_grad_w(const bp_workspace *ws, int layer)
{
    if (bad_layer(ws, layer))
        return NULL;
    return ws->grads + grad_offset(ws, layer, 0);
}

const float *bp_workspace_grad_b(const bp_workspace *ws, int layer)
{
    if (bad_layer(ws, layer))
        return NULL;
    return ws->has_bias[layer] ? ws->grads + grad_offset(ws, layer, 1) : NULL;
}

bp_status bp_workspace_check(const bp_net *net, const bp_workspace *ws)
{
    if (!net || !ws)
        return bp_error(BP_ERR_ARG, "net or workspace is NULL");
    if (ws->n_inputs != net->n_inputs || ws->n_layers != net->n_layers)
        return bp_error(BP_ERR_SHAPE, "workspace was made for a net of another shape");
    for (int l = 0; l < net->n_layers; l++)
        if (ws->units[l] != net->layer[l].units || ws->has_bias[l] != net->layer[l].bias)
            return bp_error(BP_ERR_SHAPE, "workspace was made for a net of another shape "
                                          "(layer %d differs)", l + 1);
    return BP_OK;
}

/* What layer l reads: the inputs, or the previous layer's activations
 * (after dropout when a training pass dropped some). */
static const float *layer_input(const bp_workspace *ws, int l, const float *x)
{
    if (l == 0)
        return x;
    return ws->dropout_active ? ws->drop_a[l - 1] : ws->a[l - 1];
}

static bp_status check_batch(const bp_workspace *ws, int batch)
{
    if (batch < 1 || batch > ws->max_batch)
        return bp_error(BP_ERR_ARG, "batch of %d rows does not fit a workspace of %d", batch,
                        ws->max_batch);
    return BP_OK;
}

/* Layer l's biases in the parameters the passes use (NULL without bias). */
static const float *ws_biases(const bp_net *net, const bp_workspace *ws, int l)
{
    return net->layer[l].bias ? bp_ws_params(net, ws) + net->b_offset[l] : NULL;
}

/* One dense layer forward, for a batch of `rows`:
 *   s = x · Wᵀ + b,  a = f(s)
 * x is [rows][fan_in], W is [units][fan_in] (row j: neuron j's weights, as
 * w1..w12 are laid out in the article), b is [units] or NULL, s and a are
 * [rows][units]. */
static void dense_forward(bpk_backend *be, int bf16, const float *x, const float *W,
                          const float *b, float *s, float *a, int rows, int fan_in, int units,
                          bp_activation act, float slope)
{
    bpk_sgemm_prec(be, bf16, 0, 1, rows, units, fan_in, 1.0f, x, fan_in, W, fan_in, 0.0f, s,
                   units);
    bpk_bias_act_forward(be, s, a, rows, units, b, act, slope);
}

/* One dense layer backward, for a batch of `rows`, given δ = ∂E/∂s [rows][units]:
 *   ∂E/∂W = scale · δᵀ · x     (the article's ∂E/∂w7 = δo1 · a_h1, summed over rows)
 *   ∂E/∂b = scale · Σ_rows δ
 *   dx    = δ · W              (each input collects the deltas it fed, weighted)
 * scale is 1/rows for a batch mean (1/(rows of the whole batch) for a shard).
 * dx (the previous layer's δ before its f') and gb may be NULL. */
static void dense_backward(bpk_backend *be, int bf16, const float *x, const float *W,
                           const float *delta, float *dx, float *gW, float *gb, int rows,
                           int fan_in, int units, float scale)
{
    bpk_sgemm_prec(be, bf16, 1, 0, units, fan_in, rows, scale, delta, units, x, fan_in, 0.0f, gW,
                   fan_in);
    if (gb)
        bpk_col_sum(be, delta, rows, units, scale, gb);
    if (dx)
        bpk_sgemm_prec(be, bf16, 0, 0, rows, fan_in, units, 1.0f, delta, units, W, fan_in, 0.0f,
                       dx, fan_in);
}

/* The forward pass, with inverted dropout on the hidden layers when src is
 * given (p > 0): the next layer then reads a ⊙ mask. */
static bp_status forward(const bp_net *net, bp_workspace *ws, const float *x, int batch, float p,
                         const bpk_mask_source *src)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st == BP_OK)
        st = check_batch(ws, batch);
    if (st != BP_OK)
        return st;
    if (!x)
        return bp_error(BP_ERR_ARG, "bp_forward: inputs are NULL");
    if (src && !ws->drop_arena)
        return bp_error(BP_ERR_ARG, "dropout buffers not allocated");
    if (ws->online_pending)
        return bp_error(BP_ERR_ARG, "an online update is pending; call bp_online_flush first");
    ws->dropout_active = src != NULL;
    for (int l = 0; l < net->n_layers; l++) {
        int units = net->layer[l].units, fan_in = net->fan_in[l];
        /* s = a_prev · Wᵀ: W is [units][fan_in], so each row of s is W · a_prev_row. */
        dense_forward(ws->be, ws->bf16_gemm, layer_input(ws, l, x), bp_ws_params(net, ws) + net->w_offset[l],
                      ws_biases(net, ws, l), ws->s[l], ws->a[l], batch, fan_in, units,
                      net->layer[l].act, net->layer[l].slope);
        /* Masks are drawn in row order, so they do not depend on the thread count. */
        if (src && l + 1 < net->n_layers)
            bpk_dropout_forward(ws->be, ws->a[l], ws->mask[l], ws->drop_a[l], batch, units,
                                1.0f - p, l, src);
    }
    ws->batch = batch;
    return BP_OK;
}

bp_status bp_forward(const bp_net *net, bp_workspace *ws, const float *x, int batch)
{
    return forward(net, ws, x, batch, 0.0f, NULL);
}

bp_status bp_workspace_enable_dropout(bp_workspace *ws)
{
    if (ws->drop_arena)
        return BP_OK;
    size_t total = 0;
    for (int l = 0; l + 1 < ws->n_layers; l++)
        total += 2 * padded((size_t)ws->max_batch * (size_t)ws->units[l]);
    ws->drop_arena = bpk_alloc(ws->be, total);
    if (!ws->drop_arena)
        return bp_error(BP_ERR_NOMEM, "out of memory for dropout masks");
    float *p = ws->drop_arena;
    for (int l = 0; l + 1 < ws->n_layers; l++) {
        size_t per = padded((size_t)ws->max_batch * (size_t)ws->units[l]);
        ws->drop_a[l] = p, p += per;
        ws->mask[l] = p, p += per;
    }
    return BP_OK;
}

bp_status bp_forward_dropout(const bp_net *net, bp_workspace *ws, const float *x, int batch,
                             float p, const bpk_mask_source *src)
{
    if (!src || !(p > 0.0f && p < 1.0f))
        return bp_error(BP_ERR_ARG, "dropout needs 0 < p < 1 and a generator");
    return forward(net, ws, x, batch, p, src);
}

double bp_sample_loss(bp_loss loss, bp_activation out_act, const float *s, const float *a,
                      const float *target, int units)
{
    (void)out_act;
    return bpk_sample_loss(loss, s, a, target, units);
}

/* NaN or Inf targets are refused (the header promises it): they would give a
 * NaN loss and NaN gradients that only show up later as divergence. */
static bp_status check_targets_finite(const bp_net *net, const bp_workspace *ws,
                                      const float *target, int batch, const char *fn)
{
    size_t units = (size_t)bp_net_outputs(net), n = (size_t)batch * units;
    size_t i = bpk_find_nonfinite(ws->be, target, n);
    if (i < n)
        return bp_error(BP_ERR_NUMERIC, "%s: target row %zu, column %zu is %g", fn, i / units + 1,
                        i % units + 1, (double)target[i]);
    return BP_OK;
}

/* The batch's mean loss (targets already checked). */
static float mean_loss(const bp_net *net, const bp_workspace *ws, const float *target, int batch)
{
    int L = net->n_layers - 1;
    double total = bpk_loss_sum(ws->be, net->loss, ws->s[L], ws->a[L], target, batch,
                                net->layer[L].units);
    return (float)(total / batch);
}

bp_status bp_loss_value(const bp_net *net, const bp_workspace *ws, const float *target,
                        int batch, float *loss)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK)
        return st;
    if (!target || !loss)
        return bp_error(BP_ERR_ARG, "bp_loss_value: NULL argument");
    if (batch != ws->batch)
        return bp_error(BP_ERR_ARG, "loss asked for %d rows, last forward pass had %d", batch,
                        ws->batch);
    if ((st = check_targets_finite(net, ws, target, batch, "bp_loss_value")) != BP_OK)
        return st;
    *loss = mean_loss(net, ws, target, batch);
    return BP_OK;
}

bp_status bp_check_targets(const bp_net *net, const float *target, size_t rows, const char *what)
{
    if (net->loss == BP_LOSS_MSE)
        return BP_OK;
    int units = bp_net_outputs(net);
    for (size_t r = 0; r < rows; r++) {
        const float *t = target + r * (size_t)units;
        double sum = 0;
        for (int k = 0; k < units; k++) {
            if (!(t[k] >= 0.0f && t[k] <= 1.0f))
                return bp_error(BP_ERR_ARG,
                                "%s %zu: target %d is %g, but %s targets must be in [0, 1] (%s)",
                                what, r + 1, k + 1, (double)t[k],
                                net->loss == BP_LOSS_XENT ? "cross-entropy (xent)" : "bce",
                                net->loss == BP_LOSS_XENT
                                    ? "xent pairs a softmax output with one-hot or probability "
                                      "targets"
                                    : "bce pairs sigmoid outputs with 0/1 or probability targets");
            sum += t[k];
        }
        /* δ = a − t is ∂E/∂s of E = −Σ t·ln a only when Σ t = 1. */
        if (net->loss == BP_LOSS_XENT && fabs(sum - 1.0) > 1e-3)
            return bp_error(BP_ERR_ARG,
                            "%s %zu: cross-entropy (xent) targets must sum to 1 (one-hot or a "
                            "probability distribution), these sum to %g; for several labels per "
                            "row use sigmoid outputs with bce, else mse",
                            what, r + 1, sum);
    }
    return BP_OK;
}

/* δ of the output layer for each row: ∂E/∂s (flat spot: bp_train_options). */
static void output_delta(const bp_net *net, bp_workspace *ws, const float *target, int batch)
{
    int L = net->n_layers - 1;
    bpk_output_delta(ws->be, net->loss, net->layer[L].act, net->layer[L].slope, ws->flat_spot,
                     ws->s[L], ws->a[L], target, ws->delta[L], batch, net->layer[L].units);
}

bp_status bp_backward(const bp_net *net, bp_workspace *ws, const float *x, const float *target,
                      int batch, float *loss)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK)
        return st;
    if (!target)
        return bp_error(BP_ERR_ARG, "bp_backward: inputs or targets are NULL");
    if (batch != ws->batch)
        return bp_error(BP_ERR_ARG, "backward asked for %d rows, last forward pass had %d",
                        batch, ws->batch);
    if ((st = check_targets_finite(net, ws, target, batch, "bp_backward")) != BP_OK ||
        (st = bp_check_targets(net, target, (size_t)batch, "row")) != BP_OK)
        return st;
    return bp_backward_scaled(net, ws, x, target, batch, 1.0f / (float)batch, loss);
}

bp_status bp_backward_scaled(const bp_net *net, bp_workspace *ws, const float *x,
                             const float *target, int batch, float scale, float *loss)
{
    return bp_backward_into(net, ws, x, target, batch, scale, loss, ws ? ws->grads : NULL);
}

bp_status bp_backward_into(const bp_net *net, bp_workspace *ws, const float *x,
                           const float *target, int batch, float scale, float *loss,
                           float *grads)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK)
        return st;
    if (!x || !target)
        return bp_error(BP_ERR_ARG, "bp_backward: inputs or targets are NULL");
    if (batch != ws->batch)
        return bp_error(BP_ERR_ARG, "backward asked for %d rows, last forward pass had %d",
                        batch, ws->batch);
    /* The targets were checked by bp_backward, or for the whole data set
     * by the trainer before its first step. */
    if (loss)
        *loss = mean_loss(net, ws, target, batch);
    output_delta(net, ws, target, batch);
    for (int l = net->n_layers - 1; l >= 0; l--) {
        int units = net->layer[l].units, fan_in = net->fan_in[l];
        dense_backward(ws->be, ws->bf16_gemm, layer_input(ws, l, x),
                       bp_ws_params(net, ws) + net->w_offset[l],
                       ws->delta[l], l > 0 ? ws->delta[l - 1] : NULL,
                       grads + net->w_offset[l],
                       net->layer[l].bias ? grads + net->b_offset[l] : NULL, batch, fan_in,
                       units, scale);
        if (l == 0)
            continue;
        /* δ_prev ⊙ f'(s_prev), through the dropout mask when one was applied. */
        size_t n = (size_t)batch * (size_t)fan_in;
        if (ws->dropout_active)
            bpk_mul(ws->be, ws->delta[l - 1], ws->mask[l - 1], n);
        bpk_act_backward(ws->be, ws->delta[l - 1], ws->s[l - 1], ws->a[l - 1], n,
                         net->layer[l - 1].act, net->layer[l - 1].slope, ws->flat_spot);
    }
    return BP_OK;
}

bp_status bp_sgd_step(bp_net *net, const bp_workspace *ws, float learning_rate)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK)
        return st;
    if (!isfinite(learning_rate))
        return bp_error(BP_ERR_ARG, "learning rate is not finite");
    bpk_update u = {.optimizer = BP_OPT_SGD, .lr = learning_rate};
    bpk_update_params(ws->be, &u, bp_ws_params(net, ws), ws->grads, NULL, NULL, net->n_params);
    return BP_OK;
}

/* One online-SGD step.  With `defer`, the first layer's rank-1 update is
 * not applied now but fused into the next step's first matrix-vector product
 * (bpk_sger_sgemv: the same bits, one sweep over the largest matrix instead of
 * two); bp_online_flush applies a pending update. */
static bp_status train_sample(bp_net *net, bp_workspace *ws, const float *x, const float *target,
                              float learning_rate, float *loss, int defer)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK)
        return st;
    if (!x || !target)
        return bp_error(BP_ERR_ARG, "bp_train_sample: inputs or targets are NULL");
    /* The trainer (defer) checked every target before its first step. */
    if (!defer && ((st = check_targets_finite(net, ws, target, 1, "bp_train_sample")) != BP_OK ||
                   (st = bp_check_targets(net, target, 1, "row")) != BP_OK))
        return st;
    ws->dropout_active = 0;
    const float *a_prev = x;
    for (int l = 0; l < net->n_layers; l++) {
        int units = net->layer[l].units, fan_in = net->fan_in[l];
        float *W = bp_ws_params(net, ws) + net->w_offset[l];
        if (l == 0 && ws->online_pending) {
            bpk_sger_sgemv(ws->be, units, fan_in, -ws->online_lr, ws->delta[0], ws->input, W, fan_in, x,
                           ws_biases(net, ws, 0), ws->s[0]);
            ws->online_pending = 0;
        } else {
            bpk_sgemv(ws->be, units, fan_in, W, fan_in, a_prev, ws_biases(net, ws, l), ws->s[l]);
        }
        bpk_bias_act_forward(ws->be, ws->s[l], ws->a[l], 1, units, NULL, net->layer[l].act,
                             net->layer[l].slope);
        a_prev = ws->a[l];
    }
    ws->batch = 1;
    if (loss) {
        int L = net->n_layers - 1;
        *loss = (float)bp_sample_loss(net->loss, net->layer[L].act, ws->s[L], ws->a[L], target,
                                      net->layer[L].units);
    }
    output_delta(net, ws, target, 1);
    /* Each layer's δ_prev is formed from its old weights before the rank-1
     * step w' = w − η·δ ⊗ a_prev changes them, as in the article. */
    for (int l = net->n_layers - 1; l >= 0; l--) {
        int units = net->layer[l].units, fan_in = net->fan_in[l];
        float *W = bp_ws_params(net, ws) + net->w_offset[l];
        const float *a_prev_l = l > 0 ? ws->a[l - 1] : x;
        if (l > 0) {
            bpk_sgemv_t(ws->be, units, fan_in, W, fan_in, ws->delta[l], ws->delta[l - 1]);
            bpk_act_backward(ws->be, ws->delta[l - 1], ws->s[l - 1], ws->a[l - 1],
                             (size_t)fan_in, net->layer[l - 1].act, net->layer[l - 1].slope,
                             ws->flat_spot);
        }
        if (l == 0 && defer) {
            /* δ[0] stays in the workspace until the next forward pass. */
            bpk_copy(ws->be, ws->input, x, (size_t)fan_in);
            ws->online_pending = 1;
            ws->online_lr = learning_rate;
        } else {
            bpk_sger(ws->be, units, fan_in, -learning_rate, ws->delta[l], a_prev_l, W, fan_in);
        }
        if (net->layer[l].bias)
            bpk_update_params(ws->be, &(bpk_update){.optimizer = BP_OPT_SGD, .lr = learning_rate},
                              bp_ws_params(net, ws) + net->b_offset[l], ws->delta[l], NULL, NULL,
                              (size_t)units);
    }
    return BP_OK;
}

bp_status bp_train_sample(bp_net *net, bp_workspace *ws, const float *x, const float *target,
                          float learning_rate, float *loss)
{
    bp_status st = bp_online_flush(net, ws);
    return st == BP_OK ? train_sample(net, ws, x, target, learning_rate, loss, 0) : st;
}

bp_status bp_train_sample_deferred(bp_net *net, bp_workspace *ws, const float *x,
                                   const float *target, float learning_rate, float *loss)
{
    return train_sample(net, ws, x, target, learning_rate, loss, 1);
}

bp_status bp_online_flush(bp_net *net, bp_workspace *ws)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK || !ws->online_pending)
        return st;
    bpk_sger(ws->be, net->layer[0].units, net->fan_in[0], -ws->online_lr, ws->delta[0], ws->input,
             bp_ws_params(net, ws) + net->w_offset[0], net->fan_in[0]);
    ws->online_pending = 0;
    return BP_OK;
}

/* Rows per forward pass of bp_predict.  A large workspace (a whole data set
 * at once) is still run in passes of about PREDICT_PASS_ROWS rows, so that
 * each layer's activations stay in L2 for the next layer (Zen 5, the
 * modern net over 10000 rows: 3.3 → 2.9 µs a row); the passes are as
 * equal as possible, so none has a single row unless `rows` is 1 (a
 * one-row product takes the batch-1 path, which may round differently). */
#define PREDICT_PASS_ROWS 256
static size_t predict_pass_rows(size_t rows, size_t max_batch)
{
    size_t cap = max_batch < PREDICT_PASS_ROWS ? max_batch : PREDICT_PASS_ROWS;
    if (rows <= cap)
        return rows ? rows : 1;
    size_t passes = (rows + cap - 1) / cap;
    return (rows + passes - 1) / passes;
}

bp_status bp_predict(const bp_net *net, bp_workspace *ws, const float *x, size_t rows, float *out)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK)
        return st;
    if (!x || !out)
        return bp_error(BP_ERR_ARG, "bp_predict: NULL argument");
    int n_in = net->n_inputs, n_out = bp_net_outputs(net), L = net->n_layers - 1;
    size_t per = predict_pass_rows(rows, (size_t)ws->max_batch);
    /* Several passes over the same weights: the backend may pack them once
     * (the CPU: 2.8 → 2.6 µs a row over the modern net's 10000 test rows). */
    int frozen = rows > per;
    if (frozen)
        bpk_freeze(ws->be, 1);
    for (size_t r = 0; r < rows && st == BP_OK; r += per) {
        int chunk = (int)(rows - r < per ? rows - r : per);
        /* Into the backend's memory, scaled as the net was trained. */
        bpk_gather_rows(ws->be, ws->input, x + r * (size_t)n_in, NULL, chunk, n_in,
                        net->scale_shift, net->scale_factor);
        if ((st = bp_forward(net, ws, ws->input, chunk)) == BP_OK)
            bpk_download(ws->be, out + r * (size_t)n_out, ws->a[L],
                         (size_t)chunk * (size_t)n_out);
    }
    if (frozen)
        bpk_freeze(ws->be, 0);
    return st;
}
