/*
 * The CPU backend: its memory is host memory (64-byte aligned), its
 * execution context is a bpk_pool, and its ops are the ISA-dispatched
 * kernels of kernels.h plus the element-wise ops below.
 *
 * The element-wise ops here are plain C in a file built without -mfma and
 * in ISO C mode, where the compiler never contracts a·b + c into an FMA: each
 * product is rounded before its add, exactly as the same loops did when they
 * lived in nn/, so moving them here changed no bit (tests/same_bits.sha256).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "act_scalar.h"
#include "backend.h"
#include "kernels.h"

/* The CPU backend's context: its pool, and while frozen (bpk_ops.freeze)
 * the B operands it has packed, by operand. */
#define KEPT_MAX 32
#define KEPT_MAX_BYTES ((size_t)256 << 20)
typedef struct kept_b {
    const float *B;
    int tb, N, K, ldb;
    bpk_packed_b *pb;
} kept_b;

typedef struct cpu_ctx {
    bpk_pool *pool;
    int frozen;
    int nkept;
    size_t kept_bytes;
    kept_b kept[KEPT_MAX];
} cpu_ctx;

static bpk_pool *pool_of(bpk_backend *be) { return ((cpu_ctx *)be->context)->pool; }

/* ---- memory --------------------------------------------------------------- */

static float *cpu_alloc(bpk_backend *be, size_t n)
{
    (void)be;
    /* Rounded up to whole 64-byte lines, as aligned_alloc requires. */
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    if (n > SIZE_MAX / sizeof(float) - 64)
        return NULL;
    float *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

static void cpu_release(bpk_backend *be, float *p)
{
    (void)be;
    free(p);
}

static void cpu_copy(bpk_backend *be, float *dst, const float *src, size_t n)
{
    (void)be;
    if (n && dst != src)
        memmove(dst, src, n * sizeof(float));
}

static void cpu_fill(bpk_backend *be, float *x, size_t n, float value)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] = value;
}

/* ---- dense layers and batch 1: the ISA kernels ------------------------------ */

/* While frozen: B packed, the first time it is asked for (NULL when it
 * cannot be kept: then the product packs for itself, as unfrozen). */
static const bpk_packed_b *kept_packing(cpu_ctx *c, int tb, int N, int K, const float *B,
                                        int ldb)
{
    for (int i = 0; i < c->nkept; i++) {
        const kept_b *k = &c->kept[i];
        if (k->B == B && k->tb == tb && k->N == N && k->K == K && k->ldb == ldb)
            return k->pb;
    }
    if (c->nkept == KEPT_MAX)
        return NULL;
    bpk_packed_b *pb = bpk_cpu_pack_b(c->pool, tb, N, K, B, ldb);
    if (pb && c->kept_bytes + bpk_packed_b_bytes(pb) > KEPT_MAX_BYTES) {
        bpk_packed_b_free(pb);
        pb = NULL;
    }
    if (pb)
        c->kept_bytes += bpk_packed_b_bytes(pb);
    c->kept[c->nkept++] = (kept_b){B, tb, N, K, ldb, pb}; /* NULL too: not tried again */
    return pb;
}

static void cpu_freeze(bpk_backend *be, int on)
{
    cpu_ctx *c = be->context;
    if (!on) {
        for (int i = 0; i < c->nkept; i++)
            bpk_packed_b_free(c->kept[i].pb);
        c->nkept = 0;
        c->kept_bytes = 0;
    }
    c->frozen = on;
}

static void cpu_sgemm(bpk_backend *be, int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
    cpu_ctx *c = be->context;
    const bpk_packed_b *pb = c->frozen && M > 1 && K > 0 && N > 0 && alpha != 0.0f
                                 ? kept_packing(c, tb, N, K, B, ldb)
                                 : NULL;
    if (pb)
        bpk_cpu_sgemm_packed_b(c->pool, ta, M, alpha, A, lda, pb, beta, C, ldc);
    else
        bpk_cpu_sgemm(c->pool, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void cpu_sgemm_bf16(bpk_backend *be, int ta, int tb, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb, float beta, float *C,
                           int ldc)
{
    bpk_cpu_sgemm_bf16(pool_of(be), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static const char *cpu_bf16_path(bpk_backend *be)
{
    (void)be;
    return bpk_cpu_bf16_path();
}

static void cpu_bias_act_forward(bpk_backend *be, float *s, float *a, int rows, int cols,
                                 const float *bias, bp_activation act, float slope)
{
    bpk_cpu_bias_act_forward(pool_of(be), s, a, rows, cols, bias, act, slope);
}

static void cpu_act_backward(bpk_backend *be, float *delta, const float *s, const float *a,
                             size_t n, bp_activation act, float slope, float flat_spot)
{
    (void)be;
    if (act == BP_ACT_SIGMOID && flat_spot > 0) {
        for (size_t i = 0; i < n; i++)
            delta[i] *= a[i] * (1.0f - a[i]) + flat_spot;
        return;
    }
    bpk_cpu_act_backward(delta, s, a, n, act, slope);
}

static void cpu_col_sum(bpk_backend *be, const float *X, int rows, int cols, float scale,
                        float *out)
{
    bpk_cpu_col_sum(pool_of(be), X, rows, cols, scale, out);
}

static void cpu_sgemv(bpk_backend *be, int M, int K, const float *W, int ldw, const float *x,
                      const float *bias, float *y)
{
    (void)be;
    bpk_cpu_sgemv(M, K, W, ldw, x, bias, y);
}

static void cpu_sgemv_t(bpk_backend *be, int M, int K, const float *W, int ldw, const float *d,
                        float *y)
{
    (void)be;
    bpk_cpu_sgemv_t(M, K, W, ldw, d, y);
}

static void cpu_sger(bpk_backend *be, int M, int K, float alpha, const float *d, const float *x,
                     float *W, int ldw)
{
    (void)be;
    bpk_cpu_sger(M, K, alpha, d, x, W, ldw);
}

static void cpu_sger_sgemv(bpk_backend *be, int M, int K, float alpha, const float *d,
                           const float *x, float *W, int ldw, const float *x_next,
                           const float *bias, float *y)
{
    (void)be;
    bpk_cpu_sger_sgemv(M, K, alpha, d, x, W, ldw, x_next, bias, y);
}

/* ---- loss, output delta, accuracy -------------------------------------------- */

double bpk_sample_loss(bp_loss loss, const float *s, const float *a, const float *target,
                       int cols)
{
    return bpk_loss_value(loss, s, a, target, cols);
}

static double cpu_loss_sum(bpk_backend *be, bp_loss loss, const float *s, const float *a,
                           const float *target, int rows, int cols)
{
    (void)be;
    double total = 0.0;
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * (size_t)cols;
        total += bpk_sample_loss(loss, s + o, a + o, target + o, cols);
    }
    return total;
}

/* Softmax couples its outputs: δ_j = a_j (g_j − Σ_k g_k a_k), g = ∂E/∂a. */
static void softmax_delta_rows(float *delta, const float *a, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *d = delta + (size_t)r * cols;
        const float *ar = a + (size_t)r * cols;
        float dot = 0.0f;
        for (int k = 0; k < cols; k++)
            dot += d[k] * ar[k];
        for (int k = 0; k < cols; k++)
            d[k] = ar[k] * (d[k] - dot);
    }
}

static void cpu_output_delta(bpk_backend *be, bp_loss loss, bp_activation act, float slope,
                             float flat_spot, const float *s, const float *a,
                             const float *target, float *delta, int rows, int cols)
{
    size_t n = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < n; i++)
        delta[i] = a[i] - target[i]; /* ∂E/∂a for MSE; the whole δ for the fused losses */
    if (loss != BP_LOSS_MSE)
        return; /* softmax+xent and sigmoid+bce: δ = a − t exactly */
    if (act == BP_ACT_SOFTMAX)
        softmax_delta_rows(delta, a, rows, cols);
    else
        cpu_act_backward(be, delta, s, a, n, act, slope, flat_spot);
}

int bpk_predicted_class(const float *out, int cols)
{
    if (!out || cols < 1)
        return -1;
    if (cols == 1)
        return out[0] > 0.5f;
    int best = 0;
    for (int k = 1; k < cols; k++)
        if (out[k] > out[best])
            best = k;
    return best;
}

static size_t cpu_count_correct(bpk_backend *be, const float *out, int rows, int cols,
                                const int32_t *labels, const size_t *idx)
{
    (void)be;
    size_t correct = 0;
    for (int r = 0; r < rows; r++)
        correct += bpk_predicted_class(out + (size_t)r * cols, cols) == labels[idx[r]];
    return correct;
}

/* ---- dropout ------------------------------------------------------------------ */

static void cpu_dropout_forward(bpk_backend *be, const float *a, float *mask, float *drop_a,
                                int rows, int cols, float keep, int layer,
                                const bpk_mask_source *src)
{
    (void)be;
    bpk_dropout_masks(src, mask, rows, cols, keep, layer);
    size_t n = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < n; i++)
        drop_a[i] = a[i] * mask[i];
}

static void cpu_mul(bpk_backend *be, float *y, const float *x, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        y[i] *= x[i];
}

/* ---- vectors ------------------------------------------------------------------ */

void bpk_sum_vectors_host(const float *v, int count, size_t len, float *out)
{
    bpk_cpu_sum_vectors(v, count, len, out);
}

static void cpu_sum_vectors(bpk_backend *be, const float *v, int count, size_t len, float *out)
{
    (void)be;
    bpk_cpu_sum_vectors(v, count, len, out);
}

static void cpu_axpy(bpk_backend *be, float *y, const float *x, size_t n, float alpha)
{
    (void)be;
    bpk_cpu_axpy(y, x, n, alpha);
}

static void cpu_scale(bpk_backend *be, float *x, size_t n, float f)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] *= f;
}

static double cpu_sumsq(bpk_backend *be, const float *x, size_t n)
{
    (void)be;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    return ss;
}

static size_t cpu_find_nonfinite(bpk_backend *be, const float *x, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

/* ---- optimizer ------------------------------------------------------------------ */

/* iRPROP− (Igel & Hüsken): grow the step while the gradient keeps its sign,
 * shrink it and skip the update when the sign flips.  step = m, prev = v. */
static void rprop_update(const bpk_update *u, float *w, float *g, float *step_size, float *prev,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float prod = g[i] * prev[i];
        float step = step_size[i];
        if (prod > 0) {
            step = fminf(step * u->rprop_increase, u->rprop_delta_max);
        } else if (prod < 0) {
            step = fmaxf(step * u->rprop_decrease, u->rprop_delta_min);
            g[i] = 0;
        }
        step_size[i] = step;
        if (g[i] > 0)
            w[i] -= step;
        else if (g[i] < 0)
            w[i] += step;
        prev[i] = g[i];
    }
}

/* The element-wise updates run in fixed slices of BPK_UPDATE_CHUNK spread
 * over the pool (backend.h says why). */
typedef struct update_job {
    const bpk_update *u;
    float *w, *g, *m, *v;
    size_t n;
    const float *const *vec; /* update_summed: g is their sum, slice by slice */
    int count;
} update_job;

/* One optimizer's step over w[first, first + len). */
static void update_range(const update_job *j, size_t first, size_t len)
{
    const bpk_update *u = j->u;
    float *w = j->w + first;
    const float *g = j->g + first;
    switch (u->optimizer) {
    case BP_OPT_SGD:
        bpk_cpu_sgd_update(w, g, len, u->lr);
        break;
    case BP_OPT_MOMENTUM:
    case BP_OPT_NESTEROV:
        bpk_cpu_momentum_update(w, j->v + first, g, len, u->lr, u->momentum,
                                u->optimizer == BP_OPT_NESTEROV);
        break;
    case BP_OPT_ADAM:
    case BP_OPT_ADAMW:
        bpk_cpu_adam_update(w, j->m + first, j->v + first, g, len, u->lr, u->beta1, u->beta2,
                            u->eps, u->c1, u->c2, u->decoupled_wd);
        break;
    case BP_OPT_RMSPROP:
        bpk_cpu_rmsprop_update(w, j->v + first, g, len, u->lr, u->rho, u->eps);
        break;
    default:
        break;
    }
}

static void update_slice(void *ctx, int task)
{
    const update_job *j = ctx;
    size_t len, first = bpk_slice(task, BPK_UPDATE_CHUNK, j->n, &len);
    if (j->vec) {
        /* The slice's sum in the order sum_vectors keeps, ((v0 + v1) + v2) + … */
        float *g = j->g + first;
        memcpy(g, j->vec[0] + first, len * sizeof *g);
        for (int k = 1; k < j->count; k++)
            bpk_cpu_sum_into(g, j->vec[k] + first, len);
    }
    update_range(j, first, len);
}

static void cpu_update(bpk_backend *be, const bpk_update *u, float *w, float *g, float *m,
                       float *v, size_t n)
{
    if (u->optimizer == BP_OPT_RPROP) {
        rprop_update(u, w, g, m, v, n);
        return;
    }
    update_job job = {u, w, g, m, v, n, NULL, 0};
    bpk_pool_run(pool_of(be), bpk_slices(n, BPK_UPDATE_CHUNK), update_slice, &job);
}

static void cpu_update_summed(bpk_backend *be, const bpk_update *u, float *w, float *g, float *m,
                              float *v, const float *const *vec, int count, size_t n)
{
    if (count < 1 || u->optimizer == BP_OPT_RPROP)
        return; /* not part of the contract (backend.h) */
    update_job job = {u, w, g, m, v, n, vec, count};
    bpk_pool_run(pool_of(be), bpk_slices(n, BPK_UPDATE_CHUNK), update_slice, &job);
}

/* ---- data ------------------------------------------------------------------------ */

void bpk_scale_rows(float *dst, const float *src, size_t rows, int cols, const float *shift,
                    const float *factor)
{
    size_t w = (size_t)cols;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < w; i++)
            dst[r * w + i] = (src[r * w + i] - shift[i]) * factor[i];
}

typedef struct gather_job {
    float *dst;
    const float *src;
    const size_t *idx;
    int rows, width;
    const float *shift, *factor;
} gather_job;

/* Rows per task of a split gather, and the least floats worth splitting:
 * a training batch's rows come from anywhere in a data set far larger than
 * the caches, so a gather waits on memory; two cores wait in parallel.
 * (Workload B: 128 rows of 784 floats a step, 4 % of an epoch serial.) */
#define GATHER_ROWS 16
#define GATHER_MIN_SPLIT (1L << 15)

/* Rows [task·GATHER_ROWS, …) of a gather; task −1 does them all. */
static void gather_task(void *ctx, int task)
{
    const gather_job *g = ctx;
    size_t n, r0 = bpk_slice(task, GATHER_ROWS, (size_t)g->rows, &n);
    size_t w = (size_t)g->width;
    float *dst = g->dst + r0 * w;
    if (g->idx)
        for (size_t r = r0; r < r0 + n; r++)
            memcpy(g->dst + r * w, g->src + g->idx[r] * w, w * sizeof(float));
    else if (g->dst != g->src)
        memmove(dst, g->src + r0 * w, n * w * sizeof(float));
    if (g->shift)
        bpk_scale_rows(dst, dst, n, g->width, g->shift, g->factor);
}

static void cpu_gather_rows(bpk_backend *be, float *dst, const float *src, const size_t *idx,
                            int rows, int width, const float *shift, const float *factor)
{
    gather_job job = {dst, src, idx, rows, width, shift, factor};
    int tasks = bpk_slices((size_t)rows, GATHER_ROWS);
    /* Overlapping rows (a memmove) stay serial: a task must not read what
     * another writes.  In place (dst == src) each task scales its own rows,
     * and per row the arithmetic is the same however the rows are split. */
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    size_t bytes = (size_t)rows * (size_t)width * sizeof(float);
    int disjoint = idx || d == s || d + bytes <= s || s + bytes <= d;
    if (tasks > 1 && disjoint && (long)rows * width >= GATHER_MIN_SPLIT &&
        bpk_pool_width(pool_of(be)) > 1)
        bpk_pool_run(pool_of(be), tasks, gather_task, &job);
    else
        gather_task(&job, -1);
}

/* ---- the backend ----------------------------------------------------------------- */

static const bpk_ops cpu_ops = {
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .sgemm = cpu_sgemm,
    .sgemm_bf16 = cpu_sgemm_bf16,
    .bf16_path = cpu_bf16_path,
    .freeze = cpu_freeze,
    .bias_act_forward = cpu_bias_act_forward,
    .act_backward = cpu_act_backward,
    .col_sum = cpu_col_sum,
    .sgemv = cpu_sgemv,
    .sgemv_t = cpu_sgemv_t,
    .sger = cpu_sger,
    .sger_sgemv = cpu_sger_sgemv,
    .loss_sum = cpu_loss_sum,
    .output_delta = cpu_output_delta,
    .count_correct = cpu_count_correct,
    .dropout_forward = cpu_dropout_forward,
    .mul = cpu_mul,
    .sum_vectors = cpu_sum_vectors,
    .axpy = cpu_axpy,
    .scale = cpu_scale,
    .sumsq = cpu_sumsq,
    .find_nonfinite = cpu_find_nonfinite,
    .update = cpu_update,
    .update_summed = cpu_update_summed,
    .gather_rows = cpu_gather_rows,
};

bpk_backend *bpk_cpu_backend_create(int threads, int *failed_thread)
{
    bpk_backend *be = calloc(1, sizeof *be);
    if (!be) {
        errno = ENOMEM;
        return NULL;
    }
    cpu_ctx *c = calloc(1, sizeof *c);
    bpk_pool *pool = c ? bpk_pool_create(threads, failed_thread) : NULL;
    if (!pool) {
        int e = c ? errno : ENOMEM;
        free(c);
        free(be);
        errno = e;
        return NULL;
    }
    c->pool = pool;
    be->name = "cpu";
    be->ops = &cpu_ops;
    be->threads = bpk_pool_threads(pool);
    be->host_memory = 1;
    be->context = c;
    return be;
}

void bpk_checked_backend_free(bpk_backend *be); /* checked_backend.c */

void bpk_backend_free(bpk_backend *be)
{
    if (!be)
        return;
    if (strcmp(be->name, "cuda") == 0) {
        bpk_cuda_backend_free(be); /* the device, stream and library go too */
        return;
    }
    if (be->ops != &cpu_ops) {
        bpk_checked_backend_free(be);
        return;
    }
    cpu_freeze(be, 0);
    bpk_pool_free(pool_of(be));
    free(be->context);
    free(be);
}

const char *bpk_backend_error(bpk_backend *be)
{
    return be && strcmp(be->name, "cuda") == 0 ? bpk_cuda_backend_error(be) : NULL;
}
