/*
 * amx_kernel.h — the AMX-BF16 GEMM micro-kernel, written once over five tile
 * operations and compiled twice (as bf16_kernel.h is):
 *   - amx.c's native kernel, with the AMX intrinsics (TDPBF16PS); run only
 *     where cpuid reports AMX-BF16, Linux granted the tile state, and the
 *     user asked for it (BACKPROP_AMX=1);
 *   - amx.c's simulated kernel, over plain C arrays standing in for the
 *     eight tile registers, with TDPBF16PS modelled on Intel's manual, so
 *     that the loops, tile shapes, layouts, edges and epilogue run and are
 *     checked on every machine (tests/test_bf16.c).
 *
 * The includer defines, then includes this file:
 *   AMX_KERNEL             the function's name
 *   AMX_ATTR               attributes for it (a target, or nothing)
 *   AMX_TILES              declares the tile state (or nothing: registers)
 *   amx_zero(t)            tile t = 0
 *   amx_load(t, p, stride) tile t = 16 rows of 64 bytes from p, rows
 *                          `stride` bytes apart
 *   amx_dp(c, a, b)        tile c += tile a · tile b (TDPBF16PS)
 *   amx_store(t, p, stride) tile t to 16 rows of 64 bytes at p
 *   amx_row_out(cr, x, nr, alpha, beta)
 *                          C row = alpha·x (+ beta·C row), its first nr of 32
 *
 * Every tile is 16 rows × 64 bytes (the configuration, amx.c).  Micro-tile
 * 32 × 32 of C: tiles 0-3 accumulate its quarters (0: rows 0-15 × columns
 * 0-15, 1: rows 0-15 × 16-31, 2: rows 16-31 × 0-15, 3: rows 16-31 ×
 * 16-31); per k step of 16 pairs (32 k), tiles 4-5 hold A's rows 0-15 and
 * 16-31, tiles 6-7 B's columns 0-15 and 16-31, and four TDPBF16PS follow.
 *
 * Packed operands (amx.c), kp a multiple of 16 pairs (zero pairs pad K):
 *   A: [kp/16][32 rows][16 pairs] — a tile's row is one row of op(A) over
 *      16 pairs of k, as TDPBF16PS's first source wants it: 64-byte rows;
 *   B: the pair panel [kp][32] of the VDPBF16PS kernel — a tile's row is
 *      one pair of k over 16 columns (the "VNNI" layout TDPBF16PS's second
 *      source wants), so the two B tiles are its column halves, 128 bytes
 *      from one row to the next.
 */

AMX_ATTR
static void AMX_KERNEL(int kp, const uint32_t *a, const uint32_t *b, float *C, size_t ldc,
                       int mr, int nr, float alpha, float beta)
{
    AMX_TILES;
    _Alignas(64) float out[32 * 32];
    amx_zero(0);
    amx_zero(1);
    amx_zero(2);
    amx_zero(3);
    for (int p = 0; p < kp; p += 16, a += 16 * 32, b += 16 * 32) {
        amx_load(4, a, 64);
        amx_load(5, a + 16 * 16, 64);
        amx_load(6, b, 128);
        amx_load(7, b + 16, 128);
        amx_dp(0, 4, 6);
        amx_dp(1, 4, 7);
        amx_dp(2, 5, 6);
        amx_dp(3, 5, 7);
    }
    amx_store(0, out, 128);
    amx_store(1, out + 16, 128);
    amx_store(2, out + 16 * 32, 128);
    amx_store(3, out + 16 * 32 + 16, 128);
    for (int r = 0; r < mr; r++)
        amx_row_out(C + (size_t)r * ldc, out + 32 * r, nr, alpha, beta);
}
