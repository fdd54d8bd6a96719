/* int8 inference kernels: the portable reference and the dispatch (int8.h). */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int8.h"
#include "kernels.h"

/* The float clamp before the conversion makes NaN the low end (fmaxf
 * returns the number) and keeps lrintf in range; lrintf rounds half to even
 * in the default rounding mode, as cvtps2dq does. */
void bpk_quantize_s8_portable(const float *x, size_t n, float inv_scale, int zero, int8_t *q)
{
    const float lo = zero ? 0.0f : -127.0f, hi = zero ? 254.0f : 127.0f;
    for (size_t i = 0; i < n; i++) {
        float v = fminf(fmaxf(x[i] * inv_scale, lo), hi);
        q[i] = (int8_t)(lrintf(v) - zero);
    }
}

void bpk_gemm_s8_portable(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                          int ldb, int32_t *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        const int8_t *a = A + (size_t)i * (size_t)lda;
        for (int j = 0; j < N; j++) {
            const int8_t *b = B + (size_t)j * (size_t)ldb;
            int32_t sum = 0;
            for (int k = 0; k < K; k++)
                sum += (int32_t)a[k] * (int32_t)b[k];
            C[(size_t)i * (size_t)ldc + (size_t)j] = sum;
        }
    }
}

void bpk_dequantize_s32_portable(const int32_t *C, int ldc, int M, int N, const int32_t *corr,
                                 const float *col_scale, float *out, int ldo)
{
    for (int i = 0; i < M; i++) {
        const int32_t *c = C + (size_t)i * (size_t)ldc;
        float *o = out + (size_t)i * (size_t)ldo;
        for (int j = 0; j < N; j++)
            o[j] = (float)(c[j] + (corr ? corr[j] : 0)) * col_scale[j];
    }
}

/* ---- the VNNI GEMM over plain C arrays (tests; int8_vnni.h) ---------------- */

typedef struct { uint32_t l[16]; } ivec;
static inline ivec ivec_zero(void)
{
    ivec v;
    memset(&v, 0, sizeof v);
    return v;
}
static inline ivec ivec_load(const uint32_t *p)
{
    ivec v;
    memcpy(v.l, p, sizeof v.l);
    return v;
}
static inline ivec ivec_bcast(uint32_t x)
{
    ivec v;
    for (int i = 0; i < 16; i++)
        v.l[i] = x;
    return v;
}
/* Byte t of each lane, in the order it had in memory (little-endian). */
static inline ivec ivec_dpbusd(ivec acc, ivec u, ivec s)
{
    for (int i = 0; i < 16; i++)
        for (int t = 0; t < 4; t++) {
            int32_t ub = (int32_t)(u.l[i] >> (8 * t) & 0xffu);
            int32_t sb = (int32_t)(int8_t)(uint8_t)(s.l[i] >> (8 * t) & 0xffu);
            acc.l[i] += (uint32_t)(ub * sb);
        }
    return acc;
}
static inline void ivec_store_sub(int32_t *c, ivec v, const uint32_t *off, int n)
{
    for (int i = 0; i < n; i++)
        c[i] = (int32_t)(v.l[i] - off[i]);
}
#define VNNI_ATTR
#define VNNI_GEMM gemm_s8_vnni_simulated
#include "int8_vnni.h"

int bpk_gemm_s8_vnni_simulated(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                               int ldb, const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    return gemm_s8_vnni_simulated(M, N, K, A, lda, B, ldb, panels, C, ldc);
}

/* The panels' layout does not depend on the compilation: this one packs
 * them for both. */
bpk_s8_panels *bpk_s8_panels_pack(int N, int K, const int8_t *B, int ldb)
{
    if (N <= 0 || K < 0)
        return NULL;
    size_t k4 = (size_t)(K + 3) / 4, n_pad = ((size_t)N + VNNI_NR - 1) / VNNI_NR * VNNI_NR;
    bpk_s8_panels *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    p->n = N;
    p->k = K;
    p->b = malloc((n_pad * k4 + 1) * sizeof *p->b);
    p->off = malloc(n_pad * sizeof *p->off);
    if (!p->b || !p->off) {
        bpk_s8_panels_free(p);
        return NULL;
    }
    vnni_pack_b(N, K, B, (size_t)ldb, p->b, p->off);
    return p;
}

bpk_s8_panels *bpk_s8_panels_create(int N, int K, const int8_t *B, int ldb)
{
    return bpk_int8_vnni_supported() ? bpk_s8_panels_pack(N, K, B, ldb) : NULL;
}

void bpk_s8_panels_free(bpk_s8_panels *p)
{
    if (!p)
        return;
    free(p->b);
    free(p->off);
    free(p);
}

/* ---- dispatch ---------------------------------------------------------------- */

int bpk_int8_vnni_supported(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return bpk_isa_supported("avx512") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

/* BACKPROP_INT8 chooses the int8 GEMM: unset, empty or "vnni", the
 * automatic choice (VPDPBUSD where the avx512 path runs and cpuid reports
 * avx512_vnni); "avx2", the AVX2 GEMM all the same (to compare the two).
 * Any other value is reported once on stderr, as an unknown BACKPROP_ISA is
 * (isa.c: a misspelt override would otherwise compare a path with itself),
 * and the choice is automatic. */
static int int8_forced_avx2(void)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    const char *e = getenv("BACKPROP_INT8");
    if (!e || !*e || !strcmp(e, "vnni"))
        return 0;
    if (!strcmp(e, "avx2"))
        return 1;
    if (!atomic_flag_test_and_set(&warned)) {
        char shown[41];
        size_t i = 0;
        for (; e[i] && i < sizeof shown - 1; i++)
            shown[i] = e[i] >= 0x20 && e[i] < 0x7f ? e[i] : '?';
        shown[i] = '\0';
        fprintf(stderr, "backprop: warning: BACKPROP_INT8=%s is not vnni or avx2; ignored "
                        "(choosing the CPU's best int8 path)\n", shown);
    }
    return 0;
}

/* The VNNI GEMM is the default where it runs: it has run and passed
 * tests/test_int8.c (the intrinsics against the portable reference) and
 * `make check` on AMD Zen 5 (2026-11-29), where int8 inference with it is
 * 3.1x (784-256-128-10) and 4.5x (1024-1024-1024-10) the float32 path, with
 * the AVX2 GEMM 0.6x (docs/performance.md).  Its loops are the simulated ones that the same
 * test checks on every CPU. */
static int use_vnni(void)
{
    return !int8_forced_avx2() && !strcmp(bpk_isa(), "avx512") && bpk_int8_vnni_supported();
}

static int use_avx2(void) { return strcmp(bpk_isa(), "portable") != 0; }

const char *bpk_int8_path(void)
{
    return use_vnni() ? "avx512_vnni" : use_avx2() ? "avx2" : "portable";
}

void bpk_quantize_s8(const float *x, size_t n, float inv_scale, int zero, int8_t *q)
{
    if (use_avx2())
        bpk_quantize_s8_avx2(x, n, inv_scale, zero, q);
    else
        bpk_quantize_s8_portable(x, n, inv_scale, zero, q);
}

void bpk_dequantize_s32(const int32_t *C, int ldc, int M, int N, const int32_t *corr,
                        const float *col_scale, float *out, int ldo)
{
    if (use_avx2())
        bpk_dequantize_s32_avx2(C, ldc, M, N, corr, col_scale, out, ldo);
    else
        bpk_dequantize_s32_portable(C, ldc, M, N, corr, col_scale, out, ldo);
}

void bpk_gemm_s8(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                 int32_t *C, int ldc)
{
    bpk_gemm_s8_panels(M, N, K, A, lda, B, ldb, NULL, C, ldc);
}

void bpk_gemm_s8_panels(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                        const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    if (panels && (panels->n != N || panels->k != K))
        panels = NULL; /* not this B's: pack it here */
    if (use_vnni() && bpk_gemm_s8_vnni(M, N, K, A, lda, B, ldb, panels, C, ldc) == 0)
        return;
    if (use_avx2())
        bpk_gemm_s8_avx2(M, N, K, A, lda, B, ldb, C, ldc);
    else
        bpk_gemm_s8_portable(M, N, K, A, lda, B, ldb, C, ldc);
}
