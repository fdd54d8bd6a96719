/* Kernel op set: every op against a naive double-precision reference, on every
 * CPU path this machine runs; determinism across thread counts. */
#include "gemm_case.h"

#include <errno.h>
#include <time.h>

#include "kernels/act_scalar.h"
#include "kernels/cpu_internal.h"
#include "kernels/kernels.h"

static const char *const isas[] = {"portable", "avx2", "avx512"};
enum { NISA = 3 };

/* Forces a path; returns 0 (and says so) when this CPU cannot run it. */
static int use_isa(const char *name)
{
    if (!bpk_isa_supported(name)) {
        static int said[NISA];
        for (int i = 0; i < NISA; i++)
            if (!strcmp(isas[i], name) && !said[i]++)
                print_message("[  SKIP    ] %s path: not supported by this CPU\n", name);
        return 0;
    }
    const char *got = bpk_set_isa(name);
    assert_string_equal(got, name);
    return 1;
}

/* ---- sgemm ----------------------------------------------------------------- */

/* Runs the case into a fresh C (NaN-filled when beta == 0) and returns it. */
static float *case_run(const gemm_case *g, bpk_pool *pool)
{
    float *C = case_new_c(g);
    bpk_cpu_sgemm(pool, g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B, g->ldb, g->beta,
              C, g->ldc);
    return C;
}

static void case_check(const gemm_case *g, const float *C, const char *isa)
{
    case_check_with(g, C, NULL, isa);
}

static void test_sgemm_sizes(void **state)
{
    (void)state;
    static const int sizes[] = {1, 7, 17, 65, 129};
    bpk_pool *pool = bpk_pool_create(2, NULL);
    assert_non_null(pool);
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (int t = 0; t < 4; t++)
            for (int a = 0; a < 5; a++)
                for (int b = 0; b < 5; b++)
                    for (int c = 0; c < 5; c += 2) {
                        int M = sizes[a], N = sizes[b], K = sizes[c];
                        if (M * N * K > 129 * 129 * 17 && (a + b + c + t) % 3)
                            continue; /* keep the run short; every variant still sees big sizes */
                        gemm_case g;
                        float alpha = (a + b) % 2 ? 1.0f : -0.75f;
                        float beta = (a + c + t) % 3 == 0 ? 0.0f : (b % 2 ? 1.0f : 0.5f);
                        case_init(&g, t & 1, t >> 1, M, N, K, (a + b + c) % 3 == 1 ? 3 : 0,
                                  alpha, beta);
                        float *C = case_run(&g, pool);
                        case_check(&g, C, isas[is]);
                        free(C);
                        case_free(&g);
                    }
    }
    bpk_pool_free(pool);
    bpk_set_isa(NULL);
}

/* The MLP shapes, every transpose variant, alpha/beta cases, padded ld. */
static void test_sgemm_mlp_shapes(void **state)
{
    (void)state;
    static const int shapes[][3] = {
        {128, 512, 784}, {128, 256, 512}, {128, 10, 256}, {512, 784, 128}, {1, 128, 784},
        {1, 784, 128}, {128, 784, 1}, {10, 128, 1}, {33, 300, 1000},
    };
    bpk_pool *pool = bpk_pool_create(2, NULL);
    assert_non_null(pool);
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++) {
                if (is == 0 && shapes[s][0] * shapes[s][1] > 70000 && t != 1)
                    continue; /* the portable path is slow; its other variants run above */
                gemm_case g;
                float beta = t == 0 ? 0.0f : t == 1 ? 1.0f : t == 2 ? -0.5f : 0.0f;
                case_init(&g, t == 3 || t == 2, t == 1 || t == 3, shapes[s][0], shapes[s][1],
                          shapes[s][2], (int)s % 2 ? 5 : 0, t == 2 ? 0.125f : 1.0f, beta);
                float *C = case_run(&g, pool);
                case_check(&g, C, isas[is]);
                free(C);
                case_free(&g);
            }
    }
    bpk_pool_free(pool);
    bpk_set_isa(NULL);
}

static void test_sgemm_edge_cases(void **state)
{
    (void)state;
    float C[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    float A[2] = {1, 2}, B[3] = {1, 2, 3};
    /* K = 0, beta = 0: C becomes 0 without being read. */
    bpk_cpu_sgemm(NULL, 0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.0f, C, 3);
    for (int i = 0; i < 6; i++)
        assert_true(C[i] == 0.0f);
    /* alpha = 0, beta = 2 scales C. */
    for (int i = 0; i < 6; i++)
        C[i] = (float)i;
    bpk_cpu_sgemm(NULL, 0, 0, 2, 3, 1, 0.0f, A, 1, B, 3, 2.0f, C, 3);
    for (int i = 0; i < 6; i++)
        assert_true(C[i] == 2.0f * (float)i);
    /* M = 0, N = 0: nothing happens. */
    bpk_cpu_sgemm(NULL, 0, 0, 0, 3, 1, 1.0f, A, 1, B, 3, 0.0f, C, 3);
    bpk_cpu_sgemm(NULL, 0, 0, 2, 0, 1, 1.0f, A, 1, B, 3, 0.0f, C, 3);
    assert_true(C[5] == 10.0f);
}

/* Same bits for 1, 2 and 3 threads, on every path, for every variant. */
static void test_sgemm_deterministic(void **state)
{
    (void)state;
    static const int shapes[][3] = {
        {128, 512, 784}, {512, 784, 128}, {128, 10, 256}, {65, 129, 1000}, {7, 300, 17},
        {200, 40, 700},
        /* split along N: A packed once for all tiles, in several row blocks × K
         * slices; split along M with N wider than a column block: B likewise */
        {300, 800, 700}, {3300, 3100, 9},
        /* tall, several K slices: tiles capped to stay in L2 (cap_tall_tiles),
         * on 1 thread too, with op(B) packed once */
        {2500, 300, 700},
        /* batch 1, large enough that the gemv is split into slices over the pool */
        {1, 512, 784}, {1, 257, 300}, {1, 1000, 131},
    };
    bpk_pool *pools[3] = {bpk_pool_create(1, NULL), bpk_pool_create(2, NULL), bpk_pool_create(3, NULL)};
    for (int p = 0; p < 3; p++)
        assert_non_null(pools[p]);
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++) {
                if (is == 0 && t != (int)s % 4)
                    continue;
                gemm_case g;
                case_init(&g, t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], 1,
                          0.5f, s % 2 ? 1.0f : 0.0f);
                float *C1 = case_run(&g, pools[0]);
                if (g.M == 1 || (g.M == 2500 && t == 0))
                    case_check(&g, C1, isas[is]);
                for (int p = 1; p < 3; p++) {
                    float *Cp = case_run(&g, pools[p]);
                    for (size_t i = 0; i < (size_t)g.M * g.ldc; i++)
                        if (memcmp(&C1[i], &Cp[i], sizeof(float)) != 0 && !(isnan(C1[i]) && isnan(Cp[i])))
                            fail_msg("%s sgemm ta=%d tb=%d %dx%dx%d: element %zu differs "
                                     "between 1 and %d threads (%.9g vs %.9g)",
                                     isas[is], g.ta, g.tb, g.M, g.N, g.K, i, p + 1, C1[i], Cp[i]);
                    free(Cp);
                }
                free(C1);
                case_free(&g);
            }
    }
    for (int p = 0; p < 3; p++)
        bpk_pool_free(pools[p]);
    bpk_set_isa(NULL);
}

/* ---- pool ------------------------------------------------------------------- */

static void count_task(void *ctx, int t)
{
    int *hits = ctx;
    hits[t]++;
}

static void test_pool(void **state)
{
    (void)state;
    /* kernels/ sets errno, not a message (nn/ words it; docs/layers.md). */
    errno = 0;
    assert_null(bpk_pool_create(0, NULL));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(bpk_pool_create(1025, NULL));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(bpk_pool_threads(NULL), 1);
    for (int threads = 1; threads <= 4; threads++) {
        bpk_pool *pool = bpk_pool_create(threads, NULL);
        assert_non_null(pool);
        assert_int_equal(bpk_pool_threads(pool), threads);
        int hits[100];
        for (int rep = 0; rep < 300; rep++) {
            int n = rep % 100;
            memset(hits, 0, sizeof hits);
            bpk_pool_run(pool, n, count_task, hits);
            for (int i = 0; i < n; i++)
                assert_int_equal(hits[i], 1);
            if (rep % 100 == 99)
                nanosleep(&(struct timespec){0, 2000000}, NULL); /* let the workers sleep */
        }
        bpk_pool_free(pool);
    }
    int hits[3] = {0};
    bpk_pool_run(NULL, 3, count_task, hits);
    assert_true(hits[0] == 1 && hits[1] == 1 && hits[2] == 1);
}

/* ---- element-wise --------------------------------------------------------------- */

static double act_ref(bp_activation act, double s, double slope)
{
    switch (act) {
    case BP_ACT_SIGMOID: return 1.0 / (1.0 + exp(-s));
    case BP_ACT_TANH: return tanh(s);
    case BP_ACT_RELU: return s > 0 ? s : 0;
    case BP_ACT_LEAKY_RELU: return s > 0 ? s : slope * s;
    default: return s;
    }
}

static void check_rel(const char *what, const char *isa, size_t i, double got, double want,
                      double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want) + 1e-37))
        fail_msg("%s (%s) element %zu: %.9g, expected %.9g", what, isa, i, got, want);
}

static void test_bias_act_forward(void **state)
{
    (void)state;
    enum { R = 37, Ccols = 67 };
    bpk_pool *pool = bpk_pool_create(2, NULL);
    float *s0 = rand_buf(R * Ccols), *bias = rand_buf(Ccols);
    float *s = malloc(sizeof(float) * R * Ccols), *a = malloc(sizeof(float) * R * Ccols);
    for (int i = 0; i < R * Ccols; i++)
        s0[i] *= (i % 5 == 0) ? 40.0f : 4.0f; /* reach the exp tails */
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (int act = 0; act < BP_ACT_COUNT_; act++)
            for (int wb = 0; wb < 2; wb++) {
                memcpy(s, s0, sizeof(float) * R * Ccols);
                bpk_cpu_bias_act_forward(pool, s, a, R, Ccols, wb ? bias : NULL, (bp_activation)act,
                                     0.02f);
                for (int i = 0; i < R; i++) {
                    double mx = -INFINITY, sum = 0;
                    for (int j = 0; j < Ccols; j++) {
                        double sv = (double)s0[i * Ccols + j] + (wb ? bias[j] : 0.0f);
                        float sf = (float)sv;
                        assert_true(s[i * Ccols + j] == sf);
                        mx = fmax(mx, sf);
                    }
                    /* s − max is rounded to float by the kernel: the reference does the same. */
                    for (int j = 0; j < Ccols; j++)
                        sum += exp((double)(float)(s[i * Ccols + j] - (float)mx));
                    for (int j = 0; j < Ccols; j++) {
                        double sv = s[i * Ccols + j];
                        double want = act == BP_ACT_SOFTMAX ? exp((double)(float)(sv - mx)) / sum
                                                            : act_ref((bp_activation)act, sv, 0.02f);
                        check_rel(bp_activation_name((bp_activation)act), isas[is],
                                  (size_t)i * Ccols + j, a[i * Ccols + j], want, 2e-6);
                    }
                }
            }
    }
    /* Same bits with and without the pool (rows are split among threads). */
    {
        enum { BR = 256, BC = 300 };
        float *x = rand_buf(BR * BC), *s1 = malloc(sizeof(float) * BR * BC);
        float *s2 = malloc(sizeof(float) * BR * BC), *a1 = malloc(sizeof(float) * BR * BC);
        float *a2 = malloc(sizeof(float) * BR * BC), *bb = rand_buf(BC);
        for (int is = 0; is < NISA; is++) {
            if (!use_isa(isas[is]))
                continue;
            for (int act = 0; act < BP_ACT_COUNT_; act++) {
                memcpy(s1, x, sizeof(float) * BR * BC);
                memcpy(s2, x, sizeof(float) * BR * BC);
                bpk_cpu_bias_act_forward(NULL, s1, a1, BR, BC, bb, (bp_activation)act, 0.01f);
                bpk_cpu_bias_act_forward(pool, s2, a2, BR, BC, bb, (bp_activation)act, 0.01f);
                assert_memory_equal(s1, s2, sizeof(float) * BR * BC);
                assert_memory_equal(a1, a2, sizeof(float) * BR * BC);
            }
        }
        free(x), free(s1), free(s2), free(a1), free(a2), free(bb);
    }
    free(s0), free(bias), free(s), free(a);
    bpk_pool_free(pool);
    bpk_set_isa(NULL);
}

/* Dense sweep of exp-based activations against libm (float in, double out). */
static void test_activation_accuracy(void **state)
{
    (void)state;
    enum { N = 20001 };
    float *s = malloc(sizeof(float) * N), *a = malloc(sizeof(float) * N);
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        static const bp_activation acts[] = {BP_ACT_SIGMOID, BP_ACT_TANH};
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < N; i++)
                s[i] = (float)((i - N / 2) * 0.0045); /* -45 … 45 */
            bpk_cpu_bias_act_forward(NULL, s, a, 1, N, NULL, acts[k], 0.0f);
            for (int i = 0; i < N; i++)
                check_rel(bp_activation_name(acts[k]), isas[is], (size_t)i, a[i],
                          act_ref(acts[k], s[i], 0), 1e-6);
        }
        /* Softmax of a wide range: exp down into the subnormals. */
        float row[9] = {0, -1, -10, -50, -87, -90, -100, -103, 3};
        float out[9];
        bpk_cpu_bias_act_forward(NULL, row, out, 1, 9, NULL, BP_ACT_SOFTMAX, 0);
        double sum = 0;
        for (int j = 0; j < 9; j++)
            sum += exp((double)row[j] - 3.0);
        for (int j = 0; j < 7; j++)
            check_rel("softmax", isas[is], (size_t)j, out[j], exp((double)row[j] - 3.0) / sum, 1e-6);
        /* NaN goes through. */
        float nan_in[3] = {NAN, 0, 1}, nan_out[3];
        bpk_cpu_bias_act_forward(NULL, nan_in, nan_out, 1, 3, NULL, BP_ACT_SIGMOID, 0);
        assert_true(isnan(nan_out[0]));
        nan_in[0] = NAN;
        bpk_cpu_bias_act_forward(NULL, nan_in, nan_out, 1, 3, NULL, BP_ACT_TANH, 0);
        assert_true(isnan(nan_out[0]));
    }
    free(s), free(a);
    bpk_set_isa(NULL);
}

static void test_act_backward(void **state)
{
    (void)state;
    enum { N = 203 };
    float *s = rand_buf(N), *d0 = rand_buf(N), a[N], d[N];
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (int act = 0; act < BP_ACT_SOFTMAX; act++) {
            for (int i = 0; i < N; i++) {
                s[i] = i % 7 == 0 ? 0.0f : s[i];
                a[i] = (float)act_ref((bp_activation)act, s[i], 0.1);
            }
            memcpy(d, d0, sizeof d);
            bpk_cpu_act_backward(d, s, a, N, (bp_activation)act, 0.1f);
            for (int i = 0; i < N; i++) { /* f' as kernels/act_scalar.h defines it */
                double fp = bpk_act_deriv_scalar((bp_activation)act, s[i], a[i], 0.1f);
                check_rel("act_backward", isas[is], (size_t)i, d[i], d0[i] * fp, 1e-6);
            }
        }
    }
    free(s), free(d0);
    bpk_set_isa(NULL);
}

static void test_col_sum(void **state)
{
    (void)state;
    bpk_pool *pool = bpk_pool_create(2, NULL);
    static const int shapes[][2] = {{1, 1}, {3, 7}, {128, 512}, {300, 333}, {64, 1000}};
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int R = shapes[s][0], Cn = shapes[s][1];
            float *X = rand_buf((size_t)R * Cn), *o1 = malloc(sizeof(float) * Cn),
                  *o2 = malloc(sizeof(float) * Cn);
            bpk_cpu_col_sum(NULL, X, R, Cn, 0.25f, o1);
            bpk_cpu_col_sum(pool, X, R, Cn, 0.25f, o2);
            assert_memory_equal(o1, o2, sizeof(float) * Cn);
            for (int j = 0; j < Cn; j++) {
                /* Fixed order: rows ascending in float, then scaled. */
                float acc = 0;
                for (int i = 0; i < R; i++)
                    acc += X[(size_t)i * Cn + j];
                assert_true(o1[j] == acc * 0.25f);
            }
            free(X), free(o1), free(o2);
        }
    }
    bpk_pool_free(pool);
    bpk_set_isa(NULL);
}

/* ---- batch 1 -------------------------------------------------------------------- */

static void test_batch1(void **state)
{
    (void)state;
    static const int shapes[][2] = {{128, 784}, {10, 128}, {1, 1}, {7, 17}, {33, 65}, {5, 8}};
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
            int M = shapes[sh][0], K = shapes[sh][1], ld = K + (int)sh % 2 * 3;
            float *W = rand_buf((size_t)M * ld), *x = rand_buf(K), *x2 = rand_buf(K);
            float *d = rand_buf(M), *bias = rand_buf(M), *y = malloc(sizeof(float) * K + 4);
            float *W2 = malloc(sizeof(float) * M * ld), *y2 = malloc(sizeof(float) * M + 4);
            float *y3 = malloc(sizeof(float) * M + 4);
            /* sgemv */
            bpk_cpu_sgemv(M, K, W, ld, x, bias, y2);
            for (int i = 0; i < M; i++) {
                double acc = bias[i], mag = fabs(bias[i]);
                for (int k = 0; k < K; k++)
                    acc += (double)W[(size_t)i * ld + k] * x[k], mag += fabs(W[(size_t)i * ld + k] * x[k]);
                assert_close(y2[i], acc, 2e-6 * mag + 1e-7);
            }
            /* sgemv_t */
            bpk_cpu_sgemv_t(M, K, W, ld, d, y);
            for (int k = 0; k < K; k++) {
                double acc = 0, mag = 0;
                for (int i = 0; i < M; i++)
                    acc += (double)W[(size_t)i * ld + k] * d[i], mag += fabs(W[(size_t)i * ld + k] * d[i]);
                assert_close(y[k], acc, 2e-6 * mag + 1e-7);
            }
            /* sger, and the fused sger + sgemv gives the same bits as the two ops */
            memcpy(W2, W, sizeof(float) * M * ld);
            bpk_cpu_sger(M, K, -0.1f, d, x, W2, ld);
            for (int i = 0; i < M; i++)
                for (int k = 0; k < ld; k++) {
                    double want = k < K ? W[(size_t)i * ld + k] + (double)(-0.1f * d[i]) * x[k]
                                        : W[(size_t)i * ld + k];
                    assert_close(W2[(size_t)i * ld + k], want, 1e-6);
                }
            bpk_cpu_sgemv(M, K, W2, ld, x2, bias, y2);
            float *W3 = malloc(sizeof(float) * M * ld);
            memcpy(W3, W, sizeof(float) * M * ld);
            bpk_cpu_sger_sgemv(M, K, -0.1f, d, x, W3, ld, x2, bias, y3);
            assert_memory_equal(W2, W3, sizeof(float) * M * ld);
            assert_memory_equal(y2, y3, sizeof(float) * M);
            /* sgemm with one row goes through the batch-1 path: still right. */
            bpk_cpu_sgemm(NULL, 0, 1, 1, M, K, 1.0f, x2, K, W2, ld, 0.0f, y3, M);
            for (int i = 0; i < M; i++)
                assert_close(y3[i], y2[i] - bias[i], 2e-5 * (1 + fabs(y2[i])));
            free(W), free(x), free(x2), free(d), free(bias), free(y), free(W2), free(y2),
                free(y3), free(W3);
        }
    }
    bpk_set_isa(NULL);
}

/* ---- optimizers ------------------------------------------------------------------ */

static void test_optimizers(void **state)
{
    (void)state;
    enum { N = 1003 };
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        float *w0 = rand_buf(N), *g = rand_buf(N), *m0 = rand_buf(N), *v0 = rand_buf(N);
        float w[N], m[N], v[N];
        for (int i = 0; i < N; i++)
            v0[i] = fabsf(v0[i]);
        memcpy(w, w0, sizeof w);
        bpk_cpu_sgd_update(w, g, N, 0.1f);
        for (int i = 0; i < N; i++)
            assert_close(w[i], w0[i] - 0.1 * g[i], 1e-6 * (fabs(w0[i]) + fabs(g[i])));
        for (int nest = 0; nest < 2; nest++) {
            memcpy(w, w0, sizeof w);
            memcpy(v, v0, sizeof v);
            bpk_cpu_momentum_update(w, v, g, N, 0.1f, 0.9f, nest);
            for (int i = 0; i < N; i++) {
                double vi = 0.9 * v0[i] + g[i];
                assert_close(v[i], vi, 1e-6 * (fabs(v0[i]) + fabs(g[i])));
                assert_close(w[i], w0[i] - 0.1 * (nest ? g[i] + 0.9 * vi : vi), 2e-6);
            }
        }
        for (int wd = 0; wd < 2; wd++) {
            memcpy(w, w0, sizeof w);
            memcpy(m, m0, sizeof m);
            memcpy(v, v0, sizeof v);
            float c1 = 1 - powf(0.9f, 3), c2 = 1 - powf(0.999f, 3), dec = wd ? 0.01f : 0.0f;
            bpk_cpu_adam_update(w, m, v, g, N, 1e-3f, 0.9f, 0.999f, 1e-8f, c1, c2, dec);
            for (int i = 0; i < N; i++) {
                double wi = w0[i] - 1e-3 * dec * w0[i];
                double mi = 0.9 * m0[i] + 0.1 * g[i];
                double vi = 0.999 * v0[i] + 0.001 * (double)g[i] * g[i];
                wi -= 1e-3 * (mi / c1) / (sqrt(vi / c2) + 1e-8);
                assert_close(m[i], mi, 1e-6);
                assert_close(v[i], vi, 1e-6);
                assert_close(w[i], wi, 1e-6);
            }
        }
        memcpy(w, w0, sizeof w);
        memcpy(v, v0, sizeof v);
        bpk_cpu_rmsprop_update(w, v, g, N, 1e-2f, 0.9f, 1e-8f);
        for (int i = 0; i < N; i++) {
            double vi = 0.9 * v0[i] + 0.1 * (double)g[i] * g[i];
            assert_close(v[i], vi, 1e-6);
            assert_close(w[i], w0[i] - 1e-2 * g[i] / (sqrt(vi) + 1e-8), 2e-6);
        }
        free(w0), free(g), free(m0), free(v0);
    }
    bpk_set_isa(NULL);
}

/* Every path's optimizer steps give the portable path's bits (the model
 * files of one run are the same on every CPU), over lengths that leave
 * tails of several sizes for the vector loops, with and without weight
 * decay.  (A 16-lane Adam was tried on Zen 5 and bought nothing measurable:
 * the step streams 28 bytes per parameter through L3, and that, not the
 * divider, bounds it.) */
static void test_optimizers_same_bits_every_isa(void **state)
{
    (void)state;
    enum { N = 16 * 41 + 15 };
    float *w0 = rand_buf(N), *g = rand_buf(N), *m0 = rand_buf(N), *v0 = rand_buf(N);
    for (int i = 0; i < N; i++)
        v0[i] = fabsf(v0[i]) * 1e-3f;
    static float want[3][4][3][N], got[3][N]; /* [op][length][w, m, v] */
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (int op = 0; op < 3; op++)
            for (int t = 0; t < 4; t++) {
                int n = N - 5 * t; /* 671, 666, 661, 656: tails of 7, 2, 5, 0 after 8 lanes */
                float *w = got[0], *m = got[1], *v = got[2];
                memcpy(w, w0, sizeof got[0]);
                memcpy(m, m0, sizeof got[1]);
                memcpy(v, v0, sizeof got[2]);
                float c1 = 1 - powf(0.9f, 7), c2 = 1 - powf(0.999f, 7);
                if (op == 2)
                    bpk_cpu_rmsprop_update(w, v, g, (size_t)n, 1e-2f, 0.9f, 1e-8f);
                else
                    bpk_cpu_adam_update(w, m, v, g, (size_t)n, 1e-3f, 0.9f, 0.999f, 1e-8f, c1, c2,
                                        op ? 0.01f : 0.0f);
                if (is == 0)
                    memcpy(want[op][t], got, sizeof got);
                else if (memcmp(want[op][t], got, sizeof got) != 0)
                    fail_msg("%s: the %s step of %d floats differs in its bits from the portable "
                             "path's", isas[is], op == 2 ? "RMSprop" : op ? "AdamW" : "Adam", n);
            }
    }
    bpk_set_isa(NULL);
    free(w0), free(g), free(m0), free(v0);
}

/* Every path's packing (sgemm's panels, cpu_internal.h's bpk_pack_fn) gives
 * the portable path's floats, bit for bit: both layouts, widths of the
 * A and B panels, partial last panels, depths with and without a tail after
 * whole 8-float blocks, NaN and −0 among the values (packing only moves). */
static void test_pack_every_isa(void **state)
{
    (void)state;
    const int rows_list[] = {1, 5, 8, 9, 31, 33, 64, 70};
    const int kc_list[] = {1, 3, 8, 13, 64, 196};
    enum { MAXF = 96 * 196 + 64 }; /* the most: 3 panels of 32, depth 196, slack; 64 B a multiple */
    /* panels are 64-byte aligned (the paths store whole aligned vectors) */
    float *src = malloc(sizeof(float) * 80 * 210), *want = aligned_alloc(64, sizeof(float) * MAXF),
          *got = aligned_alloc(64, sizeof(float) * MAXF);
    assert_true(src && want && got);
    for (int i = 0; i < 80 * 210; i++)
        src[i] = (float)((i * 2654435761u) % 100003u) * 0.01f - 500.0f;
    src[17] = NAN;
    src[211] = -0.0f;
    const bpk_impl *portable = &bpk_impl_portable;
    for (int is = 1; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        const bpk_impl *im = bpk_impl_get();
        const int widths[] = {im->mr, im->nr, 8};
        for (int wi = 0; wi < 3; wi++)
            for (int kcontig = 0; kcontig <= 1; kcontig++)
                for (size_t ri = 0; ri < sizeof rows_list / sizeof *rows_list; ri++)
                    for (size_t ki = 0; ki < sizeof kc_list / sizeof *kc_list; ki++) {
                        int w = widths[wi], rows = rows_list[ri], kc = kc_list[ki];
                        size_t ld = kcontig ? (size_t)kc + 3 : (size_t)rows + 5;
                        size_t n = (size_t)((rows + w - 1) / w) * (size_t)w * (size_t)kc;
                        memset(want, 0x7f, sizeof(float) * MAXF);
                        memset(got, 0x7f, sizeof(float) * MAXF);
                        portable->pack(w, kcontig, src, ld, rows, kc, want);
                        im->pack(w, kcontig, src, ld, rows, kc, got);
                        if (memcmp(want, got, n * sizeof(float)) != 0)
                            fail_msg("%s: packing w %d, %s, %d rows, depth %d differs from the "
                                     "portable path's", isas[is], w,
                                     kcontig ? "rows along k" : "columns along k", rows, kc);
                    }
    }
    bpk_set_isa(NULL);
    free(src), free(want), free(got);
}

/* A product over op(B) packed beforehand (bpk_cpu_pack_b: bp_predict's
 * passes over fixed weights) gives the bits of the same product packing for
 * itself: every path, both layouts of A and B, K of one slice and of several
 * (the last shorter), N not a multiple of the micro-tile, tall M (tiles
 * along M, where B would be packed once for all tiles), beta 0 and not,
 * 1-3 threads; and one row, which reads B as it is. */
static void test_sgemm_packed_b_same_bits(void **state)
{
    (void)state;
    /* K 787 and 401: a last slice shallower than the others on every path */
    const int shapes[][3] = {{2, 10, 24}, {7, 33, 5}, {128, 512, 784}, {300, 40, 300},
                             {2500, 64, 200}, {1, 300, 784}, {45, 1, 390}, {128, 512, 787},
                             {600, 70, 401}};
    bpk_pool *pools[3] = {NULL, bpk_pool_create(2, NULL), bpk_pool_create(3, NULL)};
    assert_true(pools[1] && pools[2]);
    for (int is = 0; is < NISA; is++) {
        if (!use_isa(isas[is]))
            continue;
        for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
            for (int tr = 0; tr < 4; tr++) {
                int M = shapes[sh][0], N = shapes[sh][1], K = shapes[sh][2];
                int ta = tr & 1, tb = tr >> 1;
                int lda = ta ? M + 3 : K + 1, ldb = tb ? K + 2 : N + 5, ldc = N + 7;
                float *A = rand_buf((size_t)(ta ? K : M) * lda);
                float *B = rand_buf((size_t)(tb ? N : K) * ldb);
                float *C0 = rand_buf((size_t)M * ldc);
                float *want = malloc(sizeof(float) * M * ldc), *got = malloc(sizeof(float) * M * ldc);
                assert_true(want && got);
                for (int p = 0; p < 3; p++) {
                    float beta = p == 1 ? 0.5f : 0.0f;
                    bpk_packed_b *pb = bpk_cpu_pack_b(pools[p], tb, N, K, B, ldb);
                    assert_non_null(pb);
                    memcpy(want, C0, sizeof(float) * M * ldc);
                    memcpy(got, C0, sizeof(float) * M * ldc);
                    bpk_cpu_sgemm(pools[p], ta, tb, M, N, K, 0.75f, A, lda, B, ldb, beta, want,
                                  ldc);
                    bpk_cpu_sgemm_packed_b(pools[p], ta, M, 0.75f, A, lda, pb, beta, got, ldc);
                    bpk_packed_b_free(pb);
                    if (memcmp(want, got, sizeof(float) * M * ldc) != 0)
                        fail_msg("%s: %d×%d×%d (A%s, B%s), %d threads: B packed beforehand "
                                 "gives other bits", isas[is], M, N, K, ta ? "ᵀ" : "",
                                 tb ? "ᵀ" : "", p + 1);
                }
                free(A), free(B), free(C0), free(want), free(got);
            }
    }
    bpk_set_isa(NULL);
    for (int p = 0; p < 3; p++)
        bpk_pool_free(pools[p]);
}

static void test_isa_choice(void **state)
{
    (void)state;
    assert_true(bpk_isa_supported("portable"));
    assert_string_equal(bpk_set_isa("portable"), "portable");
    assert_string_equal(bpk_isa(), "portable");
    /* Asking for more than the CPU has falls back, never crashes. */
    const char *got = bpk_set_isa("avx512");
    assert_string_equal(got, bpk_isa_supported("avx512") ? "avx512"
                             : bpk_isa_supported("avx2") ? "avx2" : "portable");
    got = bpk_set_isa("nonsense");
    assert_non_null(got);
    bpk_set_isa(NULL);
    print_message("[  INFO    ] CPU path in use: %s\n", bpk_isa());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isa_choice),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_pack_every_isa),
        cmocka_unit_test(test_sgemm_edge_cases),
        cmocka_unit_test(test_sgemm_packed_b_same_bits),
        cmocka_unit_test(test_sgemm_sizes),
        cmocka_unit_test(test_sgemm_mlp_shapes),
        cmocka_unit_test(test_sgemm_deterministic),
        cmocka_unit_test(test_bias_act_forward),
        cmocka_unit_test(test_activation_accuracy),
        cmocka_unit_test(test_act_backward),
        cmocka_unit_test(test_col_sum),
        cmocka_unit_test(test_batch1),
        cmocka_unit_test(test_optimizers),
        cmocka_unit_test(test_optimizers_same_bits_every_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
