/*
 * The library's one random generator: xoshiro256** seeded through splitmix64.
 * Every random choice (initial weights, shuffles, dropout) draws from a
 * stream derived from the user's seed, never from time or thread ids, so a
 * run repeats bit for bit.
 */
#ifndef BP_KERNELS_RNG_H
#define BP_KERNELS_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bp_rng {
    uint64_t s[4];
} bp_rng;

static inline uint64_t bp_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* `stream` separates independent uses of one seed (init, shuffle, dropout…). */
static inline void bp_rng_seed(bp_rng *rng, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    for (int i = 0; i < 4; i++)
        rng->s[i] = bp_splitmix64(&x);
}

static inline uint64_t bp_rng_next(bp_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t r = s[1] * 5;
    r = ((r << 7) | (r >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double bp_rng_uniform(bp_rng *rng)
{
    return (double)(bp_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), unbiased (Lemire's method with rejection). */
static inline uint64_t bp_rng_below(bp_rng *rng, uint64_t n)
{
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t r = bp_rng_next(rng);
        if (r >= threshold)
            return r % n;
    }
}

/* Streams of one seed, so the uses never share draws. */
enum {
    BP_STREAM_INIT = 1,            /* initial weights */
    BP_STREAM_SPLIT = 2,           /* train/validation split */
    BP_STREAM_SHUFFLE = 0x5348,    /* per epoch: (BP_STREAM_SHUFFLE << 32) + epoch */
    BP_STREAM_DROPOUT = 0x4450,    /* per batch: (BP_STREAM_DROPOUT << 48) + (epoch << 24) + batch */
    BP_STREAM_DROPOUT_SAMPLE = 0x4453 /* sharded runs, per sample (workspace.c draw_masks) */
};

/* Fisher–Yates from the end: a uniformly random permutation of perm[0..n). */
static inline void bp_rng_shuffle(bp_rng *rng, size_t *perm, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)bp_rng_below(rng, (uint64_t)i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

/* Standard normal by Box–Muller (one value per call; simplicity over speed:
 * it only runs at initialisation). */
static inline double bp_rng_normal(bp_rng *rng)
{
    double u1 = bp_rng_uniform(rng), u2 = bp_rng_uniform(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
