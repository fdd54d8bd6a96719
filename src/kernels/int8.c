/* int8 inference kernels: the portable reference and the dispatch (int8.h). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif
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

#define VNNI_LANES 16
#define VNNI_MR 8
#include "int8_vnni_sim.h"
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
    return bpk_int8_vnni_supported() || bpk_int8_avxvnni_supported()
               ? bpk_s8_panels_pack(N, K, B, ldb)
               : NULL;
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

/* cpuid leaf 7 subleaf 1, EAX bit 4, read directly: clang 14 does not know
 * __builtin_cpu_supports("avxvnni").  The YMM state the OS must save is
 * the one AVX2 needs, which bpk_isa_supported("avx2") checks (xgetbv). */
int bpk_int8_avxvnni_supported(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* Asked once: in a VM each cpuid is a trip to the hypervisor, and the
     * dispatch asks at every product. */
    static _Atomic int known = -1;
    int has = atomic_load_explicit(&known, memory_order_relaxed);
    if (has < 0) {
        unsigned a, b, c, d;
        has = bpk_isa_supported("avx2") && __get_cpuid_count(7, 1, &a, &b, &c, &d) &&
              ((a >> 4) & 1u);
        atomic_store_explicit(&known, has, memory_order_relaxed);
    }
    return has;
#else
    return 0;
#endif
}

/* The GEMMs, slowest first: BACKPROP_INT8 names the fastest one allowed. */
enum int8_gemm {
    GEMM_PORTABLE,
    GEMM_AVX2,
    GEMM_AVX_VNNI,
    GEMM_AVX512_VNNI,
    GEMM_AMX_INT8,
    GEMM_AMX_INT8_SIMULATED
};

static _Atomic int simulate_amx;
void bpk_int8_simulate_amx(int on) { simulate_amx = on != 0; }

/* BACKPROP_INT8 caps the int8 GEMM: unset, empty or "vnni", the automatic
 * choice (the best the CPU and BACKPROP_ISA allow); "avxvnni", AVX-VNNI at
 * most (the 256-bit GEMM on a CPU that has AVX512-VNNI too, to compare the
 * two; the AVX2 GEMM where the CPU has no AVX-VNNI, as BACKPROP_ISA falls to
 * the best path below the one asked for); "avx2", the AVX2 GEMM all the same
 * (to compare).  Any other value is reported once on stderr, as an unknown
 * BACKPROP_ISA is (isa.c: a misspelt override would otherwise compare a path
 * with itself), and the choice is automatic. */
static enum int8_gemm int8_cap(void)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    const char *e = getenv("BACKPROP_INT8");
    if (!e || !*e || !strcmp(e, "vnni"))
        return GEMM_AVX512_VNNI;
    if (!strcmp(e, "avxvnni"))
        return GEMM_AVX_VNNI;
    if (!strcmp(e, "avx2"))
        return GEMM_AVX2;
    if (!atomic_flag_test_and_set(&warned)) {
        char shown[41];
        size_t i = 0;
        for (; e[i] && i < sizeof shown - 1; i++)
            shown[i] = e[i] >= 0x20 && e[i] < 0x7f ? e[i] : '?';
        shown[i] = '\0';
        fprintf(stderr, "backprop: warning: BACKPROP_INT8=%s is not vnni, avxvnni or avx2; "
                        "ignored (choosing the CPU's best int8 path)\n", shown);
    }
    return GEMM_AVX512_VNNI;
}

/* Both VNNI GEMMs are the default where they run: each has run and passed
 * tests/test_int8.c (the intrinsics against the portable reference) and
 * `make check` on AMD Zen 5 (2026-11-29), which has both.  There int8
 * inference with the 512-bit one is 3.1x (784-256-128-10) and 4.5x
 * (1024-1024-1024-10) the float32 path, with the AVX2 GEMM 0.6x; the
 * 256-bit one's figures are in docs/performance.md.  Their loops are the
 * simulated ones that the same test checks on every CPU.  The 512-bit GEMM
 * runs only under the avx512 path, so that BACKPROP_ISA=avx2 keeps int8 off
 * zmm registers as it does float32. */
static enum int8_gemm int8_gemm(void)
{
    if (simulate_amx)
        return GEMM_AMX_INT8_SIMULATED;
    const char *isa = bpk_isa();
    if (!strcmp(isa, "portable"))
        return GEMM_PORTABLE;
    enum int8_gemm cap = int8_cap();
    /* AMX-INT8 only on request (it has never run on AMX hardware:
     * int8_amx.c), and where the 512-bit GEMM could run too, so that
     * BACKPROP_ISA=avx2 and BACKPROP_INT8 below vnni turn it off as they
     * turn off AVX-512 (every AMX CPU has AVX512-VNNI). */
    if (cap >= GEMM_AVX512_VNNI && !strcmp(isa, "avx512") && bpk_int8_amx_enabled())
        return GEMM_AMX_INT8;
    if (cap >= GEMM_AVX512_VNNI && !strcmp(isa, "avx512") && bpk_int8_vnni_supported())
        return GEMM_AVX512_VNNI;
    if (cap >= GEMM_AVX_VNNI && bpk_int8_avxvnni_supported())
        return GEMM_AVX_VNNI;
    return GEMM_AVX2;
}

static int use_avx2(void) { return strcmp(bpk_isa(), "portable") != 0; }

const char *bpk_int8_path(void)
{
    static const char *const name[] = {"portable",    "avx2",     "avx_vnni",
                                       "avx512_vnni", "amx_int8", "amx_int8_simulated"};
    return name[int8_gemm()];
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
    enum int8_gemm g = int8_gemm();
    if (g == GEMM_AMX_INT8 && bpk_gemm_s8_amx(M, N, K, A, lda, B, ldb, panels, C, ldc) == 0)
        return;
    if (g == GEMM_AMX_INT8_SIMULATED &&
        bpk_gemm_s8_amx_simulated(M, N, K, A, lda, B, ldb, panels, C, ldc) == 0)
        return;
    if (g == GEMM_AVX512_VNNI && bpk_gemm_s8_vnni(M, N, K, A, lda, B, ldb, panels, C, ldc) == 0)
        return;
    if (g == GEMM_AVX_VNNI && bpk_gemm_s8_avxvnni(M, N, K, A, lda, B, ldb, panels, C, ldc) == 0)
        return;
    /* the simulation runs on any CPU, and so must its fallback */
    if (g == GEMM_PORTABLE || g == GEMM_AMX_INT8_SIMULATED)
        bpk_gemm_s8_portable(M, N, K, A, lda, B, ldb, C, ldc);
    else
        bpk_gemm_s8_avx2(M, N, K, A, lda, B, ldb, C, ldc);
}
