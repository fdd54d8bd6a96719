/*
 * FANN training-data files (as read and written by the FANN library):
 *
 *   num_data num_input num_output
 *   in_1 … in_num_input          ← row 1 inputs
 *   out_1 … out_num_output       ← row 1 outputs
 *   …
 *
 * Numbers are separated by any white space (FANN itself reads them with
 * fscanf, so line breaks are not significant); errors name file:line:column
 * (column = 1-based character position) and which row and value was
 * expected.  The header is checked against the file's length before the data
 * set is allocated.  Files are written atomically with %.9g, so every float32
 * reads back bit for bit.
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backprop.h"
#include "io/io_internal.h"

#define FANN_MAX_ELEMENTS ((uint64_t)1 << 31)

typedef struct fann_lexer {
    const char *path;
    const char *p, *end;
    size_t line;
    const char *line_start;
    /* the last token */
    const char *tok;
    size_t len, tline, tcol;
} fann_lexer;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Next white-space separated token; 0 at the end of the file. */
static int next_token(fann_lexer *L)
{
    while (L->p < L->end && is_space(*L->p)) {
        if (*L->p == '\n') {
            L->line++;
            L->line_start = L->p + 1;
        }
        L->p++;
    }
    if (L->p >= L->end)
        return 0;
    L->tok = L->p;
    L->tline = L->line;
    L->tcol = (size_t)(L->p - L->line_start) + 1;
    while (L->p < L->end && !is_space(*L->p))
        L->p++;
    L->len = (size_t)(L->p - L->tok);
    return 1;
}

/* The current token for a message, cut to 40 characters. */
static const char *tok_text(const fann_lexer *L, char buf[64])
{
    int n = L->len > 40 ? 37 : (int)L->len;
    snprintf(buf, 64, "\"%.*s%s\"", n, L->tok, L->len > 40 ? "..." : "");
    return buf;
}

static bp_status header_int(fann_lexer *L, const char *what, long min, long max, long *out)
{
    char b[64];
    if (!next_token(L))
        return bp_error(BP_ERR_PARSE, "%s:%zu: the header ends early: expected %s (the header "
                        "is \"num_data num_input num_output\")", L->path, L->tok ? L->tline : L->line,
                        what);
    long v = 0;
    int ok = 1;
    for (size_t i = 0; i < L->len; i++) {
        char c = L->tok[i];
        if (c < '0' || c > '9' || v > (LONG_MAX - 9) / 10) {
            ok = 0;
            break;
        }
        v = v * 10 + (c - '0');
    }
    if (!ok || v < min || v > max)
        return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected %s (an integer from %ld to %ld), "
                        "found %s", L->path, L->tline, L->tcol, what, min, max, tok_text(L, b));
    *out = v;
    return BP_OK;
}

/* The header line "num_data num_input num_output" and the line it is on. */
typedef struct {
    long rows, inputs, outputs;
    size_t line;
} fann_header;

/* Reads the header and checks that the numbers it announces fit the limit
 * and the rest of the file, before anything is allocated for them. */
static bp_status read_header(fann_lexer *L, fann_header *h)
{
    const char *p = L->p;
    while (p < L->end && is_space(*p))
        p++;
    if (p == L->end)
        return bp_error(BP_ERR_PARSE, "%s: empty file: expected the header \"num_data num_input "
                        "num_output\"", L->path);
    bp_status st;
    if ((st = header_int(L, "the number of rows", 1, LONG_MAX, &h->rows)) != BP_OK ||
        (st = header_int(L, "the number of inputs", 1, BP_MAX_UNITS, &h->inputs)) != BP_OK ||
        (st = header_int(L, "the number of outputs", 0, BP_MAX_UNITS, &h->outputs)) != BP_OK)
        return st;
    h->line = L->tline;
    uint64_t per_row = (uint64_t)h->inputs + (uint64_t)h->outputs;
    if ((uint64_t)h->rows > FANN_MAX_ELEMENTS / per_row)
        return bp_error(BP_ERR_PARSE, "%s:%zu: the header announces %ld rows of %llu numbers, "
                        "more than the limit of 2^31 numbers", L->path, h->line, h->rows,
                        (unsigned long long)per_row);
    uint64_t total = (uint64_t)h->rows * per_row;
    /* Each number takes at least one character and one separator. */
    if (total > (uint64_t)(L->end - L->p) / 2 + 1)
        return bp_error(BP_ERR_PARSE, "%s:%zu: the header announces %ld rows of %llu numbers, "
                        "but the rest of the file (%zu bytes) cannot hold %llu numbers "
                        "(truncated?)", L->path, h->line, h->rows, (unsigned long long)per_row,
                        (size_t)(L->end - L->p), (unsigned long long)total);
    return BP_OK;
}

/* Reads number k of row r (inputs first, then outputs) as a finite float. */
static bp_status read_value(fann_lexer *L, const fann_header *h, size_t r, long k, float *out)
{
    int is_in = k < h->inputs;
    long idx = is_in ? k : k - h->inputs;
    long of = is_in ? h->inputs : h->outputs;
    if (!next_token(L))
        return bp_error(BP_ERR_PARSE, "%s:%zu: the file ends in row %zu of %ld: expected %s %ld "
                        "of %ld (each row has %ld input%s and %ld output%s)", L->path, L->tline,
                        r + 1, h->rows, is_in ? "input" : "output", idx + 1, of, h->inputs,
                        h->inputs == 1 ? "" : "s", h->outputs, h->outputs == 1 ? "" : "s");
    char *e;
    char b[64];
    double v = strtod(L->tok, &e);
    if (e != L->tok + L->len || !isfinite(v) || fabs(v) > FLT_MAX) {
        const char *why = e != L->tok + L->len ? "" : isnan(v) ? " (NaN is not allowed)"
                          : " (infinite or outside the float32 range)";
        return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected a number (row %zu, %s %ld of %ld), "
                        "found %s%s", L->path, L->tline, L->tcol, r + 1,
                        is_in ? "input" : "output", idx + 1, of, tok_text(L, b), why);
    }
    *out = (float)v;
    return BP_OK;
}

/* Reads the rows the header announced into ds; nothing may follow them. */
static bp_status read_rows(fann_lexer *L, const fann_header *h, bp_dataset *ds)
{
    float *x = bp_dataset_x(ds), *y = bp_dataset_y(ds);
    for (size_t r = 0; r < (size_t)h->rows; r++) {
        for (long k = 0; k < h->inputs + h->outputs; k++) {
            float *dst = k < h->inputs ? &x[r * (size_t)h->inputs + (size_t)k]
                                       : &y[r * (size_t)h->outputs + (size_t)(k - h->inputs)];
            bp_status st = read_value(L, h, r, k, dst);
            if (st != BP_OK)
                return st;
        }
    }
    if (next_token(L)) {
        char b[64];
        return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: unexpected %s after the %ld rows announced "
                        "in line %zu", L->path, L->tline, L->tcol, tok_text(L, b), h->rows,
                        h->line);
    }
    return BP_OK;
}

bp_status bp_dataset_read_fann(bp_dataset **out, const char *path)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_fann: out is NULL");
    *out = NULL;
    if (!path)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_fann: path is NULL");
    char *buf;
    size_t len;
    bp_status st = bp_read_file(path, SIZE_MAX - 1, &buf, &len);
    if (st != BP_OK)
        return st;
    fann_lexer L = {0};
    L.path = path;
    L.p = L.line_start = buf;
    L.end = buf + len;
    L.line = 1;
    fann_header h;
    bp_dataset *ds = NULL;
    st = read_header(&L, &h);
    if (st == BP_OK)
        st = bp_dataset_create(&ds, (size_t)h.rows, (int)h.inputs, (int)h.outputs);
    if (st == BP_OK)
        st = read_rows(&L, &h, ds);
    free(buf);
    if (st != BP_OK) {
        bp_dataset_free(ds);
        return st;
    }
    *out = ds;
    return BP_OK;
}

bp_status bp_dataset_write_fann(const bp_dataset *ds, const char *path)
{
    if (!ds || !path)
        return bp_error(BP_ERR_ARG, "bp_dataset_write_fann: NULL argument");
    bp_atomic_file f;
    bp_status st = bp_atomic_begin(&f, path);
    if (st != BP_OK)
        return st;
    size_t rows = bp_dataset_rows(ds);
    size_t in = (size_t)bp_dataset_inputs(ds), on = (size_t)bp_dataset_outputs(ds);
    const float *x = bp_dataset_x_const(ds), *y = bp_dataset_y_const(ds);
    fprintf(f.fp, "%zu %zu %zu\n", rows, in, on);
    for (size_t r = 0; r < rows && !ferror(f.fp); r++) {
        for (size_t j = 0; j < in; j++)
            fprintf(f.fp, j ? " %.9g" : "%.9g", (double)x[r * in + j]);
        fputc('\n', f.fp);
        for (size_t j = 0; j < on; j++)
            fprintf(f.fp, j ? " %.9g" : "%.9g", (double)y[r * on + j]);
        fputc('\n', f.fp);
    }
    if (ferror(f.fp)) {
        int e = errno;
        bp_atomic_abort(&f);
        return bp_error(BP_ERR_IO, "%s: write failed: %s (previous file left unchanged)", path,
                        strerror(e ? e : EIO));
    }
    return bp_atomic_commit(&f);
}

/* Whole number of at most 18 digits, or -1. */
static long long sniff_int(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int bp_fann_sniff(const char *path)
{
    if (!path)
        return 0;
    char *buf;
    size_t len;
    if (bp_read_file(path, SIZE_MAX - 1, &buf, &len) != BP_OK)
        return 0;
    fann_lexer L = {0};
    L.path = path;
    L.p = L.line_start = buf;
    L.end = buf + len;
    L.line = 1;
    long long head[3];
    int result = 1;
    size_t line = 0;
    for (int i = 0; i < 3 && result; i++) {
        if (!next_token(&L) || (i > 0 && L.tline != line) ||
            (head[i] = sniff_int(L.tok, L.len)) < 0)
            result = 0;
        line = L.tline;
    }
    /* Nothing else on the header line. */
    if (result) {
        const char *q = L.p;
        while (q < L.end && *q != '\n' && is_space(*q))
            q++;
        if (q < L.end && *q != '\n')
            result = 0;
    }
    if (result && (head[0] > (1ll << 31) || head[1] > BP_MAX_UNITS || head[2] > BP_MAX_UNITS))
        result = 2;
    if (result == 1) {
        unsigned long long want = (unsigned long long)head[0] * (unsigned long long)(head[1] + head[2]);
        unsigned long long n = 0;
        while (next_token(&L) && n <= want)
            n++;
        result = head[0] > 0 && head[1] > 0 && n == want ? 1 : 2;
    }
    free(buf);
    return result;
}
