/*
 * Activations, losses and initialisers: names, parsing, scalar f and f'.
 * The vectorised versions used on the hot path live in kernels/; these scalar
 * ones are the definition they are tested against and serve explain/.
 */
#include <math.h>
#include <string.h>

#include "backprop.h"

static const char *const activation_names[BP_ACT_COUNT_] = {
    "linear", "sigmoid", "tanh", "relu", "leaky-relu", "softmax",
};
static const char *const loss_names[BP_LOSS_COUNT_] = {"mse", "xent", "bce"};
static const char *const init_names[BP_INIT_COUNT_] = {"xavier", "he"};

const char *bp_activation_name(bp_activation act)
{
    return (unsigned)act < BP_ACT_COUNT_ ? activation_names[act] : "?";
}
const char *bp_loss_name(bp_loss loss)
{
    return (unsigned)loss < BP_LOSS_COUNT_ ? loss_names[loss] : "?";
}
const char *bp_init_name(bp_init init)
{
    return (unsigned)init < BP_INIT_COUNT_ ? init_names[init] : "?";
}

/* Accepts the canonical name and a few spellings users bring from other
 * libraries (FANN's "sigmoid_symmetric" is tanh, PyTorch's "CrossEntropy"). */
bp_status bp_activation_parse(const char *name, bp_activation *out)
{
    static const struct { const char *alias; bp_activation act; } aliases[] = {
        {"identity", BP_ACT_LINEAR}, {"none", BP_ACT_LINEAR}, {"logistic", BP_ACT_SIGMOID},
        {"leaky_relu", BP_ACT_LEAKY_RELU}, {"leakyrelu", BP_ACT_LEAKY_RELU},
        {"lrelu", BP_ACT_LEAKY_RELU}, {"sigmoid_symmetric", BP_ACT_TANH},
    };
    if (!name || !out)
        return bp_error(BP_ERR_ARG, "activation name is NULL");
    for (int i = 0; i < BP_ACT_COUNT_; i++)
        if (strcmp(name, activation_names[i]) == 0)
            return *out = (bp_activation)i, BP_OK;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].alias) == 0)
            return *out = aliases[i].act, BP_OK;
    return bp_error(BP_ERR_ARG,
                    "unknown activation \"%s\" (expected linear, sigmoid, tanh, relu, "
                    "leaky-relu or softmax)", name);
}

bp_status bp_loss_parse(const char *name, bp_loss *out)
{
    if (!name || !out)
        return bp_error(BP_ERR_ARG, "loss name is NULL");
    for (int i = 0; i < BP_LOSS_COUNT_; i++)
        if (strcmp(name, loss_names[i]) == 0)
            return *out = (bp_loss)i, BP_OK;
    if (!strcmp(name, "cross-entropy") || !strcmp(name, "ce") || !strcmp(name, "crossentropy"))
        return *out = BP_LOSS_XENT, BP_OK;
    if (!strcmp(name, "binary-cross-entropy"))
        return *out = BP_LOSS_BCE, BP_OK;
    return bp_error(BP_ERR_ARG, "unknown loss \"%s\" (expected mse, xent or bce)", name);
}

bp_status bp_init_parse(const char *name, bp_init *out)
{
    if (!name || !out)
        return bp_error(BP_ERR_ARG, "initialiser name is NULL");
    for (int i = 0; i < BP_INIT_COUNT_; i++)
        if (strcmp(name, init_names[i]) == 0)
            return *out = (bp_init)i, BP_OK;
    if (!strcmp(name, "glorot"))
        return *out = BP_INIT_XAVIER, BP_OK;
    if (!strcmp(name, "kaiming"))
        return *out = BP_INIT_HE, BP_OK;
    return bp_error(BP_ERR_ARG, "unknown initialiser \"%s\" (expected xavier or he)", name);
}

float bp_activation_apply(bp_activation act, float s, float slope)
{
    switch (act) {
    case BP_ACT_SIGMOID: return 1.0f / (1.0f + expf(-s));
    case BP_ACT_TANH: return tanhf(s);
    case BP_ACT_RELU: return s > 0.0f ? s : 0.0f;
    case BP_ACT_LEAKY_RELU: return s > 0.0f ? s : slope * s;
    case BP_ACT_LINEAR:
    case BP_ACT_SOFTMAX: /* a one-unit softmax is 1; callers handle rows */
    default: return s;
    }
}

float bp_activation_derivative(bp_activation act, float s, float slope)
{
    switch (act) {
    case BP_ACT_SIGMOID: {
        float a = 1.0f / (1.0f + expf(-s));
        return a * (1.0f - a);
    }
    case BP_ACT_TANH: {
        float a = tanhf(s);
        return 1.0f - a * a;
    }
    /* At s == 0 ReLU has no derivative; 0 is the usual choice (PyTorch's too). */
    case BP_ACT_RELU: return s > 0.0f ? 1.0f : 0.0f;
    case BP_ACT_LEAKY_RELU: return s > 0.0f ? 1.0f : slope;
    case BP_ACT_LINEAR:
    default: return 1.0f;
    }
}
