/* The AVX-VNNI GEMM's code (int8_vnni.h at 8 lanes, a 6 × 16 micro-tile)
 * over plain C arrays: its loops, half-panel strides and edges, checked on
 * every CPU against the portable reference (tests/test_int8.c).  Its own
 * file because int8.c holds the 16-lane twin and the header's helpers are
 * static, one set per translation unit. */
#include "int8.h"

#define VNNI_LANES 8
#define VNNI_MR 6
#include "int8_vnni_sim.h"
#define VNNI_GEMM gemm_s8_avxvnni_simulated
#include "int8_vnni.h"

int bpk_gemm_s8_avxvnni_simulated(int M, int N, int K, const int8_t *A, int lda,
                                  const int8_t *B, int ldb, const bpk_s8_panels *panels,
                                  int32_t *C, int ldc)
{
    return gemm_s8_avxvnni_simulated(M, N, K, A, lda, B, ldb, panels, C, ldc);
}
