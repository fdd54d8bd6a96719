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
#include "rng.h"

/* Room for n floats, rounded up to 16 so every buffer starts 64-byte aligned. */
static size_t padded(size_t n) { return (n + 15) & ~(size_t)15; }

/* bpk_pool_create, with the message kernels/ leaves to its caller. */
static bpk_pool *pool_create(int threads)
{
    int failed = 0;
    bpk_pool *pool = bpk_pool_create(threads, &failed);
    if (pool)
        return pool;
    if (errno == EINVAL && threads < 1)
        bp_error(BP_ERR_ARG, "thread count must be at least 1 (got %d)", threads);
    else if (errno == EINVAL)
        bp_error(BP_ERR_ARG, "thread count %d is too large (at most 1024)", threads);
    else if (errno == EAGAIN)
        bp_error(BP_ERR_NOMEM, "cannot create thread %d of a pool of %d", failed, threads);
    else
        bp_error(BP_ERR_NOMEM, "out of memory creating a thread pool");
    return NULL;
}

bp_status bp_workspace_create(bp_workspace **out, const bp_net *net, int max_batch, int threads)
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

    ws->arena = aligned_alloc(64, total * sizeof(float));
    if (!ws->arena) {
        free(ws);
        return bp_error(BP_ERR_NOMEM, "out of memory for a workspace of %zu MiB",
                        total * sizeof(float) >> 20);
    }
    memset(ws->arena, 0, total * sizeof(float));
    float *p = ws->arena;
    for (int l = 0; l < net->n_layers; l++) {
        size_t per = padded(rows * (size_t)net->layer[l].units);
        ws->s[l] = p, p += per;
        ws->a[l] = p, p += per;
        ws->delta[l] = p, p += per;
    }
    ws->grads = p, p += padded(net->n_params);
    ws->input = p;

    ws->pool = pool_create(threads);
    if (!ws->pool) {
        free(ws->arena);
        free(ws);
        return BP_ERR_NOMEM;
    }
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
    free(ws->drop_arena);
    bpk_pool_free(ws->pool);
    free(ws->arena);
    free(ws);
}

/* The getters' rule (backprop.h): a NULL workspace or a layer index outside
 * 0..layers-1 gives NULL or 0, never a crash. */
static int bad_layer(const bp_workspace *ws, int layer)
{
    return !ws || layer < 0 || layer >= ws->n_layers;
}

int bp_workspace_max_batch(const bp_workspace *ws) { return ws ? ws->max_batch : 0; }
int bp_workspace_threads(const bp_workspace *ws) { return ws ? bpk_pool_threads(ws->pool) : 0; }
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

/* Draws the dropout mask of hidden layer l for `batch` rows and applies it:
 * drop_a = a ⊙ mask, mask ∈ {0, 1/keep}.  A serial source draws in row order
 * from one generator, so the masks do not depend on the thread count; a
 * per-sample source seeds each row's draws from its position in the epoch,
 * so they do not depend on how a batch is split into shards either. */
static void draw_masks(bp_workspace *ws, int l, int batch, float keep,
                       const bp_dropout_source *src)
{
    float inv_keep = 1.0f / keep;
    size_t units = (size_t)ws->units[l];
    for (int r = 0; r < batch; r++) {
        bp_rng row_rng, *rng = src->serial;
        if (!rng) {
            bp_rng_seed(&row_rng, src->seed + src->epoch * 0x9e3779b97f4a7c15ULL,
                        ((uint64_t)BP_STREAM_DROPOUT_SAMPLE << 48) +
                            ((uint64_t)(src->first + (size_t)r) << 8) + (uint64_t)l);
            rng = &row_rng;
        }
        float *mask = ws->mask[l] + (size_t)r * units, *a = ws->a[l] + (size_t)r * units,
              *drop_a = ws->drop_a[l] + (size_t)r * units;
        for (size_t i = 0; i < units; i++) {
            float m = bp_rng_uniform(rng) < keep ? inv_keep : 0.0f;
            mask[i] = m;
            drop_a[i] = a[i] * m;
        }
    }
}

/* The forward pass, with inverted dropout on the hidden layers when src is
 * given (p > 0): the next layer then reads a ⊙ mask. */
static bp_status forward(const bp_net *net, bp_workspace *ws, const float *x, int batch, float p,
                         const bp_dropout_source *src)
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
        bpk_sgemm(ws->pool, 0, 1, batch, units, fan_in, 1.0f, layer_input(ws, l, x), fan_in,
                  net->params + net->w_offset[l], fan_in, 0.0f, ws->s[l], units);
        bpk_bias_act_forward(ws->pool, ws->s[l], ws->a[l], batch, units,
                             bp_net_biases_const(net, l), net->layer[l].act, net->layer[l].slope);
        if (src && l + 1 < net->n_layers)
            draw_masks(ws, l, batch, 1.0f - p, src);
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
    ws->drop_arena = malloc((total ? total : 1) * sizeof(float));
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
                             float p, const bp_dropout_source *src)
{
    if (!src || !(p > 0.0f && p < 1.0f))
        return bp_error(BP_ERR_ARG, "dropout needs 0 < p < 1 and a generator");
    return forward(net, ws, x, batch, p, src);
}

double bp_sample_loss(bp_loss loss, bp_activation out_act, const float *s, const float *a,
                      const float *target, int units)
{
    double e = 0.0;
    switch (loss) {
    case BP_LOSS_MSE:
        for (int k = 0; k < units; k++) {
            double d = (double)target[k] - (double)a[k];
            e += 0.5 * d * d;
        }
        break;
    case BP_LOSS_XENT: {
        /* −Σ t·ln softmax(s), through log-sum-exp so a saturated softmax gives a
         * large finite loss instead of ln 0. */
        (void)out_act;
        double mx = s[0];
        for (int k = 1; k < units; k++)
            if (s[k] > mx)
                mx = s[k];
        double sum = 0.0;
        for (int k = 0; k < units; k++)
            sum += exp((double)s[k] - mx);
        double lse = mx + log(sum);
        for (int k = 0; k < units; k++)
            if (target[k] != 0.0f)
                e -= (double)target[k] * ((double)s[k] - lse);
        break;
    }
    case BP_LOSS_BCE:
        /* −[t ln σ(s) + (1−t) ln(1−σ(s))] = max(s,0) − t·s + ln(1 + e^−|s|) */
        for (int k = 0; k < units; k++) {
            double sk = s[k], t = target[k];
            e += (sk > 0 ? sk : 0) - t * sk + log1p(exp(-fabs(sk)));
        }
        break;
    default:
        break;
    }
    return e;
}

/* NaN or Inf targets are refused (the header promises it): they would give a
 * NaN loss and NaN gradients that only show up later as divergence. */
static bp_status check_targets_finite(const bp_net *net, const float *target, int batch,
                                      const char *fn)
{
    int units = bp_net_outputs(net);
    for (int r = 0; r < batch; r++)
        for (int k = 0; k < units; k++) {
            float t = target[(size_t)r * (size_t)units + (size_t)k];
            if (!isfinite(t))
                return bp_error(BP_ERR_NUMERIC, "%s: target row %d, column %d is %g", fn, r + 1,
                                k + 1, (double)t);
        }
    return BP_OK;
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
    if ((st = check_targets_finite(net, target, batch, "bp_loss_value")) != BP_OK)
        return st;
    int L = net->n_layers - 1, units = net->layer[L].units;
    double total = 0.0;
    for (int r = 0; r < batch; r++)
        total += bp_sample_loss(net->loss, net->layer[L].act, ws->s[L] + (size_t)r * units,
                                ws->a[L] + (size_t)r * units, target + (size_t)r * units, units);
    *loss = (float)(total / batch);
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

/* δ ⊙ f'(s), with the trainer's flat-spot fix for sigmoid layers:
 * f'(s) = a(1 − a) + flat_spot (bp_train_options.flat_spot). */
static void act_backward(const bp_workspace *ws, float *delta, const float *s, const float *a,
                         size_t n, bp_activation act, float slope)
{
    if (act == BP_ACT_SIGMOID && ws->flat_spot > 0) {
        float fs = ws->flat_spot;
        for (size_t i = 0; i < n; i++)
            delta[i] *= a[i] * (1.0f - a[i]) + fs;
        return;
    }
    bpk_act_backward(delta, s, a, n, act, slope);
}

/* δ of the output layer for each row: ∂E/∂s. */
static void output_delta(const bp_net *net, bp_workspace *ws, const float *target, int batch)
{
    int L = net->n_layers - 1, units = net->layer[L].units;
    bp_activation act = net->layer[L].act;
    size_t n = (size_t)batch * (size_t)units;
    float *delta = ws->delta[L];
    const float *a = ws->a[L];
    for (size_t i = 0; i < n; i++)
        delta[i] = a[i] - target[i]; /* ∂E/∂a for MSE; the whole δ for the fused losses */
    if (net->loss != BP_LOSS_MSE)
        return; /* softmax+xent and sigmoid+bce: δ = a − t exactly */
    if (act == BP_ACT_SOFTMAX) {
        /* Softmax couples its outputs: δ_j = a_j (g_j − Σ_k g_k a_k), g = ∂E/∂a. */
        for (int r = 0; r < batch; r++) {
            float *d = delta + (size_t)r * units;
            const float *ar = a + (size_t)r * units;
            float dot = 0.0f;
            for (int k = 0; k < units; k++)
                dot += d[k] * ar[k];
            for (int k = 0; k < units; k++)
                d[k] = ar[k] * (d[k] - dot);
        }
    } else {
        act_backward(ws, delta, ws->s[L], a, n, act, net->layer[L].slope);
    }
}

bp_status bp_backward(const bp_net *net, bp_workspace *ws, const float *x, const float *target,
                      int batch, float *loss)
{
    return bp_backward_scaled(net, ws, x, target, batch, 1.0f / (float)batch, loss);
}

bp_status bp_backward_scaled(const bp_net *net, bp_workspace *ws, const float *x,
                             const float *target, int batch, float scale, float *loss)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK)
        return st;
    if (!x || !target)
        return bp_error(BP_ERR_ARG, "bp_backward: inputs or targets are NULL");
    if (batch != ws->batch)
        return bp_error(BP_ERR_ARG, "backward asked for %d rows, last forward pass had %d",
                        batch, ws->batch);
    if ((st = check_targets_finite(net, target, batch, "bp_backward")) != BP_OK ||
        (st = bp_check_targets(net, target, (size_t)batch, "row")) != BP_OK)
        return st;
    if (loss && (st = bp_loss_value(net, ws, target, batch, loss)) != BP_OK)
        return st;
    output_delta(net, ws, target, batch);
    float inv_batch = scale;
    for (int l = net->n_layers - 1; l >= 0; l--) {
        int units = net->layer[l].units, fan_in = net->fan_in[l];
        const float *a_prev = layer_input(ws, l, x);
        float *gw = ws->grads + net->w_offset[l];
        /* ∂E/∂W = (1/B) δᵀ · a_prev: the batch mean of δ_i ⊗ a_prev_i. */
        bpk_sgemm(ws->pool, 1, 0, units, fan_in, batch, inv_batch, ws->delta[l], units, a_prev,
                  fan_in, 0.0f, gw, fan_in);
        if (net->layer[l].bias)
            bpk_col_sum(ws->pool, ws->delta[l], batch, units, inv_batch,
                        ws->grads + net->b_offset[l]);
        if (l > 0) {
            /* δ_prev = (δ · W) ⊙ f'(s_prev): each hidden neuron collects the
             * deltas of the neurons it feeds, weighted by the connecting weights. */
            bpk_sgemm(ws->pool, 0, 0, batch, fan_in, units, 1.0f, ws->delta[l], units,
                      net->params + net->w_offset[l], fan_in, 0.0f, ws->delta[l - 1], fan_in);
            if (ws->dropout_active) {
                size_t n = (size_t)batch * (size_t)fan_in;
                for (size_t i = 0; i < n; i++)
                    ws->delta[l - 1][i] *= ws->mask[l - 1][i];
            }
            act_backward(ws, ws->delta[l - 1], ws->s[l - 1], ws->a[l - 1],
                         (size_t)batch * (size_t)fan_in, net->layer[l - 1].act,
                         net->layer[l - 1].slope);
        }
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
    bpk_sgd_update(net->params, ws->grads, net->n_params, learning_rate);
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
    if ((st = check_targets_finite(net, target, 1, "bp_train_sample")) != BP_OK ||
        (st = bp_check_targets(net, target, 1, "row")) != BP_OK)
        return st;
    ws->dropout_active = 0;
    const float *a_prev = x;
    for (int l = 0; l < net->n_layers; l++) {
        int units = net->layer[l].units, fan_in = net->fan_in[l];
        float *W = net->params + net->w_offset[l];
        if (l == 0 && ws->online_pending) {
            bpk_sger_sgemv(units, fan_in, -ws->online_lr, ws->delta[0], ws->input, W, fan_in, x,
                           bp_net_biases_const(net, 0), ws->s[0]);
            ws->online_pending = 0;
        } else {
            bpk_sgemv(units, fan_in, W, fan_in, a_prev, bp_net_biases_const(net, l), ws->s[l]);
        }
        bpk_bias_act_forward(NULL, ws->s[l], ws->a[l], 1, units, NULL, net->layer[l].act,
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
        float *W = net->params + net->w_offset[l];
        const float *a_prev_l = l > 0 ? ws->a[l - 1] : x;
        if (l > 0) {
            bpk_sgemv_t(units, fan_in, W, fan_in, ws->delta[l], ws->delta[l - 1]);
            act_backward(ws, ws->delta[l - 1], ws->s[l - 1], ws->a[l - 1], (size_t)fan_in,
                         net->layer[l - 1].act, net->layer[l - 1].slope);
        }
        if (l == 0 && defer) {
            /* δ[0] stays in the workspace until the next forward pass. */
            memcpy(ws->input, x, (size_t)fan_in * sizeof(float));
            ws->online_pending = 1;
            ws->online_lr = learning_rate;
        } else {
            bpk_sger(units, fan_in, -learning_rate, ws->delta[l], a_prev_l, W, fan_in);
        }
        if (net->layer[l].bias)
            bpk_sgd_update(net->params + net->b_offset[l], ws->delta[l], (size_t)units,
                           learning_rate);
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
    bpk_sger(net->layer[0].units, net->fan_in[0], -ws->online_lr, ws->delta[0], ws->input,
             net->params + net->w_offset[0], net->fan_in[0]);
    ws->online_pending = 0;
    return BP_OK;
}

bp_status bp_predict(const bp_net *net, bp_workspace *ws, const float *x, size_t rows, float *out)
{
    bp_status st = bp_workspace_check(net, ws);
    if (st != BP_OK)
        return st;
    if (!x || !out)
        return bp_error(BP_ERR_ARG, "bp_predict: NULL argument");
    int n_in = net->n_inputs, n_out = bp_net_outputs(net), L = net->n_layers - 1;
    for (size_t r = 0; r < rows; r += (size_t)ws->max_batch) {
        int chunk = (int)(rows - r < (size_t)ws->max_batch ? rows - r : (size_t)ws->max_batch);
        const float *xr = x + r * (size_t)n_in;
        if (net->scale_shift) {
            bp_net_scale_inputs(net, xr, ws->input, (size_t)chunk);
            xr = ws->input;
        }
        if ((st = bp_forward(net, ws, xr, chunk)) != BP_OK)
            return st;
        memcpy(out + r * (size_t)n_out, ws->a[L], (size_t)chunk * (size_t)n_out * sizeof(float));
    }
    return BP_OK;
}
