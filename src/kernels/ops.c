/*
 * The element-wise, batch-1 and optimizer ops of kernels.h, dispatched to the
 * ISA table.  Pooled ops split over whole rows (bias + activation) or column
 * ranges (column sums): each row or column is computed the same way whichever
 * task holds it, so the thread count never changes a bit.
 */
#include <math.h>

#include "cpu_internal.h"

/* Below this many elements a pooled op runs on the caller alone. */
#define POOL_MIN_ELEMS 32768

typedef struct act_job {
    const bpk_impl *im;
    float *s, *a;
    int rows, cols, rows_per_task;
    const float *bias;
    bp_activation act;
    float slope;
} act_job;

static void act_rows(const act_job *j, int r0, int r1)
{
    for (int i = r0; i < r1; i++) {
        float *s = j->s + (size_t)i * j->cols, *a = j->a + (size_t)i * j->cols;
        if (j->act == BP_ACT_SOFTMAX)
            j->im->softmax_row(s, a, j->cols, j->bias);
        else
            j->im->bias_act_row(s, a, j->cols, j->bias, j->act, j->slope);
    }
}

static void act_task(void *ctx, int t)
{
    const act_job *j = ctx;
    int r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    act_rows(j, r0, r1 < j->rows ? r1 : j->rows);
}

void bpk_cpu_bias_act_forward(bpk_pool *pool, float *s, float *a, int rows, int cols,
                          const float *bias, bp_activation act, float slope)
{
    if (rows <= 0 || cols <= 0)
        return;
    act_job j = {bpk_impl_get(), s, a, rows, cols, rows, bias, act, slope};
    int T = bpk_pool_width(pool);
    if (T == 1 || (size_t)rows * cols < POOL_MIN_ELEMS || rows == 1) {
        act_rows(&j, 0, rows);
        return;
    }
    int ntasks = rows < 4 * T ? rows : 4 * T;
    j.rows_per_task = (rows + ntasks - 1) / ntasks;
    bpk_pool_run(pool, (rows + j.rows_per_task - 1) / j.rows_per_task, act_task, &j);
}

void bpk_cpu_act_backward(float *delta, const float *s, const float *a, size_t n, bp_activation act,
                      float slope)
{
    if (n)
        bpk_impl_get()->act_backward(delta, s, a, n, act, slope);
}

typedef struct colsum_job {
    const bpk_impl *im;
    const float *X;
    int rows, cols, cols_per_task;
    float scale;
    float *out;
} colsum_job;

static void colsum_task(void *ctx, int t)
{
    const colsum_job *j = ctx;
    int c0 = t * j->cols_per_task, n = j->cols - c0;
    if (n > j->cols_per_task)
        n = j->cols_per_task;
    j->im->col_sum(j->X + c0, (size_t)j->cols, j->rows, n, j->scale, j->out + c0);
}

void bpk_cpu_col_sum(bpk_pool *pool, const float *X, int rows, int cols, float scale, float *out)
{
    if (cols <= 0)
        return;
    const bpk_impl *im = bpk_impl_get();
    if (rows <= 0) {
        for (int j = 0; j < cols; j++)
            out[j] = 0.0f;
        return;
    }
    int T = bpk_pool_width(pool);
    if (T == 1 || (size_t)rows * cols < POOL_MIN_ELEMS || cols < 128) {
        im->col_sum(X, (size_t)cols, rows, cols, scale, out);
        return;
    }
    colsum_job j = {im, X, rows, cols, 0, scale, out};
    /* ~4 slices a thread, handed out dynamically (the pool): a slow thread's
     * share goes to the others.  Columns are summed alike in any slice. */
    int per = (cols + 4 * T - 1) / (4 * T);
    j.cols_per_task = (per + 15) / 16 * 16;
    bpk_pool_run(pool, (cols + j.cols_per_task - 1) / j.cols_per_task, colsum_task, &j);
}

void bpk_cpu_sgemv(int M, int K, const float *W, int ldw, const float *x, const float *bias, float *y)
{
    if (M > 0)
        bpk_impl_get()->sgemv(M, K, W, (size_t)ldw, x, bias, y);
}

void bpk_cpu_sgemv_t(int M, int K, const float *W, int ldw, const float *d, float *y)
{
    if (K > 0)
        bpk_impl_get()->sgemv_t(M, K, W, (size_t)ldw, d, y);
}

void bpk_cpu_sger(int M, int K, float alpha, const float *d, const float *x, float *W, int ldw)
{
    if (M > 0 && K > 0)
        bpk_impl_get()->sger(M, K, alpha, d, x, W, (size_t)ldw);
}

void bpk_cpu_sger_sgemv(int M, int K, float alpha, const float *d, const float *x, float *W, int ldw,
                    const float *x_next, const float *bias, float *y)
{
    if (M > 0)
        bpk_impl_get()->sger_sgemv(M, K, alpha, d, x, W, (size_t)ldw, x_next, bias, y);
}

void bpk_cpu_sgd_update(float *w, const float *g, size_t n, float lr)
{
    if (n)
        bpk_impl_get()->sgd(w, g, n, lr);
}

void bpk_cpu_momentum_update(float *w, float *v, const float *g, size_t n, float lr, float mu,
                         int nesterov)
{
    if (n)
        bpk_impl_get()->momentum(w, v, g, n, lr, mu, nesterov);
}

void bpk_cpu_adam_update(float *w, float *m, float *v, const float *g, size_t n, float lr,
                     float beta1, float beta2, float eps, float c1, float c2, float decoupled_wd)
{
    if (n)
        bpk_impl_get()->adam(w, m, v, g, n, lr, beta1, beta2, eps, c1, c2, decoupled_wd);
}

void bpk_cpu_rmsprop_update(float *w, float *v, const float *g, size_t n, float lr, float rho,
                        float eps)
{
    if (n)
        bpk_impl_get()->rmsprop(w, v, g, n, lr, rho, eps);
}

void bpk_cpu_sum_vectors(const float *v, int count, size_t len, float *out)
{
    if (count <= 0) {
        for (size_t i = 0; i < len; i++)
            out[i] = 0.0f;
        return;
    }
    /* Plain adds in vector order, ((v0 + v1) + v2) + …, one block of out at a
     * time so that the block stays in L1 while every vector is added to it
     * (one pass over memory instead of count).  Vectorising across i never
     * reorders the additions of one element. */
    enum { BLOCK = 2048 };
    for (size_t lo = 0; lo < len; lo += BLOCK) {
        size_t n = len - lo < BLOCK ? len - lo : BLOCK;
        float *restrict o = out + lo;
        const float *restrict x = v + lo;
        for (size_t i = 0; i < n; i++)
            o[i] = x[i];
        for (int k = 1; k < count; k++) {
            x = v + (size_t)k * len + lo;
            for (size_t i = 0; i < n; i++)
                o[i] += x[i];
        }
    }
}

void bpk_cpu_sum_into(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

void bpk_cpu_axpy(float *y, const float *x, size_t n, float alpha)
{
    /* This file is built without -mfma and in ISO C mode (no contraction),
     * so alpha·x is rounded before the add, as the trainer always did. */
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

int bpk_cpu_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}
