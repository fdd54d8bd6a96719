/* A minimal protocol-buffers wire-format writer and reader (internal), just
 * enough for ONNX files (io/onnx.c) without a protobuf dependency.
 *
 * Writer: messages are built bottom-up in growable buffers; a nested message
 * is written into its own buffer and appended with its length.  Fields are
 * emitted in the order they are written, so the same calls give the same
 * bytes.  An allocation failure sticks in the buffer (pb_buf.failed) and is
 * reported once at the end.
 *
 * Reader: a cursor over a byte range that never reads outside it; every
 * length is checked against what is left before it is used. */
#ifndef BP_PROTOBUF_H
#define BP_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct pb_buf {
    unsigned char *data;
    size_t len, cap;
    int failed;  /* an allocation failed or a size overflowed: contents are incomplete */
} pb_buf;

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

void pb_free(pb_buf *b);
void pb_put_varint_field(pb_buf *b, int field, uint64_t v);
void pb_put_fixed32_field(pb_buf *b, int field, uint32_t v);
void pb_put_float_field(pb_buf *b, int field, float f);
void pb_put_bytes_field(pb_buf *b, int field, const void *data, size_t n);
void pb_put_string_field(pb_buf *b, int field, const char *s);
/* A nested message: sub's bytes with their length.  sub is freed. */
void pb_put_message_field(pb_buf *b, int field, pb_buf *sub);
/* Raw bytes appended as they are (for building a string value). */
void pb_put_raw(pb_buf *b, const void *data, size_t n);
/* A packed repeated float field (little-endian IEEE 754 floats). */
void pb_put_packed_floats(pb_buf *b, int field, const float *v, size_t n);

typedef struct pb_reader {
    const unsigned char *p, *end;
} pb_reader;

/* One field as read: its number, wire type and value (for PB_LEN the slice
 * [data, data + len) inside the input; for the fixed types `u` holds the
 * little-endian value). */
typedef struct pb_field {
    uint32_t number;
    int wire;
    uint64_t u;
    const unsigned char *data;
    size_t len;
} pb_field;

/* 1 and the next field, 0 at the end of the range, −1 on malformed input
 * (bad varint, unknown wire type, a length past the end, field number 0). */
int pb_next(pb_reader *r, pb_field *f);

/* A little-endian float from 4 bytes. */
float pb_float_at(const unsigned char *p);

#endif
