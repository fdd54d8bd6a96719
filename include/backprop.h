/*
 * backprop.h — feed-forward neural networks trained by backpropagation.
 *
 * The one public header of libbackprop.  Everything is float32, row-major.
 * backprop(3) is the overview; the docs/… files named below are installed in
 * PREFIX/share/doc/backprop.
 *
 * Three kinds of state, three owners:
 *   bp_net        architecture + parameters (+ input scaling).  Never written by a
 *                 forward or backward pass, so one const bp_net may serve many
 *                 threads at once, each with its own workspace.
 *   bp_workspace  everything a pass writes: weighted sums s, activations a,
 *                 deltas, gradients, for up to max_batch rows.  One per thread.
 *   bp_trainer    optimizer state, RNG, schedule and epoch counters.
 *
 * Notation follows "the mathematics of neural networks — a complete example":
 *   s = a_prev · Wᵀ + b      weighted sum of a layer
 *   a = f(s)                 activation
 *   δ = ∂E/∂s                delta of a neuron
 *   ∂E/∂w = δ · a_prev       gradient of a weight
 *   w' = w − η · ∂E/∂w       gradient-descent update
 *
 * Weight layout and numbering: layer l owns W[l] of shape [units][fan_in]
 * (row = receiving neuron, column = sending neuron) and b[l] of shape [units].
 * Walking every layer from the inputs and each W row-major numbers the
 * weights w1, w2, … exactly as the article does (hidden 1 gets w1, w2 from
 * inputs 1, 2; …; output 1 gets w7, w8, w9 from hidden 1, 2, 3).  Biases are
 * numbered b1, b2, … in the same order.
 *
 * Errors: every fallible call returns a bp_status.  On failure a message
 * (naming file, line and field where that applies) is kept in a thread-local
 * buffer read by bp_errmsg().  The library never prints, exits or aborts on
 * bad input (one exception: an unknown BACKPROP_ISA value, see bp_isa()).
 *
 * Bad handles and indices, one rule for every function: a NULL handle or
 * pointer argument, or a layer, neuron, class, input or metadata index out of
 * range, never crashes.  Functions returning bp_status return BP_ERR_ARG with
 * a message; getters return NULL, 0 or a zeroed struct (bp_net_layer: size
 * and units 0; bp_net_loss: BP_LOSS_MSE); name functions return "?" for a
 * value outside their enum; bp_schedule_lr returns NaN; void functions do
 * nothing.  On failure every output pointer (the bp_x **out of the create,
 * clone, load, read and split calls) that is not itself NULL is set to NULL.
 * tests/test_api_contract.c calls every function this way.
 *
 * Thread safety: calls on distinct objects are safe from distinct threads.
 * Calls that take a const bp_net * may run concurrently on the same net.
 * A workspace, trainer or dataset must not be used by two threads at once.
 * bp_errmsg() is per thread.
 */
#ifndef BACKPROP_H
#define BACKPROP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every function of the API is declared BP_API: the shared library is built
 * with -fvisibility=hidden, so these and nothing else are exported (the
 * library's internal helpers stay private and cannot clash with a program's
 * own symbols).  tests/cli_symbols.sh checks the exported list against this
 * header. */
#if defined(_WIN32)
#define BP_API
#elif defined(__GNUC__) || defined(__clang__)
#define BP_API __attribute__((visibility("default")))
#else
#define BP_API
#endif

#define BP_VERSION_MAJOR 0
#define BP_VERSION_MINOR 1
#define BP_VERSION_PATCH 0
#define BP_VERSION_STRING "0.1.0"

BP_API const char *bp_version(void);

/* CPU paths and BACKPROP_ISA.  The kernels run on one of three paths:
 * "avx512", "avx2" (with FMA) or "portable" C.  By default the best path the
 * CPU has is chosen at the first call that needs a kernel.  The environment
 * variable BACKPROP_ISA=avx512|avx2|portable asks for a path; a path the CPU
 * lacks falls back to the best one below it.  The choice is process-global:
 * read once, at that first call, and shared by every thread, net and
 * workspace, so set the variable before the program starts using the library.
 * On one path results are deterministic (the same bits for any thread count),
 * but the paths sum in different orders and fuse multiply-adds differently,
 * so outputs, gradients and trained weights differ in their low bits between
 * paths: compare bit for bit only on the same path.  An unknown value is the
 * one case where the library prints: a single warning line on stderr (the
 * variable is the user's, and the program has no other way to learn it was
 * misspelt), then the automatic choice.  bp_isa() names the path in use and
 * makes the choice if none was made yet. */
BP_API const char *bp_isa(void);

/* ------------------------------------------------------------------ */
/* Status and errors                                                   */
/* ------------------------------------------------------------------ */

typedef enum bp_status {
    BP_OK = 0,
    BP_ERR_ARG,         /* a caller passed an invalid argument (NULL, size < 1, …) */
    BP_ERR_NOMEM,       /* an allocation failed, or a size would overflow */
    BP_ERR_IO,          /* a file could not be opened, read or written */
    BP_ERR_PARSE,       /* a text file (CSV, .net, FANN .data) is malformed */
    BP_ERR_FORMAT,      /* a binary file (model, IDX) is malformed, corrupt or of another version */
    BP_ERR_SHAPE,       /* sizes do not match (model vs data, targets vs outputs) */
    BP_ERR_NUMERIC,     /* NaN or Inf appeared in data, loss or parameters */
    BP_ERR_UNSUPPORTED, /* a valid request this build or combination cannot do */
    BP_ERR_INTERRUPTED  /* a callback asked to stop */
} bp_status;

/* The message of the last failure in this thread ("" if none). */
BP_API const char *bp_errmsg(void);
/* A short constant name for a status, e.g. "parse error". */
BP_API const char *bp_status_string(bp_status status);
/* Set this thread's message (printf-style) and return status: lets callers of
 * the API (the CLI, plug-ins) report errors the same way the library does. */
BP_API bp_status bp_error(bp_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ------------------------------------------------------------------ */
/* Activations, losses, initialisers                                   */
/* ------------------------------------------------------------------ */

typedef enum bp_activation {
    BP_ACT_LINEAR = 0,
    BP_ACT_SIGMOID,
    BP_ACT_TANH,
    BP_ACT_RELU,
    BP_ACT_LEAKY_RELU, /* f(s) = s for s > 0, slope·s otherwise (slope per layer, default 0.01;
                          slope 0 is plain ReLU) */
    BP_ACT_SOFTMAX,    /* over the units of the layer; output layer only */
    BP_ACT_COUNT_
} bp_activation;

/* Loss of one sample; a batch reports the mean of its samples' losses and
 * averages the gradients.
 *   BP_LOSS_MSE   E = ½ Σ_k (expected_k − a_k)²   — the article's convention,
 *                 so δ = (a − expected)·f'(s).  (The ½ makes ∂E/∂a = a − expected.)
 *   BP_LOSS_XENT  E = −Σ_k expected_k · ln a_k   with a softmax output layer;
 *                 softmax and cross-entropy are fused: δ = a − expected.
 *   BP_LOSS_BCE   E = −Σ_k [t_k ln a_k + (1 − t_k) ln(1 − a_k)]; with sigmoid
 *                 outputs fused to δ = a − expected.
 * The fused δ = a − t is ∂E/∂s only for targets that fit: xent needs a
 * softmax output and each target row a distribution (every t_k in [0, 1],
 * Σ_k t_k = 1: one-hot or probabilities); bce needs sigmoid outputs and every
 * t_k in [0, 1].  bp_backward, bp_train_sample and the trainer refuse other
 * targets with BP_ERR_ARG naming the row (e.g. "training data row 3: ... sum
 * to 2"), instead of training on a gradient of some other function. */
typedef enum bp_loss {
    BP_LOSS_MSE = 0,
    BP_LOSS_XENT,
    BP_LOSS_BCE,
    BP_LOSS_COUNT_
} bp_loss;

typedef enum bp_init {
    BP_INIT_XAVIER = 0, /* Glorot uniform: U(±sqrt(6/(fan_in+fan_out))), biases 0 */
    BP_INIT_HE,         /* He normal: N(0, 2/fan_in), biases 0 */
    BP_INIT_COUNT_
} bp_init;

/* Names as used by the CLI and the .net format ("sigmoid", "mse", "xavier", …). */
BP_API const char *bp_activation_name(bp_activation act);
BP_API const char *bp_loss_name(bp_loss loss);
BP_API const char *bp_init_name(bp_init init);
/* Parse a name; returns BP_ERR_ARG (with a message listing the choices) if unknown. */
BP_API bp_status bp_activation_parse(const char *name, bp_activation *out);
BP_API bp_status bp_loss_parse(const char *name, bp_loss *out);
BP_API bp_status bp_init_parse(const char *name, bp_init *out);

/* f(s) and f'(s) for element-wise activations (not softmax); `slope` is the
 * leaky-ReLU slope and ignored otherwise. */
BP_API float bp_activation_apply(bp_activation act, float s, float slope);
BP_API float bp_activation_derivative(bp_activation act, float s, float slope);

/* ------------------------------------------------------------------ */
/* Networks                                                            */
/* ------------------------------------------------------------------ */

typedef struct bp_net bp_net;

/* Extensible structs (ABI).  bp_layer_spec, bp_csv_options, bp_train_options
 * and bp_metrics are allocated by the caller, so each starts with `size`: the
 * sizeof(...) of the header the caller was compiled with.  Set it only through
 * bp_layer_spec_default() or BP_LAYER(), bp_csv_options_default(),
 * bp_train_options_default() and bp_metrics_init(): inline wrappers that pass
 * sizeof to the library, so a program built against an older header never
 * has more bytes written into its struct than it allocated.  Every function
 * taking one of these structs checks `size`: 0 or less than this layout
 * (the first versioned one) → BP_ERR_ARG with a message naming the *_default
 * or *_init call to use; more (a newer header than this library) → accepted,
 * reading only the fields this library knows.  Fields are only ever added at
 * the end, and a zero in a new field means the old behaviour. */
typedef struct bp_layer_spec {
    size_t size;           /* sizeof(bp_layer_spec): set by bp_layer_spec_default / BP_LAYER */
    int units;             /* neurons in this layer, ≥ 1 */
    bp_activation act;     /* activation of this layer */
    int bias;              /* non-zero: the layer has a bias per neuron */
    float slope;           /* leaky-ReLU slope in [0, 1), used as given: 0 is plain
                              ReLU.  BP_SLOPE_DEFAULT asks for the default 0.01
                              (ignored by other activations).  Until 0.1 a 0
                              here meant 0.01; the value a user wrote is now
                              never changed. */
} bp_layer_spec;

/* "No slope given" in bp_layer_spec.slope: leaky-ReLU layers get 0.01. */
#define BP_SLOPE_DEFAULT (-1.0f)

/* Fills *spec with defaults (1 unit, linear, bias, default slope) for a
 * struct of `size` bytes; use the inline bp_layer_spec_default(). */
BP_API void bp_layer_spec_init(bp_layer_spec *spec, size_t size);
static inline void bp_layer_spec_default(bp_layer_spec *spec)
{
    bp_layer_spec_init(spec, sizeof *spec);
}
/* A bp_layer_spec initialiser for arrays (C99 designated initialisers; fields
 * added later are zero, their default).  The slope is used as given (0 is
 * plain ReLU for a leaky-ReLU layer; BP_SLOPE_DEFAULT asks for 0.01):
 *   bp_layer_spec L[2] = {BP_LAYER(3, BP_ACT_TANH, 1, 0), BP_LAYER(2, BP_ACT_SOFTMAX, 1, 0)}; */
#define BP_LAYER(units_, act_, bias_, slope_)                                                \
    {.size = sizeof(bp_layer_spec), .units = (units_), .act = (act_), .bias = (bias_),       \
     .slope = (slope_)}

/* Limits checked on creation and on load, so sizes never overflow. */
#define BP_MAX_LAYERS 64
#define BP_MAX_UNITS (1 << 20)
#define BP_MAX_PARAMS ((size_t)1 << 31)

/* A network of n_layers dense layers (hidden layers and the output layer;
 * the input is not a layer) after n_inputs inputs.  `layers` is read with
 * layers[0].size as the stride between elements (every element must carry
 * the same size), so an array built with an older or newer header is read
 * correctly.  Parameters start at zero:
 * call bp_net_init() or set them.  Softmax is only allowed on the last layer,
 * and BP_LOSS_XENT needs it there (or a 1-unit sigmoid output, treated as BCE). */
BP_API bp_status bp_net_create(bp_net **out, int n_inputs, int n_layers,
                        const bp_layer_spec *layers, bp_loss loss);
BP_API void bp_net_free(bp_net *net);
BP_API bp_status bp_net_clone(const bp_net *net, bp_net **out);
/* Copy parameters (and scaling) of src into dst; architectures must match. */
BP_API bp_status bp_net_copy_params(bp_net *dst, const bp_net *src);

/* Fill weights from the initialiser with a generator seeded by `seed`; biases 0. */
BP_API bp_status bp_net_init(bp_net *net, bp_init init, uint64_t seed);

BP_API int bp_net_inputs(const bp_net *net);
BP_API int bp_net_outputs(const bp_net *net);
BP_API int bp_net_layers(const bp_net *net);
BP_API bp_layer_spec bp_net_layer(const bp_net *net, int layer);
BP_API int bp_net_fan_in(const bp_net *net, int layer);
BP_API bp_loss bp_net_loss(const bp_net *net);
BP_API size_t bp_net_param_count(const bp_net *net);
/* Largest layer width (inputs included): the size a caller needs for a row buffer. */
BP_API int bp_net_max_width(const bp_net *net);

/* The article's name of neuron j (0-based) of a layer: layer −1 is the input
 * (i1, i2, …), the output layer is o1, o2, …, a single hidden layer h1, h2, …,
 * and with several hidden layers hidden layer k's neurons are hk_1, hk_2, ….
 * Writes into buf (≥ 16 bytes suffice) and returns it. */
BP_API const char *bp_neuron_name(const bp_net *net, int layer, int j, char *buf, size_t cap);

/* Parameters of one layer: W is [units][fan_in] row-major, b is [units]
 * (NULL when the layer has no bias).  The pointers stay valid for the net's life. */
BP_API float *bp_net_weights(bp_net *net, int layer);
BP_API float *bp_net_biases(bp_net *net, int layer);
BP_API const float *bp_net_weights_const(const bp_net *net, int layer);
BP_API const float *bp_net_biases_const(const bp_net *net, int layer);
/* All parameters as one contiguous array, layer by layer, W then b. */
BP_API float *bp_net_params(bp_net *net);
BP_API const float *bp_net_params_const(const bp_net *net);

/* Input scaling stored with the model: x' = (x − shift) · scale per input.
 * Both NULL removes it.  bp_predict applies it; bp_forward does not (it works
 * on already-scaled inputs, as the trainer feeds it). */
BP_API bp_status bp_net_set_scaling(bp_net *net, const float *shift, const float *scale);
/* Returns 1 and the arrays (n_inputs each) if scaling is set, else 0. */
BP_API int bp_net_scaling(const bp_net *net, const float **shift, const float **scale);
/* out[i] = scaled x[i] for `rows` rows; out may equal x. */
BP_API void bp_net_scale_inputs(const bp_net *net, const float *x, float *out, size_t rows);

/* Free-form metadata kept in model files (key/value strings, ≤ 255 bytes each). */
BP_API bp_status bp_net_set_meta(bp_net *net, const char *key, const char *value);
BP_API const char *bp_net_get_meta(const bp_net *net, const char *key); /* NULL if absent */
BP_API int bp_net_meta_count(const bp_net *net);
/* key/value of the i-th entry, 0 ≤ i < count. */
BP_API void bp_net_meta_at(const bp_net *net, int i, const char **key, const char **value);

/* The schema of the data a model was trained on, kept in the model file so
 * new data is mapped the same way: columns by name, class labels through the
 * model's own class order (not the order a new file happens to list them).
 * Every part is optional (a .net file or an old model may have none).
 * Names are UTF-8, at most BP_NAME_MAX bytes each. */
#define BP_NAME_MAX 4096
typedef enum bp_task {
    BP_TASK_UNKNOWN = 0,    /* not recorded */
    BP_TASK_REGRESSION,
    BP_TASK_CLASSIFICATION
} bp_task;
BP_API bp_status bp_net_set_task(bp_net *net, bp_task task);
BP_API bp_task bp_net_task(const bp_net *net);
/* Input feature names: n_inputs names, or NULL to remove them. */
BP_API bp_status bp_net_set_input_names(bp_net *net, const char *const *names);
BP_API const char *bp_net_input_name(const bp_net *net, int i);   /* NULL if none */
/* Target column name(s): one label column for a classifier trained on labels,
 * one per output for regression or one-hot targets; n = 0 removes them. */
BP_API bp_status bp_net_set_target_names(bp_net *net, int n, const char *const *names);
BP_API int bp_net_target_count(const bp_net *net);
BP_API const char *bp_net_target_name(const bp_net *net, int j);  /* NULL if none */
/* Classes in the model's output order (class k is output k; a 1-output
 * sigmoid net has 2 classes).  Sets the task to classification.  names may be
 * NULL (classes known by number only); classes = 0 removes them. */
BP_API bp_status bp_net_set_classes(bp_net *net, int classes, const char *const *names);
BP_API int bp_net_classes(const bp_net *net);                      /* 0 if not a classifier */
BP_API const char *bp_net_class_name(const bp_net *net, int k);   /* NULL if unnamed */

/* ------------------------------------------------------------------ */
/* Workspaces, forward and backward passes                             */
/* ------------------------------------------------------------------ */

typedef struct bp_workspace bp_workspace;

/* Working memory for passes of `net` over up to max_batch rows, from one
 * allocation.  `threads` ≥ 1 workers split the kernels; results are bit-for-bit
 * the same for every thread count. */
BP_API bp_status bp_workspace_create(bp_workspace **out, const bp_net *net, int max_batch, int threads);
BP_API void bp_workspace_free(bp_workspace *ws);
BP_API int bp_workspace_max_batch(const bp_workspace *ws);
BP_API int bp_workspace_threads(const bp_workspace *ws);

/* Forward pass of `batch` rows of x ([batch][inputs], already scaled).  Keeps
 * every s and a in the workspace.  The net must be the one (or of the same
 * architecture as the one) the workspace was created for. */
BP_API bp_status bp_forward(const bp_net *net, bp_workspace *ws, const float *x, int batch);

/* After bp_forward: loss of the batch against `target` ([batch][outputs]),
 * the mean over rows, without touching gradients.  NaN targets are rejected. */
BP_API bp_status bp_loss_value(const bp_net *net, const bp_workspace *ws, const float *target,
                        int batch, float *loss);

/* After bp_forward on the same x: backpropagate `target`.  Computes every δ
 * (= ∂E/∂s, per row) and the gradients ∂E/∂W, ∂E/∂b averaged over the batch,
 * and stores the batch's mean loss in *loss (may be NULL). */
BP_API bp_status bp_backward(const bp_net *net, bp_workspace *ws, const float *x,
                      const float *target, int batch, float *loss);

/* w ← w − η·∂E/∂w for every parameter, from the workspace's gradients. */
BP_API bp_status bp_sgd_step(bp_net *net, const bp_workspace *ws, float learning_rate);

/* One online-SGD step on one sample: forward, backward, update.  Uses the
 * fused batch-1 kernels. */
BP_API bp_status bp_train_sample(bp_net *net, bp_workspace *ws, const float *x,
                          const float *target, float learning_rate, float *loss);

/* Inputs → outputs for `rows` rows, applying the net's input scaling, in
 * chunks of the workspace's max_batch.  out is [rows][outputs]. */
BP_API bp_status bp_predict(const bp_net *net, bp_workspace *ws, const float *x, size_t rows, float *out);

/* What the last pass left, for layer l (0 = first hidden layer), each
 * [batch][units] row-major (gradients [units][fan_in] and [units]). */
BP_API const float *bp_workspace_s(const bp_workspace *ws, int layer);
BP_API const float *bp_workspace_a(const bp_workspace *ws, int layer);
BP_API const float *bp_workspace_delta(const bp_workspace *ws, int layer);
BP_API const float *bp_workspace_grad_w(const bp_workspace *ws, int layer);
BP_API const float *bp_workspace_grad_b(const bp_workspace *ws, int layer); /* NULL without bias */
/* All gradients as one array in bp_net_params order. */
BP_API const float *bp_workspace_grads(const bp_workspace *ws);
/* Rows of the last pass. */
BP_API int bp_workspace_batch(const bp_workspace *ws);

/* ------------------------------------------------------------------ */
/* Text network format (.net)                                          */
/* ------------------------------------------------------------------ */

/* A training sample and learning rate a .net file may carry (for `step`). */
typedef struct bp_sample {
    int has_input, has_target, has_lr;
    float *input;   /* [inputs], owned by the sample */
    float *target;  /* [outputs] */
    float lr;
} bp_sample;
BP_API void bp_sample_clear(bp_sample *sample);

/* Read a .net file (format: docs/net-format.md).  `sample` may be NULL. */
BP_API bp_status bp_net_read_text(bp_net **out, bp_sample *sample, const char *path);
BP_API bp_status bp_net_parse_text(bp_net **out, bp_sample *sample, const char *text,
                            size_t len, const char *name_for_errors);
/* Write a .net file; every float is written with %.9g so reading it back
 * gives the same bits.  `sample` may be NULL.  Written atomically. */
BP_API bp_status bp_net_write_text(const bp_net *net, const bp_sample *sample, const char *path);
BP_API bp_status bp_net_fprint_text(const bp_net *net, const bp_sample *sample, FILE *fp);

/* ------------------------------------------------------------------ */
/* Datasets (in memory) and readers                                    */
/* ------------------------------------------------------------------ */

/* A data set: inputs X [rows][inputs] and targets Y [rows][outputs], float32.
 * For classification, Y is one-hot and labels[] holds the class of each row. */
typedef struct bp_dataset bp_dataset;

BP_API bp_status bp_dataset_create(bp_dataset **out, size_t rows, int inputs, int outputs);
BP_API void bp_dataset_free(bp_dataset *ds);
BP_API size_t bp_dataset_rows(const bp_dataset *ds);
BP_API int bp_dataset_inputs(const bp_dataset *ds);
BP_API int bp_dataset_outputs(const bp_dataset *ds);
BP_API float *bp_dataset_x(bp_dataset *ds);
BP_API float *bp_dataset_y(bp_dataset *ds);
BP_API const float *bp_dataset_x_const(const bp_dataset *ds);
BP_API const float *bp_dataset_y_const(const bp_dataset *ds);
/* Number of classes (0 for regression) and the class of each row (NULL for regression). */
BP_API int bp_dataset_classes(const bp_dataset *ds);
BP_API const int32_t *bp_dataset_labels(const bp_dataset *ds);
/* Make this a classification set: labels[rows] in [0, classes), Y set one-hot.
 * Needs outputs == classes (or outputs == 1 and classes == 2: Y = label). */
BP_API bp_status bp_dataset_set_labels(bp_dataset *ds, const int32_t *labels, int classes);
/* Class names (e.g. from string labels in a CSV); NULL if none were given. */
BP_API bp_status bp_dataset_set_class_names(bp_dataset *ds, int classes, const char *const *names);
BP_API const char *bp_dataset_class_name(const bp_dataset *ds, int k);
/* Feature names (from a CSV header), NULL if none. */
BP_API bp_status bp_dataset_set_input_names(bp_dataset *ds, const char *const *names);
BP_API const char *bp_dataset_input_name(const bp_dataset *ds, int i);
/* A new data set holding rows idx[0..n) of ds, in that order. */
BP_API bp_status bp_dataset_subset(const bp_dataset *ds, const size_t *idx, size_t n, bp_dataset **out);
/* Shuffle rows with `seed` and cut off the last `fraction` (0 < f < 1) as validation. */
BP_API bp_status bp_dataset_split(const bp_dataset *ds, double fraction, uint64_t seed,
                           bp_dataset **first, bp_dataset **second);
/* Like bp_dataset_split, but for a classification set (one with labels) each
 * class keeps its share in both parts: round(n_c·fraction) of its rows, at
 * least one when it has two or more, go to `second`.  Without labels it is
 * bp_dataset_split.  Same seed ⇒ same split.  Added so a small validation
 * split cannot miss a class (train's default). */
BP_API bp_status bp_dataset_split_stratified(const bp_dataset *ds, double fraction, uint64_t seed,
                                      bp_dataset **first, bp_dataset **second);
/* Reject NaN/Inf anywhere, naming the row and column ("name" for the message). */
BP_API bp_status bp_dataset_check_finite(const bp_dataset *ds, const char *name);
/* Name(s) of the target column(s) the data came from (from a CSV header). */
BP_API bp_status bp_dataset_set_target_names(bp_dataset *ds, int n, const char *const *names);
BP_API int bp_dataset_target_count(const bp_dataset *ds);
BP_API const char *bp_dataset_target_name(const bp_dataset *ds, int j);
/* An identifier per row (e.g. a CSV column named by bp_csv_options.id), NULL if none. */
BP_API bp_status bp_dataset_set_row_ids(bp_dataset *ds, const char *const *ids);
BP_API const char *bp_dataset_row_id(const bp_dataset *ds, size_t r);
/* Notes a reader leaves about decisions it made (targets read as classes,
 * columns ignored, …), one per line, so a program can show them: the library
 * never prints.  NULL if none. */
BP_API const char *bp_dataset_notes(const bp_dataset *ds);
BP_API bp_status bp_dataset_add_note(bp_dataset *ds, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Decide whether numeric targets are classes (for readers without a task
 * option, e.g. bp_dataset_read_fann).  task −1 detects: several target
 * columns that are one-hot in every row (values 0/1 or −1/1, exactly one
 * "on") are classes, one per column; one target column of whole numbers with
 * at most 32 distinct values, and at most a fifth as many as rows, holds class
 * labels, numbered in sorted order (labels 10, 20, 30 → classes 0, 1, 2,
 * named "10", "20", "30").  task 1 insists (an error when the targets are
 * neither one-hot nor one label column), 0 leaves them as they are.  A
 * detected change leaves a note.  Y becomes one-hot 0/1.  `name` names the
 * data in messages. */
BP_API bp_status bp_dataset_detect_task(bp_dataset *ds, int task, const char *name);
/* Copy a data set's schema (input, target and class names, task) into a net
 * whose inputs and outputs fit it. */
BP_API bp_status bp_net_set_schema(bp_net *net, const bp_dataset *ds);

typedef struct bp_csv_options {
    size_t size;       /* sizeof(bp_csv_options): set by bp_csv_options_default */
    int header;        /* -1 detect (default), 0 none, 1 first non-comment line is a header */
    char delimiter;    /* 0 detect among , ; tab (default) */
    const char *target;/* target column(s): name, 1-based index, or "last" (default NULL = last);
                          several separated by commas for multi-output regression */
    int task;          /* -1 detect (default): non-numeric target → classes; 0 regression;
                          1 classification (numeric or string labels mapped to classes) */
    int n_classes;     /* classification with numeric labels 0 … n_classes−1 taken as
                          class numbers; 0 (default): labels are numbered in sorted order */
    const char *id;    /* a column (name or 1-based index) kept as each row's id and not
                          used as an input (default NULL) */
} bp_csv_options;
/* Defaults for a struct of `size` bytes; call the inline bp_csv_options_default(). */
BP_API void bp_csv_options_init(bp_csv_options *opts, size_t size);
static inline void bp_csv_options_default(bp_csv_options *opts)
{
    bp_csv_options_init(opts, sizeof *opts);
}

/* CSV: comments (# …) and blank lines skipped, CRLF and a UTF-8 BOM accepted,
 * quoted fields ("a,b") supported.  Errors name file, line and column. */
BP_API bp_status bp_dataset_read_csv(bp_dataset **out, const char *path, const bp_csv_options *opts);
/* Read a CSV the way `net` expects its data, through the net's schema:
 * with a header and the net's input names, columns are found by name (any
 * order; a missing one is an error naming it; extra columns are ignored, with
 * a note); without, by position (inputs, then the target column(s) last or
 * as opts->target says).  The target column(s) may be absent (outputs = 0:
 * enough to predict).  Class labels map through the net's class names (an
 * unknown label is an error naming it and its line); the data set always has
 * the net's outputs, whatever subset of classes the file holds.  The task is
 * the net's (opts->task and n_classes are not used).  A net without a schema
 * is read as a classifier when its output is softmax or bce (labels are class
 * numbers), else as regression. */
BP_API bp_status bp_dataset_read_csv_schema(bp_dataset **out, const char *path,
                                     const bp_csv_options *opts, const bp_net *net);
/* IDX images (u8 → x/255 in [0,1], any other type as is) and labels, plain or
 * gzip (.gz detected by magic).  labels_path may be NULL (then outputs = 0). */
BP_API bp_status bp_dataset_read_idx(bp_dataset **out, const char *images_path, const char *labels_path);
/* FANN training files: "rows inputs outputs" then input and output lines. */
BP_API bp_status bp_dataset_read_fann(bp_dataset **out, const char *path);
/* 1 when the file starts with a FANN header line ("rows inputs outputs",
 * three whole numbers) followed by exactly rows·(inputs+outputs) numbers; 2
 * when the first line looks like such a header but the count does not match;
 * 0 otherwise (e.g. a CSV).  Recognises FANN files by content, not name. */
BP_API int bp_fann_sniff(const char *path);
BP_API bp_status bp_dataset_write_fann(const bp_dataset *ds, const char *path);
/* "mnist" or "fashion-mnist": finds train/t10k IDX files (.gz or plain) in
 * dir, else $BACKPROP_DATA, else /usr/share/datasets/<name>.  The error
 * message says where it looked and how to get the files. */
BP_API bp_status bp_dataset_load_named(const char *name, const char *dir,
                                bp_dataset **train, bp_dataset **test);

/* ------------------------------------------------------------------ */
/* Training                                                            */
/* ------------------------------------------------------------------ */

typedef enum bp_optimizer {
    BP_OPT_SGD = 0,    /* w −= η·g */
    BP_OPT_MOMENTUM,   /* v = μ·v + g; w −= η·v */
    BP_OPT_NESTEROV,   /* v = μ·v + g; w −= η·(g + μ·v) */
    BP_OPT_ADAM,       /* Kingma & Ba, bias-corrected; weight decay added to g (L2) */
    BP_OPT_ADAMW,      /* Adam with decoupled weight decay w −= η·λ·w */
    BP_OPT_RMSPROP,    /* v = ρ·v + (1−ρ)·g²; w −= η·g/(√v + ε) */
    BP_OPT_RPROP,      /* iRPROP− on full-batch gradients (FANN's default) */
    BP_OPT_COUNT_
} bp_optimizer;

typedef enum bp_schedule {
    BP_SCHED_CONSTANT = 0,
    BP_SCHED_STEP,     /* η·γ^⌊epoch/step_every⌋ */
    BP_SCHED_COSINE,   /* min_lr + ½(η − min_lr)(1 + cos(π·epoch/epochs)) */
    BP_SCHED_COUNT_
} bp_schedule;

typedef enum bp_scaling {
    BP_SCALE_NONE = 0,
    BP_SCALE_MINMAX,   /* each input to [0, 1] by the training set's min and max */
    BP_SCALE_STANDARD, /* each input to mean 0, standard deviation 1 */
    BP_SCALE_COUNT_
} bp_scaling;

BP_API const char *bp_optimizer_name(bp_optimizer opt);
BP_API bp_status bp_optimizer_parse(const char *name, bp_optimizer *out);
BP_API const char *bp_schedule_name(bp_schedule sched);
BP_API bp_status bp_schedule_parse(const char *name, bp_schedule *out);
BP_API const char *bp_scaling_name(bp_scaling scaling);
BP_API bp_status bp_scaling_parse(const char *name, bp_scaling *out);

typedef struct bp_trainer bp_trainer;

/* What the progress callback sees.  Called after every `report_every`
 * batches with in_epoch = 1 (live progress), and once at each epoch's end
 * with in_epoch = 0 and the epoch's metrics. */
typedef struct bp_epoch_report {
    const bp_trainer *trainer;  /* e.g. for bp_checkpoint_save from the callback */
    int epoch;                  /* 1-based, the epoch just finished (or running) */
    int epochs;                 /* planned */
    int in_epoch;
    size_t batch, batches;      /* progress within the epoch */
    double seconds;             /* training time of this epoch so far */
    double samples_per_s;
    float learning_rate;        /* this epoch's η after the schedule */
    double train_loss;          /* running mean over the epoch's batches */
    double train_accuracy;      /* classification only, else NaN */
    double val_loss;            /* NaN without validation data */
    double val_accuracy;        /* NaN without validation data or for regression */
    int improved;               /* the early-stopping loss improved (by more than min_delta) */
} bp_epoch_report;

/* Return non-zero to stop training (bp_trainer_run then returns BP_ERR_INTERRUPTED). */
typedef int (*bp_progress_fn)(const bp_epoch_report *report, void *user);

typedef struct bp_train_options {
    size_t size;           /* sizeof(bp_train_options): set by bp_train_options_default */
    int epochs;            /* total epochs (default 10) */
    int batch_size;        /* default 32; 1 = online SGD; ignored by RPROP (full batch) */
    float learning_rate;   /* η (default 0.01; RPROP ignores it) */
    bp_optimizer optimizer;/* default Adam */
    float momentum;        /* μ for momentum/Nesterov (default 0.9) */
    float beta1, beta2;    /* Adam (0.9, 0.999) */
    float eps;             /* Adam/RMSprop (1e-8) */
    float rho;             /* RMSprop (0.9) */
    float weight_decay;    /* λ: L2 for all but AdamW, decoupled for AdamW (default 0) */
    float dropout;         /* probability of dropping a hidden activation (inverted dropout) */
    bp_schedule schedule;  /* default constant */
    int step_every;        /* step schedule: epochs per step (default 10) */
    float step_gamma;      /* step schedule: factor (default 0.1) */
    float min_lr;          /* cosine floor (default 0) */
    int warmup_epochs;     /* linear warm-up from η/warmup to η over these epochs (default 0) */
    float clip_norm;       /* clip the gradient's global L2 norm to this (0 = off) */
    int patience;          /* early stopping after this many epochs without improvement
                              (see min_delta): of the validation loss, restoring the best
                              weights; without a validation set, of the training loss,
                              keeping the last weights (0 = off) */
    uint64_t seed;         /* shuffles and dropout; same seed + data ⇒ same bits */
    int threads;           /* worker threads (default 1); never changes the result */
    int shuffle;           /* shuffle every epoch (default 1) */
    /* iRPROP− (FANN's defaults) */
    float rprop_increase, rprop_decrease, rprop_delta_min, rprop_delta_max, rprop_delta_zero;
    bp_progress_fn progress; /* may be NULL */
    void *progress_user;
    size_t report_every;   /* batches between in-epoch reports (0 = only at epoch ends) */
    /* Added after 0.1 (kept at the end so older field offsets stay):
     * min_delta: early stopping counts an epoch as an improvement only when its
     *   loss is below the best so far minus min_delta (default 0; the CLI uses
     *   1e-4, scikit-learn's tol).  With patience > 0 and a validation set the
     *   validation loss decides and the best weights are restored at the end;
     *   without one the training loss decides and the last weights are kept
     *   (scikit-learn's MLP does the same).
     * flat_spot: Fahlman's flat-spot fix, as FANN offers it: sigmoid layers
     *   backpropagate with f'(s) = a(1 − a) + flat_spot instead of a(1 − a),
     *   so a saturated sigmoid (a near 0 or 1) still passes on a gradient.
     *   0 (default) keeps the exact derivative; 0.1 is the usual value.  It
     *   changes only training (not bp_backward's result outside a trainer). */
    float min_delta;
    float flat_spot;
    /* shards: data-parallel training (the reduce hook below).  0 (default) keeps
     *   the one-process path and its bits.  S > 0 splits every batch into S
     *   fixed, contiguous shards (shard k: rows [k·n/S, (k+1)·n/S) of a batch
     *   of n rows), computes each shard's gradient on its own and adds the S
     *   gradients in ascending shard order (bp_sum_shards).  The result
     *   depends on S, never on how many processes share the shards: one
     *   process with shards = S and P processes (P divides S, see
     *   bp_trainer_set_reduce) write the same bits.  Dropout masks are drawn
     *   per sample, so they do not depend on S either. */
    int shards;
    /* device: where the trainer computes (docs/backends.md, docs/gpu.md).
     *   BP_DEVICE_CPU (default) or BP_DEVICE_CUDA on GPU device_index.  The
     *   model is the same file whichever trained it; a device this build or
     *   machine cannot use (the CUDA library not built, no driver, no GPU) is
     *   refused by bp_trainer_create with BP_ERR_UNSUPPORTED saying which.
     *   Not saved in checkpoints: a resumed run uses the loader's default. */
    int device;
    int device_index;
    /* precision: the arithmetic of training's matrix products (docs/precision.md).
     *   BP_PRECISION_FP32 (default): float32 throughout.
     *   BP_PRECISION_BF16: mixed precision, as PyTorch's autocast does it — the
     *   operands of the forward and backward GEMMs are rounded to bfloat16 and
     *   their products summed in float32; weights, optimizer state,
     *   activations, evaluation and the model file stay float32.  It needs a
     *   CPU with AVX512-BF16 (bp_trainer_create fails with BP_ERR_UNSUPPORTED
     *   elsewhere, and on the GPU backend, saying why); the environment
     *   variable BACKPROP_BF16=emulate runs the same arithmetic on float32
     *   kernels anywhere, for testing (no faster than float32);
     *   BACKPROP_AMX=1 opts in to an AMX-BF16 kernel where the CPU has one
     *   (experimental: not yet run on AMX hardware).  Saved in
     *   checkpoints. */
    int precision;
} bp_train_options;

/* Values of bp_train_options.precision. */
enum { BP_PRECISION_FP32 = 0, BP_PRECISION_BF16 = 1 };

/* Values of bp_train_options.device. */
enum { BP_DEVICE_CPU = 0, BP_DEVICE_CUDA = 1 };
/* "cpu", "cuda" or "cuda:N" into device and index (BP_ERR_ARG naming the
 * choices otherwise). */
BP_API bp_status bp_device_parse(const char *name, int *device, int *index);

/* Defaults for a struct of `size` bytes; call the inline bp_train_options_default(). */
BP_API void bp_train_options_init(bp_train_options *opts, size_t size);
static inline void bp_train_options_default(bp_train_options *opts)
{
    bp_train_options_init(opts, sizeof *opts);
}
/* The one place the default learning rates live: 0.001 for the adaptive
 * optimizers (Adam, AdamW, RMSprop), 0.01 for the others.  `backprop train`
 * uses it for the optimizer it was given when --lr is not.  The struct's
 * default (bp_train_options_init) is chosen before any optimizer is, and is
 * the 0.01 of plain SGD whatever the optimizer field says, as it always was. */
BP_API float bp_learning_rate_default(bp_optimizer optimizer);

/* A trainer drives `net` (which it does not own; keep it alive) with its own
 * optimizer state and workspace. */
BP_API bp_status bp_trainer_create(bp_trainer **out, bp_net *net, const bp_train_options *opts);
BP_API void bp_trainer_free(bp_trainer *tr);
/* Train until opts.epochs epochs are done in total (a resumed trainer
 * continues where it stopped).  val may be NULL.  Divergence (NaN/Inf in
 * loss or weights) stops with BP_ERR_NUMERIC and a message naming the epoch,
 * batch, layer and neuron; the net is left at the last good epoch's weights. */
BP_API bp_status bp_trainer_run(bp_trainer *tr, const bp_dataset *train, const bp_dataset *val);
BP_API int bp_trainer_epoch(const bp_trainer *tr);          /* epochs completed */
BP_API bp_net *bp_trainer_net(const bp_trainer *tr);
BP_API const bp_train_options *bp_trainer_options(const bp_trainer *tr);
/* Replace the callback (e.g. after loading a checkpoint). */
BP_API void bp_trainer_set_progress(bp_trainer *tr, bp_progress_fn fn, void *user, size_t report_every);
/* Change the epoch target (e.g. to train a resumed run for longer). */
BP_API void bp_trainer_set_epochs(bp_trainer *tr, int epochs);
/* Ask a bp_trainer_run in progress (in another thread, or from a signal
 * handler: this only sets a flag, so it is async-signal-safe) to stop after
 * the batch it is working on.  The run applies that batch and returns
 * BP_ERR_INTERRUPTED with a message naming the epoch and batch; the net holds
 * the weights after that batch (a valid model to save).  bp_trainer_epoch()
 * counts completed epochs only, so a checkpoint saved then resumes from the
 * start of the interrupted epoch, with these weights.  Full-batch RPROP stops
 * at the next epoch end.  A run that is not interrupted is unchanged, bit for
 * bit. */
BP_API void bp_trainer_request_stop(bp_trainer *tr);

/* ---- data parallel: gradients → reduce → update -------------------------
 *
 * Every training step runs in three stages: compute the gradient of this
 * process's shards, reduce (combine the shards of all processes), update.
 * In one process the reduce is the in-order sum of the local shards.  With
 * several processes a transport (the CLI's MPI layer) sets a hook that makes
 * the shard gradients of every process meet.
 *
 * The hook is called once per step on every rank with this rank's shards:
 * `local` holds local_shards = shards/ranks vectors of `len` floats, one
 * after another (shard rank·local_shards first).  It must leave in `total`,
 * on every rank, the sum of all `shards` vectors in ascending shard order,
 * exactly as bp_sum_shards computes it (the sum is element-wise, so any
 * slice of the vectors may be summed on its own: a reduce-scatter of slices
 * followed by an all-gather gives the same bits).  The last 4 floats of each
 * vector are the shard's statistics (loss sum, correct predictions, rows,
 * stop requests) and are summed like the rest.  Return 0, or non-zero after
 * writing a message to err (cap bytes): training then stops with BP_ERR_IO
 * and that message. */
typedef int (*bp_reduce_fn)(void *user, const float *local, int local_shards, size_t len,
                            float *total, char *err, size_t cap);
/* This process is `rank` of `ranks` (ranks divides the options' shards);
 * fn (NULL: none, for one process) combines the shards.  Call before
 * bp_trainer_run; a run with ranks > 1 refuses options with shards = 0 and
 * the fused online-SGD path is off whenever a hook is set. */
BP_API bp_status bp_trainer_set_reduce(bp_trainer *tr, int rank, int ranks, bp_reduce_fn fn,
                                       void *user);
/* Memory the hook's caller owns for the reduce, e.g. an MPI-3 shared-memory
 * window that the other processes of a machine read directly: the trainer
 * writes this rank's shard vectors into `local` (shards/ranks ×
 * bp_trainer_shard_len floats) and reads the combined gradient from `total`
 * (bp_trainer_shard_len floats); the hook then receives these very pointers.
 * `total` is this rank's alone when the update may change it in place
 * (clipping, L2 weight decay, RPROP); when bp_trainer_total_read_only says the
 * step only reads it, the ranks of a machine may all pass the same `total`,
 * each hook writing its part, so that nobody copies the others' parts.  A
 * rank reads a shared total only between its hook's return and its next
 * call, so a hook that returns once every part is written and writes again
 * only after every rank has called it again (a barrier) is safe.  The trainer writes `local` only between two calls of the
 * hook, so other ranks may read it until this rank's hook returns.  Both must
 * stay valid while the trainer runs; (NULL, NULL) returns to the trainer's
 * own buffers.  Call after bp_trainer_set_reduce and before bp_trainer_run.
 * The trainer never frees them. */
BP_API bp_status bp_trainer_set_reduce_buffers(bp_trainer *tr, float *local, float *total);
/* 1 when this trainer's step only reads the combined gradient (no L2 weight
 * decay, no clipping, not RPROP: each of those changes it in place), so that
 * ranks may share one `total` (bp_trainer_set_reduce_buffers); else 0. */
BP_API int bp_trainer_total_read_only(const bp_trainer *tr);
/* The ranks of one machine may share more than the total: the parameters
 * and the optimizer's state themselves, one copy that every rank maps.
 * Each rank then sums every rank's shards over its own part of the
 * parameters and updates that part (the optimizer-state sharding that
 * ZeRO calls stage 1, with no all-gather: the updated parts already lie
 * where every rank reads them).  No total, no copies; the bits are those
 * of the reduce hook's run.
 *
 * bp_trainer_shared_state_len: the floats that shared state takes (the
 * parameters and the optimizer's state vectors), or 0 when this trainer
 * cannot share it: a backend whose memory is not the host's, or a step that
 * changes the combined gradient (bp_trainer_total_read_only is 0). */
BP_API size_t bp_trainer_shared_state_len(const bp_trainer *tr);
/* Where a run calls its sync (a transport may time them apart). */
typedef enum bp_sync_point {
    BP_SYNC_RUN_START, /* a run begins (twice: before and after the state is written) */
    BP_SYNC_SHARDS,    /* a step's shards are written */
    BP_SYNC_UPDATED,   /* a step's parts are updated */
    BP_SYNC_RESTORED   /* weights were put back (divergence, the best epoch) */
} bp_sync_point;
/* A barrier across all ranks: returns 0 once every rank has called it, or
 * non-zero after writing a message to err (cap bytes). */
typedef int (*bp_sync_fn)(void *user, bp_sync_point point, char *err, size_t cap);
/* Share the state (call on every rank, after bp_trainer_set_reduce and
 * before bp_trainer_run).  state: bp_trainer_shared_state_len floats,
 * 64-byte aligned, the same memory on every rank; the run fills it.
 * rank_shards[q]: rank q's shard vectors (shards/ranks ×
 * bp_trainer_shard_len floats) as mapped in this process; this trainer
 * writes its own into rank_shards[rank].  The run calls sync at its start,
 * twice a step and after a restore of the weights (bp_sync_point), instead
 * of the reduce hook; it calls it on every
 * rank at the same points, and only there.  All must stay valid while a run
 * lasts; when bp_trainer_run returns, the net, and the state a checkpoint
 * saves, are the trainer's own again (copied out of the shared memory), so
 * the caller may then unmap it.  state = NULL stops sharing. */
BP_API bp_status bp_trainer_share_state(bp_trainer *tr, float *state, float *const *rank_shards,
                                        bp_sync_fn sync, void *user);
/* out[i] = ((v_0[i] + v_1[i]) + v_2[i]) + … over `count` vectors of `len`
 * floats stored one after another: the one order every reduce must keep. */
BP_API void bp_sum_shards(const float *vectors, int count, size_t len, float *out);
/* Floats per shard vector a reduce hook receives: parameters + 4 statistics. */
BP_API size_t bp_trainer_shard_len(const bp_trainer *tr);

/* η of a 0-based epoch under the options' schedule and warm-up. */
BP_API float bp_schedule_lr(const bp_train_options *opts, int epoch);

/* One-call training: create a trainer, run, free it. */
BP_API bp_status bp_train(bp_net *net, const bp_dataset *train, const bp_dataset *val,
                   const bp_train_options *opts);

/* Fit the net's input scaling on a training set (NONE removes scaling). */
BP_API bp_status bp_net_fit_scaling(bp_net *net, const bp_dataset *train, bp_scaling kind);

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

typedef struct bp_metrics {
    size_t size;             /* sizeof(bp_metrics): set by bp_metrics_init */
    size_t rows;
    double loss;             /* mean loss */
    int classes;             /* 0 for regression */
    double accuracy;         /* classification */
    double *precision, *recall, *f1;   /* [classes], owned */
    size_t *confusion;       /* [classes][classes]: row = true class, column = predicted */
    double mse, mae, r2;     /* regression (over all outputs) */
} bp_metrics;

/* An empty bp_metrics of `size` bytes; call the inline bp_metrics_init()
 * once before the first bp_evaluate / bp_metrics_compute into it. */
BP_API void bp_metrics_init_size(bp_metrics *m, size_t size);
static inline void bp_metrics_init(bp_metrics *m)
{
    bp_metrics_init_size(m, sizeof *m);
}
/* Evaluate net on ds (applying the net's input scaling).  `out` must have
 * been set up by bp_metrics_init; results it already holds are freed first,
 * so one bp_metrics may be reused for many evaluations. */
BP_API bp_status bp_evaluate(const bp_net *net, const bp_dataset *ds, int threads, bp_metrics *out);
/* Free the arrays and empty the results; `size` is kept, so the struct stays
 * ready for the next bp_evaluate. */
BP_API void bp_metrics_clear(bp_metrics *m);
/* The same metrics from outputs and targets already computed. */
BP_API bp_status bp_metrics_compute(const float *outputs, const float *targets, const int32_t *labels,
                             size_t rows, int outputs_per_row, int classes, bp_metrics *out);
/* The class one row of outputs predicts: the largest output, or for a single
 * (sigmoid) output, class 1 when it exceeds 0.5.  The one rule that
 * bp_evaluate, the trainer's accuracy and `backprop predict` all use.
 * -1 when outputs is NULL or outputs_per_row < 1. */
BP_API int bp_predicted_class(const float *outputs, int outputs_per_row);

/* ------------------------------------------------------------------ */
/* Model files (binary) and checkpoints                                */
/* ------------------------------------------------------------------ */

/* Binary model: magic, format version, little-endian fields, architecture,
 * parameters, scaling, metadata, CRC-32 over everything (docs/model-format.md).
 * Written atomically: a failed save leaves any previous file untouched. */
BP_API bp_status bp_net_save(const bp_net *net, const char *path);
/* Rejects wrong magic, unknown version, bad checksum and truncation. */
BP_API bp_status bp_net_load(bp_net **out, const char *path);
/* Loads a binary model, an ONNX file or a text .net file, by content. */
BP_API bp_status bp_net_load_any(bp_net **out, const char *path);

/* ONNX (opset 13) and standalone C, so a model runs where backprop is not
 * installed (docs/export.md).  bp_net_save_onnx writes the input scaling as
 * Sub/Mul nodes, each layer as a Gemm and its activation node, and the loss
 * and metadata (class names, …) as metadata_props; the same net always gives
 * the same bytes.  bp_net_load_onnx reads dense networks as backprop and
 * torch.onnx.export write them (Gemm or MatMul+Add, Relu, LeakyRelu,
 * Sigmoid, Tanh, Softmax, Flatten, Identity) and refuses any other graph
 * with BP_ERR_UNSUPPORTED naming the first node it cannot run.
 * bp_net_parse_onnx reads the same from memory (`name` for messages).
 * bp_net_load_any recognises ONNX files by content. */
BP_API bp_status bp_net_save_onnx(const bp_net *net, const char *path);
BP_API bp_status bp_net_load_onnx(bp_net **out, const char *path);
BP_API bp_status bp_net_parse_onnx(bp_net **out, const void *data, size_t len, const char *name);
/* One dependency-free C99 file with the weights as exact hex-float literals
 * and `void predict(const float *x, float *y)`, plus its header at h_path
 * (which the C file includes by its base name).  Compiled without FP
 * contraction (-ffp-contract=off, no -ffast-math; -std=c99 implies it for
 * gcc) it gives the same bits as bp_predict under BACKPROP_ISA=portable on
 * batches of more than one row. */
BP_API bp_status bp_net_save_c(const bp_net *net, const char *c_path, const char *h_path);

/* A checkpoint: the model plus the trainer's full state (options, epoch,
 * optimizer moments, best weights), so a resumed run continues bit for bit. */
BP_API bp_status bp_checkpoint_save(const bp_trainer *tr, const char *path);
/* Creates the net and a trainer driving it; free both (trainer first). */
BP_API bp_status bp_checkpoint_load(const char *path, bp_net **net, bp_trainer **tr);

/* ------------------------------------------------------------------ */
/* Output files                                                        */
/* ------------------------------------------------------------------ */

/* Every file the library writes (models, checkpoints, .net files, SVGs) goes
 * through this writer; it is public so programs can write their own outputs
 * the same way (the CLI's `predict -o`).  A regular file is written to a
 * temporary "PATH.tmp.XXXXXX" beside it (created 0666 less the umask, or with
 * the replaced file's permissions), flushed, fsync'd and renamed over PATH
 * on commit, so readers see the old file or the whole new one.  A character
 * device or FIFO (/dev/null, a pipe) is written through, never replaced (a
 * FIFO blocks in bp_output_open until it has a reader); a directory is
 * refused; a symbolic link is followed and the file it names replaced.
 *
 * Signals: a write past `ulimit -f` raises SIGXFSZ, which by default kills
 * the process and leaves the temporary behind.  Programs that save files
 * should ignore it (signal(SIGXFSZ, SIG_IGN)) so the write fails with EFBIG
 * and the save returns BP_ERR_IO with the temporary removed.  A handler for
 * SIGINT/SIGTERM that ends the process may call bp_remove_temp_files(). */
typedef struct bp_output bp_output;
/* Opens PATH for writing as above; *out is NULL on failure. */
BP_API bp_status bp_output_open(bp_output **out, const char *path);
/* The stream to write to (owned by the writer). */
BP_API FILE *bp_output_file(bp_output *out);
/* Flushes, fsyncs and renames into place; on a write error the previous file
 * is left unchanged and the temporary removed.  Frees `out` either way. */
BP_API bp_status bp_output_commit(bp_output *out);
/* Drops the temporary and frees `out` (NULL is fine). */
BP_API void bp_output_abort(bp_output *out);
/* Unlinks the temporaries of every save in progress in this process.
 * Async-signal-safe (only unlink()): for a signal handler about to _exit().
 * The saves themselves then fail; call it only when the process ends. */
BP_API void bp_remove_temp_files(void);

/* ------------------------------------------------------------------ */
/* Pictures (SVG)                                                      */
/* ------------------------------------------------------------------ */

/* Draw `net` as a standalone SVG 1.1 file: inputs left, outputs right,
 * neurons labelled with bp_neuron_name, edges with "w7 = 0.1200", biases as
 * "b1 = …".  With `input` (n_inputs raw values; the net's scaling is applied)
 * each neuron also shows its s and a from a forward pass.  With `updated`
 * (same architecture, e.g. the net after one step) each value is shown as
 * "old → new".  Both may be NULL.  Big nets (> 16 neurons in a layer or
 * > 200 edges) are drawn reduced: first and last neurons with an ellipsis,
 * no per-edge labels.  Written atomically. */
BP_API bp_status bp_draw_svg(const bp_net *net, const float *input, const bp_net *updated,
                      const char *path);
/* bp_draw_svg with options (bp_explain_options, declared below): the
 * language of the picture's texts and a highlighted weight or neuron.  Every
 * neuron (id "n-h1") and weight (edge id "w7", label id "lw7") has an id. */
struct bp_explain_options;
BP_API bp_status bp_draw_svg_ex(const bp_net *net, const float *input, const bp_net *updated,
                                const struct bp_explain_options *opt, const char *path);

/* Plot a training log written by `backprop train --log` (header
 * epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,
 * val_loss,val_accuracy; empty or "nan" fields are missing values) as an SVG
 * with a loss panel and an accuracy panel.  A malformed log fails with
 * BP_ERR_PARSE naming file and line.  Written atomically. */
BP_API bp_status bp_plot_svg(const char *log_csv_path, const char *svg_path);
/* The same with choices for the loss axis (a long run's loss spans decades
 * and a linear axis hides its tail).  flags 0 is bp_plot_svg: a logarithmic
 * loss axis when the positive loss spans more than two decades, else linear.
 * Logs may also hold test_loss, test_accuracy, train_rmse, val_rmse and
 * test_rmse (train --log writes them): test curves are drawn, and a log
 * without accuracy but with RMSE (regression) gets an RMSE panel. */
#define BP_PLOT_LOG_LOSS 1u    /* always a logarithmic loss axis (values <= 0 left out) */
#define BP_PLOT_LINEAR_LOSS 2u /* never a logarithmic one */
BP_API bp_status bp_plot_svg_flags(const char *log_csv_path, const char *svg_path, unsigned flags);

/* ------------------------------------------------------------------ */
/* Explaining the maths                                                */
/* ------------------------------------------------------------------ */

/* BP_TRACE_HTML (added after the others, so the old values keep their
 * numbers): one self-contained XHTML page, the "lesson": the drawing inline,
 * every formula as MathML with a plain-text line under it, and a table and
 * plot of E over the next steps.  No external URL, script or font. */
typedef enum bp_trace_format { BP_TRACE_TEXT = 0, BP_TRACE_MARKDOWN, BP_TRACE_HTML } bp_trace_format;

/* One forward pass, the error, one backward pass and the update
 * w' = w − η·∂E/∂w of `net` on one sample, printed like the article: s and a
 * of every neuron, each δ with its factors, each ∂E/∂w as its chain-rule
 * product and each new weight.  Markdown output writes the formulas in LaTeX.
 * `input` is raw: the net's input scaling is applied first (as bp_predict
 * and bp_draw_svg do), so the s values are the ones the model computes.
 * On success `net` holds the updated weights. */
BP_API bp_status bp_explain_step(bp_net *net, const float *input, const float *target, float lr,
                          bp_trace_format format, FILE *out);

/* Options of bp_explain_step_ex and bp_draw_svg_ex.  They are a struct, not
 * more parameters, so that bp_explain_step and bp_draw_svg keep their
 * signatures and later options need no new call; like the other extensible
 * structs it starts with `size` (set by bp_explain_options_default; checked
 * by the library; fields only ever added at the end, zero/NULL meaning the
 * default).  A struct rather than a process-wide setter because the
 * language is a property of one output, not of the library. */
typedef struct bp_explain_options {
    size_t size;           /* sizeof(bp_explain_options): set by bp_explain_options_default */
    const char *lang;      /* wording: "en" (NULL too) or "zh" (the seed article's terms) */
    int steps;             /* HTML: the "and then repeat" table covers this many more steps
                              on the same sample (0: default 100; negative: none) */
    const char *highlight; /* a weight "w7", a bias "b2" or a neuron "h1" drawn highlighted
                              (the edge and both its neurons); NULL: none */
} bp_explain_options;

/* Defaults (English, 100 steps, no highlight) for a struct of `size` bytes;
 * call the inline bp_explain_options_default(). */
BP_API void bp_explain_options_init(bp_explain_options *opt, size_t size);
static inline void bp_explain_options_default(bp_explain_options *opt)
{
    bp_explain_options_init(opt, sizeof *opt);
}
/* Languages bp_explain_options.lang accepts, for a usage message: "en, zh". */
BP_API const char *bp_explain_languages(void);

/* bp_explain_step with options (`opt` NULL: the defaults, which print exactly
 * what bp_explain_step prints).  An unknown language is BP_ERR_ARG. */
BP_API bp_status bp_explain_step_ex(bp_net *net, const float *input, const float *target,
                                    float lr, bp_trace_format format,
                                    const bp_explain_options *opt, FILE *out);

/* ------------------------------------------------------------------ */
/* Gradient check                                                      */
/* ------------------------------------------------------------------ */

/* The errors are relative errors with a floor (CS231n's recipe, in the form
 * of PyTorch's atol + rtol·|n| test):
 *   double:  max over checked parameters of |a − n| / max(|a|, |n|, τ),
 *            a = analytic gradient (double), n = central difference with
 *            h = 1e-6·max(1, |w|), τ = 1e-5·max(1, |E|) for the batch loss E.
 *            The floor is the finite difference's own rounding noise
 *            (≈ 2e-10·|E|) with a margin, so correct gradients of big nets do
 *            not fail on parameters whose gradient is nearly 0.
 *   float32: max over all parameters of |g − a| / max(|g|, |a|, 1e-3·max|a|, 1e-6),
 *            g = the library's float32 gradient.
 * `backprop gradcheck` passes with double < 1e-4 and float32 < 1e-2. */
typedef struct bp_gradcheck_result {
    double max_rel_error_double;  /* analytic (double) vs central differences (double) */
    double max_rel_error_float;   /* the library's float32 gradients vs the double analytic */
    size_t worst_param;           /* index in bp_net_params order */
    size_t params_checked;        /* by central differences (all, or the sample) */
} bp_gradcheck_result;

/* Compare analytic gradients with central finite differences, in double
 * precision, on `batch` rows of x/target: every parameter (two forward
 * passes each, so O(params²): slow beyond ~10⁵ parameters). */
BP_API bp_status bp_gradcheck(const bp_net *net, const float *x, const float *target, int batch,
                       bp_gradcheck_result *result);

/* Called by bp_gradcheck_sample every 64 parameters and at the end with the
 * count checked so far and the total to check; non-zero stops the check
 * (BP_ERR_INTERRUPTED). */
typedef int (*bp_gradcheck_progress_fn)(size_t done, size_t total, void *user);

/* bp_gradcheck on at most max_params parameters by central differences: all
 * of them when the net has no more, else a sample drawn with `seed` (each
 * parameter equally likely, the same sample for the same seed).  The float32
 * comparison still covers every parameter.  progress may be NULL.  Exists so
 * a big net (784-256-10: 2·10⁵ parameters) is checked in seconds. */
BP_API bp_status bp_gradcheck_sample(const bp_net *net, const float *x, const float *target,
                                     int batch, size_t max_params, uint64_t seed,
                                     bp_gradcheck_progress_fn progress, void *user,
                                     bp_gradcheck_result *result);


/* ------------------------------------------------------------------ */
/* int8 inference (opt-in)                                             */
/* ------------------------------------------------------------------ */

/* An int8 form of a net, for faster inference where int8 dot products are
 * cheap (docs/performance.md): per-neuron symmetric int8 weights (scale =
 * max|w|/127), one activation scale per layer input calibrated on data
 * (max|x|/127), int32 sums, then bias and activation in float32.  Results
 * are close to the net's, not equal; the integers are the same on every CPU
 * path (BACKPROP_ISA).  It refers to the net it was made from, which must
 * outlive it and keep its parameters. */
typedef struct bp_qnet bp_qnet;
/* Quantizes net, calibrating activation scales on `rows` raw input rows
 * ([rows][inputs]; the net's input scaling is applied as bp_predict does).
 * Exists because the activation ranges are not in the model file: the data
 * the model was trained on is not stored. */
BP_API bp_status bp_quantize(bp_qnet **out, const bp_net *net, const float *calib, size_t rows);
BP_API void bp_qnet_free(bp_qnet *q);
/* bp_predict through the int8 path: raw inputs [rows][inputs] → out
 * [rows][outputs]. */
BP_API bp_status bp_qnet_predict(const bp_qnet *q, const float *x, size_t rows, float *out);
/* bp_evaluate through the int8 path. */
BP_API bp_status bp_qnet_evaluate(const bp_qnet *q, const bp_dataset *ds, bp_metrics *out);
/* The net q was made from. */
BP_API const bp_net *bp_qnet_net(const bp_qnet *q);
/* Saves q's net as a binary model with an extra optional section (QINT)
 * holding the int8 weights and scales: older builds, which skip optional
 * sections, load it as the float32 model it was made from. */
BP_API bp_status bp_qnet_save(const bp_qnet *q, const char *path);
/* bp_net_load_any, and *q (may be NULL to ignore) set to the file's int8
 * form when it has one, else NULL.  Free *q before *net. */
BP_API bp_status bp_net_load_quantized(bp_net **net, bp_qnet **q, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* BACKPROP_H */
