/* Structures shared by the files of nn/ (not installed). */
#ifndef BP_NN_INTERNAL_H
#define BP_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "backprop.h"
#include "kernels/backend.h"
#include "nn/net_io.h"

struct bp_net {
    int n_inputs;
    int n_layers;
    bp_loss loss;
    bp_layer_spec layer[BP_MAX_LAYERS];
    int fan_in[BP_MAX_LAYERS];
    size_t w_offset[BP_MAX_LAYERS]; /* into params */
    size_t b_offset[BP_MAX_LAYERS]; /* into params; meaningless without bias */
    size_t n_params;
    float *params;
    float *scale_shift; /* [n_inputs] or NULL */
    float *scale_factor;
    int n_meta;
    char meta_key[BP_META_MAX][BP_META_KEY_MAX];
    char meta_value[BP_META_MAX][BP_META_VALUE_MAX];
    /* The schema of the training data (nn/schema.c). */
    bp_task task;
    char **input_names;  /* [n_inputs] or NULL */
    int n_targets;
    char **target_names; /* [n_targets] or NULL */
    int n_classes;
    char **class_names;  /* [n_classes] or NULL */
};

/* Frees the schema's names (bp_net_free) and copies one net's schema into
 * another of the same inputs (bp_net_clone). */
void bp_net_schema_free(bp_net *net);
bp_status bp_net_schema_copy(bp_net *dst, const bp_net *src);

struct bp_workspace {
    int n_inputs;
    int n_layers;
    int units[BP_MAX_LAYERS];
    int has_bias[BP_MAX_LAYERS];
    size_t n_params;
    int max_batch;
    int batch; /* rows of the last pass */
    float *s[BP_MAX_LAYERS];
    float *a[BP_MAX_LAYERS];
    float *delta[BP_MAX_LAYERS];
    float *grads;  /* n_params, bp_net_params order */
    float *input;  /* [max_batch][n_inputs]: scaled inputs for bp_predict */
    float *arena;     /* the buffers above, allocated by the backend */
    bpk_backend *be;  /* the ops, memory and threads every pass runs on */
    /* The parameters the passes use: NULL on a backend whose memory is the
     * host's (the passes use the net's own), else the backend's copy, which
     * the trainer uploads at the start of a run and downloads to the net
     * whenever the caller may look at it (bp_ws_params). */
    float *params;
    /* Dropout (training only): the next layer reads drop_a = a ⊙ mask, where
     * mask holds 0 or 1/keep; a itself stays f(s) so f'(s) can use it. */
    int dropout_active;
    float *drop_a[BP_MAX_LAYERS];
    float *mask[BP_MAX_LAYERS];
    float *drop_arena;
    /* Online SGD with the first layer's update deferred (see bp_train_sample_deferred):
     * δ[0] and the input (in `input`) of the step whose update is pending. */
    int online_pending;
    float online_lr;
    /* Training only (set by the trainer): sigmoid layers backpropagate with
     * a(1 − a) + flat_spot (bp_train_options.flat_spot). */
    float flat_spot;
    /* Set by the trainer for its training passes only (stage 1 of a step),
     * never for evaluation: the GEMMs of forward and backward take bf16
     * operands (bp_train_options.precision = BP_PRECISION_BF16). */
    int bf16_gemm;
};

/* bp_train_sample, but the first layer's weight update is left pending and
 * fused into the next call's forward pass; bp_online_flush applies it.  The
 * net is only complete after a flush. */
bp_status bp_train_sample_deferred(bp_net *net, bp_workspace *ws, const float *x,
                                   const float *target, float learning_rate, float *loss);
bp_status bp_online_flush(bp_net *net, bp_workspace *ws);

struct bp_rng;
/* Allocates the dropout buffers of the hidden layers (once). */
bp_status bp_workspace_enable_dropout(bp_workspace *ws);
/* A training forward pass: like bp_forward, then every hidden activation is
 * dropped with probability p (inverted dropout), masks drawn from src. */
bp_status bp_forward_dropout(const bp_net *net, bp_workspace *ws, const float *x, int batch,
                             float p, const bpk_mask_source *src);
/* bp_backward with the gradient scaled by `scale` instead of 1/batch: a
 * shard of a larger batch scales by 1/(rows of the whole batch), so the
 * shards' gradients add up to the batch mean.  The targets are not checked:
 * the trainer checks the whole data set once (bp_backward checks each call). */
bp_status bp_backward_scaled(const bp_net *net, bp_workspace *ws, const float *x,
                             const float *target, int batch, float scale, float *loss);
/* bp_backward_scaled with the gradient written to `grads` (n_params floats
 * of the backend's memory, bp_net_params order) instead of the workspace's:
 * a shard's gradient goes straight into its place in the reduce's buffer. */
bp_status bp_backward_into(const bp_net *net, bp_workspace *ws, const float *x,
                           const float *target, int batch, float scale, float *loss,
                           float *grads);

static inline float *bp_ws_params(const bp_net *net, const bp_workspace *ws)
{
    return ws->params ? ws->params : net->params;
}

/* A workspace on the backend `device` names: "cpu" (or NULL), or the
 * test backend "checked" (kernels/checked_backend.c), whose memory counts as
 * separate from the host's and whose ops refuse pointers they did not
 * allocate — the stand-in for a GPU in `make check`.  The trainer's own
 * workspace comes from here; bp_workspace_create is always the CPU's. */
bp_status bp_workspace_create_on(bp_workspace **out, const bp_net *net, int max_batch,
                                 int threads, const char *device);
/* Every target of ds finite ("<name>: row R, target column C is NaN"). */
bp_status bp_dataset_check_targets_finite(const bp_dataset *ds, const char *name);

/* BP_OK if the workspace was made for a net of this architecture. */
bp_status bp_workspace_check(const bp_net *net, const bp_workspace *ws);

/* Per-row loss of the output activations/sums against targets (shared by the
 * loss, backward and explain code so all three agree). */
double bp_sample_loss(bp_loss loss, bp_activation out_act, const float *s, const float *a,
                      const float *target, int units);



/* BP_OK unless the targets do not suit the fused loss, whose δ = a − t is
 * the gradient only for them: xent needs each row in [0, 1] summing to 1,
 * bce needs [0, 1].  The message names "<what> <row>" (1-based). */
bp_status bp_check_targets(const bp_net *net, const float *target, size_t rows, const char *what);

/* BP_OK if ds has rows and the net's input and output widths; else a
 * message such as "training data has 3 inputs per row but the net takes 4"
 * (`which` may be NULL; `noun` names the net for the reader: "net", "model"). */
bp_status bp_check_data_fits(const bp_net *net, const bp_dataset *ds, const char *which,
                             const char *noun);


/* Owned name arrays (names.c), shared by data sets and a net's schema.
 * bp_names_copy: NULL names or n == 0 give *out = NULL; a NULL name, or one
 * longer than max_len bytes (0: no limit), is refused naming `what`. */
void bp_names_free(char **names, int n);
bp_status bp_names_copy(char ***out, int n, const char *const *names, const char *what,
                        size_t max_len);
/* names[i], or NULL when names is NULL or i is outside 0..n-1. */
const char *bp_name_at(char *const *names, int n, int i);

#endif
