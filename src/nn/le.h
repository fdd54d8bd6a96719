#ifndef BP_NN_LE_H
#define BP_NN_LE_H

/* Little-endian byte codecs, the one copy shared by the trainer's state blob
 * (nn/trainer.c), the model file (io/model.c) and the protobuf writer/reader
 * (io/protobuf.c). Byte by byte, so files move between hosts of either byte
 * order; floats travel as their IEEE-754 bit pattern. Header-only and free of
 * any other project include, so every layer from nn/ up may use it. */

#include <stdint.h>
#include <string.h>

static inline void bp_le_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void bp_le_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t bp_le_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t bp_le_get_u64(const unsigned char *p)
{
    return (uint64_t)bp_le_get_u32(p) | (uint64_t)bp_le_get_u32(p + 4) << 32;
}

static inline uint32_t bp_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bp_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint64_t bp_f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline double bp_f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

#endif
