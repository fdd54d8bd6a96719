/*
 * bf16 mixed precision (docs/precision.md): the rounding, the bf16 GEMM on
 * each of its paths, and training with --precision bf16.
 *
 * Three ways run a bf16 product: emulated (float32 kernels over operands
 * rounded to bf16), simulated (the AVX512-BF16 kernel's code over plain C
 * arrays) and native (VDPBF16PS).  Emulated and simulated must agree bit for
 * bit on every machine: that checks the native kernel's loops, panel layout,
 * edges and epilogue everywhere.  The native kernel itself runs only where
 * cpuid reports avx512_bf16, and is then checked against them.
 */
#include "gemm_case.h"

#include "kernels/bf16.h"
#include "kernels/cpu_internal.h"
#include "kernels/kernels.h"

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static float round_bf16(float x) { return bpk_float_from_bf16(bpk_bf16_from_float(x)); }

/* ---- rounding ----------------------------------------------------------------- */

static void test_rounding(void **state)
{
    (void)state;
    static const struct {
        uint32_t in;
        uint16_t out;
    } cases[] = {
        {0x3f800000u, 0x3f80}, /* 1 */
        {0x3f808000u, 0x3f80}, /* 1 + 2^-8: a tie, to even (down) */
        {0x3f818000u, 0x3f82}, /* a tie above an odd value: up */
        {0x3f808001u, 0x3f81}, /* just above the tie: up */
        {0x3f807fffu, 0x3f80}, /* just below: down */
        {0xbf808001u, 0xbf81}, /* negative: the magnitude rounds the same way */
        {0x00000000u, 0x0000},
        {0x80000000u, 0x8000},
        {0x7f800000u, 0x7f80}, /* +inf */
        {0xff800000u, 0xff80}, /* -inf */
        {0x7f7fffffu, 0x7f80}, /* FLT_MAX rounds up to inf, as RNE must */
        {0x00018000u, 0x0000}, /* a denormal is flushed to zero, as VCVTNEPS2BF16 does */
        {0x80018000u, 0x8000}, /* keeping its sign */
        {0x007fffffu, 0x0000}, /* even the largest (rounded, it would be FLT_MIN) */
        {0x00800000u, 0x0080}, /* FLT_MIN is normal: kept */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = bpk_bf16_from_float(float_of(cases[i].in));
        if (got != cases[i].out)
            fail_msg("bf16(0x%08x) = 0x%04x, expected 0x%04x", cases[i].in, got, cases[i].out);
    }
    /* NaN stays NaN (a NaN whose payload lies in the low half must not
     * become inf), keeping its sign. */
    uint16_t n1 = bpk_bf16_from_float(float_of(0x7f800001u));
    uint16_t n2 = bpk_bf16_from_float(float_of(0xffc00000u));
    assert_true(isnan(bpk_float_from_bf16(n1)));
    assert_true(isnan(bpk_float_from_bf16(n2)) && (n2 & 0x8000));
    /* Every bf16 value converts back to itself, but a denormal: to zero. */
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float x = bpk_float_from_bf16((uint16_t)h);
        uint16_t want = (h & 0x7f80u) == 0 ? (uint16_t)(h & 0x8000u) : (uint16_t)h;
        if (!isnan(x) && bpk_bf16_from_float(x) != want)
            fail_msg("bf16 0x%04x converts back to 0x%04x", h, bpk_bf16_from_float(x));
    }
    /* 8 significant bits: the error of a rounding is at most 2^-8 of |x|. */
    for (int i = 0; i < 100000; i++) {
        float x = frand() * 1000.0f;
        if (x != 0 && !(fabsf(round_bf16(x) - x) <= fabsf(x) * 0x1p-8f))
            fail_msg("bf16(%.9g) = %.9g: error above 2^-8", x, round_bf16(x));
    }
}

/* ---- the bf16 product ----------------------------------------------------------- */

/* AMX_SIM: the AMX kernel over C arrays; AMX: natively (BACKPROP_AMX=1). */
enum { EMULATED, SIMULATED, NATIVE, FP32, AMX_SIM, AMX };
static const char *const way_name[] = {"emulated", "simulated", "native", "fp32",
                                       "simulated AMX", "native AMX"};

static void way_begin(int way)
{
    if (way == EMULATED)
        setenv("BACKPROP_BF16", "emulate", 1);
    /* Explicitly, so that an exported BACKPROP_AMX=1 (bench/amx_check.sh)
     * turns only the AMX way to AMX. */
    setenv("BACKPROP_AMX", way == AMX ? "1" : "0", 1);
    bpk_bf16_simulate(way == SIMULATED);
    bpk_bf16_simulate_amx(way == AMX_SIM);
}
static void way_end(void)
{
    unsetenv("BACKPROP_BF16");
    unsetenv("BACKPROP_AMX");
    bpk_bf16_simulate(0);
    bpk_bf16_simulate_amx(0);
}

/* Runs the case one way into a fresh C (NaN-filled when beta == 0). */
static float *case_run(const gemm_case *g, bpk_pool *pool, int way)
{
    float *C = case_new_c(g);
    way_begin(way);
    if (way == FP32)
        bpk_cpu_sgemm(pool, g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B, g->ldb,
                      g->beta, C, g->ldc);
    else
        bpk_cpu_sgemm_bf16(pool, g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B,
                           g->ldb, g->beta, C, g->ldc);
    way_end();
    return C;
}

/* Whether the native AMX kernel runs here (AMX-BF16, granted by Linux;
 * the opt-in is the test's).  Elsewhere it says once why not, on stderr. */
static int amx_native(void)
{
    way_begin(AMX);
    const char *path = bpk_cpu_bf16_path();
    way_end();
    return path && !strcmp(path, "amx_bf16");
}

/* C against the product of the bf16-rounded operands in double: only the
 * float32 sums may differ.  Padding between rows is never written. */
static void check_against_rounded(const gemm_case *g, const float *C, const char *what)
{
    char label[64];
    snprintf(label, sizeof label, "%s bf16", what);
    case_check_with(g, C, round_bf16, label);
}

static void assert_same_bits(const gemm_case *g, const float *x, const float *y, const char *a,
                             const char *b)
{
    for (int i = 0; i < g->M; i++)
        for (int j = 0; j < g->N; j++) {
            float u = x[(size_t)i * g->ldc + j], v = y[(size_t)i * g->ldc + j];
            if (bits_of(u) != bits_of(v))
                fail_msg("bf16 gemm ta=%d tb=%d %dx%dx%d alpha=%g beta=%g: %s %.9g != %s %.9g "
                         "at C[%d][%d]", g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->beta, a,
                         (double)u, b, (double)v, i, j);
        }
}

static const int shapes[][3] = {
    {1, 1, 1},    {1, 5, 3},     {7, 33, 1},    {8, 32, 2},    {9, 31, 17},   {17, 65, 255},
    {13, 40, 257}, {64, 96, 300}, {128, 512, 784}, {40, 70, 513}, {3, 200, 1000}, {100, 9, 64},
};

/* Emulated on every CPU path and simulated give the same bits (alpha 1: the
 * float32 kernels' epilogues differ only in how they apply alpha), and both
 * match the rounded operands' product. */
static void test_emulated_equals_simulated(void **state)
{
    (void)state;
    static const char *const isas[] = {"portable", "avx2", "avx512"};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (int b = 0; b < 2; b++) {
                gemm_case g;
                case_init(&g, t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                          (int)(s % 3), 1.0f, b ? 1.0f : 0.0f);
                float *sim = case_run(&g, NULL, SIMULATED);
                check_against_rounded(&g, sim, "simulated");
                for (int i = 0; i < 3; i++) {
                    if (!bpk_isa_supported(isas[i]))
                        continue;
                    bpk_set_isa(isas[i]);
                    float *emu = case_run(&g, NULL, EMULATED);
                    assert_same_bits(&g, emu, sim, isas[i], "simulated");
                    free(emu);
                }
                bpk_set_isa(NULL);
                free(sim);
                case_free(&g);
            }
}

/* Any alpha and beta, each way: right against the reference, and not the
 * float32 product (the operands really are rounded). */
static void test_bf16_gemm_accuracy(void **state)
{
    (void)state;
    int native = bpk_cpu_bf16_path() != NULL;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        gemm_case g;
        case_init(&g, (int)(s & 1), (int)(s >> 1 & 1), shapes[s][0], shapes[s][1], shapes[s][2], 1,
                  s % 2 ? 0.5f : -1.25f, s % 3 ? 0.75f : 0.0f);
        for (int way = EMULATED; way <= NATIVE; way++) {
            if (way == NATIVE && !native)
                continue;
            float *C = case_run(&g, NULL, way);
            check_against_rounded(&g, C, way_name[way]);
            free(C);
        }
        case_free(&g);
    }
    /* A long product of unrounded operands differs from float32. */
    gemm_case g;
    case_init(&g, 0, 1, 16, 16, 784, 0, 1.0f, 0.0f);
    float *bf = case_run(&g, NULL, EMULATED), *fp = case_run(&g, NULL, FP32);
    double worst = 0;
    for (int i = 0; i < 16 * 16; i++)
        worst = fmax(worst, fabs((double)bf[i] - fp[i]));
    assert_true(worst > 1e-4);
    free(bf);
    free(fp);
    case_free(&g);
}

/* Scales every operand by 2^-63, so that products and partial sums fall
 * around FLT_MIN, where VDPBF16PS flushes (and some operands round to 0). */
static void make_tiny(gemm_case *g)
{
    size_t na = (size_t)(g->ta ? g->K : g->M) * g->lda, nb = (size_t)(g->tb ? g->N : g->K) * g->ldb;
    for (size_t i = 0; i < na; i++)
        g->A[i] *= 0x1p-63f;
    for (size_t i = 0; i < nb; i++)
        g->B[i] *= 0x1p-63f;
}

/* Case c of the native kernels' comparisons: every shape, transpose case
 * (alpha and beta vary with it) and, for odd c, operands scaled to 2^-63
 * (make_tiny).  Returns whether the case is tiny. */
#define NATIVE_CASES ((int)(sizeof shapes / sizeof shapes[0]) * 8)
static int native_case(gemm_case *g, int c)
{
    int s = c / 8, t = c / 2 % 4, tiny = c % 2;
    case_init(g, t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], s % 3,
              t == 2 ? -0.75f : 1.0f, t == 3 ? 1.0f : t == 2 ? 0.5f : 0.0f);
    if (tiny)
        make_tiny(g);
    return tiny;
}

/* The native kernel, where the CPU has AVX512-BF16, gives the simulated
 * kernel's bits exactly, for any alpha and beta, and near FLT_MIN too:
 * the simulation is what the instruction does (bf16.c: the high product
 * first, denormal sums flushed).  It first ran on a Zen 5, where the old
 * simulation (low product first) matched 849 of 900 elements. */
static void test_native_kernel(void **state)
{
    (void)state;
    if (!bpk_cpu_bf16_path()) {
        print_message("[  SKIP    ] native bf16 kernel: this CPU has no AVX512-BF16\n");
        return;
    }
    size_t flushed = 0;
    for (int c = 0; c < NATIVE_CASES; c++) {
        gemm_case g;
        int tiny = native_case(&g, c);
        float *nat = case_run(&g, NULL, NATIVE), *sim = case_run(&g, NULL, SIMULATED);
        if (!tiny)
            check_against_rounded(&g, nat, "native");
        assert_same_bits(&g, nat, sim, "native", "simulated");
        if (tiny) {
            float *emu = case_run(&g, NULL, EMULATED);
            for (int i = 0; i < g.M; i++)
                for (int j = 0; j < g.N; j++)
                    flushed += bits_of(emu[(size_t)i * g.ldc + j]) !=
                               bits_of(nat[(size_t)i * g.ldc + j]);
            free(emu);
        } else if (g.alpha == 1.0f) {
            /* Away from FLT_MIN the emulation adds the same terms in
             * the same order (bpk_bf16_round_panels). */
            float *emu = case_run(&g, NULL, EMULATED);
            assert_same_bits(&g, emu, nat, "emulated", "native");
            free(emu);
        }
        free(nat);
        free(sim);
        case_free(&g);
    }
    /* The tiny cases do reach the flushing, or they would test nothing. */
    print_message("[  INFO    ] near FLT_MIN, %zu elements flushed natively but not emulated\n",
                  flushed);
    assert_true(flushed > 0);
}

/* The AVX512-BF16 pair packing (VCVTNEPS2BF16) gives the words the C
 * definition does, in both layouts, for partial panels and odd depths, and
 * rounds exactly as bpk_bf16_from_float: ties, denormals, infinities, NaNs,
 * FLT_MAX, random values.  Nothing past the last panel is written. */
static void test_native_pack(void **state)
{
    (void)state;
    if (!bpk_cpu_bf16_path()) {
        print_message("[  SKIP    ] native bf16 packing: this CPU has no AVX512-BF16\n");
        return;
    }
    static const uint32_t special[] = {
        0x3f808000u, 0x3f818000u, 0x3f807fffu, 0x00018000u, 0x807fffffu, 0x00800000u,
        0x7f7fffffu, 0xff7fffffu, 0x7f800000u, 0xff800000u, 0x7f800001u, 0xffc00000u,
        0x00000000u, 0x80000000u, 0x3f800000u, 0x7fc00001u,
    };
    const int widths[] = {8, 32}, depths[] = {1, 2, 15, 16, 17, 256}, rowss[] = {1, 8, 37, 64};
    for (int wi = 0; wi < 2; wi++)
        for (int di = 0; di < 6; di++)
            for (int ri = 0; ri < 4; ri++)
                for (int kcontig = 0; kcontig < 2; kcontig++) {
                    int w = widths[wi], kc = depths[di], rows = rowss[ri], kp = (kc + 1) / 2;
                    size_t ld = (size_t)(kcontig ? kc : rows) + 3, lines = kcontig ? rows : kc;
                    float *src = malloc(lines * ld * sizeof *src);
                    int panels = (rows + w - 1) / w;
                    size_t words = (size_t)panels * (size_t)w * (size_t)kp;
                    uint32_t *dst = malloc((words + 16) * sizeof *dst);
                    assert_non_null(src);
                    assert_non_null(dst);
                    for (size_t i = 0; i < lines * ld; i++)
                        src[i] = i % 3 ? float_of(special[(i / 3) % 16]) : frand() * 3.0f;
                    for (size_t i = 0; i < words + 16; i++)
                        dst[i] = 0xdeadbeefu;
                    assert_true(bpk_bf16_pack_avx512(w, kcontig, src, ld, rows, kc, dst));
                    for (size_t i = words; i < words + 16; i++)
                        assert_int_equal(dst[i], 0xdeadbeefu);
                    for (int q = 0; q < panels; q++)
                        for (int p = 0; p < kp; p++)
                            for (int c = 0; c < w; c++) {
                                int r = q * w + c;
                                uint16_t half[2] = {0, 0};
                                for (int h = 0; h < 2; h++) {
                                    size_t k = (size_t)(2 * p + h);
                                    size_t at = kcontig ? (size_t)r * ld + k : k * ld + (size_t)r;
                                    if (r < rows && k < (size_t)kc)
                                        half[h] = bpk_bf16_from_float(src[at]);
                                }
                                uint32_t want = half[0] | (uint32_t)half[1] << 16;
                                size_t word = ((size_t)q * (size_t)kp + (size_t)p) * (size_t)w;
                                uint32_t got = dst[word + (size_t)c];
                                if (got != want)
                                    fail_msg("pack w=%d kc=%d rows=%d kcontig=%d: panel %d pair "
                                             "%d row %d: 0x%08x, expected 0x%08x",
                                             w, kc, rows, kcontig, q, p, c, got, want);
                            }
                    free(src);
                    free(dst);
                }
}

/* ---- AMX-BF16 -------------------------------------------------------------------- */

/* The shapes above, and the AMX kernel's own edges: a partial 32 × 32
 * micro-tile, K just under, at and over a k step of 32, and a slice that
 * ends inside a step. */
static const int amx_shapes[][3] = {
    {33, 47, 31}, {32, 32, 32}, {65, 64, 33}, {31, 95, 64}, {200, 40, 600},
};

static void check_amx_case(int ta, int tb, int M, int N, int K, int seed, float alpha, float beta)
{
    gemm_case g;
    case_init(&g, ta, tb, M, N, K, seed, alpha, beta);
    float *C = case_run(&g, NULL, AMX_SIM);
    check_against_rounded(&g, C, "simulated AMX");
    free(C);
    case_free(&g);
}

/* The AMX kernel over C arrays, against the rounded operands' product: its
 * packing, tile loads, k steps, edges and epilogue, for the four transpose
 * cases, any alpha and beta, odd K and several K slices. */
static void test_amx_simulated(void **state)
{
    (void)state;
    static const float ab[][2] = {{1.0f, 0.0f}, {-0.75f, 0.5f}, {1.0f, 1.0f}};
    size_t n1 = sizeof shapes / sizeof shapes[0], n2 = sizeof amx_shapes / sizeof amx_shapes[0];
    for (size_t s = 0; s < n1 + n2; s++) {
        const int *sh = s < n1 ? shapes[s] : amx_shapes[s - n1];
        for (int t = 0; t < 4; t++)
            for (int v = 0; v < 3; v++)
                check_amx_case(t & 1, t >> 1, sh[0], sh[1], sh[2], (int)(s % 3), ab[v][0],
                               ab[v][1]);
    }
}

/* The order a path adds one row's products in, told apart by two 4-term
 * products (exact in bf16) whose float32 sum depends on it:
 *   probe 1: 2^24, 1, -2^24, 0      probe 2: 2^24, 0, 1, -2^24
 * One after the other, each pair low (even k) first: 0 and 0; each pair
 * high first (VDPBF16PS): 0 and 1; even and odd k in two sums that meet at
 * the end (TDPBF16PS as Intel's SDM describes it): 1 and 0. */
enum { ORDER_LOW_FIRST, ORDER_HIGH_FIRST, ORDER_SDM_SPLIT, ORDER_OTHER };
static const char *const order_name[] = {
    "one after the other, low (even k) first", "one after the other, high (odd k) first",
    "even and odd k summed apart, then added (Intel SDM)", "none of the known orders"};

static int order_of(int way)
{
    static const float a[2][4] = {{0x1p12f, 1, -0x1p12f, 0}, {0x1p12f, 0, 1, -0x1p12f}};
    static const float b[2][4] = {{0x1p12f, 1, 0x1p12f, 0}, {0x1p12f, 0, 1, 0x1p12f}};
    float c[2];
    way_begin(way);
    for (int p = 0; p < 2; p++)
        (way == FP32 ? bpk_cpu_sgemm : bpk_cpu_sgemm_bf16)(NULL, 0, 0, 1, 1, 4, 1.0f, a[p], 4,
                                                           b[p], 1, 0.0f, &c[p], 1);
    way_end();
    if (c[0] == 0.0f && c[1] == 0.0f)
        return ORDER_LOW_FIRST;
    if (c[0] == 0.0f && c[1] == 1.0f)
        return ORDER_HIGH_FIRST;
    if (c[0] == 1.0f && c[1] == 0.0f)
        return ORDER_SDM_SPLIT;
    return ORDER_OTHER;
}

/* The probe, checked where the answer is known (float32 FMA chains; the
 * VDPBF16PS simulation, and the instruction where the CPU has it), then
 * the AMX model's answer, and the hardware's where there is AMX. */
static void test_amx_order_probe(void **state)
{
    (void)state;
    assert_int_equal(order_of(FP32), ORDER_LOW_FIRST);
    assert_int_equal(order_of(SIMULATED), ORDER_HIGH_FIRST);
    assert_int_equal(order_of(EMULATED), ORDER_HIGH_FIRST);
    if (bpk_cpu_bf16_path())
        assert_int_equal(order_of(NATIVE), ORDER_HIGH_FIRST);
    assert_int_equal(order_of(AMX_SIM), ORDER_SDM_SPLIT);
    if (amx_native())
        print_message("[  INFO    ] AMX order: hardware %s; the model %s\n",
                      order_name[order_of(AMX)], order_name[ORDER_SDM_SPLIT]);
}

/* Where the CPU has AMX: the native kernel against the rounded operands'
 * product, and against its simulation.  The simulation models Intel's
 * manual and has never been checked against hardware, so until it has
 * (bench/amx_check.sh), this counts the bit-identical elements and
 * accepts what float32 rounding can explain; once they agree everywhere,
 * assert_same_bits belongs here, as in test_native_kernel. */
static void test_amx_native(void **state)
{
    (void)state;
    if (!amx_native()) {
        print_message("[  SKIP    ] native AMX kernel: no AMX-BF16 here (or Linux refused it)\n");
        return;
    }
    size_t same = 0, all = 0, tiny_same = 0, tiny_all = 0;
    for (int c = 0; c < NATIVE_CASES; c++) {
        gemm_case g;
        int tiny = native_case(&g, c);
        float *nat = case_run(&g, NULL, AMX), *sim = case_run(&g, NULL, AMX_SIM);
        if (!tiny)
            check_against_rounded(&g, nat, "native AMX");
        for (int i = 0; i < g.M; i++)
            for (int j = 0; j < g.N; j++) {
                int eq = bits_of(nat[(size_t)i * g.ldc + j]) ==
                         bits_of(sim[(size_t)i * g.ldc + j]);
                *(tiny ? &tiny_same : &same) += (size_t)eq;
                *(tiny ? &tiny_all : &all) += 1;
            }
        free(nat);
        free(sim);
        case_free(&g);
    }
    print_message("[  INFO    ] native vs simulated AMX: %zu of %zu elements bit-identical; "
                  "near FLT_MIN %zu of %zu\n", same, all, tiny_same, tiny_all);
}

/* Bits never depend on the thread count, on any way. */
static void test_bf16_threads(void **state)
{
    (void)state;
    static const int big[][3] = {{128, 512, 784}, {512, 784, 128}, {300, 800, 700}, {128, 10, 256}};
    bpk_pool *pools[3] = {NULL, bpk_pool_create(2, NULL), bpk_pool_create(3, NULL)};
    assert_non_null(pools[1]);
    assert_non_null(pools[2]);
    int native = bpk_cpu_bf16_path() != NULL, amx = amx_native();
    for (size_t s = 0; s < sizeof big / sizeof big[0]; s++)
        for (int way = EMULATED; way <= AMX; way++) {
            if ((way == NATIVE && !native) || (way == AMX && !amx) || way == FP32)
                continue;
            gemm_case g;
            case_init(&g, (int)(s & 1), (int)(s >> 1 & 1), big[s][0], big[s][1], big[s][2], 0,
                      0.25f, 0.0f);
            float *one = case_run(&g, pools[0], way);
            for (int p = 1; p < 3; p++) {
                float *many = case_run(&g, pools[p], way);
                assert_same_bits(&g, many, one, p == 1 ? "2 threads" : "3 threads", "1 thread");
                free(many);
            }
            free(one);
            case_free(&g);
        }
    bpk_pool_free(pools[1]);
    bpk_pool_free(pools[2]);
}

/* ---- training ------------------------------------------------------------------- */

enum { ROWS = 300, INPUTS = 12, CLASSES = 3 };

static bp_dataset *make_data(void)
{
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, ROWS, INPUTS, CLASSES));
    float *x = bp_dataset_x(ds), *y = bp_dataset_y(ds);
    int32_t labels[ROWS];
    for (int r = 0; r < ROWS; r++) {
        float sum = 0;
        for (int i = 0; i < INPUTS; i++) {
            x[r * INPUTS + i] = frand();
            sum += x[r * INPUTS + i] * (float)(i % 4 - 1.5);
        }
        labels[r] = sum < -1.0f ? 0 : sum < 1.0f ? 1 : 2;
        for (int k = 0; k < CLASSES; k++)
            y[r * CLASSES + k] = k == labels[r];
    }
    assert_ok(bp_dataset_set_labels(ds, labels, CLASSES));
    return ds;
}

static bp_net *make_net(void)
{
    bp_layer_spec layers[3] = {BP_LAYER(40, BP_ACT_RELU, 1, BP_SLOPE_DEFAULT),
                               BP_LAYER(24, BP_ACT_TANH, 1, BP_SLOPE_DEFAULT),
                               BP_LAYER(CLASSES, BP_ACT_SOFTMAX, 1, BP_SLOPE_DEFAULT)};
    bp_net *net;
    assert_ok(bp_net_create(&net, INPUTS, 3, layers, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 11));
    return net;
}

static bp_train_options bf16_options(int threads)
{
    bp_train_options o;
    bp_train_options_default(&o);
    o.epochs = 8;
    o.batch_size = 32;
    o.learning_rate = 0.01f;
    o.dropout = 0.1f;
    o.threads = threads;
    o.precision = BP_PRECISION_BF16;
    return o;
}

static bp_net *train_copy(const bp_net *net0, const bp_dataset *ds, const bp_train_options *o)
{
    bp_net *net;
    assert_ok(bp_net_clone(net0, &net));
    assert_ok(bp_train(net, ds, NULL, o));
    return net;
}

static double mean_loss(bp_net *net, const bp_dataset *ds)
{
    bp_metrics m;
    bp_metrics_init(&m);
    assert_ok(bp_evaluate(net, ds, 1, &m));
    double loss = m.loss;
    bp_metrics_clear(&m);
    return loss;
}

/* bf16 training learns as float32 does, but is not float32; its bits do not
 * depend on the thread count; the checked backend (a stand-in device) agrees. */
static void test_train_bf16(void **state)
{
    (void)state;
    setenv("BACKPROP_BF16", "emulate", 1);
    bp_dataset *ds = make_data();
    bp_net *net0 = make_net();
    bp_train_options o = bf16_options(1);
    bp_net *bf = train_copy(net0, ds, &o);
    o.threads = 2;
    bp_net *bf2 = train_copy(net0, ds, &o);
    setenv("BACKPROP_DEVICE", "checked", 1);
    bp_net *bfc = train_copy(net0, ds, &o);
    unsetenv("BACKPROP_DEVICE");
    o.precision = BP_PRECISION_FP32;
    bp_net *fp = train_copy(net0, ds, &o);
    size_t n = bp_net_param_count(net0);
    assert_memory_equal(bp_net_params_const(bf2), bp_net_params_const(bf), n * sizeof(float));
    assert_memory_equal(bp_net_params_const(bfc), bp_net_params_const(bf), n * sizeof(float));
    assert_memory_not_equal(bp_net_params_const(fp), bp_net_params_const(bf), n * sizeof(float));
    double l0 = mean_loss(net0, ds), lb = mean_loss(bf, ds), lf = mean_loss(fp, ds);
    print_message("[  INFO    ] loss: start %.4f, fp32 %.4f, bf16 %.4f\n", l0, lf, lb);
    assert_true(lb < 0.5 * l0);
    assert_true(fabs(lb - lf) < 0.1 * lf + 0.01);
    bp_net_free(bf);
    bp_net_free(bf2);
    bp_net_free(bfc);
    bp_net_free(fp);
    bp_net_free(net0);
    bp_dataset_free(ds);
    unsetenv("BACKPROP_BF16");
}

/* Without a bf16 path bf16 is refused, saying why; an unknown precision is
 * an argument error. */
static void test_refusals(void **state)
{
    (void)state;
    bp_net *net = make_net();
    bp_trainer *tr = NULL;
    bp_train_options o = bf16_options(1);
    bp_status st = bp_trainer_create(&tr, net, &o);
    if (bpk_cpu_bf16_path()) {
        assert_ok(st);
        bp_trainer_free(tr);
    } else {
        assert_int_equal(st, BP_ERR_UNSUPPORTED);
        assert_non_null(strstr(bp_errmsg(), "AVX512-BF16"));
        assert_non_null(strstr(bp_errmsg(), "BACKPROP_BF16=emulate"));
        assert_null(tr);
    }
    o.precision = 7;
    assert_int_equal(bp_trainer_create(&tr, net, &o), BP_ERR_ARG);
    assert_non_null(strstr(bp_errmsg(), "precision"));
    bp_net_free(net);
}

/* A checkpoint keeps the precision, and a resumed bf16 run ends on the same
 * bits as an unbroken one. */
static void test_checkpoint_keeps_precision(void **state)
{
    (void)state;
    setenv("BACKPROP_BF16", "emulate", 1);
    bp_dataset *ds = make_data();
    bp_net *net0 = make_net();
    bp_train_options o = bf16_options(1);
    bp_net *whole = train_copy(net0, ds, &o);

    bp_net *half;
    assert_ok(bp_net_clone(net0, &half));
    o.epochs = 3;
    bp_trainer *tr;
    assert_ok(bp_trainer_create(&tr, half, &o));
    assert_ok(bp_trainer_run(tr, ds, NULL));
    char path[] = "/tmp/bp_bf16_ckpt_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_ok(bp_checkpoint_save(tr, path));
    bp_trainer_free(tr);
    bp_net_free(half);

    bp_net *resumed;
    assert_ok(bp_checkpoint_load(path, &resumed, &tr));
    assert_int_equal(bp_trainer_options(tr)->precision, BP_PRECISION_BF16);
    bp_trainer_set_epochs(tr, 8);
    assert_ok(bp_trainer_run(tr, ds, NULL));
    assert_memory_equal(bp_net_params_const(resumed), bp_net_params_const(whole),
                        bp_net_param_count(net0) * sizeof(float));
    bp_trainer_free(tr);
    bp_net_free(resumed);

    /* Without a bf16 path the checkpoint is refused, not resumed in fp32. */
    unsetenv("BACKPROP_BF16");
    if (!bpk_cpu_bf16_path()) {
        assert_int_not_equal(bp_checkpoint_load(path, &resumed, &tr), BP_OK);
        assert_non_null(strstr(bp_errmsg(), "bf16"));
    }
    unlink(path);
    bp_net_free(whole);
    bp_net_free(net0);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_emulated_equals_simulated),
        cmocka_unit_test(test_bf16_gemm_accuracy),
        cmocka_unit_test(test_native_kernel),
        cmocka_unit_test(test_native_pack),
        cmocka_unit_test(test_amx_simulated),
        cmocka_unit_test(test_amx_order_probe),
        cmocka_unit_test(test_amx_native),
        cmocka_unit_test(test_bf16_threads),
        cmocka_unit_test(test_train_bf16),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_checkpoint_keeps_precision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
