/*
 * The CUDA backend's kernels: element-wise ops, per-row ops (one warp per
 * row), the optimizer updates and the deterministic reductions.
 *
 * Built with --fmad=false: a·b + c is never contracted into an FMA, as on
 * the CPU's portable path, so the element-wise ops that do only +, −, ×, ÷
 * and √ (all IEEE-rounded on the GPU without fast-math) give the portable
 * path's bits.  expf, tanhf, exp and log may differ from glibc's in the last
 * place: those ops match the CPU within a relative 1e-4, not bit for bit.
 *
 * Nothing here uses atomics: every sum has a fixed order (a loop, or a fixed
 * tree whose shape depends only on the sizes), so a run repeats bit for bit
 * on the same GPU.
 */
#include <math.h>
#include <stdint.h>

#include "cuda_internal.h"
#include "kernels/act_scalar.h"

enum { THREADS = 256, WARPS = THREADS / 32 };

static unsigned blocks_for(size_t n) { return (unsigned)((n + THREADS - 1) / THREADS); }
static unsigned row_blocks(int rows) { return (unsigned)((rows + WARPS - 1) / WARPS); }

/* Launch over n threads (nothing when n is 0: an empty grid is an error). */
#define LAUNCH(c, n, kernel, ...)                                                              \
    do {                                                                                       \
        if ((n) > 0) {                                                                         \
            kernel<<<blocks_for(n), THREADS, 0, (c)->stream>>>(__VA_ARGS__);                   \
            cu_check_launch(c, #kernel);                                                       \
        }                                                                                      \
    } while (0)
/* Launch one warp per row. */
#define LAUNCH_ROWS(c, rows, kernel, ...)                                                      \
    do {                                                                                       \
        if ((rows) > 0) {                                                                      \
            kernel<<<row_blocks(rows), THREADS, 0, (c)->stream>>>(__VA_ARGS__);                \
            cu_check_launch(c, #kernel);                                                       \
        }                                                                                      \
    } while (0)

__device__ static size_t thread_index() { return (size_t)blockIdx.x * blockDim.x + threadIdx.x; }

/* Butterfly sums over a warp: every lane ends with the same bits, because
 * each step adds the same two values on both lanes of a pair (a + b == b + a). */
__device__ static float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ static float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* ---- activations and losses: kernels/act_scalar.h's one definition ------- */

__device__ static float act_f(bp_activation act, float s, float slope)
{
    return bpk_act_value(act, s, slope);
}

__device__ static float act_deriv(bp_activation act, float s, float a, float slope)
{
    return bpk_act_slope(act, s, a, slope);
}

/* ---- element-wise ---------------------------------------------------------- */

__global__ static void k_fill(float *x, size_t n, float value)
{
    size_t i = thread_index();
    if (i < n)
        x[i] = value;
}

__global__ static void k_bias_act(float *s, float *a, size_t n, int cols, const float *bias,
                                  bp_activation act, float slope)
{
    size_t i = thread_index();
    if (i >= n)
        return;
    float v = s[i];
    if (bias) {
        v += bias[i % (size_t)cols];
        s[i] = v;
    }
    a[i] = act_f(act, v, slope);
}

/* Softmax over each row: subtract the row maximum (it cancels in the ratio
 * and keeps expf finite), exponentiate, divide by the sum. */
__global__ static void k_softmax_rows(float *s, float *a, int rows, int cols, const float *bias)
{
    int row = blockIdx.x * WARPS + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows)
        return; /* the whole warp leaves together */
    float *sr = s + (size_t)row * cols, *ar = a + (size_t)row * cols;
    float mx = -INFINITY;
    for (int j = lane; j < cols; j += 32) {
        float v = sr[j];
        if (bias) {
            v += bias[j];
            sr[j] = v;
        }
        mx = fmaxf(mx, v);
    }
    mx = warp_max(mx);
    float sum = 0.0f;
    for (int j = lane; j < cols; j += 32) {
        float e = expf(sr[j] - mx);
        ar[j] = e;
        sum += e;
    }
    float inv = 1.0f / warp_sum(sum);
    for (int j = lane; j < cols; j += 32)
        ar[j] *= inv;
}

__global__ static void k_act_backward(float *delta, const float *s, const float *a, size_t n,
                                      bp_activation act, float slope)
{
    size_t i = thread_index();
    if (i < n)
        delta[i] *= act_deriv(act, s ? s[i] : 0.0f, a ? a[i] : 0.0f, slope);
}

/* Fahlman's flat-spot fix: σ' = a(1 − a) + flat_spot. */
__global__ static void k_sigmoid_flat_backward(float *delta, const float *a, size_t n,
                                               float flat_spot)
{
    size_t i = thread_index();
    if (i < n)
        delta[i] *= a[i] * (1.0f - a[i]) + flat_spot;
}

/* One thread per column, rows in ascending order: the portable loop's order. */
__global__ static void k_col_sum(const float *X, int rows, int cols, float scale, float *out)
{
    size_t j = thread_index();
    if (j >= (size_t)cols)
        return;
    float acc = 0.0f;
    for (int i = 0; i < rows; i++)
        acc += X[(size_t)i * cols + j];
    out[j] = acc * scale;
}

__global__ static void k_diff(float *delta, const float *a, const float *t, size_t n)
{
    size_t i = thread_index();
    if (i < n)
        delta[i] = a[i] - t[i];
}

/* δ_j = a_j (g_j − Σ_k g_k a_k) per row, g = ∂E/∂a already in delta. */
__global__ static void k_softmax_delta(float *delta, const float *a, int rows, int cols)
{
    int row = blockIdx.x * WARPS + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows)
        return;
    float *d = delta + (size_t)row * cols;
    const float *ar = a + (size_t)row * cols;
    float dot = 0.0f;
    for (int j = lane; j < cols; j += 32)
        dot += d[j] * ar[j];
    dot = warp_sum(dot);
    for (int j = lane; j < cols; j += 32)
        d[j] = ar[j] * (d[j] - dot);
}

__global__ static void k_mul(float *y, const float *x, size_t n)
{
    size_t i = thread_index();
    if (i < n)
        y[i] *= x[i];
}

__global__ static void k_sum_vectors(const float *v, int count, size_t len, float *out)
{
    size_t i = thread_index();
    if (i >= len)
        return;
    float acc = v[i];
    for (int k = 1; k < count; k++)
        acc += v[(size_t)k * len + i];
    out[i] = acc;
}

__global__ static void k_axpy(float *y, const float *x, size_t n, float alpha)
{
    size_t i = thread_index();
    if (i < n)
        y[i] += alpha * x[i];
}

__global__ static void k_scale(float *x, size_t n, float f)
{
    size_t i = thread_index();
    if (i < n)
        x[i] *= f;
}

/* ---- batch 1 ------------------------------------------------------------------ */

/* y[i] = W[i]·x (+ bias[i]): one warp per row, lanes over k, a butterfly sum. */
__global__ static void k_sgemv(int M, int K, const float *W, int ldw, const float *x,
                               const float *bias, float *y)
{
    int row = blockIdx.x * WARPS + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= M)
        return;
    const float *w = W + (size_t)row * ldw;
    float acc = 0.0f;
    for (int k = lane; k < K; k += 32)
        acc += w[k] * x[k];
    acc = warp_sum(acc);
    if (lane == 0)
        y[row] = bias ? acc + bias[row] : acc;
}

/* y[k] = Σ_i W[i][k]·d[i], i ascending: one thread per k (coalesced reads). */
__global__ static void k_sgemv_t(int M, int K, const float *W, int ldw, const float *d, float *y)
{
    size_t k = thread_index();
    if (k >= (size_t)K)
        return;
    float acc = 0.0f;
    for (int i = 0; i < M; i++)
        acc += W[(size_t)i * ldw + k] * d[i];
    y[k] = acc;
}

__global__ static void k_sger(int M, int K, float alpha, const float *d, const float *x,
                              float *W, int ldw)
{
    size_t t = thread_index();
    if (t >= (size_t)M * K)
        return;
    size_t i = t / (size_t)K, k = t % (size_t)K;
    W[i * ldw + k] += (alpha * d[i]) * x[k];
}

/* ---- optimizers: the portable loops, one thread per parameter ------------------ */

__global__ static void k_sgd(float *w, const float *g, size_t n, float lr)
{
    size_t i = thread_index();
    if (i < n)
        w[i] -= lr * g[i];
}

__global__ static void k_momentum(float *w, float *v, const float *g, size_t n, float lr,
                                  float mu, int nesterov)
{
    size_t i = thread_index();
    if (i >= n)
        return;
    float vi = mu * v[i] + g[i];
    v[i] = vi;
    w[i] -= lr * (nesterov ? g[i] + mu * vi : vi);
}

__global__ static void k_adam(float *w, float *m, float *v, const float *g, size_t n,
                              bpk_update u)
{
    size_t i = thread_index();
    if (i >= n)
        return;
    float b1c = 1.0f - u.beta1, b2c = 1.0f - u.beta2, lrwd = u.lr * u.decoupled_wd;
    float wi = w[i], gi = g[i];
    if (u.decoupled_wd != 0.0f)
        wi -= lrwd * wi;
    float mi = u.beta1 * m[i] + b1c * gi;
    float vi = u.beta2 * v[i] + b2c * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - u.lr * (mi / u.c1) / (sqrtf(vi / u.c2) + u.eps);
}

__global__ static void k_rmsprop(float *w, float *v, const float *g, size_t n, float lr,
                                 float rho, float eps)
{
    size_t i = thread_index();
    if (i >= n)
        return;
    float vi = rho * v[i] + (1.0f - rho) * g[i] * g[i];
    v[i] = vi;
    w[i] -= lr * g[i] / (sqrtf(vi) + eps);
}

/* iRPROP−: the step grows while the gradient keeps its sign; on a flip it
 * shrinks and this step's gradient is forgotten (g = 0).  step = m, prev = v. */
__global__ static void k_rprop(float *w, float *g, float *step_size, float *prev, size_t n,
                               bpk_update u)
{
    size_t i = thread_index();
    if (i >= n)
        return;
    float gi = g[i], prod = gi * prev[i], step = step_size[i];
    if (prod > 0) {
        step = fminf(step * u.rprop_increase, u.rprop_delta_max);
    } else if (prod < 0) {
        step = fmaxf(step * u.rprop_decrease, u.rprop_delta_min);
        gi = 0.0f;
        g[i] = 0.0f;
    }
    step_size[i] = step;
    if (gi > 0)
        w[i] -= step;
    else if (gi < 0)
        w[i] += step;
    prev[i] = gi;
}

/* ---- reductions --------------------------------------------------------------- */

/* Chunk i of RED_CHUNK elements goes to block i; its threads stride through
 * it, then a fixed tree sums the block; one block then sums the chunks the
 * same way.  The shape depends on n only. */
enum { RED_THREADS = 256 };
static const size_t RED_CHUNK = (size_t)RED_THREADS * 16;

struct SumD {
    __host__ __device__ double identity() const { return 0.0; }
    __device__ double operator()(double a, double b) const { return a + b; }
};
struct MinIndex {
    __host__ __device__ unsigned long long identity() const { return ~0ULL; }
    __device__ unsigned long long operator()(unsigned long long a, unsigned long long b) const
    {
        return a < b ? a : b;
    }
};

template <class T, class Comb> __device__ static T block_tree(T *sh, T acc, Comb comb)
{
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int w = RED_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w)
            sh[threadIdx.x] = comb(sh[threadIdx.x], sh[threadIdx.x + w]);
        __syncthreads();
    }
    return sh[0];
}

template <class T, class Load, class Comb>
__global__ static void k_reduce_chunks(size_t n, Load load, Comb comb, T *partial)
{
    __shared__ T sh[RED_THREADS];
    size_t first = (size_t)blockIdx.x * RED_CHUNK;
    size_t end = n - first < RED_CHUNK ? n : first + RED_CHUNK;
    T acc = comb.identity();
    for (size_t i = first + threadIdx.x; i < end; i += RED_THREADS)
        acc = comb(acc, load(i));
    T total = block_tree(sh, acc, comb);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = total;
}

template <class T, class Comb>
__global__ static void k_reduce_partials(unsigned count, const T *partial, Comb comb, T *out)
{
    __shared__ T sh[RED_THREADS];
    T acc = comb.identity();
    for (unsigned i = threadIdx.x; i < count; i += RED_THREADS)
        acc = comb(acc, partial[i]);
    T total = block_tree(sh, acc, comb);
    if (threadIdx.x == 0)
        *out = total;
}

/* Reduces load(0..n) with comb into one T, on the host when it returns.
 * `scratch` holds at least reduce_scratch(n) bytes of device memory. */
static size_t reduce_scratch(size_t n) { return ((n + RED_CHUNK - 1) / RED_CHUNK + 1) * 8; }

template <class T, class Load, class Comb>
static T reduce(cuda_ctx *c, size_t n, Load load, Comb comb, T *scratch)
{
    T result = comb.identity();
    unsigned nb = (unsigned)((n + RED_CHUNK - 1) / RED_CHUNK);
    if (n == 0 || !scratch)
        return result;
    k_reduce_chunks<<<nb, RED_THREADS, 0, c->stream>>>(n, load, comb, scratch);
    cu_check_launch(c, "k_reduce_chunks");
    k_reduce_partials<<<1, RED_THREADS, 0, c->stream>>>(nb, (const T *)scratch, comb,
                                                         scratch + nb);
    cu_check_launch(c, "k_reduce_partials");
    if (cu_failed(c, cudaMemcpyAsync(&result, scratch + nb, sizeof result,
                                     cudaMemcpyDeviceToHost, c->stream),
                  "reduction result") ||
        cu_failed(c, cudaStreamSynchronize(c->stream), "reduction"))
        return comb.identity();
    return result;
}

struct SumSqLoad {
    const float *x;
    __device__ double operator()(size_t i) const
    {
        double v = x[i];
        return v * v;
    }
};

struct NonfiniteLoad {
    const float *x;
    size_t n;
    __device__ unsigned long long operator()(size_t i) const { return isfinite(x[i]) ? n : i; }
};

/* bpk_sample_loss on the device, in double. */
__device__ static double sample_loss(bp_loss loss, const float *s, const float *a,
                                     const float *t, int cols)
{
    return bpk_loss_value(loss, s, a, t, cols);
}

struct RowLossLoad {
    bp_loss loss;
    const float *s, *a, *t;
    int cols;
    __device__ double operator()(size_t r) const
    {
        size_t o = r * (size_t)cols;
        return sample_loss(loss, s + o, a + o, t + o, cols);
    }
};

/* bpk_predicted_class: 1 output: a > 0.5; else the first largest. */
struct RowCorrectLoad {
    const float *out;
    int cols;
    const int32_t *labels;
    __device__ double operator()(size_t r) const
    {
        const float *o = out + r * (size_t)cols;
        int best = 0;
        if (cols == 1)
            best = o[0] > 0.5f;
        else
            for (int k = 1; k < cols; k++)
                if (o[k] > o[best])
                    best = k;
        return best == labels[r] ? 1.0 : 0.0;
    }
};

double cu_sumsq(cuda_ctx *c, const float *x, size_t n)
{
    double *scratch = (double *)cu_dev_scratch(c, reduce_scratch(n));
    return reduce(c, n, SumSqLoad{x}, SumD{}, scratch);
}

size_t cu_find_nonfinite(cuda_ctx *c, const float *x, size_t n)
{
    unsigned long long *scratch = (unsigned long long *)cu_dev_scratch(c, reduce_scratch(n));
    unsigned long long first = reduce(c, n, NonfiniteLoad{x, n}, MinIndex{}, scratch);
    return first < n ? (size_t)first : n;
}

double cu_loss_sum(cuda_ctx *c, bp_loss loss, const float *s, const float *a,
                   const float *target, int rows, int cols)
{
    if (rows <= 0 || cols <= 0)
        return 0.0;
    double *scratch = (double *)cu_dev_scratch(c, reduce_scratch((size_t)rows));
    return reduce(c, (size_t)rows, RowLossLoad{loss, s, a, target, cols}, SumD{}, scratch);
}

size_t cu_count_correct(cuda_ctx *c, const float *out, int rows, int cols,
                        const int32_t *labels)
{
    if (rows <= 0 || cols <= 0)
        return 0;
    /* [labels, padded to 8 bytes][the reduction's partials and result] */
    size_t label_bytes = ((size_t)rows * sizeof(int32_t) + 7) & ~(size_t)7;
    char *scratch = (char *)cu_dev_scratch(c, label_bytes + reduce_scratch((size_t)rows));
    if (!scratch)
        return 0;
    int32_t *dev_labels = (int32_t *)scratch;
    if (cu_failed(c, cudaMemcpyAsync(dev_labels, labels, (size_t)rows * sizeof(int32_t),
                                     cudaMemcpyHostToDevice, c->stream),
                  "labels upload"))
        return 0;
    double n = reduce(c, (size_t)rows, RowCorrectLoad{out, cols, dev_labels}, SumD{},
                      (double *)(scratch + label_bytes));
    return (size_t)n; /* a sum of 0s and 1s: exact below 2^53 */
}

/* ---- launchers -------------------------------------------------------------------- */

void cu_fill(cuda_ctx *c, float *x, size_t n, float value) { LAUNCH(c, n, k_fill, x, n, value); }

void cu_bias_act_forward(cuda_ctx *c, float *s, float *a, int rows, int cols, const float *bias,
                         bp_activation act, float slope)
{
    if (rows <= 0 || cols <= 0)
        return;
    if (act == BP_ACT_SOFTMAX) {
        LAUNCH_ROWS(c, rows, k_softmax_rows, s, a, rows, cols, bias);
        return;
    }
    size_t n = (size_t)rows * (size_t)cols;
    LAUNCH(c, n, k_bias_act, s, a, n, cols, bias, act, slope);
}

void cu_act_backward(cuda_ctx *c, float *delta, const float *s, const float *a, size_t n,
                     bp_activation act, float slope, float flat_spot)
{
    if (act == BP_ACT_SIGMOID && flat_spot > 0) {
        LAUNCH(c, n, k_sigmoid_flat_backward, delta, a, n, flat_spot);
        return;
    }
    if (act == BP_ACT_LINEAR || act == BP_ACT_SOFTMAX)
        return; /* f' = 1; softmax's coupling is output_delta's */
    LAUNCH(c, n, k_act_backward, delta, s, a, n, act, slope);
}

void cu_col_sum(cuda_ctx *c, const float *X, int rows, int cols, float scale, float *out)
{
    if (cols <= 0)
        return;
    LAUNCH(c, (size_t)cols, k_col_sum, X, rows < 0 ? 0 : rows, cols, scale, out);
}

void cu_sgemv(cuda_ctx *c, int M, int K, const float *W, int ldw, const float *x,
              const float *bias, float *y)
{
    LAUNCH_ROWS(c, M, k_sgemv, M, K, W, ldw, x, bias, y);
}

void cu_sgemv_t(cuda_ctx *c, int M, int K, const float *W, int ldw, const float *d, float *y)
{
    if (K > 0)
        LAUNCH(c, (size_t)K, k_sgemv_t, M < 0 ? 0 : M, K, W, ldw, d, y);
}

void cu_sger(cuda_ctx *c, int M, int K, float alpha, const float *d, const float *x, float *W,
             int ldw)
{
    if (M > 0 && K > 0)
        LAUNCH(c, (size_t)M * (size_t)K, k_sger, M, K, alpha, d, x, W, ldw);
}

void cu_output_delta(cuda_ctx *c, bp_loss loss, bp_activation act, float slope, float flat_spot,
                     const float *s, const float *a, const float *target, float *delta, int rows,
                     int cols)
{
    if (rows <= 0 || cols <= 0)
        return;
    size_t n = (size_t)rows * (size_t)cols;
    LAUNCH(c, n, k_diff, delta, a, target, n); /* ∂E/∂a for MSE; all of δ for the fused losses */
    if (loss != BP_LOSS_MSE)
        return;
    if (act == BP_ACT_SOFTMAX)
        LAUNCH_ROWS(c, rows, k_softmax_delta, delta, a, rows, cols);
    else
        cu_act_backward(c, delta, s, a, n, act, slope, flat_spot);
}

void cu_mul(cuda_ctx *c, float *y, const float *x, size_t n) { LAUNCH(c, n, k_mul, y, x, n); }

void cu_sum_vectors(cuda_ctx *c, const float *v, int count, size_t len, float *out)
{
    if (count <= 0)
        cu_fill(c, out, len, 0.0f);
    else
        LAUNCH(c, len, k_sum_vectors, v, count, len, out);
}

void cu_axpy(cuda_ctx *c, float *y, const float *x, size_t n, float alpha)
{
    LAUNCH(c, n, k_axpy, y, x, n, alpha);
}

void cu_scale(cuda_ctx *c, float *x, size_t n, float f) { LAUNCH(c, n, k_scale, x, n, f); }

void cu_update(cuda_ctx *c, const bpk_update *u, float *w, float *g, float *m, float *v,
               size_t n)
{
    switch (u->optimizer) {
    case BP_OPT_SGD:
        LAUNCH(c, n, k_sgd, w, g, n, u->lr);
        break;
    case BP_OPT_MOMENTUM:
    case BP_OPT_NESTEROV:
        LAUNCH(c, n, k_momentum, w, v, g, n, u->lr, u->momentum,
               u->optimizer == BP_OPT_NESTEROV);
        break;
    case BP_OPT_ADAM:
    case BP_OPT_ADAMW:
        LAUNCH(c, n, k_adam, w, m, v, g, n, *u);
        break;
    case BP_OPT_RMSPROP:
        LAUNCH(c, n, k_rmsprop, w, v, g, n, u->lr, u->rho, u->eps);
        break;
    case BP_OPT_RPROP:
        LAUNCH(c, n, k_rprop, w, g, m, v, n, *u);
        break;
    default:
        break;
    }
}
