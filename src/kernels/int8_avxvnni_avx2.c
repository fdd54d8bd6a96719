/* int8 GEMM on AVX-VNNI (the VEX-encoded 256-bit VPDPBUSD): int8_vnni.h over
 * ymm intrinsics, a 6 × 16 micro-tile.  Compiled with the AVX2 flags; VNNI
 * is enabled per function by its target attribute, and the function is
 * called only where cpuid reports avx_vnni (int8.c). */
#include <immintrin.h>
#include <string.h>

#include "int8.h"

#define VNNI_ATTR __attribute__((target("avxvnni")))
#define VNNI_LANES 8
#define VNNI_MR 6
typedef __m256i ivec;
#define ivec_zero() _mm256_setzero_si256()
#define ivec_load(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define ivec_bcast(x) _mm256_set1_epi32((int)(x))
/* The _avx spelling is the VEX form; _mm256_dpbusd_epi32 is the EVEX one
 * (AVX512-VNNI + VL), which CPUs with only AVX-VNNI lack. */
#define ivec_dpbusd(acc, u, s) _mm256_dpbusd_avx_epi32((acc), (u), (s))
/* AVX2 has no mask registers: a partial tile stores through vpmaskmovd, its
 * lanes i < n selected by a compare, so it writes only its own columns. */
static inline void ivec_store_sub(int32_t *c, __m256i v, const uint32_t *off, int n)
{
    __m256i d = _mm256_sub_epi32(v, _mm256_loadu_si256((const __m256i *)(const void *)off));
    if (n >= 8) {
        _mm256_storeu_si256((__m256i *)(void *)c, d);
        return;
    }
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_epi32((int *)c, m, d);
}
#define VNNI_GEMM gemm_s8_avxvnni
#include "int8_vnni.h"

int bpk_gemm_s8_avxvnni(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                        const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    return gemm_s8_avxvnni(M, N, K, A, lda, B, ldb, panels, C, ldc);
}
