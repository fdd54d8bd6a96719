/* int8 GEMM on AVX512-VNNI (VPDPBUSD): int8_vnni.h over intrinsics.  Compiled
 * with the AVX-512 flags; VNNI is enabled per function by its target
 * attribute, and the function is called only where cpuid reports
 * avx512_vnni (int8.c). */
#include <immintrin.h>
#include <string.h>

#include "int8.h"

#define VNNI_ATTR __attribute__((target("avx512vnni")))
typedef __m512i ivec;
#define ivec_zero() _mm512_setzero_si512()
#define ivec_load(p) _mm512_loadu_si512((const void *)(p))
#define ivec_dpbusd(acc, u, s) _mm512_dpbusd_epi32((acc), (u), (s))
static inline uint32_t ivec_hsum(__m512i v) { return (uint32_t)_mm512_reduce_add_epi32(v); }
#define VNNI_GEMM gemm_s8_vnni
#include "int8_vnni.h"

int bpk_gemm_s8_vnni(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                     int32_t *C, int ldc)
{
    return gemm_s8_vnni(M, N, K, A, lda, B, ldb, C, ldc);
}
