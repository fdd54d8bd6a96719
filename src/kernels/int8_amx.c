/*
 * AMX-INT8 (Intel Sapphire Rapids and later: TDPBSSD on 16 × 16 int32
 * tiles) for the int8 GEMM: int8_amx_kernel.h compiled natively and over
 * plain C arrays, and whether it may run.
 *
 * OPT-IN and UNTESTED ON HARDWARE: it was written on an AMD Zen 5, which
 * has no AMX, so the native GEMM has never run.  It is used only when
 * BACKPROP_AMX=1 asks for it, cpuid reports AMX-INT8 and AMX-TILE, and
 * Linux grants the tile state (amx.c, shared with the AMX-BF16 kernel);
 * everywhere else int8 runs on its VNNI or AVX2 GEMM.  bench/amx_check.sh
 * checks it on an AMX machine.
 *
 * Compiled without any -m flag: the native functions carry target
 * attributes, and are called only where cpuid says they may run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amx_sim.h"
#include "cpu_internal.h"
#include "int8.h"

/* ---- TDPBSSD over plain C arrays (tests) ----------------------------------- */

/* tile c += tile a · tile b, as Intel's manual gives TDPBSSD: for row m and
 * column n, over the 16 four-byte groups g of a's row, the four signed
 * products a[m].byte[4g + t] · b[g].byte[4n + t] are added to the int32
 * c[m][n] (modulo 2^32: uint32_t here, where C's int32_t would be undefined
 * on a wrap the hardware performs; with |a|, |b| ≤ 127 none happens). */
static void sim_dpbssd(amx_tiles *s, int c, int a, int b)
{
    for (int m = 0; m < 16; m++) {
        const int8_t *ar = (const int8_t *)s->t[a][m];
        for (int n = 0; n < 16; n++) {
            uint32_t sum = s->t[c][m][n];
            for (int g = 0; g < 16; g++) {
                const int8_t *br = (const int8_t *)&s->t[b][g][n];
                for (int t = 0; t < 4; t++)
                    sum += (uint32_t)((int32_t)ar[4 * g + t] * (int32_t)br[t]);
            }
            s->t[c][m][n] = sum;
        }
    }
}

#define AMX8_PREFIX(name) amx8_simulated_##name
#define AMX8_ATTR
#define AMX8_TILES amx_tiles tiles_
#define AMX8_BEGIN (void)0
#define amx8_fence() (void)0
#define amx8_zero(t) sim_zero(&tiles_, t)
#define amx8_load(t, p, stride) sim_load(&tiles_, t, p, stride)
#define amx8_store(t, p, stride) sim_store(&tiles_, t, p, stride)
#define amx8_dp(c, a, b) sim_dpbssd(&tiles_, c, a, b)
#include "int8_amx_kernel.h"
#undef AMX8_PREFIX
#undef AMX8_ATTR
#undef AMX8_TILES
#undef AMX8_BEGIN
#undef amx8_fence
#undef amx8_zero
#undef amx8_load
#undef amx8_store
#undef amx8_dp

int bpk_gemm_s8_amx_simulated(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                              int ldb, const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    return amx8_simulated_gemm(M, N, K, A, lda, B, ldb, panels, C, ldc);
}

/* ---- native (x86-64: the AMX intrinsics) ----------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The tile moves are asm statements that tell the compiler nothing of the
 * memory they read or write: the fence keeps the packing's stores above
 * the loads, and the reads of `out` below the stores. */
#define AMX8_PREFIX(name) amx8_native_##name
#define AMX8_ATTR __attribute__((target("amx-tile,amx-int8")))
#define AMX8_TILES (void)0
#define AMX8_BEGIN bpk_amx_configure() /* this thread's tiles: amx.c */
#define amx8_fence() __asm__ volatile("" ::: "memory")
#define amx8_zero(t) _tile_zero(t)
#define amx8_load(t, p, stride) _tile_loadd(t, p, stride)
#define amx8_store(t, p, stride) _tile_stored(t, p, stride)
#define amx8_dp(c, a, b) _tile_dpbssd(c, a, b)
#include "int8_amx_kernel.h"

/* Refuses (−1, the caller's fallback) where AMX-INT8 is not granted, so a
 * stray call can never run an instruction the CPU lacks. */
int bpk_gemm_s8_amx(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                    const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    if (!bpk_amx_int8_available())
        return -1;
    return amx8_native_gemm(M, N, K, A, lda, B, ldb, panels, C, ldc);
}
#else
int bpk_gemm_s8_amx(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                    const bpk_s8_panels *panels, int32_t *C, int ldc)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb, (void)panels, (void)C;
    (void)ldc;
    return -1;
}
#endif

/* Asked in this order so that the grant (arch_prctl) is requested only
 * when the user opted in. */
int bpk_int8_amx_enabled(void) { return bpk_amx_requested() && bpk_amx_int8_available(); }
