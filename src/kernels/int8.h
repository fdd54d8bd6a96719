/*
 * int8.h — int8 inference kernels (internal, not installed; docs/performance.md).
 *
 * Symmetric quantization: q = clamp(round(x · inv_scale), −127, 127), rounding
 * half to even, NaN to −127; −128 is never produced, so the products of two
 * int8 values fit an int16 pair sum and |Σ| ≤ K · 127² stays inside int32 for
 * K ≤ BPK_INT8_MAX_K.  Every path computes exactly the same integers: integer
 * sums do not depend on their order, and the float steps (one multiply, one
 * clamp, one round) are the same single IEEE operations everywhere.
 *
 * The path follows bpk_isa(): "portable" runs the C reference, "avx2" and
 * "avx512" run the AVX2 code (sign-extend int8 to int16, vpmaddwd into int32),
 * except the GEMM, which is VPDPBUSD (int8_vnni.h): the 512-bit one where
 * the avx512 path runs and cpuid reports avx512_vnni ("avx512_vnni", the
 * default since it ran and passed on AMD Zen 5, 2026-11-29), else the
 * 256-bit VEX one where cpuid reports avx_vnni ("avx_vnni": Intel Alder
 * Lake and later clients, Sierra Forest, Zen 5 under BACKPROP_ISA=avx2;
 * ran and passed on Zen 5, 2026-11-29), else the AVX2 one.
 * With BACKPROP_AMX=1, where cpuid reports AMX-INT8 and AMX-TILE and Linux
 * grants the tile state, and the avx512 path runs, the GEMM is TDPBSSD
 * instead ("amx_int8", int8_amx.c): opt-in, as it was written on Zen 5,
 * which has no AMX, and has never run on AMX hardware (its code over C
 * arrays passes the same tests everywhere; bench/amx_check.sh checks it
 * there).
 * BACKPROP_INT8 caps the GEMM: unset, empty or "vnni", the best of these;
 * "avxvnni", AVX-VNNI at most (to compare it with AVX512-VNNI on one CPU);
 * "avx2", the AVX2 GEMM; another value warns once (int8.c).
 */
#ifndef BP_KERNELS_INT8_H
#define BP_KERNELS_INT8_H

#include <stddef.h>
#include <stdint.h>

/* The largest reduction length whose int32 sums cannot overflow, with a
 * zero-point correction as large as the sum itself: 2 · 65536 · 127² < 2^31. */
#define BPK_INT8_MAX_K 65536

/* zero 0 (signed data): q[i] = round_half_even(clamp(x[i] · inv_scale, −127,
 * 127)), NaN → −127.  zero 127 (data ≥ 0, e.g. after ReLU: twice the
 * steps): q[i] = round_half_even(clamp(x[i] · inv_scale, 0, 254)) − 127, NaN →
 * −127; x ≈ (q + 127) / inv_scale, and Σ w·(q + 127) = Σ w·q + 127 · Σ w is
 * put right after the product (bpk_dequantize_s32's corr). */
void bpk_quantize_s8(const float *x, size_t n, float inv_scale, int zero, int8_t *q);
/* C[i][j] = Σ_k A[i][k] · B[j][k] in int32 (A is M×K, B is N×K, both int8 in
 * [−127, 127], K ≤ BPK_INT8_MAX_K). */
void bpk_gemm_s8(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                 int32_t *C, int ldc);
/* Weights packed once for the VNNI GEMMs (int8_vnni.h's B panels: one
 * uint32_t per column and group of four k, [n/32][k/4][32], zeros past n
 * and k), with off[j] = 128 · Σ_k B[j][k] mod 2^32 for its correction, so
 * that a call packs only its activations.  The layout is the same for the
 * 512-bit and the 256-bit kernel (the latter reads each 32-column panel as
 * two 16-column halves), so panels made under one path serve the other. */
#define BPK_S8_PANEL_COLS 32
typedef struct bpk_s8_panels {
    int n, k;      /* the B they hold: n × k */
    uint32_t *b;   /* [n rounded up to 32 · ceil(k/4)] */
    uint32_t *off; /* [n rounded up to 32] */
} bpk_s8_panels;
/* NULL where the CPU has neither AVX512-VNNI nor AVX-VNNI (nothing would
 * read them) or memory runs out; the GEMM then packs B on each call. */
bpk_s8_panels *bpk_s8_panels_create(int N, int K, const int8_t *B, int ldb);
void bpk_s8_panels_free(bpk_s8_panels *p);
/* bpk_gemm_s8 with B's panels (those of this B, or NULL) for the VNNI path;
 * the other paths read B. */
void bpk_gemm_s8_panels(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                        const bpk_s8_panels *panels, int32_t *C, int ldc);
/* out[i][j] = (float)(C[i][j] + corr[j]) · col_scale[j] (one rounded
 * multiply; corr NULL: 0). */
void bpk_dequantize_s32(const int32_t *C, int ldc, int M, int N, const int32_t *corr,
                        const float *col_scale, float *out, int ldo);
/* The path these calls take now: "amx_int8", "avx512_vnni", "avx_vnni",
 * "avx2" or "portable", or "amx_int8_simulated" under the test hook (the
 * GEMM's; quantize and dequantize are AVX2 on all but "portable"). */
const char *bpk_int8_path(void);

/* The paths themselves, for tests that compare them (the AVX2 ones only where
 * bpk_isa_supported("avx2")). */
void bpk_quantize_s8_portable(const float *x, size_t n, float inv_scale, int zero, int8_t *q);
void bpk_gemm_s8_portable(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                          int ldb, int32_t *C, int ldc);
void bpk_quantize_s8_avx2(const float *x, size_t n, float inv_scale, int zero, int8_t *q);
void bpk_gemm_s8_avx2(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                      int32_t *C, int ldc);
void bpk_dequantize_s32_portable(const int32_t *C, int ldc, int M, int N, const int32_t *corr,
                                 const float *col_scale, float *out, int ldo);
void bpk_dequantize_s32_avx2(const int32_t *C, int ldc, int M, int N, const int32_t *corr,
                             const float *col_scale, float *out, int ldo);
/* The VNNI GEMM (int8_vnni.h): on VPDPBUSD (only where
 * bpk_int8_vnni_supported()), and the same code over plain C arrays (any CPU).
 * Each returns −1 when its buffers cannot be allocated, else 0; panels as
 * for bpk_gemm_s8_panels. */
int bpk_int8_vnni_supported(void);
int bpk_gemm_s8_vnni(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                     const bpk_s8_panels *panels, int32_t *C, int ldc);
int bpk_gemm_s8_vnni_simulated(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                               int ldb, const bpk_s8_panels *panels, int32_t *C, int ldc);
/* The same GEMM on 256-bit VEX VPDPBUSD (AVX-VNNI, a 6 × 16 micro-tile;
 * only where bpk_int8_avxvnni_supported()), and its code over plain C
 * arrays (any CPU); as the VNNI ones, panels included. */
int bpk_int8_avxvnni_supported(void);
int bpk_gemm_s8_avxvnni(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                        const bpk_s8_panels *panels, int32_t *C, int ldc);
int bpk_gemm_s8_avxvnni_simulated(int M, int N, int K, const int8_t *A, int lda,
                                  const int8_t *B, int ldb, const bpk_s8_panels *panels,
                                  int32_t *C, int ldc);
/* The AMX-INT8 GEMM (TDPBSSD on 16 × 16 int32 tiles, a 32 × 32 block of C;
 * int8_amx.c, opt-in): natively (returns −1 unless bpk_int8_amx_enabled()
 * or where its buffers cannot be allocated), and its code over plain C
 * arrays (any CPU).  It reads the VNNI GEMMs' panels as they are.
 * bpk_int8_amx_enabled: BACKPROP_AMX=1, cpuid has AMX-INT8 and AMX-TILE,
 * and Linux granted the tile state (asked only then, once; why not is said
 * once on stderr). */
int bpk_int8_amx_enabled(void);
int bpk_gemm_s8_amx(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                    const bpk_s8_panels *panels, int32_t *C, int ldc);
int bpk_gemm_s8_amx_simulated(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                              int ldb, const bpk_s8_panels *panels, int32_t *C, int ldc);
/* Tests: 1 makes the dispatch run the simulated AMX GEMM ("amx_int8_simulated")
 * under every ISA and BACKPROP_INT8, 0 (the default) the usual choice. */
void bpk_int8_simulate_amx(int on);
/* bpk_s8_panels_create on any CPU (tests of the simulated GEMMs). */
bpk_s8_panels *bpk_s8_panels_pack(int N, int K, const int8_t *B, int ldb);

#endif /* BP_KERNELS_INT8_H */
