/*
 * bench_backprop — training and inference speed of libbackprop on Fashion-MNIST,
 * through the public API only (include <backprop.h>, link libbackprop.a).
 *
 *   bench_backprop A [runs]                  784-128-10 sigmoid/sigmoid, MSE (½Σ), SGD η 0.1,
 *                                            batch 1, 1 epoch in file order, 1 thread
 *   bench_backprop B [threads] [epochs] [runs]
 *                                            784-512-256-10 ReLU, softmax + cross-entropy,
 *                                            Adam 1e-3, batch 128, shuffled, `epochs` epochs
 *   bench_backprop C [threads]               inference of a B-shaped net after 1 epoch:
 *                                            batch 1 (1-row workspace, `threads` threads) and batched
 *   bench_backprop L                         only load the data set (is it there?)
 *
 * The data set is loaded once with bp_dataset_load_named("fashion-mnist", …)
 * (so $BACKPROP_DATA or /usr/share/datasets/fashion-mnist); only the calls that
 * train (bp_train / bp_trainer_run) or predict are timed, with CLOCK_MONOTONIC.
 * Each run builds a fresh net with the same seed.  Output is one line per
 * measurement, "key=value" fields after a tag, for bench/run.sh to collect:
 *
 *   backprop-A run=1 train_s=… samples_per_s=… test_acc=…
 *   backprop-B threads=2 run=1 epoch=1 train_s=… test_acc=…
 *   backprop-C threads=1 infer_us_per_sample batch1=… batch128=… batch10000=…
 *   backprop-rss workload=B peak_rss_mb=… min_mb=… ratio=… (data …, model …, optimizer …)
 *
 * BENCH_TRAIN_ROWS=n trains on the first n training rows only (for slow
 * profilers such as callgrind); the figures are then not comparable.
 *
 * Build (after `make`):
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_backprop.c \
 *      build/libbackprop.a -lz -lm -lpthread -o build/bench_backprop
 */
#include <backprop.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, bp_status st)
{
    fprintf(stderr, "bench_backprop: %s: %s: %s\n", what, bp_status_string(st), bp_errmsg());
    exit(1);
}

#define CHECK(what, call)                                                                       \
    do {                                                                                        \
        bp_status st_ = (call);                                                                 \
        if (st_ != BP_OK)                                                                       \
            die(what, st_);                                                                     \
    } while (0)

static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

static double dataset_bytes(const bp_dataset *ds)
{
    /* float32 inputs and targets, plus the int32 labels of a classification set */
    double rows = (double)bp_dataset_rows(ds);
    double b = rows * (bp_dataset_inputs(ds) + bp_dataset_outputs(ds)) * sizeof(float);
    if (bp_dataset_labels(ds))
        b += rows * sizeof(int32_t);
    return b;
}

/* Peak RSS against the least any float32 implementation must hold: the data
 * sets, the parameters and the optimizer's per-parameter state. */
static void report_rss(const char *workload, const bp_dataset *train, const bp_dataset *test,
                       const bp_net *net, int opt_copies)
{
    double data = dataset_bytes(train) + dataset_bytes(test);
    double model = (double)bp_net_param_count(net) * sizeof(float);
    double optim = model * opt_copies;
    double min_mb = (data + model + optim) / (1024.0 * 1024.0);
    double peak = peak_rss_mb();
    printf("backprop-rss workload=%s peak_rss_mb=%.1f min_mb=%.1f ratio=%.3f data_mb=%.1f "
           "model_mb=%.2f optimizer_mb=%.2f\n",
           workload, peak, min_mb, peak / min_mb, data / 1048576.0, model / 1048576.0,
           optim / 1048576.0);
}

static double accuracy(const bp_net *net, const bp_dataset *test, int threads)
{
    bp_metrics m;
    bp_metrics_init(&m);
    CHECK("bp_evaluate", bp_evaluate(net, test, threads, &m));
    double acc = m.accuracy;
    bp_metrics_clear(&m);
    return acc;
}

static bp_net *make_seed_net(void)
{
    bp_layer_spec layers[2] = {BP_LAYER(128, BP_ACT_SIGMOID, 1, 0), BP_LAYER(10, BP_ACT_SIGMOID, 1, 0)};
    bp_net *net = NULL;
    CHECK("bp_net_create", bp_net_create(&net, 784, 2, layers, BP_LOSS_MSE));
    CHECK("bp_net_init", bp_net_init(net, BP_INIT_XAVIER, 42));
    return net;
}

static bp_net *make_modern_net(void)
{
    bp_layer_spec layers[3] = {
        BP_LAYER(512, BP_ACT_RELU, 1, 0), BP_LAYER(256, BP_ACT_RELU, 1, 0), BP_LAYER(10, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net = NULL;
    CHECK("bp_net_create", bp_net_create(&net, 784, 3, layers, BP_LOSS_XENT));
    CHECK("bp_net_init", bp_net_init(net, BP_INIT_HE, 42));
    return net;
}

/* A: the article-style net, online SGD, one epoch in file order. */
static void workload_a(const bp_dataset *train, const bp_dataset *test, int runs)
{
    bp_net *net = NULL;
    for (int r = 1; r <= runs; r++) {
        bp_net_free(net);
        net = make_seed_net();
        bp_train_options o;
        bp_train_options_default(&o);
        o.epochs = 1;
        o.batch_size = 1;
        o.learning_rate = 0.1f;
        o.optimizer = BP_OPT_SGD;
        o.shuffle = 0;
        o.threads = 1;
        o.seed = 42;
        double t0 = now_s();
        CHECK("bp_train (A)", bp_train(net, train, NULL, &o));
        double t = now_s() - t0;
        double acc = accuracy(net, test, 1);
        printf("backprop-A run=%d train_s=%.4f samples_per_s=%.0f test_acc=%.4f\n", r, t,
               (double)bp_dataset_rows(train) / t, acc);
        fflush(stdout);
    }
    report_rss("A", train, test, net, 0);
    bp_net_free(net);
}

/* B: the modern net, Adam, minibatch 128, `epochs` epochs timed one by one. */
static void workload_b(const bp_dataset *train, const bp_dataset *test, int threads, int epochs,
                       int runs)
{
    bp_net *net = NULL;
    for (int r = 1; r <= runs; r++) {
        bp_net_free(net);
        net = make_modern_net();
        bp_train_options o;
        bp_train_options_default(&o);
        o.epochs = 1; /* raised one epoch at a time below */
        o.batch_size = 128;
        o.learning_rate = 1e-3f;
        o.optimizer = BP_OPT_ADAM;
        o.shuffle = 1;
        o.threads = threads;
        o.seed = 42;
        /* BENCH_PRECISION=bf16: the mixed-precision run (bench/bf16.sh). */
        const char *prec = getenv("BENCH_PRECISION");
        o.precision = prec && !strcmp(prec, "bf16") ? BP_PRECISION_BF16 : BP_PRECISION_FP32;
        bp_trainer *tr = NULL;
        CHECK("bp_trainer_create", bp_trainer_create(&tr, net, &o));
        for (int e = 1; e <= epochs; e++) {
            bp_trainer_set_epochs(tr, e);
            double t0 = now_s();
            CHECK("bp_trainer_run (B)", bp_trainer_run(tr, train, NULL));
            double t = now_s() - t0;
            double acc = accuracy(net, test, threads);
            printf("backprop-B threads=%d run=%d epoch=%d train_s=%.4f samples_per_s=%.0f "
                   "test_acc=%.4f%s\n",
                   threads, r, e, t, (double)bp_dataset_rows(train) / t, acc,
                   o.precision == BP_PRECISION_BF16 ? " precision=bf16" : "");
            fflush(stdout);
        }
        bp_trainer_free(tr);
    }
    report_rss("B", train, test, net, 2);
    bp_net_free(net);
}

/* C: inference of a trained modern net, batch 1 (as a server answering one
 * request at a time) and batched. */
static void workload_c(const bp_dataset *train, const bp_dataset *test, int threads)
{
    bp_net *net = make_modern_net();
    bp_train_options o;
    bp_train_options_default(&o);
    o.epochs = 1;
    o.batch_size = 128;
    o.learning_rate = 1e-3f;
    o.optimizer = BP_OPT_ADAM;
    o.threads = threads;
    o.seed = 42;
    CHECK("bp_train (C)", bp_train(net, train, NULL, &o));

    size_t n = bp_dataset_rows(test);
    int in = bp_dataset_inputs(test), out_n = bp_net_outputs(net);
    const float *x = bp_dataset_x_const(test);
    const int32_t *labels = bp_dataset_labels(test);
    float *out = malloc(n * (size_t)out_n * sizeof *out);
    if (!out) {
        fprintf(stderr, "bench_backprop: out of memory\n");
        exit(1);
    }

    /* batch 1: best of 3 passes over the test set, one bp_predict per sample */
    bp_workspace *ws1 = NULL;
    CHECK("bp_workspace_create", bp_workspace_create(&ws1, net, 1, threads));
    double best1 = 1e30;
    for (int p = 0; p < 3; p++) {
        double t0 = now_s();
        for (size_t i = 0; i < n; i++)
            CHECK("bp_predict", bp_predict(net, ws1, x + i * (size_t)in, 1, out + i * (size_t)out_n));
        double t = now_s() - t0;
        if (t < best1)
            best1 = t;
    }
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        const float *o_i = out + i * (size_t)out_n;
        int k = 0;
        for (int j = 1; j < out_n; j++)
            if (o_i[j] > o_i[k])
                k = j;
        correct += k == labels[i];
    }
    bp_workspace_free(ws1);

    /* batched: chunks of 128 and the whole test set in one workspace */
    double tb[2];
    int sizes[2] = {128, (int)n};
    for (int s = 0; s < 2; s++) {
        bp_workspace *ws = NULL;
        CHECK("bp_workspace_create", bp_workspace_create(&ws, net, sizes[s], threads));
        tb[s] = 1e30;
        for (int p = 0; p < 3; p++) {
            double t0 = now_s();
            CHECK("bp_predict", bp_predict(net, ws, x, n, out));
            double t = now_s() - t0;
            if (t < tb[s])
                tb[s] = t;
        }
        bp_workspace_free(ws);
    }
    printf("backprop-C threads=%d infer_us_per_sample batch1=%.3f batch128=%.3f batch%zu=%.3f "
           "test_acc=%.4f\n",
           threads, best1 / (double)n * 1e6, tb[0] / (double)n * 1e6, n, tb[1] / (double)n * 1e6,
           (double)correct / (double)n);
    free(out);
    bp_net_free(net);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strlen(argv[1]) != 1 || !strchr("ABCL", argv[1][0])) {
        fprintf(stderr, "usage: bench_backprop A [runs] | B [threads] [epochs] [runs] | C [threads] | L\n");
        return 2;
    }
    char w = argv[1][0];
    int a2 = argc > 2 ? atoi(argv[2]) : 0, a3 = argc > 3 ? atoi(argv[3]) : 0;
    int a4 = argc > 4 ? atoi(argv[4]) : 0;

    bp_dataset *train = NULL, *test = NULL;
    double t0 = now_s();
    CHECK("loading fashion-mnist", bp_dataset_load_named("fashion-mnist", NULL, &train, &test));
    const char *rows_env = getenv("BENCH_TRAIN_ROWS");
    size_t keep = rows_env ? (size_t)strtoull(rows_env, NULL, 10) : 0;
    if (keep > 0 && keep < bp_dataset_rows(train)) {
        size_t *idx = malloc(keep * sizeof *idx);
        bp_dataset *sub = NULL;
        if (!idx) {
            fprintf(stderr, "bench_backprop: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < keep; i++)
            idx[i] = i;
        CHECK("bp_dataset_subset", bp_dataset_subset(train, idx, keep, &sub));
        free(idx);
        bp_dataset_free(train);
        train = sub;
    }
    fprintf(stderr, "bench_backprop: loaded %zu + %zu rows in %.2f s\n", bp_dataset_rows(train),
            bp_dataset_rows(test), now_s() - t0);

    if (w == 'L')
        printf("backprop-load rows=%zu test_rows=%zu\n", bp_dataset_rows(train), bp_dataset_rows(test));
    else if (w == 'A')
        workload_a(train, test, a2 > 0 ? a2 : 1);
    else if (w == 'B')
        workload_b(train, test, a2 > 0 ? a2 : 1, a3 > 0 ? a3 : 1, a4 > 0 ? a4 : 1);
    else
        workload_c(train, test, a2 > 0 ? a2 : 1);

    bp_dataset_free(train);
    bp_dataset_free(test);
    return 0;
}
