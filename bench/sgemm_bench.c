/*
 * sgemm_bench — our bpk_cpu_sgemm against OpenBLAS cblas_sgemm, GFLOP/s (median of
 * 7 samples, each ≥ 0.2 s; all of ours run before OpenBLAS's), at the MLP shapes and 2048³, 1 and 2 threads;
 * then the batch-1 paths of a 784-128-10 net (sgemv, sgemv_t, sger and the
 * fused sger_sgemv), µs per sample.
 *
 * Build (after `make`):
 *   gcc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc \
 *       -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/sgemm_bench.c \
 *       build/libbackprop.a -lopenblas -lz -lm -lpthread -o build/sgemm_bench
 * Run:
 *   build/sgemm_bench            [BACKPROP_ISA=avx2|avx512|portable to force a path]
 *   build/sgemm_bench M N K ta tb   one shape
 *   build/sgemm_bench batch1        the batch-1 step only
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

void openblas_set_num_threads(int num_threads);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct shape {
    int M, N, K, ta, tb;
} shape;

static bpk_pool *g_pool;
static int g_blas;

static void call(const shape *s, const float *A, const float *B, float *C)
{
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    if (g_blas)
        cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                    s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1.0f, A, lda, B, ldb,
                    0.0f, C, s->N);
    else
        bpk_cpu_sgemm(g_pool, s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
}

/* Median GFLOP/s of NS samples of `reps` calls (≥ ~0.2 s each). */
static double bench(const shape *s)
{
    size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
    if (!A || !B || !C)
        exit(1);
    srand(1);
    for (size_t i = 0; i < na; i++)
        A[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
    for (size_t i = 0; i < nb; i++)
        B[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
    double flop = 2.0 * s->M * s->N * s->K, t;
    int reps = 1;
    for (;;) {
        t = now_s();
        for (int r = 0; r < reps; r++)
            call(s, A, B, C);
        t = now_s() - t;
        if (t >= 0.2)
            break;
        reps *= 2;
    }
    enum { NS = 7 };
    double g[NS];
    for (int i = 0; i < NS; i++) {
        t = now_s();
        for (int r = 0; r < reps; r++)
            call(s, A, B, C);
        g[i] = flop * reps / (now_s() - t) / 1e9;
    }
    qsort(g, NS, sizeof g[0], cmp);
    free(A), free(B), free(C);
    return g[NS / 2];
}

/* All of ours first, then all of OpenBLAS: the two pools' spinning workers
 * never compete for the cores. */
static void run_shapes(const shape *s, int n)
{
    double r[64][2][2];
    for (g_blas = 0; g_blas < 2; g_blas++)
        for (int i = 0; i < n && i < 64; i++)
            for (int threads = 1; threads <= 2; threads++) {
                g_pool = g_blas ? NULL : bpk_pool_create(threads, NULL);
                if (g_blas)
                    openblas_set_num_threads(threads);
                r[i][threads - 1][g_blas] = bench(&s[i]);
                bpk_pool_free(g_pool);
            }
    for (int i = 0; i < n && i < 64; i++)
        for (int t = 0; t < 2; t++)
            printf("%5d x %5d x %5d  %c%c  threads %d:  ours %6.1f  openblas %6.1f GFLOP/s  (%3.0f%%)\n",
                   s[i].M, s[i].N, s[i].K, s[i].ta ? 'T' : 'N', s[i].tb ? 'T' : 'N', t + 1,
                   r[i][t][0], r[i][t][1], 100.0 * r[i][t][0] / r[i][t][1]);
    fflush(stdout);
}

/* One online-SGD step of 784-128-10 (sigmoid), the kernel calls only. */
static void bench_batch1(void)
{
    enum { IN = 784, H = 128, OUT = 10, N = 20000 };
    float *W1 = malloc(sizeof(float) * H * IN), *W2 = malloc(sizeof(float) * OUT * H);
    float *X = malloc(sizeof(float) * IN * 64), b1[H], b2[OUT], s1[H], a1[H], s2[OUT], a2[OUT];
    float d2[OUT], d1[H];
    for (int i = 0; i < H * IN; i++)
        W1[i] = ((float)((double)rand() / RAND_MAX) - 0.5f) * 0.1f;
    for (int i = 0; i < OUT * H; i++)
        W2[i] = ((float)((double)rand() / RAND_MAX) - 0.5f) * 0.1f;
    for (int i = 0; i < IN * 64; i++)
        X[i] = (float)((double)rand() / RAND_MAX);
    memset(b1, 0, sizeof b1), memset(b2, 0, sizeof b2);
    for (int fused = 0; fused < 2; fused++) {
        double t = now_s();
        if (fused)
            bpk_cpu_sgemv(H, IN, W1, IN, X, b1, s1);
        for (int n = 0; n < N; n++) {
            const float *x = X + (size_t)(n % 64) * IN, *xn = X + (size_t)((n + 1) % 64) * IN;
            if (!fused)
                bpk_cpu_sgemv(H, IN, W1, IN, x, b1, s1);
            bpk_cpu_bias_act_forward(NULL, s1, a1, 1, H, NULL, BP_ACT_SIGMOID, 0);
            bpk_cpu_sgemv(OUT, H, W2, H, a1, b2, s2);
            bpk_cpu_bias_act_forward(NULL, s2, a2, 1, OUT, NULL, BP_ACT_SIGMOID, 0);
            for (int k = 0; k < OUT; k++)
                d2[k] = (a2[k] - (k == n % 10)) * a2[k] * (1 - a2[k]);
            bpk_cpu_sgemv_t(OUT, H, W2, H, d2, d1);
            bpk_cpu_act_backward(d1, s1, a1, H, BP_ACT_SIGMOID, 0);
            bpk_cpu_sger(OUT, H, -0.1f, d2, a1, W2, H);
            bpk_cpu_sgd_update(b2, d2, OUT, 0.1f);
            bpk_cpu_sgd_update(b1, d1, H, 0.1f);
            if (fused)
                bpk_cpu_sger_sgemv(H, IN, -0.1f, d1, x, W1, IN, xn, b1, s1);
            else
                bpk_cpu_sger(H, IN, -0.1f, d1, x, W1, IN);
        }
        t = now_s() - t;
        printf("784-128-10 batch-1 SGD step (%s): %.2f us/sample, %.3f s per 60000\n",
               fused ? "fused sger_sgemv" : "sgemv + sger", t / N * 1e6, t / N * 60000);
    }
    free(W1), free(W2), free(X);
}

int main(int argc, char **argv)
{
    printf("backprop kernels: %s path\n", bpk_isa());
    if (argc == 2 && !strcmp(argv[1], "batch1")) {
        bench_batch1();
        return 0;
    }
    if (argc >= 4) {
        shape s = {atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 0,
                   argc > 5 ? atoi(argv[5]) : 0};
        run_shapes(&s, 1);
        return 0;
    }
    static const shape shapes[] = {
        {128, 512, 784, 0, 1},  /* forward   s = a · Wᵀ */
        {128, 256, 512, 0, 1},
        {128, 784, 512, 0, 0},  /* backward  δ_prev = δ · W */
        {784, 512, 128, 1, 0},  /* gradient  gW = δᵀ · a (K = batch) */
        {512, 784, 128, 1, 0},
        {2048, 2048, 2048, 0, 0},
    };
    run_shapes(shapes, (int)(sizeof shapes / sizeof shapes[0]));
    bench_batch1();
    return 0;
}
