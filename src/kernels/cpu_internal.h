/*
 * cpu_internal.h — what the CPU backend's ISA files provide to its driver.
 *
 * One bpk_impl table per instruction set (portable C, AVX2+FMA, AVX-512);
 * the driver (sgemm.c, ops.c) picks one at first use (isa.c) and calls only
 * through it.  Intrinsics live in the *_avx2.c / *_avx512.c files only.
 *
 * GEMM follows the Goto/BLIS scheme: op(A) is packed into row panels of MR
 * rows (for every k, MR consecutive floats), op(B) into column panels of NR
 * columns (for every k, NR consecutive floats), both zero-padded to a whole
 * panel; a register-blocked micro-kernel multiplies one A panel by one B
 * panel over kc steps.  Every element of C is the k-ascending chain of
 * fused (or, in the portable path, unfused) multiply-adds starting from 0,
 * whichever tile or thread computes it, so results never depend on the
 * thread count.
 */
#ifndef BP_KERNELS_CPU_INTERNAL_H
#define BP_KERNELS_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* acc = Σ_k a[k][0..MR) ⊗ b[k][0..NR) over kc steps; then for r < mr, c < nr:
 *   C[r][c] = alpha·acc                 (beta == 0: C not read)
 *   C[r][c] = alpha·acc + beta·C[r][c]  (otherwise; fused where the ISA has FMA) */
typedef void (*bpk_microkernel_fn)(int kc, const float *a, const float *b, float *C, size_t ldc,
                                   int mr, int nr, float alpha, float beta);

/* Packs `rows` rows (the last panel zero-padded up to w) of a kc-deep slice
 * into panels of width w: dst[panel][k][0..w).  Element (r, k) of the
 * slice is src[r·ld + k] when kcontig, src[k·ld + r] otherwise.  dst needs
 * ceil(rows/w)·w·kc floats plus BPK_PACK_SLACK, 64-byte aligned. */
typedef void (*bpk_pack_fn)(int w, int kcontig, const float *src, size_t ld, int rows, int kc,
                            float *dst);
#define BPK_PACK_SLACK 32

/* The bf16 micro-kernel (bf16_kernel.h): as bpk_microkernel_fn, over kp
 * pairs of k; a and b hold one uint32_t per (row, pair), the even k in its
 * low half; micro-tile 8 × 32. */
typedef void (*bpk_bf16_kernel_fn)(int kp, const uint32_t *a, const uint32_t *b, float *C,
                                   size_t ldc, int mr, int nr, float alpha, float beta);

typedef struct bpk_impl {
    const char *name;
    int mr, nr;         /* micro-tile */
    int kc, mc, nc;     /* cache blocking (upper bounds; fixed per ISA) */
    bpk_microkernel_fn kernel;
    bpk_pack_fn pack;
    /* VDPBF16PS kernel where the CPU has AVX512-BF16 (mr 8, nr 32), else NULL */
    bpk_bf16_kernel_fn kernel_bf16;
    /* bpk_bf16_pack_pairs in one pass (rounding with the ISA's conversion);
     * returns 0 for a w it does not handle.  NULL, or 0: `pack`, then the
     * fold in C. */
    int (*bf16_pack)(int w, int kcontig, const float *src, size_t ld, int rows, int kc,
                     uint32_t *dst);

    /* One row of bias + activation (not softmax: see softmax_row). */
    void (*bias_act_row)(float *s, float *a, int cols, const float *bias, bp_activation act,
                         float slope);
    void (*softmax_row)(float *s, float *a, int cols, const float *bias);
    void (*act_backward)(float *delta, const float *s, const float *a, size_t n,
                         bp_activation act, float slope);
    /* out[j] (+)= Σ_i X[i][j] for j in [0, cols); ld = row stride; init: start from 0. */
    void (*col_sum)(const float *X, size_t ld, int rows, int cols, float scale, float *out);

    void (*sgemv)(int M, int K, const float *W, size_t ldw, const float *x, const float *bias,
                  float *y);
    void (*sgemv_t)(int M, int K, const float *W, size_t ldw, const float *d, float *y);
    void (*sger)(int M, int K, float alpha, const float *d, const float *x, float *W, size_t ldw);
    void (*sger_sgemv)(int M, int K, float alpha, const float *d, const float *x, float *W,
                       size_t ldw, const float *x_next, const float *bias, float *y);

    void (*sgd)(float *w, const float *g, size_t n, float lr);
    void (*momentum)(float *w, float *v, const float *g, size_t n, float lr, float mu,
                     int nesterov);
    void (*adam)(float *w, float *m, float *v, const float *g, size_t n, float lr, float beta1,
                 float beta2, float eps, float c1, float c2, float decoupled_wd);
    void (*rmsprop)(float *w, float *v, const float *g, size_t n, float lr, float rho, float eps);
} bpk_impl;

extern const bpk_impl bpk_impl_portable;
extern const bpk_impl bpk_impl_avx2;
/* Turns a copy of the AVX2 table into the AVX-512 one (GEMM fields). */
void bpk_avx512_gemm(bpk_impl *impl);
/* AVX2 packing; w ≤ 8 or a multiple of 8. */
void bpk_pack_avx2(int w, int kcontig, const float *src, size_t ld, int rows, int kc, float *dst);

/* AVX512-BF16 kernel (cpu_avx512.c); only where cpuid reports avx512_bf16. */
extern const bpk_bf16_kernel_fn bpk_bf16_kernel_avx512;
/* Its pair packing, with VCVTNEPS2BF16 (the same words as bpk_pack_avx2
 * followed by the C fold). */
int bpk_bf16_pack_avx512(int w, int kcontig, const float *src, size_t ld, int rows, int kc,
                         uint32_t *dst);
/* The same kernel over plain C arrays (bf16.c), for tests on any CPU. */
extern const bpk_bf16_kernel_fn bpk_bf16_kernel_simulated;

/* How a bf16 product runs (bf16.c): natively (the table's kernel_bf16), by
 * the simulated kernel (tests: bpk_bf16_simulate), emulated (float32
 * kernels on operands rounded to bf16: BACKPROP_BF16=emulate), or not at
 * all.  Native and simulated give the same bits, always (the simulation
 * does what VDPBF16PS does, flushing included).  Emulated gives them too
 * (alpha 1) wherever no partial sum falls below FLT_MIN: the float32
 * kernels add the same products in the same order (bpk_bf16_round_panels)
 * but keep a denormal sum that VDPBF16PS flushes to zero. */
enum { BPK_BF16_NONE, BPK_BF16_NATIVE, BPK_BF16_SIMULATED, BPK_BF16_EMULATED };
/* Two more for AMX-BF16 (amx.c): the native TDPBF16PS kernel, only when
 * BACKPROP_AMX=1 asks for it on a CPU and OS that grant AMX, and its source
 * over plain C arrays (tests: bpk_bf16_simulate_amx).  They pack their own
 * layouts (amx_kernel.h) and are checked against the rounded operands'
 * product, not against the other paths' bits: TDPBF16PS adds in another
 * order. */
enum { BPK_BF16_AMX = BPK_BF16_EMULATED + 1, BPK_BF16_AMX_SIMULATED };
int bpk_bf16_path(const bpk_impl *im);
/* Packs as im->pack into panels of width w, then folds each panel's k into
 * bf16 pairs: dst[panel][kc/2 rounded up][w]; an odd kc's last pair has 0
 * in its high half.  dst must hold im->pack's floats (it is folded in place). */
void bpk_bf16_pack_pairs(const bpk_impl *im, int w, int kcontig, const float *src, size_t ld,
                         int rows, int kc, uint32_t *dst);
/* The emulated path's operands: `count` packed float32 panels of [kc][w]
 * rounded to bf16 in place, and each pair of k rows swapped, so that the
 * float32 kernel adds the products in VDPBF16PS's order. */
void bpk_bf16_round_panels(float *panels, int w, int kc, int count);

/* AMX-BF16 (amx.c).  Micro-tile 32 × 32, kernels of type bpk_bf16_kernel_fn
 * whose kp is a multiple of 16 pairs (bpk_amx_depth) and whose panels are
 * packed by bpk_amx_pack_a (op(A): [kp/16][32][16] words per 32 rows) and
 * bpk_amx_pack_b (op(B): [kp][32] pair panels).  The native kernel may be
 * called only once bpk_amx_available() returned 1 on this process. */
extern const bpk_bf16_kernel_fn bpk_amx_kernel_native;
extern const bpk_bf16_kernel_fn bpk_amx_kernel_simulated;
/* cpuid has AMX-BF16 and AMX-TILE and Linux granted the tile state (asked
 * once per process; saying why not on stderr, once).  Call it only when
 * the user opted in: the request changes the process's signal frames. */
int bpk_amx_available(void);
/* The same for AMX-INT8 (EDX bit 25) and AMX-TILE: int8_amx.c's TDPBSSD
 * GEMM.  The grant is asked once per process, for whichever asks first. */
int bpk_amx_int8_available(void);
/* BACKPROP_AMX=1 (the opt-in for both; another value than 0 or 1 warns
 * once and counts as 0). */
int bpk_amx_requested(void);
/* Loads the library's one tile configuration (eight tiles of 16 rows × 64
 * bytes) on this thread unless it already has (once per thread, for every
 * AMX kernel).  Only where an *_available() above returned 1. */
void bpk_amx_configure(void);
void bpk_amx_pack_a(int kcontig, const float *src, size_t ld, int rows, int kc, uint32_t *dst);
void bpk_amx_pack_b(const bpk_impl *im, int kcontig, const float *src, size_t ld, int cols,
                    int kc, uint32_t *dst);
/* Pair words per panel row of a kc-deep slice: its pairs rounded up to a
 * whole k step of 16. */
static inline int bpk_amx_depth(int kc) { return ((kc + 1) / 2 + 15) / 16 * 16; }

/* The table in use (chosen on first call; see isa.c). */
const bpk_impl *bpk_impl_get(void);

/* Scalar helpers shared by the ISA files for tails and odd cases: the one
 * definition of each activation and its derivative. */
#include "act_scalar.h"

#endif /* BP_KERNELS_CPU_INTERNAL_H */
