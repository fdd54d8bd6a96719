/*
 * The CUDA backend (docs/gpu.md): the bpk_ops table of backend.h on one
 * NVIDIA GPU.  This file is the host side: the context (device, stream,
 * cuBLAS handle, scratch), memory, the GEMM through cuBLAS, and the ops
 * whose inputs are host memory (dropout masks, gathered rows, labels).  The
 * kernels are in cuda_kernels.cu.
 *
 * Built into libbackprop_cuda.so, which libbackprop loads at run time
 * (kernels/cuda_loader.c); it exports only the three bpk_cuda_backend_*
 * entry points below.
 *
 * Every op is queued on the backend's one stream, in call order; ops that
 * hand data to the host (download, the reductions) or read host memory the
 * caller may reuse at once (upload and the ops built on it) wait for the
 * stream.  Ops return nothing: the first CUDA or cuBLAS error is kept in the
 * context and read through bpk_cuda_backend_error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

/* cuBLAS's workspace, set explicitly so that its GEMMs do not allocate (and
 * so stay capturable in a CUDA graph later); 32 MiB is NVIDIA's figure for
 * Hopper. */
static const size_t BLAS_WORKSPACE = (size_t)32 << 20;

/* The context, with its device made the calling thread's current one: the
 * CUDA runtime keeps the current device per host thread, and nn/ may call
 * from a thread other than the one that created the backend (a no-op when
 * it is current already). */
static cuda_ctx *ctx_of(bpk_backend *be)
{
    cuda_ctx *c = (cuda_ctx *)be->context;
    cudaSetDevice(c->device);
    return c;
}

int cu_failed(cuda_ctx *c, cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return 0;
    if (!c->error[0])
        snprintf(c->error, sizeof c->error, "CUDA: %s: %s", what, cudaGetErrorString(e));
    return 1;
}

void cu_check_launch(cuda_ctx *c, const char *what) { cu_failed(c, cudaGetLastError(), what); }

static void blas_failed(cuda_ctx *c, cublasStatus_t st, const char *what)
{
    if (st != CUBLAS_STATUS_SUCCESS && !c->error[0])
        snprintf(c->error, sizeof c->error, "cuBLAS: %s: %s", what, cublasGetStatusString(st));
}

/* Grows a buffer to `bytes`; cudaFree waits for the device, so work queued
 * on the old buffer finishes first. */
static void *grow_device(cuda_ctx *c, void **buf, size_t *have, size_t bytes)
{
    if (bytes <= *have)
        return *buf;
    cudaFree(*buf);
    *buf = NULL;
    *have = 0;
    if (cu_failed(c, cudaMalloc(buf, bytes), "scratch allocation"))
        return *buf = NULL;
    *have = bytes;
    return *buf;
}

void *cu_dev_scratch(cuda_ctx *c, size_t bytes)
{
    return grow_device(c, &c->dev_scratch, &c->dev_scratch_bytes, bytes);
}

/* Host scratch is filled by the host, so the stream must be done with it:
 * every user uploads from it and waits before returning. */
void *cu_host_scratch(cuda_ctx *c, size_t bytes)
{
    if (bytes <= c->host_scratch_bytes)
        return c->host_scratch;
    free(c->host_scratch);
    c->host_scratch = malloc(bytes);
    c->host_scratch_bytes = c->host_scratch ? bytes : 0;
    if (!c->host_scratch && !c->error[0])
        snprintf(c->error, sizeof c->error, "CUDA backend: out of host memory (%zu bytes)",
                 bytes);
    return c->host_scratch;
}

/* ---- memory ------------------------------------------------------------------ */

static float *cuda_alloc(bpk_backend *be, size_t n)
{
    cuda_ctx *c = ctx_of(be);
    if (n > SIZE_MAX / sizeof(float) - 64)
        return NULL;
    size_t bytes = (n ? n : 1) * sizeof(float);
    void *p = NULL;
    /* Out of memory is the caller's to word (NULL), not a sticky error. */
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    /* cudaMalloc's alignment (256 bytes) covers the contract's 64. */
    if (cu_failed(c, cudaMemsetAsync(p, 0, bytes, c->stream), "zeroing new memory")) {
        cudaFree(p);
        return NULL;
    }
    return (float *)p;
}

static void cuda_release(bpk_backend *be, float *p)
{
    (void)be;
    cudaFree(p); /* waits for the device: no queued op still uses p */
}

static void cuda_upload(bpk_backend *be, float *dst, const float *host, size_t n)
{
    cuda_ctx *c = ctx_of(be);
    if (n == 0)
        return;
    if (!cu_failed(c, cudaMemcpyAsync(dst, host, n * sizeof(float), cudaMemcpyHostToDevice,
                                      c->stream),
                   "upload"))
        cu_failed(c, cudaStreamSynchronize(c->stream), "upload"); /* host may reuse it now */
}

static void cuda_download(bpk_backend *be, float *host, const float *src, size_t n)
{
    cuda_ctx *c = ctx_of(be);
    if (n == 0)
        return;
    if (!cu_failed(c, cudaMemcpyAsync(host, src, n * sizeof(float), cudaMemcpyDeviceToHost,
                                      c->stream),
                   "download"))
        cu_failed(c, cudaStreamSynchronize(c->stream), "download");
}

/* memmove's contract: overlapping ranges go through a temporary (rare). */
static void cuda_copy(bpk_backend *be, float *dst, const float *src, size_t n)
{
    cuda_ctx *c = ctx_of(be);
    if (n == 0 || dst == src)
        return;
    size_t bytes = n * sizeof(float);
    if (dst < src + n && src < dst + n) {
        void *tmp = grow_device(c, &c->dev_tmp, &c->dev_tmp_bytes, bytes);
        if (!tmp || cu_failed(c, cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice,
                                                 c->stream),
                              "copy"))
            return;
        src = (const float *)tmp;
    }
    cu_failed(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, c->stream), "copy");
}

static void cuda_fill(bpk_backend *be, float *x, size_t n, float value)
{
    cu_fill(ctx_of(be), x, n, value);
}

/* ---- GEMM ---------------------------------------------------------------------- */

/* Row-major C = α·op(A)·op(B) + β·C is, read column-major, Cᵀ = α·op(B)ᵀ·op(A)ᵀ + β·Cᵀ:
 * the same buffers with A and B swapped, M and N swapped, and each operand's
 * transpose flag kept (a row-major X with leading dimension ld is Xᵀ
 * column-major with the same ld).  cuBLAS reads no C when β is 0. */
static void cuda_sgemm(bpk_backend *be, int ta, int tb, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C,
                       int ldc)
{
    cuda_ctx *c = ctx_of(be);
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) { /* C = β·C, with β 0 meaning C is not read */
        if (beta == 0.0f)
            for (int i = 0; i < M; i++)
                cu_fill(c, C + (size_t)i * ldc, (size_t)N, 0.0f);
        else
            for (int i = 0; i < M; i++)
                cu_scale(c, C + (size_t)i * ldc, (size_t)N, beta);
        return;
    }
    cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    blas_failed(c, cublasSgemm(c->blas, opb, opa, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc),
                "sgemm");
}

static void cuda_bias_act_forward(bpk_backend *be, float *s, float *a, int rows, int cols,
                                  const float *bias, bp_activation act, float slope)
{
    cu_bias_act_forward(ctx_of(be), s, a, rows, cols, bias, act, slope);
}

static void cuda_act_backward(bpk_backend *be, float *delta, const float *s, const float *a,
                              size_t n, bp_activation act, float slope, float flat_spot)
{
    cu_act_backward(ctx_of(be), delta, s, a, n, act, slope, flat_spot);
}

static void cuda_col_sum(bpk_backend *be, const float *X, int rows, int cols, float scale,
                         float *out)
{
    cu_col_sum(ctx_of(be), X, rows, cols, scale, out);
}

/* ---- batch 1: simple kernels (one fused kernel per layer is the plan, docs/gpu.md) */

static void cuda_sgemv(bpk_backend *be, int M, int K, const float *W, int ldw, const float *x,
                       const float *bias, float *y)
{
    cu_sgemv(ctx_of(be), M, K, W, ldw, x, bias, y);
}

static void cuda_sgemv_t(bpk_backend *be, int M, int K, const float *W, int ldw, const float *d,
                         float *y)
{
    cu_sgemv_t(ctx_of(be), M, K, W, ldw, d, y);
}

static void cuda_sger(bpk_backend *be, int M, int K, float alpha, const float *d, const float *x,
                      float *W, int ldw)
{
    cu_sger(ctx_of(be), M, K, alpha, d, x, W, ldw);
}

static void cuda_sger_sgemv(bpk_backend *be, int M, int K, float alpha, const float *d,
                            const float *x, float *W, int ldw, const float *x_next,
                            const float *bias, float *y)
{
    cu_sger(ctx_of(be), M, K, alpha, d, x, W, ldw);
    cu_sgemv(ctx_of(be), M, K, W, ldw, x_next, bias, y);
}

/* ---- loss, output delta, accuracy ------------------------------------------------- */

static double cuda_loss_sum(bpk_backend *be, bp_loss loss, const float *s, const float *a,
                            const float *target, int rows, int cols)
{
    return cu_loss_sum(ctx_of(be), loss, s, a, target, rows, cols);
}

static void cuda_output_delta(bpk_backend *be, bp_loss loss, bp_activation act, float slope,
                              float flat_spot, const float *s, const float *a,
                              const float *target, float *delta, int rows, int cols)
{
    cu_output_delta(ctx_of(be), loss, act, slope, flat_spot, s, a, target, delta, rows, cols);
}

/* labels and idx are host memory (the data set): the rows' labels are
 * gathered here and uploaded with each call until the data set lives on the
 * device. */
static size_t cuda_count_correct(bpk_backend *be, const float *out, int rows, int cols,
                                 const int32_t *labels, const size_t *idx)
{
    cuda_ctx *c = ctx_of(be);
    if (rows <= 0)
        return 0;
    int32_t *lab = (int32_t *)cu_host_scratch(c, (size_t)rows * sizeof(int32_t));
    if (!lab)
        return 0;
    for (int r = 0; r < rows; r++)
        lab[r] = labels[idx[r]];
    return cu_count_correct(c, out, rows, cols, lab);
}

/* ---- dropout ------------------------------------------------------------------------- */

/* The masks are drawn on the host from the same generator, in the same order,
 * as the CPU backend's (so a GPU run keeps the CPU's masks, bit for bit), then
 * uploaded; drop_a = a ⊙ mask on the device. */
static void cuda_dropout_forward(bpk_backend *be, const float *a, float *mask, float *drop_a,
                                 int rows, int cols, float keep, int layer,
                                 const bpk_mask_source *src)
{
    cuda_ctx *c = ctx_of(be);
    if (rows <= 0 || cols <= 0)
        return;
    size_t n = (size_t)rows * (size_t)cols;
    float *host = (float *)cu_host_scratch(c, n * sizeof(float));
    if (!host)
        return;
    bpk_dropout_masks(src, host, rows, cols, keep, layer);
    cuda_upload(be, mask, host, n);
    cuda_copy(be, drop_a, a, n);
    cu_mul(c, drop_a, mask, n);
}

static void cuda_mul(bpk_backend *be, float *y, const float *x, size_t n)
{
    cu_mul(ctx_of(be), y, x, n);
}

/* ---- vectors ------------------------------------------------------------------------- */

static void cuda_sum_vectors(bpk_backend *be, const float *v, int count, size_t len, float *out)
{
    cu_sum_vectors(ctx_of(be), v, count, len, out);
}

static void cuda_axpy(bpk_backend *be, float *y, const float *x, size_t n, float alpha)
{
    cu_axpy(ctx_of(be), y, x, n, alpha);
}

static void cuda_scale(bpk_backend *be, float *x, size_t n, float f)
{
    cu_scale(ctx_of(be), x, n, f);
}

static double cuda_sumsq(bpk_backend *be, const float *x, size_t n)
{
    return cu_sumsq(ctx_of(be), x, n);
}

static size_t cuda_find_nonfinite(bpk_backend *be, const float *x, size_t n)
{
    return cu_find_nonfinite(ctx_of(be), x, n);
}

static void cuda_update(bpk_backend *be, const bpk_update *u, float *w, float *g, float *m,
                        float *v, size_t n)
{
    cu_update(ctx_of(be), u, w, g, m, v, n);
}

/* ---- data ------------------------------------------------------------------------------ */

/* src, idx, shift and factor are host memory: the rows are gathered and
 * scaled on the host ((x − shift)·factor, the CPU's bits) and uploaded.  The
 * data set on the device, gathered there, is the plan (docs/gpu.md). */
static void cuda_gather_rows(bpk_backend *be, float *dst, const float *src, const size_t *idx,
                             int rows, int width, const float *shift, const float *factor)
{
    cuda_ctx *c = ctx_of(be);
    if (rows <= 0 || width <= 0)
        return;
    size_t w = (size_t)width, n = (size_t)rows * w;
    if (!idx && !shift) {
        cuda_upload(be, dst, src, n);
        return;
    }
    float *host = (float *)cu_host_scratch(c, n * sizeof(float));
    if (!host)
        return;
    for (int r = 0; r < rows; r++) {
        const float *from = src + (idx ? idx[r] : (size_t)r) * w;
        float *to = host + (size_t)r * w;
        if (shift)
            for (size_t i = 0; i < w; i++)
                to[i] = (from[i] - shift[i]) * factor[i];
        else
            memcpy(to, from, w * sizeof(float));
    }
    cuda_upload(be, dst, host, n);
}

/* ---- the backend ------------------------------------------------------------------------ */

/* Designated (C++20), in bpk_ops' order as C++ requires. */
static const bpk_ops cuda_ops = {
    .alloc = cuda_alloc,
    .release = cuda_release,
    .upload = cuda_upload,
    .download = cuda_download,
    .copy = cuda_copy,
    .fill = cuda_fill,
    .sgemm = cuda_sgemm,
    .bias_act_forward = cuda_bias_act_forward,
    .act_backward = cuda_act_backward,
    .col_sum = cuda_col_sum,
    .sgemv = cuda_sgemv,
    .sgemv_t = cuda_sgemv_t,
    .sger = cuda_sger,
    .sger_sgemv = cuda_sger_sgemv,
    .loss_sum = cuda_loss_sum,
    .output_delta = cuda_output_delta,
    .count_correct = cuda_count_correct,
    .dropout_forward = cuda_dropout_forward,
    .mul = cuda_mul,
    .sum_vectors = cuda_sum_vectors,
    .axpy = cuda_axpy,
    .scale = cuda_scale,
    .sumsq = cuda_sumsq,
    .find_nonfinite = cuda_find_nonfinite,
    .update = cuda_update,
    /* Host vectors only: ranks sharing a machine's memory (bp_trainer_share_state). */
    .update_summed = nullptr,
    .gather_rows = cuda_gather_rows,
    /* bf16 is not implemented on the GPU yet: the trainer refuses it there. */
    .sgemm_bf16 = nullptr,
    .bf16_path = nullptr,
    .freeze = nullptr, /* cuBLAS reads B as it is */
};

static void ctx_free(cuda_ctx *c)
{
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    if (c->blas)
        cublasDestroy(c->blas);
    cudaFree(c->blas_workspace);
    cudaFree(c->dev_scratch);
    cudaFree(c->dev_tmp);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    free(c->host_scratch);
    free(c);
}

/* Is there a driver and the device asked for?  BPK_CUDA_OK or why not. */
static int probe(int device, char *detail, size_t len)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(detail, len, "%s", cudaGetErrorString(e));
        cudaGetLastError();
        return e == cudaErrorNoDevice ? BPK_CUDA_NO_DEVICE : BPK_CUDA_NO_DRIVER;
    }
    if (device < 0 || device >= count) {
        snprintf(detail, len, "GPU %d asked for, %d present", device, count);
        return BPK_CUDA_NO_DEVICE;
    }
    return BPK_CUDA_OK;
}

/* The context on `device`: stream, cuBLAS in fp32 with tensor cores off
 * (pedantic math: no TF32, whatever NVIDIA_TF32_OVERRIDE says), no atomics
 * (deterministic), its own workspace. */
static cuda_ctx *ctx_create(int device, char *detail, size_t len)
{
    cuda_ctx *c = (cuda_ctx *)calloc(1, sizeof *c);
    if (!c) {
        snprintf(detail, len, "out of host memory");
        return NULL;
    }
    c->device = device;
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    if (cu_failed(c, cudaSetDevice(device), "cudaSetDevice") ||
        cu_failed(c, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "stream") ||
        cu_failed(c, cudaMalloc(&c->blas_workspace, BLAS_WORKSPACE), "cuBLAS workspace") ||
        (st = cublasCreate(&c->blas)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetStream(c->blas, c->stream)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetMathMode(c->blas, CUBLAS_PEDANTIC_MATH)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetAtomicsMode(c->blas, CUBLAS_ATOMICS_NOT_ALLOWED)) !=
            CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetWorkspace(c->blas, c->blas_workspace, BLAS_WORKSPACE)) !=
            CUBLAS_STATUS_SUCCESS) {
        blas_failed(c, st, "set-up");
        snprintf(detail, len, "%s", c->error);
        ctx_free(c);
        return NULL;
    }
    return c;
}

EXPORT bpk_backend *bpk_cuda_backend_open(int device, int *why, char *detail, size_t len)
{
    char scratch[8];
    if (!detail) {
        detail = scratch;
        len = sizeof scratch;
    }
    detail[0] = 0;
    if ((*why = probe(device, detail, len)) != BPK_CUDA_OK)
        return NULL;
    *why = BPK_CUDA_FAILED;
    bpk_backend *be = (bpk_backend *)calloc(1, sizeof *be);
    cuda_ctx *c = be ? ctx_create(device, detail, len) : NULL;
    if (!c) {
        if (!be)
            snprintf(detail, len, "out of host memory");
        free(be);
        return NULL;
    }
    be->name = "cuda";
    be->ops = &cuda_ops;
    be->threads = 1;
    be->host_memory = 0; /* nn/ reaches its buffers only through upload/download */
    be->context = c;
    *why = BPK_CUDA_OK;
    return be;
}

EXPORT void bpk_cuda_backend_close(bpk_backend *be)
{
    if (!be)
        return;
    ctx_free(ctx_of(be));
    free(be);
}

EXPORT const char *bpk_cuda_backend_last_error(bpk_backend *be)
{
    cuda_ctx *c = ctx_of(be);
    return c->error[0] ? c->error : NULL;
}
