/*
 * AVX2 + FMA path of the CPU backend (compiled with -mavx2 -mfma; chosen at
 * run time only when cpuid reports both).
 *
 * GEMM micro-kernel 6×16: 12 ymm accumulators, two B loads and six
 * broadcasts of A per k.  Packing transposes 8×8 blocks in registers.
 * exp is a Cody–Waite reduction to |r| ≤ ln2/2 and a degree-7 Taylor
 * polynomial (truncation < 1e-8 relative; ≈ 1 ulp with rounding).
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "cpu_internal.h"
#include "transpose8.h"

#define MR 6
#define NR 16

/* Lanes [0, n) set (n clamped to 0..8). */
static inline __m256i lane_mask(int n)
{
    static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}

/* ---- GEMM micro-kernel ------------------------------------------------------ */

static inline __m256 combine(__m256 acc, __m256 c, __m256 va, __m256 vb)
{
    return _mm256_fmadd_ps(va, acc, _mm256_mul_ps(vb, c));
}

static void kernel_avx2(int kc, const float *a, const float *b, float *C, size_t ldc, int mr,
                        int nr, float alpha, float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int r = 0; r < mr; r++)
        _mm_prefetch((const char *)(C + (size_t)r * ldc), _MM_HINT_T0);

#define STEP(K_)                                                                            \
    do {                                                                                    \
        __m256 b0 = _mm256_load_ps(b + (K_) * NR), b1 = _mm256_load_ps(b + (K_) * NR + 8);  \
        __m256 av = _mm256_broadcast_ss(a + (K_) * MR + 0);                                 \
        c00 = _mm256_fmadd_ps(av, b0, c00);                                                 \
        c01 = _mm256_fmadd_ps(av, b1, c01);                                                 \
        av = _mm256_broadcast_ss(a + (K_) * MR + 1);                                        \
        c10 = _mm256_fmadd_ps(av, b0, c10);                                                 \
        c11 = _mm256_fmadd_ps(av, b1, c11);                                                 \
        av = _mm256_broadcast_ss(a + (K_) * MR + 2);                                        \
        c20 = _mm256_fmadd_ps(av, b0, c20);                                                 \
        c21 = _mm256_fmadd_ps(av, b1, c21);                                                 \
        av = _mm256_broadcast_ss(a + (K_) * MR + 3);                                        \
        c30 = _mm256_fmadd_ps(av, b0, c30);                                                 \
        c31 = _mm256_fmadd_ps(av, b1, c31);                                                 \
        av = _mm256_broadcast_ss(a + (K_) * MR + 4);                                        \
        c40 = _mm256_fmadd_ps(av, b0, c40);                                                 \
        c41 = _mm256_fmadd_ps(av, b1, c41);                                                 \
        av = _mm256_broadcast_ss(a + (K_) * MR + 5);                                        \
        c50 = _mm256_fmadd_ps(av, b0, c50);                                                 \
        c51 = _mm256_fmadd_ps(av, b1, c51);                                                 \
    } while (0)

    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        _mm_prefetch((const char *)(b + 16 * NR), _MM_HINT_T0);
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

    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (mr == MR && nr == NR) {
#define ROW(R_, X0, X1)                                                                     \
    do {                                                                                    \
        float *cr = C + (size_t)(R_) * ldc;                                                 \
        if (beta == 0.0f) {                                                                 \
            _mm256_storeu_ps(cr, _mm256_mul_ps(va, X0));                                    \
            _mm256_storeu_ps(cr + 8, _mm256_mul_ps(va, X1));                                \
        } else {                                                                            \
            _mm256_storeu_ps(cr, combine(X0, _mm256_loadu_ps(cr), va, vb));                 \
            _mm256_storeu_ps(cr + 8, combine(X1, _mm256_loadu_ps(cr + 8), va, vb));         \
        }                                                                                   \
    } while (0)
        ROW(0, c00, c01);
        ROW(1, c10, c11);
        ROW(2, c20, c21);
        ROW(3, c30, c31);
        ROW(4, c40, c41);
        ROW(5, c50, c51);
#undef ROW
        return;
    }
    /* Edge tile: the same arithmetic, masked. */
    __m256 t[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
    for (int r = 0; r < mr; r++) {
        float *cr = C + (size_t)r * ldc;
        __m256 x0 = _mm256_mul_ps(va, t[r][0]), x1 = _mm256_mul_ps(va, t[r][1]);
        if (beta != 0.0f) {
            x0 = combine(t[r][0], _mm256_maskload_ps(cr, m0), va, vb);
            x1 = combine(t[r][1], _mm256_maskload_ps(cr + 8, m1), va, vb);
        }
        _mm256_maskstore_ps(cr, m0, x0);
        if (nr > 8)
            _mm256_maskstore_ps(cr + 8, m1, x1);
    }
}

/* ---- packing ------------------------------------------------------------------ */

/* Eight rows r0, r0 + ld, … (8 floats each, along k) into 8 k-rows of a
 * panel of width w (d: the first k-row's first of these 8 lanes).  The
 * transpose's cross-lane step is done by the loads: each register is filled
 * with rows r and r + 4 from two 128-bit loads, so only the in-lane unpacks
 * and shuffles remain (transpose8.h's permutes are gone: 60 → 42 µs for the
 * modern net's first weight matrix on Zen 5). */
static inline void pack_8x8_by_lanes(const float *r0, size_t ld, float *d, int w)
{
    __m256 v[8];
    for (int r = 0; r < 4; r++) {
        const float *a = r0 + (size_t)r * ld, *b = r0 + (size_t)(r + 4) * ld;
        v[r] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(a)), _mm_loadu_ps(b), 1);
        v[r + 4] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(a + 4)),
                                        _mm_loadu_ps(b + 4), 1);
    }
    /* v[r]: rows r | r + 4 at k 0..3; v[r + 4]: the same at k 4..7. */
    for (int h = 0; h < 2; h++) {
        const __m256 *q = v + 4 * h;
        __m256 t0 = _mm256_unpacklo_ps(q[0], q[1]), t1 = _mm256_unpackhi_ps(q[0], q[1]);
        __m256 t2 = _mm256_unpacklo_ps(q[2], q[3]), t3 = _mm256_unpackhi_ps(q[2], q[3]);
        float *dk = d + (size_t)(4 * h) * (size_t)w;
        _mm256_storeu_ps(dk, _mm256_shuffle_ps(t0, t2, 0x44));
        _mm256_storeu_ps(dk + w, _mm256_shuffle_ps(t0, t2, 0xEE));
        _mm256_storeu_ps(dk + 2 * w, _mm256_shuffle_ps(t1, t3, 0x44));
        _mm256_storeu_ps(dk + 3 * w, _mm256_shuffle_ps(t1, t3, 0xEE));
    }
}

/* Panels of width w: any w ≤ 8, or a multiple of 8 (8-float stores may run
 * past a k-row into the next one, which is written after, or into the slack).
 * Also serves the AVX-512 path. */
void bpk_pack_avx2(int w, int kcontig, const float *src, size_t ld, int rows, int kc,
                      float *dst)
{
    const int groups = (w + 7) / 8;
    for (int p = 0; p < rows; p += w, dst += (size_t)w * kc) {
        int n = rows - p < w ? rows - p : w;
        if (!kcontig) {
            const float *s = src + p;
            if (n == w && w % 8 == 0) {
                for (int k = 0; k < kc; k++, s += ld)
                    for (int g = 0; g < groups; g++)
                        _mm256_store_ps(dst + (size_t)k * w + 8 * g, _mm256_loadu_ps(s + 8 * g));
                continue;
            }
            __m256i m[4] = {lane_mask(n), lane_mask(n - 8), lane_mask(n - 16), lane_mask(n - 24)};
            for (int k = 0; k < kc; k++, s += ld)
                for (int g = 0; g < groups; g++)
                    _mm256_storeu_ps(dst + (size_t)k * w + 8 * g,
                                     _mm256_maskload_ps(s + 8 * g, m[g]));
            continue;
        }
        /* Rows contiguous along k: 8×8 transposes. */
        for (int g = 0; g < groups; g++) {
            int r0 = 8 * g, nr = n - r0 < 8 ? (n - r0 > 0 ? n - r0 : 0) : 8;
            const float *rowp[8];
            for (int r = 0; r < 8; r++)
                rowp[r] = r < nr ? src + (size_t)(p + r0 + r) * ld : NULL;
            int k = 0;
            if (nr == 8)
                for (; k + 8 <= kc; k += 8)
                    pack_8x8_by_lanes(rowp[0] + k, ld, dst + (size_t)k * w + r0, w);
            for (; k < kc; k += 8) {
                int kn = kc - k < 8 ? kc - k : 8;
                __m256 v[8];
                if (kn == 8) {
                    for (int r = 0; r < 8; r++)
                        v[r] = rowp[r] ? _mm256_loadu_ps(rowp[r] + k) : _mm256_setzero_ps();
                } else {
                    __m256i mk = lane_mask(kn);
                    for (int r = 0; r < 8; r++)
                        v[r] = rowp[r] ? _mm256_maskload_ps(rowp[r] + k, mk) : _mm256_setzero_ps();
                }
                transpose8(v);
                for (int kk = 0; kk < kn; kk++)
                    _mm256_storeu_ps(dst + (size_t)(k + kk) * w + r0, v[kk]);
            }
        }
    }
}

/* ---- exp and activations ----------------------------------------------------- */

static inline __m256 exp_avx2(__m256 x)
{
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f), ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    /* min/max return their second operand when one is NaN: NaN passes through. */
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, ln2_hi, x);
    r = _mm256_fnmadd_ps(n, ln2_lo, r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* 2^n as two normal powers so results down to the subnormals stay right. */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

static inline __m256 sigmoid_avx2(__m256 s)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), s));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

/* tanh: odd Taylor series to x^17 for |x| < 0.625 (truncation < 1e-7
 * relative), (e^{2|x|} − 1)/(e^{2|x|} + 1) with the sign of x beyond. */
static inline __m256 tanh_avx2(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    /* tanh(9.5) rounds to 1; the clamp keeps e finite (and lets NaN through). */
    __m256 axc = _mm256_min_ps(_mm256_set1_ps(9.5f), ax);
    __m256 e = exp_avx2(_mm256_add_ps(axc, axc));
    __m256 big = _mm256_div_ps(_mm256_sub_ps(e, one), _mm256_add_ps(e, one));
    big = _mm256_or_ps(big, _mm256_and_ps(x, sign));
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(6404582.0f / 10854718875.0f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-929569.0f / 638512875.0f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(21844.0f / 6081075.0f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-1382.0f / 155925.0f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(62.0f / 2835.0f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-17.0f / 315.0f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.0f / 15.0f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-1.0f / 3.0f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm256_blendv_ps(big, small, is_small);
}

static inline __m256 act_avx2(__m256 s, bp_activation act, __m256 slope)
{
    switch (act) {
    case BP_ACT_SIGMOID: return sigmoid_avx2(s);
    case BP_ACT_TANH: return tanh_avx2(s);
    case BP_ACT_RELU: return _mm256_max_ps(s, _mm256_setzero_ps());
    case BP_ACT_LEAKY_RELU: {
        __m256 pos = _mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_GT_OQ);
        return _mm256_blendv_ps(_mm256_mul_ps(s, slope), s, pos);
    }
    default: return s;
    }
}

/* Tails go through the same vector code (masked), so every element's result
 * is independent of its position. */
static void bias_act_row_avx2(float *s, float *a, int cols, const float *bias, bp_activation act,
                              float slope)
{
    __m256 vs = _mm256_set1_ps(slope);
    for (int j = 0; j < cols; j += 8) {
        int n = cols - j;
        if (n >= 8) {
            __m256 x = _mm256_loadu_ps(s + j);
            if (bias) {
                x = _mm256_add_ps(x, _mm256_loadu_ps(bias + j));
                _mm256_storeu_ps(s + j, x);
            }
            _mm256_storeu_ps(a + j, act_avx2(x, act, vs));
        } else {
            __m256i m = lane_mask(n);
            __m256 x = _mm256_maskload_ps(s + j, m);
            if (bias) {
                x = _mm256_add_ps(x, _mm256_maskload_ps(bias + j, m));
                _mm256_maskstore_ps(s + j, m, x);
            }
            _mm256_maskstore_ps(a + j, m, act_avx2(x, act, vs));
        }
    }
}

static inline float hmax(__m256 v)
{
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

/* Fixed-order horizontal sum: (l0+l4)+(l1+l5) … as a tree. */
static inline float hsum(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

static void softmax_row_avx2(float *s, float *a, int cols, const float *bias)
{
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int j = 0; j < cols; j += 8) {
        __m256i m = lane_mask(cols - j);
        __m256 x = _mm256_maskload_ps(s + j, m);
        if (bias) {
            x = _mm256_add_ps(x, _mm256_maskload_ps(bias + j, m));
            _mm256_maskstore_ps(s + j, m, x);
        }
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), x, _mm256_castsi256_ps(m)));
    }
    __m256 mx = _mm256_set1_ps(hmax(vmax)), vsum = _mm256_setzero_ps();
    for (int j = 0; j < cols; j += 8) {
        __m256i m = lane_mask(cols - j);
        __m256 e = exp_avx2(_mm256_sub_ps(_mm256_maskload_ps(s + j, m), mx));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(a + j, m, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    __m256 inv = _mm256_set1_ps(1.0f / hsum(vsum));
    for (int j = 0; j < cols; j += 8) {
        __m256i m = lane_mask(cols - j);
        _mm256_maskstore_ps(a + j, m, _mm256_mul_ps(_mm256_maskload_ps(a + j, m), inv));
    }
}

static inline __m256 deriv_avx2(__m256 s, __m256 a, bp_activation act, __m256 slope)
{
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    switch (act) {
    case BP_ACT_SIGMOID: return _mm256_mul_ps(a, _mm256_sub_ps(one, a));
    case BP_ACT_TANH: return _mm256_sub_ps(one, _mm256_mul_ps(a, a));
    case BP_ACT_RELU: return _mm256_and_ps(one, _mm256_cmp_ps(s, zero, _CMP_GT_OQ));
    case BP_ACT_LEAKY_RELU: return _mm256_blendv_ps(slope, one, _mm256_cmp_ps(s, zero, _CMP_GT_OQ));
    default: return one;
    }
}

static void act_backward_avx2(float *delta, const float *s, const float *a, size_t n,
                              bp_activation act, float slope)
{
    if (act == BP_ACT_LINEAR || act == BP_ACT_SOFTMAX)
        return;
    int uses_a = act == BP_ACT_SIGMOID || act == BP_ACT_TANH;
    __m256 vs = _mm256_set1_ps(slope);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 sv = uses_a ? _mm256_setzero_ps() : _mm256_loadu_ps(s + i);
        __m256 av = uses_a ? _mm256_loadu_ps(a + i) : _mm256_setzero_ps();
        _mm256_storeu_ps(delta + i, _mm256_mul_ps(_mm256_loadu_ps(delta + i), deriv_avx2(sv, av, act, vs)));
    }
    for (; i < n; i++)
        delta[i] *= bpk_act_deriv_scalar(act, uses_a ? 0.0f : s[i], uses_a ? a[i] : 0.0f, slope);
}

static void col_sum_avx2(const float *X, size_t ld, int rows, int cols, float scale, float *out)
{
    __m256 vs = _mm256_set1_ps(scale);
    int j = 0;
    for (; j + 32 <= cols; j += 32) {
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int i = 0; i < rows; i++) {
            const float *x = X + (size_t)i * ld + j;
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + 8));
            s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + 16));
            s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + 24));
        }
        _mm256_storeu_ps(out + j, _mm256_mul_ps(s0, vs));
        _mm256_storeu_ps(out + j + 8, _mm256_mul_ps(s1, vs));
        _mm256_storeu_ps(out + j + 16, _mm256_mul_ps(s2, vs));
        _mm256_storeu_ps(out + j + 24, _mm256_mul_ps(s3, vs));
    }
    for (; j < cols; j += 8) {
        __m256i m = lane_mask(cols - j);
        __m256 s0 = _mm256_setzero_ps();
        for (int i = 0; i < rows; i++)
            s0 = _mm256_add_ps(s0, _mm256_maskload_ps(X + (size_t)i * ld + j, m));
        _mm256_maskstore_ps(out + j, m, _mm256_mul_ps(s0, vs));
    }
}

/* ---- batch 1 ------------------------------------------------------------------ */

/* Dot product of one row: two accumulators over 8-float steps (even, odd),
 * a masked tail into the first, a fixed-order reduction.  Used by sgemv and
 * sger_sgemv alike, so both give the same bits. */
static inline float dot_row(const float *w, const float *x, int K)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 8), _mm256_loadu_ps(x + k + 8), a1);
    }
    if (k + 8 <= K) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a0);
        k += 8;
    }
    if (k < K) {
        __m256i m = lane_mask(K - k);
        a1 = _mm256_fmadd_ps(_mm256_maskload_ps(w + k, m), _mm256_maskload_ps(x + k, m), a1);
    }
    return hsum(_mm256_add_ps(a0, a1));
}

/* Four rows at once, each with exactly dot_row's arithmetic (shared x loads). */
static inline void dot_rows4(const float *w, size_t ldw, const float *x, int K, float *out)
{
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00;
    __m256 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        a00 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), x0, a00);
        a01 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k + 8), x1, a01);
        a10 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k), x0, a10);
        a11 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k + 8), x1, a11);
        a20 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k), x0, a20);
        a21 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k + 8), x1, a21);
        a30 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k), x0, a30);
        a31 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k + 8), x1, a31);
    }
    if (k + 8 <= K) {
        __m256 x0 = _mm256_loadu_ps(x + k);
        a00 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), x0, a00);
        a10 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k), x0, a10);
        a20 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k), x0, a20);
        a30 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k), x0, a30);
        k += 8;
    }
    if (k < K) {
        __m256i m = lane_mask(K - k);
        __m256 x0 = _mm256_maskload_ps(x + k, m);
        a01 = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + k, m), x0, a01);
        a11 = _mm256_fmadd_ps(_mm256_maskload_ps(w1 + k, m), x0, a11);
        a21 = _mm256_fmadd_ps(_mm256_maskload_ps(w2 + k, m), x0, a21);
        a31 = _mm256_fmadd_ps(_mm256_maskload_ps(w3 + k, m), x0, a31);
    }
    out[0] = hsum(_mm256_add_ps(a00, a01));
    out[1] = hsum(_mm256_add_ps(a10, a11));
    out[2] = hsum(_mm256_add_ps(a20, a21));
    out[3] = hsum(_mm256_add_ps(a30, a31));
}

static void sgemv_avx2(int M, int K, const float *W, size_t ldw, const float *x,
                       const float *bias, float *y)
{
    int i = 0;
    for (; i + 4 <= M; i += 4) {
        float t[4];
        dot_rows4(W + (size_t)i * ldw, ldw, x, K, t);
        for (int r = 0; r < 4; r++)
            y[i + r] = bias ? t[r] + bias[i + r] : t[r];
    }
    for (; i < M; i++) {
        float t = dot_row(W + (size_t)i * ldw, x, K);
        y[i] = bias ? t + bias[i] : t;
    }
}

/* y[k] = Σ_i W[i][k]·d[i], i ascending, one fused multiply-add per term. */
static void sgemv_t_avx2(int M, int K, const float *W, size_t ldw, const float *d, float *y)
{
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        __m256 y0 = _mm256_setzero_ps(), y1 = y0, y2 = y0, y3 = y0;
        for (int i = 0; i < M; i++) {
            const float *w = W + (size_t)i * ldw + k;
            __m256 di = _mm256_broadcast_ss(d + i);
            y0 = _mm256_fmadd_ps(_mm256_loadu_ps(w), di, y0);
            y1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 8), di, y1);
            y2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 16), di, y2);
            y3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 24), di, y3);
        }
        _mm256_storeu_ps(y + k, y0);
        _mm256_storeu_ps(y + k + 8, y1);
        _mm256_storeu_ps(y + k + 16, y2);
        _mm256_storeu_ps(y + k + 24, y3);
    }
    for (; k < K; k += 8) {
        __m256i m = lane_mask(K - k);
        __m256 y0 = _mm256_setzero_ps();
        for (int i = 0; i < M; i++)
            y0 = _mm256_fmadd_ps(_mm256_maskload_ps(W + (size_t)i * ldw + k, m),
                                 _mm256_broadcast_ss(d + i), y0);
        _mm256_maskstore_ps(y + k, m, y0);
    }
}

/* w[k] += ad·x[k], one fused multiply-add per element. */
static inline void axpy_row(float *w, float ad, const float *x, int K)
{
    __m256 va = _mm256_set1_ps(ad);
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        _mm256_storeu_ps(w + k, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + k), _mm256_loadu_ps(w + k)));
        _mm256_storeu_ps(w + k + 8,
                         _mm256_fmadd_ps(va, _mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(w + k + 8)));
    }
    for (; k < K; k += 8) {
        __m256i m = lane_mask(K - k);
        _mm256_maskstore_ps(w + k, m, _mm256_fmadd_ps(va, _mm256_maskload_ps(x + k, m),
                                                      _mm256_maskload_ps(w + k, m)));
    }
}

static void sger_avx2(int M, int K, float alpha, const float *d, const float *x, float *W,
                      size_t ldw)
{
    for (int i = 0; i < M; i++)
        axpy_row(W + (size_t)i * ldw, alpha * d[i], x, K);
}

/* Four rows in one sweep: w += ad·x (axpy_row's arithmetic), then the dot
 * with x_next accumulated as dot_row does — the same bits as the two passes,
 * with W loaded once and x, x_next shared by the rows. */
static inline void axpy_dot_rows4(float *w, size_t ldw, const float *ad, const float *x,
                                  const float *xn, int K, float *out)
{
    float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
    const __m256 d0 = _mm256_set1_ps(ad[0]), d1 = _mm256_set1_ps(ad[1]);
    const __m256 d2 = _mm256_set1_ps(ad[2]), d3 = _mm256_set1_ps(ad[3]);
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00;
    __m256 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
#define UPD(WP, D, ACC, OFF, X, N)                                                          \
    do {                                                                                    \
        __m256 v_ = _mm256_fmadd_ps(D, X, _mm256_loadu_ps(WP + k + (OFF)));                \
        _mm256_storeu_ps(WP + k + (OFF), v_);                                               \
        ACC = _mm256_fmadd_ps(v_, N, ACC);                                                  \
    } while (0)
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        __m256 n0 = _mm256_loadu_ps(xn + k), n1 = _mm256_loadu_ps(xn + k + 8);
        UPD(w0, d0, a00, 0, x0, n0);
        UPD(w0, d0, a01, 8, x1, n1);
        UPD(w1, d1, a10, 0, x0, n0);
        UPD(w1, d1, a11, 8, x1, n1);
        UPD(w2, d2, a20, 0, x0, n0);
        UPD(w2, d2, a21, 8, x1, n1);
        UPD(w3, d3, a30, 0, x0, n0);
        UPD(w3, d3, a31, 8, x1, n1);
    }
    if (k + 8 <= K) {
        __m256 x0 = _mm256_loadu_ps(x + k), n0 = _mm256_loadu_ps(xn + k);
        UPD(w0, d0, a00, 0, x0, n0);
        UPD(w1, d1, a10, 0, x0, n0);
        UPD(w2, d2, a20, 0, x0, n0);
        UPD(w3, d3, a30, 0, x0, n0);
        k += 8;
    }
#undef UPD
    if (k < K) {
        __m256i m = lane_mask(K - k);
        __m256 x0 = _mm256_maskload_ps(x + k, m), n0 = _mm256_maskload_ps(xn + k, m);
#define UPDM(WP, D, ACC)                                                                    \
    do {                                                                                    \
        __m256 v_ = _mm256_fmadd_ps(D, x0, _mm256_maskload_ps(WP + k, m));                 \
        _mm256_maskstore_ps(WP + k, m, v_);                                                 \
        ACC = _mm256_fmadd_ps(v_, n0, ACC);                                                 \
    } while (0)
        UPDM(w0, d0, a01);
        UPDM(w1, d1, a11);
        UPDM(w2, d2, a21);
        UPDM(w3, d3, a31);
#undef UPDM
    }
    out[0] = hsum(_mm256_add_ps(a00, a01));
    out[1] = hsum(_mm256_add_ps(a10, a11));
    out[2] = hsum(_mm256_add_ps(a20, a21));
    out[3] = hsum(_mm256_add_ps(a30, a31));
}

static void sger_sgemv_avx2(int M, int K, float alpha, const float *d, const float *x, float *W,
                            size_t ldw, const float *x_next, const float *bias, float *y)
{
    int i = 0;
    for (; i + 4 <= M; i += 4) {
        float ad[4] = {alpha * d[i], alpha * d[i + 1], alpha * d[i + 2], alpha * d[i + 3]}, t[4];
        axpy_dot_rows4(W + (size_t)i * ldw, ldw, ad, x, x_next, K, t);
        for (int r = 0; r < 4; r++)
            y[i + r] = bias ? t[r] + bias[i + r] : t[r];
    }
    for (; i < M; i++) {
        float *w = W + (size_t)i * ldw;
        axpy_row(w, alpha * d[i], x, K);
        float t = dot_row(w, x_next, K);
        y[i] = bias ? t + bias[i] : t;
    }
}

/* ---- optimizers (no FMA: the same bits as the scalar tails) ------------------- */

static void sgd_avx2(float *w, const float *g, size_t n, float lr)
{
    __m256 vl = _mm256_set1_ps(lr);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i),
                                              _mm256_mul_ps(vl, _mm256_loadu_ps(g + i))));
    for (; i < n; i++)
        w[i] -= lr * g[i];
}

static void momentum_avx2(float *w, float *v, const float *g, size_t n, float lr, float mu,
                          int nesterov)
{
    __m256 vl = _mm256_set1_ps(lr), vm = _mm256_set1_ps(mu);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vm, _mm256_loadu_ps(v + i)), gi);
        _mm256_storeu_ps(v + i, vi);
        __m256 step = nesterov ? _mm256_add_ps(gi, _mm256_mul_ps(vm, vi)) : vi;
        _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), _mm256_mul_ps(vl, step)));
    }
    /* The last n mod 8 elements: the portable definition. */
    bpk_impl_portable.momentum(w + i, v + i, g + i, n - i, lr, mu, nesterov);
}

static void adam_avx2(float *w, float *m, float *v, const float *g, size_t n, float lr,
                      float beta1, float beta2, float eps, float c1, float c2, float wd)
{
    float b1c = 1.0f - beta1, b2c = 1.0f - beta2, lrwd = lr * wd;
    __m256 vb1 = _mm256_set1_ps(beta1), vb2 = _mm256_set1_ps(beta2);
    __m256 vb1c = _mm256_set1_ps(b1c), vb2c = _mm256_set1_ps(b2c);
    __m256 vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2), ve = _mm256_set1_ps(eps);
    __m256 vl = _mm256_set1_ps(lr), vlwd = _mm256_set1_ps(lrwd);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 wi = _mm256_loadu_ps(w + i), gi = _mm256_loadu_ps(g + i);
        if (wd != 0.0f)
            wi = _mm256_sub_ps(wi, _mm256_mul_ps(vlwd, wi));
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vb1c, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(_mm256_mul_ps(vb2c, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vi, vc2)), ve);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(vl, _mm256_div_ps(mi, vc1)), den);
        _mm256_storeu_ps(w + i, _mm256_sub_ps(wi, step));
    }
    bpk_impl_portable.adam(w + i, m + i, v + i, g + i, n - i, lr, beta1, beta2, eps, c1, c2, wd);
}

static void rmsprop_avx2(float *w, float *v, const float *g, size_t n, float lr, float rho,
                         float eps)
{
    float rc = 1.0f - rho;
    __m256 vr = _mm256_set1_ps(rho), vrc = _mm256_set1_ps(rc), vl = _mm256_set1_ps(lr);
    __m256 ve = _mm256_set1_ps(eps);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vr, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(_mm256_mul_ps(vrc, gi), gi));
        _mm256_storeu_ps(v + i, vi);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(vl, gi), _mm256_add_ps(_mm256_sqrt_ps(vi), ve));
        _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), step));
    }
    bpk_impl_portable.rmsprop(w + i, v + i, g + i, n - i, lr, rho, eps);
}

const bpk_impl bpk_impl_avx2 = {
    .name = "avx2",
    .mr = MR, .nr = NR, .kc = 320, .mc = 132, .nc = 3072,
    .kernel = kernel_avx2,
    .pack = bpk_pack_avx2,
    .bias_act_row = bias_act_row_avx2,
    .softmax_row = softmax_row_avx2,
    .act_backward = act_backward_avx2,
    .col_sum = col_sum_avx2,
    .sgemv = sgemv_avx2,
    .sgemv_t = sgemv_t_avx2,
    .sger = sger_avx2,
    .sger_sgemv = sger_sgemv_avx2,
    .sgd = sgd_avx2,
    .momentum = momentum_avx2,
    .adam = adam_avx2,
    .rmsprop = rmsprop_avx2,
};
