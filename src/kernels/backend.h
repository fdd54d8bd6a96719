/*
 * backend.h — the seam between the network layer and the hardware
 * (internal, not installed; docs/backends.md is the guide).
 *
 * A backend is an object that owns three things:
 *   - its op table (bpk_ops): every arithmetic on tensors nn/ needs, from
 *     the GEMM to the loss and the optimizer updates;
 *   - its memory: tensors nn/ hands to ops are allocated by the backend
 *     (bpk_alloc) and moved to and from host memory by it (bpk_upload,
 *     bpk_download), so a GPU backend can keep them on the device;
 *   - its execution context: the thread pool on the CPU (a stream later).
 * nn/ keeps the orchestration (which op, on which buffers, in which order)
 * and calls nothing else for arithmetic on tensors.
 *
 * Determinism: every op gives the same bits whatever the backend's thread
 * count.  Bits may differ between backends and between CPU paths (portable,
 * AVX2, AVX-512); the portable path's bits are pinned by
 * tests/same_bits.sha256.
 *
 * Shapes are row-major with explicit leading dimensions; `rows` is the batch.
 */
#ifndef BP_KERNELS_BACKEND_H
#define BP_KERNELS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "backprop.h"
#include "rng.h"

typedef struct bpk_backend bpk_backend;

/* Where dropout masks come from: one generator drawn serially over the
 * rows (the one-process path), or, when serial is NULL, one stream per row
 * seeded from (seed, epoch, first + row, layer): the sharded path, where a
 * sample's mask must not depend on which shard or process holds it. */
typedef struct bpk_mask_source {
    bp_rng *serial;
    uint64_t seed, epoch;
    size_t first; /* the first row's position in the epoch */
} bpk_mask_source;

/* The masks of rows × cols activations of one layer, drawn on the host in
 * row order: each 1/keep (kept) or 0 (dropped).  Every backend draws them
 * here, so a mask is the same bits whichever backend uses it. */
static inline void bpk_dropout_masks(const bpk_mask_source *src, float *mask, int rows, int cols,
                                     float keep, int layer)
{
    float inv_keep = 1.0f / keep;
    for (int r = 0; r < rows; r++) {
        bp_rng row_rng, *rng = src->serial;
        if (!rng) {
            bp_rng_seed(&row_rng, src->seed + src->epoch * 0x9e3779b97f4a7c15ULL,
                        ((uint64_t)BP_STREAM_DROPOUT_SAMPLE << 48) +
                            ((uint64_t)(src->first + (size_t)r) << 8) + (uint64_t)layer);
            rng = &row_rng;
        }
        float *m = mask + (size_t)r * (size_t)cols;
        for (int i = 0; i < cols; i++)
            m[i] = bp_rng_uniform(rng) < keep ? inv_keep : 0.0f;
    }
}

/* The updates run in fixed slices of this many parameters: a slice, not a
 * thread, decides where an element falls in a vector body or a tail, so
 * the bits of a step do not depend on the thread count, and a part of the
 * parameters that starts on a slice boundary updates as in the whole. */
#define BPK_UPDATE_CHUNK ((size_t)1 << 14)

/* One optimizer step's settings (bp_train_options' names). */
typedef struct bpk_update {
    bp_optimizer optimizer;
    float lr, momentum, beta1, beta2, eps, rho;
    float c1, c2;        /* Adam's bias corrections 1 − β1^t, 1 − β2^t */
    float decoupled_wd;  /* AdamW's λ (0 for the others) */
    float rprop_increase, rprop_decrease, rprop_delta_min, rprop_delta_max;
} bpk_update;

typedef struct bpk_ops {
    /* ---- memory: n floats, zeroed, 64-byte aligned; NULL when out of memory */
    float *(*alloc)(bpk_backend *be, size_t n);
    void (*release)(bpk_backend *be, float *p);
    void (*upload)(bpk_backend *be, float *dst, const float *host, size_t n);
    void (*download)(bpk_backend *be, float *host, const float *src, size_t n);
    void (*copy)(bpk_backend *be, float *dst, const float *src, size_t n);
    void (*fill)(bpk_backend *be, float *x, size_t n, float value);

    /* ---- dense layers (see kernels.h for the exact contracts) */
    /* C[M][N] = alpha · op(A)[M][K] · op(B)[K][N] + beta · C (beta 0: C not read) */
    void (*sgemm)(bpk_backend *be, int trans_a, int trans_b, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
    /* per row: s += bias (if not NULL), a = f(s); softmax over each row */
    void (*bias_act_forward)(bpk_backend *be, float *s, float *a, int rows, int cols,
                             const float *bias, bp_activation act, float slope);
    /* delta[i] *= f'(s[i]) (not softmax); with flat_spot > 0, sigmoid uses
     * a(1 − a) + flat_spot (Fahlman's fix) */
    void (*act_backward)(bpk_backend *be, float *delta, const float *s, const float *a,
                         size_t n, bp_activation act, float slope, float flat_spot);
    /* out[j] = scale · Σ_i X[i][j], i ascending */
    void (*col_sum)(bpk_backend *be, const float *X, int rows, int cols, float scale,
                    float *out);

    /* ---- batch 1 (online SGD): y = W·x (+ bias); y = Wᵀ·d; W += alpha·d⊗x;
     * and the fused W += alpha·d⊗x then y = W·x_next (+ bias) */
    void (*sgemv)(bpk_backend *be, int M, int K, const float *W, int ldw, const float *x,
                  const float *bias, float *y);
    void (*sgemv_t)(bpk_backend *be, int M, int K, const float *W, int ldw, const float *d,
                    float *y);
    void (*sger)(bpk_backend *be, int M, int K, float alpha, const float *d, const float *x,
                 float *W, int ldw);
    void (*sger_sgemv)(bpk_backend *be, int M, int K, float alpha, const float *d,
                       const float *x, float *W, int ldw, const float *x_next,
                       const float *bias, float *y);

    /* ---- loss, output delta, accuracy */
    /* Σ over rows of each row's loss (bpk_sample_loss), in double */
    double (*loss_sum)(bpk_backend *be, bp_loss loss, const float *s, const float *a,
                       const float *target, int rows, int cols);
    /* δ of the output layer, ∂E/∂s, for each row */
    void (*output_delta)(bpk_backend *be, bp_loss loss, bp_activation act, float slope,
                         float flat_spot, const float *s, const float *a, const float *target,
                         float *delta, int rows, int cols);
    /* rows whose predicted class (bpk_predicted_class) equals labels[idx[r]]
     * (labels and idx are host memory: the data set's) */
    size_t (*count_correct)(bpk_backend *be, const float *out, int rows, int cols,
                            const int32_t *labels, const size_t *idx);

    /* ---- dropout: mask ∈ {0, 1/keep} drawn from src, drop_a = a ⊙ mask;
     * and the backward y ⊙= mask */
    void (*dropout_forward)(bpk_backend *be, const float *a, float *mask, float *drop_a,
                            int rows, int cols, float keep, int layer,
                            const bpk_mask_source *src);
    void (*mul)(bpk_backend *be, float *y, const float *x, size_t n);

    /* ---- vectors */
    /* out = ((v_0 + v_1) + v_2) + … over count vectors of len floats */
    void (*sum_vectors)(bpk_backend *be, const float *v, int count, size_t len, float *out);
    /* y += alpha · x (rounded product, then the add) */
    void (*axpy)(bpk_backend *be, float *y, const float *x, size_t n, float alpha);
    /* x *= f */
    void (*scale)(bpk_backend *be, float *x, size_t n, float f);
    /* Σ x², in double, i ascending */
    double (*sumsq)(bpk_backend *be, const float *x, size_t n);
    /* index of the first non-finite x[i], or n when all are finite */
    size_t (*find_nonfinite)(bpk_backend *be, const float *x, size_t n);

    /* ---- optimizer: one step of u->optimizer over n parameters.  m and v
     * are its state (momentum and RMSprop use v; iRPROP− keeps its steps in
     * m and the previous gradient in v, and may zero g) */
    void (*update)(bpk_backend *be, const bpk_update *u, float *w, float *g, float *m, float *v,
                   size_t n);
    /* update() from a gradient not yet summed (optional: NULL where absent;
     * not for iRPROP−): g = ((vec[0] + vec[1]) + vec[2]) + … over `count`
     * host vectors (g: n floats of scratch), then the step, a slice at a
     * time, so each slice's sum is still in cache when the step reads it.
     * The same bits as sum_vectors into g and update(), when w starts a
     * whole number of BPK_UPDATE_CHUNKs into the vector a full update
     * would cover (the slices decide where vector bodies and tails fall). */
    void (*update_summed)(bpk_backend *be, const bpk_update *u, float *w, float *g, float *m,
                          float *v, const float *const *vec, int count, size_t n);

    /* ---- data: dst[r] = src[idx[r]] (idx NULL: src[r]) for rows of `width`
     * floats (src and idx are host memory: the data set), then
     * (x − shift)·factor per column when shift is not NULL (shift and
     * factor are host memory too: the net's scaling) */
    void (*gather_rows)(bpk_backend *be, float *dst, const float *src, const size_t *idx,
                        int rows, int width, const float *shift, const float *factor);

    /* ---- bf16 mixed precision (optional: NULL on a backend without it).
     * sgemm_bf16 is sgemm with every operand element rounded to bf16 and the
     * products summed in float32 (kernels.h: bpk_cpu_sgemm_bf16); bf16_path
     * names the path it takes now ("avx512_bf16"), or is NULL when the
     * hardware has none (bf16 would then be slower float32, so it is refused). */
    void (*sgemm_bf16)(bpk_backend *be, int trans_a, int trans_b, int M, int N, int K,
                       float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                       float *C, int ldc);
    const char *(*bf16_path)(bpk_backend *be);

    /* ---- optional (NULL: nothing to gain).  freeze(be, 1) promises that no
     * B operand of sgemm changes until freeze(be, 0): an inference's passes
     * over fixed weights.  The backend may keep them in its own layout
     * meanwhile (the CPU packs each once: bpk_cpu_pack_b), with the same bits. */
    void (*freeze)(bpk_backend *be, int on);
} bpk_ops;

struct bpk_backend {
    const char *name;     /* "cpu" */
    const bpk_ops *ops;
    int threads;          /* the execution context's width (CPU: pool threads) */
    int host_memory;      /* 1: its memory is the host's, so nn/ may pass host
                             pointers to ops and read its buffers directly; 0:
                             only through upload/download (a GPU) */
    void *context;        /* the backend's own: CPU keeps its bpk_pool here, and
                             what freeze lets it keep */
};

/* The CPU backend with `threads` threads (1: the caller only).  NULL with
 * errno EINVAL (threads outside 1..1024), ENOMEM, or EAGAIN (creating thread
 * *failed_thread failed); no message is set: kernels/ does not call into
 * nn/, whose caller words it. */
bpk_backend *bpk_cpu_backend_create(int threads, int *failed_thread);
void bpk_backend_free(bpk_backend *be);
/* The first error a backend's ops met since it was made (they return
 * nothing; a GPU's errors are kept until asked for), or NULL.  Always NULL on
 * the CPU.  The trainer asks after every epoch. */
const char *bpk_backend_error(bpk_backend *be);
/* A test backend: the CPU's ops and bits, but host_memory = 0 and every op
 * aborts, naming itself, when a tensor argument is not memory this backend
 * allocated (host arguments of the contract — upload/download's host side,
 * gather_rows' src, count_correct's labels and idx — excepted).  Training on
 * it proves nn/ would hand a GPU only device memory and sync at the right
 * places (tests/test_backend.c, tests/cli_same_bits.sh). */
bpk_backend *bpk_checked_backend_create(int threads, int *failed_thread);

/* The scalar definitions every path shares (cpu_ops.c): the per-row loss and
 * the predicted class (1 output: a > 0.5; else the first largest). */
double bpk_sample_loss(bp_loss loss, const float *s, const float *a, const float *target,
                       int cols);
int bpk_predicted_class(const float *out, int cols);
/* dst = (src − shift)·factor per column over rows of `cols` floats, in host
 * memory (dst may be src): the input scaling a net was trained with. */
/* The CPU's sum_vectors on host memory: bp_sum_shards, which a transport
 * calls between processes, must add in exactly the op's order. */
void bpk_sum_vectors_host(const float *v, int count, size_t len, float *out);
void bpk_scale_rows(float *dst, const float *src, size_t rows, int cols, const float *shift,
                    const float *factor);

/* ---- the calls nn/ makes: one per op ---------------------------------- */

static inline float *bpk_alloc(bpk_backend *be, size_t n) { return be->ops->alloc(be, n); }
static inline void bpk_release(bpk_backend *be, float *p) { be->ops->release(be, p); }
static inline void bpk_upload(bpk_backend *be, float *dst, const float *host, size_t n)
{
    be->ops->upload(be, dst, host, n);
}
static inline void bpk_download(bpk_backend *be, float *host, const float *src, size_t n)
{
    be->ops->download(be, host, src, n);
}
static inline void bpk_copy(bpk_backend *be, float *dst, const float *src, size_t n)
{
    be->ops->copy(be, dst, src, n);
}
static inline void bpk_freeze(bpk_backend *be, int on)
{
    if (be->ops->freeze)
        be->ops->freeze(be, on);
}
static inline void bpk_fill(bpk_backend *be, float *x, size_t n, float value)
{
    be->ops->fill(be, x, n, value);
}
static inline void bpk_sgemm(bpk_backend *be, int trans_a, int trans_b, int M, int N, int K,
                             float alpha, const float *A, int lda, const float *B, int ldb,
                             float beta, float *C, int ldc)
{
    be->ops->sgemm(be, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
/* sgemm in float32 (bf16 == 0) or with bf16 operands (the backend must have
 * sgemm_bf16: the trainer checks before it asks). */
static inline void bpk_sgemm_prec(bpk_backend *be, int bf16, int trans_a, int trans_b, int M,
                                  int N, int K, float alpha, const float *A, int lda,
                                  const float *B, int ldb, float beta, float *C, int ldc)
{
    (bf16 ? be->ops->sgemm_bf16 : be->ops->sgemm)(be, trans_a, trans_b, M, N, K, alpha, A, lda,
                                                  B, ldb, beta, C, ldc);
}
static inline void bpk_bias_act_forward(bpk_backend *be, float *s, float *a, int rows, int cols,
                                        const float *bias, bp_activation act, float slope)
{
    be->ops->bias_act_forward(be, s, a, rows, cols, bias, act, slope);
}
static inline void bpk_act_backward(bpk_backend *be, float *delta, const float *s,
                                    const float *a, size_t n, bp_activation act, float slope,
                                    float flat_spot)
{
    be->ops->act_backward(be, delta, s, a, n, act, slope, flat_spot);
}
static inline void bpk_col_sum(bpk_backend *be, const float *X, int rows, int cols, float scale,
                               float *out)
{
    be->ops->col_sum(be, X, rows, cols, scale, out);
}
static inline void bpk_sgemv(bpk_backend *be, int M, int K, const float *W, int ldw,
                             const float *x, const float *bias, float *y)
{
    be->ops->sgemv(be, M, K, W, ldw, x, bias, y);
}
static inline void bpk_sgemv_t(bpk_backend *be, int M, int K, const float *W, int ldw,
                               const float *d, float *y)
{
    be->ops->sgemv_t(be, M, K, W, ldw, d, y);
}
static inline void bpk_sger(bpk_backend *be, int M, int K, float alpha, const float *d,
                            const float *x, float *W, int ldw)
{
    be->ops->sger(be, M, K, alpha, d, x, W, ldw);
}
static inline void bpk_sger_sgemv(bpk_backend *be, int M, int K, float alpha, const float *d,
                                  const float *x, float *W, int ldw, const float *x_next,
                                  const float *bias, float *y)
{
    be->ops->sger_sgemv(be, M, K, alpha, d, x, W, ldw, x_next, bias, y);
}
static inline double bpk_loss_sum(bpk_backend *be, bp_loss loss, const float *s, const float *a,
                                  const float *target, int rows, int cols)
{
    return be->ops->loss_sum(be, loss, s, a, target, rows, cols);
}
static inline void bpk_output_delta(bpk_backend *be, bp_loss loss, bp_activation act,
                                    float slope, float flat_spot, const float *s,
                                    const float *a, const float *target, float *delta, int rows,
                                    int cols)
{
    be->ops->output_delta(be, loss, act, slope, flat_spot, s, a, target, delta, rows, cols);
}
static inline size_t bpk_count_correct(bpk_backend *be, const float *out, int rows, int cols,
                                       const int32_t *labels, const size_t *idx)
{
    return be->ops->count_correct(be, out, rows, cols, labels, idx);
}
static inline void bpk_dropout_forward(bpk_backend *be, const float *a, float *mask,
                                       float *drop_a, int rows, int cols, float keep, int layer,
                                       const bpk_mask_source *src)
{
    be->ops->dropout_forward(be, a, mask, drop_a, rows, cols, keep, layer, src);
}
static inline void bpk_mul(bpk_backend *be, float *y, const float *x, size_t n)
{
    be->ops->mul(be, y, x, n);
}
static inline void bpk_sum_vectors(bpk_backend *be, const float *v, int count, size_t len,
                                   float *out)
{
    be->ops->sum_vectors(be, v, count, len, out);
}
static inline void bpk_axpy(bpk_backend *be, float *y, const float *x, size_t n, float alpha)
{
    be->ops->axpy(be, y, x, n, alpha);
}
static inline void bpk_scale(bpk_backend *be, float *x, size_t n, float f)
{
    be->ops->scale(be, x, n, f);
}
static inline double bpk_sumsq(bpk_backend *be, const float *x, size_t n)
{
    return be->ops->sumsq(be, x, n);
}
static inline size_t bpk_find_nonfinite(bpk_backend *be, const float *x, size_t n)
{
    return be->ops->find_nonfinite(be, x, n);
}
static inline void bpk_update_params(bpk_backend *be, const bpk_update *u, float *w, float *g,
                                     float *m, float *v, size_t n)
{
    be->ops->update(be, u, w, g, m, v, n);
}
/* 0 when the backend has no update_summed. */
static inline int bpk_update_summed(bpk_backend *be, const bpk_update *u, float *w, float *g,
                                    float *m, float *v, const float *const *vec, int count,
                                    size_t n)
{
    if (!be->ops->update_summed)
        return 0;
    be->ops->update_summed(be, u, w, g, m, v, vec, count, n);
    return 1;
}
static inline void bpk_gather_rows(bpk_backend *be, float *dst, const float *src,
                                   const size_t *idx, int rows, int width, const float *shift,
                                   const float *factor)
{
    be->ops->gather_rows(be, dst, src, idx, rows, width, shift, factor);
}

/* ---- the CUDA backend (src/cuda/, docs/gpu.md) -------------------------- */

/* The CUDA backend lives in its own library, libbackprop_cuda.so, which
 * kernels/cuda_loader.c loads at run time, so that libbackprop and the CLI
 * run on machines with no CUDA, no driver or no GPU.  Why a backend could
 * not be had, in words the caller can turn into a message: */
typedef enum bpk_cuda_status {
    BPK_CUDA_OK = 0,
    BPK_CUDA_NOT_BUILT,   /* libbackprop_cuda.so is not there (built without nvcc) */
    BPK_CUDA_LOAD_FAILED, /* it is there but did not load (e.g. cuBLAS missing) */
    BPK_CUDA_NO_DRIVER,   /* no NVIDIA driver, or one too old for the runtime */
    BPK_CUDA_NO_DEVICE,   /* a driver but no (such) GPU */
    BPK_CUDA_FAILED       /* a GPU, but setting it up failed (memory, cuBLAS) */
} bpk_cuda_status;

/* The backend on GPU `device` (0: the first), or NULL with *why set and, when
 * detail is not NULL, a one-line detail (the path tried, the CUDA error) in
 * detail[len].  The library is looked for at $BACKPROP_CUDA_LIB, else next
 * to the module holding this loader (libbackprop.so, or the program linked
 * with libbackprop.a), else next to the running program, else on the
 * loader's search path.  Free it with bpk_cuda_backend_free (not
 * bpk_backend_free: the device context, stream and cuBLAS handle go too). */
bpk_backend *bpk_cuda_backend_create(int device, bpk_cuda_status *why, char *detail, size_t len);
void bpk_cuda_backend_free(bpk_backend *be);
/* The first CUDA or cuBLAS error any op of this backend met (ops return
 * nothing, so errors are kept until asked for), or NULL: callers check it
 * after a step.  NULL for other backends. */
const char *bpk_cuda_backend_error(bpk_backend *be);
/* "library not built", "no driver", … for a status. */
const char *bpk_cuda_status_text(bpk_cuda_status s);

/* The entry points libbackprop_cuda.so exports (C linkage), which only the
 * loader calls: open returns the backend or NULL with *why a bpk_cuda_status. */
#define BPK_CUDA_LIBRARY "libbackprop_cuda.so"
typedef bpk_backend *(*bpk_cuda_open_fn)(int device, int *why, char *detail, size_t len);
typedef void (*bpk_cuda_close_fn)(bpk_backend *be);
typedef const char *(*bpk_cuda_error_fn)(bpk_backend *be);

#endif /* BP_KERNELS_BACKEND_H */
