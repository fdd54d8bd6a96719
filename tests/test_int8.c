/* int8 inference: the portable and AVX2 kernels give the same integers; a
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

static int have_avx2(void)
{
    if (bpk_isa_supported("avx2"))
        return 1;
    print_message("[  SKIP    ] avx2 path: not supported by this CPU\n");
    return 0;
}

/* Shapes with every tail: K not a multiple of 16, M not of 4, N odd. */
static void test_gemm_paths_agree(void **state)
{
    (void)state;
    static const int shapes[][3] = {{1, 1, 1},    {3, 5, 7},     {4, 2, 16},   {5, 3, 17},
                                    {8, 10, 64},  {13, 7, 100},  {7, 6, 63},   {9, 4, 65},
                                    {64, 33, 785}, {2, 1, 65536}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], lda = K + 3, ldb = K + 1,
            ldc = N + 2;
        int8_t *A = malloc((size_t)M * lda), *B = malloc((size_t)N * ldb);
        int32_t *C0 = calloc((size_t)M * ldc, 4), *C1 = calloc((size_t)M * ldc, 4);
        assert_true(A && B && C0 && C1);
        for (size_t i = 0; i < (size_t)M * lda; i++)
            A[i] = rand_s8();
        for (size_t i = 0; i < (size_t)N * ldb; i++)
            B[i] = s == 9 ? -127 : rand_s8(); /* the largest sums */
        if (s == 9)
            memset(A, 127, (size_t)M * lda);
        bpk_gemm_s8_portable(M, N, K, A, lda, B, ldb, C0, ldc);
        /* the reference against a plain sum in 64 bits */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                int64_t ref = 0;
                for (int k = 0; k < K; k++)
                    ref += (int64_t)A[(size_t)i * lda + k] * B[(size_t)j * ldb + k];
                assert_int_equal(C0[(size_t)i * ldc + j], ref);
            }
        if (have_avx2()) {
            bpk_gemm_s8_avx2(M, N, K, A, lda, B, ldb, C1, ldc);
            assert_memory_equal(C0, C1, (size_t)M * ldc * 4);
        }
        /* The VNNI GEMM's code over plain C arrays, on any CPU (its loops,
         * padding and unsigned-offset correction), then on VPDPBUSD where the
         * CPU has it.  Padding columns of C are never written. */
        memset(C1, 0x5a, (size_t)M * ldc * 4);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C1[(size_t)i * ldc + j] = 0;
        int32_t pad;
        memset(&pad, 0x5a, sizeof pad);
        assert_int_equal(bpk_gemm_s8_vnni_simulated(M, N, K, A, lda, B, ldb, C1, ldc), 0);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < ldc; j++)
                assert_int_equal(C1[(size_t)i * ldc + j], j < N ? C0[(size_t)i * ldc + j] : pad);
        if (bpk_int8_vnni_supported()) {
            memset(C1, 0, (size_t)M * ldc * 4);
            assert_int_equal(bpk_gemm_s8_vnni(M, N, K, A, lda, B, ldb, C1, ldc), 0);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                    assert_int_equal(C1[(size_t)i * ldc + j], C0[(size_t)i * ldc + j]);
        } else if (s == 0) {
            print_message("[  SKIP    ] avx512_vnni GEMM: not supported by this CPU (simulated only)\n");
        }
        free(A);
        free(B);
        free(C0);
        free(C1);
    }
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
        cmocka_unit_test(test_quantize_paths_agree),
        cmocka_unit_test(test_digits_agreement),
        cmocka_unit_test(test_file_round_trip_and_damage),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
