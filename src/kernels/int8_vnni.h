/*
 * int8_vnni.h — the int8 GEMM on VPDPBUSD, written once over a few vector
 * operations and compiled four times, as bf16_kernel.h is:
 *   - int8_avx512.c with AVX512-VNNI intrinsics (16-lane zmm);
 *   - int8_avxvnni_avx2.c with AVX-VNNI intrinsics (8-lane ymm, the VEX
 *     VPDPBUSD of CPUs with AVX2 and no AVX-512, and of Zen 5);
 *   - int8.c and int8_avxvnni_sim.c over plain C arrays of 16 and 8 lanes
 *     (int8_vnni_sim.h), so that the loops, the packing, the edges and the
 *     unsigned-offset correction below run and are checked against the
 *     portable reference on every machine (tests/test_int8.c).
 * Integer sums are exact, so every compilation gives the same integers.
 *
 * VPDPBUSD multiplies unsigned by signed bytes, four to an int32 lane.  A's
 * bytes (int8 in [−127, 127]) go in as a + 128 ∈ [1, 255] (a ^ 0x80), so
 *   Σ_k (a + 128)·b = Σ_k a·b + 128·Σ_k b,
 * and 128·Σ_k b[j] is taken off each column after.  The unsigned sum can pass
 * 2^31 only by at most a wrap, which the subtraction undoes: int32 arithmetic
 * is modular (done in uint32_t here), and the true result fits (int8.h).
 *
 * Register blocking: the micro-tile is VNNI_MR rows × VNNI_TW = 2 ·
 * VNNI_LANES columns of C, two accumulators per row.  Per step of four k,
 * two loads of B and VNNI_MR broadcasts of A (one row's 4 bytes each) feed
 * 2 · VNNI_MR VPDPBUSD: the sums stay vertical, one column per lane, so no
 * horizontal sum is ever needed.  With zmm (32 registers) that is 8 × 32 in
 * sixteen accumulators; with ymm (16 registers) 6 × 16 in twelve, the two B
 * vectors and the broadcast making fifteen — eight rows would spill.
 * Packed operands, one uint32_t per (row, group of four k), k ascending from
 * the low byte:
 *   A panels [M/MR][K/4][MR] (a ^ 0x80; rows past M are zeros, never stored)
 *   B panels [N/32][K/4][32] (rows past N and k past K are zeros, which add
 *                             nothing whatever A holds there)
 * The B panels are VNNI_NR = 32 columns wide in every compilation (a 16-
 * column tile reads one half of each, at a stride of 32), so the panels
 * packed once per model (bpk_s8_panels) fit whichever kernel runs.  K is
 * padded to a multiple of 4 only.  Cache blocking: A is packed VNNI_A_BLOCK
 * bytes at a time (a few hundred rows, well inside L2); each 32-column B
 * panel (32·K bytes, in L1 for K up to about 1000) then runs over every
 * A panel of the block before the next B panel.
 *
 * The includer defines, then includes this file:
 *   VNNI_GEMM      the function's name (bpk_gemm_s8's signature, and the panels)
 *   VNNI_ATTR      attributes (a target, or nothing)
 *   VNNI_LANES     int32 lanes per ivec: 16 or 8
 *   VNNI_MR        rows per micro-tile: 8 or 6
 *   ivec           VNNI_LANES int32 lanes;  ivec_zero()
 *   ivec_load(p)   VNNI_LANES uint32_t at p
 *   ivec_bcast(x)  the uint32_t x in every lane
 *   ivec_dpbusd(acc, u, s)  lane i: acc + Σ_{t<4} u.u8[4i+t] · s.s8[4i+t] (mod 2^32)
 *   ivec_store_sub(c, v, off, n)  c[i] = (int32_t)(v[i] − off[i]) for i < n ≤ VNNI_LANES
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "int8.h"

#if VNNI_MR != 6 && VNNI_MR != 8
#error "int8_vnni.h: VNNI_MR must be 6 or 8"
#endif
#define VNNI_NR BPK_S8_PANEL_COLS
#define VNNI_TW (2 * VNNI_LANES)
#if VNNI_NR % VNNI_TW != 0
#error "int8_vnni.h: a B panel must hold whole tiles"
#endif
/* Bytes of packed A per block: 256 KiB stays in a 1–2 MiB L2 with the B
 * panel and C rows beside it. */
#define VNNI_A_BLOCK ((size_t)256 * 1024)

/* Four bytes of x from k (fewer at the end of a row: zeros after K), as one
 * lane: byte t is x[k + t], XORed with flip. */
static inline uint32_t vnni_group(const int8_t *x, int k, int K, uint32_t flip)
{
    uint32_t g = 0;
    for (int t = 0; t < 4 && k + t < K; t++)
        g |= (uint32_t)((uint8_t)x[k + t] ^ (uint8_t)flip) << (8 * t);
    return g;
}

/* One VNNI_MR-row panel of A (rows of them, the rest zero) as a + 128. */
static void vnni_pack_a(int rows, int K, const int8_t *A, size_t lda, uint32_t *out)
{
    int k4 = (K + 3) / 4, full = K / 4;
    for (int r = 0; r < VNNI_MR; r++) {
        const int8_t *x = A + (size_t)r * lda;
        uint32_t *o = out + r;
        if (r >= rows) {
            for (int g = 0; g < k4; g++)
                o[(size_t)g * VNNI_MR] = 0;
            continue;
        }
        for (int g = 0; g < full; g++) {
            uint32_t v;
            memcpy(&v, x + 4 * (size_t)g, 4);
            o[(size_t)g * VNNI_MR] = v ^ 0x80808080u;
        }
        if (full < k4)
            o[(size_t)full * VNNI_MR] = vnni_group(x, 4 * full, K, 0x80u);
    }
}

/* All of B as VNNI_NR-column panels, and off[j] = 128 · Σ_k B[j][k] (mod
 * 2^32; 0 past N) for the correction. */
static void vnni_pack_b(int N, int K, const int8_t *B, size_t ldb, uint32_t *out, uint32_t *off)
{
    int k4 = (K + 3) / 4, panels = (N + VNNI_NR - 1) / VNNI_NR;
    for (int j = 0; j < panels * VNNI_NR; j++) {
        uint32_t *o = out + (size_t)(j / VNNI_NR) * (size_t)k4 * VNNI_NR + j % VNNI_NR;
        if (j >= N) {
            for (int g = 0; g < k4; g++)
                o[(size_t)g * VNNI_NR] = 0;
            off[j] = 0;
            continue;
        }
        const int8_t *x = B + (size_t)j * ldb;
        uint32_t sum = 0;
        for (int k = 0; k < K; k++)
            sum += (uint32_t)(int32_t)x[k];
        off[j] = sum * 128u;
        int full = K / 4;
        for (int g = 0; g < full; g++)
            memcpy(&o[(size_t)g * VNNI_NR], x + 4 * (size_t)g, 4);
        if (full < k4)
            o[(size_t)full * VNNI_NR] = vnni_group(x, 4 * full, K, 0u);
    }
}

/* C (mr ≤ VNNI_MR rows, nr ≤ VNNI_TW columns, at C with row stride ldc) =
 * one A panel times VNNI_TW columns of a B panel (b, a row of VNNI_NR per
 * group) over k4 groups, less off. */
VNNI_ATTR
static void vnni_tile(int k4, const uint32_t *a, const uint32_t *b, const uint32_t *off,
                      int32_t *C, size_t ldc, int mr, int nr)
{
    ivec c00 = ivec_zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    ivec c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#if VNNI_MR == 8
    ivec c60 = c00, c61 = c00, c70 = c00, c71 = c00;
#endif
#define VNNI_ROW(R_, X0, X1)                                                                \
    do {                                                                                    \
        ivec av = ivec_bcast(a[R_]);                                                        \
        X0 = ivec_dpbusd(X0, av, b0);                                                       \
        X1 = ivec_dpbusd(X1, av, b1);                                                       \
    } while (0)
    for (int g = 0; g < k4; g++, a += VNNI_MR, b += VNNI_NR) {
        ivec b0 = ivec_load(b), b1 = ivec_load(b + VNNI_LANES);
        VNNI_ROW(0, c00, c01);
        VNNI_ROW(1, c10, c11);
        VNNI_ROW(2, c20, c21);
        VNNI_ROW(3, c30, c31);
        VNNI_ROW(4, c40, c41);
        VNNI_ROW(5, c50, c51);
#if VNNI_MR == 8
        VNNI_ROW(6, c60, c61);
        VNNI_ROW(7, c70, c71);
#endif
    }
#undef VNNI_ROW
    /* Named, never addressed: an accumulator whose address is taken may be
     * kept in memory for the whole loop. */
    int n0 = nr < VNNI_LANES ? nr : VNNI_LANES, n1 = nr - n0;
#define VNNI_OUT(R_, X0, X1)                                                                \
    if ((R_) < mr) {                                                                        \
        ivec_store_sub(C + (size_t)(R_) * ldc, X0, off, n0);                                \
        if (n1 > 0)                                                                         \
            ivec_store_sub(C + (size_t)(R_) * ldc + VNNI_LANES, X1, off + VNNI_LANES, n1);  \
    }
    VNNI_OUT(0, c00, c01);
    VNNI_OUT(1, c10, c11);
    VNNI_OUT(2, c20, c21);
    VNNI_OUT(3, c30, c31);
    VNNI_OUT(4, c40, c41);
    VNNI_OUT(5, c50, c51);
#if VNNI_MR == 8
    VNNI_OUT(6, c60, c61);
    VNNI_OUT(7, c70, c71);
#endif
#undef VNNI_OUT
}

/* Rows [i0, i0 + rows) of C: their A packed into ap, then every B panel over
 * every A panel. */
VNNI_ATTR
static void vnni_block(int i0, int rows, int N, int K, const int8_t *A, size_t lda,
                       const uint32_t *bp, const uint32_t *off, uint32_t *ap, int32_t *C,
                       size_t ldc)
{
    int k4 = (K + 3) / 4, panels = (rows + VNNI_MR - 1) / VNNI_MR;
    size_t a_panel = (size_t)k4 * VNNI_MR, b_panel = (size_t)k4 * VNNI_NR;
    for (int p = 0; p < panels; p++) {
        int i = i0 + p * VNNI_MR, mr = i0 + rows - i < VNNI_MR ? i0 + rows - i : VNNI_MR;
        vnni_pack_a(mr, K, A + (size_t)i * lda, lda, ap + (size_t)p * a_panel);
    }
    for (int j = 0; j < N; j += VNNI_TW) {
        const uint32_t *b = bp + (size_t)(j / VNNI_NR) * b_panel + j % VNNI_NR;
        int nr = N - j < VNNI_TW ? N - j : VNNI_TW;
        for (int p = 0; p < panels; p++) {
            int i = i0 + p * VNNI_MR, mr = i0 + rows - i < VNNI_MR ? i0 + rows - i : VNNI_MR;
            vnni_tile(k4, ap + (size_t)p * a_panel, b, off + j, C + (size_t)i * ldc + (size_t)j,
                      ldc, mr, nr);
        }
    }
}

/* C[i][j] = Σ_k A[i][k]·B[j][k] (int8.h's bpk_gemm_s8), with B's panels
 * from `panels` (bpk_s8_panels_create; NULL: packed here, for this call).
 * Returns 0, or −1 when its buffers cannot be allocated (the caller then
 * takes another path). */
VNNI_ATTR
static int VNNI_GEMM(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                     const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return 0;
    size_t k4 = (size_t)(K > 0 ? (K + 3) / 4 : 0);
    size_t n_pad = ((size_t)N + VNNI_NR - 1) / VNNI_NR * VNNI_NR;
    size_t m_pad = ((size_t)M + VNNI_MR - 1) / VNNI_MR * VNNI_MR;
    /* rows per A block: a multiple of VNNI_MR, at least one panel */
    size_t block = VNNI_A_BLOCK / 4 / (k4 ? k4 : 1) / VNNI_MR * VNNI_MR;
    if (block < VNNI_MR)
        block = VNNI_MR;
    if (block > m_pad)
        block = m_pad;
    uint32_t *bp = NULL, *off = NULL, *ap = malloc((block * k4 + 1) * sizeof *ap);
    if (!panels) {
        bp = malloc((n_pad * k4 + 1) * sizeof *bp);
        off = malloc(n_pad * sizeof *off);
        if (bp && off)
            vnni_pack_b(N, K, B, (size_t)ldb, bp, off);
    }
    const uint32_t *b = panels ? panels->b : bp, *o = panels ? panels->off : off;
    if (!ap || !b || !o) {
        free(bp), free(off), free(ap);
        return -1;
    }
    for (int i = 0; i < M; i += (int)block) {
        int rows = M - i < (int)block ? M - i : (int)block;
        vnni_block(i, rows, N, K, A, (size_t)lda, b, o, ap, C, (size_t)ldc);
    }
    free(bp), free(off), free(ap);
    return 0;
}
