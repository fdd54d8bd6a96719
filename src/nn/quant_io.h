/* The int8 form of a net as bytes, for io/'s QINT section (not installed;
 * docs/model-format.md).  io/ stores the blob without looking into it. */
#ifndef BP_QUANT_IO_H
#define BP_QUANT_IO_H

#include <stddef.h>

#include "backprop.h"

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
