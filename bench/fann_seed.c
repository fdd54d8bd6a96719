/*
 * fann_seed — workload A with FANN (Debian libfann-dev, float build) as a peer:
 * 784-128-10, sigmoid hidden and output (FANN_SIGMOID with steepness 0.5 is
 * 1/(1+e^-s)), linear error function (so δ = (t − a)·f'(s), the ½Σ squared-error
 * gradient), incremental (online) training, η 0.1, no momentum, one epoch over
 * the 60000 training images in file order; weights Xavier-uniform per layer
 * (±sqrt(6/(fan_in+fan_out))), biases 0 — the same start as bench_backprop A.
 * Only the training loop is timed.  Then test accuracy (argmax of fann_run).
 *
 *   fann_seed [runs] [dir]     dir defaults to /usr/share/datasets/fashion-mnist
 *   → fann-A run=1 train_s=… samples_per_s=… test_acc=…
 *
 * Build: cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L bench/fann_seed.c -lfloatfann -lz -lm
 */
#include <floatfann.h>
#include <zlib.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Whole file through zlib (gzread also reads an uncompressed file). */
static unsigned char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fann_seed: cannot open %s\n", path);
        exit(1);
    }
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "fann_seed: out of memory\n");
            exit(1);
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n));
        if (got < 0) {
            fprintf(stderr, "fann_seed: read error in %s\n", path);
            exit(1);
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    gzclose(f);
    *len = n;
    return buf;
}

static unsigned be32(const unsigned char *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

typedef struct set {
    unsigned n;
    float *x;       /* [n][784] in [0,1] */
    float *t;       /* [n][10] one-hot */
    unsigned char *y;
} set;

static set load(const char *dir, const char *prefix)
{
    char name[64];
    size_t li, ll;
    snprintf(name, sizeof name, "%s-images-idx3-ubyte.gz", prefix);
    unsigned char *img = slurp(dir, name, &li);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte.gz", prefix);
    unsigned char *lab = slurp(dir, name, &ll);
    if (li < 16 || ll < 8 || be32(img) != 2051 || be32(lab) != 2049 || be32(img + 4) != be32(lab + 4) ||
        be32(img + 8) * be32(img + 12) != 784 || li < 16 + (size_t)be32(img + 4) * 784) {
        fprintf(stderr, "fann_seed: %s: not Fashion-MNIST IDX files\n", prefix);
        exit(1);
    }
    set s;
    s.n = be32(img + 4);
    s.x = malloc((size_t)s.n * 784 * sizeof *s.x);
    s.t = calloc((size_t)s.n * 10, sizeof *s.t);
    s.y = malloc(s.n);
    if (!s.x || !s.t || !s.y) {
        fprintf(stderr, "fann_seed: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < (size_t)s.n * 784; i++)
        s.x[i] = (float)img[16 + i] / 255.0f;
    for (unsigned i = 0; i < s.n; i++) {
        s.y[i] = lab[8 + i];
        s.t[(size_t)i * 10 + s.y[i]] = 1.0f;
    }
    free(img);
    free(lab);
    return s;
}

/* xorshift64*, uniform in [-r, r] */
static float uniform(unsigned long long *st, float r)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    unsigned long long v = *st * 2685821657736338717ULL;
    return (float)(((double)(v >> 11) / 9007199254740992.0) * 2.0 - 1.0) * r;
}

/* Xavier-uniform per layer, biases 0, through FANN's connection array. */
static void init_weights(struct fann *ann, unsigned long long seed)
{
    unsigned nc = fann_get_total_connections(ann);
    struct fann_connection *c = malloc(nc * sizeof *c);
    if (!c) {
        fprintf(stderr, "fann_seed: out of memory\n");
        exit(1);
    }
    fann_get_connection_array(ann, c);
    /* neuron numbering: inputs 0..783, bias 784; hidden 785..912, bias 913; outputs 914.. */
    const float r1 = sqrtf(6.0f / (784 + 128)), r2 = sqrtf(6.0f / (128 + 10));
    for (unsigned i = 0; i < nc; i++) {
        int to_hidden = c[i].to_neuron < 785 + 129;
        int from_bias = c[i].from_neuron == 784 || c[i].from_neuron == 913;
        c[i].weight = from_bias ? 0.0f : uniform(&seed, to_hidden ? r1 : r2);
    }
    fann_set_weight_array(ann, c, nc);
    free(c);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 1;
    const char *dir = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";
    if (runs < 1)
        runs = 1;
    set tr = load(dir, "train"), te = load(dir, "t10k");
    for (int r = 1; r <= runs; r++) {
        struct fann *ann = fann_create_standard(3, 784, 128, 10);
        if (!ann) {
            fprintf(stderr, "fann_seed: fann_create_standard failed\n");
            return 1;
        }
        fann_set_activation_function_hidden(ann, FANN_SIGMOID);
        fann_set_activation_function_output(ann, FANN_SIGMOID);
        fann_set_activation_steepness_hidden(ann, 0.5f);
        fann_set_activation_steepness_output(ann, 0.5f);
        fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
        fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
        fann_set_learning_rate(ann, 0.1f);
        fann_set_learning_momentum(ann, 0.0f);
        init_weights(ann, 0x9E3779B97F4A7C15ULL); /* same start every run */

        double t0 = now_s();
        for (unsigned i = 0; i < tr.n; i++)
            fann_train(ann, tr.x + (size_t)i * 784, tr.t + (size_t)i * 10);
        double t = now_s() - t0;

        unsigned correct = 0;
        for (unsigned i = 0; i < te.n; i++) {
            const float *o = fann_run(ann, te.x + (size_t)i * 784);
            int k = 0;
            for (int j = 1; j < 10; j++)
                if (o[j] > o[k])
                    k = j;
            correct += k == te.y[i];
        }
        printf("fann-A run=%d train_s=%.4f samples_per_s=%.0f test_acc=%.4f\n", r, t, tr.n / t,
               (double)correct / te.n);
        fflush(stdout);
        fann_destroy(ann);
    }
    free(tr.x), free(tr.t), free(tr.y), free(te.x), free(te.t), free(te.y);
    return 0;
}
