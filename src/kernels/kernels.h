/*
 * kernels.h — the op set the network layer runs on (internal, not installed).
 *
 * Every op works on float32 buffers with explicit shapes and leading
 * dimensions, row-major.  A backend (CPU today; BLAS, CUDA later) implements
 * this set; nn/ calls nothing else for arithmetic on tensors.
 *
 * Determinism: every op gives the same bits whatever the pool's thread count.
 * Work is split over output rows/columns only, never over a reduction, and
 * blocking never depends on the number of threads.
 */
#ifndef BP_KERNELS_H
#define BP_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "backprop.h"

/* ---- thread pool ------------------------------------------------------ */

/* A persistent pool: threads are created once and sleep between jobs, so
 * the training loop never creates a thread. */
typedef struct bpk_pool bpk_pool;

/* threads in [1, 1024]; 1 means run on the caller.  NULL on failure with
 * errno EINVAL (thread count out of range), ENOMEM, or EAGAIN (creating
 * thread *failed_thread failed; failed_thread may be NULL).  No message is
 * set: kernels/ does not call into nn/, whose caller words it. */
bpk_pool *bpk_pool_create(int threads, int *failed_thread);
void bpk_pool_free(bpk_pool *pool);
int bpk_pool_threads(const bpk_pool *pool);
/* How many threads to split the next kernel call for: the pool's threads,
 * or 1 while sharing does not pay on this machine now (pool.c's governor,
 * which counts these calls to measure the run's speed).  Call it once per
 * kernel call that may use the pool, to choose its split; the split never
 * changes a result. */
int bpk_pool_width(bpk_pool *pool);
/* Run fn(ctx, task) for every task in [0, ntasks), spread over the pool's
 * threads and the caller; returns when all are done.  Tasks must write
 * disjoint memory.  pool may be NULL (runs serially). */
typedef void (*bpk_task_fn)(void *ctx, int task);
void bpk_pool_run(bpk_pool *pool, int ntasks, bpk_task_fn fn, void *ctx);

/* Work split in fixed slices of `per` items, whatever the thread count (so
 * the bits are too): how many slices n items make, and the first item of
 * slice `task` with its length in *len; task −1 is all n items at once. */
static inline int bpk_slices(size_t n, size_t per) { return (int)((n + per - 1) / per); }
static inline size_t bpk_slice(int task, size_t per, size_t n, size_t *len)
{
    size_t first = task < 0 ? 0 : (size_t)task * per;
    *len = task < 0 || n - first < per ? n - first : per;
    return first;
}

/* ---- dense linear algebra --------------------------------------------- */

/* C[M][N] = alpha · op(A)[M][K] · op(B)[K][N] + beta · C.
 * op(A) = A (A is M×K, lda ≥ K) or Aᵀ (A is K×M, lda ≥ M); likewise B.
 * beta == 0 means C is not read (may hold NaN).
 * Bits never depend on the pool's thread count; they may differ between CPU
 * paths, and a one-row product (M == 1, the batch-1 path) may round
 * differently from the same row inside a larger M. */
void bpk_cpu_sgemm(bpk_pool *pool, int trans_a, int trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc);

/* op(B) packed once for many float32 products over the same B — the passes
 * of an inference over fixed weights — so that each product skips packing
 * it (what the call would pack, in the same panels: the same bits).  NULL
 * when out of memory.  B must not change while the packing is in use. */
typedef struct bpk_packed_b bpk_packed_b;
bpk_packed_b *bpk_cpu_pack_b(bpk_pool *pool, int trans_b, int N, int K, const float *B, int ldb);
void bpk_packed_b_free(bpk_packed_b *pb);
size_t bpk_packed_b_bytes(const bpk_packed_b *pb);
/* bpk_cpu_sgemm(pool, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta,
 * C, ldc) with the trans_b, N, K, B and ldb that pb was packed from: the
 * same bits (a one-row product, or a CPU path changed since, reads B). */
void bpk_cpu_sgemm_packed_b(bpk_pool *pool, int trans_a, int M, float alpha, const float *A,
                            int lda, const bpk_packed_b *pb, float beta, float *C, int ldc);

/* The same product with bf16 operands: every element of op(A) and op(B)
 * rounded to bf16 (nearest, ties to even), products summed in float32
 * (bf16.h).  Runs on AVX512-BF16 where the CPU has it (on AMX-BF16 with
 * BACKPROP_AMX=1, where granted), else on float32
 * kernels over the rounded operands (the same arithmetic, no faster).  Bits
 * never depend on the thread count. */
void bpk_cpu_sgemm_bf16(bpk_pool *pool, int trans_a, int trans_b, int M, int N, int K,
                        float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                        float *C, int ldc);
/* The bf16 path products would take now: "avx512_bf16" (native),
 * "amx_bf16" (native AMX, only with BACKPROP_AMX=1 where it runs), an
 * emulation when BACKPROP_BF16=emulate asks for one, or NULL: this CPU has
 * no bf16 arithmetic, and a bf16 product would only be slower float32. */
const char *bpk_cpu_bf16_path(void);
/* Tests: run bf16 products through the native kernel compiled over plain C
 * arrays (bf16.c), so its logic is checked on CPUs without AVX512-BF16. */
void bpk_bf16_simulate(int on);
/* Tests: the same for the AMX-BF16 kernel (amx.c), its TDPBF16PS modelled
 * on Intel's manual. */
void bpk_bf16_simulate_amx(int on);

/* ---- element-wise and small reductions --------------------------------- */

/* For each of `rows` rows of s ([rows][cols], ld = cols): s += bias (if not
 * NULL), then a = f(s).  Softmax is taken over each row. */
void bpk_cpu_bias_act_forward(bpk_pool *pool, float *s, float *a, int rows, int cols,
                          const float *bias, bp_activation act, float slope);

/* delta[i] *= f'(s[i]) for n elements (not softmax), using a = f(s) where that
 * is cheaper (sigmoid, tanh). */
void bpk_cpu_act_backward(float *delta, const float *s, const float *a, size_t n,
                      bp_activation act, float slope);

/* out[j] = scale · Σ_i X[i][j] over `rows` rows, i ascending. */
void bpk_cpu_col_sum(bpk_pool *pool, const float *X, int rows, int cols, float scale, float *out);

/* out[i] = ((v_0[i] + v_1[i]) + v_2[i]) + … over `count` vectors of `len`
 * floats stored one after another.  Element-wise, so any slice of the vectors
 * summed on its own gives the same bits: the data-parallel reduce's order.
 * out must not overlap v. */
void bpk_cpu_sum_vectors(const float *v, int count, size_t len, float *out);

/* y[i] += x[i] */
void bpk_cpu_sum_into(float *y, const float *x, size_t n);
/* y[i] += alpha · x[i] (a separate multiply and add, never fused) */
void bpk_cpu_axpy(float *y, const float *x, size_t n, float alpha);
/* 1 when every x[i] is finite, else 0. */
int bpk_cpu_all_finite(const float *x, size_t n);

/* ---- batch-1 paths ------------------------------------------------------ */

/* y[M] = W[M][K] · x[K] (+ bias when not NULL). */
void bpk_cpu_sgemv(int M, int K, const float *W, int ldw, const float *x, const float *bias, float *y);
/* y[K] = W[M][K]ᵀ · d[M]. */
void bpk_cpu_sgemv_t(int M, int K, const float *W, int ldw, const float *d, float *y);
/* W[M][K] += alpha · d[M] ⊗ x[K]. */
void bpk_cpu_sger(int M, int K, float alpha, const float *d, const float *x, float *W, int ldw);
/* Online SGD's two sweeps over one weight matrix fused into one: for each row
 * i, W[i] += alpha · d[i] · x, then y[i] = W[i] · x_next (+ bias[i]).  Same
 * bits as bpk_cpu_sger followed by bpk_cpu_sgemv with x_next, at half the memory
 * traffic: the update of sample t and the forward pass of sample t+1. */
void bpk_cpu_sger_sgemv(int M, int K, float alpha, const float *d, const float *x, float *W, int ldw,
                    const float *x_next, const float *bias, float *y);

/* ---- optimizer updates -------------------------------------------------- */

/* w -= lr · g */
void bpk_cpu_sgd_update(float *w, const float *g, size_t n, float lr);
/* v = mu·v + g;  w -= lr·(nesterov ? g + mu·v : v) */
void bpk_cpu_momentum_update(float *w, float *v, const float *g, size_t n, float lr, float mu,
                         int nesterov);
/* Adam / AdamW in one pass; bias corrections c1 = 1 − β1^t, c2 = 1 − β2^t.
 * decoupled_wd: AdamW's w -= lr·wd·w (0 for plain Adam). */
void bpk_cpu_adam_update(float *w, float *m, float *v, const float *g, size_t n, float lr,
                     float beta1, float beta2, float eps, float c1, float c2, float decoupled_wd);
/* RMSprop: v = ρ·v + (1−ρ)·g²;  w -= lr·g/(√v + eps) */
void bpk_cpu_rmsprop_update(float *w, float *v, const float *g, size_t n, float lr, float rho,
                        float eps);

/* Which CPU path is in use ("avx512", "avx2", "portable"); set by cpuid at
 * first use, forced with BACKPROP_ISA=avx512|avx2|portable. */
const char *bpk_isa(void);
/* Force a path (tests, benchmarks): "avx512", "avx2" or "portable"; NULL
 * goes back to the default (cpuid, or BACKPROP_ISA).  Falls back to the best the CPU supports below the
 * one asked for; returns the name now in use.  Not while kernels run. */
const char *bpk_set_isa(const char *name);
/* Non-zero when this CPU can run the named path. */
int bpk_isa_supported(const char *name);

#endif /* BP_KERNELS_H */
