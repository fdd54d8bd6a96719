/*
 * AVX-512 path of the CPU backend (compiled with -mavx512f/vl/bw/dq; chosen
 * at run time only when cpuid reports them).  Only the GEMM micro-kernel
 * needs the wider registers; packing and the element-wise ops are the AVX2
 * ones (every AVX-512 CPU has AVX2 + FMA), wired up in isa.c.
 *
 * Micro-kernel 8×32: 16 zmm accumulators, two B loads and eight broadcasts
 * of A per k.  Edge tiles use write masks.
 */
#include <immintrin.h>

#include "cpu_internal.h"

#define MR 8
#define NR 32

static void kernel_avx512(int kc, const float *a, const float *b, float *C, size_t ldc, int mr,
                          int nr, float alpha, float beta)
{
    __m512 c0[MR], c1[MR];
    for (int r = 0; r < MR; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int r = 0; r < mr; r++)
        _mm_prefetch((const char *)(C + (size_t)r * ldc), _MM_HINT_T0);

#define STEP(K_)                                                                            \
    do {                                                                                    \
        __m512 b0 = _mm512_load_ps(b + (K_) * NR), b1 = _mm512_load_ps(b + (K_) * NR + 16); \
        for (int r = 0; r < MR; r++) {                                                      \
            __m512 av = _mm512_set1_ps(a[(K_) * MR + r]);                                   \
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                                         \
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);                                         \
        }                                                                                   \
    } while (0)

    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        a += 4 * MR;
        b += 4 * NR;
    }
    for (; k < kc; k++) {
        STEP(0);
        a += MR;
        b += NR;
    }
#undef STEP

    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF
                 : nr <= 16 ? (__mmask16)0
                            : (__mmask16)((1u << (nr - 16)) - 1u);
    for (int r = 0; r < mr; r++) {
        float *cr = C + (size_t)r * ldc;
        __m512 x0, x1;
        if (beta == 0.0f) {
            x0 = _mm512_mul_ps(va, c0[r]);
            x1 = _mm512_mul_ps(va, c1[r]);
        } else {
            x0 = _mm512_fmadd_ps(va, c0[r], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, cr)));
            x1 = _mm512_fmadd_ps(va, c1[r], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16)));
        }
        _mm512_mask_storeu_ps(cr, m0, x0);
        _mm512_mask_storeu_ps(cr + 16, m1, x1);
    }
}

void bpk_avx512_gemm(bpk_impl *impl)
{
    impl->name = "avx512";
    impl->mr = MR;
    impl->nr = NR;
    impl->kc = 384;
    impl->mc = 192;
    impl->nc = 3072;
    impl->kernel = kernel_avx512;
}
