/* bench/int8_bench.c — batched inference, float32 (bp_predict) vs int8
 * (bp_qnet_predict), on one thread, in µs per sample.  Nets: the modern net
 * 784-256-128-10 (ReLU) and a wide 1024-1024-1024-10 one, random He weights,
 * calibrated and timed on uniform [0, 1) inputs (pixels).  Prints one
 * markdown row per net; bench/int8.sh adds the header.
 * Usage: int8_bench [ROWS [REPEATS]] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backprop.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int check(bp_status st, const char *what)
{
    if (st != BP_OK)
        fprintf(stderr, "int8_bench: %s: %s\n", what, bp_errmsg());
    return st != BP_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of `reps` runs of fp32 (q NULL) or int8 prediction. */
static double time_predict(const bp_net *net, bp_workspace *ws, const bp_qnet *q,
                           const float *x, size_t rows, float *out, int reps)
{
    double t[32];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (q)
            bp_qnet_predict(q, x, rows, out);
        else
            bp_predict(net, ws, x, rows, out);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[reps / 2];
}

static int bench_net(const char *name, int inputs, int layers, const int *units, size_t rows,
                     int reps)
{
    bp_layer_spec L[4];
    for (int l = 0; l < layers; l++) {
        bp_layer_spec_default(&L[l]);
        L[l].units = units[l];
        L[l].act = l == layers - 1 ? BP_ACT_SOFTMAX : BP_ACT_RELU;
    }
    bp_net *net = NULL;
    bp_workspace *ws = NULL;
    bp_qnet *q = NULL;
    float *x = malloc(rows * (size_t)inputs * sizeof *x);
    float *out = malloc(rows * (size_t)units[layers - 1] * sizeof *out);
    if (!x || !out)
        return 1;
    srand(7);
    for (size_t i = 0; i < rows * (size_t)inputs; i++)
        x[i] = (float)rand() / ((float)RAND_MAX + 1.0f);
    if (check(bp_net_create(&net, inputs, layers, L, BP_LOSS_XENT), "create") ||
        check(bp_net_init(net, BP_INIT_HE, 1), "init") ||
        check(bp_workspace_create(&ws, net, 256, 1), "workspace") ||
        check(bp_quantize(&q, net, x, rows < 1000 ? rows : 1000), "quantize"))
        return 1;
    double f = time_predict(net, ws, NULL, x, rows, out, reps);
    double i8 = time_predict(net, ws, q, x, rows, out, reps);
    printf("| %s | %s | %.2f | %.2f | %.2fx |\n", name, bp_isa(), 1e6 * f / (double)rows,
           1e6 * i8 / (double)rows, f / i8);
    bp_qnet_free(q);
    bp_workspace_free(ws);
    bp_net_free(net);
    free(x);
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    size_t rows = argc > 1 ? (size_t)atol(argv[1]) : 4096;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (rows < 1 || reps < 1 || reps > 31) {
        fprintf(stderr, "usage: int8_bench [ROWS [REPEATS 1..31]]\n");
        return 2;
    }
    static const int modern[] = {256, 128, 10}, wide[] = {1024, 1024, 10};
    return bench_net("784-256-128-10", 784, 3, modern, rows, reps) ||
           bench_net("1024-1024-1024-10", 1024, 3, wide, rows, reps);
}
