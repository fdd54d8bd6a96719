/*
 * Portable C implementation of the CPU backend's ISA table: the fallback
 * where neither AVX2 nor AVX-512 is available (or BACKPROP_ISA=portable),
 * and the scalar helpers the vector paths use for tails.
 *
 * No FMA contraction happens here (ISO C mode: -ffp-contract=off), so these
 * loops give the same bits whatever the compiler vectorises.
 */
#include <math.h>
#include <string.h>

#include "cpu_internal.h"

float bpk_act_scalar(bp_activation act, float s, float slope)
{
    return bpk_act_value(act, s, slope);
}

float bpk_act_deriv_scalar(bp_activation act, float s, float a, float slope)
{
    return bpk_act_slope(act, s, a, slope);
}

/* ---- GEMM ----------------------------------------------------------------- */

enum { P_MR = 4, P_NR = 16 };

static void kernel_portable(int kc, const float *a, const float *b, float *C, size_t ldc, int mr,
                            int nr, float alpha, float beta)
{
    float acc[P_MR][P_NR];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kc; k++) {
        const float *ak = a + (size_t)k * P_MR, *bk = b + (size_t)k * P_NR;
        for (int r = 0; r < P_MR; r++) {
            float av = ak[r];
            for (int c = 0; c < P_NR; c++)
                acc[r][c] += av * bk[c];
        }
    }
    for (int r = 0; r < mr; r++) {
        float *cr = C + (size_t)r * ldc;
        if (beta == 0.0f)
            for (int c = 0; c < nr; c++)
                cr[c] = alpha * acc[r][c];
        else
            for (int c = 0; c < nr; c++)
                cr[c] = alpha * acc[r][c] + beta * cr[c];
    }
}

static void pack_portable(int w, int kcontig, const float *src, size_t ld, int rows, int kc,
                          float *dst)
{
    for (int p = 0; p < rows; p += w) {
        int n = rows - p < w ? rows - p : w;
        if (kcontig) {
            for (int r = 0; r < n; r++) {
                const float *s = src + (size_t)(p + r) * ld;
                for (int k = 0; k < kc; k++)
                    dst[(size_t)k * w + r] = s[k];
            }
            for (int r = n; r < w; r++)
                for (int k = 0; k < kc; k++)
                    dst[(size_t)k * w + r] = 0.0f;
        } else {
            for (int k = 0; k < kc; k++) {
                const float *s = src + (size_t)k * ld + p;
                float *d = dst + (size_t)k * w;
                int r = 0;
                for (; r < n; r++)
                    d[r] = s[r];
                for (; r < w; r++)
                    d[r] = 0.0f;
            }
        }
        dst += (size_t)w * kc;
    }
}

/* ---- element-wise ---------------------------------------------------------- */

static void bias_act_row_portable(float *s, float *a, int cols, const float *bias,
                                  bp_activation act, float slope)
{
    if (bias)
        for (int j = 0; j < cols; j++)
            s[j] += bias[j];
    for (int j = 0; j < cols; j++)
        a[j] = bpk_act_scalar(act, s[j], slope);
}

static void softmax_row_portable(float *s, float *a, int cols, const float *bias)
{
    if (bias)
        for (int j = 0; j < cols; j++)
            s[j] += bias[j];
    /* Subtracting the row maximum keeps exp() finite; it cancels in the ratio. */
    float mx = s[0];
    for (int j = 1; j < cols; j++)
        if (s[j] > mx)
            mx = s[j];
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
        a[j] = expf(s[j] - mx);
        sum += a[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < cols; j++)
        a[j] *= inv;
}

static void act_backward_portable(float *delta, const float *s, const float *a, size_t n,
                                  bp_activation act, float slope)
{
    if (act == BP_ACT_LINEAR || act == BP_ACT_SOFTMAX)
        return;
    for (size_t i = 0; i < n; i++)
        delta[i] *= bpk_act_deriv_scalar(act, s ? s[i] : 0.0f, a ? a[i] : 0.0f, slope);
}

static void col_sum_portable(const float *X, size_t ld, int rows, int cols, float scale,
                             float *out)
{
    for (int j = 0; j < cols; j++)
        out[j] = 0.0f;
    for (int i = 0; i < rows; i++) {
        const float *x = X + (size_t)i * ld;
        for (int j = 0; j < cols; j++)
            out[j] += x[j];
    }
    for (int j = 0; j < cols; j++)
        out[j] *= scale;
}

/* ---- batch 1 --------------------------------------------------------------- */

static void sgemv_portable(int M, int K, const float *W, size_t ldw, const float *x,
                           const float *bias, float *y)
{
    for (int i = 0; i < M; i++) {
        const float *w = W + (size_t)i * ldw;
        float acc[8] = {0};
        int k = 0;
        for (; k + 8 <= K; k += 8)
            for (int l = 0; l < 8; l++)
                acc[l] += w[k + l] * x[k + l];
        float t = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; k < K; k++)
            t += w[k] * x[k];
        y[i] = bias ? t + bias[i] : t;
    }
}

static void sgemv_t_portable(int M, int K, const float *W, size_t ldw, const float *d, float *y)
{
    for (int k = 0; k < K; k++)
        y[k] = 0.0f;
    for (int i = 0; i < M; i++) {
        const float *w = W + (size_t)i * ldw;
        float di = d[i];
        for (int k = 0; k < K; k++)
            y[k] += w[k] * di;
    }
}

static void sger_portable(int M, int K, float alpha, const float *d, const float *x, float *W,
                          size_t ldw)
{
    for (int i = 0; i < M; i++) {
        float *w = W + (size_t)i * ldw;
        float ad = alpha * d[i];
        for (int k = 0; k < K; k++)
            w[k] += ad * x[k];
    }
}

static void sger_sgemv_portable(int M, int K, float alpha, const float *d, const float *x,
                                float *W, size_t ldw, const float *x_next, const float *bias,
                                float *y)
{
    for (int i = 0; i < M; i++) {
        sger_portable(1, K, alpha, d + i, x, W + (size_t)i * ldw, ldw);
        sgemv_portable(1, K, W + (size_t)i * ldw, ldw, x_next, bias ? bias + i : NULL, y + i);
    }
}

/* ---- optimizers ------------------------------------------------------------- */

static void sgd_portable(float *w, const float *g, size_t n, float lr)
{
    for (size_t i = 0; i < n; i++)
        w[i] -= lr * g[i];
}

static void momentum_portable(float *w, float *v, const float *g, size_t n, float lr, float mu,
                              int nesterov)
{
    for (size_t i = 0; i < n; i++) {
        float vi = mu * v[i] + g[i];
        v[i] = vi;
        w[i] -= lr * (nesterov ? g[i] + mu * vi : vi);
    }
}

static void adam_portable(float *w, float *m, float *v, const float *g, size_t n, float lr,
                          float beta1, float beta2, float eps, float c1, float c2, float wd)
{
    float b1c = 1.0f - beta1, b2c = 1.0f - beta2, lrwd = lr * wd;
    for (size_t i = 0; i < n; i++) {
        float wi = w[i], gi = g[i];
        if (wd != 0.0f)
            wi -= lrwd * wi;
        float mi = beta1 * m[i] + b1c * gi;
        float vi = beta2 * v[i] + b2c * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = wi - lr * (mi / c1) / (sqrtf(vi / c2) + eps);
    }
}

static void rmsprop_portable(float *w, float *v, const float *g, size_t n, float lr, float rho,
                             float eps)
{
    float rc = 1.0f - rho;
    for (size_t i = 0; i < n; i++) {
        float vi = rho * v[i] + rc * g[i] * g[i];
        v[i] = vi;
        w[i] -= lr * g[i] / (sqrtf(vi) + eps);
    }
}

const bpk_impl bpk_impl_portable = {
    .name = "portable",
    .mr = P_MR, .nr = P_NR, .kc = 256, .mc = 64, .nc = 2048,
    .kernel = kernel_portable,
    .pack = pack_portable,
    .bias_act_row = bias_act_row_portable,
    .softmax_row = softmax_row_portable,
    .act_backward = act_backward_portable,
    .col_sum = col_sum_portable,
    .sgemv = sgemv_portable,
    .sgemv_t = sgemv_t_portable,
    .sger = sger_portable,
    .sger_sgemv = sger_sgemv_portable,
    .sgd = sgd_portable,
    .momentum = momentum_portable,
    .adam = adam_portable,
    .rmsprop = rmsprop_portable,
};
