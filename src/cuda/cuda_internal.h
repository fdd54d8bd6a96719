/*
 * The CUDA backend's own declarations, shared by cuda_backend.cu (host glue:
 * memory, cuBLAS, the op table) and cuda_kernels.cu (device kernels and
 * their launchers).  Not seen by libbackprop: the loader knows only the
 * entry points of backend.h.
 */
#ifndef BP_CUDA_INTERNAL_H
#define BP_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "kernels/backend.h"

/* The backend's execution context: one device, one stream that every op
 * runs on in order, one cuBLAS handle bound to it, and scratch buffers
 * that grow on demand (never shrink) and live as long as the backend. */
typedef struct cuda_ctx {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_workspace;
    void *dev_scratch; /* reductions' partial results, uploaded labels */
    size_t dev_scratch_bytes;
    void *dev_tmp; /* overlapping copies */
    size_t dev_tmp_bytes;
    void *host_scratch; /* masks and gathered rows on their way up */
    size_t host_scratch_bytes;
    char error[256]; /* the first error met, "" while none */
} cuda_ctx;

/* Records the first error (later ones are usually its consequences).
 * Returns 1 when e is an error. */
int cu_failed(cuda_ctx *c, cudaError_t e, const char *what);
/* cudaGetLastError after a launch, recorded as above. */
void cu_check_launch(cuda_ctx *c, const char *what);
/* Device / host scratch of at least `bytes`, or NULL (error recorded). */
void *cu_dev_scratch(cuda_ctx *c, size_t bytes);
void *cu_host_scratch(cuda_ctx *c, size_t bytes);

/* ---- launchers (cuda_kernels.cu); every pointer is device memory ---------- */

void cu_fill(cuda_ctx *c, float *x, size_t n, float value);
void cu_bias_act_forward(cuda_ctx *c, float *s, float *a, int rows, int cols, const float *bias,
                         bp_activation act, float slope);
void cu_act_backward(cuda_ctx *c, float *delta, const float *s, const float *a, size_t n,
                     bp_activation act, float slope, float flat_spot);
void cu_col_sum(cuda_ctx *c, const float *X, int rows, int cols, float scale, float *out);
void cu_sgemv(cuda_ctx *c, int M, int K, const float *W, int ldw, const float *x,
              const float *bias, float *y);
void cu_sgemv_t(cuda_ctx *c, int M, int K, const float *W, int ldw, const float *d, float *y);
void cu_sger(cuda_ctx *c, int M, int K, float alpha, const float *d, const float *x, float *W,
             int ldw);
void cu_output_delta(cuda_ctx *c, bp_loss loss, bp_activation act, float slope, float flat_spot,
                     const float *s, const float *a, const float *target, float *delta, int rows,
                     int cols);
void cu_mul(cuda_ctx *c, float *y, const float *x, size_t n);
void cu_sum_vectors(cuda_ctx *c, const float *v, int count, size_t len, float *out);
void cu_axpy(cuda_ctx *c, float *y, const float *x, size_t n, float alpha);
void cu_scale(cuda_ctx *c, float *x, size_t n, float f);
void cu_update(cuda_ctx *c, const bpk_update *u, float *w, float *g, float *m, float *v,
               size_t n);

/* Reductions: a fixed split into chunks, a fixed tree in each, then one
 * block over the chunks' results in a fixed tree — no atomics, so the same
 * input gives the same bits every run.  They wait for the result. */
double cu_sumsq(cuda_ctx *c, const float *x, size_t n);
size_t cu_find_nonfinite(cuda_ctx *c, const float *x, size_t n);
double cu_loss_sum(cuda_ctx *c, bp_loss loss, const float *s, const float *a,
                   const float *target, int rows, int cols);
/* labels: `rows` int32 in HOST memory, already gathered (labels[idx[r]]);
 * uploaded here per call until the data set lives on the device. */
size_t cu_count_correct(cuda_ctx *c, const float *out, int rows, int cols,
                        const int32_t *labels);

#endif /* BP_CUDA_INTERNAL_H */
