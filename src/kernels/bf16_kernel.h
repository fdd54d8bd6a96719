/*
 * bf16_kernel.h — the bf16 GEMM micro-kernel, written once over a handful
 * of vector operations and compiled twice:
 *   - cpu_avx512.c with AVX512-BF16 intrinsics (VDPBF16PS), the fast path;
 *   - bf16.c with plain C arrays standing in for the registers, so that the
 *     kernel's loops, panel layout, edges and epilogue run and are checked
 *     against the float32 path on any machine (tests/test_bf16.c), including
 *     the many that lack AVX512-BF16.
 *
 * The includer defines, then includes this file:
 *   BF16_KERNEL          the function's name
 *   BF16_ATTR            attributes for it (a target, or nothing)
 *   bvec                 16 float32 lanes;  bf16_zero()
 *   bpair                16 bf16 pairs (32 bf16)
 *   bf16_load(p)         16 pairs from 16 uint32_t at p
 *   bf16_bcast(x)        one pair (uint32_t) in every lane
 *   bf16_dot(acc, a, b)  lane i: acc + a.pair[i] · b.pair[i], the products of
 *                        the pair's low then high halves added in float32
 *   bf16_row_out(cr, x0, x1, nr, alpha, beta)
 *                        C row = alpha·x (+ beta·C row) for its first nr of 32
 *
 * Packed operands (sgemm.c, BPK_BF16_PAIRS): one uint32_t per (row, pair of
 * k), the even k in its low half: A panels [kp][MR], B panels [kp][NR].
 * The micro-tile is 8 × 32 (the AVX-512 float32 kernel's): per pair of k,
 * two loads of B and eight broadcasts of A feed sixteen accumulators.
 */

BF16_ATTR
static void BF16_KERNEL(int kp, const uint32_t *a, const uint32_t *b, float *C, size_t ldc,
                        int mr, int nr, float alpha, float beta)
{
    bvec c00 = bf16_zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    bvec c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    bvec c60 = c00, c61 = c00, c70 = c00, c71 = c00;
#define BF16_ROW(R_, X0, X1)                                                                \
    do {                                                                                    \
        bpair av = bf16_bcast(a[R_]);                                                       \
        X0 = bf16_dot(X0, av, b0);                                                          \
        X1 = bf16_dot(X1, av, b1);                                                          \
    } while (0)
    for (int p = 0; p < kp; p++, a += 8, b += 32) {
        bpair b0 = bf16_load(b), b1 = bf16_load(b + 16);
        BF16_ROW(0, c00, c01);
        BF16_ROW(1, c10, c11);
        BF16_ROW(2, c20, c21);
        BF16_ROW(3, c30, c31);
        BF16_ROW(4, c40, c41);
        BF16_ROW(5, c50, c51);
        BF16_ROW(6, c60, c61);
        BF16_ROW(7, c70, c71);
    }
#undef BF16_ROW
    /* Named, never addressed: an accumulator whose address is taken may be
     * kept in memory for the whole loop. */
#define BF16_OUT(R_, X0, X1)                                                                \
    if ((R_) < mr)                                                                          \
        bf16_row_out(C + (size_t)(R_) * ldc, X0, X1, nr, alpha, beta)
    BF16_OUT(0, c00, c01);
    BF16_OUT(1, c10, c11);
    BF16_OUT(2, c20, c21);
    BF16_OUT(3, c30, c31);
    BF16_OUT(4, c40, c41);
    BF16_OUT(5, c50, c51);
    BF16_OUT(6, c60, c61);
    BF16_OUT(7, c70, c71);
#undef BF16_OUT
}
