/*
 * CSV reader.
 *
 * The whole file is read into memory and split into records in place (quoted
 * fields are unescaped where they lie, and every field is NUL-terminated), so
 * a line may be of any length and earlier fields stay valid while later ones
 * are parsed.  Input columns are converted to float32 as they are read; the
 * target columns are kept as strings until the whole file is seen, because
 * whether they are numbers or class names decides the task.
 *
 * Accepted: a UTF-8 byte-order mark; LF or CRLF line ends; blank lines and
 * lines whose first non-blank character is '#' (skipped); fields quoted with
 * "…" in which "" stands for one quote (a quoted field may span lines);
 * spaces around unquoted fields (trimmed).
 * Rejected, with file:line:column (column = 1-based field number): fields that
 * are not numbers where numbers are expected, empty fields, NaN and infinite
 * values, values outside the float32 range, rows with a different number of
 * fields than the first row, NUL bytes, more than BP_CSV_MAX_COLUMNS columns.
 * Limits: a line may be any length; at most 1,000,000 columns; at most 65,536
 * classes.
 *
 * Numbers are read with strtod(), so a program that changes LC_NUMERIC away
 * from "C" changes what counts as a decimal point.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backprop.h"
#include "nn/nn_internal.h"

#define BP_CSV_MAX_COLUMNS 1000000
#define BP_CSV_MAX_CLASSES 65536

void bp_csv_options_init(bp_csv_options *opts, size_t size)
{
    bp_csv_options d;
    memset(&d, 0, sizeof d);
    d.header = -1;
    d.delimiter = 0;
    d.target = NULL;
    d.task = -1;
    d.n_classes = 0;
    bp_abi_fill(opts, size, &d, sizeof d);
}

/* ---- reading the file ---------------------------------------------------- */

static bp_status read_whole_file(const char *path, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return bp_error(BP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(fp);
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
    }
    for (;;) {
        if (cap - len < 2) { /* keep one byte for the final NUL */
            if (cap > SIZE_MAX / 2) {
                free(buf);
                fclose(fp);
                return bp_error(BP_ERR_NOMEM, "%s is too large to read", path);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(fp);
                return bp_error(BP_ERR_NOMEM, "out of memory reading %s (%zu bytes so far)",
                                path, len);
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0) {
            if (ferror(fp)) {
                int e = errno;
                free(buf);
                fclose(fp);
                return bp_error(BP_ERR_IO, "cannot read %s: %s", path, strerror(e));
            }
            break;
        }
    }
    fclose(fp);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return BP_OK;
}

/* ---- numbers --------------------------------------------------------------- */

enum num_kind { NUM_NOT = 0, NUM_OK, NUM_NAN, NUM_INF, NUM_RANGE };

static enum num_kind classify_number(const char *s, double *out)
{
    if (!*s)
        return NUM_NOT;
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (e == s || *e != '\0')
        return NUM_NOT;
    if (isnan(v))
        return NUM_NAN;
    if (isinf(v)) {
        /* strtod gives ±HUGE_VAL with ERANGE for "1e999": out of range, not "inf". */
        return errno == ERANGE ? NUM_RANGE : NUM_INF;
    }
    if (fabs(v) > FLT_MAX)
        return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

/* A field for a message: quoted, cut to about 40 characters, with control
 * characters escaped (\n, \r, \t, \xHH) so a quoted field holding a line
 * break never splits the one-line message. */
static const char *snip(const char *s, char buf[64])
{
    size_t o = 0;
    buf[o++] = '"';
    for (; *s && o < 44; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (esc)
            o += (size_t)snprintf(buf + o, 64 - o, "%s", esc);
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, 64 - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (*s)
        o += (size_t)snprintf(buf + o, 64 - o, "...");
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* Sets the message for a field that should have held a number. */
static bp_status number_error(const char *path, size_t line, size_t col, const char *s,
                              enum num_kind kind, const char *what)
{
    char b[64];
    if (!*s)
        return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected %s, found an empty field", path,
                        line, col, what);
    switch (kind) {
    case NUM_NAN:
        return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected %s, found NaN %s (missing values "
                        "are not supported)", path, line, col, what, snip(s, b));
    case NUM_INF:
        return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected %s, found an infinite value %s",
                        path, line, col, what, snip(s, b));
    case NUM_RANGE:
        return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected %s, found %s, outside the float32 "
                        "range", path, line, col, what, snip(s, b));
    default:
        return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected %s, found %s", path, line, col,
                        what, snip(s, b));
    }
}

/* ---- splitting records ----------------------------------------------------- */

typedef struct csv_parser {
    const char *path;
    char *p, *end; /* cursor; *end is a writable NUL */
    size_t line;   /* physical line of p, 1-based */
    char delim;
    char **fields; /* fields of the current record */
    size_t nf, cap;
    size_t rec_line; /* line where the current record starts */
} csv_parser;

static int is_blank(char c, char delim)
{
    return c == ' ' || (c == '\t' && delim != '\t');
}

/* Moves p past blank and comment lines; returns 0 at the end of the data. */
static int skip_to_content(char **pp, char *end, size_t *line)
{
    char *p = *pp;
    while (p < end) {
        char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < end && *q == '#') {
            while (q < end && *q != '\n')
                q++;
        }
        if (q == end) {
            p = end;
            break;
        }
        if (*q != '\n')
            break; /* content */
        p = q + 1;
        (*line)++;
    }
    *pp = p;
    return p < end;
}

static bp_status push_field(csv_parser *P, char *s)
{
    if (P->nf >= BP_CSV_MAX_COLUMNS)
        return bp_error(BP_ERR_PARSE, "%s:%zu: more than %d fields in a row", P->path,
                        P->rec_line, BP_CSV_MAX_COLUMNS);
    if (P->nf == P->cap) {
        size_t nc = P->cap ? P->cap * 2 : 64;
        char **nfld = realloc(P->fields, nc * sizeof *nfld);
        if (!nfld)
            return bp_error(BP_ERR_NOMEM, "out of memory reading %s", P->path);
        P->fields = nfld;
        P->cap = nc;
    }
    P->fields[P->nf++] = s;
    return BP_OK;
}

/* Reads the next record into P->fields; *got = 0 at the end of the data. */
static bp_status next_record(csv_parser *P, int *got)
{
    *got = 0;
    if (!skip_to_content(&P->p, P->end, &P->line))
        return BP_OK;
    P->nf = 0;
    P->rec_line = P->line;
    char *p = P->p, *end = P->end;
    const char d = P->delim;
    for (;;) {
        while (p < end && is_blank(*p, d))
            p++;
        char *s = p, term;
        if (p < end && *p == '"') {
            size_t qline = P->line, qcol = P->nf + 1;
            char *w = p; /* unescape in place, from the opening quote on */
            p++;
            for (;;) {
                if (p >= end)
                    return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: quoted field is not closed "
                                    "(expected a closing \" before the end of the file)",
                                    P->path, qline, qcol);
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (*p == '\n')
                    P->line++;
                *w++ = *p++;
            }
            while (p < end && (is_blank(*p, d) || (*p == '\r' && (p + 1 == end || p[1] == '\n'))))
                p++;
            if (p < end && *p != d && *p != '\n') {
                char c = *p;
                return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected a delimiter or the end of "
                                "the line after a closing quote, found '%c'", P->path, P->line,
                                qcol, c);
            }
            term = p < end ? *p : '\0';
            *w = '\0'; /* w is at least two bytes behind p */
        } else {
            while (p < end && *p != d && *p != '\n')
                p++;
            term = p < end ? *p : '\0';
            char *e = p;
            while (e > s && (is_blank(e[-1], d) || e[-1] == '\r'))
                e--;
            *e = '\0'; /* may overwrite the terminator, saved in term */
        }
        bp_status st = push_field(P, s);
        if (st != BP_OK)
            return st;
        if (term == d && p < end) {
            p++;
            continue;
        }
        if (term == '\n') {
            p++;
            P->line++;
        }
        break;
    }
    P->p = p;
    *got = 1;
    return BP_OK;
}

/* Delimiter of the first content line: the most frequent of , ; tab outside
 * quotes (ties in that order); ',' if none occurs. */
static char detect_delimiter(char *p, char *end)
{
    size_t line = 1;
    if (!skip_to_content(&p, end, &line))
        return ',';
    size_t n[3] = {0, 0, 0};
    int quoted = 0;
    for (; p < end; p++) {
        char c = *p;
        if (c == '"')
            quoted = !quoted;
        else if (!quoted) {
            if (c == '\n')
                break;
            if (c == ',')
                n[0]++;
            else if (c == ';')
                n[1]++;
            else if (c == '\t')
                n[2]++;
        }
    }
    static const char cand[3] = {',', ';', '\t'};
    int best = 0;
    for (int i = 1; i < 3; i++)
        if (n[i] > n[best])
            best = i;
    return n[best] ? cand[best] : ',';
}

/* ---- target columns -------------------------------------------------------- */

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Resolves opts->target into column indices (0-based), marking is_target. */
static bp_status resolve_targets(const char *path, const char *spec, char **header, size_t ncols,
                                 size_t *cols, size_t *n_targets, char *is_target)
{
    if (!spec || !*spec)
        spec = "last";
    size_t n = 0;
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        char item[256];
        if (len == 0 || len >= sizeof item)
            return bp_error(BP_ERR_ARG, "%s: bad target column list \"%s\" (expected names, "
                            "1-based numbers or \"last\", separated by commas)", path, spec);
        memcpy(item, p, len);
        item[len] = '\0';
        size_t col = SIZE_MAX;
        if (header)
            for (size_t j = 0; j < ncols; j++)
                if (strcmp(header[j], item) == 0) {
                    col = j;
                    break;
                }
        if (col == SIZE_MAX) {
            if (strcmp(item, "last") == 0) {
                col = ncols - 1;
            } else if (all_digits(item)) {
                unsigned long long k = strtoull(item, NULL, 10);
                if (k < 1 || k > ncols)
                    return bp_error(BP_ERR_ARG, "%s: target column %s is out of range: the file "
                                    "has %zu columns (numbered from 1)", path, item, ncols);
                col = (size_t)k - 1;
            } else if (header) {
                char list[512];
                size_t o = 0;
                list[0] = '\0';
                for (size_t j = 0; j < ncols && o < sizeof list - 8; j++) {
                    int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", header[j]);
                    if (w < 0)
                        break;
                    o += (size_t)w;
                }
                if (o >= sizeof list - 8)
                    snprintf(list + sizeof list - 8, 8, ", ...");
                return bp_error(BP_ERR_ARG, "%s: no column named \"%s\" for the target "
                                "(the header has: %s)", path, item, list);
            } else {
                return bp_error(BP_ERR_ARG, "%s: target \"%s\" is not a column number or "
                                "\"last\", and the file has no header line to look names up in",
                                path, item);
            }
        }
        if (is_target[col])
            return bp_error(BP_ERR_ARG, "%s: target column %zu is named twice in \"%s\"", path,
                            col + 1, spec);
        is_target[col] = 1;
        cols[n++] = col;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (n >= ncols)
        return bp_error(BP_ERR_ARG, "%s: every one of the %zu columns is a target; at least "
                        "one input column is needed", path, ncols);
    *n_targets = n;
    return BP_OK;
}

/* ---- class labels ---------------------------------------------------------- */

/* Open-addressing map from label string to class id. */
typedef struct label_map {
    const char **keys;
    int *ids;
    size_t cap; /* power of two */
    int count;
    const char **names; /* [count], in order of first appearance */
    size_t names_cap;
} label_map;

static uint64_t hash_string(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211u;
    }
    return h;
}

static void label_map_free(label_map *m)
{
    free(m->keys);
    free(m->ids);
    free(m->names);
}

static int label_map_insert_slot(const char **keys, int *ids, size_t cap, const char *s, int id)
{
    size_t i = (size_t)hash_string(s) & (cap - 1);
    while (keys[i]) {
        if (strcmp(keys[i], s) == 0)
            return ids[i];
        i = (i + 1) & (cap - 1);
    }
    keys[i] = s;
    ids[i] = id;
    return -1;
}

/* Class id of s, adding it if new; -1 if out of memory. */
static int label_map_get(label_map *m, const char *s)
{
    if ((size_t)(m->count + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        const char **nk = calloc(nc, sizeof *nk);
        int *ni = calloc(nc, sizeof *ni);
        if (!nk || !ni) {
            free(nk);
            free(ni);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                label_map_insert_slot(nk, ni, nc, m->keys[i], m->ids[i]);
        free(m->keys);
        free(m->ids);
        m->keys = nk;
        m->ids = ni;
        m->cap = nc;
    }
    int id = label_map_insert_slot(m->keys, m->ids, m->cap, s, m->count);
    if (id >= 0)
        return id;
    if ((size_t)m->count == m->names_cap) {
        size_t nc = m->names_cap ? m->names_cap * 2 : 16;
        const char **nn = realloc(m->names, nc * sizeof *nn);
        if (!nn)
            return -1; /* the key is in the table but unnamed: the caller fails anyway */
        m->names = nn;
        m->names_cap = nc;
    }
    m->names[m->count] = s;
    return m->count++;
}

/* ---- the reader ------------------------------------------------------------ */

typedef struct csv_rows {
    float *x;        /* [rows][inputs] */
    char **t;        /* [rows][n_targets] target strings */
    size_t *lines;   /* [rows] line of each row */
    size_t rows, cap;
} csv_rows;

static bp_status grow_rows(csv_rows *R, size_t inputs, size_t nt, const char *path)
{
    size_t nc = R->cap ? R->cap * 2 : 256;
    if (nc < R->cap || nc > SIZE_MAX / sizeof(float) / inputs || nc > SIZE_MAX / sizeof(char *) / nt)
        return bp_error(BP_ERR_NOMEM, "%s: too many rows (size overflows)", path);
    float *x = realloc(R->x, nc * inputs * sizeof *x);
    if (!x)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s (%zu rows)", path, R->rows);
    R->x = x;
    char **t = realloc(R->t, nc * nt * sizeof *t);
    if (!t)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s (%zu rows)", path, R->rows);
    R->t = t;
    size_t *l = realloc(R->lines, nc * sizeof *l);
    if (!l)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s (%zu rows)", path, R->rows);
    R->lines = l;
    R->cap = nc;
    return BP_OK;
}

/* Builds the data set from the rows read.  Classification or regression is
 * decided here, from the target strings. */
static bp_status build_dataset(bp_dataset **out, const char *path, const bp_csv_options *o,
                               csv_rows *R, size_t inputs, const size_t *tcols, size_t nt,
                               char **header, const char *is_target)
{
    size_t rows = R->rows;
    int classify = o->task == 1;
    if (o->task == -1 && nt == 1) {
        for (size_t r = 0; r < rows && !classify; r++) {
            double v;
            if (*R->t[r] && classify_number(R->t[r], &v) == NUM_NOT)
                classify = 1;
        }
    }
    bp_status st = BP_OK;
    bp_dataset *ds = NULL;
    int32_t *labels = NULL;
    label_map map = {0};
    int string_labels = 0;
    int classes = 0;

    if (classify) {
        if (nt != 1)
            return bp_error(BP_ERR_ARG, "%s: classification needs exactly one target column, "
                            "%zu were given", path, nt);
        size_t tcol = tcols[0] + 1;
        for (size_t r = 0; r < rows && !string_labels; r++) {
            double v;
            if (classify_number(R->t[r], &v) == NUM_NOT && *R->t[r])
                string_labels = 1;
        }
        labels = malloc(rows * sizeof *labels);
        if (!labels)
            return bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
        long max_label = -1;
        for (size_t r = 0; r < rows; r++) {
            const char *s = R->t[r];
            double v = 0;
            enum num_kind k = classify_number(s, &v);
            if (!*s) {
                st = bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected a class label, found an empty "
                              "field", path, R->lines[r], tcol);
                goto fail;
            }
            if (k == NUM_NAN || k == NUM_INF) {
                st = number_error(path, R->lines[r], tcol, s, k, "a class label");
                goto fail;
            }
            if (string_labels) {
                int id = label_map_get(&map, s);
                if (id < 0) {
                    st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
                    goto fail;
                }
                if (map.count > BP_CSV_MAX_CLASSES) {
                    st = bp_error(BP_ERR_PARSE, "%s:%zu:%zu: more than %d distinct class labels "
                                  "in column %zu; is it the right target column?", path,
                                  R->lines[r], tcol, BP_CSV_MAX_CLASSES, tcol);
                    goto fail;
                }
                labels[r] = id;
            } else {
                char b[64];
                if (k != NUM_OK || v != floor(v) || v < 0) {
                    st = bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected a class label (an integer "
                                  ">= 0 or a name), found %s", path, R->lines[r], tcol,
                                  snip(s, b));
                    goto fail;
                }
                if (v >= BP_CSV_MAX_CLASSES || (o->n_classes > 0 && v >= o->n_classes)) {
                    int lim = o->n_classes > 0 ? o->n_classes : BP_CSV_MAX_CLASSES;
                    st = bp_error(BP_ERR_PARSE, "%s:%zu:%zu: class label %s is out of range: "
                                  "expected 0 to %d", path, R->lines[r], tcol, snip(s, b),
                                  lim - 1);
                    goto fail;
                }
                labels[r] = (int32_t)v;
                if (labels[r] > max_label)
                    max_label = labels[r];
            }
        }
        classes = string_labels ? map.count : (o->n_classes > 0 ? o->n_classes : (int)max_label + 1);
        st = bp_dataset_create(&ds, rows, (int)inputs, classes);
        if (st != BP_OK)
            goto fail;
        st = bp_dataset_set_labels(ds, labels, classes);
        if (st == BP_OK && string_labels)
            st = bp_dataset_set_class_names(ds, classes, map.names);
        if (st != BP_OK)
            goto fail;
    } else {
        if (nt > (size_t)BP_MAX_UNITS)
            return bp_error(BP_ERR_ARG, "%s: too many target columns (%zu)", path, nt);
        st = bp_dataset_create(&ds, rows, (int)inputs, (int)nt);
        if (st != BP_OK)
            return st;
        float *y = bp_dataset_y(ds);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < nt; j++) {
                const char *s = R->t[r * nt + j];
                double v = 0;
                enum num_kind k = classify_number(s, &v);
                if (k != NUM_OK) {
                    st = number_error(path, R->lines[r], tcols[j] + 1, s, k,
                                      nt > 1 ? "a number (several target columns make a "
                                               "regression)"
                                             : "a number");
                    goto fail;
                }
                y[r * nt + j] = (float)v;
            }
    }
    if (rows)
        memcpy(bp_dataset_x(ds), R->x, rows * inputs * sizeof(float));
    if (header) {
        const char **names = malloc(inputs * sizeof *names);
        if (!names) {
            st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
            goto fail;
        }
        size_t i = 0, ncols = inputs + nt;
        for (size_t j = 0; j < ncols; j++)
            if (!is_target[j])
                names[i++] = header[j];
        st = bp_dataset_set_input_names(ds, names);
        free(names);
        if (st != BP_OK)
            goto fail;
    }
    free(labels);
    label_map_free(&map);
    *out = ds;
    return BP_OK;
fail:
    free(labels);
    label_map_free(&map);
    bp_dataset_free(ds);
    return st;
}

bp_status bp_dataset_read_csv(bp_dataset **out, const char *path, const bp_csv_options *opts)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv: out is NULL");
    *out = NULL;
    if (!path)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv: path is NULL");
    bp_csv_options o;
    bp_csv_options_default(&o);
    if (opts) {
        bp_status cst = bp_abi_check(opts, BP_CSV_OPTIONS_V1, "bp_dataset_read_csv",
                                     "bp_csv_options", "bp_csv_options_default");
        if (cst != BP_OK)
            return cst;
        bp_abi_copy(&o, sizeof o, opts);
    }
    if (o.header < -1 || o.header > 1 || o.task < -1 || o.task > 1 || o.n_classes < 0 ||
        o.n_classes > BP_CSV_MAX_CLASSES)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv: bad options (header %d, task %d, "
                        "n_classes %d)", o.header, o.task, o.n_classes);
    if (o.delimiter == '"' || o.delimiter == '\n' || o.delimiter == '\r' || o.delimiter == '#' ||
        o.delimiter == ' ')
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv: '%c' cannot be a delimiter",
                        o.delimiter == '\n' || o.delimiter == '\r' ? '?' : o.delimiter);

    char *buf;
    size_t len;
    bp_status st = read_whole_file(path, &buf, &len);
    if (st != BP_OK)
        return st;
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        size_t line = 1;
        for (const char *q = buf; q < nul; q++)
            line += *q == '\n';
        free(buf);
        return bp_error(BP_ERR_PARSE, "%s:%zu: contains a NUL byte; is it a text file?", path,
                        line);
    }
    char *start = buf;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        start += 3;

    csv_parser P = {0};
    P.path = path;
    P.p = start;
    P.end = buf + len;
    P.line = 1;
    P.delim = o.delimiter ? o.delimiter : detect_delimiter(start, buf + len);

    csv_rows R = {0};
    char **first = NULL;   /* fields of the first record */
    char **header = NULL;  /* == first when it is a header */
    char *is_target = NULL;
    size_t *tcols = NULL;
    size_t ncols = 0, first_line = 0, nt = 0, inputs = 0;
    int got;

    st = next_record(&P, &got);
    if (st != BP_OK)
        goto done;
    if (!got) {
        st = bp_error(BP_ERR_PARSE, "%s: no data: the file is empty or holds only comments and "
                      "blank lines", path);
        goto done;
    }
    ncols = P.nf;
    first_line = P.rec_line;
    first = malloc(ncols * sizeof *first);
    if (!first) {
        st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    memcpy(first, P.fields, ncols * sizeof *first);
    if (ncols < 2) {
        st = bp_error(BP_ERR_PARSE, "%s:%zu: found 1 column (delimiter '%s'); expected at least "
                      "one input column and a target column", path, first_line,
                      P.delim == '\t' ? "\\t" : (char[2]){P.delim, 0});
        goto done;
    }

    /* The second record decides whether the first is a header. */
    st = next_record(&P, &got);
    if (st != BP_OK)
        goto done;
    int is_header = o.header == 1;
    if (o.header == -1) {
        /* A header: some column is text in the first row and a number in the second.
         * With no second row: every field of the first is text. */
        size_t text = 0;
        for (size_t j = 0; j < ncols; j++) {
            double v;
            int first_num = classify_number(first[j], &v) != NUM_NOT;
            int second_num = got && j < P.nf && classify_number(P.fields[j], &v) != NUM_NOT;
            text += !first_num;
            if (got && !first_num && *first[j] && second_num)
                is_header = 1;
        }
        if (!got && text == ncols)
            is_header = 1;
    }
    if (is_header) {
        header = first;
        if (!got) {
            st = bp_error(BP_ERR_PARSE, "%s:%zu: has a header line but no data rows", path,
                          first_line);
            goto done;
        }
    }

    is_target = calloc(ncols, 1);
    tcols = malloc(ncols * sizeof *tcols);
    if (!is_target || !tcols) {
        st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    st = resolve_targets(path, o.target, header, ncols, tcols, &nt, is_target);
    if (st != BP_OK)
        goto done;
    inputs = ncols - nt;

    /* Data rows: the first record unless it was the header, then the rest. */
    int use_first = !is_header;
    for (;;) {
        char **f;
        size_t nf, line;
        if (use_first) {
            f = first;
            nf = ncols;
            line = first_line;
        } else {
            if (!got)
                break;
            f = P.fields;
            nf = P.nf;
            line = P.rec_line;
        }
        if (nf != ncols) {
            st = bp_error(BP_ERR_PARSE, "%s:%zu: row has %zu field%s, expected %zu (as in line "
                          "%zu)", path, line, nf, nf == 1 ? "" : "s", ncols, first_line);
            goto done;
        }
        if (R.rows == R.cap && (st = grow_rows(&R, inputs, nt, path)) != BP_OK)
            goto done;
        float *x = R.x + R.rows * inputs;
        char **t = R.t + R.rows * nt;
        size_t i = 0, k = 0;
        for (size_t j = 0; j < ncols; j++) {
            if (is_target[j]) {
                k++;
                continue;
            }
            double v = 0;
            enum num_kind kind = classify_number(f[j], &v);
            if (kind != NUM_OK) {
                st = number_error(path, line, j + 1, f[j], kind, "a number");
                goto done;
            }
            x[i++] = (float)v;
        }
        (void)k;
        for (size_t m = 0; m < nt; m++)
            t[m] = f[tcols[m]];
        R.lines[R.rows++] = line;
        if (use_first) {
            use_first = 0;
            continue;
        }
        st = next_record(&P, &got);
        if (st != BP_OK)
            goto done;
    }
    st = build_dataset(out, path, &o, &R, inputs, tcols, nt, header, is_target);

done:
    free(R.x);
    free(R.t);
    free(R.lines);
    free(first);
    free(is_target);
    free(tcols);
    free(P.fields);
    free(buf);
    return st;
}
