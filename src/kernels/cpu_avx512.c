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
#include "row_out_avx512.h"
#include "transpose8.h"

#define MR 8
#define NR 32

static void kernel_avx512(int kc, const float *a, const float *b, float *C, size_t ldc, int mr,
                          int nr, float alpha, float beta)
{
    /* Sixteen named accumulators (an array indexed in a loop may stay in memory). */
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int r = 0; r < mr; r++)
        _mm_prefetch((const char *)(C + (size_t)r * ldc), _MM_HINT_T0);

#define ROWFMA(K_, R_, X0, X1)                                                              \
    do {                                                                                    \
        __m512 av = _mm512_set1_ps(a[(K_) * MR + (R_)]);                                    \
        X0 = _mm512_fmadd_ps(av, b0, X0);                                                   \
        X1 = _mm512_fmadd_ps(av, b1, X1);                                                   \
    } while (0)
#define STEP(K_)                                                                            \
    do {                                                                                    \
        __m512 b0 = _mm512_load_ps(b + (K_) * NR), b1 = _mm512_load_ps(b + (K_) * NR + 16); \
        ROWFMA(K_, 0, c00, c01);                                                            \
        ROWFMA(K_, 1, c10, c11);                                                            \
        ROWFMA(K_, 2, c20, c21);                                                            \
        ROWFMA(K_, 3, c30, c31);                                                            \
        ROWFMA(K_, 4, c40, c41);                                                            \
        ROWFMA(K_, 5, c50, c51);                                                            \
        ROWFMA(K_, 6, c60, c61);                                                            \
        ROWFMA(K_, 7, c70, c71);                                                            \
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
#undef ROWFMA

    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF
                       : nr <= 16 ? (__mmask16)0
                                  : (__mmask16)((1u << (nr - 16)) - 1u);
    /* C = alpha·acc (beta == 0: C not read), else alpha·acc + beta·C, fused. */
#define ROWOUT(R_, X0, X1)                                                                  \
    do {                                                                                    \
        if ((R_) < mr) {                                                                    \
            float *cr = C + (size_t)(R_) * ldc;                                             \
            __m512 x0, x1;                                                                  \
            if (beta == 0.0f) {                                                             \
                x0 = _mm512_mul_ps(va, X0);                                                 \
                x1 = _mm512_mul_ps(va, X1);                                                 \
            } else {                                                                        \
                x0 = _mm512_fmadd_ps(va, X0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, cr))); \
                x1 = _mm512_fmadd_ps(va, X1,                                                \
                                     _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16)));\
            }                                                                               \
            _mm512_mask_storeu_ps(cr, m0, x0);                                              \
            _mm512_mask_storeu_ps(cr + 16, m1, x1);                                         \
        }                                                                                   \
    } while (0)
    ROWOUT(0, c00, c01);
    ROWOUT(1, c10, c11);
    ROWOUT(2, c20, c21);
    ROWOUT(3, c30, c31);
    ROWOUT(4, c40, c41);
    ROWOUT(5, c50, c51);
    ROWOUT(6, c60, c61);
    ROWOUT(7, c70, c71);
#undef ROWOUT
}

void bpk_avx512_gemm(bpk_impl *impl)
{
    impl->name = "avx512";
    impl->mr = MR;
    impl->nr = NR;
    /* B micro-panel kc·32 floats (24 KiB) stays in L1 while A panels stream from L2. */
    impl->kc = 192;
    impl->mc = 192;
    impl->nc = 2048;
    impl->kernel = kernel_avx512;
}

/* ---- bf16: VDPBF16PS (AVX512-BF16), the kernel of bf16_kernel.h --------------
 * Compiled for AVX512-BF16 by its target attribute; called only where cpuid
 * reports avx512_bf16 (isa.c).  Its loops are the ones bf16.c runs over plain C
 * arrays on every machine; what only such a CPU tests is the mapping of the four
 * operations below onto intrinsics. */
#define BF16_ATTR __attribute__((target("avx512bf16")))
typedef __m512 bvec;
typedef __m512bh bpair;
#define bf16_zero() _mm512_setzero_ps()
#define bf16_load(p) ((__m512bh)_mm512_loadu_si512((const void *)(p)))
#define bf16_bcast(x) ((__m512bh)_mm512_set1_epi32((int)(x)))
#define bf16_dot(acc, a, b) _mm512_dpbf16_ps((acc), (a), (b))

/* The epilogue of kernel_avx512, shared with amx.c (row_out_avx512.h). */
#define bf16_row_out bpk_row_out_avx512

#define BF16_KERNEL kernel_bf16_avx512
#include "bf16_kernel.h"

const bpk_bf16_kernel_fn bpk_bf16_kernel_avx512 = kernel_bf16_avx512;

/* ---- bf16 pair packing: bpk_bf16_pack_pairs in one pass -------------------
 * VCVTNEPS2BF16 rounds as bpk_bf16_from_float does (nearest even, denormals
 * to zero, NaN quieted); 16 floats in a row of k become 8 pair words, the
 * even k in the low half (little-endian order). */
BF16_ATTR static inline __m256i bf16_words(__m512 x) { return (__m256i)_mm512_cvtneps_pbh(x); }
static inline __mmask16 first_lanes(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* Eight whole rows r0, r0 + ld, … (16 floats each along k) into 8 pair rows
 * of a panel of width w (d: the first pair row's first of these 8 words).
 * VCVTNE2PS2BF16 converts two rows into one register, r and r + 4 in its
 * 256-bit halves, so an 8×8 transpose of words needs only in-lane unpacks
 * and one lane shuffle per two pairs (the modern net's first weight
 * matrix: 41.6 → 35 µs on Zen 5). */
BF16_ATTR static inline void pack_pairs_8x16(const float *r0, size_t ld, uint32_t *d, int w)
{
    __m512i z[4];
    for (int r = 0; r < 4; r++)
        z[r] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(r0 + (size_t)(r + 4) * ld),
                                            _mm512_loadu_ps(r0 + (size_t)r * ld));
    /* z[r], per 128-bit lane: row r's pairs 0–3, 4–7, row r + 4's 0–3, 4–7 */
    __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    __m512i u[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                    _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};
    /* u[j], per lane: pair j of rows 0–3, pair j + 4 of rows 0–3, then the
     * same of rows 4–7; lanes 0, 2, 1, 3 make pair j's 8 rows, then j + 4's. */
    for (int j = 0; j < 4; j++) {
        __m512i v = _mm512_shuffle_i64x2(u[j], u[j], _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(d + (size_t)j * (size_t)w), _mm512_castsi512_si256(v));
        _mm256_storeu_si256((__m256i *)(d + (size_t)(j + 4) * (size_t)w),
                            _mm512_extracti64x4_epi64(v, 1));
    }
}

/* Rows along k (element (r, k) at src[r·ld + k]): per 8 rows and 16 k, each
 * row's 8 pair words, then an 8×8 transpose puts each pair's 8 rows together
 * (pack_pairs_8x16 for whole blocks). */
BF16_ATTR static void pack_pairs_kcontig(int w, const float *src, size_t ld, int n, int kc,
                                         uint32_t *dst)
{
    for (int r0 = 0; r0 < w; r0 += 8) {
        int nr = n - r0 < 8 ? (n - r0 > 0 ? n - r0 : 0) : 8;
        int k = 0;
        if (nr == 8)
            for (; k + 16 <= kc; k += 16)
                pack_pairs_8x16(src + (size_t)r0 * ld + k, ld, dst + (size_t)(k / 2) * (size_t)w + r0,
                                w);
        for (; k < kc; k += 16) {
            __mmask16 mk = first_lanes(kc - k);
            __m256 v[8];
            for (int r = 0; r < 8; r++) {
                const float *row = src + (size_t)(r0 + r) * ld + k;
                v[r] = r < nr ? (__m256)bf16_words(_mm512_maskz_loadu_ps(mk, row))
                              : _mm256_setzero_ps();
            }
            transpose8(v);
            int pairs = (kc - k + 1) / 2 < 8 ? (kc - k + 1) / 2 : 8;
            for (int j = 0; j < pairs; j++)
                _mm256_storeu_ps((float *)(dst + (size_t)(k / 2 + j) * (size_t)w + r0), v[j]);
        }
    }
}

/* Rows along r (element (r, k) at src[k·ld + r]): two k rows make one row of
 * pairs, 16 (or the last 8) lanes at a time. */
BF16_ATTR static void pack_pairs_rowwise(int w, const float *src, size_t ld, int n, int kc,
                                         uint32_t *dst)
{
    for (int p = 0; p < (kc + 1) / 2; p++) {
        const float *lo = src + (size_t)(2 * p) * ld, *hi = 2 * p + 1 < kc ? lo + ld : NULL;
        for (int r = 0; r < w; r += 16) {
            __mmask16 m = first_lanes(n - r);
            __m512i l = _mm512_cvtepu16_epi32(bf16_words(_mm512_maskz_loadu_ps(m, lo + r)));
            __m512i h = hi ? _mm512_cvtepu16_epi32(bf16_words(_mm512_maskz_loadu_ps(m, hi + r)))
                           : _mm512_setzero_si512();
            __m512i words = _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
            if (w - r >= 16)
                _mm512_storeu_si512((void *)(dst + (size_t)p * (size_t)w + r), words);
            else
                _mm256_storeu_si256((__m256i *)(dst + (size_t)p * (size_t)w + r),
                                    _mm512_castsi512_si256(words));
        }
    }
}

/* As bpk_pack_fn, into bf16 pairs: dst[panel][kc/2 rounded up][w] words, the
 * last panel zero-padded; w must be a multiple of 8 (the kernel's 8 and 32
 * are).  The same words as im->pack followed by bf16.c's fold. */
BF16_ATTR int bpk_bf16_pack_avx512(int w, int kcontig, const float *src, size_t ld, int rows,
                                   int kc, uint32_t *dst)
{
    if (w % 8 != 0)
        return 0;
    size_t panel = (size_t)w * (size_t)((kc + 1) / 2);
    for (int p = 0; p < rows; p += w, dst += panel) {
        int n = rows - p < w ? rows - p : w;
        if (kcontig)
            pack_pairs_kcontig(w, src + (size_t)p * ld, ld, n, kc, dst);
        else
            pack_pairs_rowwise(w, src + p, ld, n, kc, dst);
    }
    return 1;
}
