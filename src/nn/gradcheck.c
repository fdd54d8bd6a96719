/*
 * Gradient check: the analytic gradients of backpropagation against central
 * finite differences of the loss, both in double precision, and the library's
 * float32 gradients against the double analytic ones.
 *
 * The double path is a separate, deliberately plain implementation of the
 * same maths, so a mistake in the float path cannot hide by being repeated.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "kernels/rng.h"

/* Stream of the sample of checked parameters (bp_gradcheck_sample). */
#define GRADCHECK_STREAM 0x4743u

typedef struct {
    const bp_net *net;
    int batch;
    double *params;      /* n_params */
    double *s, *a, *d;   /* per layer [batch][units], concatenated */
    size_t off[BP_MAX_LAYERS + 1];
    const float *x, *target;
} dnet;

static double act_d(bp_activation act, double s, double slope)
{
    switch (act) {
    case BP_ACT_SIGMOID: return 1.0 / (1.0 + exp(-s));
    case BP_ACT_TANH: return tanh(s);
    case BP_ACT_RELU: return s > 0 ? s : 0;
    case BP_ACT_LEAKY_RELU: return s > 0 ? s : slope * s;
    default: return s;
    }
}

static double act_deriv_d(bp_activation act, double s, double slope)
{
    switch (act) {
    case BP_ACT_SIGMOID: {
        double a = 1.0 / (1.0 + exp(-s));
        return a * (1 - a);
    }
    case BP_ACT_TANH: return 1 - tanh(s) * tanh(s);
    case BP_ACT_RELU: return s > 0 ? 1 : 0;
    case BP_ACT_LEAKY_RELU: return s > 0 ? 1 : slope;
    default: return 1;
    }
}

/* Returns the mean loss over the batch. */
static double forward_d(dnet *D)
{
    const bp_net *net = D->net;
    double loss = 0;
    for (int r = 0; r < D->batch; r++) {
        for (int l = 0; l < net->n_layers; l++) {
            int units = net->layer[l].units, fan_in = net->fan_in[l];
            const double *W = D->params + net->w_offset[l];
            double *s = D->s + D->off[l] + (size_t)r * units;
            double *a = D->a + D->off[l] + (size_t)r * units;
            for (int j = 0; j < units; j++) {
                double acc = net->layer[l].bias ? D->params[net->b_offset[l] + j] : 0;
                for (int k = 0; k < fan_in; k++) {
                    double in = l == 0 ? D->x[(size_t)r * fan_in + k]
                                       : D->a[D->off[l - 1] + (size_t)r * fan_in + k];
                    acc += W[(size_t)j * fan_in + k] * in;
                }
                s[j] = acc;
            }
            if (net->layer[l].act == BP_ACT_SOFTMAX) {
                double mx = s[0], sum = 0;
                for (int j = 1; j < units; j++)
                    mx = s[j] > mx ? s[j] : mx;
                for (int j = 0; j < units; j++)
                    sum += a[j] = exp(s[j] - mx);
                for (int j = 0; j < units; j++)
                    a[j] /= sum;
            } else {
                for (int j = 0; j < units; j++)
                    a[j] = act_d(net->layer[l].act, s[j], net->layer[l].slope);
            }
        }
        int L = net->n_layers - 1, units = net->layer[L].units;
        const double *s = D->s + D->off[L] + (size_t)r * units;
        const double *a = D->a + D->off[L] + (size_t)r * units;
        const float *t = D->target + (size_t)r * units;
        for (int k = 0; k < units; k++) {
            if (net->loss == BP_LOSS_MSE) {
                loss += 0.5 * (t[k] - a[k]) * (t[k] - a[k]);
            } else if (net->loss == BP_LOSS_XENT) {
                double mx = s[0], sum = 0;
                for (int j = 1; j < units; j++)
                    mx = s[j] > mx ? s[j] : mx;
                for (int j = 0; j < units; j++)
                    sum += exp(s[j] - mx);
                loss -= t[k] * (s[k] - mx - log(sum));
            } else {
                loss += (s[k] > 0 ? s[k] : 0) - t[k] * s[k] + log1p(exp(-fabs(s[k])));
            }
        }
    }
    return loss / D->batch;
}

/* Analytic gradient in double, averaged over the batch, into grad[n_params]. */
static void backward_d(dnet *D, double *grad)
{
    const bp_net *net = D->net;
    memset(grad, 0, net->n_params * sizeof *grad);
    int L = net->n_layers - 1;
    for (int r = 0; r < D->batch; r++) {
        int units = net->layer[L].units;
        double *d = D->d + D->off[L] + (size_t)r * units;
        const double *a = D->a + D->off[L] + (size_t)r * units;
        const double *s = D->s + D->off[L] + (size_t)r * units;
        const float *t = D->target + (size_t)r * units;
        for (int k = 0; k < units; k++)
            d[k] = a[k] - t[k];
        if (net->loss == BP_LOSS_MSE) {
            if (net->layer[L].act == BP_ACT_SOFTMAX) {
                double dot = 0;
                for (int k = 0; k < units; k++)
                    dot += d[k] * a[k];
                for (int k = 0; k < units; k++)
                    d[k] = a[k] * (d[k] - dot);
            } else {
                for (int k = 0; k < units; k++)
                    d[k] *= act_deriv_d(net->layer[L].act, s[k], net->layer[L].slope);
            }
        }
        for (int l = L; l >= 0; l--) {
            int u = net->layer[l].units, fan_in = net->fan_in[l];
            const double *dl = D->d + D->off[l] + (size_t)r * u;
            for (int j = 0; j < u; j++) {
                for (int k = 0; k < fan_in; k++) {
                    double in = l == 0 ? D->x[(size_t)r * fan_in + k]
                                       : D->a[D->off[l - 1] + (size_t)r * fan_in + k];
                    grad[net->w_offset[l] + (size_t)j * fan_in + k] += dl[j] * in / D->batch;
                }
                if (net->layer[l].bias)
                    grad[net->b_offset[l] + j] += dl[j] / D->batch;
            }
            if (l > 0) {
                double *dp = D->d + D->off[l - 1] + (size_t)r * fan_in;
                const double *sp = D->s + D->off[l - 1] + (size_t)r * fan_in;
                const double *W = D->params + net->w_offset[l];
                for (int k = 0; k < fan_in; k++) {
                    double acc = 0;
                    for (int j = 0; j < u; j++)
                        acc += dl[j] * W[(size_t)j * fan_in + k];
                    dp[k] = acc * act_deriv_d(net->layer[l - 1].act, sp[k],
                                              net->layer[l - 1].slope);
                }
            }
        }
    }
}

static double rel_err(double x, double y, double floor)
{
    double den = fmax(fmax(fabs(x), fabs(y)), floor);
    return fabs(x - y) / den;
}

bp_status bp_gradcheck(const bp_net *net, const float *x, const float *target, int batch,
                       bp_gradcheck_result *result)
{
    return bp_gradcheck_sample(net, x, target, batch, SIZE_MAX, 0, NULL, NULL, result);
}

/* Central difference of the loss for parameter i, in double. */
static double numeric_grad(dnet *D, size_t i)
{
    double keep = D->params[i];
    double h = 1e-6 * fmax(1.0, fabs(keep));
    D->params[i] = keep + h;
    double up = forward_d(D);
    D->params[i] = keep - h;
    double down = forward_d(D);
    D->params[i] = keep;
    return (up - down) / (2 * h);
}

/* The double-precision net's buffers: its parameters (copied from net) and
 * per layer s, a and δ; layer l's rows start at off[l] and hold batch·units
 * values. */
static bp_status dnet_alloc(dnet *D)
{
    const bp_net *net = D->net;
    size_t n_act = 0, np = net->n_params;
    for (int l = 0; l < net->n_layers; l++) {
        D->off[l] = n_act;
        n_act += (size_t)net->layer[l].units * (size_t)D->batch;
    }
    D->params = malloc(np * sizeof(double));
    D->s = malloc(n_act * sizeof(double));
    D->a = malloc(n_act * sizeof(double));
    D->d = malloc(n_act * sizeof(double));
    if (!D->params || !D->s || !D->a || !D->d)
        return bp_error(BP_ERR_NOMEM, "out of memory for the gradient check");
    for (size_t i = 0; i < np; i++)
        D->params[i] = net->params[i];
    return BP_OK;
}

static void dnet_free(dnet *D)
{
    free(D->params);
    free(D->s);
    free(D->a);
    free(D->d);
}

/* Backpropagation's gradient (grad, in double) against central differences
 * on max_params parameters sampled with seed; the worst relative error goes
 * to result.  progress may stop it. */
static bp_status check_sampled(dnet *D, const double *grad, double loss, size_t max_params,
                               uint64_t seed, bp_gradcheck_progress_fn progress, void *user,
                               bp_gradcheck_result *result)
{
    size_t np = D->net->n_params;
    /* The central difference carries a rounding error of about
     * ε·|E|/h ≈ 2e-10·|E| (ε = 2.2e-16, h = 1e-6), so a gradient far below
     * that cannot be judged relatively: the denominator is floored at
     * τ = 1e-5·max(1, |E|).  error ≤ 1e-4 then means |a − n| ≤ 1e-4·max(|a|,
     * |n|) for gradients above τ and |a − n| ≤ 1e-9·max(1, |E|) below it —
     * PyTorch's atol + rtol·|n| test with rtol 1e-4, atol 1e-4·τ. */
    double tau = 1e-5 * fmax(1.0, fabs(loss));
    /* Sample: Knuth's selection sampling (Algorithm S) picks exactly k of
     * the np indices, each equally likely, in order, with O(1) memory. */
    size_t k = max_params < np ? max_params : np, picked = 0;
    bp_rng rng;
    bp_rng_seed(&rng, seed, GRADCHECK_STREAM);
    for (size_t i = 0; i < np && picked < k; i++) {
        if (k < np && (double)(np - i) * bp_rng_uniform(&rng) >= (double)(k - picked))
            continue;
        double e = rel_err(grad[i], numeric_grad(D, i), tau);
        if (e > result->max_rel_error_double) {
            result->max_rel_error_double = e;
            result->worst_param = i;
        }
        picked++;
        if (progress && (picked % 64 == 0 || picked == k) && progress(picked, k, user))
            return bp_error(BP_ERR_INTERRUPTED, "gradient check stopped after %zu of %zu "
                                                "parameters", picked, k);
    }
    result->params_checked = picked;
    return BP_OK;
}

/* The float32 path, the library's own forward and backward, against grad. */
static bp_status check_float_path(const bp_net *net, const float *x, const float *target,
                                  int batch, const double *grad, bp_gradcheck_result *result)
{
    bp_workspace *ws = NULL;
    bp_status st = bp_workspace_create(&ws, net, batch, 1);
    if (st == BP_OK)
        st = bp_forward(net, ws, x, batch);
    if (st == BP_OK)
        st = bp_backward(net, ws, x, target, batch, NULL);
    if (st != BP_OK) {
        bp_workspace_free(ws);
        return st;
    }
    /* float32 carries ~7 digits; a gradient far below the largest one cannot
     * be compared relatively, so the floor scales with the largest gradient. */
    size_t np = net->n_params;
    double gmax = 0;
    for (size_t i = 0; i < np; i++)
        gmax = fmax(gmax, fabs(grad[i]));
    for (size_t i = 0; i < np; i++) {
        double e = rel_err(ws->grads[i], grad[i], fmax(1e-3 * gmax, 1e-6));
        if (e > result->max_rel_error_float)
            result->max_rel_error_float = e;
    }
    bp_workspace_free(ws);
    return BP_OK;
}

bp_status bp_gradcheck_sample(const bp_net *net, const float *x, const float *target, int batch,
                              size_t max_params, uint64_t seed, bp_gradcheck_progress_fn progress,
                              void *user, bp_gradcheck_result *result)
{
    if (!net || !x || !target || !result || batch < 1)
        return bp_error(BP_ERR_ARG, "bp_gradcheck: bad argument");
    memset(result, 0, sizeof *result);
    dnet D = {.net = net, .batch = batch, .x = x, .target = target};
    double *grad = malloc(net->n_params * sizeof(double));
    bp_status st = dnet_alloc(&D);
    if (st == BP_OK && !grad)
        st = bp_error(BP_ERR_NOMEM, "out of memory for the gradient check");
    if (st == BP_OK) {
        double loss = forward_d(&D);
        backward_d(&D, grad);
        st = check_sampled(&D, grad, loss, max_params, seed, progress, user, result);
    }
    if (st == BP_OK)
        st = check_float_path(net, x, target, batch, grad, result);
    dnet_free(&D);
    free(grad);
    return st;
}
