/*
 * Training-step throughput of a backend's ops, the shape of
 * shared/reference-bench/gpu_anchor*.py: an MLP with ReLU hidden layers,
 * softmax + cross-entropy, Adam, synthetic data already in the backend's
 * memory, no host round-trip inside the timed steps.  The op sequence is the
 * one nn/ issues per step (dense forward, output delta, dense backward, one
 * update over the flat parameters), so this is what the CUDA backend gives
 * before any fusion or CUDA graph (docs/gpu.md).
 *
 *   gpu_step [--cpu] [--threads T] SIZES BATCH STEPS     e.g. 784,512,256,10 128 500
 * prints: backprop-<backend> [784, 512, 256, 10] batch=128: N samples/s, X us/step, Y TFLOP/s
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/backend.h"

enum { MAX_LAYERS = 16 };

typedef struct mlp {
    bpk_backend *be;
    int L, batch, size[MAX_LAYERS + 1];
    size_t n_params;
    float *params, *grads, *m, *v;  /* flat: W0, b0, W1, b1, … */
    float *W[MAX_LAYERS], *b[MAX_LAYERS], *gW[MAX_LAYERS], *gb[MAX_LAYERS];
    float *a[MAX_LAYERS + 1], *s[MAX_LAYERS], *delta[MAX_LAYERS + 1];
    float *target;
} mlp;

static float *alloc_or_die(bpk_backend *be, size_t n)
{
    float *p = bpk_alloc(be, n);
    if (!p) {
        fprintf(stderr, "gpu_step: out of memory (%zu floats)\n", n);
        exit(1);
    }
    return p;
}

static void fill_random(bpk_backend *be, float *dst, size_t n, float scale, uint64_t seed)
{
    bp_rng rng;
    bp_rng_seed(&rng, seed, 1);
    float *h = malloc(n * sizeof *h);
    if (!h)
        exit(1);
    for (size_t i = 0; i < n; i++)
        h[i] = scale * (float)(2 * bp_rng_uniform(&rng) - 1);
    bpk_upload(be, dst, h, n);
    free(h);
}

static void mlp_init(mlp *n)
{
    bpk_backend *be = n->be;
    n->n_params = 0;
    for (int l = 0; l < n->L; l++)
        n->n_params += (size_t)n->size[l + 1] * (n->size[l] + 1);
    n->params = alloc_or_die(be, n->n_params);
    n->grads = alloc_or_die(be, n->n_params);
    n->m = alloc_or_die(be, n->n_params);
    n->v = alloc_or_die(be, n->n_params);
    fill_random(be, n->params, n->n_params, 0.05f, 1);
    size_t o = 0;
    for (int l = 0; l < n->L; l++) {
        size_t w = (size_t)n->size[l + 1] * n->size[l];
        n->W[l] = n->params + o, n->gW[l] = n->grads + o;
        n->b[l] = n->params + o + w, n->gb[l] = n->grads + o + w;
        o += w + n->size[l + 1];
    }
    for (int l = 0; l <= n->L; l++) {
        size_t cells = (size_t)n->batch * n->size[l];
        n->a[l] = alloc_or_die(be, cells);
        n->delta[l] = alloc_or_die(be, cells);
        if (l < n->L)
            n->s[l] = alloc_or_die(be, (size_t)n->batch * n->size[l + 1]);
    }
    fill_random(be, n->a[0], (size_t)n->batch * n->size[0], 1.0f, 2);
    /* one-hot targets, class r mod outputs */
    int out = n->size[n->L];
    float *t = calloc((size_t)n->batch * out, sizeof *t);
    for (int r = 0; r < n->batch; r++)
        t[(size_t)r * out + r % out] = 1.0f;
    n->target = alloc_or_die(be, (size_t)n->batch * out);
    bpk_upload(be, n->target, t, (size_t)n->batch * out);
    free(t);
}

/* One step: forward, softmax + cross-entropy δ, backward, Adam at step t. */
static void mlp_step(mlp *n, int t)
{
    bpk_backend *be = n->be;
    int B = n->batch, L = n->L;
    for (int l = 0; l < L; l++) { /* s = a·Wᵀ, a' = f(s + b) */
        int in = n->size[l], out = n->size[l + 1];
        bpk_sgemm(be, 0, 1, B, out, in, 1.0f, n->a[l], in, n->W[l], in, 0.0f, n->s[l], out);
        bpk_bias_act_forward(be, n->s[l], n->a[l + 1], B, out, n->b[l],
                             l == L - 1 ? BP_ACT_SOFTMAX : BP_ACT_RELU, 0.0f);
    }
    int outs = n->size[L];
    bpk_output_delta(be, BP_LOSS_XENT, BP_ACT_SOFTMAX, 0, 0, n->s[L - 1], n->a[L], n->target,
                     n->delta[L], B, outs);
    for (int l = L - 1; l >= 0; l--) { /* gW = δᵀ·a/B, gb = Σδ/B, δ_prev = δ·W ⊙ f' */
        int in = n->size[l], out = n->size[l + 1];
        bpk_sgemm(be, 1, 0, out, in, B, 1.0f / B, n->delta[l + 1], out, n->a[l], in, 0.0f,
                  n->gW[l], in);
        bpk_col_sum(be, n->delta[l + 1], B, out, 1.0f / B, n->gb[l]);
        if (l == 0)
            break;
        bpk_sgemm(be, 0, 0, B, in, out, 1.0f, n->delta[l + 1], out, n->W[l], in, 0.0f,
                  n->delta[l], in);
        bpk_act_backward(be, n->delta[l], n->s[l - 1], n->a[l], (size_t)B * in, BP_ACT_RELU,
                         0.0f, 0.0f);
    }
    float b1 = 0.9f, b2 = 0.999f, p1 = 1, p2 = 1;
    for (int i = 0; i < t; i++)
        p1 *= b1, p2 *= b2;
    bpk_update u = {.optimizer = BP_OPT_ADAM, .lr = 1e-3f, .beta1 = b1, .beta2 = b2,
                    .eps = 1e-8f, .c1 = 1 - p1, .c2 = 1 - p2};
    bpk_update_params(be, &u, n->params, n->grads, n->m, n->v, n->n_params);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int parse_sizes(const char *arg, int *size)
{
    int L = -1;
    for (const char *p = arg; *p && L < MAX_LAYERS;) {
        size[++L] = atoi(p);
        if (size[L] <= 0)
            return -1;
        p = strchr(p, ',');
        if (!p)
            break;
        p++;
    }
    return L;
}

static bpk_backend *open_backend(int cpu, int threads)
{
    if (cpu)
        return bpk_cpu_backend_create(threads, NULL);
    char detail[256];
    bpk_cuda_status why;
    bpk_backend *be = bpk_cuda_backend_create(0, &why, detail, sizeof detail);
    if (!be)
        fprintf(stderr, "gpu_step: %s (%s)\n", bpk_cuda_status_text(why), detail);
    return be;
}

int main(int argc, char **argv)
{
    int cpu = 0, threads = 1, a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (strcmp(argv[a], "--cpu") == 0)
            cpu = 1;
        else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc)
            threads = atoi(argv[++a]);
    }
    mlp n = {0};
    if (argc - a != 3 || (n.L = parse_sizes(argv[a], n.size)) < 1 ||
        (n.batch = atoi(argv[a + 1])) < 1 || atoi(argv[a + 2]) < 1) {
        fprintf(stderr, "usage: gpu_step [--cpu] [--threads T] SIZES BATCH STEPS\n");
        return 2;
    }
    int steps = atoi(argv[a + 2]);
    if (!(n.be = open_backend(cpu, threads)))
        return 1;
    mlp_init(&n);
    for (int t = 1; t <= 20; t++)
        mlp_step(&n, t);
    bpk_sumsq(n.be, n.params, 1); /* waits for the queued work */
    double t0 = now();
    for (int t = 21; t < 21 + steps; t++)
        mlp_step(&n, t);
    double check = bpk_sumsq(n.be, n.params, n.n_params), dt = (now() - t0) / steps;
    const char *err = cpu ? NULL : bpk_cuda_backend_error(n.be);
    if (err || check != check) {
        fprintf(stderr, "gpu_step: %s\n", err ? err : "parameters went non-finite");
        return 1;
    }
    printf("backprop-%s [", n.be->name);
    for (int l = 0; l <= n.L; l++)
        printf("%s%d", l ? ", " : "", n.size[l]);
    printf("] batch=%d: %.0f samples/s, %.1f us/step, %.2f TFLOP/s (6*params*samples)\n",
           n.batch, n.batch / dt, dt * 1e6, 6.0 * n.n_params * n.batch / dt / 1e12);
    return 0;
}
