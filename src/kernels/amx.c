/*
 * AMX-BF16 (Intel Sapphire Rapids and later: TDPBF16PS on 16 × 16 tiles)
 * for the bf16 GEMM: its operand packing, its micro-kernel (amx_kernel.h)
 * compiled natively and over plain C arrays, and whether it may run.
 *
 * OPT-IN and UNTESTED ON HARDWARE: it was written on an AMD Zen 5, which
 * has no AMX, so the native kernel has never run.  It is used only when
 * BACKPROP_AMX=1 asks for it, cpuid reports AMX-BF16 and AMX-TILE, and
 * Linux grants the tile state; everywhere else bf16 runs on VDPBF16PS.
 * The simulated kernel models TDPBF16PS as Intel's manual describes it
 * (tdp_row below); bench/amx_check.sh checks both on an AMX machine.
 *
 * Compiled without any -m flag: the native functions carry target
 * attributes, so nothing here runs an instruction the CPU may lack unless
 * it is called, and it is called only where cpuid says it may be.
 */
#define _DEFAULT_SOURCE /* syscall() */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amx_sim.h"
#include "bf16.h"
#include "cpu_internal.h"

/* ---- packing (both kernels) ------------------------------------------------ */

static inline float a_at(int kcontig, const float *src, size_t ld, int rows, int kc, int r, int k)
{
    if (r >= rows || k >= kc)
        return 0.0f;
    return kcontig ? src[(size_t)r * ld + (size_t)k] : src[(size_t)k * ld + (size_t)r];
}

/* op(A)'s rows [0, rows) of a kc-deep slice into 32-row panels of
 * [kp/16][32 rows][16 pairs] words, kp = bpk_amx_depth(kc): a TDPBF16PS A
 * tile per 16 rows and 16 pairs, 64-byte rows.  A pair word holds k = 2p in
 * its low half, 2p + 1 in its high half; rows past `rows` and k past kc
 * are zero.  Plain C: the rounding is bpk_bf16_from_float, which the tests
 * check equals VCVTNEPS2BF16. */
void bpk_amx_pack_a(int kcontig, const float *src, size_t ld, int rows, int kc, uint32_t *dst)
{
    int kp = bpk_amx_depth(kc);
    for (int q = 0; q < rows; q += 32)
        for (int blk = 0; blk < kp; blk += 16)
            for (int r = q; r < q + 32; r++, dst += 16)
                for (int j = 0; j < 16; j++) {
                    int k = 2 * (blk + j);
                    float lo = a_at(kcontig, src, ld, rows, kc, r, k);
                    float hi = a_at(kcontig, src, ld, rows, kc, r, k + 1);
                    dst[j] = bpk_bf16_from_float(lo) | (uint32_t)bpk_bf16_from_float(hi) << 16;
                }
}

/* op(B)'s columns [0, cols) of a kc-deep slice into 32-column pair panels
 * [kp][32] (bpk_bf16_pack_pairs, the VDPBF16PS kernel's layout), each
 * padded with zero pairs up to kp = bpk_amx_depth(kc).  Panel by panel, in
 * order: bpk_bf16_pack_pairs may use up to 32·kc floats (plus
 * BPK_PACK_SLACK) from its panel's start as scratch, running into the next
 * panel, which is written after it; the buffer holds that much past the
 * last one (sgemm.c sizes it on max(kc, kp) words per row). */
void bpk_amx_pack_b(const bpk_impl *im, int kcontig, const float *src, size_t ld, int cols,
                    int kc, uint32_t *dst)
{
    int kp = (kc + 1) / 2, kpad = bpk_amx_depth(kc);
    for (int q = 0; q < cols; q += 32) {
        uint32_t *panel = dst + (size_t)(q / 32) * 32 * (size_t)kpad;
        int n = cols - q < 32 ? cols - q : 32;
        bpk_bf16_pack_pairs(im, 32, kcontig, kcontig ? src + (size_t)q * ld : src + q, ld, n, kc,
                            panel);
        memset(panel + (size_t)kp * 32, 0, (size_t)(kpad - kp) * 32 * sizeof *panel);
    }
}

/* ---- TDPBF16PS over plain C arrays (tests) --------------------------------- */

/* x + y, rounded to nearest even, a denormal sum flushed to zero. */
static inline float add_ftz(float x, float y)
{
    float r = x + y;
    return fpclassify(r) == FP_SUBNORMAL ? copysignf(0.0f, r) : r;
}

/* One row m of TDPBF16PS (c: the accumulator tile's row, a: the A tile's
 * row, b: the B tile), as the Intel SDM's pseudocode gives it — NOT yet
 * checked against hardware (bench/amx_check.sh does that on an AMX CPU):
 *   for each column n, two float32 sums start at zero: one over the pairs'
 *   low halves (even k), one over their high halves (odd k), each product
 *   added with one rounding (an FMA, nearest even, denormals flushed), k
 *   ascending; then c[n] = c[n] + (even + odd), each add rounded and
 *   flushed.
 * So one instruction's 16 pairs are NOT added one after the other into c
 * (as the intrinsics guide's shorter pseudocode, and VDPBF16PS, do): the
 * even and odd chains meet only at the end.  tests/test_bf16.c's order
 * probe tells these readings apart; if the hardware disagrees, this is the
 * one function to change (and the probe's expectation). */
static void tdp_row(float c[16], const uint32_t a[16], const uint32_t b[16][16])
{
    for (int n = 0; n < 16; n++) {
        float even = 0.0f, odd = 0.0f;
        for (int k = 0; k < 16; k++) {
            even = bpk_bf16_fma_ftz(even, bpk_float_from_bf16((uint16_t)a[k]),
                                    bpk_float_from_bf16((uint16_t)b[k][n]));
            odd = bpk_bf16_fma_ftz(odd, bpk_float_from_bf16((uint16_t)(a[k] >> 16)),
                                   bpk_float_from_bf16((uint16_t)(b[k][n] >> 16)));
        }
        c[n] = add_ftz(c[n], add_ftz(even, odd));
    }
}

static void sim_dp(amx_tiles *s, int c, int a, int b)
{
    for (int m = 0; m < 16; m++) {
        float row[16];
        memcpy(row, s->t[c][m], sizeof row);
        tdp_row(row, s->t[a][m], (const uint32_t(*)[16])s->t[b]);
        memcpy(s->t[c][m], row, sizeof row);
    }
}
/* As the native epilogue: alpha·x, or alpha·x + beta·C fused. */
static void sim_row_out(float *cr, const float *x, int nr, float alpha, float beta)
{
    for (int c = 0; c < nr; c++)
        cr[c] = beta == 0.0f ? alpha * x[c] : fmaf(alpha, x[c], beta * cr[c]);
}

#define AMX_KERNEL amx_kernel_simulated
#define AMX_ATTR
#define AMX_TILES amx_tiles tiles_
#define amx_zero(t) sim_zero(&tiles_, t)
#define amx_load(t, p, stride) sim_load(&tiles_, t, p, stride)
#define amx_dp(c, a, b) sim_dp(&tiles_, c, a, b)
#define amx_store(t, p, stride) sim_store(&tiles_, t, p, stride)
#define amx_row_out sim_row_out
#include "amx_kernel.h"
#undef AMX_KERNEL
#undef AMX_ATTR
#undef AMX_TILES
#undef amx_zero
#undef amx_load
#undef amx_dp
#undef amx_store
#undef amx_row_out

const bpk_bf16_kernel_fn bpk_amx_kernel_simulated = amx_kernel_simulated;

/* ---- the opt-in (both kernels) --------------------------------------------- */

/* BACKPROP_AMX=1 opts in to the AMX kernels, which have never run on AMX
 * hardware (docs/precision.md, docs/performance.md); 0 or unset keeps
 * VDPBF16PS and the VNNI GEMMs; anything else is said once and ignored, as
 * an unknown BACKPROP_ISA is. */
int bpk_amx_requested(void)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    const char *e = getenv("BACKPROP_AMX");
    if (!e || !*e || !strcmp(e, "0"))
        return 0;
    if (!strcmp(e, "1"))
        return 1;
    if (!atomic_flag_test_and_set(&warned))
        fprintf(stderr, "backprop: warning: BACKPROP_AMX is neither 1 nor 0; ignored\n");
    return 0;
}

/* ---- native (x86-64: the AMX intrinsics) ----------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "row_out_avx512.h"

#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f")))

/* LDTILECFG's 64 bytes: palette 1, and every tile 16 rows of 64 bytes. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;
static _Alignas(64) const tile_config amx_cfg = {
    1, 0, {0}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16},
};

/* The tile configuration belongs to a thread (its XSAVE state): each
 * thread that runs an AMX kernel (the pool's workers, a caller's thread)
 * loads it once, on its first call.  The tiles are never released: a later
 * call finds them configured.  One configuration serves every AMX kernel
 * of the library (bf16 here, int8 in int8_amx.c: both use eight 16 × 64-byte
 * tiles), and this one flag says whether this thread has loaded it, so the
 * two never load each other's or a stale one.  (Code that runs TILERELEASE
 * or another configuration on the same thread between two products would
 * break this; the library has none.) */
static _Thread_local int tl_configured;

__attribute__((target("amx-tile"))) void bpk_amx_configure(void)
{
    if (!tl_configured) {
        _tile_loadconfig(&amx_cfg);
        tl_configured = 1;
    }
}

AMX_TARGET static inline void amx_begin(void)
{
    bpk_amx_configure();
    /* The intrinsics' tile loads are asm statements that do not tell the
     * compiler they read memory: no store to the panels may sink below. */
    __asm__ volatile("" ::: "memory");
}

/* A row of the 32-column scratch block into C: the VDPBF16PS kernel's
 * epilogue (row_out_avx512.h).  The fence first: the tile stores that
 * filled x are asm statements that do not tell the compiler they write
 * memory, so its loads of x could otherwise be moved above them. */
AMX_TARGET static inline void amx_row_out_native(float *cr, const float *x, int nr, float alpha,
                                                 float beta)
{
    __asm__ volatile("" ::: "memory");
    bpk_row_out_avx512(cr, _mm512_load_ps(x), _mm512_load_ps(x + 16), nr, alpha, beta);
}

#define AMX_KERNEL amx_kernel_native
#define AMX_ATTR AMX_TARGET
#define AMX_TILES amx_begin()
#define amx_zero(t) _tile_zero(t)
#define amx_load(t, p, stride) _tile_loadd(t, p, stride)
#define amx_dp(c, a, b) _tile_dpbf16ps(c, a, b)
#define amx_store(t, p, stride) _tile_stored(t, p, stride)
#define amx_row_out amx_row_out_native
#include "amx_kernel.h"

const bpk_bf16_kernel_fn bpk_amx_kernel_native = amx_kernel_native;

/* Linux hands out the 8 KiB tile state only on request (arch_prctl). */
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/* cpuid leaf 7 EDX: bit 22 AMX-BF16, bit 24 AMX-TILE, bit 25 AMX-INT8. */
#define AMX_BF16_BIT 22
#define AMX_TILE_BIT 24
#define AMX_INT8_BIT 25

/* The grant is the process's, asked at most once whichever kernel asks
 * first: 0 granted, else the errno. */
static int grant_err;
static pthread_once_t grant_once = PTHREAD_ONCE_INIT;
static void amx_grant(void)
{
    grant_err = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 ? 0 : errno;
}

/* Whether `bit` and AMX-TILE are in cpuid and the tile state is granted
 * (the grant asked only then).  Why not is said once per feature, as
 * "backprop: BACKPROP_AMX=1: <why>; <fallback>": the user asked for AMX. */
static int amx_usable(int bit, const char *feature, const char *fallback)
{
    unsigned a, b, c, d;
    char why[80];
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << bit)) ||
        !(d & (1u << AMX_TILE_BIT))) {
        snprintf(why, sizeof why, "this CPU has no %s", feature);
    } else {
        pthread_once(&grant_once, amx_grant);
        if (grant_err == 0)
            return 1;
        snprintf(why, sizeof why, "%s",
                 grant_err == EINVAL ? "this Linux kernel does not support AMX"
                                     : "Linux refused the AMX tile state");
    }
    fprintf(stderr, "backprop: BACKPROP_AMX=1: %s; %s\n", why, fallback);
    return 0;
}

/* Each feature asked once: in a VM each cpuid is a trip to the
 * hypervisor, and the dispatch asks at every product. */
static int bf16_ok, int8_ok;
static pthread_once_t bf16_once = PTHREAD_ONCE_INIT, int8_once = PTHREAD_ONCE_INIT;
static void bf16_detect(void)
{
    bf16_ok = amx_usable(AMX_BF16_BIT, "AMX-BF16", "bf16 runs on AVX512-BF16");
}
static void int8_detect(void)
{
    int8_ok = amx_usable(AMX_INT8_BIT, "AMX-INT8", "int8 takes its VNNI or AVX2 GEMM");
}

int bpk_amx_available(void)
{
    pthread_once(&bf16_once, bf16_detect);
    return bf16_ok;
}

int bpk_amx_int8_available(void)
{
    pthread_once(&int8_once, int8_detect);
    return int8_ok;
}
#else
const bpk_bf16_kernel_fn bpk_amx_kernel_native = NULL;
int bpk_amx_available(void) { return 0; }
int bpk_amx_int8_available(void) { return 0; }
void bpk_amx_configure(void) {}
#endif
