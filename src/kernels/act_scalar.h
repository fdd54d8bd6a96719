/*
 * act_scalar.h — the one scalar definition of each activation f(s) and of
 * its derivative f'(s) (internal, not installed).
 *
 * The portable kernel and the CUDA kernels compute exactly these, the vector
 * paths use them for tails and are tested against them,
 * and nn/activation.c exposes them as bp_activation_apply and
 * bp_activation_derivative for explain/ and the derivative tests, so the
 * formulas are written once.  Softmax is a row operation: here it is the
 * identity (a one-unit softmax is handled by its callers).  The loss of one
 * sample is here too, for the same reason.
 */
#ifndef BP_KERNELS_ACT_SCALAR_H
#define BP_KERNELS_ACT_SCALAR_H

#include <math.h>

#include "backprop.h"

/* The bodies below are compiled for the host and, by nvcc, for the GPU
 * (src/cuda/cuda_kernels.cu), so every backend computes the same formulas. */
#ifdef __CUDACC__
#define BPK_HOST_DEVICE __host__ __device__
#else
#define BPK_HOST_DEVICE
#endif

/* f(s); slope is leaky ReLU's for s < 0. */
static inline BPK_HOST_DEVICE float bpk_act_value(bp_activation act, float s, float slope)
{
    switch (act) {
    case BP_ACT_SIGMOID: return 1.0f / (1.0f + expf(-s));
    case BP_ACT_TANH: return tanhf(s);
    case BP_ACT_RELU: return s > 0.0f ? s : 0.0f;
    case BP_ACT_LEAKY_RELU: return s > 0.0f ? s : slope * s;
    default: return s;
    }
}

/* f'(s), given a = f(s) as well: sigmoid and tanh are cheaper in a
 * (a·(1 − a), 1 − a²); ReLU's derivative at 0 is 0, as PyTorch's. */
static inline BPK_HOST_DEVICE float bpk_act_slope(bp_activation act, float s, float a,
                                                  float slope)
{
    switch (act) {
    case BP_ACT_SIGMOID: return a * (1.0f - a);
    case BP_ACT_TANH: return 1.0f - a * a;
    case BP_ACT_RELU: return s > 0.0f ? 1.0f : 0.0f;
    case BP_ACT_LEAKY_RELU: return s > 0.0f ? 1.0f : slope;
    default: return 1.0f;
    }
}

/* One sample's loss, in double, from the output layer's weighted sums s and
 * activations a (cols units) against the target row. */
static inline BPK_HOST_DEVICE double bpk_loss_value(bp_loss loss, const float *s, const float *a,
                                                    const float *target, int cols)
{
    double e = 0.0;
    if (loss == BP_LOSS_MSE) {
        for (int k = 0; k < cols; k++) {
            double d = (double)target[k] - (double)a[k];
            e += 0.5 * d * d;
        }
    } else if (loss == BP_LOSS_XENT) {
        /* −Σ t·ln softmax(s), through log-sum-exp so a saturated softmax
         * gives a large finite loss instead of ln 0. */
        double mx = s[0];
        for (int k = 1; k < cols; k++)
            if (s[k] > mx)
                mx = s[k];
        double sum = 0.0;
        for (int k = 0; k < cols; k++)
            sum += exp((double)s[k] - mx);
        double lse = mx + log(sum);
        for (int k = 0; k < cols; k++)
            if (target[k] != 0.0f)
                e -= (double)target[k] * ((double)s[k] - lse);
    } else if (loss == BP_LOSS_BCE) {
        /* −[t ln σ(s) + (1−t) ln(1−σ(s))] = max(s,0) − t·s + ln(1 + e^−|s|) */
        for (int k = 0; k < cols; k++) {
            double sk = s[k], t = target[k];
            e += (sk > 0 ? sk : 0) - t * sk + log1p(exp(-fabs(sk)));
        }
    }
    return e;
}

#ifndef __CUDACC__
/* The same as functions, for the vector paths' tails and nn/activation.c. */
float bpk_act_scalar(bp_activation act, float s, float slope);
float bpk_act_deriv_scalar(bp_activation act, float s, float a, float slope);
#endif

#endif /* BP_KERNELS_ACT_SCALAR_H */
