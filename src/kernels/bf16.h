/*
 * bf16.h — bfloat16 for the mixed-precision GEMM (internal to kernels/).
 *
 * bf16 is the top half of a float32: the same 8-bit exponent (so the same
 * range: no loss scaling is needed) and 8 significant bits instead of 24.
 * Training in "bf16" here means what PyTorch's autocast and oneDNN mean: the
 * GEMMs' operands are rounded to bf16, their products (exact in float32:
 * 8 × 8 significant bits) are summed in float32, and everything else —
 * master weights, optimizer state, activations, the model file — stays
 * float32.
 */
#ifndef BP_KERNELS_BF16_H
#define BP_KERNELS_BF16_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* float32 → bf16 exactly as VCVTNEPS2BF16 does it (checked against it in
 * tests/test_bf16.c where the CPU has one): rounding to nearest, ties to
 * even; a denormal becomes a zero of its sign (the instruction flushes
 * them, and VDPBF16PS would read a denormal bf16 as zero anyway); NaN stays
 * a quiet NaN of the same sign, ±inf stays ±inf, and what rounds past
 * FLT_MAX becomes ±inf. */
static inline uint16_t bpk_bf16_from_float(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x0040u);
    if ((u & 0x7f800000u) == 0)
        return (uint16_t)((u >> 16) & 0x8000u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bpk_float_from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* acc + x·y as VDPBF16PS and TDPBF16PS do each step, for bf16 x and y: the
 * product of two bf16 is exact in float32 unless it falls below FLT_MIN,
 * where it is fused into the sum (one rounding, nearest even); a denormal
 * sum is flushed to a zero of its sign.  (bf16 operands are never denormal:
 * the rounding flushes them.)  The fused case is rare: fmaf is a library
 * call where the file is not compiled for FMA. */
static inline float bpk_bf16_fma_ftz(float acc, float x, float y)
{
    float p = x * y;
    float r = (fabsf(p) >= FLT_MIN || p == 0.0f) ? acc + p : fmaf(x, y, acc);
    return fpclassify(r) == FP_SUBNORMAL ? copysignf(0.0f, r) : r;
}

/* x[i] = the float32 value of bf16(x[i]), in place. */
void bpk_bf16_round_floats(float *x, size_t n);

#endif /* BP_KERNELS_BF16_H */
