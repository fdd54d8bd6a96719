/* int8 inference: the portable, AVX2 and VNNI (simulated and native)
 * kernels give the same integers, VNNI is the default where it runs; a
 * quantized digits net agrees with its float32 self; the QINT section round
 * trips and a damaged one is refused naming the file. */
#include "testutil.h"

#include <zlib.h>

#include "kernels/int8.h"
#include "kernels/kernels.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}
static int8_t rand_s8(void) { return (int8_t)((int)(next_u32() % 255u) - 127); }
/* A variable's value before a test changes it (NULL: unset), and putting it
 * back (freeing the copy). */
static char *env_save(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}
static void env_restore(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

static int8_t *rand_s8_buf(size_t n)
{
    int8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = rand_s8();
    return p;
}

static int have_avx2(void)
{
    if (bpk_isa_supported("avx2"))
        return 1;
    print_message("[  SKIP    ] avx2 path: not supported by this CPU\n");
    return 0;
}

/* C (M × N, row stride ldc) is the reference's, and its padding columns
 * (N..ldc−1) still hold the 0x5a bytes they were filled with. */
static void assert_product(const int32_t *ref, const int32_t *C, int M, int N, int ldc)
{
    int32_t pad;
    memset(&pad, 0x5a, sizeof pad);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++)
            assert_int_equal(C[(size_t)i * ldc + j], j < N ? ref[(size_t)i * ldc + j] : pad);
}

typedef int (*vnni_gemm)(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                         int ldb, const bpk_s8_panels *panels, int32_t *C, int ldc);

/* The VNNI GEMMs' code over plain C arrays, on any CPU (their loops,
 * packing, edges and unsigned-offset correction), then on VPDPBUSD where the
 * CPU has it: the 512-bit (8 × 32 tile) and the 256-bit AVX-VNNI (6 × 16)
 * one; then the AMX-INT8 GEMM's code over C arrays (32 × 32 blocks of four
 * TDPBSSD tiles) and on AMX where BACKPROP_AMX=1 and it is granted; each
 * with B packed per call and with its panels packed beforehand (one set of
 * panels for all six: the layout is shared). */
static void check_vnni(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                       const int32_t *ref, int ldc)
{
    const struct {
        vnni_gemm f;
        int runs;
    } gemms[] = {{bpk_gemm_s8_vnni_simulated, 1},
                 {bpk_gemm_s8_vnni, bpk_int8_vnni_supported()},
                 {bpk_gemm_s8_avxvnni_simulated, 1},
                 {bpk_gemm_s8_avxvnni, bpk_int8_avxvnni_supported()},
                 {bpk_gemm_s8_amx_simulated, 1},
                 {bpk_gemm_s8_amx, bpk_int8_amx_enabled()}};
    int32_t *C = malloc((size_t)M * ldc * 4);
    bpk_s8_panels *p = bpk_s8_panels_pack(N, K, B, ldb);
    assert_true(C && p);
    for (size_t g = 0; g < sizeof gemms / sizeof gemms[0]; g++)
        for (int packed = 0; packed <= 1 && gemms[g].runs; packed++) {
            memset(C, 0x5a, (size_t)M * ldc * 4);
            int rc = gemms[g].f(M, N, K, A, lda, B, ldb, packed ? p : NULL, C, ldc);
            assert_int_equal(rc, 0);
            assert_product(ref, C, M, N, ldc);
        }
    bpk_s8_panels_free(p);
    free(C);
}

/* A (M × K) and B (N × K), random or all at ±127 (amax, bmax ≠ 0), their
 * reference product checked against a plain sum in 64 bits, then every
 * other GEMM against it. */
static void check_shape(int M, int N, int K, int amax, int bmax)
{
    int lda = K + 3, ldb = K + 1, ldc = N + 2;
    int8_t *A = malloc((size_t)M * lda), *B = malloc((size_t)N * ldb);
    int32_t *C0 = malloc((size_t)M * ldc * 4), *C1 = malloc((size_t)M * ldc * 4);
    assert_true(A && B && C0 && C1);
    for (size_t i = 0; i < (size_t)M * lda; i++)
        A[i] = amax ? (int8_t)amax : rand_s8();
    for (size_t i = 0; i < (size_t)N * ldb; i++)
        B[i] = bmax ? (int8_t)bmax : rand_s8();
    memset(C0, 0x5a, (size_t)M * ldc * 4);
    bpk_gemm_s8_portable(M, N, K, A, lda, B, ldb, C0, ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            int64_t ref = 0;
            for (int k = 0; k < K; k++)
                ref += (int64_t)A[(size_t)i * lda + k] * B[(size_t)j * ldb + k];
            assert_int_equal(C0[(size_t)i * ldc + j], ref);
        }
    if (bpk_isa_supported("avx2")) {
        memset(C1, 0x5a, (size_t)M * ldc * 4);
        bpk_gemm_s8_avx2(M, N, K, A, lda, B, ldb, C1, ldc);
        assert_product(C0, C1, M, N, ldc);
    }
    check_vnni(M, N, K, A, lda, B, ldb, C0, ldc);
    free(A);
    free(B);
    free(C0);
    free(C1);
}

/* Shapes with every tail: K not a multiple of 16, M not of 4, N odd. */
static void test_gemm_paths_agree(void **state)
{
    (void)state;
    static const int shapes[][3] = {{1, 1, 1},    {3, 5, 7},     {4, 2, 16},   {5, 3, 17},
                                    {8, 10, 64},  {13, 7, 100},  {7, 6, 63},   {9, 4, 65},
                                    {64, 33, 785}, {2, 1, 65536}};
    have_avx2();
    if (!bpk_int8_vnni_supported())
        print_message("[  SKIP    ] avx512_vnni GEMM: not supported by this CPU (simulated only)\n");
    if (!bpk_int8_avxvnni_supported())
        print_message("[  SKIP    ] avx_vnni GEMM: not supported by this CPU (simulated only)\n");
    if (!bpk_int8_amx_enabled())
        print_message("[  SKIP    ] amx_int8 GEMM: needs BACKPROP_AMX=1 and a CPU and OS that "
                      "grant AMX-INT8 (simulated only)\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_shape(shapes[s][0], shapes[s][1], shapes[s][2], 0, 0);
}

/* The VNNI GEMMs on every edge of their micro-tiles, 8 × 32 in 16-column
 * halves and 6 × 16 in 8-column halves (M, N; 48 = 3 panels of 32, 6 tiles
 * of 16), and of their groups of four k (K); the AMX GEMM on the edges of
 * its 16-row and 16-column tiles, 32 × 32 blocks and 64-deep k steps (M,
 * N around 16, 32 and 64; K around 64 and 128, and 784 = 12 steps and a
 * partial one). */
static void test_vnni_tile_edges(void **state)
{
    (void)state;
    static const int Ms[] = {1, 2, 5, 6, 7, 8, 9, 12, 13, 15, 16, 17, 31, 32, 33, 64, 65, 129},
                     Ns[] = {1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100},
                     Ks[] = {1, 3, 4, 5, 63, 64, 65, 127, 128, 129, 784};
    for (size_t m = 0; m < sizeof Ms / sizeof Ms[0]; m++)
        for (size_t n = 0; n < sizeof Ns / sizeof Ns[0]; n++)
            for (size_t k = 0; k < sizeof Ks / sizeof Ks[0]; k++)
                check_shape(Ms[m], Ns[n], Ks[k], 0, 0);
}

/* The largest sums, of both signs, at the longest K: the unsigned sums of
 * a + 128 wrap past 2^31 and the correction must undo it modulo 2^32 (7 × 17:
 * a partial second tile both ways in each VNNI kernel, a partial tile of
 * each kind in the AMX one, 1024 whole k steps). */
static void test_vnni_extremes(void **state)
{
    (void)state;
    for (int a = -127; a <= 127; a += 254)
        for (int b = -127; b <= 127; b += 254)
            check_shape(7, 17, BPK_INT8_MAX_K, a, b);
}

/* The AVX2 dequantization gives the portable bits, with and without the
 * zero-point correction, on every tail of eight columns. */
static void test_dequantize_paths_agree(void **state)
{
    (void)state;
    if (!have_avx2())
        return;
    enum { M = 3, N = 19, LD = 21 };
    int32_t C[M * LD], corr[N];
    float scale[N], o0[M * LD], o1[M * LD];
    for (int i = 0; i < M * LD; i++)
        C[i] = (int32_t)next_u32() >> (i % 9); /* large and small */
    for (int j = 0; j < N; j++) {
        corr[j] = (int32_t)(next_u32() % 2000001u) - 1000000;
        scale[j] = (float)(next_u32() % 100000u + 1u) * 1e-9f;
    }
    for (int n = 0; n <= N; n++)
        for (int c = 0; c <= 1; c++) {
            memset(o0, 0, sizeof o0);
            memset(o1, 0, sizeof o1);
            bpk_dequantize_s32_portable(C, LD, M, n, c ? corr : NULL, scale, o0, LD);
            bpk_dequantize_s32_avx2(C, LD, M, n, c ? corr : NULL, scale, o1, LD);
            assert_memory_equal(o0, o1, sizeof o0);
        }
}

/* The GEMM bpk_int8_path() should name under the current ISA with
 * BACKPROP_INT8 capping it at `cap` (0 avx2, 1 avxvnni, 2 vnni). */
static const char *expected_path(int cap)
{
    if (!strcmp(bpk_isa(), "portable"))
        return "portable";
    if (cap >= 2 && !strcmp(bpk_isa(), "avx512") && bpk_int8_amx_enabled())
        return "amx_int8";
    if (cap >= 2 && !strcmp(bpk_isa(), "avx512") && bpk_int8_vnni_supported())
        return "avx512_vnni";
    return cap >= 1 && bpk_int8_avxvnni_supported() ? "avx_vnni" : "avx2";
}

/* The path under each BACKPROP_INT8 (unset, "vnni", "avxvnni", "avx2" and
 * an unknown value, which is the default) is the one expected, and each
 * GEMM it takes gives the integers of the first. */
static void check_paths(const int8_t *A, const int8_t *B, int M, int N, int K, int32_t *C0,
                        int32_t *C1)
{
    static const char *const env[] = {NULL, "vnni", "avxvnni", "avx2", "no-such-path"};
    static const int cap[] = {2, 2, 1, 0, 2};
    print_message("int8 path: %s (isa %s)\n", bpk_int8_path(), bpk_isa());
    for (int v = 0; v < 5; v++) {
        if (env[v])
            setenv("BACKPROP_INT8", env[v], 1); /* the unknown one warns once on stderr */
        else
            unsetenv("BACKPROP_INT8");
        assert_string_equal(bpk_int8_path(), expected_path(cap[v]));
        memset(C1, 0x5a, (size_t)M * N * 4);
        bpk_gemm_s8(M, N, K, A, K, B, K, v ? C1 : C0, N);
        if (v)
            assert_memory_equal(C0, C1, (size_t)M * N * 4);
    }
}

/* Where the CPU has AVX512-VNNI and the avx512 path runs, int8 takes it by
 * default; where it has AVX-VNNI and the avx2 path runs (or the avx512 one
 * without AVX512-VNNI), the 256-bit GEMM; BACKPROP_INT8 caps the choice.
 * Under every ISA the CPU runs. */
static void test_default_path(void **state)
{
    (void)state;
    char *saved = env_save("BACKPROP_INT8");
    enum { M = 37, N = 45, K = 300 };
    int8_t *A = rand_s8_buf(M * K), *B = rand_s8_buf(N * K);
    int32_t *C0 = malloc(M * N * 4), *C1 = malloc(M * N * 4);
    assert_true(C0 && C1);
    static const char *const isas[] = {NULL, "avx512", "avx2", "portable"};
    for (int i = 0; i < 4; i++)
        if (!isas[i] || bpk_isa_supported(isas[i])) {
            bpk_set_isa(isas[i]);
            check_paths(A, B, M, N, K, C0, C1);
        }
    /* the case AVX-VNNI was added for: the avx2 path on a CPU that has it */
    if (bpk_int8_avxvnni_supported()) {
        unsetenv("BACKPROP_INT8");
        bpk_set_isa("avx2");
        assert_string_equal(bpk_int8_path(), "avx_vnni");
    }
    bpk_set_isa(NULL);
    env_restore("BACKPROP_INT8", saved);
    free(A);
    free(B);
    free(C0);
    free(C1);
}

/* The AMX path through the dispatch: simulated (the test hook), it is named
 * and gives the reference's integers, with B packed per call and with the
 * panels a model keeps; BACKPROP_AMX=1 on a CPU or OS without AMX-INT8
 * changes nothing (the path is the one without it, said once on stderr);
 * with it granted, the native one runs (checked by the GEMM tests). */
static void test_amx_dispatch(void **state)
{
    (void)state;
    enum { M = 45, N = 37, K = 333 };
    int8_t *A = rand_s8_buf(M * K), *B = rand_s8_buf(N * K);
    int32_t *C0 = malloc(M * N * 4), *C1 = malloc(M * N * 4);
    assert_true(C0 && C1);
    bpk_gemm_s8_portable(M, N, K, A, K, B, K, C0, N);
    bpk_s8_panels *p = bpk_s8_panels_pack(N, K, B, K);
    assert_non_null(p);
    bpk_int8_simulate_amx(1);
    assert_string_equal(bpk_int8_path(), "amx_int8_simulated");
    for (int packed = 0; packed <= 1; packed++) {
        memset(C1, 0x5a, M * N * 4);
        bpk_gemm_s8_panels(M, N, K, A, K, B, K, packed ? p : NULL, C1, N);
        assert_memory_equal(C0, C1, M * N * 4);
    }
    bpk_int8_simulate_amx(0);
    char *saved = env_save("BACKPROP_AMX"), *cap = env_save("BACKPROP_INT8");
    unsetenv("BACKPROP_INT8"); /* the automatic choice, whatever the caller exported */
    setenv("BACKPROP_AMX", "1", 1);
    assert_string_equal(bpk_int8_path(), expected_path(2));
    if (!bpk_int8_amx_enabled())
        print_message("[  SKIP    ] native amx_int8 dispatch: not granted here (path %s)\n",
                      bpk_int8_path());
    memset(C1, 0x5a, M * N * 4);
    bpk_gemm_s8_panels(M, N, K, A, K, B, K, p, C1, N);
    assert_memory_equal(C0, C1, M * N * 4);
    env_restore("BACKPROP_AMX", saved);
    env_restore("BACKPROP_INT8", cap);
    bpk_s8_panels_free(p);
    free(A);
    free(B);
    free(C0);
    free(C1);
}

static void test_quantize_paths_agree(void **state)
{
    (void)state;
    /* half-way cases round to even; out of range clamps; NaN is -127 */
    float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 126.5f, 127.4f, 1e9f, -1e9f,
                 INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 3.49999f, 3.5f, -3.5f, 100.0f};
    const int8_t want[] = {0, 2, 2, 0, -2, 126, 127, 127, -127, 127, -127, -127, 0, 0, 3, 4, -4,
                           100};
    enum { N = sizeof x / sizeof x[0], BIG = 1000 };
    int8_t q0[N], q1[N];
    bpk_quantize_s8_portable(x, N, 1.0f, 0, q0);
    assert_memory_equal(q0, want, N);
    /* with the zero point: [0, 254] − 127, NaN and negatives the low end */
    float u[] = {0.0f, 0.5f, 1.5f, 126.5f, 254.0f, 300.0f, -3.0f, NAN, 127.0f};
    const int8_t uwant[] = {-127, -127, -125, -1, 127, 127, -127, -127, 0};
    enum { NU = sizeof u / sizeof u[0] };
    int8_t u0[NU], u1[NU];
    bpk_quantize_s8_portable(u, NU, 1.0f, 127, u0);
    assert_memory_equal(u0, uwant, NU);
    float *r = malloc(BIG * sizeof *r);
    int8_t *p0 = malloc(BIG), *p1 = malloc(BIG);
    assert_true(r && p0 && p1);
    for (int i = 0; i < BIG; i++)
        r[i] = ((float)(int32_t)next_u32() / 2147483648.0f) * 3.0f;
    if (have_avx2()) {
        bpk_quantize_s8_avx2(x, N, 1.0f, 0, q1);
        assert_memory_equal(q1, want, N);
        bpk_quantize_s8_avx2(u, NU, 1.0f, 127, u1);
        assert_memory_equal(u1, uwant, NU);
        for (int zero = 0; zero <= 127; zero += 127) {
            bpk_quantize_s8_portable(r, BIG, 127.0f / 2.0f, zero, p0);
            for (size_t n = 0; n <= 17; n++) { /* every tail length */
                memset(p1, 0, BIG);
                bpk_quantize_s8_avx2(r, n, 127.0f / 2.0f, zero, p1);
                assert_memory_equal(p0, p1, n);
            }
            bpk_quantize_s8_avx2(r, BIG, 127.0f / 2.0f, zero, p1);
            assert_memory_equal(p0, p1, BIG);
        }
    }
    free(r);
    free(p0);
    free(p1);
}

/* A digits classifier trained for a few epochs, and its train/test split. */
typedef struct {
    bp_dataset *all, *train, *test;
    bp_net *net;
} digits;

static void digits_setup(digits *d)
{
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.task = 1;
    assert_ok(bp_dataset_read_csv(&d->all, "data/digits.csv", &o));
    assert_ok(bp_dataset_split_stratified(d->all, 0.25, 3, &d->train, &d->test));
    bp_layer_spec L[3] = {BP_LAYER(64, BP_ACT_RELU, 1, 0), BP_LAYER(32, BP_ACT_TANH, 1, 0),
                          BP_LAYER(10, BP_ACT_SOFTMAX, 1, 0)};
    assert_ok(bp_net_create(&d->net, 64, 3, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(d->net, BP_INIT_HE, 7));
    assert_ok(bp_net_fit_scaling(d->net, d->train, BP_SCALE_STANDARD));
    bp_train_options t;
    bp_train_options_default(&t);
    t.epochs = 15;
    t.threads = 1;
    t.seed = 5;
    assert_ok(bp_train(d->net, d->train, NULL, &t));
}

static void digits_free(digits *d)
{
    bp_net_free(d->net);
    bp_dataset_free(d->all);
    bp_dataset_free(d->train);
    bp_dataset_free(d->test);
}

static void test_digits_agreement(void **state)
{
    (void)state;
    digits d;
    digits_setup(&d);
    bp_qnet *q;
    assert_ok(bp_quantize(&q, d.net, bp_dataset_x_const(d.train), bp_dataset_rows(d.train)));
    size_t rows = bp_dataset_rows(d.test);
    float *f = malloc(rows * 10 * sizeof *f), *g = malloc(rows * 10 * sizeof *g);
    bp_workspace *ws;
    assert_ok(bp_workspace_create(&ws, d.net, 64, 1));
    assert_ok(bp_predict(d.net, ws, bp_dataset_x_const(d.test), rows, f));
    assert_ok(bp_qnet_predict(q, bp_dataset_x_const(d.test), rows, g));
    size_t same = 0;
    for (size_t r = 0; r < rows; r++)
        same += bp_predicted_class(f + 10 * r, 10) == bp_predicted_class(g + 10 * r, 10);
    print_message("int8 vs fp32 top class: %zu of %zu agree\n", same, rows);
    assert_true(same * 100 >= rows * 99);
    bp_metrics m32, m8;
    bp_metrics_init(&m32);
    bp_metrics_init(&m8);
    assert_ok(bp_evaluate(d.net, d.test, 1, &m32));
    assert_ok(bp_qnet_evaluate(q, d.test, &m8));
    print_message("accuracy fp32 %.4f int8 %.4f\n", m32.accuracy, m8.accuracy);
    assert_true(m8.accuracy >= m32.accuracy - 0.005);
    assert_true(m32.accuracy > 0.9);
    /* the same outputs on every path: the integers are the same, and the
     * float steps after them are the portable ones */
    if (have_avx2()) {
        float *h = malloc(rows * 10 * sizeof *h);
        bpk_set_isa("portable");
        assert_ok(bp_qnet_predict(q, bp_dataset_x_const(d.test), rows, h));
        bpk_set_isa("avx2");
        float *k = malloc(rows * 10 * sizeof *k);
        assert_ok(bp_qnet_predict(q, bp_dataset_x_const(d.test), rows, k));
        bpk_set_isa(NULL);
        for (size_t r = 0; r < rows; r++)
            assert_int_equal(bp_predicted_class(h + 10 * r, 10),
                             bp_predicted_class(k + 10 * r, 10));
        free(h);
        free(k);
    }
    /* the simulated AMX GEMM, on the model's own panels: the same outputs */
    float *h = malloc(rows * 10 * sizeof *h);
    bpk_int8_simulate_amx(1);
    assert_ok(bp_qnet_predict(q, bp_dataset_x_const(d.test), rows, h));
    bpk_int8_simulate_amx(0);
    assert_memory_equal(g, h, rows * 10 * sizeof *h);
    free(h);
    bp_metrics_clear(&m32);
    bp_metrics_clear(&m8);
    bp_workspace_free(ws);
    free(f);
    free(g);
    bp_qnet_free(q);
    digits_free(&d);
}

/* Rewrites the CRC so a damaged section gets past the checksum. */
static void fix_crc(unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, p, (uInt)(n - 4));
    p[n - 4] = (unsigned char)c;
    p[n - 3] = (unsigned char)(c >> 8);
    p[n - 2] = (unsigned char)(c >> 16);
    p[n - 1] = (unsigned char)(c >> 24);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    rewind(fp);
    unsigned char *p = malloc(*n);
    assert_int_equal(fread(p, 1, *n, fp), *n);
    fclose(fp);
    return p;
}

static void spit(const char *path, const unsigned char *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

static void test_file_round_trip_and_damage(void **state)
{
    (void)state;
    digits d;
    digits_setup(&d);
    bp_qnet *q, *q2 = NULL;
    assert_ok(bp_quantize(&q, d.net, bp_dataset_x_const(d.train), 200));
    char path[128];
    snprintf(path, sizeof path, "/tmp/bp_test_int8_%ld.q", (long)getpid());
    assert_ok(bp_qnet_save(q, path));
    bp_net *net2 = NULL;
    assert_ok(bp_net_load_quantized(&net2, &q2, path));
    assert_non_null(q2);
    size_t rows = bp_dataset_rows(d.test);
    float *a = malloc(rows * 10 * sizeof *a), *b = malloc(rows * 10 * sizeof *b);
    assert_ok(bp_qnet_predict(q, bp_dataset_x_const(d.test), rows, a));
    assert_ok(bp_qnet_predict(q2, bp_dataset_x_const(d.test), rows, b));
    assert_memory_equal(a, b, rows * 10 * sizeof *a);
    bp_qnet_free(q2);
    bp_net_free(net2);
    /* a loader that ignores QINT reads the float32 model */
    assert_ok(bp_net_load(&net2, path));
    assert_memory_equal(bp_net_params_const(net2), bp_net_params_const(d.net),
                        bp_net_param_count(d.net) * sizeof(float));
    bp_net_free(net2);
    /* not a checkpoint: training cannot resume from it */
    bp_trainer *tr = NULL;
    assert_int_equal(bp_checkpoint_load(path, &net2, &tr), BP_ERR_FORMAT);
    assert_errmsg_contains(path);
    assert_errmsg_contains("int8");
    /* a weight of -128 and a zero scale, with a valid checksum */
    size_t n;
    unsigned char *p = slurp(path, &n);
    unsigned char *sec = NULL;
    for (size_t i = 20; i + 4 <= n; i++)
        if (!memcmp(p + i, "QINT", 4))
            sec = p + i + 16;
    assert_non_null(sec);
    sec[8 + 16 + 4 * 64 + 5] = 0x80; /* layer 1, neuron 1, input 6 */
    fix_crc(p, n);
    spit(path, p, n);
    assert_int_equal(bp_net_load_quantized(&net2, &q2, path), BP_ERR_FORMAT);
    assert_null(net2);
    assert_null(q2);
    assert_errmsg_contains(path);
    assert_errmsg_contains("section QINT: layer 1: weight 6 of neuron 1 is -128");
    sec[8 + 16 + 4 * 64 + 5] = 0;
    memset(sec + 8 + 8, 0, 4); /* layer 1's input scale */
    fix_crc(p, n);
    spit(path, p, n);
    assert_int_equal(bp_net_load_quantized(&net2, &q2, path), BP_ERR_FORMAT);
    assert_errmsg_contains("input scale 0 is not a positive number");
    free(p);
    unlink(path);
    free(a);
    free(b);
    bp_qnet_free(q);
    digits_free(&d);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    bp_layer_spec L[1] = {BP_LAYER(2, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 3, 1, L, BP_LOSS_XENT));
    float x[3] = {1, 2, 3};
    bp_qnet *q = (bp_qnet *)1;
    assert_int_equal(bp_quantize(&q, net, x, 0), BP_ERR_ARG);
    assert_null(q);
    assert_errmsg_contains("calibrat");
    assert_int_equal(bp_quantize(&q, net, NULL, 1), BP_ERR_ARG);
    float bad[6] = {1, 2, 3, 4, INFINITY, 6}; /* row 2 overflows */
    assert_int_equal(bp_quantize(&q, net, bad, 2), BP_ERR_NUMERIC);
    assert_null(q);
    assert_errmsg_contains("layer 1 are not finite");
    assert_int_equal(bp_qnet_predict(NULL, x, 1, x), BP_ERR_ARG);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_paths_agree),
        cmocka_unit_test(test_vnni_tile_edges),
        cmocka_unit_test(test_vnni_extremes),
        cmocka_unit_test(test_dequantize_paths_agree),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_amx_dispatch),
        cmocka_unit_test(test_quantize_paths_agree),
        cmocka_unit_test(test_digits_agreement),
        cmocka_unit_test(test_file_round_trip_and_damage),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
