/*
 * Binary model files and checkpoints (docs/model-format.md is the reference).
 *
 *   header    magic (8 bytes), format version (u32), file length (u64)
 *   sections  tag (4 ASCII bytes), flags (u32), payload length (u64), payload
 *   trailer   CRC-32 (IEEE, as zlib computes it) of every byte before it
 *
 * Every integer is little-endian and every float is its IEEE-754 bit pattern
 * as a little-endian u32, written and read byte by byte, so files move
 * between hosts of any byte order.  Nothing is ever fwrite'n as a struct.
 *
 * Loading checks the file's size (fstat) against the header's length and the
 * limit before reading, reads exactly the declared bytes, verifies the CRC
 * and only then looks at any section; even so every length is
 * bounded by the bytes that remain, with overflow-safe arithmetic, before
 * anything is allocated.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "io_internal.h"
#include "nn/error.h"
#include "nn/le.h"
#include "nn/net_io.h"

#define MODEL_VERSION 2u   /* 2 added the SCHM section; version 1 files still load */
#define HEADER_BYTES 20u   /* magic + version + file length */
#define SECTION_HEAD 16u   /* tag + flags + length */
#define CRC_BYTES 4u
#define SEC_REQUIRED 1u    /* flag bit 0: a reader that does not know the tag must refuse */

/* The largest file we read (a net at BP_MAX_PARAMS is 8 GiB of parameters
 * alone; a checkpoint adds optimizer moments).  Clipped on 32-bit hosts. */
#define MODEL_MAX_FILE ((uint64_t)32 << 30)

/* PNG-style: a high byte (not text), the name, CR LF (caught if a text-mode
 * transfer rewrites line ends), ^Z and LF. */
static const unsigned char model_magic[8] = {0x89, 'B', 'P', 'M', '\r', '\n', 0x1a, '\n'};

_Static_assert(sizeof(float) == 4, "float must be 32-bit IEEE-754");

/* File codes of activations and losses: fixed forever, independent of the
 * enum order in backprop.h. */
static const bp_activation act_codes[] = {BP_ACT_LINEAR, BP_ACT_SIGMOID, BP_ACT_TANH,
                                          BP_ACT_RELU,   BP_ACT_LEAKY_RELU, BP_ACT_SOFTMAX};
static const bp_loss loss_codes[] = {BP_LOSS_MSE, BP_LOSS_XENT, BP_LOSS_BCE};
#define N_ACT_CODES (sizeof act_codes / sizeof act_codes[0])
#define N_LOSS_CODES (sizeof loss_codes / sizeof loss_codes[0])

static uint32_t act_to_code(bp_activation a)
{
    for (uint32_t i = 0; i < N_ACT_CODES; i++)
        if (act_codes[i] == a)
            return i;
    return UINT32_MAX;
}

static uint32_t loss_to_code(bp_loss l)
{
    for (uint32_t i = 0; i < N_LOSS_CODES; i++)
        if (loss_codes[i] == l)
            return i;
    return UINT32_MAX;
}

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
    uLong c = crc;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
    FILE *fp;
    uint32_t crc;
    uint64_t written;
    size_t n;
    int failed;
    int err; /* errno of the first failed write */
    unsigned char buf[1 << 16];
} writer;

static void w_flush(writer *w)
{
    if (w->n == 0)
        return;
    w->crc = crc_update(w->crc, w->buf, w->n);
    if (!w->failed && fwrite(w->buf, 1, w->n, w->fp) != w->n) {
        w->failed = 1;
        w->err = errno;
    }
    w->written += w->n;
    w->n = 0;
}

static void w_bytes(writer *w, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        if (w->n == sizeof w->buf)
            w_flush(w);
        size_t room = sizeof w->buf - w->n, k = len < room ? len : room;
        memcpy(w->buf + w->n, p, k);
        w->n += k;
        p += k;
        len -= k;
    }
}

static void w_u32(writer *w, uint32_t v)
{
    unsigned char b[4];
    bp_le_put_u32(b, v);
    w_bytes(w, b, 4);
}

static void w_u64(writer *w, uint64_t v)
{
    unsigned char b[8];
    bp_le_put_u64(b, v);
    w_bytes(w, b, 8);
}

static void w_f32(writer *w, float f) { w_u32(w, bp_f32_bits(f)); }

static void w_f32s(writer *w, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w_f32(w, v[i]);
}

static void w_section(writer *w, const char tag[4], uint32_t flags, uint64_t len)
{
    w_bytes(w, tag, 4);
    w_u32(w, flags);
    w_u64(w, len);
}

/* Names the first non-finite parameter of net (by layer, neuron, input). */
static bp_status check_params_finite(const bp_net *net, const char *path, bp_status status)
{
    for (int l = 0; l < bp_net_layers(net); l++) {
        int units = bp_net_layer(net, l).units, fan_in = bp_net_fan_in(net, l);
        const float *W = bp_net_weights_const(net, l);
        for (size_t i = 0; i < (size_t)units * (size_t)fan_in; i++)
            if (!isfinite(W[i]))
                return bp_error(status,
                                "%s: layer %d: weight of neuron %zu from input %zu is not "
                                "finite (%g)",
                                path, l + 1, i / (size_t)fan_in + 1, i % (size_t)fan_in + 1,
                                (double)W[i]);
        if (bp_net_layer(net, l).bias) {
            const float *b = bp_net_biases_const(net, l);
            for (int j = 0; j < units; j++)
                if (!isfinite(b[j]))
                    return bp_error(status, "%s: layer %d: bias of neuron %d is not finite (%g)",
                                    path, l + 1, j + 1, (double)b[j]);
        }
    }
    return BP_OK;
}

/* SCHM: the schema of the training data (docs/model-format.md).  A list of
 * n names, read through its public getter, is either complete or absent
 * (getter NULL for name 0), which is written as 0 names. */
typedef const char *(*name_getter)(const bp_net *net, int i);

static int names_count(const bp_net *net, name_getter name, int n)
{
    return n > 0 && name(net, 0) ? n : 0;
}

static uint64_t names_length(const bp_net *net, name_getter name, int n)
{
    uint64_t len = 4;
    for (int i = 0; i < names_count(net, name, n); i++)
        len += 4 + strlen(name(net, i));
    return len;
}

static uint64_t schema_length(const bp_net *net)
{
    return 4 + names_length(net, bp_net_input_name, bp_net_inputs(net)) +
           names_length(net, bp_net_target_name, bp_net_target_count(net)) + 4 +
           names_length(net, bp_net_class_name, bp_net_classes(net));
}

static void write_names(writer *w, const bp_net *net, name_getter name, int n)
{
    n = names_count(net, name, n);
    w_u32(w, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(name(net, i));
        w_u32(w, (uint32_t)len);
        w_bytes(w, name(net, i), len);
    }
}

static void write_schema(writer *w, const bp_net *net, uint64_t len)
{
    w_section(w, "SCHM", 0, len);
    w_u32(w, (uint32_t)bp_net_task(net));
    write_names(w, net, bp_net_input_name, bp_net_inputs(net));
    write_names(w, net, bp_net_target_name, bp_net_target_count(net));
    w_u32(w, (uint32_t)bp_net_classes(net));
    write_names(w, net, bp_net_class_name, bp_net_classes(net));
}

/* Writes the checksum, frees w, and commits the file when every byte went
 * out and the length is the one the header promised (else leaves the old file). */
static bp_status finish_model_file(writer *w, bp_atomic_file *af, const char *path,
                                   uint64_t total)
{
    w_flush(w);
    uint32_t crc = w->crc;
    unsigned char tail[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                             (unsigned char)(crc >> 16), (unsigned char)(crc >> 24)};
    if (!w->failed && fwrite(tail, 1, 4, af->fp) != 4) {
        w->failed = 1;
        w->err = errno;
    }
    uint64_t written = w->written + 4;
    int failed = w->failed, err = w->err ? w->err : EIO;
    free(w);
    if (failed) {
        bp_atomic_abort(af);
        return bp_error(BP_ERR_IO, "%s: write failed: %s (previous file left unchanged)", path,
                        strerror(err));
    }
    if (written != total) {
        bp_atomic_abort(af);
        return bp_error(BP_ERR_IO, "%s: internal error: wrote %llu bytes, planned %llu", path,
                        (unsigned long long)written, (unsigned long long)total);
    }
    return bp_atomic_commit(af);
}

/* Refuses what cannot be written: a missing argument, a non-finite
 * parameter, a loss or an activation without a file code. */
static bp_status check_writable(const char *path, const bp_net *net, const unsigned char *blob,
                                size_t blob_len)
{
    if (!net || !path)
        return bp_error(BP_ERR_ARG, "bp_net_save: NULL argument");
    if (!blob && blob_len)
        return bp_error(BP_ERR_ARG, "bp_model_write: trainer state is NULL but has a length");
    bp_status st = check_params_finite(net, path, BP_ERR_NUMERIC);
    if (st != BP_OK)
        return st;
    if (loss_to_code(bp_net_loss(net)) == UINT32_MAX)
        return bp_error(BP_ERR_ARG, "%s: net has an unknown loss %d", path, (int)bp_net_loss(net));
    for (int l = 0; l < bp_net_layers(net); l++)
        if (act_to_code(bp_net_layer(net, l).act) == UINT32_MAX)
            return bp_error(BP_ERR_ARG, "%s: layer %d has an unknown activation %d", path, l + 1,
                            (int)bp_net_layer(net, l).act);
    return BP_OK;
}

/* Payload lengths of the sections and the file's, known before a byte is
 * written (the header carries the total). */
typedef struct {
    uint64_t arch, parm, scal, meta, schm, total;
} model_lengths;

static model_lengths plan_lengths(const bp_net *net, const unsigned char *blob, size_t blob_len)
{
    model_lengths n;
    const float *shift, *scale;
    int scaled = bp_net_scaling(net, &shift, &scale);
    n.arch = 12 + 16 * (uint64_t)bp_net_layers(net);
    n.parm = 8 + 4 * (uint64_t)bp_net_param_count(net);
    n.scal = 8 + (scaled ? 8 * (uint64_t)bp_net_inputs(net) : 0);
    n.meta = 4;
    for (int i = 0; i < bp_net_meta_count(net); i++) {
        const char *key, *value;
        bp_net_meta_at(net, i, &key, &value);
        n.meta += 8 + strlen(key) + strlen(value);
    }
    n.schm = schema_length(net);
    n.total = HEADER_BYTES + 5 * SECTION_HEAD + n.arch + n.parm + n.scal + n.meta + n.schm +
              (blob ? SECTION_HEAD + (uint64_t)blob_len : 0) + CRC_BYTES;
    return n;
}

/* ARCH: inputs, layers, loss code, then units, activation code, bias flag and
 * slope of each layer. */
static void write_arch(writer *w, const bp_net *net, uint64_t len)
{
    w_section(w, "ARCH", SEC_REQUIRED, len);
    w_u32(w, (uint32_t)bp_net_inputs(net));
    w_u32(w, (uint32_t)bp_net_layers(net));
    w_u32(w, loss_to_code(bp_net_loss(net)));
    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp_layer_spec L = bp_net_layer(net, l);
        w_u32(w, (uint32_t)L.units);
        w_u32(w, act_to_code(L.act));
        w_u32(w, L.bias ? 1u : 0u);
        w_f32(w, L.slope);
    }
}

/* PARM: the parameter count, then every parameter in the net's order. */
static void write_params(writer *w, const bp_net *net, uint64_t len)
{
    const size_t n_params = bp_net_param_count(net);
    w_section(w, "PARM", SEC_REQUIRED, len);
    w_u64(w, (uint64_t)n_params);
    w_f32s(w, bp_net_params_const(net), n_params);
}

/* SCAL: whether inputs are scaled; if so, the shift and scale per input. */
static void write_scaling(writer *w, const bp_net *net, uint64_t len)
{
    const float *shift, *scale;
    int scaled = bp_net_scaling(net, &shift, &scale);
    const int n_inputs = bp_net_inputs(net);
    w_section(w, "SCAL", SEC_REQUIRED, len);
    w_u32(w, scaled ? 1u : 0u);
    w_u32(w, scaled ? (uint32_t)n_inputs : 0u);
    if (scaled) {
        w_f32s(w, shift, (size_t)n_inputs);
        w_f32s(w, scale, (size_t)n_inputs);
    }
}

/* META: the count, then each key and value as length and bytes. */
static void write_meta(writer *w, const bp_net *net, uint64_t len)
{
    const int n_meta = bp_net_meta_count(net);
    w_section(w, "META", 0, len);
    w_u32(w, (uint32_t)n_meta);
    for (int i = 0; i < n_meta; i++) {
        const char *key, *value;
        bp_net_meta_at(net, i, &key, &value);
        size_t kl = strlen(key), vl = strlen(value);
        w_u32(w, (uint32_t)kl);
        w_bytes(w, key, kl);
        w_u32(w, (uint32_t)vl);
        w_bytes(w, value, vl);
    }
}

/* Starts path's replacement file and a writer on it (its CRC begun). */
static bp_status open_model_file(bp_atomic_file *af, const char *path, writer **out)
{
    bp_status st = bp_atomic_begin(af, path);
    if (st != BP_OK)
        return st;
    writer *w = malloc(sizeof *w);
    if (!w) {
        bp_atomic_abort(af);
        return bp_error(BP_ERR_NOMEM, "%s: out of memory", path);
    }
    w->fp = af->fp;
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    w->written = 0;
    w->n = 0;
    w->failed = 0;
    w->err = 0;
    *out = w;
    return BP_OK;
}

bp_status bp_model_write(const char *path, const bp_net *net, const unsigned char *blob,
                         size_t blob_len)
{
    bp_status st = check_writable(path, net, blob, blob_len);
    if (st != BP_OK)
        return st;
    const model_lengths len = plan_lengths(net, blob, blob_len);
    bp_atomic_file af;
    writer *w = NULL;
    st = open_model_file(&af, path, &w);
    if (st != BP_OK)
        return st;

    w_bytes(w, model_magic, sizeof model_magic);
    w_u32(w, MODEL_VERSION);
    w_u64(w, len.total);
    write_arch(w, net, len.arch);
    write_params(w, net, len.parm);
    write_scaling(w, net, len.scal);
    write_meta(w, net, len.meta);
    write_schema(w, net, len.schm);
    if (blob) {
        w_section(w, "TRST", 0, (uint64_t)blob_len);
        w_bytes(w, blob, blob_len);
    }
    return finish_model_file(w, &af, path, len.total);
}

bp_status bp_net_save(const bp_net *net, const char *path)
{
    if (!net || !path)
        return bp_error(BP_ERR_ARG, "bp_net_save: NULL argument");
    return bp_model_write(path, net, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */


static float get_f32(const unsigned char *p) { return bp_f32_from_bits(bp_le_get_u32(p)); }

/* A bounded cursor over one section's payload. */
typedef struct {
    const char *path;
    const char *tag;
    const unsigned char *p;
    uint64_t left;
} cursor;

static bp_status need(const cursor *c, uint64_t n, const char *what)
{
    if (c->left < n)
        return bp_error(BP_ERR_FORMAT,
                        "%s: section %s is too short for %s (%llu bytes left, %llu needed)",
                        c->path, c->tag, what, (unsigned long long)c->left,
                        (unsigned long long)n);
    return BP_OK;
}

static uint32_t take_u32(cursor *c)
{
    uint32_t v = bp_le_get_u32(c->p);
    c->p += 4;
    c->left -= 4;
    return v;
}

static bp_status expect_end(const cursor *c)
{
    if (c->left != 0)
        return bp_error(BP_ERR_FORMAT, "%s: section %s has %llu unexpected bytes at its end",
                        c->path, c->tag, (unsigned long long)c->left);
    return BP_OK;
}

typedef struct {
    const unsigned char *p;
    uint64_t len;
    int present;
} section;

enum { S_ARCH, S_PARM, S_SCAL, S_META, S_TRST, S_SCHM, S_COUNT };
static const char *const known_tags[S_COUNT] = {"ARCH", "PARM", "SCAL", "META", "TRST", "SCHM"};

/* A tag for messages: printable ASCII as is, anything else as \xNN. */
static void tag_text(const unsigned char *t, char out[20])
{
    char *o = out;
    for (int i = 0; i < 4; i++) {
        if (t[i] >= 0x20 && t[i] < 0x7f && t[i] != '"' && t[i] != '\\')
            *o++ = (char)t[i];
        else
            o += sprintf(o, "\\x%02x", t[i]);
    }
    *o = '\0';
}

/* Re-raises the message of a failed library call (which lacks the path) as a
 * format error about section `tag` of this file (out-of-memory stays so). */
static bp_status reraise(bp_status st, const char *path, const char *tag)
{
    if (st == BP_ERR_NOMEM)
        return bp_error_prefix(st, "%s: ", path);
    return bp_error_prefix(BP_ERR_FORMAT, "%s: section %s: ", path, tag);
}

/* Prefixes the last message with the path, keeping the status. */
static bp_status with_path(bp_status st, const char *path)
{
    return bp_error_prefix(st, "%s: ", path);
}

static bp_status read_f32s(cursor *c, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = get_f32(c->p + 4 * i);
    c->p += 4 * (uint64_t)n;
    c->left -= 4 * (uint64_t)n;
    return BP_OK;
}

/* A list of names: u32 count (0 or `want`), then u32 length + bytes each. */
static bp_status read_names(cursor *c, uint32_t max, const char *what, char ***out, uint32_t *n)
{
    *out = NULL;
    *n = 0;
    bp_status st = need(c, 4, what);
    if (st != BP_OK)
        return st;
    uint32_t count = take_u32(c);
    if (count > max)
        return bp_error(BP_ERR_FORMAT, "%s: section SCHM: %lu %s, at most %lu allowed", c->path,
                        (unsigned long)count, what, (unsigned long)max);
    if (count == 0)
        return BP_OK;
    /* Each name takes at least its 4-byte length: bound the count first. */
    if ((st = need(c, 4 * (uint64_t)count, what)) != BP_OK)
        return st;
    char **names = calloc(count, sizeof *names);
    if (!names)
        return bp_error(BP_ERR_NOMEM, "%s: out of memory for %s", c->path, what);
    for (uint32_t i = 0; i < count; i++) {
        if ((st = need(c, 4, what)) != BP_OK)
            break;
        uint32_t len = take_u32(c);
        if (len > BP_NAME_MAX) {
            st = bp_error(BP_ERR_FORMAT, "%s: section SCHM: %s %lu is %lu bytes long, at most %d "
                          "allowed", c->path, what, (unsigned long)i + 1, (unsigned long)len,
                          BP_NAME_MAX);
            break;
        }
        if ((st = need(c, len, what)) != BP_OK)
            break;
        if (memchr(c->p, '\0', len)) {
            st = bp_error(BP_ERR_FORMAT, "%s: section SCHM: %s %lu contains a NUL byte", c->path,
                          what, (unsigned long)i + 1);
            break;
        }
        names[i] = malloc((size_t)len + 1);
        if (!names[i]) {
            st = bp_error(BP_ERR_NOMEM, "%s: out of memory for %s", c->path, what);
            break;
        }
        memcpy(names[i], c->p, len);
        names[i][len] = '\0';
        c->p += len;
        c->left -= len;
    }
    if (st != BP_OK) {
        for (uint32_t i = 0; i < count; i++)
            free(names[i]);
        free(names);
        return st;
    }
    *out = names;
    *n = count;
    return BP_OK;
}

static void free_names(char **names, uint32_t n)
{
    for (uint32_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static bp_status read_schema(bp_net *net, const char *path, const section *sec)
{
    cursor c = {path, "SCHM", sec->p, sec->len};
    bp_status st = need(&c, 4, "the task");
    if (st != BP_OK)
        return st;
    uint32_t task = take_u32(&c);
    if (task > BP_TASK_CLASSIFICATION)
        return bp_error(BP_ERR_FORMAT, "%s: section SCHM: unknown task code %lu", path,
                        (unsigned long)task);
    char **in = NULL, **tg = NULL, **cl = NULL;
    uint32_t n_in = 0, n_tg = 0, n_cl = 0, classes = 0;
    int outputs = bp_net_outputs(net);
    st = read_names(&c, (uint32_t)bp_net_inputs(net), "input names", &in, &n_in);
    if (st == BP_OK && n_in != 0 && n_in != (uint32_t)bp_net_inputs(net))
        st = bp_error(BP_ERR_FORMAT, "%s: section SCHM: %lu input names for %d inputs", path,
                      (unsigned long)n_in, bp_net_inputs(net));
    if (st == BP_OK)
        st = read_names(&c, BP_MAX_UNITS, "target names", &tg, &n_tg);
    if (st == BP_OK && (st = need(&c, 4, "the class count")) == BP_OK)
        classes = take_u32(&c);
    if (st == BP_OK)
        st = read_names(&c, classes, "class names", &cl, &n_cl);
    if (st == BP_OK && n_cl != 0 && n_cl != classes)
        st = bp_error(BP_ERR_FORMAT, "%s: section SCHM: %lu class names for %lu classes", path,
                      (unsigned long)n_cl, (unsigned long)classes);
    if (st == BP_OK)
        st = expect_end(&c);
    if (st == BP_OK && classes > 0 && (task != BP_TASK_CLASSIFICATION ||
                                       (classes != (uint32_t)outputs &&
                                        !(classes == 2 && outputs == 1))))
        st = bp_error(BP_ERR_FORMAT, "%s: section SCHM: %lu classes do not fit a %s net with %d "
                      "outputs", path, (unsigned long)classes,
                      task == BP_TASK_CLASSIFICATION ? "classification" : "non-classification",
                      outputs);
    if (st == BP_OK)
        st = bp_net_set_input_names(net, (const char *const *)in);
    if (st == BP_OK)
        st = bp_net_set_target_names(net, (int)n_tg, (const char *const *)tg);
    if (st == BP_OK)
        st = bp_net_set_classes(net, (int)classes, (const char *const *)cl);
    if (st == BP_OK)
        st = bp_net_set_task(net, (bp_task)task);
    free_names(in, n_in);
    free_names(tg, n_tg);
    free_names(cl, n_cl);
    return st == BP_OK || st == BP_ERR_FORMAT || st == BP_ERR_NOMEM ? st
                                                                    : reraise(st, path, "SCHM");
}

/* A version 1 file has no SCHM: a softmax or bce output makes a classifier
 * whose class k is output k, named by the old meta "classes" list when the
 * file has one. */
static bp_status legacy_schema(bp_net *net, uint32_t version)
{
    if (version >= 2)
        return BP_OK;
    int outputs = bp_net_outputs(net);
    int classes = bp_net_layer(net, bp_net_layers(net) - 1).act == BP_ACT_SOFTMAX ? outputs
                  : bp_net_loss(net) == BP_LOSS_BCE && outputs == 1 ? 2 : 0;
    if (classes == 0)
        return BP_OK;
    const char *list = bp_net_get_meta(net, "classes");
    const char *names[BP_META_VALUE_MAX];
    char buf[BP_META_VALUE_MAX];
    int n = 0;
    if (list) {
        snprintf(buf, sizeof buf, "%s", list);
        for (char *p = buf; n < BP_META_VALUE_MAX;) {
            names[n++] = p;
            char *comma = strchr(p, ',');
            if (!comma)
                break;
            *comma = '\0';
            p = comma + 1;
        }
    }
    return bp_net_set_classes(net, classes, n == classes ? names : NULL);
}

/* Header: magic, version, length, then the checksum — before anything else
 * is believed.  Gives the version and the length of the body (without the
 * checksum). */
static bp_status check_header(const unsigned char *data, size_t size, const char *path,
                              uint32_t *version_out, size_t *body_out)
{
    size_t m = size < sizeof model_magic ? size : sizeof model_magic;
    if (memcmp(data, model_magic, m) != 0)
        return bp_error(BP_ERR_FORMAT, "%s: not a backprop model file (bad magic)", path);
    if (size < HEADER_BYTES)
        return bp_error(BP_ERR_FORMAT,
                        "%s: truncated: the file has %zu bytes, less than a model header; "
                        "expected %zu more bytes",
                        path, size, (size_t)HEADER_BYTES - size);
    uint32_t version = bp_le_get_u32(data + 8);
    if (version > MODEL_VERSION)
        return bp_error(BP_ERR_FORMAT, "%s: model format version %lu is newer than this build "
                                       "reads (%u)",
                        path, (unsigned long)version, MODEL_VERSION);
    if (version == 0)
        return bp_error(BP_ERR_FORMAT, "%s: model format version 0 is not valid", path);
    uint64_t total = bp_le_get_u64(data + 12);
    if (total < HEADER_BYTES + CRC_BYTES)
        return bp_error(BP_ERR_FORMAT, "%s: header gives an impossible file length of %llu bytes",
                        path, (unsigned long long)total);
    if ((uint64_t)size < total)
        return bp_error(BP_ERR_FORMAT,
                        "%s: truncated: the file has %zu bytes, its header says %llu; expected "
                        "%llu more bytes",
                        path, size, (unsigned long long)total,
                        (unsigned long long)(total - (uint64_t)size));
    if ((uint64_t)size > total)
        return bp_error(BP_ERR_FORMAT,
                        "%s: %llu unexpected bytes after the end of the model (header says %llu "
                        "bytes)",
                        path, (unsigned long long)((uint64_t)size - total),
                        (unsigned long long)total);
    size_t body = size - CRC_BYTES;
    uint32_t crc = crc_update((uint32_t)crc32(0L, Z_NULL, 0), data, body);
    if (crc != bp_le_get_u32(data + body))
        return bp_error(BP_ERR_FORMAT, "%s: checksum mismatch: file is corrupt", path);
    *version_out = version;
    *body_out = body;
    return BP_OK;
}

/* The section table: where each known section is; unknown optional ones are
 * skipped, unknown required ones refused. */
static bp_status read_sections(const unsigned char *data, size_t body, const char *path,
                               section sec[S_COUNT])
{
    memset(sec, 0, S_COUNT * sizeof *sec);
    size_t off = HEADER_BYTES;
    while (off < body) {
        if (body - off < SECTION_HEAD)
            return bp_error(BP_ERR_FORMAT, "%s: truncated section header at byte %zu", path, off);
        const unsigned char *h = data + off;
        uint32_t flags = bp_le_get_u32(h + 4);
        uint64_t len = bp_le_get_u64(h + 8);
        char tag[20];
        tag_text(h, tag);
        if (len > (uint64_t)(body - off - SECTION_HEAD))
            return bp_error(BP_ERR_FORMAT,
                            "%s: section \"%s\" at byte %zu claims %llu bytes, only %zu remain",
                            path, tag, off, (unsigned long long)len,
                            body - off - SECTION_HEAD);
        int k = 0;
        while (k < S_COUNT && memcmp(h, known_tags[k], 4) != 0)
            k++;
        if (k == S_COUNT) {
            if (flags & SEC_REQUIRED)
                return bp_error(BP_ERR_FORMAT,
                                "%s: section \"%s\" at byte %zu is required but unknown to this "
                                "build (written by a newer version?)",
                                path, tag, off);
        } else {
            if (sec[k].present)
                return bp_error(BP_ERR_FORMAT, "%s: section %s appears twice", path, tag);
            sec[k].p = h + SECTION_HEAD;
            sec[k].len = len;
            sec[k].present = 1;
        }
        off += SECTION_HEAD + (size_t)len;
    }
    for (int k = 0; k < S_COUNT; k++)
        if ((k == S_ARCH || k == S_PARM) && !sec[k].present)
            return bp_error(BP_ERR_FORMAT, "%s: the required section %s is missing", path,
                            known_tags[k]);
    return BP_OK;
}

/* What ARCH says, every field checked. */
typedef struct {
    uint32_t n_inputs, n_layers, loss_code;
    bp_layer_spec spec[BP_MAX_LAYERS];
    uint64_t n_params;
} arch_info;

/* One row of ARCH's layer table (layer l, fan_in inputs). */
static bp_status read_arch_layer(cursor *c, uint32_t l, uint64_t fan_in, arch_info *a)
{
    const char *path = c->path;
    uint32_t units = take_u32(c), act = take_u32(c), bias = take_u32(c);
    float slope = get_f32(c->p);
    c->p += 4;
    c->left -= 4;
    if (units < 1 || units > BP_MAX_UNITS)
        return bp_error(BP_ERR_FORMAT, "%s: layer %lu: %lu units is outside 1..%d", path,
                        (unsigned long)l + 1, (unsigned long)units, BP_MAX_UNITS);
    if (act >= N_ACT_CODES)
        return bp_error(BP_ERR_FORMAT, "%s: layer %lu: unknown activation code %lu", path,
                        (unsigned long)l + 1, (unsigned long)act);
    if (bias > 1)
        return bp_error(BP_ERR_FORMAT, "%s: layer %lu: bias flag is %lu, not 0 or 1", path,
                        (unsigned long)l + 1, (unsigned long)bias);
    if (!(slope >= 0.0f && slope < 1.0f))
        return bp_error(BP_ERR_FORMAT, "%s: layer %lu: leaky-ReLU slope %g is outside [0, 1)",
                        path, (unsigned long)l + 1, (double)slope);
    /* Each factor ≤ 2^20 and the sum is checked every layer, so no overflow. */
    a->n_params += (uint64_t)units * fan_in + (bias ? units : 0);
    if (a->n_params > BP_MAX_PARAMS)
        return bp_error(BP_ERR_FORMAT, "%s: the net would have more than %zu parameters",
                        path, BP_MAX_PARAMS);
    bp_layer_spec_default(&a->spec[l]);
    a->spec[l].units = (int)units;
    a->spec[l].act = act_codes[act];
    a->spec[l].bias = (int)bias;
    a->spec[l].slope = slope;
    return BP_OK;
}

static bp_status read_arch(const char *path, const section *s, arch_info *a)
{
    cursor c = {path, "ARCH", s->p, s->len};
    bp_status st = need(&c, 12, "inputs, layers and loss");
    if (st != BP_OK)
        return st;
    a->n_inputs = take_u32(&c);
    a->n_layers = take_u32(&c);
    a->loss_code = take_u32(&c);
    if (a->n_inputs < 1 || a->n_inputs > BP_MAX_UNITS)
        return bp_error(BP_ERR_FORMAT, "%s: %lu inputs is outside 1..%d", path,
                        (unsigned long)a->n_inputs, BP_MAX_UNITS);
    if (a->n_layers < 1 || a->n_layers > BP_MAX_LAYERS)
        return bp_error(BP_ERR_FORMAT, "%s: %lu layers is outside 1..%d", path,
                        (unsigned long)a->n_layers, BP_MAX_LAYERS);
    if (a->loss_code >= N_LOSS_CODES)
        return bp_error(BP_ERR_FORMAT, "%s: unknown loss code %lu", path,
                        (unsigned long)a->loss_code);
    st = need(&c, 16 * (uint64_t)a->n_layers, "the layer table");
    if (st != BP_OK)
        return st;
    a->n_params = 0;
    uint64_t fan_in = a->n_inputs;
    for (uint32_t l = 0; l < a->n_layers; l++) {
        if ((st = read_arch_layer(&c, l, fan_in, a)) != BP_OK)
            return st;
        fan_in = (uint64_t)a->spec[l].units;
    }
    return expect_end(&c);
}

/* PARM: the count must agree with the architecture before allocating.
 * Leaves pc at the parameters. */
static bp_status check_parm(const char *path, const section *s, uint64_t n_params, cursor *pc)
{
    *pc = (cursor){path, "PARM", s->p, s->len};
    bp_status st;
    if ((st = need(pc, 8, "the parameter count")) != BP_OK)
        return st;
    uint64_t count = bp_le_get_u64(pc->p);
    pc->p += 8;
    pc->left -= 8;
    if (count != n_params)
        return bp_error(BP_ERR_FORMAT,
                        "%s: the file holds %llu parameters but its architecture has %llu", path,
                        (unsigned long long)count, (unsigned long long)n_params);
    if ((st = need(pc, 4 * count, "the parameters")) != BP_OK)
        return st;
    if (pc->left != 4 * count)
        return expect_end(&(cursor){path, "PARM", pc->p, pc->left - 4 * count});
    return BP_OK;
}

/* SCAL, when present: sets *scaled and leaves sc at the shift and scale arrays. */
static bp_status check_scal(const char *path, const section *s, uint32_t n_inputs, cursor *sc,
                            uint32_t *scaled)
{
    *sc = (cursor){path, "SCAL", s->p, s->len};
    *scaled = 0;
    if (!s->present)
        return BP_OK;
    bp_status st;
    if ((st = need(sc, 8, "the scaling flag and count")) != BP_OK)
        return st;
    *scaled = take_u32(sc);
    uint32_t n = take_u32(sc);
    if (*scaled > 1)
        return bp_error(BP_ERR_FORMAT, "%s: scaling flag is %lu, not 0 or 1", path,
                        (unsigned long)*scaled);
    if (n != (*scaled ? n_inputs : 0))
        return bp_error(BP_ERR_FORMAT, "%s: scaling covers %lu inputs, the net has %lu", path,
                        (unsigned long)n, (unsigned long)n_inputs);
    if ((st = need(sc, 8 * (uint64_t)n, "the scaling arrays")) != BP_OK)
        return st;
    if (sc->left != 8 * (uint64_t)n)
        return expect_end(&(cursor){path, "SCAL", sc->p, sc->left - 8 * (uint64_t)n});
    return BP_OK;
}

/* The shift and scale arrays (checked by check_scal) into the net. */
static bp_status read_scaling(bp_net *net, const char *path, cursor *sc, uint32_t n_inputs)
{
    float *v = malloc(2 * (size_t)n_inputs * sizeof(float));
    if (!v)
        return bp_error(BP_ERR_NOMEM, "%s: out of memory for input scaling", path);
    read_f32s(sc, v, 2 * (size_t)n_inputs);
    bp_status st = bp_net_set_scaling(net, v, v + n_inputs);
    free(v);
    if (st != BP_OK)
        return with_path(st, path);
    return BP_OK;
}

/* One META string (j 0: the key, 1: the value of entry i) into out. */
static bp_status read_meta_string(cursor *mc, uint32_t i, int j, char out[BP_META_VALUE_MAX])
{
    const char *path = mc->path;
    const uint32_t cap[2] = {BP_META_KEY_MAX - 1, BP_META_VALUE_MAX - 1};
    bp_status st;
    if ((st = need(mc, 4, j ? "a metadata value length" : "a metadata key length")) != BP_OK)
        return st;
    uint32_t len = take_u32(mc);
    if (len > cap[j] || (j == 0 && len == 0))
        return bp_error(BP_ERR_FORMAT, "%s: metadata entry %lu: %s length %lu is "
                                       "outside %d..%lu",
                        path, (unsigned long)i + 1, j ? "value" : "key", (unsigned long)len,
                        j ? 0 : 1, (unsigned long)cap[j]);
    if ((st = need(mc, len, j ? "a metadata value" : "a metadata key")) != BP_OK)
        return st;
    if (memchr(mc->p, '\0', len))
        return bp_error(BP_ERR_FORMAT, "%s: metadata entry %lu: %s contains a NUL byte", path,
                        (unsigned long)i + 1, j ? "value" : "key");
    memcpy(out, mc->p, len);
    out[len] = '\0';
    mc->p += len;
    mc->left -= len;
    return BP_OK;
}

/* META: key/value pairs, each key once. */
static bp_status read_meta(bp_net *net, const char *path, const section *s)
{
    cursor mc = {path, "META", s->p, s->len};
    bp_status st;
    if ((st = need(&mc, 4, "the entry count")) != BP_OK)
        return st;
    uint32_t n = take_u32(&mc);
    if (n > BP_META_MAX)
        return bp_error(BP_ERR_FORMAT, "%s: %lu metadata entries, at most %d allowed", path,
                        (unsigned long)n, BP_META_MAX);
    for (uint32_t i = 0; i < n; i++) {
        char kv[2][BP_META_VALUE_MAX];
        for (int j = 0; j < 2; j++)
            if ((st = read_meta_string(&mc, i, j, kv[j])) != BP_OK)
                return st;
        if (bp_net_get_meta(net, kv[0]))
            return bp_error(BP_ERR_FORMAT, "%s: metadata key \"%s\" appears twice", path, kv[0]);
        st = bp_net_set_meta(net, kv[0], kv[1]);
        if (st != BP_OK)
            return reraise(st, path, "META");
    }
    return expect_end(&mc);
}

/* TRST: handed over as bytes (none when the section is absent). */
static bp_status take_trainer_state(const char *path, const section *s, unsigned char **blob,
                                    size_t *blob_len)
{
    *blob = NULL;
    *blob_len = 0;
    if (!s->present)
        return BP_OK;
    if (s->len > SIZE_MAX)
        return bp_error(BP_ERR_NOMEM, "%s: trainer state too large", path);
    size_t n = (size_t)s->len;
    unsigned char *b = malloc(n ? n : 1);
    if (!b)
        return bp_error(BP_ERR_NOMEM, "%s: out of memory for %zu bytes of trainer state", path,
                        n);
    memcpy(b, s->p, n);
    *blob = b;
    *blob_len = n;
    return BP_OK;
}

static bp_status parse_model(const unsigned char *data, size_t size, const char *path,
                             bp_net **out, unsigned char **blob, size_t *blob_len)
{
    uint32_t version = 0, scaled = 0;
    size_t body = 0;
    section sec[S_COUNT];
    arch_info arch;
    cursor pc, sc;
    bp_status st;
    if ((st = check_header(data, size, path, &version, &body)) != BP_OK ||
        (st = read_sections(data, body, path, sec)) != BP_OK ||
        (st = read_arch(path, &sec[S_ARCH], &arch)) != BP_OK ||
        (st = check_parm(path, &sec[S_PARM], arch.n_params, &pc)) != BP_OK ||
        (st = check_scal(path, &sec[S_SCAL], arch.n_inputs, &sc, &scaled)) != BP_OK)
        return st;

    /* Everything is bounded now: build the net. */
    bp_net *net = NULL;
    st = bp_net_create(&net, (int)arch.n_inputs, (int)arch.n_layers, arch.spec,
                       loss_codes[arch.loss_code]);
    if (st != BP_OK)
        return reraise(st, path, "ARCH");
    read_f32s(&pc, bp_net_params(net), (size_t)arch.n_params);
    st = check_params_finite(net, path, BP_ERR_NUMERIC);
    if (st == BP_OK && scaled)
        st = read_scaling(net, path, &sc, arch.n_inputs);
    if (st == BP_OK && sec[S_META].present)
        st = read_meta(net, path, &sec[S_META]);
    /* SCHM (version 2), or what a version 1 file implies. */
    if (st == BP_OK)
        st = sec[S_SCHM].present ? read_schema(net, path, &sec[S_SCHM])
                                 : legacy_schema(net, version);
    if (st == BP_OK && blob)
        st = take_trainer_state(path, &sec[S_TRST], blob, blob_len);
    if (st != BP_OK) {
        bp_net_free(net);
        return st;
    }
    *out = net;
    return BP_OK;
}

static size_t max_file_bytes(void)
{
    return MODEL_MAX_FILE < (uint64_t)SIZE_MAX / 2 ? (size_t)MODEL_MAX_FILE : SIZE_MAX / 2;
}

/* Short reads that leave a stream at end of file or in error. */
static bp_status read_error(FILE *fp, const char *path)
{
    int e = errno;
    fclose(fp);
    return bp_error(BP_ERR_IO, "%s: read error: %s", path, strerror(e));
}

/* Reads a model file as its header declares it.  The size from fstat and the
 * header's file length are checked against each other and against the limit
 * before the body is allocated, so a huge file, or one whose header promises
 * less than it holds, costs no memory.  Files too short for the checks
 * (or with a bad magic) come back as they are for parse_model to describe. */
static bp_status read_model_file(const char *path, unsigned char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return bp_error(BP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    int regular = fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode);
    uint64_t limit = max_file_bytes();
    if (regular && (uint64_t)sb.st_size > limit) {
        fclose(fp);
        return bp_error(BP_ERR_FORMAT, "%s: the file has %llu bytes, more than the %llu-byte "
                                       "limit of a model file; not read",
                        path, (unsigned long long)sb.st_size, (unsigned long long)limit);
    }
    unsigned char head[HEADER_BYTES];
    size_t got = fread(head, 1, sizeof head, fp);
    if (got < sizeof head && ferror(fp))
        return read_error(fp, path);
    uint64_t total = got == sizeof head ? bp_le_get_u64(head + 12) : 0;
    uint32_t version = got == sizeof head ? bp_le_get_u32(head + 8) : 0;
    if (got < sizeof head || memcmp(head, model_magic, sizeof model_magic) != 0 ||
        version == 0 || version > MODEL_VERSION || total < HEADER_BYTES + CRC_BYTES) {
        fclose(fp); /* too short or not a model: parse_model says which */
        *data = malloc(sizeof head);
        if (!*data)
            return bp_error(BP_ERR_NOMEM, "%s: out of memory", path);
        memcpy(*data, head, got);
        *size = got;
        return BP_OK;
    }
    if (total > limit) {
        fclose(fp);
        return bp_error(BP_ERR_FORMAT, "%s: the header gives a file length of %llu bytes, more "
                                       "than the %llu-byte limit of a model file",
                        path, (unsigned long long)total, (unsigned long long)limit);
    }
    if (regular && (uint64_t)sb.st_size != total) {
        uint64_t have = (uint64_t)sb.st_size;
        fclose(fp);
        if (have < total)
            return bp_error(BP_ERR_FORMAT, "%s: truncated: the file has %llu bytes, its header "
                                           "says %llu; expected %llu more bytes",
                            path, (unsigned long long)have, (unsigned long long)total,
                            (unsigned long long)(total - have));
        return bp_error(BP_ERR_FORMAT, "%s: %llu unexpected bytes after the end of the model "
                                       "(header says %llu bytes)",
                        path, (unsigned long long)(have - total), (unsigned long long)total);
    }
    unsigned char *buf = malloc((size_t)total);
    if (!buf) {
        fclose(fp);
        return bp_error(BP_ERR_NOMEM, "%s: out of memory for a %llu-byte model", path,
                        (unsigned long long)total);
    }
    memcpy(buf, head, sizeof head);
    size_t want = (size_t)total - sizeof head, n = fread(buf + sizeof head, 1, want, fp);
    if (n < want && ferror(fp)) {
        free(buf);
        return read_error(fp, path);
    }
    /* A pipe (or a file that changed under us) may still be short or long. */
    int extra = n == want && fgetc(fp) != EOF;
    fclose(fp);
    if (n < want || extra) {
        free(buf);
        if (extra)
            return bp_error(BP_ERR_FORMAT, "%s: unexpected bytes after the end of the model "
                                           "(header says %llu bytes)",
                            path, (unsigned long long)total);
        return bp_error(BP_ERR_FORMAT, "%s: truncated: the file has %llu bytes, its header "
                                       "says %llu; expected %llu more bytes",
                        path, (unsigned long long)(sizeof head + n), (unsigned long long)total,
                        (unsigned long long)(want - n));
    }
    *data = buf;
    *size = (size_t)total;
    return BP_OK;
}

bp_status bp_model_read(const char *path, bp_net **net, unsigned char **blob, size_t *blob_len)
{
    if (net)
        *net = NULL;
    if (!net || !path || (blob && !blob_len))
        return bp_error(BP_ERR_ARG, "bp_net_load: NULL argument");
    if (blob) {
        *blob = NULL;
        *blob_len = 0;
    }
    unsigned char *data;
    size_t size;
    bp_status st = read_model_file(path, &data, &size);
    if (st != BP_OK)
        return st;
    st = parse_model(data, size, path, net, blob, blob_len);
    free(data);
    return st;
}

bp_status bp_net_load(bp_net **out, const char *path)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return bp_error(BP_ERR_ARG, "bp_net_load: NULL argument");
    return bp_model_read(path, out, NULL, NULL);
}

bp_status bp_net_load_any(bp_net **out, const char *path)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return bp_error(BP_ERR_ARG, "bp_net_load_any: NULL argument");
    unsigned char head[sizeof model_magic];
    size_t got = 0;
    FILE *fp = fopen(path, "rb");
    if (fp) {
        got = fread(head, 1, sizeof head, fp);
        fclose(fp);
    }
    /* A damaged magic still reads as a model when enough of it is left (the
     * high first byte or "BPM"), so the message says "bad magic" rather than
     * blaming the text parser. */
    if (got == sizeof head && (memcmp(head, model_magic, sizeof head) == 0 ||
                               head[0] == model_magic[0] || memcmp(head + 1, "BPM", 3) == 0))
        return bp_model_read(path, out, NULL, NULL);
    /* Too short to tell by content (0–7 bytes): a model when the bytes there
     * start like one or the name says .bpm / .bpc, so the message is about a
     * truncated model file, not a bad .net header. */
    if (fp && got < sizeof head) {
        size_t n = strlen(path);
        int named = n >= 4 && (strcmp(path + n - 4, ".bpm") == 0 || strcmp(path + n - 4, ".bpc") == 0);
        if (named || (got > 0 && memcmp(head, model_magic, got) == 0))
            return bp_model_read(path, out, NULL, NULL);
    }
    /* An ONNX ModelProto starts with its ir_version field (tag 0x08); a text
     * .net file never starts with a backspace. */
    if (got >= 1 && head[0] == 0x08)
        return bp_net_load_onnx(out, path);
    /* Not a binary model (or unreadable: the text reader says why). */
    return bp_net_read_text(out, NULL, path);
}

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */
/* ------------------------------------------------------------------ */

bp_status bp_checkpoint_save(const bp_trainer *tr, const char *path)
{
    if (!tr || !path)
        return bp_error(BP_ERR_ARG, "bp_checkpoint_save: NULL argument");
    unsigned char *blob = NULL;
    size_t len = 0;
    bp_status st = bp_trainer_state_export(tr, &blob, &len);
    if (st != BP_OK)
        return with_path(st, path);
    if (!blob) {
        /* The section's presence marks a checkpoint, so even an empty state is stored. */
        static const unsigned char none[1];
        st = bp_model_write(path, bp_trainer_net(tr), none, 0);
    } else {
        st = bp_model_write(path, bp_trainer_net(tr), blob, len);
    }
    free(blob);
    return st;
}

bp_status bp_checkpoint_load(const char *path, bp_net **net, bp_trainer **tr)
{
    if (net)
        *net = NULL;
    if (tr)
        *tr = NULL;
    if (!path || !net || !tr)
        return bp_error(BP_ERR_ARG, "bp_checkpoint_load: NULL argument");
    bp_net *n = NULL;
    unsigned char *blob = NULL;
    size_t len = 0;
    bp_status st = bp_model_read(path, &n, &blob, &len);
    if (st != BP_OK)
        return st;
    if (!blob) {
        bp_net_free(n);
        return bp_error(BP_ERR_FORMAT,
                        "%s: not a checkpoint: a model file without trainer state (load it "
                        "with bp_net_load)",
                        path);
    }
    st = bp_trainer_state_import(tr, n, blob, len);
    free(blob);
    if (st != BP_OK) {
        *tr = NULL;
        bp_net_free(n);
        return with_path(st, path);
    }
    *net = n;
    return BP_OK;
}
