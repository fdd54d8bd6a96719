/* int8 GEMM on AVX512-VNNI (VPDPBUSD): int8_vnni.h over intrinsics.  Compiled
 * with the AVX-512 flags; VNNI is enabled per function by its target
 * attribute, and the function is called only where cpuid reports
 * avx512_vnni (int8.c). */
#include <immintrin.h>
#include <string.h>

#include "int8.h"

#define VNNI_ATTR __attribute__((target("avx512vnni")))
#define VNNI_LANES 16
#define VNNI_MR 8
typedef __m512i ivec;
#define ivec_zero() _mm512_setzero_si512()
#define ivec_load(p) _mm512_loadu_si512((const void *)(p))
#define ivec_bcast(x) _mm512_set1_epi32((int)(x))
#define ivec_dpbusd(acc, u, s) _mm512_dpbusd_epi32((acc), (u), (s))
/* Masked, so a partial panel writes only its own columns of C. */
static inline void ivec_store_sub(int32_t *c, __m512i v, const uint32_t *off, int n)
{
    __mmask16 m = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
    _mm512_mask_storeu_epi32(c, m, _mm512_sub_epi32(v, _mm512_loadu_si512((const void *)off)));
}
#define VNNI_GEMM gemm_s8_vnni
#include "int8_vnni.h"

int bpk_gemm_s8_vnni(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                     const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    return gemm_s8_vnni(M, N, K, A, lda, B, ldb, panels, C, ldc);
}
