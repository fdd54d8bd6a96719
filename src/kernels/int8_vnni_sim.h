/*
 * int8_vnni_sim.h — int8_vnni.h's vector operations over plain C arrays of
 * VNNI_LANES uint32_t (defined by the includer, 16 or 8), so that the GEMM's
 * own loops run on every CPU and tests/test_int8.c checks them against the
 * portable reference.  Included by int8.c (16 lanes, the AVX512-VNNI twin)
 * and int8_avxvnni_sim.c (8 lanes, the AVX-VNNI twin), each once.
 */
#include <stdint.h>
#include <string.h>

typedef struct { uint32_t l[VNNI_LANES]; } ivec;
static inline ivec ivec_zero(void)
{
    ivec v;
    memset(&v, 0, sizeof v);
    return v;
}
static inline ivec ivec_load(const uint32_t *p)
{
    ivec v;
    memcpy(v.l, p, sizeof v.l);
    return v;
}
static inline ivec ivec_bcast(uint32_t x)
{
    ivec v;
    for (int i = 0; i < VNNI_LANES; i++)
        v.l[i] = x;
    return v;
}
/* Byte t of each lane, in the order it had in memory (little-endian). */
static inline ivec ivec_dpbusd(ivec acc, ivec u, ivec s)
{
    for (int i = 0; i < VNNI_LANES; i++)
        for (int t = 0; t < 4; t++) {
            int32_t ub = (int32_t)(u.l[i] >> (8 * t) & 0xffu);
            int32_t sb = (int32_t)(int8_t)(uint8_t)(s.l[i] >> (8 * t) & 0xffu);
            acc.l[i] += (uint32_t)(ub * sb);
        }
    return acc;
}
static inline void ivec_store_sub(int32_t *c, ivec v, const uint32_t *off, int n)
{
    for (int i = 0; i < n; i++)
        c[i] = (int32_t)(v.l[i] - off[i]);
}
#define VNNI_ATTR
