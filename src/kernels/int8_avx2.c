/* int8 kernels on AVX2 (int8.h): int8 sign-extended to int16, vpmaddwd
 * multiplies pairs and adds them into int32 lanes — exact, so the integers
 * are the portable path's.  Without VNNI there is no int8 dot product: the
 * GEMM widens both operands once per call into zero-padded int16 copies, so
 * its inner loop is plain loads folded into vpmaddwd. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "int8.h"

void bpk_quantize_s8_avx2(const float *x, size_t n, float inv_scale, int zero, int8_t *q)
{
    const __m256 s = _mm256_set1_ps(inv_scale), lo = _mm256_set1_ps(zero ? 0.0f : -127.0f),
                 hi = _mm256_set1_ps(zero ? 254.0f : 127.0f);
    const __m256i z = _mm256_set1_epi32(zero);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        /* max_ps returns its second operand when the first is NaN: the low end */
        __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), lo), hi);
        /* round half to even (MXCSR default), then the zero point */
        __m256i w = _mm256_sub_epi32(_mm256_cvtps_epi32(v), z);
        __m128i p = _mm_packs_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packs_epi16(p, p));
    }
    if (i < n)
        bpk_quantize_s8_portable(x + i, n - i, inv_scale, zero, q + i);
}

/* The portable arithmetic eight columns at a time: the int32 addition, one
 * conversion (round to nearest, as (float) is) and one multiply per value,
 * so the floats are the same bits. */
void bpk_dequantize_s32_avx2(const int32_t *C, int ldc, int M, int N, const int32_t *corr,
                             const float *col_scale, float *out, int ldo)
{
    for (int i = 0; i < M; i++) {
        const int32_t *c = C + (size_t)i * (size_t)ldc;
        float *o = out + (size_t)i * (size_t)ldo;
        int j = 0;
        for (; j + 8 <= N; j += 8) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(c + j));
            if (corr)
                v = _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i *)(corr + j)));
            _mm256_storeu_ps(o + j,
                             _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_loadu_ps(col_scale + j)));
        }
        if (j < N)
            bpk_dequantize_s32_portable(c + j, ldc, 1, N - j, corr ? corr + j : NULL,
                                        col_scale + j, o + j, ldo);
    }
}

static inline __m256i load16(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

static inline int32_t hsum(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

static int32_t dot_tail(const int8_t *a, const int8_t *b, int k0, int K)
{
    int32_t sum = 0;
    for (int k = k0; k < K; k++)
        sum += (int32_t)a[k] * (int32_t)b[k];
    return sum;
}

/* One row of A against one row of B. */
static int32_t dot1(const int8_t *a, const int8_t *b, int K)
{
    __m256i acc = _mm256_setzero_si256();
    int k = 0;
    for (; k + 16 <= K; k += 16)
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(load16(a + k), load16(b + k)));
    return hsum(acc) + dot_tail(a, b, k, K);
}

/* Rows i..i+3 of A against rows j, j+1 of B: each widened load feeds two or
 * four multiplies. */
static void block4x2(int K, const int8_t *A, int lda, const int8_t *B, int ldb, int32_t *C,
                     int ldc)
{
    const int8_t *a0 = A, *a1 = A + lda, *a2 = A + 2 * (size_t)lda, *a3 = A + 3 * (size_t)lda;
    const int8_t *b0 = B, *b1 = B + ldb;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
            c21 = c00, c30 = c00, c31 = c00;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256i w0 = load16(b0 + k), w1 = load16(b1 + k), x;
        x = load16(a0 + k);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, w0));
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, w1));
        x = load16(a1 + k);
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, w0));
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, w1));
        x = load16(a2 + k);
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, w0));
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, w1));
        x = load16(a3 + k);
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, w0));
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, w1));
    }
    C[0] = hsum(c00) + dot_tail(a0, b0, k, K);
    C[1] = hsum(c01) + dot_tail(a0, b1, k, K);
    C[ldc] = hsum(c10) + dot_tail(a1, b0, k, K);
    C[ldc + 1] = hsum(c11) + dot_tail(a1, b1, k, K);
    C[2 * (size_t)ldc] = hsum(c20) + dot_tail(a2, b0, k, K);
    C[2 * (size_t)ldc + 1] = hsum(c21) + dot_tail(a2, b1, k, K);
    C[3 * (size_t)ldc] = hsum(c30) + dot_tail(a3, b0, k, K);
    C[3 * (size_t)ldc + 1] = hsum(c31) + dot_tail(a3, b1, k, K);
}

/* The same product, widening as it loads (no memory needed). */
static void gemm_widening(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                          int ldb, int32_t *C, int ldc)
{
    int j = 0;
    for (; j + 2 <= N; j += 2) {
        const int8_t *b = B + (size_t)j * (size_t)ldb;
        int i = 0;
        for (; i + 4 <= M; i += 4)
            block4x2(K, A + (size_t)i * (size_t)lda, lda, b, ldb,
                     C + (size_t)i * (size_t)ldc + (size_t)j, ldc);
        for (; i < M; i++) {
            const int8_t *a = A + (size_t)i * (size_t)lda;
            C[(size_t)i * (size_t)ldc + (size_t)j] = dot1(a, b, K);
            C[(size_t)i * (size_t)ldc + (size_t)j + 1] = dot1(a, b + ldb, K);
        }
    }
    for (; j < N; j++)
        for (int i = 0; i < M; i++)
            C[(size_t)i * (size_t)ldc + (size_t)j] =
                dot1(A + (size_t)i * (size_t)lda, B + (size_t)j * (size_t)ldb, K);
}

/* rows × K int8 → rows × Kp int16, zeros after K (they add nothing). */
static void widen(const int8_t *X, int ld, int rows, int K, int Kp, int16_t *out)
{
    for (int r = 0; r < rows; r++) {
        const int8_t *x = X + (size_t)r * (size_t)ld;
        int16_t *o = out + (size_t)r * (size_t)Kp;
        int k = 0;
        for (; k + 16 <= K; k += 16)
            _mm256_store_si256((__m256i *)(o + k), load16(x + k));
        for (; k < K; k++)
            o[k] = x[k];
        for (; k < Kp; k++)
            o[k] = 0;
    }
}

static inline __m256i ld(const int16_t *p) { return _mm256_load_si256((const __m256i *)p); }
#define MADD(c, a, b) c = _mm256_add_epi32(c, _mm256_madd_epi16(a, b))

/* Rows i..i+3 of a16 against rows j..j+2 of b16 (Kp a multiple of 16). */
static void block4x3(int Kp, const int16_t *a, const int16_t *b, int32_t *C, int ldc)
{
    const size_t s = (size_t)Kp;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c10 = c00, c11 = c00,
            c12 = c00, c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    for (int k = 0; k < Kp; k += 16) {
        __m256i w0 = ld(b + k), w1 = ld(b + s + k), w2 = ld(b + 2 * s + k), x;
        x = ld(a + k);
        MADD(c00, x, w0); MADD(c01, x, w1); MADD(c02, x, w2);
        x = ld(a + s + k);
        MADD(c10, x, w0); MADD(c11, x, w1); MADD(c12, x, w2);
        x = ld(a + 2 * s + k);
        MADD(c20, x, w0); MADD(c21, x, w1); MADD(c22, x, w2);
        x = ld(a + 3 * s + k);
        MADD(c30, x, w0); MADD(c31, x, w1); MADD(c32, x, w2);
    }
    int32_t *c = C;
    c[0] = hsum(c00), c[1] = hsum(c01), c[2] = hsum(c02);
    c += ldc;
    c[0] = hsum(c10), c[1] = hsum(c11), c[2] = hsum(c12);
    c += ldc;
    c[0] = hsum(c20), c[1] = hsum(c21), c[2] = hsum(c22);
    c += ldc;
    c[0] = hsum(c30), c[1] = hsum(c31), c[2] = hsum(c32);
}

static int32_t dot16(int Kp, const int16_t *a, const int16_t *b)
{
    __m256i c = _mm256_setzero_si256();
    for (int k = 0; k < Kp; k += 16)
        MADD(c, ld(a + k), ld(b + k));
    return hsum(c);
}

void bpk_gemm_s8_avx2(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                      int32_t *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    size_t Kp = ((size_t)K + 15) & ~(size_t)15;
    int16_t *a16 = Kp ? aligned_alloc(32, (size_t)M * Kp * 2) : NULL;
    int16_t *b16 = Kp ? aligned_alloc(32, (size_t)N * Kp * 2) : NULL;
    if (!a16 || !b16) { /* out of memory (or K 0): the path that needs none */
        free(a16);
        free(b16);
        gemm_widening(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    widen(A, lda, M, K, (int)Kp, a16);
    widen(B, ldb, N, K, (int)Kp, b16);
    int j = 0;
    for (; j + 3 <= N; j += 3) {
        const int16_t *b = b16 + (size_t)j * Kp;
        int i = 0;
        for (; i + 4 <= M; i += 4)
            block4x3((int)Kp, a16 + (size_t)i * Kp, b, C + (size_t)i * (size_t)ldc + (size_t)j,
                     ldc);
        for (; i < M; i++)
            for (int jj = j; jj < j + 3; jj++)
                C[(size_t)i * (size_t)ldc + (size_t)jj] =
                    dot16((int)Kp, a16 + (size_t)i * Kp, b16 + (size_t)jj * Kp);
    }
    for (; j < N; j++)
        for (int i = 0; i < M; i++)
            C[(size_t)i * (size_t)ldc + (size_t)j] =
                dot16((int)Kp, a16 + (size_t)i * Kp, b16 + (size_t)j * Kp);
    free(a16);
    free(b16);
}
