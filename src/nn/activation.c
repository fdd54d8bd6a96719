/*
 * Activations, losses and initialisers: names, parsing, scalar f and f'.
 * The scalar f and f' are the kernels' one definition (kernels/act_scalar.h),
 * which the vectorised hot path is tested against; here they serve explain/
 * and the public API.
 */
#include <string.h>

#include "backprop.h"
#include "kernels/act_scalar.h"

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

/* The kernels' scalar definitions (kernels/act_scalar.h), so the trace, the
 * derivative tests and the portable kernel compute the same bits. */
float bp_activation_apply(bp_activation act, float s, float slope)
{
    return bpk_act_scalar(act, s, slope);
}

float bp_activation_derivative(bp_activation act, float s, float slope)
{
    return bpk_act_deriv_scalar(act, s, bpk_act_scalar(act, s, slope), slope);
}
