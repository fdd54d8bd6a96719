/*
 * row_out_avx512.h — the epilogue the AVX-512 micro-kernels share (the
 * VDPBF16PS kernel in cpu_avx512.c, the AMX one in amx.c): a row of 32
 * results x0, x1 into C, for its first nr columns.  Include after
 * <immintrin.h>; the target attribute lets a caller compiled for a
 * superset (amx.c's AMX functions) inline it.
 */
#ifndef BP_KERNELS_ROW_OUT_AVX512_H
#define BP_KERNELS_ROW_OUT_AVX512_H

/* C row = alpha·x (beta == 0: C not read), else alpha·x + beta·C, fused. */
__attribute__((target("avx512f"))) static inline void
bpk_row_out_avx512(float *cr, __m512 x0, __m512 x1, int nr, float alpha, float beta)
{
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF
                       : nr <= 16 ? (__mmask16)0
                                  : (__mmask16)((1u << (nr - 16)) - 1u);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    if (beta == 0.0f) {
        x0 = _mm512_mul_ps(va, x0);
        x1 = _mm512_mul_ps(va, x1);
    } else {
        x0 = _mm512_fmadd_ps(va, x0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, cr)));
        x1 = _mm512_fmadd_ps(va, x1, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16)));
    }
    _mm512_mask_storeu_ps(cr, m0, x0);
    _mm512_mask_storeu_ps(cr + 16, m1, x1);
}

#endif /* BP_KERNELS_ROW_OUT_AVX512_H */
