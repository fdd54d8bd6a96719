/*
 * Portable reference implementation of the kernel op set: plain loops,
 * serial pool.  Correct first; the tuned CPU backend replaces it.
 */
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

struct bpk_pool {
    int threads;
};

bpk_pool *bpk_pool_create(int threads)
{
    if (threads < 1) {
        bp_error(BP_ERR_ARG, "thread count must be at least 1 (got %d)", threads);
        return NULL;
    }
    bpk_pool *pool = malloc(sizeof *pool);
    if (!pool) {
        bp_error(BP_ERR_NOMEM, "out of memory creating a thread pool");
        return NULL;
    }
    pool->threads = threads;
    return pool;
}

void bpk_pool_free(bpk_pool *pool) { free(pool); }

int bpk_pool_threads(const bpk_pool *pool) { return pool ? pool->threads : 1; }

void bpk_pool_run(bpk_pool *pool, int ntasks, bpk_task_fn fn, void *ctx)
{
    (void)pool;
    for (int t = 0; t < ntasks; t++)
        fn(ctx, t);
}

void bpk_sgemm(bpk_pool *pool, int trans_a, int trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc)
{
    (void)pool;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) {
                float x = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float y = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                acc += x * y;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
        }
    }
}

void bpk_bias_act_forward(bpk_pool *pool, float *s, float *a, int rows, int cols,
                          const float *bias, bp_activation act, float slope)
{
    (void)pool;
    for (int i = 0; i < rows; i++) {
        float *sr = s + (size_t)i * cols, *ar = a + (size_t)i * cols;
        if (bias)
            for (int j = 0; j < cols; j++)
                sr[j] += bias[j];
        if (act == BP_ACT_SOFTMAX) {
            /* Subtracting the row maximum keeps exp() finite; it cancels in the ratio. */
            float mx = sr[0];
            for (int j = 1; j < cols; j++)
                if (sr[j] > mx)
                    mx = sr[j];
            float sum = 0.0f;
            for (int j = 0; j < cols; j++) {
                ar[j] = expf(sr[j] - mx);
                sum += ar[j];
            }
            for (int j = 0; j < cols; j++)
                ar[j] /= sum;
        } else {
            for (int j = 0; j < cols; j++)
                ar[j] = bp_activation_apply(act, sr[j], slope);
        }
    }
}

void bpk_act_backward(float *delta, const float *s, const float *a, size_t n,
                      bp_activation act, float slope)
{
    for (size_t i = 0; i < n; i++) {
        float d;
        switch (act) {
        case BP_ACT_SIGMOID: d = a[i] * (1.0f - a[i]); break;
        case BP_ACT_TANH: d = 1.0f - a[i] * a[i]; break;
        default: d = bp_activation_derivative(act, s[i], slope); break;
        }
        delta[i] *= d;
    }
}

void bpk_col_sum(bpk_pool *pool, const float *X, int rows, int cols, float scale, float *out)
{
    (void)pool;
    for (int j = 0; j < cols; j++)
        out[j] = 0.0f;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            out[j] += X[(size_t)i * cols + j];
    for (int j = 0; j < cols; j++)
        out[j] *= scale;
}

void bpk_sgemv(int M, int K, const float *W, int ldw, const float *x, const float *bias, float *y)
{
    for (int i = 0; i < M; i++) {
        float acc = 0.0f;
        for (int k = 0; k < K; k++)
            acc += W[(size_t)i * ldw + k] * x[k];
        y[i] = bias ? acc + bias[i] : acc;
    }
}

void bpk_sgemv_t(int M, int K, const float *W, int ldw, const float *d, float *y)
{
    for (int k = 0; k < K; k++)
        y[k] = 0.0f;
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++)
            y[k] += W[(size_t)i * ldw + k] * d[i];
}

void bpk_sger(int M, int K, float alpha, const float *d, const float *x, float *W, int ldw)
{
    for (int i = 0; i < M; i++) {
        float ad = alpha * d[i];
        for (int k = 0; k < K; k++)
            W[(size_t)i * ldw + k] += ad * x[k];
    }
}

void bpk_sgd_update(float *w, const float *g, size_t n, float lr)
{
    for (size_t i = 0; i < n; i++)
        w[i] -= lr * g[i];
}

void bpk_momentum_update(float *w, float *v, const float *g, size_t n, float lr, float mu,
                         int nesterov)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i];
        w[i] -= lr * (nesterov ? g[i] + mu * v[i] : v[i]);
    }
}

void bpk_adam_update(float *w, float *m, float *v, const float *g, size_t n, float lr,
                     float beta1, float beta2, float eps, float c1, float c2, float decoupled_wd)
{
    for (size_t i = 0; i < n; i++) {
        if (decoupled_wd != 0.0f)
            w[i] -= lr * decoupled_wd * w[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        float mhat = m[i] / c1, vhat = v[i] / c2;
        w[i] -= lr * mhat / (sqrtf(vhat) + eps);
    }
}

void bpk_rmsprop_update(float *w, float *v, const float *g, size_t n, float lr, float rho,
                        float eps)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = rho * v[i] + (1.0f - rho) * g[i] * g[i];
        w[i] -= lr * g[i] / (sqrtf(v[i]) + eps);
    }
}

const char *bpk_isa(void) { return "portable"; }
