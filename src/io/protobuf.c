/* Protocol-buffers wire format, writer and bounds-checked reader (protobuf.h). */
#include "io/protobuf.h"
#include "nn/le.h"

#include <stdlib.h>
#include <string.h>

void pb_free(pb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int reserve(pb_buf *b, size_t more)
{
    if (b->failed)
        return 0;
    if (more > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return 0;
    }
    if (b->len + more <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

static void put_raw(pb_buf *b, const void *data, size_t n)
{
    if (n && reserve(b, n)) {
        memcpy(b->data + b->len, data, n);
        b->len += n;
    }
}

void pb_put_raw(pb_buf *b, const void *data, size_t n) { put_raw(b, data, n); }

static void put_varint(pb_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        unsigned char byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = (unsigned char)(byte | (v ? 0x80 : 0));
    } while (v);
    put_raw(b, tmp, n);
}

static void put_tag(pb_buf *b, int field, int wire)
{
    put_varint(b, ((uint64_t)(uint32_t)field << 3) | (uint64_t)wire);
}

void pb_put_varint_field(pb_buf *b, int field, uint64_t v)
{
    put_tag(b, field, PB_VARINT);
    put_varint(b, v);
}

static void put_le32(pb_buf *b, uint32_t v)
{
    unsigned char t[4];
    bp_le_put_u32(t, v);
    put_raw(b, t, 4);
}

void pb_put_fixed32_field(pb_buf *b, int field, uint32_t v)
{
    put_tag(b, field, PB_I32);
    put_le32(b, v);
}

void pb_put_float_field(pb_buf *b, int field, float f) { pb_put_fixed32_field(b, field, bp_f32_bits(f)); }

void pb_put_bytes_field(pb_buf *b, int field, const void *data, size_t n)
{
    put_tag(b, field, PB_LEN);
    put_varint(b, n);
    put_raw(b, data, n);
}

void pb_put_string_field(pb_buf *b, int field, const char *s)
{
    pb_put_bytes_field(b, field, s, strlen(s));
}

void pb_put_message_field(pb_buf *b, int field, pb_buf *sub)
{
    if (sub->failed)
        b->failed = 1;
    pb_put_bytes_field(b, field, sub->data, sub->len);
    pb_free(sub);
}

void pb_put_packed_floats(pb_buf *b, int field, const float *v, size_t n)
{
    if (n > SIZE_MAX / 8) {
        b->failed = 1;
        return;
    }
    put_tag(b, field, PB_LEN);
    put_varint(b, (uint64_t)n * 4);
    if (!reserve(b, n * 4))
        return;
    for (size_t i = 0; i < n; i++)
        put_le32(b, bp_f32_bits(v[i]));
}

/* ---- reader ----------------------------------------------------------------- */

static int get_varint(pb_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return 0;
        unsigned char byte = *r->p++;
        x |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0; /* more than 10 bytes */
}

int pb_next(pb_reader *r, pb_field *f)
{
    if (r->p >= r->end)
        return 0;
    uint64_t tag;
    if (!get_varint(r, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return -1;
    f->number = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    f->data = NULL;
    f->len = 0;
    f->u = 0;
    size_t left;
    switch (f->wire) {
    case PB_VARINT:
        return get_varint(r, &f->u) ? 1 : -1;
    case PB_I64:
    case PB_I32: {
        size_t n = f->wire == PB_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return -1;
        for (size_t i = 0; i < n; i++)
            f->u |= (uint64_t)r->p[i] << (8 * i);
        f->data = r->p;
        f->len = n;
        r->p += n;
        return 1;
    }
    case PB_LEN: {
        uint64_t n;
        if (!get_varint(r, &n))
            return -1;
        left = (size_t)(r->end - r->p);
        if (n > left)
            return -1;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        return -1; /* groups (3, 4) and unknown wire types */
    }
}

float pb_float_at(const unsigned char *p)
{
    return bp_f32_from_bits(bp_le_get_u32(p));
}
