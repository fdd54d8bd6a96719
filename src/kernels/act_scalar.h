/*
 * act_scalar.h — the one scalar definition of each activation f(s) and of
 * its derivative f'(s) (internal, not installed).
 *
 * The portable kernel computes exactly these (kernels/portable.c defines
 * them), the vector paths use them for tails and are tested against them,
 * and nn/activation.c exposes them as bp_activation_apply and
 * bp_activation_derivative for explain/ and the derivative tests, so the
 * formulas are written once.  Softmax is a row operation: here it is the
 * identity (a one-unit softmax is handled by its callers).
 */
#ifndef BP_KERNELS_ACT_SCALAR_H
#define BP_KERNELS_ACT_SCALAR_H

#include "backprop.h"

/* f(s); slope is leaky ReLU's for s < 0. */
float bpk_act_scalar(bp_activation act, float s, float slope);
/* f'(s), given a = f(s) as well: sigmoid and tanh are cheaper in a
 * (a·(1 − a), 1 − a²); ReLU's derivative at 0 is 0, as PyTorch's. */
float bpk_act_deriv_scalar(bp_activation act, float s, float a, float slope);

#endif /* BP_KERNELS_ACT_SCALAR_H */
