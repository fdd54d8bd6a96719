/*
 * amx_sim.h — the eight AMX tile registers over a plain C array, and the
 * tile moves that do not depend on the data type (zero, load, store), for
 * the simulated AMX kernels (amx.c: TDPBF16PS, int8_amx.c: TDPBSSD).  Every
 * tile is 16 rows × 64 bytes, the one configuration the library loads
 * (amx.c's amx_cfg), so a load or a store moves 16 rows of 64 bytes,
 * `stride` bytes apart in memory.
 */
#ifndef BP_KERNELS_AMX_SIM_H
#define BP_KERNELS_AMX_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct { uint32_t t[8][16][16]; } amx_tiles;

static inline void sim_zero(amx_tiles *s, int t) { memset(s->t[t], 0, sizeof s->t[t]); }
static inline void sim_load(amx_tiles *s, int t, const void *p, size_t stride)
{
    for (int r = 0; r < 16; r++)
        memcpy(s->t[t][r], (const unsigned char *)p + (size_t)r * stride, 64);
}
static inline void sim_store(const amx_tiles *s, int t, void *p, size_t stride)
{
    for (int r = 0; r < 16; r++)
        memcpy((unsigned char *)p + (size_t)r * stride, s->t[t][r], 64);
}

#endif /* BP_KERNELS_AMX_SIM_H */
