/*
 * Every op of the CUDA backend against the CPU backend (portable path) on
 * random data: relative error ≤ 1e-4 (TF32 is off), exact where the op's
 * contract fixes the order or only moves data (copies, fill, masks, gathers,
 * col_sum, sum_vectors, scale, mul, axpy, count_correct, find_nonfinite).
 * Every activation, loss and optimizer.  The whole set runs twice and the
 * GPU's results must hash the same both times (and, across processes,
 * tests/gpu/check_gpu.sh compares the printed hash).
 *
 * Plain C: the loader and the CPU backend come from libbackprop.a, the GPU
 * code from libbackprop_cuda.so at run time.  With no GPU it runs the same
 * harness with the checked backend in the GPU's place (which aborts on any
 * pointer that is not its own memory: the test hands ops device memory where
 * a GPU needs it), then prints one line saying why the GPU part was skipped
 * and exits 0 (so `make check` runs it), unless --require (make check-gpu),
 * where no GPU is a failure.
 *
 *   test_cuda_ops [--require]     BACKPROP_CUDA_LIB picks the library
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/kernels.h"

typedef struct tcase {
    bpk_backend *cpu, *gpu;
    bp_rng rng;
    int checks, failures;
    uint64_t hash; /* FNV-1a over every GPU result downloaded */
} tcase;

/* One tensor in both backends' memory. */
typedef struct pair {
    float *c, *g;
    size_t n;
} pair;

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "test_cuda_ops: out of memory\n");
        exit(1);
    }
    return p;
}

static float *rand_host(tcase *t, size_t n, float lo, float hi)
{
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        h[i] = lo + (hi - lo) * (float)bp_rng_uniform(&t->rng);
    return h;
}

static pair pair_from(tcase *t, const float *host, size_t n)
{
    pair p = {bpk_alloc(t->cpu, n), bpk_alloc(t->gpu, n), n};
    if (!p.c || !p.g) {
        fprintf(stderr, "test_cuda_ops: allocation of %zu floats failed\n", n);
        exit(1);
    }
    bpk_upload(t->cpu, p.c, host, n);
    bpk_upload(t->gpu, p.g, host, n);
    return p;
}

static pair pair_rand(tcase *t, size_t n, float lo, float hi)
{
    float *h = rand_host(t, n, lo, hi);
    pair p = pair_from(t, h, n);
    free(h);
    return p;
}

static void pair_free(tcase *t, pair *p)
{
    bpk_release(t->cpu, p->c);
    bpk_release(t->gpu, p->g);
}

static void hash_bytes(tcase *t, const void *p, size_t bytes)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < bytes; i++)
        t->hash = (t->hash ^ b[i]) * 0x100000001b3ULL;
}

static float *gpu_result(tcase *t, const pair *p)
{
    float *h = xmalloc(p->n * sizeof(float));
    bpk_download(t->gpu, h, p->g, p->n);
    hash_bytes(t, h, p->n * sizeof(float));
    return h;
}

static int same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* tol 0: bit for bit; else max|gpu − cpu| ≤ tol · max|cpu| (the array's
 * scale: element-wise relative error means nothing where a sum cancels). */
static void compare(tcase *t, const char *what, const float *got, const float *want, size_t n,
                    double tol)
{
    double worst = 0, scale = 0;
    size_t at = 0, bad = n;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(want[i]) && fabs(want[i]) > scale)
            scale = fabs(want[i]);
        if (same_float(got[i], want[i]))
            continue;
        if (tol == 0 || isnan(got[i]) != isnan(want[i]) || isinf(got[i]) || isinf(want[i])) {
            bad = i;
            break;
        }
        double d = fabs((double)got[i] - (double)want[i]);
        if (d > worst) {
            worst = d;
            at = i;
        }
    }
    t->checks++;
    if (bad < n) {
        t->failures++;
        printf("FAIL %s: [%zu] gpu %.9g cpu %.9g (%s)\n", what, bad, got[bad], want[bad],
               tol == 0 ? "must be exact" : "non-finite mismatch");
    } else if (worst > tol * (scale > 0 ? scale : 1)) {
        t->failures++;
        printf("FAIL %s: [%zu] gpu %.9g cpu %.9g: error %.3g of scale %.3g > %g\n", what, at,
               got[at], want[at], worst, scale, tol);
    }
}

static void check_pair(tcase *t, const char *what, const pair *p, double tol)
{
    float *h = gpu_result(t, p);
    compare(t, what, h, p->c, p->n, tol);
    free(h);
}

static void check_double(tcase *t, const char *what, double got, double want, double tol)
{
    hash_bytes(t, &got, sizeof got);
    t->checks++;
    if (!(fabs(got - want) <= tol * fmax(fabs(want), 1e-30))) {
        t->failures++;
        printf("FAIL %s: gpu %.17g cpu %.17g\n", what, got, want);
    }
}

static void check_size(tcase *t, const char *what, size_t got, size_t want)
{
    hash_bytes(t, &got, sizeof got);
    t->checks++;
    if (got != want) {
        t->failures++;
        printf("FAIL %s: gpu %zu cpu %zu\n", what, got, want);
    }
}

#define TOL 1e-4
static const char *act_names[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"};
static const char *opt_names[] = {"sgd",   "momentum", "nesterov", "adam",
                                  "adamw", "rmsprop",  "rprop"};

/* ---- memory ------------------------------------------------------------------- */

static void test_memory(tcase *t)
{
    size_t n = 1000;
    pair z = {bpk_alloc(t->cpu, n), bpk_alloc(t->gpu, n), n};
    check_pair(t, "alloc zeroes", &z, 0);
    pair p = pair_rand(t, n, -1, 1);
    check_pair(t, "upload/download", &p, 0);
    bpk_copy(t->cpu, z.c, p.c, n);
    bpk_copy(t->gpu, z.g, p.g, n);
    check_pair(t, "copy", &z, 0);
    bpk_copy(t->cpu, p.c + 1, p.c, n - 1); /* overlapping: memmove */
    bpk_copy(t->gpu, p.g + 1, p.g, n - 1);
    check_pair(t, "copy (overlapping)", &p, 0);
    bpk_fill(t->cpu, z.c, n - 3, 0.375f);
    bpk_fill(t->gpu, z.g, n - 3, 0.375f);
    check_pair(t, "fill", &z, 0);
    pair_free(t, &z);
    pair_free(t, &p);
}

/* ---- GEMM: every transpose pair, padded leading dimensions, β 0 (C not read:
 * it holds NaN) and β ≠ 0 ------------------------------------------------------ */

static void gemm_case(tcase *t, int ta, int tb, int M, int N, int K, float beta)
{
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    pair A = pair_rand(t, (size_t)(ta ? K : M) * lda, -1, 1);
    pair B = pair_rand(t, (size_t)(tb ? N : K) * ldb, -1, 1);
    float *hc = rand_host(t, (size_t)M * ldc, -1, 1);
    if (beta == 0)
        for (size_t i = 0; i < (size_t)M * ldc; i++)
            hc[i] = NAN;
    pair C = pair_from(t, hc, (size_t)M * ldc);
    bpk_sgemm(t->cpu, ta, tb, M, N, K, 0.75f, A.c, lda, B.c, ldb, beta, C.c, ldc);
    bpk_sgemm(t->gpu, ta, tb, M, N, K, 0.75f, A.g, lda, B.g, ldb, beta, C.g, ldc);
    char what[96];
    snprintf(what, sizeof what, "sgemm ta=%d tb=%d %dx%dx%d beta=%g", ta, tb, M, N, K, beta);
    check_pair(t, what, &C, TOL);
    free(hc);
    pair_free(t, &A);
    pair_free(t, &B);
    pair_free(t, &C);
}

static void test_sgemm(tcase *t)
{
    static const int shapes[][3] = {{37, 29, 53}, {128, 256, 784}, {1, 10, 128}, {64, 10, 1}};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                gemm_case(t, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 0.0f);
                gemm_case(t, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 0.5f);
            }
}

/* ---- activations ---------------------------------------------------------------- */

static void test_bias_act(tcase *t)
{
    for (int act = 0; act < BP_ACT_COUNT_; act++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            int rows = 33, cols = act == BP_ACT_SOFTMAX && with_bias ? 10 : 70;
            pair s = pair_rand(t, (size_t)rows * cols, -4, 4);
            pair a = pair_rand(t, (size_t)rows * cols, -1, 1);
            pair b = pair_rand(t, (size_t)cols, -1, 1);
            bpk_bias_act_forward(t->cpu, s.c, a.c, rows, cols, with_bias ? b.c : NULL, act,
                                 0.05f);
            bpk_bias_act_forward(t->gpu, s.g, a.g, rows, cols, with_bias ? b.g : NULL, act,
                                 0.05f);
            char what[80];
            snprintf(what, sizeof what, "bias_act_forward %s bias=%d: s", act_names[act],
                     with_bias);
            check_pair(t, what, &s, 0); /* s + bias: one rounded add */
            snprintf(what, sizeof what, "bias_act_forward %s bias=%d: a", act_names[act],
                     with_bias);
            check_pair(t, what, &a, TOL);
            pair_free(t, &s);
            pair_free(t, &a);
            pair_free(t, &b);
        }
}

static void test_act_backward(tcase *t)
{
    size_t n = 5000;
    for (int act = 0; act < BP_ACT_COUNT_; act++)
        for (int flat = 0; flat < 2; flat++) {
            pair s = pair_rand(t, n, -3, 3), a = pair_rand(t, n, 0, 1);
            pair d = pair_rand(t, n, -1, 1);
            float fs = flat ? 0.1f : 0.0f;
            bpk_act_backward(t->cpu, d.c, s.c, a.c, n, act, 0.05f, fs);
            bpk_act_backward(t->gpu, d.g, s.g, a.g, n, act, 0.05f, fs);
            char what[80];
            snprintf(what, sizeof what, "act_backward %s flat_spot=%g", act_names[act], fs);
            check_pair(t, what, &d, TOL);
            pair_free(t, &s);
            pair_free(t, &a);
            pair_free(t, &d);
        }
}

static void test_col_sum(tcase *t)
{
    static const int shapes[][2] = {{300, 77}, {1, 5}, {0, 9}, {1024, 512}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int rows = shapes[k][0], cols = shapes[k][1];
        pair X = pair_rand(t, (size_t)(rows ? rows : 1) * cols, -1, 1);
        pair out = pair_rand(t, (size_t)cols, -1, 1);
        bpk_col_sum(t->cpu, X.c, rows, cols, 0.25f, out.c);
        bpk_col_sum(t->gpu, X.g, rows, cols, 0.25f, out.g);
        char what[64];
        snprintf(what, sizeof what, "col_sum %dx%d", rows, cols);
        check_pair(t, what, &out, 0); /* i ascending, as the contract says */
        pair_free(t, &X);
        pair_free(t, &out);
    }
}

/* ---- batch 1 ------------------------------------------------------------------------ */

static void test_batch1(tcase *t)
{
    int M = 37, K = 530, ldw = 540;
    pair W = pair_rand(t, (size_t)M * ldw, -1, 1), x = pair_rand(t, (size_t)K, -1, 1);
    pair xn = pair_rand(t, (size_t)K, -1, 1), bias = pair_rand(t, (size_t)M, -1, 1);
    pair d = pair_rand(t, (size_t)M, -1, 1);
    pair y = pair_rand(t, (size_t)M, -1, 1), yt = pair_rand(t, (size_t)K, -1, 1);
    for (int b = 0; b < 2; b++) {
        bpk_sgemv(t->cpu, M, K, W.c, ldw, x.c, b ? bias.c : NULL, y.c);
        bpk_sgemv(t->gpu, M, K, W.g, ldw, x.g, b ? bias.g : NULL, y.g);
        check_pair(t, b ? "sgemv (bias)" : "sgemv", &y, TOL);
    }
    bpk_sgemv_t(t->cpu, M, K, W.c, ldw, d.c, yt.c);
    bpk_sgemv_t(t->gpu, M, K, W.g, ldw, d.g, yt.g);
    check_pair(t, "sgemv_t", &yt, TOL);
    bpk_sger(t->cpu, M, K, -0.1f, d.c, x.c, W.c, ldw);
    bpk_sger(t->gpu, M, K, -0.1f, d.g, x.g, W.g, ldw);
    check_pair(t, "sger", &W, TOL);
    bpk_sger_sgemv(t->cpu, M, K, 0.2f, d.c, x.c, W.c, ldw, xn.c, bias.c, y.c);
    bpk_sger_sgemv(t->gpu, M, K, 0.2f, d.g, x.g, W.g, ldw, xn.g, bias.g, y.g);
    check_pair(t, "sger_sgemv: W", &W, TOL);
    check_pair(t, "sger_sgemv: y", &y, TOL);
    pair *all[] = {&W, &x, &xn, &bias, &d, &y, &yt};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        pair_free(t, all[i]);
}

/* ---- loss and output delta -------------------------------------------------------- */

/* Targets for a loss: one-hot rows (xent), else values in [0, 1]. */
static float *targets(tcase *t, bp_loss loss, int rows, int cols)
{
    float *h = rand_host(t, (size_t)rows * cols, 0, 1);
    if (loss == BP_LOSS_XENT)
        for (int r = 0; r < rows; r++) {
            int hot = (int)bp_rng_below(&t->rng, (uint64_t)cols);
            for (int k = 0; k < cols; k++)
                h[(size_t)r * cols + k] = k == hot ? 1.0f : 0.0f;
        }
    return h;
}

/* s, a = f(s) (the CPU's a on both sides) and targets for one case. */
static void loss_inputs(tcase *t, bp_loss loss, bp_activation act, int rows, int cols, pair *s,
                        pair *a, pair *tg)
{
    size_t n = (size_t)rows * cols;
    *s = pair_rand(t, n, -3, 3);
    *a = pair_rand(t, n, 0, 1);
    bpk_bias_act_forward(t->cpu, s->c, a->c, rows, cols, NULL, act, 0.05f);
    bpk_upload(t->gpu, a->g, a->c, n);
    float *h = targets(t, loss, rows, cols);
    *tg = pair_from(t, h, n);
    free(h);
}

static void loss_case(tcase *t, bp_loss loss, bp_activation act, float flat, int rows, int cols)
{
    pair s, a, tg;
    loss_inputs(t, loss, act, rows, cols, &s, &a, &tg);
    pair d = pair_rand(t, (size_t)rows * cols, -1, 1);
    char what[96];
    snprintf(what, sizeof what, "loss_sum loss=%d %s", (int)loss, act_names[act]);
    check_double(t, what, bpk_loss_sum(t->gpu, loss, s.g, a.g, tg.g, rows, cols),
                 bpk_loss_sum(t->cpu, loss, s.c, a.c, tg.c, rows, cols), TOL);
    bpk_output_delta(t->cpu, loss, act, 0.05f, flat, s.c, a.c, tg.c, d.c, rows, cols);
    bpk_output_delta(t->gpu, loss, act, 0.05f, flat, s.g, a.g, tg.g, d.g, rows, cols);
    snprintf(what, sizeof what, "output_delta loss=%d %s flat_spot=%g", (int)loss,
             act_names[act], flat);
    check_pair(t, what, &d, TOL);
    pair_free(t, &s);
    pair_free(t, &a);
    pair_free(t, &tg);
    pair_free(t, &d);
}

static void test_loss(tcase *t)
{
    for (int act = 0; act < BP_ACT_COUNT_; act++)
        loss_case(t, BP_LOSS_MSE, act, 0.0f, 50, 10);
    loss_case(t, BP_LOSS_MSE, BP_ACT_SIGMOID, 0.1f, 50, 10);
    loss_case(t, BP_LOSS_XENT, BP_ACT_SOFTMAX, 0.0f, 300, 10);
    loss_case(t, BP_LOSS_XENT, BP_ACT_SOFTMAX, 0.0f, 7, 100);
    loss_case(t, BP_LOSS_BCE, BP_ACT_SIGMOID, 0.0f, 300, 3);
    loss_case(t, BP_LOSS_BCE, BP_ACT_SIGMOID, 0.0f, 5000, 1);
}

static void test_count_correct(tcase *t)
{
    static const int shapes[][2] = {{200, 10}, {5000, 1}, {3, 4}};
    size_t n_labels = 6000;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int rows = shapes[k][0], cols = shapes[k][1];
        pair out = pair_rand(t, (size_t)rows * cols, 0, 1);
        int32_t *labels = xmalloc(n_labels * sizeof *labels);
        size_t *idx = xmalloc((size_t)rows * sizeof *idx);
        for (size_t i = 0; i < n_labels; i++)
            labels[i] = (int32_t)bp_rng_below(&t->rng, cols == 1 ? 2 : (uint64_t)cols);
        for (int r = 0; r < rows; r++)
            idx[r] = (size_t)bp_rng_below(&t->rng, n_labels);
        char what[64];
        snprintf(what, sizeof what, "count_correct %dx%d", rows, cols);
        check_size(t, what, bpk_count_correct(t->gpu, out.g, rows, cols, labels, idx),
                   bpk_count_correct(t->cpu, out.c, rows, cols, labels, idx));
        free(labels);
        free(idx);
        pair_free(t, &out);
    }
}

/* ---- dropout: the GPU's masks are the CPU's, bit for bit, from both sources */

static void dropout_case(tcase *t, int serial)
{
    int rows = 37, cols = 129, layer = 2;
    size_t n = (size_t)rows * cols;
    pair a = pair_rand(t, n, -1, 1), mask = pair_rand(t, n, -1, 1), da = pair_rand(t, n, -1, 1);
    bp_rng rc, rg;
    bp_rng_seed(&rc, 1234, 99);
    rg = rc;
    bpk_mask_source sc = {serial ? &rc : NULL, 42, 3, 17};
    bpk_mask_source sg = {serial ? &rg : NULL, 42, 3, 17};
    bpk_dropout_forward(t->cpu, a.c, mask.c, da.c, rows, cols, 0.8f, layer, &sc);
    bpk_dropout_forward(t->gpu, a.g, mask.g, da.g, rows, cols, 0.8f, layer, &sg);
    check_pair(t, serial ? "dropout mask (serial)" : "dropout mask (per sample)", &mask, 0);
    check_pair(t, serial ? "dropout a (serial)" : "dropout a (per sample)", &da, 0);
    t->checks++;
    if (memcmp(&rc, &rg, sizeof rc) != 0) {
        t->failures++;
        printf("FAIL dropout: the generators end in different states\n");
    }
    pair_free(t, &a);
    pair_free(t, &mask);
    pair_free(t, &da);
}

/* ---- vectors -------------------------------------------------------------------------- */

static void test_vectors(tcase *t)
{
    size_t n = 100003;
    pair y = pair_rand(t, n, -1, 1), x = pair_rand(t, n, -1, 1);
    pair v = pair_rand(t, 3 * n, -1, 1), out = pair_rand(t, n, -1, 1);
    bpk_mul(t->cpu, y.c, x.c, n);
    bpk_mul(t->gpu, y.g, x.g, n);
    check_pair(t, "mul", &y, 0);
    for (int count = 0; count <= 3; count++) {
        bpk_sum_vectors(t->cpu, v.c, count, n, out.c);
        bpk_sum_vectors(t->gpu, v.g, count, n, out.g);
        check_pair(t, "sum_vectors", &out, 0);
    }
    bpk_axpy(t->cpu, y.c, x.c, n, -0.3f);
    bpk_axpy(t->gpu, y.g, x.g, n, -0.3f);
    check_pair(t, "axpy", &y, 0);
    bpk_scale(t->cpu, y.c, n, 1.7f);
    bpk_scale(t->gpu, y.g, n, 1.7f);
    check_pair(t, "scale", &y, 0);
    check_double(t, "sumsq", bpk_sumsq(t->gpu, y.g, n), bpk_sumsq(t->cpu, y.c, n), 1e-10);
    check_size(t, "find_nonfinite (all finite)", bpk_find_nonfinite(t->gpu, y.g, n), n);
    check_size(t, "find_nonfinite (n 0)", bpk_find_nonfinite(t->gpu, y.g, 0), 0);
    float bad[2] = {INFINITY, NAN};
    bpk_upload(t->gpu, y.g + 12345, &bad[0], 1);
    check_size(t, "find_nonfinite (inf)", bpk_find_nonfinite(t->gpu, y.g, n), 12345);
    bpk_upload(t->gpu, y.g + 777, &bad[1], 1);
    check_size(t, "find_nonfinite (NaN first)", bpk_find_nonfinite(t->gpu, y.g, n), 777);
    pair *all[] = {&y, &x, &v, &out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        pair_free(t, all[i]);
}

/* ---- optimizers: three steps each, fresh gradients each step ------------------------ */

static bpk_update update_settings(bp_optimizer opt, int step)
{
    bpk_update u = {.optimizer = opt, .lr = 0.01f, .momentum = 0.9f, .beta1 = 0.9f,
                    .beta2 = 0.999f, .eps = 1e-8f, .rho = 0.9f, .rprop_increase = 1.2f,
                    .rprop_decrease = 0.5f, .rprop_delta_min = 1e-6f, .rprop_delta_max = 50.0f};
    u.c1 = 1.0f - powf(u.beta1, (float)step);
    u.c2 = 1.0f - powf(u.beta2, (float)step);
    u.decoupled_wd = opt == BP_OPT_ADAMW ? 0.01f : 0.0f;
    return u;
}

/* The change w − w0 (host), GPU and CPU compared on it: the update is small
 * next to w, so comparing w itself would hide its errors. */
static void check_change(tcase *t, const char *what, const pair *w, const float *w0)
{
    float *g = gpu_result(t, w), *c = xmalloc(w->n * sizeof(float));
    for (size_t i = 0; i < w->n; i++) {
        c[i] = w->c[i] - w0[i];
        g[i] -= w0[i];
    }
    compare(t, what, g, c, w->n, TOL);
    free(g);
    free(c);
}

static void update_case(tcase *t, bp_optimizer opt)
{
    size_t n = 50001;
    float *w0 = rand_host(t, n, -1, 1);
    pair w = pair_from(t, w0, n), m = pair_rand(t, n, 0, 0), v = pair_rand(t, n, 0, 0);
    if (opt == BP_OPT_RPROP) {
        bpk_fill(t->cpu, m.c, n, 0.1f);
        bpk_fill(t->gpu, m.g, n, 0.1f);
    }
    char what[64];
    for (int step = 1; step <= 3; step++) {
        pair g = pair_rand(t, n, -1, 1);
        bpk_update u = update_settings(opt, step);
        bpk_update_params(t->cpu, &u, w.c, g.c, m.c, v.c, n);
        bpk_update_params(t->gpu, &u, w.g, g.g, m.g, v.g, n);
        snprintf(what, sizeof what, "update %s step %d: w", opt_names[opt], step);
        check_change(t, what, &w, w0);
        snprintf(what, sizeof what, "update %s step %d: m", opt_names[opt], step);
        check_pair(t, what, &m, TOL);
        snprintf(what, sizeof what, "update %s step %d: v", opt_names[opt], step);
        check_pair(t, what, &v, TOL);
        snprintf(what, sizeof what, "update %s step %d: g", opt_names[opt], step);
        check_pair(t, what, &g, 0); /* only iRPROP− writes g (zeros) */
        pair_free(t, &g);
    }
    free(w0);
    pair_free(t, &w);
    pair_free(t, &m);
    pair_free(t, &v);
}

/* ---- data: gathered rows, with and without the input scaling ------------------------- */

static void test_gather(tcase *t)
{
    int total = 100, width = 13, rows = 40;
    float *src = rand_host(t, (size_t)total * width, 0, 255);
    float *shift = rand_host(t, (size_t)width, 0, 100), *factor = rand_host(t, (size_t)width, 0, 1);
    size_t *idx = xmalloc((size_t)rows * sizeof *idx);
    for (int r = 0; r < rows; r++)
        idx[r] = (size_t)bp_rng_below(&t->rng, (uint64_t)total);
    pair dst = pair_rand(t, (size_t)rows * width, -1, 1);
    for (int mode = 0; mode < 4; mode++) {
        const size_t *ix = mode & 1 ? idx : NULL;
        const float *sh = mode & 2 ? shift : NULL, *fa = mode & 2 ? factor : NULL;
        bpk_gather_rows(t->cpu, dst.c, src, ix, rows, width, sh, fa);
        bpk_gather_rows(t->gpu, dst.g, src, ix, rows, width, sh, fa);
        char what[64];
        snprintf(what, sizeof what, "gather_rows idx=%d scaled=%d", mode & 1, mode >> 1);
        check_pair(t, what, &dst, 0);
    }
    free(src);
    free(shift);
    free(factor);
    free(idx);
    pair_free(t, &dst);
}

static void run_all(tcase *t)
{
    bp_rng_seed(&t->rng, 20261128, 7);
    t->hash = 0xcbf29ce484222325ULL;
    test_memory(t);
    test_sgemm(t);
    test_bias_act(t);
    test_act_backward(t);
    test_col_sum(t);
    test_batch1(t);
    test_loss(t);
    test_count_correct(t);
    dropout_case(t, 1);
    dropout_case(t, 0);
    test_vectors(t);
    for (int opt = 0; opt < BP_OPT_COUNT_; opt++)
        update_case(t, opt);
    test_gather(t);
}

/* Both passes, then the same-bits check across them; failures counted in t. */
static void run_twice(tcase *t)
{
    run_all(t);
    uint64_t first = t->hash;
    run_all(t);
    t->checks++;
    if (t->hash != first) {
        t->failures++;
        printf("FAIL two runs on the GPU gave different bits (%016llx, %016llx)\n",
               (unsigned long long)first, (unsigned long long)t->hash);
    }
}

/* The harness itself, where there is no GPU: the checked backend (the CPU's
 * ops, aborting on any pointer that is not its own memory) in the GPU's
 * place, so every op call passes device memory where a GPU needs it and
 * every buffer is the size the op reads.  Returns its failures. */
static int self_test(int *checks)
{
    tcase t = {bpk_cpu_backend_create(1, NULL), bpk_checked_backend_create(1, NULL), {{0}},
               0, 0, 0};
    if (!t.cpu || !t.gpu) {
        printf("test_cuda_ops: FAILED: no CPU or checked backend for the self-test\n");
        return 1;
    }
    run_twice(&t);
    *checks = t.checks;
    bpk_backend_free(t.gpu);
    bpk_backend_free(t.cpu);
    return t.failures;
}

/* No GPU is a skip (exit 0) unless required, after the harness's self-test;
 * a GPU that fails to set up, or a library that is there but does not load,
 * is a failure. */
static int no_backend(bpk_cuda_status why, const char *detail, int require)
{
    int skip = why == BPK_CUDA_NOT_BUILT || why == BPK_CUDA_NO_DRIVER || why == BPK_CUDA_NO_DEVICE;
    int checks = 0, failed = skip && !require ? self_test(&checks) : 0;
    if (failed) {
        printf("test_cuda_ops: FAILED: %d of %d self-test checks (checked backend)\n", failed,
               checks);
        return 1;
    }
    printf("test_cuda_ops: %s: %s%s%s%s", skip && !require ? "skipped" : "FAILED",
           bpk_cuda_status_text(why), detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
    if (checks)
        printf("; the harness passed its %d self-test checks", checks);
    printf("\n");
    return skip && !require ? 0 : 1;
}

int main(int argc, char **argv)
{
    int require = argc > 1 && strcmp(argv[1], "--require") == 0;
    char detail[256];
    bpk_cuda_status why;
    bpk_set_isa("portable"); /* the path whose bits the GPU's exact ops keep */
    bpk_backend *gpu = bpk_cuda_backend_create(0, &why, detail, sizeof detail);
    if (!gpu)
        return no_backend(why, detail, require);
    tcase t = {bpk_cpu_backend_create(1, NULL), gpu, {{0}}, 0, 0, 0};
    if (!t.cpu) {
        fprintf(stderr, "test_cuda_ops: no CPU backend\n");
        return 1;
    }
    run_twice(&t);
    const char *err = bpk_cuda_backend_error(gpu);
    if (err) {
        t.failures++;
        printf("FAIL the CUDA backend met an error: %s\n", err);
    }
    printf("test_cuda_ops: %d checks, %d failed; GPU bits %016llx\n", t.checks, t.failures,
           (unsigned long long)t.hash);
    bpk_cuda_backend_free(gpu);
    bpk_backend_free(t.cpu);
    return t.failures ? 1 : 0;
}
