/*
 * int8_amx_kernel.h — the AMX-INT8 GEMM (TDPBSSD), written once over five
 * tile operations and compiled twice, as amx_kernel.h is:
 *   - int8_amx.c's native GEMM, with the AMX intrinsics; run only where
 *     cpuid reports AMX-INT8 and AMX-TILE, Linux granted the tile state, and
 *     the user asked for it (BACKPROP_AMX=1);
 *   - int8_amx.c's simulated GEMM, over plain C arrays standing in for the
 *     eight tile registers (amx_sim.h), TDPBSSD modelled on Intel's manual,
 *     so that the loops, layouts, edges and packing run and are checked
 *     against the portable reference on every machine (tests/test_int8.c).
 * Integer sums are exact and do not depend on their order, so the
 * simulation checks all of the arithmetic; only the mapping onto the
 * intrinsics (configuration, strides, loads, stores) waits for hardware.
 *
 * TDPBSSD multiplies signed by signed bytes, so A and B go in as they are:
 * no +128 offset and no per-column correction (VPDPBUSD needs both,
 * int8_vnni.h).  Products of [−127, 127] bytes, summed over K ≤
 * BPK_INT8_MAX_K, fit int32 (int8.h): the tiles' int32 sums never wrap.
 *
 * Tiles (every one 16 rows × 64 bytes, amx.c's configuration): a 32 × 32
 * block of C in tiles 0-3 (0: rows 0-15 × columns 0-15, 1: rows 0-15 ×
 * 16-31, 2: rows 16-31 × 0-15, 3: rows 16-31 × 16-31, 16 int32 a row); per
 * step of 64 k, tiles 4-5 hold A's rows 0-15 and 16-31 (a row: its 64 bytes
 * of k), tiles 6-7 B's columns 0-15 and 16-31 (a row: one group of four k
 * over 16 columns, the "VNNI" layout), and four TDPBSSD follow.
 *
 * Operands:
 *   A: 32 rows at a time, each row's K bytes then zeros up to kpad, a
 *      multiple of 64 (rows past M all zeros): a tile row per step is 64
 *      bytes of one row, rows kpad bytes apart;
 *   B: the VNNI GEMMs' panels (bpk_s8_panels, [N/32][K/4][32] words), as
 *      they are: 16 groups of four k of one panel are a step's two B tiles,
 *      its column halves, 128 bytes from one row to the next.  The panels
 *      pad K only to a multiple of 4, so a last partial step reads its
 *      groups from a copy padded with zero groups to 16 (btail), never past
 *      the panel.  The zeros of A past K meet zeros of B there: nothing
 *      is added.
 *
 * The includer defines, then includes this file:
 *   AMX8_PREFIX(name)      the functions' names
 *   AMX8_ATTR              attributes for them (a target, or nothing)
 *   AMX8_TILES             declares the tile state (or nothing: registers)
 *   AMX8_BEGIN             before the first tile operation of a call
 *   amx8_fence()           between C stores and tile loads of the same
 *                          memory, and tile stores and C loads (the
 *                          intrinsics' asm does not tell the compiler)
 *   amx8_zero(t), amx8_load(t, p, stride), amx8_store(t, p, stride)
 *   amx8_dp(c, a, b)       tile c += tile a · tile b (TDPBSSD)
 */

/* The C block at C (mr ≤ 32 rows, nr ≤ 32 columns of it) = 32 rows of
 * packed A (a, rows kpad bytes apart) times one B panel (b), over `steps`
 * steps of 64 k, the last from btail when the panel has `full` < steps whole
 * steps. */
AMX8_ATTR
static void AMX8_PREFIX(block)(int steps, int full, const int8_t *a, size_t kpad,
                               const uint32_t *b, const uint32_t *btail, int32_t *C,
                               size_t ldc, int mr, int nr)
{
    AMX8_TILES;
    _Alignas(64) int32_t out[32 * 32];
    amx8_zero(0);
    amx8_zero(1);
    amx8_zero(2);
    amx8_zero(3);
    for (int s = 0; s < steps; s++) {
        const uint32_t *bs = s < full ? b + (size_t)s * 16 * 32 : btail;
        amx8_load(4, a + 64 * (size_t)s, kpad);
        amx8_load(5, a + 16 * kpad + 64 * (size_t)s, kpad);
        amx8_load(6, bs, 128);
        amx8_load(7, bs + 16, 128);
        amx8_dp(0, 4, 6);
        amx8_dp(1, 4, 7);
        amx8_dp(2, 5, 6);
        amx8_dp(3, 5, 7);
    }
    amx8_store(0, out, 128);
    amx8_store(1, out + 16, 128);
    amx8_store(2, out + 16 * 32, 128);
    amx8_store(3, out + 16 * 32 + 16, 128);
    amx8_fence();
    for (int r = 0; r < mr; r++)
        memcpy(C + (size_t)r * ldc, out + 32 * r, (size_t)nr * sizeof *C);
}

/* C[i][j] = Σ_k A[i][k]·B[j][k] (int8.h's bpk_gemm_s8), B from `panels`
 * (NULL: packed here, for this call).  Returns 0, or −1 when its buffers
 * cannot be allocated (the caller then takes another path).  Each 32 rows
 * of A are packed once and run against every B panel. */
AMX8_ATTR
static int AMX8_PREFIX(gemm)(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                             int ldb, const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return 0;
    int k4 = K > 0 ? (K + 3) / 4 : 0, full = k4 / 16, steps = (k4 + 15) / 16;
    int np = (N + 31) / 32;
    size_t kpad = (size_t)steps * 64, tail = (size_t)(k4 - 16 * full) * 32;
    bpk_s8_panels *own = panels ? NULL : bpk_s8_panels_pack(N, K, B, ldb);
    const bpk_s8_panels *p = panels ? panels : own;
    int8_t *ap = malloc(32 * kpad + 1);
    uint32_t *tails = tail ? calloc((size_t)np * 16 * 32, sizeof *tails) : NULL;
    if (!p || !ap || (tail && !tails)) {
        bpk_s8_panels_free(own), free(ap), free(tails);
        return -1;
    }
    for (int q = 0; q < np && tail; q++)
        memcpy(tails + (size_t)q * 16 * 32, p->b + ((size_t)q * k4 + 16 * (size_t)full) * 32,
               tail * sizeof *tails);
    AMX8_BEGIN;
    for (int i = 0; i < M; i += 32) {
        int mr = M - i < 32 ? M - i : 32;
        memset(ap, 0, 32 * kpad);
        for (int r = 0; r < mr; r++)
            memcpy(ap + (size_t)r * kpad, A + (size_t)(i + r) * (size_t)lda, (size_t)K);
        amx8_fence();
        for (int j = 0; j < N; j += 32)
            AMX8_PREFIX(block)(steps, full, ap, kpad, p->b + (size_t)(j / 32) * k4 * 32,
                               tails ? tails + (size_t)(j / 32) * 16 * 32 : NULL,
                               C + (size_t)i * (size_t)ldc + j, (size_t)ldc, mr,
                               N - j < 32 ? N - j : 32);
    }
    bpk_s8_panels_free(own), free(ap), free(tails);
    return 0;
}
