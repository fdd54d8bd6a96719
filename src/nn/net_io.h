/* The narrow interface of nn/ for io/ and explain/ (not installed).
 *
 * io/ and explain/ see a net only through the public API (backprop.h) and
 * this header; the structs stay in nn/nn_internal.h, which only nn/ includes
 * (tests/cli_layering.sh checks it, docs/layers.md says why). */
#ifndef BP_NET_IO_H
#define BP_NET_IO_H

#include <stddef.h>

#include "backprop.h"

/* Extensible structs (backprop.h): the end of each one's first versioned
 * layout.  A `size` below it is refused; fields added later go after it. */
#define BP_END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define BP_LAYER_SPEC_V1 BP_END_OF(bp_layer_spec, slope)
#define BP_CSV_OPTIONS_V1 BP_END_OF(bp_csv_options, n_classes)
#define BP_TRAIN_OPTIONS_V1 BP_END_OF(bp_train_options, report_every)
#define BP_METRICS_V1 BP_END_OF(bp_metrics, r2)
/* BP_OK if s (an extensible struct) is non-NULL and its size ≥ v1_size, else
 * BP_ERR_ARG naming fn, the type and the init call to use. */
bp_status bp_abi_check(const void *s, size_t v1_size, const char *fn, const char *type,
                       const char *init);
/* Copy a checked struct into dst (this library's layout, dst_size bytes,
 * already holding defaults): only the prefix both know; dst's size becomes
 * dst_size. */
void bp_abi_copy(void *dst, size_t dst_size, const void *src);
/* Fill a caller's struct of `size` bytes: defaults (known bytes) then zeros;
 * its size field becomes `size`. */
void bp_abi_fill(void *dst, size_t size, const void *defaults, size_t known);

#define BP_META_MAX 64
#define BP_META_KEY_MAX 64
#define BP_META_VALUE_MAX 256

/* Trainer state as bytes for checkpoints (little-endian, versioned inside).
 * io/ stores the blob without looking into it. */
bp_status bp_trainer_state_export(const bp_trainer *tr, unsigned char **blob, size_t *len);
/* Builds a trainer for net from a blob made by bp_trainer_state_export. */
bp_status bp_trainer_state_import(bp_trainer **out, bp_net *net, const unsigned char *blob,
                                  size_t len);

/* 1 if a and b have the same parameter shapes: inputs, layers, units per
 * layer and which layers have biases.  That is the rule for showing one net's
 * weights beside another's (the drawing of a step, explain/svg.c).  With
 * with_functions, the activations and the loss must match too: the rule for
 * bp_net_copy_params, since the same numbers under other functions would be
 * another model. */
int bp_net_same_architecture(const bp_net *a, const bp_net *b, int with_functions);

/* The int8 form of a net as bytes, for io/'s QINT section
 * (docs/model-format.md); io/ stores the blob without looking into it. */
/* The QINT payload: u32 format (1), u32 layers, then per layer u32 units,
 * u32 fan_in, f32 input scale, u32 zero point (0 or 127), f32 weight scale
 * per unit, and the int8
 * weights [units][fan_in] as bytes. */
bp_status bp_qnet_export(const bp_qnet *q, unsigned char **blob, size_t *len);
/* Builds q for net from a blob; every field is checked against net (a
 * BP_ERR_FORMAT message "section QINT: ..." without the file name). */
bp_status bp_qnet_import(bp_qnet **out, const bp_net *net, const unsigned char *blob,
                         size_t len);

#endif
