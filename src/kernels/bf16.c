/*
 * bf16 support of the CPU backend: rounding, the pair packing of the
 * native kernel, the choice of path, and the native kernel compiled over
 * plain C arrays (bf16_kernel.h) so that its logic is tested on every
 * machine, not only on those with AVX512-BF16.
 */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "cpu_internal.h"

void bpk_bf16_round_floats(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = bpk_float_from_bf16(bpk_bf16_from_float(x[i]));
}

void bpk_bf16_round_panels(float *panels, int w, int kc, int count)
{
    /* VDPBF16PS adds a pair's high product (odd k) before its low one, so
     * the float32 kernel is handed each pair of k rows in that order. */
    for (int q = 0; q < count; q++) {
        float *panel = panels + (size_t)q * (size_t)w * (size_t)kc;
        bpk_bf16_round_floats(panel, (size_t)w * (size_t)kc);
        for (int k = 0; k + 1 < kc; k += 2)
            for (int r = 0; r < w; r++) {
                float *lo = panel + (size_t)k * (size_t)w + r, *hi = lo + w, t = *lo;
                *lo = *hi;
                *hi = t;
            }
    }
}

/* Folds panels of [kc][w] floats, in place, into [kc/2 rounded up][w]
 * pairs, rounding each float to bf16.  In place is safe in this order:
 * every write lands at or before both floats it is made of, and every
 * later read lies after it. */
static void fold_pairs_scalar(uint32_t *dst, int w, int kc, int panels)
{
    /* One buffer seen as floats and as pairs: every access goes through
     * memcpy, which may alias anything, so no load is moved past a store. */
    unsigned char *buf = (unsigned char *)dst;
    int kp = (kc + 1) / 2;
    for (int q = 0; q < panels; q++) {
        size_t in = (size_t)q * (size_t)w * (size_t)kc, out = (size_t)q * (size_t)w * (size_t)kp;
        for (int p = 0; p < kp; p++)
            for (int r = 0; r < w; r++) {
                float lo, hi = 0.0f;
                memcpy(&lo, buf + 4 * (in + (size_t)(2 * p) * (size_t)w + (size_t)r), 4);
                if (2 * p + 1 < kc)
                    memcpy(&hi, buf + 4 * (in + (size_t)(2 * p + 1) * (size_t)w + (size_t)r), 4);
                uint32_t pair = bpk_bf16_from_float(lo) | (uint32_t)bpk_bf16_from_float(hi) << 16;
                memcpy(buf + 4 * (out + (size_t)p * (size_t)w + (size_t)r), &pair, 4);
            }
    }
}

void bpk_bf16_pack_pairs(const bpk_impl *im, int w, int kcontig, const float *src, size_t ld,
                         int rows, int kc, uint32_t *dst)
{
    if (im->bf16_pack && im->bf16_pack(w, kcontig, src, ld, rows, kc, dst))
        return; /* in one pass, with the ISA's rounding (VCVTNEPS2BF16) */
    /* The ISA's float32 packing does the gathering and transposing into
     * dst ([panel][k][w] floats), then each panel is folded in place into
     * [panel][k/2][w] pairs. */
    im->pack(w, kcontig, src, ld, rows, kc, (float *)dst);
    fold_pairs_scalar(dst, w, kc, (rows + w - 1) / w);
}

/* ---- the native kernel over plain C "registers" (tests) ----------------- */

typedef struct { float f[16]; } bvec;
typedef struct { uint32_t u[16]; } bpair;

static inline bvec bf16_zero(void) { bvec v; memset(&v, 0, sizeof v); return v; }
static inline bpair bf16_load(const uint32_t *p) { bpair v; memcpy(v.u, p, sizeof v.u); return v; }
static inline bpair bf16_bcast(uint32_t x)
{
    bpair v;
    for (int i = 0; i < 16; i++)
        v.u[i] = x;
    return v;
}
/* Lane i: the high halves' product first, then the low halves' (the
 * instruction's order, measured on Zen 5 and as Intel's manual gives it). */
static inline bvec bf16_dot(bvec acc, bpair a, bpair b)
{
    for (int i = 0; i < 16; i++) {
        float t = bpk_bf16_fma_ftz(acc.f[i], bpk_float_from_bf16((uint16_t)(a.u[i] >> 16)),
                            bpk_float_from_bf16((uint16_t)(b.u[i] >> 16)));
        acc.f[i] = bpk_bf16_fma_ftz(t, bpk_float_from_bf16((uint16_t)a.u[i]),
                             bpk_float_from_bf16((uint16_t)b.u[i]));
    }
    return acc;
}
/* As the AVX-512 epilogue: alpha·x, or alpha·x + beta·C fused. */
static inline void bf16_row_out(float *cr, bvec x0, bvec x1, int nr, float alpha, float beta)
{
    for (int c = 0; c < nr; c++) {
        float x = c < 16 ? x0.f[c] : x1.f[c - 16];
        cr[c] = beta == 0.0f ? alpha * x : fmaf(alpha, x, beta * cr[c]);
    }
}

#define BF16_KERNEL kernel_bf16_simulated
#define BF16_ATTR
#include "bf16_kernel.h"

const bpk_bf16_kernel_fn bpk_bf16_kernel_simulated = kernel_bf16_simulated;

/* ---- which path ----------------------------------------------------------- */

static _Atomic int simulate, simulate_amx;

void bpk_bf16_simulate(int on) { simulate = on != 0; }
void bpk_bf16_simulate_amx(int on) { simulate_amx = on != 0; }

static int emulate_requested(void)
{
    const char *e = getenv("BACKPROP_BF16");
    return e && !strcmp(e, "emulate");
}

int bpk_bf16_path(const bpk_impl *im)
{
    if (emulate_requested())
        return BPK_BF16_EMULATED;
    if (simulate)
        return BPK_BF16_SIMULATED;
    if (simulate_amx)
        return BPK_BF16_AMX_SIMULATED;
    if (!im->kernel_bf16)
        return BPK_BF16_NONE;
    /* AMX only on top of AVX512-BF16 (its packing and epilogue use
     * AVX-512; every AMX CPU has both). */
    return bpk_amx_requested() && bpk_amx_available() ? BPK_BF16_AMX : BPK_BF16_NATIVE;
}

const char *bpk_cpu_bf16_path(void)
{
    switch (bpk_bf16_path(bpk_impl_get())) {
    case BPK_BF16_NATIVE: return "avx512_bf16";
    case BPK_BF16_SIMULATED: return "simulated (tests)";
    case BPK_BF16_AMX: return "amx_bf16";
    case BPK_BF16_AMX_SIMULATED: return "simulated amx (tests)";
    case BPK_BF16_EMULATED: return "emulated (BACKPROP_BF16=emulate)";
    default: return NULL;
    }
}
