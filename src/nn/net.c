/*
 * bp_net: architecture, parameters, input scaling and metadata.
 *
 * All parameters live in one contiguous array (layer by layer, W then b), so
 * optimizers, model files and gradient checks treat them as one vector while
 * layers still see their own matrices.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "kernels/rng.h"

/* Copies the caller's spec array (stride layers[0].size, see backprop.h) into
 * spec[] in this library's layout, defaults in fields the caller's header
 * did not have. */
static bp_status read_specs(int n_layers, const bp_layer_spec *layers,
                            bp_layer_spec spec[BP_MAX_LAYERS])
{
    bp_status st = bp_abi_check(layers, BP_LAYER_SPEC_V1, "bp_net_create", "bp_layer_spec",
                                "bp_layer_spec_default() or BP_LAYER");
    if (st != BP_OK)
        return st;
    size_t stride = layers[0].size;
    for (int l = 0; l < n_layers; l++) {
        const bp_layer_spec *in = (const bp_layer_spec *)((const char *)layers + (size_t)l * stride);
        if (in->size != stride)
            return bp_error(BP_ERR_ARG,
                            "bp_net_create: layer %d: bp_layer_spec.size is %zu but layer 1's is "
                            "%zu: initialise every element with bp_layer_spec_default() or "
                            "BP_LAYER", l + 1, in->size, stride);
        bp_layer_spec_default(&spec[l]);
        bp_abi_copy(&spec[l], sizeof spec[l], in);
    }
    return BP_OK;
}

static bp_status validate_spec(int n_inputs, int n_layers, const bp_layer_spec *layers,
                               bp_loss loss, size_t *n_params)
{
    if (n_inputs < 1 || n_inputs > BP_MAX_UNITS)
        return bp_error(BP_ERR_ARG, "inputs must be between 1 and %d (got %d)", BP_MAX_UNITS,
                        n_inputs);
    if (n_layers < 1 || n_layers > BP_MAX_LAYERS)
        return bp_error(BP_ERR_ARG, "a net needs between 1 and %d layers (got %d)",
                        BP_MAX_LAYERS, n_layers);
    if (!layers)
        return bp_error(BP_ERR_ARG, "layer list is NULL");
    if ((unsigned)loss >= BP_LOSS_COUNT_)
        return bp_error(BP_ERR_ARG, "unknown loss %d", (int)loss);
    size_t total = 0;
    int fan_in = n_inputs;
    for (int l = 0; l < n_layers; l++) {
        const bp_layer_spec *L = &layers[l];
        if (L->units < 1 || L->units > BP_MAX_UNITS)
            return bp_error(BP_ERR_ARG, "layer %d: units must be between 1 and %d (got %d)",
                            l + 1, BP_MAX_UNITS, L->units);
        if ((unsigned)L->act >= BP_ACT_COUNT_)
            return bp_error(BP_ERR_ARG, "layer %d: unknown activation %d", l + 1, (int)L->act);
        if (L->act == BP_ACT_SOFTMAX && l != n_layers - 1)
            return bp_error(BP_ERR_ARG, "layer %d: softmax is only allowed on the output layer",
                            l + 1);
        /* Softmax over one unit is the constant 1: its gradient is always zero. */
        if (L->act == BP_ACT_SOFTMAX && L->units == 1)
            return bp_error(BP_ERR_ARG,
                            "layer %d: softmax on a single unit always outputs 1 and learns "
                            "nothing; for one output use sigmoid (loss bce), or give softmax 2 "
                            "units", l + 1);
        if (L->slope != BP_SLOPE_DEFAULT &&
            (!(L->slope >= 0.0f && L->slope < 1.0f) || !isfinite(L->slope)))
            return bp_error(BP_ERR_ARG, "layer %d: leaky-ReLU slope must be in [0, 1) (got %g)",
                            l + 1, (double)L->slope);
        /* Units and fan-in are each ≤ 2^20, so their product fits size_t. */
        total += (size_t)L->units * (size_t)fan_in + (L->bias ? (size_t)L->units : 0);
        if (total > BP_MAX_PARAMS)
            return bp_error(BP_ERR_NOMEM, "net has more than %zu parameters", BP_MAX_PARAMS);
        fan_in = L->units;
    }
    bp_activation out = layers[n_layers - 1].act;
    if (loss == BP_LOSS_XENT && out != BP_ACT_SOFTMAX)
        return bp_error(BP_ERR_ARG,
                        "loss xent needs a softmax output layer (got %s); for sigmoid outputs "
                        "use bce", bp_activation_name(out));
    if (loss == BP_LOSS_BCE && out != BP_ACT_SIGMOID)
        return bp_error(BP_ERR_ARG, "loss bce needs a sigmoid output layer (got %s)",
                        bp_activation_name(out));
    *n_params = total;
    return BP_OK;
}

bp_status bp_net_create(bp_net **out, int n_inputs, int n_layers, const bp_layer_spec *layers,
                        bp_loss loss)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_net_create: out is NULL");
    *out = NULL;
    size_t n_params = 0;
    if (n_layers < 1 || n_layers > BP_MAX_LAYERS)
        return bp_error(BP_ERR_ARG, "a net needs between 1 and %d layers (got %d)",
                        BP_MAX_LAYERS, n_layers);
    if (!layers)
        return bp_error(BP_ERR_ARG, "layer list is NULL");
    bp_layer_spec spec[BP_MAX_LAYERS];
    bp_status st = read_specs(n_layers, layers, spec);
    if (st != BP_OK)
        return st;
    layers = spec;
    st = validate_spec(n_inputs, n_layers, layers, loss, &n_params);
    if (st != BP_OK)
        return st;
    bp_net *net = calloc(1, sizeof *net);
    float *params = calloc(n_params ? n_params : 1, sizeof(float));
    if (!net || !params) {
        free(net);
        free(params);
        return bp_error(BP_ERR_NOMEM, "out of memory allocating a net of %zu parameters",
                        n_params);
    }
    net->n_inputs = n_inputs;
    net->n_layers = n_layers;
    net->loss = loss;
    net->params = params;
    net->n_params = n_params;
    size_t offset = 0;
    int fan_in = n_inputs;
    for (int l = 0; l < n_layers; l++) {
        net->layer[l] = layers[l];
        net->layer[l].bias = layers[l].bias ? 1 : 0;
        /* Only an absent slope gets the default; 0 stays 0 (plain ReLU). */
        if (net->layer[l].slope == BP_SLOPE_DEFAULT)
            net->layer[l].slope = 0.01f;
        net->fan_in[l] = fan_in;
        net->w_offset[l] = offset;
        offset += (size_t)layers[l].units * (size_t)fan_in;
        net->b_offset[l] = offset;
        if (layers[l].bias)
            offset += (size_t)layers[l].units;
        fan_in = layers[l].units;
    }
    *out = net;
    return BP_OK;
}

void bp_net_free(bp_net *net)
{
    if (!net)
        return;
    free(net->params);
    free(net->scale_shift);
    free(net->scale_factor);
    bp_net_schema_free(net);
    free(net);
}

bp_status bp_net_clone(const bp_net *net, bp_net **out)
{
    if (out)
        *out = NULL;
    if (!net || !out)
        return bp_error(BP_ERR_ARG, "bp_net_clone: NULL argument");
    bp_status st = bp_net_create(out, net->n_inputs, net->n_layers, net->layer, net->loss);
    if (st != BP_OK)
        return st;
    st = bp_net_copy_params(*out, net);
    if (st != BP_OK) {
        bp_net_free(*out);
        *out = NULL;
        return st;
    }
    bp_net *c = *out;
    c->n_meta = net->n_meta;
    memcpy(c->meta_key, net->meta_key, sizeof c->meta_key);
    memcpy(c->meta_value, net->meta_value, sizeof c->meta_value);
    st = bp_net_schema_copy(c, net);
    if (st != BP_OK) {
        bp_net_free(c);
        *out = NULL;
    }
    return st;
}

int bp_net_same_architecture(const bp_net *a, const bp_net *b, int with_functions)
{
    if (a->n_inputs != b->n_inputs || a->n_layers != b->n_layers ||
        (with_functions && a->loss != b->loss))
        return 0;
    for (int l = 0; l < a->n_layers; l++)
        if (a->layer[l].units != b->layer[l].units ||
            (a->layer[l].bias != 0) != (b->layer[l].bias != 0) ||
            (with_functions && a->layer[l].act != b->layer[l].act))
            return 0;
    return 1;
}

bp_status bp_net_copy_params(bp_net *dst, const bp_net *src)
{
    if (!dst || !src)
        return bp_error(BP_ERR_ARG, "bp_net_copy_params: NULL argument");
    if (!bp_net_same_architecture(dst, src, 1))
        return bp_error(BP_ERR_SHAPE, "cannot copy parameters between nets of different shape");
    memcpy(dst->params, src->params, src->n_params * sizeof(float));
    const float *shift, *scale;
    if (bp_net_scaling(src, &shift, &scale))
        return bp_net_set_scaling(dst, shift, scale);
    return bp_net_set_scaling(dst, NULL, NULL);
}

bp_status bp_net_init(bp_net *net, bp_init init, uint64_t seed)
{
    if (!net)
        return bp_error(BP_ERR_ARG, "bp_net_init: net is NULL");
    if ((unsigned)init >= BP_INIT_COUNT_)
        return bp_error(BP_ERR_ARG, "unknown initialiser %d", (int)init);
    bp_rng rng;
    bp_rng_seed(&rng, seed, BP_STREAM_INIT);
    for (int l = 0; l < net->n_layers; l++) {
        int units = net->layer[l].units, fan_in = net->fan_in[l];
        float *W = net->params + net->w_offset[l];
        size_t n = (size_t)units * (size_t)fan_in;
        if (init == BP_INIT_XAVIER) {
            double limit = sqrt(6.0 / (double)(fan_in + units));
            for (size_t i = 0; i < n; i++)
                W[i] = (float)((2.0 * bp_rng_uniform(&rng) - 1.0) * limit);
        } else {
            double sd = sqrt(2.0 / (double)fan_in);
            for (size_t i = 0; i < n; i++)
                W[i] = (float)(bp_rng_normal(&rng) * sd);
        }
        if (net->layer[l].bias)
            memset(net->params + net->b_offset[l], 0, (size_t)units * sizeof(float));
    }
    return BP_OK;
}

/* The getters' rule (backprop.h): a NULL handle or a layer index outside
 * 0..layers-1 gives NULL, 0 or a zeroed struct, never a crash. */
static int bad_layer(const bp_net *net, int layer)
{
    return !net || layer < 0 || layer >= net->n_layers;
}

int bp_net_inputs(const bp_net *net) { return net ? net->n_inputs : 0; }
int bp_net_outputs(const bp_net *net) { return net ? net->layer[net->n_layers - 1].units : 0; }
int bp_net_layers(const bp_net *net) { return net ? net->n_layers : 0; }
bp_layer_spec bp_net_layer(const bp_net *net, int layer)
{
    bp_layer_spec none;
    memset(&none, 0, sizeof none);
    return bad_layer(net, layer) ? none : net->layer[layer];
}
int bp_net_fan_in(const bp_net *net, int layer)
{
    return bad_layer(net, layer) ? 0 : net->fan_in[layer];
}
bp_loss bp_net_loss(const bp_net *net) { return net ? net->loss : BP_LOSS_MSE; }
size_t bp_net_param_count(const bp_net *net) { return net ? net->n_params : 0; }

int bp_net_max_width(const bp_net *net)
{
    if (!net)
        return 0;
    int w = net->n_inputs;
    for (int l = 0; l < net->n_layers; l++)
        if (net->layer[l].units > w)
            w = net->layer[l].units;
    return w;
}

float *bp_net_weights(bp_net *net, int layer)
{
    return bad_layer(net, layer) ? NULL : net->params + net->w_offset[layer];
}
const float *bp_net_weights_const(const bp_net *net, int layer)
{
    return bad_layer(net, layer) ? NULL : net->params + net->w_offset[layer];
}
float *bp_net_biases(bp_net *net, int layer)
{
    return bad_layer(net, layer) || !net->layer[layer].bias ? NULL
                                                             : net->params + net->b_offset[layer];
}
const float *bp_net_biases_const(const bp_net *net, int layer)
{
    return bad_layer(net, layer) || !net->layer[layer].bias ? NULL
                                                             : net->params + net->b_offset[layer];
}
float *bp_net_params(bp_net *net) { return net ? net->params : NULL; }
const float *bp_net_params_const(const bp_net *net) { return net ? net->params : NULL; }

bp_status bp_net_set_scaling(bp_net *net, const float *shift, const float *scale)
{
    if (!net)
        return bp_error(BP_ERR_ARG, "bp_net_set_scaling: net is NULL");
    if (!shift && !scale) {
        free(net->scale_shift);
        free(net->scale_factor);
        net->scale_shift = net->scale_factor = NULL;
        return BP_OK;
    }
    if (!shift || !scale)
        return bp_error(BP_ERR_ARG, "scaling needs both shift and scale");
    for (int i = 0; i < net->n_inputs; i++)
        if (!isfinite(shift[i]) || !isfinite(scale[i]))
            return bp_error(BP_ERR_NUMERIC, "scaling of input %d is not finite", i + 1);
    size_t bytes = (size_t)net->n_inputs * sizeof(float);
    if (!net->scale_shift) {
        net->scale_shift = malloc(bytes);
        net->scale_factor = malloc(bytes);
        if (!net->scale_shift || !net->scale_factor) {
            free(net->scale_shift);
            free(net->scale_factor);
            net->scale_shift = net->scale_factor = NULL;
            return bp_error(BP_ERR_NOMEM, "out of memory for input scaling");
        }
    }
    memmove(net->scale_shift, shift, bytes);
    memmove(net->scale_factor, scale, bytes);
    return BP_OK;
}

int bp_net_scaling(const bp_net *net, const float **shift, const float **scale)
{
    if (shift)
        *shift = net ? net->scale_shift : NULL;
    if (scale)
        *scale = net ? net->scale_factor : NULL;
    return net && net->scale_shift != NULL;
}

void bp_net_scale_inputs(const bp_net *net, const float *x, float *out, size_t rows)
{
    if (!net || !x || !out)
        return;
    size_t n = (size_t)net->n_inputs;
    if (!net->scale_shift) {
        if (out != x)
            memcpy(out, x, rows * n * sizeof(float));
        return;
    }
    bpk_scale_rows(out, x, rows, net->n_inputs, net->scale_shift, net->scale_factor);
}

bp_status bp_net_set_meta(bp_net *net, const char *key, const char *value)
{
    if (!net || !key || !value)
        return bp_error(BP_ERR_ARG, "bp_net_set_meta: NULL argument");
    if (!*key || strlen(key) >= BP_META_KEY_MAX || strlen(value) >= BP_META_VALUE_MAX)
        return bp_error(BP_ERR_ARG, "metadata key must be 1..%d bytes and value < %d bytes",
                        BP_META_KEY_MAX - 1, BP_META_VALUE_MAX);
    for (const char *p = key; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            return bp_error(BP_ERR_ARG, "metadata key \"%s\" contains white space", key);
    for (const char *p = value; *p; p++)
        if (*p == '\n' || *p == '\r')
            return bp_error(BP_ERR_ARG, "metadata value for \"%s\" contains a line break", key);
    for (int i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta_key[i], key) == 0) {
            strcpy(net->meta_value[i], value);
            return BP_OK;
        }
    if (net->n_meta == BP_META_MAX)
        return bp_error(BP_ERR_ARG, "a net holds at most %d metadata entries", BP_META_MAX);
    strcpy(net->meta_key[net->n_meta], key);
    strcpy(net->meta_value[net->n_meta], value);
    net->n_meta++;
    return BP_OK;
}

const char *bp_net_get_meta(const bp_net *net, const char *key)
{
    if (!net || !key)
        return NULL;
    for (int i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta_key[i], key) == 0)
            return net->meta_value[i];
    return NULL;
}

int bp_net_meta_count(const bp_net *net) { return net ? net->n_meta : 0; }

void bp_net_meta_at(const bp_net *net, int i, const char **key, const char **value)
{
    int ok = net && i >= 0 && i < net->n_meta;
    if (key)
        *key = ok ? net->meta_key[i] : NULL;
    if (value)
        *value = ok ? net->meta_value[i] : NULL;
}

const char *bp_neuron_name(const bp_net *net, int layer, int j, char *buf, size_t cap)
{
    if (!net || !buf || cap == 0 || layer < -1 || layer >= net->n_layers || j < 0 ||
        j >= (layer < 0 ? net->n_inputs : net->layer[layer].units))
        return NULL;
    if (layer < 0)
        snprintf(buf, cap, "i%d", j + 1);
    else if (layer == net->n_layers - 1)
        snprintf(buf, cap, "o%d", j + 1);
    else if (net->n_layers == 2)
        snprintf(buf, cap, "h%d", j + 1);
    else
        snprintf(buf, cap, "h%d_%d", layer + 1, j + 1);
    return buf;
}
