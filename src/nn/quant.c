/*
 * int8 inference (backprop.h, bp_quantize): per-neuron symmetric int8
 * weights, one calibrated scale per layer input, int32 sums
 * (kernels/int8.h), then s = sum · (input scale · weight scale) and bias and
 * activation in float32 with the fp32 kernel.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/int8.h"
#include "nn/error.h"
#include "nn/le.h"
#include "nn_internal.h"

#define QINT_FORMAT 1u
#define QCHUNK 256 /* rows per pass */
#define CALIB_SAMPLES ((size_t)1 << 22)
/* The quantile of |x| that maps to the top code: on digits (tests/test_int8.c)
 * 449 of 451 test rows agree with fp32, 447 with the maximum.  Least-squares
 * clipping was tried and agreed less (445): for a classifier the rare large
 * activations matter more than the fine steps. */
#define CALIB_PCT 0.999

typedef struct qlayer {
    int units, fan_in;
    float in_scale;   /* input x ≈ in_scale · (q + zero) */
    int zero;         /* 0, or 127 for inputs ≥ 0 (int8.h) */
    int32_t *corr;    /* [units]: zero · Σ_k w_q[j][k], added to each sum */
    float *w_scale;   /* [units] */
    float *col_scale; /* [units]: in_scale · w_scale[j], the dequantizing factor */
    int8_t *w;        /* [units][fan_in] */
    bpk_s8_panels *panels; /* w packed for the VNNI GEMM once, or NULL (kernels/int8.h) */
} qlayer;

struct bp_qnet {
    const bp_net *net;
    int layers, widest; /* widest: the most units or inputs of any layer */
    qlayer *layer;
};

void bp_qnet_free(bp_qnet *q)
{
    if (!q)
        return;
    for (int l = 0; l < q->layers; l++) {
        free(q->layer[l].w_scale);
        free(q->layer[l].corr);
        free(q->layer[l].col_scale);
        free(q->layer[l].w);
        bpk_s8_panels_free(q->layer[l].panels);
    }
    free(q->layer);
    free(q);
}

const bp_net *bp_qnet_net(const bp_qnet *q) { return q ? q->net : NULL; }

/* An empty q shaped like net (scales 0, weights 0). */
static bp_status qnet_alloc(bp_qnet **out, const bp_net *net)
{
    *out = NULL;
    int layers = bp_net_layers(net);
    bp_qnet *q = calloc(1, sizeof *q);
    if (!q || !(q->layer = calloc((size_t)layers, sizeof *q->layer))) {
        free(q);
        return bp_error(BP_ERR_NOMEM, "out of memory for the int8 model");
    }
    q->net = net;
    q->layers = layers;
    q->widest = bp_net_inputs(net);
    for (int l = 0; l < layers; l++) {
        qlayer *L = &q->layer[l];
        L->units = bp_net_layer(net, l).units;
        L->fan_in = bp_net_fan_in(net, l);
        if (L->units > q->widest)
            q->widest = L->units;
        L->w_scale = calloc((size_t)L->units, sizeof(float));
        L->col_scale = calloc((size_t)L->units, sizeof(float));
        L->corr = calloc((size_t)L->units, sizeof(int32_t));
        L->w = calloc((size_t)L->units * (size_t)L->fan_in, 1);
        if (!L->w_scale || !L->col_scale || !L->corr || !L->w) {
            bp_qnet_free(q);
            return bp_error(BP_ERR_NOMEM, "out of memory for the int8 model");
        }
    }
    *out = q;
    return BP_OK;
}

/* Per neuron: scale = max|w|/127 (1 for an all-zero row), w_q = round(w/scale). */
static void quantize_weights(qlayer *L, const float *W)
{
    for (int j = 0; j < L->units; j++) {
        const float *w = W + (size_t)j * (size_t)L->fan_in;
        float m = 0.0f;
        for (int k = 0; k < L->fan_in; k++)
            m = fmaxf(m, fabsf(w[k]));
        L->w_scale[j] = m > 0.0f ? m / 127.0f : 1.0f;
        bpk_quantize_s8_portable(w, (size_t)L->fan_in, 1.0f / L->w_scale[j], 0,
                                 L->w + (size_t)j * (size_t)L->fan_in);
    }
}

/* What follows from the weights and scales: each sum's factor, its
 * zero-point correction, and the weights packed for the VNNI GEMM (without
 * them, which is only slower, each product packs its own). */
static void set_col_scales(qlayer *L)
{
    bpk_s8_panels_free(L->panels);
    L->panels = bpk_s8_panels_create(L->units, L->fan_in, L->w, L->fan_in);
    for (int j = 0; j < L->units; j++) {
        const int8_t *w = L->w + (size_t)j * (size_t)L->fan_in;
        int32_t sum = 0;
        for (int k = 0; k < L->fan_in; k++)
            sum += w[k];
        L->corr[j] = L->zero * sum;
        L->col_scale[j] = L->in_scale * L->w_scale[j];
    }
}

/* |x| samples of one layer's input, for its percentile. */
typedef struct absbuf {
    float *v;
    size_t n, cap;
    int signed_values; /* a value below 0 was seen: no zero point */
    int nonfinite;     /* a NaN or infinity was seen */
} absbuf;

/* Every value counts for the sign and finiteness; the first cap for the
 * quantile. */
static void abs_collect(absbuf *b, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        b->signed_values |= x[i] < 0.0f;
        b->nonfinite |= !isfinite(x[i]);
        if (b->n < b->cap)
            b->v[b->n++] = fabsf(x[i]);
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float abs_percentile(absbuf *b, double pct)
{
    if (b->n == 0)
        return 0.0f;
    qsort(b->v, b->n, sizeof *b->v, cmp_float);
    size_t k = (size_t)(pct * (double)(b->n - 1));
    return b->v[k];
}

/* Each layer's input range over the calibration rows, from float32 passes
 * (and whether they are all ≥ 0, for the zero point): the CALIB_PCT
 * quantile of |x| over the first CALIB_SAMPLES values, so a few outliers (a
 * standardized input that is almost always 0) do not coarsen the steps of
 * every other value; beyond it values clamp to the top code. */
static bp_status calibrate(bp_qnet *q, const float *calib, size_t rows)
{
    const bp_net *net = q->net;
    bp_workspace *ws = NULL;
    bp_status st = bp_workspace_create(&ws, net, QCHUNK, 1);
    if (st != BP_OK)
        return st;
    size_t in = (size_t)bp_net_inputs(net);
    float *x = malloc((size_t)QCHUNK * in * sizeof(float));
    absbuf *b = calloc((size_t)q->layers, sizeof *b);
    if (!x || !b)
        st = bp_error(BP_ERR_NOMEM, "out of memory for calibration");
    for (int l = 0; st == BP_OK && l < q->layers; l++) {
        size_t all = rows * (size_t)q->layer[l].fan_in;
        b[l].cap = all < CALIB_SAMPLES ? all : CALIB_SAMPLES;
        if (!(b[l].v = malloc(b[l].cap * sizeof(float))))
            st = bp_error(BP_ERR_NOMEM, "out of memory for calibration");
    }
    for (size_t r = 0; st == BP_OK && r < rows; r += QCHUNK) {
        int n = (int)(rows - r < QCHUNK ? rows - r : QCHUNK);
        bp_net_scale_inputs(net, calib + r * in, x, (size_t)n);
        abs_collect(&b[0], x, (size_t)n * in);
        if ((st = bp_forward(net, ws, x, n)) != BP_OK)
            break;
        for (int l = 1; l < q->layers; l++)
            abs_collect(&b[l], bp_workspace_a(ws, l - 1),
                        (size_t)n * (size_t)q->layer[l - 1].units);
    }
    for (int l = 0; st == BP_OK && l < q->layers; l++) {
        float range = abs_percentile(&b[l], CALIB_PCT);
        if (b[l].nonfinite) {
            st = bp_error(BP_ERR_NUMERIC, "calibration: the inputs of layer %d are not finite",
                          l + 1);
            break;
        }
        /* inputs ≥ 0 (after ReLU, sigmoid, raw pixels) get all 255 steps */
        q->layer[l].zero = b[l].signed_values ? 0 : 127;
        q->layer[l].in_scale =
            range > 0.0f ? range / (q->layer[l].zero ? 254.0f : 127.0f) : 1.0f;
        set_col_scales(&q->layer[l]);
    }
    for (int l = 0; b && l < q->layers; l++)
        free(b[l].v);
    free(b);
    free(x);
    bp_workspace_free(ws);
    return st;
}

bp_status bp_quantize(bp_qnet **out, const bp_net *net, const float *calib, size_t rows)
{
    if (out)
        *out = NULL;
    if (!out || !net || !calib)
        return bp_error(BP_ERR_ARG, "bp_quantize: NULL argument");
    if (rows == 0)
        return bp_error(BP_ERR_ARG, "bp_quantize: no calibration rows (activation scales are "
                                    "calibrated on data)");
    for (int l = 0; l < bp_net_layers(net); l++)
        if (bp_net_fan_in(net, l) > BPK_INT8_MAX_K)
            return bp_error(BP_ERR_UNSUPPORTED, "bp_quantize: layer %d has %d inputs; int8 "
                            "sums overflow beyond %d", l + 1, bp_net_fan_in(net, l),
                            BPK_INT8_MAX_K);
    bp_qnet *q;
    bp_status st = qnet_alloc(&q, net);
    if (st != BP_OK)
        return st;
    for (int l = 0; l < q->layers; l++)
        quantize_weights(&q->layer[l], bp_net_weights_const(net, l));
    if ((st = calibrate(q, calib, rows)) != BP_OK) {
        bp_qnet_free(q);
        return st;
    }
    *out = q;
    return BP_OK;
}

/* Buffers of one int8 pass over QCHUNK rows. */
typedef struct qbuf {
    float *x, *s, *a; /* [QCHUNK][widest] each; a is the next layer's input */
    int8_t *xq;
    int32_t *acc;
    bpk_backend *be; /* one-thread CPU backend: bias and activation in float32 */
} qbuf;

static void qbuf_free(qbuf *b)
{
    free(b->x);
    free(b->s);
    free(b->a);
    free(b->xq);
    free(b->acc);
    bpk_backend_free(b->be);
}

static bp_status qbuf_alloc(qbuf *b, const bp_qnet *q)
{
    size_t n = (size_t)QCHUNK * (size_t)q->widest;
    b->x = malloc(n * sizeof(float));
    b->s = malloc(n * sizeof(float));
    b->a = malloc(n * sizeof(float));
    b->xq = malloc(n);
    b->acc = malloc(n * sizeof(int32_t));
    b->be = bpk_cpu_backend_create(1, NULL);
    if (b->x && b->s && b->a && b->xq && b->acc && b->be)
        return BP_OK;
    qbuf_free(b);
    return bp_error(BP_ERR_NOMEM, "out of memory for int8 inference");
}

/* n raw rows through every layer; the last layer's s and a are left in b->s
 * and b->x (a [n][outputs]). */
static void qforward(const bp_qnet *q, qbuf *b, const float *raw, int n)
{
    /* Unscaled inputs are quantized where they lie: copying them first took
     * a tenth of the int8 time of a 784-input net. */
    const float *in = raw;
    if (bp_net_scaling(q->net, NULL, NULL)) {
        bp_net_scale_inputs(q->net, raw, b->x, (size_t)n);
        in = b->x;
    }
    for (int l = 0; l < q->layers; l++, in = b->x) {
        const qlayer *L = &q->layer[l];
        bp_layer_spec spec = bp_net_layer(q->net, l);
        bpk_quantize_s8(in, (size_t)n * (size_t)L->fan_in, 1.0f / L->in_scale, L->zero, b->xq);
        bpk_gemm_s8_panels(n, L->units, L->fan_in, b->xq, L->fan_in, L->w, L->fan_in, L->panels,
                           b->acc, L->units);
        bpk_dequantize_s32(b->acc, L->units, n, L->units, L->corr, L->col_scale, b->s,
                           L->units);
        bpk_bias_act_forward(b->be, b->s, b->a, n, L->units,
                             spec.bias ? bp_net_biases_const(q->net, l) : NULL, spec.act,
                             spec.slope);
        float *t = b->x; /* a becomes the next input */
        b->x = b->a;
        b->a = t;
    }
}

bp_status bp_qnet_predict(const bp_qnet *q, const float *x, size_t rows, float *out)
{
    if (!q || (rows && (!x || !out)))
        return bp_error(BP_ERR_ARG, "bp_qnet_predict: NULL argument");
    qbuf b;
    bp_status st = qbuf_alloc(&b, q);
    if (st != BP_OK)
        return st;
    size_t in = (size_t)bp_net_inputs(q->net), n_out = (size_t)bp_net_outputs(q->net);
    for (size_t r = 0; r < rows; r += QCHUNK) {
        int n = (int)(rows - r < QCHUNK ? rows - r : QCHUNK);
        qforward(q, &b, x + r * in, n);
        memcpy(out + r * n_out, b.x, (size_t)n * n_out * sizeof(float));
    }
    qbuf_free(&b);
    return BP_OK;
}

bp_status bp_qnet_evaluate(const bp_qnet *q, const bp_dataset *ds, bp_metrics *out)
{
    if (!q || !ds || !out)
        return bp_error(BP_ERR_ARG, "bp_qnet_evaluate: NULL argument");
    bp_status st = bp_abi_check(out, BP_METRICS_V1, "bp_qnet_evaluate", "bp_metrics",
                                "bp_metrics_init");
    if (st == BP_OK)
        st = bp_check_data_fits(q->net, ds, NULL, "model");
    size_t rows = bp_dataset_rows(ds), in = (size_t)bp_net_inputs(q->net);
    int n_out = bp_net_outputs(q->net);
    const float *Y = bp_dataset_y_const(ds);
    if (st == BP_OK && (st = bp_check_targets(q->net, Y, rows, "target row")) != BP_OK)
        return st;
    float *outputs = st == BP_OK ? malloc(rows * (size_t)n_out * sizeof(float)) : NULL;
    if (st == BP_OK && !outputs)
        st = bp_error(BP_ERR_NOMEM, "out of memory for %zu predictions", rows);
    qbuf b;
    if (st != BP_OK || (st = qbuf_alloc(&b, q)) != BP_OK) {
        free(outputs);
        return st;
    }
    double loss = 0;
    bp_loss kind = bp_net_loss(q->net);
    for (size_t r = 0; r < rows; r += QCHUNK) {
        int n = (int)(rows - r < QCHUNK ? rows - r : QCHUNK);
        qforward(q, &b, bp_dataset_x_const(ds) + r * in, n);
        for (int i = 0; i < n; i++) {
            size_t o = (size_t)i * (size_t)n_out;
            loss += bpk_sample_loss(kind, b.s + o, b.x + o, Y + (r + (size_t)i) * (size_t)n_out,
                                    n_out);
        }
        memcpy(outputs + r * (size_t)n_out, b.x, (size_t)n * (size_t)n_out * sizeof(float));
    }
    qbuf_free(&b);
    out->loss = loss / (double)rows;
    st = bp_metrics_compute(outputs, Y, bp_dataset_labels(ds), rows, n_out,
                            bp_dataset_classes(ds), out);
    free(outputs);
    return st;
}

/* ---- the QINT section's payload (quant_io.h) ---------------------------- */

bp_status bp_qnet_export(const bp_qnet *q, unsigned char **blob, size_t *len)
{
    size_t n = 8;
    for (int l = 0; l < q->layers; l++)
        n += 16 + 4 * (size_t)q->layer[l].units +
             (size_t)q->layer[l].units * (size_t)q->layer[l].fan_in;
    unsigned char *p = malloc(n), *o = p;
    if (!p)
        return bp_error(BP_ERR_NOMEM, "out of memory for the int8 section");
    bp_le_put_u32(o, QINT_FORMAT);
    bp_le_put_u32(o + 4, (uint32_t)q->layers);
    o += 8;
    for (int l = 0; l < q->layers; l++) {
        const qlayer *L = &q->layer[l];
        size_t nw = (size_t)L->units * (size_t)L->fan_in;
        bp_le_put_u32(o, (uint32_t)L->units);
        bp_le_put_u32(o + 4, (uint32_t)L->fan_in);
        bp_le_put_u32(o + 8, bp_f32_bits(L->in_scale));
        bp_le_put_u32(o + 12, (uint32_t)L->zero);
        o += 16;
        for (int j = 0; j < L->units; j++, o += 4)
            bp_le_put_u32(o, bp_f32_bits(L->w_scale[j]));
        memcpy(o, L->w, nw);
        o += nw;
    }
    *blob = p;
    *len = n;
    return BP_OK;
}

static int good_scale(float s) { return isfinite(s) && s > 0.0f; }

/* Layer l of the blob at *p (left bytes) into q's layer, checked. */
static bp_status import_layer(qlayer *L, int l, const unsigned char **p, size_t *left)
{
    if (*left < 16)
        return bp_error(BP_ERR_FORMAT, "section QINT: layer %d: truncated", l + 1);
    uint32_t units = bp_le_get_u32(*p), fan_in = bp_le_get_u32(*p + 4);
    float in_scale = bp_f32_from_bits(bp_le_get_u32(*p + 8));
    uint32_t zero = bp_le_get_u32(*p + 12);
    if (units != (uint32_t)L->units || fan_in != (uint32_t)L->fan_in)
        return bp_error(BP_ERR_FORMAT, "section QINT: layer %d is %lu x %lu, the model's is "
                        "%d x %d", l + 1, (unsigned long)units, (unsigned long)fan_in,
                        L->units, L->fan_in);
    if (!good_scale(in_scale))
        return bp_error(BP_ERR_FORMAT, "section QINT: layer %d: input scale %g is not a "
                        "positive number", l + 1, (double)in_scale);
    if (zero != 0 && zero != 127)
        return bp_error(BP_ERR_FORMAT, "section QINT: layer %d: zero point %lu is not 0 or 127",
                        l + 1, (unsigned long)zero);
    size_t nw = (size_t)L->units * (size_t)L->fan_in, need = 16 + 4 * (size_t)L->units + nw;
    if (*left < need)
        return bp_error(BP_ERR_FORMAT, "section QINT: layer %d: truncated (%zu bytes left, "
                        "%zu needed)", l + 1, *left, need);
    const unsigned char *s = *p + 16;
    for (int j = 0; j < L->units; j++) {
        L->w_scale[j] = bp_f32_from_bits(bp_le_get_u32(s + 4 * (size_t)j));
        if (!good_scale(L->w_scale[j]))
            return bp_error(BP_ERR_FORMAT, "section QINT: layer %d: weight scale of neuron %d "
                            "is %g, not a positive number", l + 1, j + 1,
                            (double)L->w_scale[j]);
    }
    memcpy(L->w, s + 4 * (size_t)L->units, nw);
    for (size_t i = 0; i < nw; i++)
        if (L->w[i] == INT8_MIN) /* outside the symmetric range the kernels rely on */
            return bp_error(BP_ERR_FORMAT, "section QINT: layer %d: weight %zu of neuron %zu "
                            "is -128, outside -127..127", l + 1, i % (size_t)L->fan_in + 1,
                            i / (size_t)L->fan_in + 1);
    L->in_scale = in_scale;
    L->zero = (int)zero;
    set_col_scales(L);
    *p += need;
    *left -= need;
    return BP_OK;
}

bp_status bp_qnet_import(bp_qnet **out, const bp_net *net, const unsigned char *blob,
                         size_t len)
{
    *out = NULL;
    if (len < 8)
        return bp_error(BP_ERR_FORMAT, "section QINT: truncated (%zu bytes)", len);
    uint32_t format = bp_le_get_u32(blob), layers = bp_le_get_u32(blob + 4);
    if (format != QINT_FORMAT)
        return bp_error(BP_ERR_FORMAT, "section QINT: format %lu is not one this build reads "
                        "(%u)", (unsigned long)format, QINT_FORMAT);
    if (layers != (uint32_t)bp_net_layers(net))
        return bp_error(BP_ERR_FORMAT, "section QINT: %lu layers, the model has %d",
                        (unsigned long)layers, bp_net_layers(net));
    bp_qnet *q;
    bp_status st = qnet_alloc(&q, net);
    const unsigned char *p = blob + 8;
    size_t left = len - 8;
    for (int l = 0; st == BP_OK && l < q->layers; l++)
        st = import_layer(&q->layer[l], l, &p, &left);
    if (st == BP_OK && left)
        st = bp_error(BP_ERR_FORMAT, "section QINT has %zu unexpected bytes at its end", left);
    if (st != BP_OK) {
        bp_qnet_free(q);
        return st;
    }
    *out = q;
    return BP_OK;
}
