/*
 * The checked backend: a stand-in for a device backend in tests.  It runs
 * the CPU backend's ops (so the bits are the CPU's), but says its memory is
 * not the host's (host_memory = 0) and, before every op, checks that each
 * tensor argument points into an allocation it made.  A pointer to the net's
 * own parameters, to a data set or to the stack — anything a GPU could not
 * read — aborts the process with the op's and the argument's name.
 *
 * It is a debugging aid, not a product: allocations are kept in a plain
 * array searched linearly, which is fine for the few dozen a trainer makes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"

typedef struct region {
    const float *p;
    size_t n;
} region;

typedef struct checked {
    bpk_backend *cpu; /* does the arithmetic */
    region *regions;
    size_t count, cap;
} checked;

static checked *state(bpk_backend *be) { return be->context; }

/* Aborts unless p is inside one of the backend's allocations (NULL passes:
 * the ops' optional arguments). */
static void need(bpk_backend *be, const char *op, const char *arg, const void *p)
{
    if (!p)
        return;
    const checked *c = state(be);
    for (size_t i = 0; i < c->count; i++) {
        const float *lo = c->regions[i].p, *hi = lo + c->regions[i].n;
        if ((const float *)p >= lo && (const float *)p < hi)
            return;
    }
    fprintf(stderr, "checked backend: %s: argument %s (%p) is not backend memory\n", op, arg, p);
    abort();
}

static float *ck_alloc(bpk_backend *be, size_t n)
{
    checked *c = state(be);
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        region *r = realloc(c->regions, cap * sizeof *r);
        if (!r)
            return NULL;
        c->regions = r;
        c->cap = cap;
    }
    float *p = c->cpu->ops->alloc(c->cpu, n);
    if (p)
        c->regions[c->count++] = (region){p, n ? n : 1};
    return p;
}

static void ck_release(bpk_backend *be, float *p)
{
    checked *c = state(be);
    for (size_t i = 0; i < c->count; i++)
        if (c->regions[i].p == p) {
            c->regions[i] = c->regions[--c->count];
            c->cpu->ops->release(c->cpu, p);
            return;
        }
    fprintf(stderr, "checked backend: release of %p, which it did not allocate\n", (void *)p);
    abort();
}

#define CPU (state(be)->cpu)

static void ck_upload(bpk_backend *be, float *dst, const float *host, size_t n)
{
    need(be, "upload", "dst", dst);
    CPU->ops->upload(CPU, dst, host, n);
}
static void ck_download(bpk_backend *be, float *host, const float *src, size_t n)
{
    need(be, "download", "src", src);
    CPU->ops->download(CPU, host, src, n);
}
static void ck_copy(bpk_backend *be, float *dst, const float *src, size_t n)
{
    need(be, "copy", "dst", dst);
    need(be, "copy", "src", src);
    CPU->ops->copy(CPU, dst, src, n);
}
static void ck_fill(bpk_backend *be, float *x, size_t n, float v)
{
    need(be, "fill", "x", x);
    CPU->ops->fill(CPU, x, n, v);
}
static void ck_sgemm(bpk_backend *be, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc)
{
    need(be, "sgemm", "A", A);
    need(be, "sgemm", "B", B);
    need(be, "sgemm", "C", C);
    CPU->ops->sgemm(CPU, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
static void ck_sgemm_bf16(bpk_backend *be, int ta, int tb, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb, float beta, float *C,
                          int ldc)
{
    need(be, "sgemm_bf16", "A", A);
    need(be, "sgemm_bf16", "B", B);
    need(be, "sgemm_bf16", "C", C);
    CPU->ops->sgemm_bf16(CPU, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
static const char *ck_bf16_path(bpk_backend *be) { return CPU->ops->bf16_path(CPU); }
static void ck_bias_act_forward(bpk_backend *be, float *s, float *a, int rows, int cols,
                                const float *bias, bp_activation act, float slope)
{
    need(be, "bias_act_forward", "s", s);
    need(be, "bias_act_forward", "a", a);
    need(be, "bias_act_forward", "bias", bias);
    CPU->ops->bias_act_forward(CPU, s, a, rows, cols, bias, act, slope);
}
static void ck_act_backward(bpk_backend *be, float *delta, const float *s, const float *a,
                            size_t n, bp_activation act, float slope, float flat_spot)
{
    need(be, "act_backward", "delta", delta);
    need(be, "act_backward", "s", s);
    need(be, "act_backward", "a", a);
    CPU->ops->act_backward(CPU, delta, s, a, n, act, slope, flat_spot);
}
static void ck_col_sum(bpk_backend *be, const float *X, int rows, int cols, float scale,
                       float *out)
{
    need(be, "col_sum", "X", X);
    need(be, "col_sum", "out", out);
    CPU->ops->col_sum(CPU, X, rows, cols, scale, out);
}
static void ck_sgemv(bpk_backend *be, int M, int K, const float *W, int ldw, const float *x,
                     const float *bias, float *y)
{
    need(be, "sgemv", "W", W);
    need(be, "sgemv", "x", x);
    need(be, "sgemv", "bias", bias);
    need(be, "sgemv", "y", y);
    CPU->ops->sgemv(CPU, M, K, W, ldw, x, bias, y);
}
static void ck_sgemv_t(bpk_backend *be, int M, int K, const float *W, int ldw, const float *d,
                       float *y)
{
    need(be, "sgemv_t", "W", W);
    need(be, "sgemv_t", "d", d);
    need(be, "sgemv_t", "y", y);
    CPU->ops->sgemv_t(CPU, M, K, W, ldw, d, y);
}
static void ck_sger(bpk_backend *be, int M, int K, float alpha, const float *d, const float *x,
                    float *W, int ldw)
{
    need(be, "sger", "d", d);
    need(be, "sger", "x", x);
    need(be, "sger", "W", W);
    CPU->ops->sger(CPU, M, K, alpha, d, x, W, ldw);
}
static void ck_sger_sgemv(bpk_backend *be, int M, int K, float alpha, const float *d,
                          const float *x, float *W, int ldw, const float *x_next,
                          const float *bias, float *y)
{
    need(be, "sger_sgemv", "d", d);
    need(be, "sger_sgemv", "x", x);
    need(be, "sger_sgemv", "W", W);
    need(be, "sger_sgemv", "x_next", x_next);
    need(be, "sger_sgemv", "bias", bias);
    need(be, "sger_sgemv", "y", y);
    CPU->ops->sger_sgemv(CPU, M, K, alpha, d, x, W, ldw, x_next, bias, y);
}
static double ck_loss_sum(bpk_backend *be, bp_loss loss, const float *s, const float *a,
                          const float *target, int rows, int cols)
{
    need(be, "loss_sum", "s", s);
    need(be, "loss_sum", "a", a);
    need(be, "loss_sum", "target", target);
    return CPU->ops->loss_sum(CPU, loss, s, a, target, rows, cols);
}
static void ck_output_delta(bpk_backend *be, bp_loss loss, bp_activation act, float slope,
                            float flat_spot, const float *s, const float *a, const float *target,
                            float *delta, int rows, int cols)
{
    need(be, "output_delta", "s", s);
    need(be, "output_delta", "a", a);
    need(be, "output_delta", "target", target);
    need(be, "output_delta", "delta", delta);
    CPU->ops->output_delta(CPU, loss, act, slope, flat_spot, s, a, target, delta, rows, cols);
}
static size_t ck_count_correct(bpk_backend *be, const float *out, int rows, int cols,
                               const int32_t *labels, const size_t *idx)
{
    need(be, "count_correct", "out", out);
    return CPU->ops->count_correct(CPU, out, rows, cols, labels, idx);
}
static void ck_dropout_forward(bpk_backend *be, const float *a, float *mask, float *drop_a,
                               int rows, int cols, float keep, int layer,
                               const bpk_mask_source *src)
{
    need(be, "dropout_forward", "a", a);
    need(be, "dropout_forward", "mask", mask);
    need(be, "dropout_forward", "drop_a", drop_a);
    CPU->ops->dropout_forward(CPU, a, mask, drop_a, rows, cols, keep, layer, src);
}
static void ck_mul(bpk_backend *be, float *y, const float *x, size_t n)
{
    need(be, "mul", "y", y);
    need(be, "mul", "x", x);
    CPU->ops->mul(CPU, y, x, n);
}
static void ck_sum_vectors(bpk_backend *be, const float *v, int count, size_t len, float *out)
{
    need(be, "sum_vectors", "v", v);
    need(be, "sum_vectors", "out", out);
    CPU->ops->sum_vectors(CPU, v, count, len, out);
}
static void ck_axpy(bpk_backend *be, float *y, const float *x, size_t n, float alpha)
{
    need(be, "axpy", "y", y);
    need(be, "axpy", "x", x);
    CPU->ops->axpy(CPU, y, x, n, alpha);
}
static void ck_scale(bpk_backend *be, float *x, size_t n, float f)
{
    need(be, "scale", "x", x);
    CPU->ops->scale(CPU, x, n, f);
}
static double ck_sumsq(bpk_backend *be, const float *x, size_t n)
{
    need(be, "sumsq", "x", x);
    return CPU->ops->sumsq(CPU, x, n);
}
static size_t ck_find_nonfinite(bpk_backend *be, const float *x, size_t n)
{
    need(be, "find_nonfinite", "x", x);
    return CPU->ops->find_nonfinite(CPU, x, n);
}
static void ck_update(bpk_backend *be, const bpk_update *u, float *w, float *g, float *m,
                      float *v, size_t n)
{
    need(be, "update", "w", w);
    need(be, "update", "g", g);
    need(be, "update", "m", m);
    need(be, "update", "v", v);
    CPU->ops->update(CPU, u, w, g, m, v, n);
}
static void ck_gather_rows(bpk_backend *be, float *dst, const float *src, const size_t *idx,
                           int rows, int width, const float *shift, const float *factor)
{
    need(be, "gather_rows", "dst", dst);
    CPU->ops->gather_rows(CPU, dst, src, idx, rows, width, shift, factor);
}

static void ck_freeze(bpk_backend *be, int on) { CPU->ops->freeze(CPU, on); }

static const bpk_ops checked_ops = {
    .alloc = ck_alloc,
    .release = ck_release,
    .upload = ck_upload,
    .download = ck_download,
    .copy = ck_copy,
    .fill = ck_fill,
    .sgemm = ck_sgemm,
    .sgemm_bf16 = ck_sgemm_bf16,
    .bf16_path = ck_bf16_path,
    .bias_act_forward = ck_bias_act_forward,
    .act_backward = ck_act_backward,
    .col_sum = ck_col_sum,
    .sgemv = ck_sgemv,
    .sgemv_t = ck_sgemv_t,
    .sger = ck_sger,
    .sger_sgemv = ck_sger_sgemv,
    .loss_sum = ck_loss_sum,
    .output_delta = ck_output_delta,
    .count_correct = ck_count_correct,
    .dropout_forward = ck_dropout_forward,
    .mul = ck_mul,
    .sum_vectors = ck_sum_vectors,
    .axpy = ck_axpy,
    .scale = ck_scale,
    .sumsq = ck_sumsq,
    .find_nonfinite = ck_find_nonfinite,
    .update = ck_update,
    .gather_rows = ck_gather_rows,
    .freeze = ck_freeze,
};

bpk_backend *bpk_checked_backend_create(int threads, int *failed_thread)
{
    bpk_backend *be = calloc(1, sizeof *be);
    checked *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    c->cpu = bpk_cpu_backend_create(threads, failed_thread);
    if (!c->cpu) {
        int e = errno;
        free(be);
        free(c);
        errno = e;
        return NULL;
    }
    be->name = "checked";
    be->ops = &checked_ops;
    be->threads = c->cpu->threads;
    be->host_memory = 0;
    be->context = c;
    return be;
}

void bpk_checked_backend_free(bpk_backend *be)
{
    checked *c = state(be);
    if (c->count)
        fprintf(stderr, "checked backend: %zu allocation(s) not released\n", c->count);
    bpk_backend_free(c->cpu);
    free(c->regions);
    free(c);
    free(be);
}
