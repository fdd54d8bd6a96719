/*
 * IDX reader (the format of MNIST and Fashion-MNIST), plain or gzip.
 *
 *   bytes 0-1  zero
 *   byte  2    type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
 *   byte  3    number of dimensions (1 to 8 here)
 *   then one big-endian u32 per dimension, then the elements, big-endian,
 *   the last dimension varying fastest.
 *
 * The first dimension is the row count; the others make one row.  u8 images
 * are scaled by 1/255 into [0, 1]; other types are taken as they are.  A
 * labels file is 1-D u8 with one label per image; classes = max label + 1.
 *
 * Sizes are checked before anything large is allocated: at most 2^31
 * elements, and never more than the file can hold (its length for a plain
 * file; the largest deflate expansion of its length for gzip).  Data is read
 * in chunks into a buffer that grows as bytes actually arrive, so a lying
 * header cannot make us allocate what is not there.
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "backprop.h"

#define IDX_MAX_DIMS 8
#define IDX_MAX_ELEMENTS ((uint64_t)1 << 31)
/* deflate never expands by more than about 1032:1. */
#define GZIP_MAX_RATIO 1040u

typedef struct idx_array {
    int type;
    int ndims;
    uint32_t dims[IDX_MAX_DIMS];
    uint64_t count; /* elements */
    size_t elsize;
    unsigned char *data; /* count·elsize bytes, big-endian */
} idx_array;

static size_t type_size(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

/* A byte source: a plain file, or a gzip file decoded with zlib's inflate.
 * inflate (unlike gzread) tells a stream that ended properly, after its CRC
 * and length were checked, from one cut short, so truncation is always seen. */
typedef struct idx_source {
    FILE *fp;
    int gz;
    int zinit;
    int ended; /* the gzip stream ended properly and nothing follows */
    const char *err;
    z_stream zs;
    unsigned char in[1 << 16];
} idx_source;

static size_t refill(idx_source *s)
{
    size_t r = fread(s->in, 1, sizeof s->in, s->fp);
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)r;
    return r;
}

/* Reads up to n bytes; returns how many (fewer only at a proper end), or -1
 * with s->err set. */
static long long read_bytes(idx_source *s, unsigned char *buf, size_t n)
{
    if (!s->gz) {
        size_t r = fread(buf, 1, n, s->fp);
        if (r < n && ferror(s->fp)) {
            s->err = strerror(errno);
            return -1;
        }
        return (long long)r;
    }
    size_t got = 0;
    while (got < n && !s->ended) {
        size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
        s->zs.next_out = buf + got;
        s->zs.avail_out = (uInt)chunk;
        while (s->zs.avail_out > 0 && !s->ended) {
            if (s->zs.avail_in == 0 && refill(s) == 0) {
                s->err = ferror(s->fp) ? strerror(errno)
                                       : "truncated gzip stream (the file ends before the "
                                         "gzip end marker)";
                return -1;
            }
            int ret = inflate(&s->zs, Z_NO_FLUSH);
            if (ret == Z_STREAM_END) {
                /* Another gzip member may follow (concatenated files). */
                if (s->zs.avail_in == 0 && refill(s) == 0)
                    s->ended = 1;
                else if (s->zs.next_in[0] == 0x1f)
                    inflateReset(&s->zs);
                else {
                    s->err = "garbage after the end of the gzip stream";
                    return -1;
                }
            } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
                s->err = s->zs.msg ? s->zs.msg : "corrupt gzip data";
                return -1;
            }
        }
        got += chunk - s->zs.avail_out;
    }
    return (long long)got;
}

static void source_close(idx_source *s)
{
    if (s->zinit)
        inflateEnd(&s->zs);
    if (s->fp)
        fclose(s->fp);
    free(s);
}

/* Opens path for reading, through zlib when it starts with the gzip magic. */
static bp_status idx_open(const char *path, idx_source **out, uint64_t *file_size, int *gzipped)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return bp_error(BP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return bp_error(BP_ERR_IO, "cannot read %s: not a regular file", path);
    *file_size = (uint64_t)sb.st_size;
    idx_source *gz = calloc(1, sizeof *gz);
    if (!gz)
        return bp_error(BP_ERR_NOMEM, "out of memory opening %s", path);
    gz->fp = fopen(path, "rb");
    if (!gz->fp) {
        int e = errno;
        free(gz);
        return bp_error(BP_ERR_IO, "cannot open %s: %s", path, strerror(e));
    }
    *out = gz;
    int c0 = getc(gz->fp), c1 = getc(gz->fp);
    *gzipped = c0 == 0x1f && c1 == 0x8b;
    rewind(gz->fp);
    if (*gzipped) {
        gz->gz = 1;
        if (inflateInit2(&gz->zs, 16 + MAX_WBITS) != Z_OK)
            return bp_error(BP_ERR_NOMEM, "%s: cannot start zlib", path);
        gz->zinit = 1;
    }
    return BP_OK;
}

/* The magic, type, dimension count and dimensions into a (count checked). */
static bp_status idx_read_header(idx_source *gz, const char *path, int gzipped, idx_array *a,
                                 size_t *hbytes_out)
{
    unsigned char head[4 + 4 * IDX_MAX_DIMS];
    long long got = read_bytes(gz, head, 4);
    if (got < 0)
        return bp_error(BP_ERR_FORMAT, "%s: %s", path, gz->err);
    if (got < 4)
        return bp_error(BP_ERR_FORMAT, "%s: too short to be an IDX file (%lld bytes%s)", path,
                        got, gzipped ? " after gunzip" : "");
    if (head[0] != 0 || head[1] != 0)
        return bp_error(BP_ERR_FORMAT, "%s: not an IDX file: bad magic %02x %02x %02x %02x "
                        "(expected 00 00, a type byte and a dimension count)", path, head[0],
                        head[1], head[2], head[3]);
    a->type = head[2];
    a->ndims = head[3];
    a->elsize = type_size(a->type);
    if (!a->elsize)
        return bp_error(BP_ERR_FORMAT, "%s: unknown IDX data type 0x%02x (expected 08 u8, 09 "
                        "i8, 0B i16, 0C i32, 0D f32 or 0E f64)", path, a->type);
    if (a->ndims < 1 || a->ndims > IDX_MAX_DIMS)
        return bp_error(BP_ERR_FORMAT, "%s: IDX header has %d dimensions (expected 1 to %d)",
                        path, a->ndims, IDX_MAX_DIMS);
    size_t hbytes = 4 * (size_t)a->ndims;
    got = read_bytes(gz, head + 4, hbytes);
    if (got < 0 || (size_t)got < hbytes)
        return bp_error(BP_ERR_FORMAT, "%s: truncated IDX header (%d dimensions announced)%s%s",
                        path, a->ndims, got < 0 ? ": " : "", got < 0 ? gz->err : "");
    uint64_t count = 1;
    for (int d = 0; d < a->ndims; d++) {
        const unsigned char *b = head + 4 + 4 * d;
        a->dims[d] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (a->dims[d] == 0)
            return bp_error(BP_ERR_FORMAT, "%s: IDX dimension %d is 0", path, d + 1);
        count *= a->dims[d]; /* ≤ 2^31 · 2^32 before the check below: no overflow */
        if (count > IDX_MAX_ELEMENTS)
            return bp_error(BP_ERR_FORMAT, "%s: IDX header claims more than 2^31 elements "
                            "(dimension %d is %lu); refusing it", path, d + 1,
                            (unsigned long)a->dims[d]);
    }
    a->count = count;
    *hbytes_out = hbytes;
    return BP_OK;
}

/* The data the header claims must fit the file (exactly, when not gzipped). */
static bp_status idx_check_size(const char *path, const idx_array *a, int gzipped,
                                uint64_t file_size, uint64_t header_bytes)
{
    uint64_t count = a->count, data_bytes = count * a->elsize;
    if (!gzipped) {
        if (file_size < header_bytes + data_bytes)
            return bp_error(BP_ERR_FORMAT, "%s: truncated: the header claims %llu elements "
                            "(%llu bytes of data) but the file holds %llu bytes of data", path,
                            (unsigned long long)count, (unsigned long long)data_bytes,
                            (unsigned long long)(file_size - header_bytes));
        if (file_size > header_bytes + data_bytes)
            return bp_error(BP_ERR_FORMAT, "%s: %llu bytes after the %llu elements the header "
                            "claims", path,
                            (unsigned long long)(file_size - header_bytes - data_bytes),
                            (unsigned long long)count);
    } else if (data_bytes > file_size * GZIP_MAX_RATIO + 4096) {
        return bp_error(BP_ERR_FORMAT, "%s: the header claims %llu bytes of data, more than a "
                        "%llu-byte gzip file can hold (truncated or corrupt)", path,
                        (unsigned long long)data_bytes, (unsigned long long)file_size);
    }
    if (data_bytes > SIZE_MAX)
        return bp_error(BP_ERR_NOMEM, "%s: %llu bytes do not fit in memory", path,
                        (unsigned long long)data_bytes);
    return BP_OK;
}

/* The elements into a->data, the buffer grown as data arrives; a gzip stream
 * is read on to its end, which checks its trailer (CRC and length). */
static bp_status idx_read_data(idx_source *gz, const char *path, int gzipped, idx_array *a)
{
    size_t want = (size_t)(a->count * a->elsize), have = 0;
    size_t cap = want < (1u << 24) ? want : (1u << 24);
    a->data = malloc(cap ? cap : 1);
    if (!a->data)
        return bp_error(BP_ERR_NOMEM, "%s: out of memory", path);
    while (have < want) {
        if (have == cap) {
            size_t nc = cap * 2 < want ? cap * 2 : want;
            unsigned char *nd = realloc(a->data, nc);
            if (!nd)
                return bp_error(BP_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, nc);
            a->data = nd;
            cap = nc;
        }
        long long r = read_bytes(gz, a->data + have, cap - have);
        if (r < 0)
            return bp_error(BP_ERR_FORMAT, "%s: truncated or corrupt: %s (after %zu of %zu "
                            "data bytes)", path, gz->err, have, want);
        if (r == 0)
            return bp_error(BP_ERR_FORMAT, "%s: truncated: the header claims %llu elements (%zu "
                            "bytes of data) but the %s ends after %zu bytes", path,
                            (unsigned long long)a->count, want,
                            gzipped ? "gzip stream" : "file", have);
        have += (size_t)r;
    }
    if (gzipped) {
        unsigned char extra;
        long long r = read_bytes(gz, &extra, 1);
        if (r < 0)
            return bp_error(BP_ERR_FORMAT, "%s: truncated or corrupt at the end: %s", path,
                            gz->err);
        if (r > 0)
            return bp_error(BP_ERR_FORMAT, "%s: extra data after the %llu elements the header "
                            "claims", path, (unsigned long long)a->count);
    }
    return BP_OK;
}

static bp_status read_idx(const char *path, idx_array *a)
{
    memset(a, 0, sizeof *a);
    idx_source *gz = NULL;
    uint64_t file_size = 0;
    int gzipped = 0;
    size_t hbytes = 0;
    bp_status st = idx_open(path, &gz, &file_size, &gzipped);
    if (st != BP_OK && !gz)
        return st;
    if (st == BP_OK)
        st = idx_read_header(gz, path, gzipped, a, &hbytes);
    if (st == BP_OK)
        st = idx_check_size(path, a, gzipped, file_size, 4 + (uint64_t)hbytes);
    if (st == BP_OK)
        st = idx_read_data(gz, path, gzipped, a);
    source_close(gz);
    if (st != BP_OK) {
        free(a->data);
        a->data = NULL;
    }
    return st;
}

static uint64_t be_bits(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Element i of a as a double; *ok = 0 if it is NaN, infinite or outside float range. */
static double element(const idx_array *a, size_t i, int *ok)
{
    const unsigned char *p = a->data + i * a->elsize;
    uint64_t b = be_bits(p, a->elsize);
    *ok = 1;
    switch (a->type) {
    case 0x08: return (double)p[0] / 255.0;
    case 0x09: return (double)(int8_t)p[0];
    case 0x0B: return (double)(int16_t)(uint16_t)b;
    case 0x0C: return (double)(int32_t)(uint32_t)b;
    case 0x0D: {
        uint32_t u = (uint32_t)b;
        float f;
        memcpy(&f, &u, sizeof f);
        *ok = isfinite(f);
        return f;
    }
    default: {
        double d;
        memcpy(&d, &b, sizeof d);
        *ok = isfinite(d) && fabs(d) <= FLT_MAX;
        return d;
    }
    }
}

bp_status bp_dataset_read_idx(bp_dataset **out, const char *images_path, const char *labels_path)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_idx: out is NULL");
    *out = NULL;
    if (!images_path)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_idx: images path is NULL");
    idx_array img, lab;
    memset(&lab, 0, sizeof lab);
    bp_status st = read_idx(images_path, &img);
    if (st != BP_OK)
        return st;
    bp_dataset *ds = NULL;
    size_t rows = img.dims[0];
    uint64_t inputs = img.count / rows;
    int classes = 0;
    if (inputs > (uint64_t)INT_MAX) {
        st = bp_error(BP_ERR_FORMAT, "%s: rows of %llu elements are too long", images_path,
                      (unsigned long long)inputs);
        goto done;
    }
    if (labels_path) {
        st = read_idx(labels_path, &lab);
        if (st != BP_OK)
            goto done;
        if (lab.type != 0x08 || lab.ndims != 1) {
            st = bp_error(BP_ERR_FORMAT, "%s: a labels file must be 1-D unsigned bytes (type "
                          "0x08), found type 0x%02x with %d dimensions", labels_path, lab.type,
                          lab.ndims);
            goto done;
        }
        if (lab.dims[0] != rows) {
            st = bp_error(BP_ERR_SHAPE, "%s has %lu labels but %s has %zu images", labels_path,
                          (unsigned long)lab.dims[0], images_path, rows);
            goto done;
        }
        for (size_t r = 0; r < rows; r++)
            if (lab.data[r] + 1 > classes)
                classes = lab.data[r] + 1;
    }
    st = bp_dataset_create(&ds, rows, (int)inputs, classes);
    if (st != BP_OK)
        goto done;
    float *x = bp_dataset_x(ds);
    for (size_t i = 0; i < (size_t)img.count; i++) {
        int ok;
        double v = element(&img, i, &ok);
        if (!ok) {
            st = bp_error(BP_ERR_FORMAT, "%s: element %zu (row %zu, column %zu) is NaN, "
                          "infinite or outside the float32 range", images_path, i + 1,
                          i / (size_t)inputs + 1, i % (size_t)inputs + 1);
            goto done;
        }
        x[i] = (float)v;
    }
    if (labels_path) {
        int32_t *labels = malloc(rows * sizeof *labels);
        if (!labels) {
            st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", labels_path);
            goto done;
        }
        for (size_t r = 0; r < rows; r++)
            labels[r] = lab.data[r];
        st = bp_dataset_set_labels(ds, labels, classes);
        free(labels);
        if (st != BP_OK)
            goto done;
    }
done:
    free(img.data);
    free(lab.data);
    if (st != BP_OK) {
        bp_dataset_free(ds);
        return st;
    }
    *out = ds;
    return BP_OK;
}
