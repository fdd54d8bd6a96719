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
#include "io_internal.h"
#include "nn/error.h"
#include "nn/net_io.h"

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

/* ---- columns ----------------------------------------------------------------- */

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Lists for messages, "a, b, c" in a 512-byte buffer, cut with ", ..."
 * when they do not fit.  list_add appends item i (o: the length so far) and
 * returns 0 once the list is full; list_end marks a cut list. */
static int list_add(char list[512], size_t *o, size_t i, const char *item)
{
    if (*o >= 512 - 8)
        return 0;
    int w = snprintf(list + *o, 512 - *o, "%s%s", i ? ", " : "", item);
    if (w < 0)
        return 0;
    *o += (size_t)w;
    return 1;
}

static const char *list_end(char list[512], size_t o)
{
    if (o >= 512 - 8)
        snprintf(list + 512 - 8, 8, ", ...");
    return list;
}

/* "a, b, c" of the header, cut to fit a message. */
static const char *header_list(char **header, size_t ncols, char list[512])
{
    size_t o = 0;
    list[0] = '\0';
    for (size_t j = 0; j < ncols; j++)
        if (!list_add(list, &o, j, header[j]))
            break;
    return list_end(list, o);
}

/* The column (0-based) of a header name, or SIZE_MAX. */
static size_t column_named(char **header, size_t ncols, const char *name)
{
    for (size_t j = 0; header && j < ncols; j++)
        if (strcmp(header[j], name) == 0)
            return j;
    return SIZE_MAX;
}

/* One column given by name, 1-based index or "last"; `what` for messages
 * ("the target", "the id"). */
static bp_status find_column(const char *path, const char *item, char **header, size_t ncols,
                             const char *what, size_t *out)
{
    size_t col = column_named(header, ncols, item);
    if (col == SIZE_MAX) {
        char list[512];
        if (strcmp(item, "last") == 0) {
            col = ncols - 1;
        } else if (all_digits(item)) {
            unsigned long long k = strtoull(item, NULL, 10);
            if (k < 1 || k > ncols)
                return bp_error(BP_ERR_ARG, "%s: %s column %s is out of range: the file has %zu "
                                "columns (numbered from 1)", path, what + 4, item, ncols);
            col = (size_t)k - 1;
        } else if (header) {
            return bp_error(BP_ERR_ARG, "%s: no column named \"%s\" for %s (the header has: %s)",
                            path, item, what, header_list(header, ncols, list));
        } else {
            return bp_error(BP_ERR_ARG, "%s: %s \"%s\" is not a column number or \"last\", and "
                            "the file has no header line to look names up in", path, what + 4,
                            item);
        }
    }
    *out = col;
    return BP_OK;
}

/* Resolves a target spec into column indices (0-based), marking used[]. */
static bp_status resolve_targets(const char *path, const char *spec, char **header, size_t ncols,
                                 size_t *cols, size_t *n_targets, char *used)
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
        size_t col;
        bp_status st = find_column(path, item, header, ncols, "the target", &col);
        if (st != BP_OK)
            return st;
        if (used[col])
            return bp_error(BP_ERR_ARG, "%s: target column %zu is named twice in \"%s\" (or is "
                            "the id column)", path, col + 1, spec);
        used[col] = 1;
        cols[n++] = col;
        if (!comma)
            break;
        p = comma + 1;
    }
    *n_targets = n;
    return BP_OK;
}

/* Which columns are inputs, targets and the id. */
typedef struct col_plan {
    size_t *icols, inputs; /* input columns in the order of the data set's inputs */
    size_t *tcols, nt;     /* target columns */
    size_t idcol;          /* SIZE_MAX: none */
    char *used;            /* [ncols] */
} col_plan;

/* Without a model: the target(s) as opts say, every other column (but the
 * id) an input, in file order. */
static bp_status plan_plain(const char *path, const bp_csv_options *o, char **header,
                            size_t ncols, col_plan *c)
{
    bp_status st;
    if (o->id) {
        if ((st = find_column(path, o->id, header, ncols, "the id", &c->idcol)) != BP_OK)
            return st;
        c->used[c->idcol] = 1;
    }
    if ((st = resolve_targets(path, o->target, header, ncols, c->tcols, &c->nt, c->used)) != BP_OK)
        return st;
    for (size_t j = 0; j < ncols; j++)
        if (!c->used[j]) {
            c->used[j] = 1;
            c->icols[c->inputs++] = j;
        }
    if (c->inputs == 0)
        return bp_error(BP_ERR_ARG, "%s: every one of the %zu columns is a target%s; at least "
                        "one input column is needed", path, ncols, o->id ? " or the id" : "");
    return BP_OK;
}

/* The model's task as the mapping sees it: recorded, else from its output. */
static bp_task effective_task(const bp_net *net, int *classes)
{
    int outputs = bp_net_outputs(net);
    bp_layer_spec last = bp_net_layer(net, bp_net_layers(net) - 1);
    *classes = bp_net_classes(net);
    bp_task t = bp_net_task(net);
    if (t == BP_TASK_UNKNOWN)
        t = last.act == BP_ACT_SOFTMAX || bp_net_loss(net) == BP_LOSS_BCE ? BP_TASK_CLASSIFICATION
                                                                         : BP_TASK_REGRESSION;
    if (t == BP_TASK_CLASSIFICATION && *classes == 0)
        *classes = outputs == 1 ? 2 : outputs;
    return t;
}

/* With a header and the model's input names: columns by name. */
static bp_status plan_by_name(const char *path, const bp_csv_options *o, const bp_net *net,
                              char **header, size_t ncols, col_plan *c)
{
    char list[512];
    int n_in = bp_net_inputs(net);
    for (int i = 0; i < n_in; i++) {
        const char *name = bp_net_input_name(net, i);
        size_t col = column_named(header, ncols, name);
        if (col == SIZE_MAX)
            return bp_error(BP_ERR_SHAPE, "%s: no column \"%s\" (input %d of the model's %d; the "
                            "header has: %s)", path, name, i + 1, n_in,
                            header_list(header, ncols, list));
        c->icols[c->inputs++] = col;
        c->used[col] = 1;
    }
    bp_status st;
    if (o->target)
        return resolve_targets(path, o->target, header, ncols, c->tcols, &c->nt, c->used);
    int nt = bp_net_target_count(net), found = 0;
    const char *missing = NULL;
    for (int j = 0; j < nt; j++) {
        size_t col = column_named(header, ncols, bp_net_target_name(net, j));
        if (col == SIZE_MAX) {
            missing = bp_net_target_name(net, j);
            continue;
        }
        found++;
        c->tcols[c->nt++] = col;
        if (c->used[col])
            return bp_error(BP_ERR_SHAPE, "%s: column \"%s\" is both an input and a target of "
                            "the model", path, header[col]);
        c->used[col] = 1;
    }
    if (found && missing)
        return bp_error(BP_ERR_SHAPE, "%s: no target column \"%s\" (the model's targets are %d "
                        "columns; the header has: %s)", path, missing, nt,
                        header_list(header, ncols, list));
    st = BP_OK;
    return st;
}

/* Without names: inputs first, then the target column(s), by position. */
static bp_status plan_by_position(const char *path, const bp_csv_options *o, const bp_net *net,
                                  char **header, size_t ncols, col_plan *c)
{
    size_t n_in = (size_t)bp_net_inputs(net), avail = ncols - (c->idcol != SIZE_MAX);
    int classes;
    bp_task task = effective_task(net, &classes);
    size_t k = task == BP_TASK_REGRESSION ? (size_t)bp_net_outputs(net)
               : bp_net_target_count(net) > 0 ? (size_t)bp_net_target_count(net)
               : avail == n_in + 1 ? 1 : (size_t)bp_net_outputs(net);
    bp_status st;
    if (o->target) {
        if ((st = resolve_targets(path, o->target, header, ncols, c->tcols, &c->nt, c->used)))
            return st;
    } else if (avail == n_in + k) {
        for (size_t j = ncols; j-- > 0 && c->nt < k;)
            if (!c->used[j]) {
                c->used[j] = 1;
                c->tcols[k - 1 - c->nt++] = j;
            }
    } else if (avail != n_in) {
        return bp_error(BP_ERR_SHAPE, "%s has %zu columns%s but the model takes %zu inputs (and "
                        "%zu target column%s, which may be left out)", path, avail,
                        c->idcol != SIZE_MAX ? " besides the id" : "", n_in, k, k == 1 ? "" : "s");
    }
    for (size_t j = 0; j < ncols; j++)
        if (!c->used[j]) {
            c->used[j] = 1;
            c->icols[c->inputs++] = j;
        }
    if (c->inputs != n_in)
        return bp_error(BP_ERR_SHAPE, "%s has %zu inputs per row but the model takes %zu", path,
                        c->inputs, n_in);
    return BP_OK;
}

/* ---- class labels ---------------------------------------------------------- */

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
    char **ids;      /* [rows] id strings (when there is an id column) */
    size_t *lines;   /* [rows] line of each row */
    size_t rows, cap;
} csv_rows;

static bp_status grow_rows(csv_rows *R, size_t inputs, size_t nt, const char *path)
{
    size_t nc = R->cap ? R->cap * 2 : 256;
    if (nt == 0)
        nt = 1;
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
    char **ids = realloc(R->ids, nc * sizeof *ids);
    if (!ids)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s (%zu rows)", path, R->rows);
    R->ids = ids;
    size_t *l = realloc(R->lines, nc * sizeof *l);
    if (!l)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s (%zu rows)", path, R->rows);
    R->lines = l;
    R->cap = nc;
    return BP_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* String labels: classes are the sorted distinct labels (as scikit-learn
 * numbers them), so the order never depends on which row comes first. */
static bp_status string_labels(const char *path, csv_rows *R, size_t tcol, int32_t *labels,
                               int *classes, const char ***names)
{
    label_map map = {0}, sorted = {0};
    bp_status st = BP_OK;
    *names = NULL;
    for (size_t r = 0; r < R->rows && st == BP_OK; r++) {
        const char *s = R->t[r];
        double v;
        enum num_kind k = classify_number(s, &v);
        if (!*s)
            st = bp_error(BP_ERR_PARSE, "%s:%zu:%zu: expected a class label, found an empty "
                          "field", path, R->lines[r], tcol);
        else if (k == NUM_NAN || k == NUM_INF)
            st = number_error(path, R->lines[r], tcol, s, k, "a class label");
        else if (label_map_get(&map, s) < 0)
            st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
        else if (map.count > BP_CSV_MAX_CLASSES)
            st = bp_error(BP_ERR_PARSE, "%s:%zu:%zu: more than %d distinct class labels in "
                          "column %zu; is it the right target column?", path, R->lines[r], tcol,
                          BP_CSV_MAX_CLASSES, tcol);
    }
    if (st == BP_OK && map.count > 0) {
        qsort(map.names, (size_t)map.count, sizeof *map.names, cmp_str);
        for (int c = 0; c < map.count && st == BP_OK; c++)
            if (label_map_get(&sorted, map.names[c]) < 0)
                st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
        for (size_t r = 0; r < R->rows && st == BP_OK; r++)
            labels[r] = label_map_get(&sorted, R->t[r]);
    }
    *classes = map.count;
    if (st == BP_OK) {
        *names = map.names; /* handed over */
        map.names = NULL;
    }
    label_map_free(&map);
    label_map_free(&sorted);
    return st;
}

/* Numeric targets into Y (nt columns per row). */
static bp_status numeric_targets(const char *path, csv_rows *R, const size_t *tcols, size_t nt,
                                 float *y)
{
    for (size_t r = 0; r < R->rows; r++)
        for (size_t j = 0; j < nt; j++) {
            const char *s = R->t[r * nt + j];
            double v = 0;
            enum num_kind k = classify_number(s, &v);
            if (k != NUM_OK)
                return number_error(path, R->lines[r], tcols[j] + 1, s, k,
                                    nt > 1 ? "a number (several target columns are numbers: "
                                             "one-hot classes or a multi-output regression)"
                                           : "a number");
            y[r * nt + j] = (float)v;
        }
    return BP_OK;
}

/* Legacy --n-classes: integer labels 0 … n−1 are the class numbers. */
static bp_status numbered_labels(const char *path, const bp_csv_options *o, csv_rows *R,
                                 size_t tcol, int32_t *labels)
{
    for (size_t r = 0; r < R->rows; r++) {
        char b[64];
        double v = 0;
        enum num_kind k = classify_number(R->t[r], &v);
        if (k != NUM_OK || v != floor(v) || v < 0 || v >= o->n_classes)
            return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: class label %s is not a class number "
                            "from 0 to %d", path, R->lines[r], tcol, snip(R->t[r], b),
                            o->n_classes - 1);
        labels[r] = (int32_t)v;
    }
    return BP_OK;
}

/* The end of a build: on success *out gets ds, else ds is freed. */
static bp_status hand_over(bp_dataset **out, bp_dataset *ds, bp_status st)
{
    if (st != BP_OK) {
        bp_dataset_free(ds);
        return st;
    }
    *out = ds;
    return BP_OK;
}

/* Builds the data set from the rows read, without a model: classification
 * or regression is decided here, from the target strings. */
static bp_status build_dataset(bp_dataset **out, const char *path, const bp_csv_options *o,
                               csv_rows *R, const col_plan *c)
{
    size_t rows = R->rows, nt = c->nt;
    int text = 0;
    for (size_t r = 0; r < rows && nt == 1 && !text && o->task != 0; r++) {
        double v;
        text = *R->t[r] && classify_number(R->t[r], &v) == NUM_NOT;
    }
    bp_status st = BP_OK;
    bp_dataset *ds = NULL;
    int32_t *labels = NULL;
    const char **names = NULL;
    if (text || (o->task == 1 && nt == 1 && o->n_classes > 0)) {
        int classes = o->n_classes;
        labels = malloc((rows ? rows : 1) * sizeof *labels);
        if (!labels)
            return bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
        st = text ? string_labels(path, R, c->tcols[0] + 1, labels, &classes, &names)
                  : numbered_labels(path, o, R, c->tcols[0] + 1, labels);
        if (st == BP_OK)
            st = bp_dataset_create(&ds, rows, (int)c->inputs, classes);
        if (st == BP_OK)
            st = bp_dataset_set_labels(ds, labels, classes);
        if (st == BP_OK && names)
            st = bp_dataset_set_class_names(ds, classes, names);
    } else {
        if (nt > (size_t)BP_MAX_UNITS)
            return bp_error(BP_ERR_ARG, "%s: too many target columns (%zu)", path, nt);
        st = bp_dataset_create(&ds, rows, (int)c->inputs, (int)nt);
        if (st == BP_OK)
            st = numeric_targets(path, R, c->tcols, nt, bp_dataset_y(ds));
        if (st == BP_OK)
            st = bp_dataset_detect_task(ds, o->task, path);
    }
    free(labels);
    free(names);
    return hand_over(out, ds, st);
}

/* The class of label s through the model's classes: by name, or by value
 * when both are numbers ("1" and "1.0"); unnamed classes are numbered. */
static int model_class(const bp_net *net, int classes, const char *s)
{
    double v, w;
    int num = classify_number(s, &v) == NUM_OK;
    if (!bp_net_class_name(net, 0))
        return num && v == floor(v) && v >= 0 && v < classes ? (int)v : -1;
    for (int k = 0; k < classes; k++)
        if (strcmp(bp_net_class_name(net, k), s) == 0)
            return k;
    for (int k = 0; num && k < classes; k++)
        if (classify_number(bp_net_class_name(net, k), &w) == NUM_OK && v == w)
            return k;
    return -1;
}

/* "a, b, c" of the model's classes for a message. */
static const char *class_list(const bp_net *net, int classes, char list[512])
{
    size_t o = 0;
    list[0] = '\0';
    for (int k = 0; k < classes; k++) {
        char number[16]; /* an unnamed class is its number */
        const char *n = bp_net_class_name(net, k);
        if (!n)
            snprintf(number, sizeof number, "%d", k), n = number;
        if (!list_add(list, &o, (size_t)k, n))
            break;
    }
    return list_end(list, o);
}

/* Class labels of the rows through the model: one label column, or one-hot
 * columns (one per class). */
static bp_status mapped_labels(const char *path, const bp_net *net, int classes, csv_rows *R,
                               const col_plan *c, int32_t *labels, const char ***file_names)
{
    char b[64], list[512];
    size_t nt = c->nt;
    if (nt == 1 && !bp_net_class_name(net, 0)) {
        /* A model without class names (a .net file) and text labels: number
         * them in sorted order, as training does. */
        int text = 0;
        for (size_t r = 0; r < R->rows && !text; r++) {
            double v;
            text = classify_number(R->t[r], &v) != NUM_OK;
        }
        if (text) {
            int k;
            bp_status st = string_labels(path, R, c->tcols[0] + 1, labels, &k, file_names);
            if (st == BP_OK && k > classes)
                st = bp_error(BP_ERR_SHAPE, "%s has %d distinct class labels but the model has "
                              "%d classes", path, k, classes);
            if (st == BP_OK && k < classes) {
                free(*file_names);
                *file_names = NULL;
            }
            return st;
        }
    }
    if (nt == 1) {
        for (size_t r = 0; r < R->rows; r++) {
            int k = model_class(net, classes, R->t[r]);
            if (k < 0)
                return bp_error(BP_ERR_PARSE, "%s:%zu:%zu: class label %s is not one the model "
                                "was trained on (its classes: %s)", path, R->lines[r],
                                c->tcols[0] + 1, snip(R->t[r], b), class_list(net, classes, list));
            labels[r] = k;
        }
        return BP_OK;
    }
    if (nt != (size_t)classes)
        return bp_error(BP_ERR_SHAPE, "%s: %zu target columns, but the model has %d classes (give "
                        "one label column or one 0/1 column per class)", path, nt, classes);
    float *y = malloc((R->rows ? R->rows : 1) * nt * sizeof *y);
    if (!y)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
    bp_status st = numeric_targets(path, R, c->tcols, nt, y);
    for (size_t r = 0; r < R->rows && st == BP_OK; r++) {
        int ones = 0;
        for (size_t k = 0; k < nt; k++) {
            float v = y[r * nt + k];
            if (v == 1.0f) {
                ones++;
                labels[r] = (int32_t)k;
            } else if (v != 0.0f && v != -1.0f) {
                ones = -1;
                break;
            }
        }
        if (ones != 1)
            st = bp_error(BP_ERR_PARSE, "%s:%zu: the %zu target columns are not one-hot in this "
                          "row (expected one 1 and the rest 0 or -1)", path, R->lines[r], nt);
    }
    free(y);
    return st;
}

/* Builds the data set through the model's schema. */
static bp_status build_mapped(bp_dataset **out, const char *path, const bp_net *net,
                              csv_rows *R, const col_plan *c)
{
    int classes;
    bp_task task = effective_task(net, &classes);
    int outputs = c->nt ? bp_net_outputs(net) : 0;
    bp_dataset *ds = NULL;
    int32_t *labels = NULL;
    bp_status st = BP_OK;
    if (c->nt && task == BP_TASK_REGRESSION && c->nt != (size_t)outputs)
        return bp_error(BP_ERR_SHAPE, "%s has %zu target columns but the model has %d outputs",
                        path, c->nt, outputs);
    st = bp_dataset_create(&ds, R->rows, (int)c->inputs, outputs);
    if (st == BP_OK && c->nt && task == BP_TASK_REGRESSION)
        st = numeric_targets(path, R, c->tcols, c->nt, bp_dataset_y(ds));
    else if (st == BP_OK && c->nt) {
        labels = malloc((R->rows ? R->rows : 1) * sizeof *labels);
        if (!labels)
            st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
        const char **file_names = NULL;
        if (st == BP_OK)
            st = mapped_labels(path, net, classes, R, c, labels, &file_names);
        if (st == BP_OK)
            st = bp_dataset_set_labels(ds, labels, classes);
        if (st == BP_OK && file_names)
            st = bp_dataset_set_class_names(ds, classes, file_names);
        free(file_names);
        const char **names = malloc((size_t)classes * sizeof *names);
        int named = bp_net_class_name(net, 0) != NULL;
        if (st == BP_OK && named && !names)
            st = bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
        for (int k = 0; st == BP_OK && named && k < classes; k++)
            names[k] = bp_net_class_name(net, k);
        if (st == BP_OK && named)
            st = bp_dataset_set_class_names(ds, classes, names);
        free(names);
    }
    free(labels);
    return hand_over(out, ds, st);
}

/* Input, target and id names from the header; notes the unused columns. */
static bp_status name_dataset(bp_dataset *ds, const char *path, char **header, size_t ncols,
                              const col_plan *c, csv_rows *R)
{
    bp_status st = BP_OK;
    size_t n = c->inputs > c->nt ? c->inputs : c->nt;
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
    if (header) {
        for (size_t i = 0; i < c->inputs; i++)
            names[i] = header[c->icols[i]];
        st = bp_dataset_set_input_names(ds, names);
        for (size_t j = 0; j < c->nt; j++)
            names[j] = header[c->tcols[j]];
        if (st == BP_OK && c->nt)
            st = bp_dataset_set_target_names(ds, (int)c->nt, names);
        /* One-hot columns name their classes. */
        if (st == BP_OK && c->nt > 1 && bp_dataset_classes(ds) == (int)c->nt &&
            !bp_dataset_class_name(ds, 0))
            st = bp_dataset_set_class_names(ds, (int)c->nt, names);
    }
    free(names);
    if (st == BP_OK && c->idcol != SIZE_MAX)
        st = bp_dataset_set_row_ids(ds, (const char *const *)R->ids);
    char list[512];
    size_t o = 0, unused = 0;
    list[0] = '\0';
    for (size_t j = 0; j < ncols; j++)
        if (!c->used[j]) {
            unused++;
            if (o < sizeof list - 8) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "",
                                 header ? header[j] : "?");
                o += w > 0 ? (size_t)w : 0;
            }
        }
    if (o >= sizeof list - 8)
        snprintf(list + sizeof list - 8, 8, ", ...");
    if (st == BP_OK && unused)
        st = bp_dataset_add_note(ds, "%s: ignoring %zu column%s the model does not use: %s", path,
                                 unused, unused == 1 ? "" : "s", list);
    return st;
}

/* Reads the data rows (the first record unless it is the header, then the
 * rest) into R, parsing the input columns. */
static bp_status read_rows(csv_parser *P, char **first, size_t ncols, size_t first_line,
                           int is_header, int got, const col_plan *c, csv_rows *R)
{
    bp_status st = BP_OK;
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
            f = P->fields;
            nf = P->nf;
            line = P->rec_line;
        }
        if (nf != ncols)
            return bp_error(BP_ERR_PARSE, "%s:%zu: row has %zu field%s, expected %zu (as in line "
                            "%zu)", P->path, line, nf, nf == 1 ? "" : "s", ncols, first_line);
        if (R->rows == R->cap && (st = grow_rows(R, c->inputs, c->nt, P->path)) != BP_OK)
            return st;
        float *x = R->x + R->rows * c->inputs;
        for (size_t i = 0; i < c->inputs; i++) {
            size_t j = c->icols[i];
            double v = 0;
            enum num_kind kind = classify_number(f[j], &v);
            if (kind != NUM_OK)
                return number_error(P->path, line, j + 1, f[j], kind, "a number");
            x[i] = (float)v;
        }
        for (size_t m = 0; m < c->nt; m++)
            R->t[R->rows * c->nt + m] = f[c->tcols[m]];
        R->ids[R->rows] = c->idcol != SIZE_MAX ? f[c->idcol] : NULL;
        R->lines[R->rows++] = line;
        if (use_first) {
            use_first = 0;
            continue;
        }
        if ((st = next_record(P, &got)) != BP_OK)
            return st;
    }
    return BP_OK;
}

/* Whether the first record is a header: declared, or detected — some column
 * is text in the first row and a number in the second (with no second row:
 * every field is text), or it holds the model's first input name. */
static int first_is_header(const bp_csv_options *o, const bp_net *net, char **first,
                           size_t ncols, const csv_parser *P, int got)
{
    if (o->header != -1)
        return o->header == 1;
    if (net && bp_net_input_name(net, 0) &&
        column_named(first, ncols, bp_net_input_name(net, 0)) != SIZE_MAX)
        return 1;
    size_t text = 0;
    for (size_t j = 0; j < ncols; j++) {
        double v;
        int first_num = classify_number(first[j], &v) != NUM_NOT;
        int second_num = got && j < P->nf && classify_number(P->fields[j], &v) != NUM_NOT;
        text += !first_num;
        if (got && !first_num && *first[j] && second_num)
            return 1;
    }
    return !got && text == ncols;
}

/* The options a read runs with: the caller's (checked against the ABI and
 * for values the parser can honour) or the defaults. */
static bp_status csv_options(const bp_csv_options *opts, bp_csv_options *o)
{
    bp_csv_options_default(o);
    if (opts) {
        bp_status cst = bp_abi_check(opts, BP_CSV_OPTIONS_V1, "bp_dataset_read_csv",
                                     "bp_csv_options", "bp_csv_options_default");
        if (cst != BP_OK)
            return cst;
        bp_abi_copy(o, sizeof *o, opts);
    }
    if (o->header < -1 || o->header > 1 || o->task < -1 || o->task > 1 || o->n_classes < 0 ||
        o->n_classes > BP_CSV_MAX_CLASSES)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv: bad options (header %d, task %d, "
                        "n_classes %d)", o->header, o->task, o->n_classes);
    if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r' ||
        o->delimiter == '#' || o->delimiter == ' ')
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv: '%c' cannot be a delimiter",
                        o->delimiter == '\n' || o->delimiter == '\r' ? '?' : o->delimiter);
    return BP_OK;
}

/* Everything one read owns, freed together by read_free. */
typedef struct csv_read {
    char *buf;          /* the file's bytes; fields point into them */
    csv_parser P;
    char **first;       /* fields of the first record (P's array is reused) */
    size_t ncols;       /* fields of the first record: every row must have as many */
    size_t first_line;
    col_plan c;
    csv_rows R;
} csv_read;

static void read_free(csv_read *r)
{
    free(r->R.x);
    free(r->R.t);
    free(r->R.ids);
    free(r->R.lines);
    free(r->first);
    free(r->c.used);
    free(r->c.tcols);
    free(r->c.icols);
    free(r->P.fields);
    free(r->buf);
}

/* Reads the file and sets up the parser past a UTF-8 byte-order mark, with
 * the delimiter o names or the one the text suggests.  A NUL byte is refused
 * (with its line): the parser treats text as C strings. */
static bp_status open_text(csv_read *r, const char *path, const bp_csv_options *o)
{
    size_t len;
    bp_status st = bp_read_file(path, SIZE_MAX - 1, &r->buf, &len);
    if (st != BP_OK)
        return st;
    char *buf = r->buf;
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        size_t line = 1;
        for (const char *q = buf; q < nul; q++)
            line += *q == '\n';
        return bp_error(BP_ERR_PARSE, "%s:%zu: contains a NUL byte; is it a text file?", path,
                        line);
    }
    char *start = buf;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        start += 3;
    r->P.path = path;
    r->P.p = start;
    r->P.end = buf + len;
    r->P.line = 1;
    r->P.delim = o->delimiter ? o->delimiter : detect_delimiter(start, buf + len);
    return BP_OK;
}

/* Reads the first record, which fixes the number of columns; without a
 * model there must be an input and a target. */
static bp_status read_first_record(csv_read *r, const bp_net *net)
{
    csv_parser *P = &r->P;
    int got;
    bp_status st = next_record(P, &got);
    if (st != BP_OK)
        return st;
    if (!got)
        return bp_error(BP_ERR_PARSE, "%s: no data: the file is empty or holds only comments "
                        "and blank lines", P->path);
    r->ncols = P->nf;
    r->first_line = P->rec_line;
    r->first = malloc(r->ncols * sizeof *r->first);
    if (!r->first)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s", P->path);
    memcpy(r->first, P->fields, r->ncols * sizeof *r->first);
    if (r->ncols < 2 && !net)
        return bp_error(BP_ERR_PARSE, "%s:%zu: found 1 column (delimiter '%s'); expected at "
                        "least one input column and a target column", P->path, r->first_line,
                        P->delim == '\t' ? "\\t" : (char[2]){P->delim, 0});
    return BP_OK;
}

/* Which columns are inputs, targets and the id: as the options say, or (with
 * a model) the model's inputs by name when both have names, else by position. */
static bp_status plan_columns(const char *path, const bp_csv_options *o, const bp_net *net,
                              char **header, size_t ncols, col_plan *c)
{
    c->used = calloc(ncols, 1);
    c->tcols = malloc(ncols * sizeof *c->tcols);
    c->icols = malloc(ncols * sizeof *c->icols);
    if (!c->used || !c->tcols || !c->icols)
        return bp_error(BP_ERR_NOMEM, "out of memory reading %s", path);
    if (!net)
        return plan_plain(path, o, header, ncols, c);
    bp_status st = BP_OK;
    if (o->id && (st = find_column(path, o->id, header, ncols, "the id", &c->idcol)) == BP_OK)
        c->used[c->idcol] = 1;
    if (st != BP_OK)
        return st;
    return header && bp_net_input_name(net, 0) ? plan_by_name(path, o, net, header, ncols, c)
                                                : plan_by_position(path, o, net, header, ncols, c);
}

/* The data set of the rows read, its inputs copied and its columns named. */
static bp_status build_named(bp_dataset **out, const char *path, const bp_csv_options *o,
                             const bp_net *net, char **header, csv_read *r)
{
    bp_status st = net ? build_mapped(out, path, net, &r->R, &r->c)
                       : build_dataset(out, path, o, &r->R, &r->c);
    if (st != BP_OK)
        return st;
    memcpy(bp_dataset_x(*out), r->R.x, r->R.rows * r->c.inputs * sizeof(float));
    st = name_dataset(*out, path, header, r->ncols, &r->c, &r->R);
    if (st != BP_OK) {
        bp_dataset_free(*out);
        *out = NULL;
    }
    return st;
}

static bp_status read_csv(bp_dataset **out, const char *path, const bp_csv_options *opts,
                          const bp_net *net)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv: out is NULL");
    *out = NULL;
    if (!path)
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv: path is NULL");
    bp_csv_options o;
    bp_status st = csv_options(opts, &o);
    if (st != BP_OK)
        return st;

    csv_read r = {0};
    r.c.idcol = SIZE_MAX;
    int got = 0, is_header = 0;
    st = open_text(&r, path, &o);
    if (st == BP_OK)
        st = read_first_record(&r, net);
    if (st == BP_OK) /* the second record decides whether the first is a header */
        st = next_record(&r.P, &got);
    if (st == BP_OK) {
        is_header = first_is_header(&o, net, r.first, r.ncols, &r.P, got);
        if (is_header && !got)
            st = bp_error(BP_ERR_PARSE, "%s:%zu: has a header line but no data rows", path,
                          r.first_line);
    }
    char **header = is_header ? r.first : NULL;
    if (st == BP_OK)
        st = plan_columns(path, &o, net, header, r.ncols, &r.c);
    if (st == BP_OK)
        st = read_rows(&r.P, r.first, r.ncols, r.first_line, is_header, got, &r.c, &r.R);
    if (st == BP_OK)
        st = build_named(out, path, &o, net, header, &r);
    read_free(&r);
    return st;
}

bp_status bp_dataset_read_csv(bp_dataset **out, const char *path, const bp_csv_options *opts)
{
    return read_csv(out, path, opts, NULL);
}

bp_status bp_dataset_read_csv_schema(bp_dataset **out, const char *path,
                                     const bp_csv_options *opts, const bp_net *net)
{
    if (!net) {
        if (out)
            *out = NULL;
        return bp_error(BP_ERR_ARG, "bp_dataset_read_csv_schema: net is NULL");
    }
    return read_csv(out, path, opts, net);
}
