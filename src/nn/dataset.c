/*
 * In-memory data sets: inputs X [rows][inputs] and targets Y [rows][outputs],
 * float32, row-major, plus (for classification) a label per row, and
 * optional class and input names.
 *
 * Every size is computed with an overflow check before anything is
 * allocated, and every failure sets the thread-local message.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backprop.h"
#include "kernels/rng.h"
#include "nn_internal.h"

struct bp_dataset {
    size_t rows;
    int inputs;
    int outputs;
    float *x;           /* [rows][inputs] */
    float *y;           /* [rows][outputs] (NULL when outputs == 0) */
    int32_t *labels;    /* [rows], NULL for regression */
    int classes;        /* 0 for regression */
    int n_class_names;  /* entries in class_names */
    char **class_names; /* NULL if none */
    char **input_names; /* [inputs] or NULL */
    int n_targets;      /* entries in target_names */
    char **target_names;/* NULL if none */
    char **row_ids;     /* [rows] or NULL */
    char *notes;        /* the readers' notes, "\n"-separated, or NULL */
};

/* a·b, failing (returning 0) if it does not fit in size_t. */
static int mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Allocates a floats array of rows·cols elements (at least one byte, so a
 * zero-sized set still gets a non-NULL pointer). */
static bp_status alloc_matrix(float **out, size_t rows, int cols, const char *what)
{
    size_t n, bytes;
    *out = NULL;
    if (!mul_size(rows, (size_t)cols, &n) || !mul_size(n, sizeof(float), &bytes))
        return bp_error(BP_ERR_NOMEM, "data set of %zu rows x %d %s does not fit in memory "
                        "(size overflows)", rows, cols, what);
    *out = calloc(bytes ? bytes : 1, 1);
    if (!*out)
        return bp_error(BP_ERR_NOMEM, "out of memory allocating %zu bytes for a data set of "
                        "%zu rows x %d %s", bytes, rows, cols, what);
    return BP_OK;
}

bp_status bp_dataset_create(bp_dataset **out, size_t rows, int inputs, int outputs)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_dataset_create: out is NULL");
    *out = NULL;
    if (inputs < 1)
        return bp_error(BP_ERR_ARG, "bp_dataset_create: inputs must be >= 1 (got %d)", inputs);
    if (outputs < 0)
        return bp_error(BP_ERR_ARG, "bp_dataset_create: outputs must be >= 0 (got %d)", outputs);
    bp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return bp_error(BP_ERR_NOMEM, "out of memory allocating a data set");
    ds->rows = rows;
    ds->inputs = inputs;
    ds->outputs = outputs;
    bp_status st = alloc_matrix(&ds->x, rows, inputs, "inputs");
    if (st == BP_OK && outputs > 0)
        st = alloc_matrix(&ds->y, rows, outputs, "outputs");
    if (st != BP_OK) {
        bp_dataset_free(ds);
        return st;
    }
    *out = ds;
    return BP_OK;
}

void bp_dataset_free(bp_dataset *ds)
{
    if (!ds)
        return;
    free(ds->x);
    free(ds->y);
    free(ds->labels);
    bp_names_free(ds->class_names, ds->n_class_names);
    bp_names_free(ds->input_names, ds->inputs);
    bp_names_free(ds->target_names, ds->n_targets);
    if (ds->row_ids) {
        for (size_t r = 0; r < ds->rows; r++)
            free(ds->row_ids[r]);
        free(ds->row_ids);
    }
    free(ds->notes);
    free(ds);
}

size_t bp_dataset_rows(const bp_dataset *ds) { return ds ? ds->rows : 0; }
int bp_dataset_inputs(const bp_dataset *ds) { return ds ? ds->inputs : 0; }
int bp_dataset_outputs(const bp_dataset *ds) { return ds ? ds->outputs : 0; }
float *bp_dataset_x(bp_dataset *ds) { return ds ? ds->x : NULL; }
float *bp_dataset_y(bp_dataset *ds) { return ds ? ds->y : NULL; }
const float *bp_dataset_x_const(const bp_dataset *ds) { return ds ? ds->x : NULL; }
const float *bp_dataset_y_const(const bp_dataset *ds) { return ds ? ds->y : NULL; }
int bp_dataset_classes(const bp_dataset *ds) { return ds ? ds->classes : 0; }
const int32_t *bp_dataset_labels(const bp_dataset *ds) { return ds ? ds->labels : NULL; }

bp_status bp_dataset_set_labels(bp_dataset *ds, const int32_t *labels, int classes)
{
    if (!ds || (!labels && ds->rows > 0))
        return bp_error(BP_ERR_ARG, "bp_dataset_set_labels: NULL argument");
    if (classes < 1)
        return bp_error(BP_ERR_ARG, "bp_dataset_set_labels: classes must be >= 1 (got %d)",
                        classes);
    if (!(ds->outputs == classes || (ds->outputs == 1 && classes == 2)))
        return bp_error(BP_ERR_SHAPE, "bp_dataset_set_labels: %d classes need %d outputs%s, "
                        "the data set has %d", classes, classes,
                        classes == 2 ? " (or 1)" : "", ds->outputs);
    for (size_t r = 0; r < ds->rows; r++)
        if (labels[r] < 0 || labels[r] >= classes)
            return bp_error(BP_ERR_ARG, "bp_dataset_set_labels: row %zu has label %ld, "
                            "expected 0 to %d", r + 1, (long)labels[r], classes - 1);
    size_t bytes;
    if (!mul_size(ds->rows, sizeof(int32_t), &bytes))
        return bp_error(BP_ERR_NOMEM, "bp_dataset_set_labels: size overflows");
    int32_t *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        return bp_error(BP_ERR_NOMEM, "out of memory allocating %zu labels", ds->rows);
    if (bytes)
        memcpy(copy, labels, bytes);
    free(ds->labels);
    ds->labels = copy;
    if (ds->classes != classes) {
        bp_names_free(ds->class_names, ds->n_class_names);
        ds->class_names = NULL;
        ds->n_class_names = 0;
    }
    ds->classes = classes;
    size_t outputs = (size_t)ds->outputs;
    for (size_t r = 0; r < ds->rows; r++) {
        float *y = ds->y + r * outputs;
        if (outputs == 1) {
            y[0] = (float)copy[r];
        } else {
            memset(y, 0, outputs * sizeof *y);
            y[copy[r]] = 1.0f;
        }
    }
    return BP_OK;
}

bp_status bp_dataset_set_class_names(bp_dataset *ds, int classes, const char *const *names)
{
    if (!ds)
        return bp_error(BP_ERR_ARG, "bp_dataset_set_class_names: data set is NULL");
    if (!names) {
        bp_names_free(ds->class_names, ds->n_class_names);
        ds->class_names = NULL;
        ds->n_class_names = 0;
        return BP_OK;
    }
    if (classes < 1)
        return bp_error(BP_ERR_ARG, "bp_dataset_set_class_names: classes must be >= 1 (got %d)",
                        classes);
    if (ds->classes > 0 && classes != ds->classes)
        return bp_error(BP_ERR_SHAPE, "bp_dataset_set_class_names: %d names for %d classes",
                        classes, ds->classes);
    char **copy;
    bp_status st = bp_names_copy(&copy, classes, names, "class", 0);
    if (st != BP_OK)
        return st;
    bp_names_free(ds->class_names, ds->n_class_names);
    ds->class_names = copy;
    ds->n_class_names = classes;
    return BP_OK;
}

const char *bp_dataset_class_name(const bp_dataset *ds, int k)
{
    return ds ? bp_name_at(ds->class_names, ds->n_class_names, k) : NULL;
}

bp_status bp_dataset_set_input_names(bp_dataset *ds, const char *const *names)
{
    if (!ds)
        return bp_error(BP_ERR_ARG, "bp_dataset_set_input_names: data set is NULL");
    char **copy = NULL;
    if (names) {
        bp_status st = bp_names_copy(&copy, ds->inputs, names, "input", 0);
        if (st != BP_OK)
            return st;
    }
    bp_names_free(ds->input_names, ds->inputs);
    ds->input_names = copy;
    return BP_OK;
}

const char *bp_dataset_input_name(const bp_dataset *ds, int i)
{
    return ds ? bp_name_at(ds->input_names, ds->inputs, i) : NULL;
}

bp_status bp_dataset_subset(const bp_dataset *ds, const size_t *idx, size_t n, bp_dataset **out)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_dataset_subset: out is NULL");
    *out = NULL;
    if (!ds || (!idx && n > 0))
        return bp_error(BP_ERR_ARG, "bp_dataset_subset: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= ds->rows)
            return bp_error(BP_ERR_ARG, "bp_dataset_subset: index %zu is row %zu, but the data "
                            "set has %zu rows", i, idx[i], ds->rows);
    bp_dataset *sub;
    bp_status st = bp_dataset_create(&sub, n, ds->inputs, ds->outputs);
    if (st != BP_OK)
        return st;
    size_t in = (size_t)ds->inputs, on = (size_t)ds->outputs;
    for (size_t i = 0; i < n; i++) {
        memcpy(sub->x + i * in, ds->x + idx[i] * in, in * sizeof(float));
        if (on)
            memcpy(sub->y + i * on, ds->y + idx[i] * on, on * sizeof(float));
    }
    if (ds->labels) {
        sub->labels = malloc(n ? n * sizeof(int32_t) : 1);
        if (!sub->labels) {
            bp_dataset_free(sub);
            return bp_error(BP_ERR_NOMEM, "out of memory allocating %zu labels", n);
        }
        for (size_t i = 0; i < n; i++)
            sub->labels[i] = ds->labels[idx[i]];
    }
    sub->classes = ds->classes;
    if (ds->class_names)
        st = bp_dataset_set_class_names(sub, ds->n_class_names,
                                        (const char *const *)ds->class_names);
    if (st == BP_OK && ds->input_names)
        st = bp_dataset_set_input_names(sub, (const char *const *)ds->input_names);
    if (st == BP_OK && ds->target_names)
        st = bp_dataset_set_target_names(sub, ds->n_targets,
                                         (const char *const *)ds->target_names);
    if (st == BP_OK && ds->row_ids) {
        const char **ids = malloc((n ? n : 1) * sizeof *ids);
        if (!ids)
            st = bp_error(BP_ERR_NOMEM, "out of memory allocating %zu row ids", n);
        for (size_t i = 0; ids && i < n; i++)
            ids[i] = ds->row_ids[idx[i]];
        if (ids)
            st = bp_dataset_set_row_ids(sub, ids);
        free(ids);
    }
    if (st != BP_OK) {
        bp_dataset_free(sub);
        return st;
    }
    *out = sub;
    return BP_OK;
}

/* The checks both splits share; the outputs start NULL.  `fn` names the
 * call in the messages. */
static bp_status check_split(const bp_dataset *ds, const char *fn,
                             bp_dataset **first, bp_dataset **second)
{
    if (first)
        *first = NULL;
    if (second)
        *second = NULL;
    if (!first || !second)
        return bp_error(BP_ERR_ARG, "%s: NULL output", fn);
    if (!ds)
        return bp_error(BP_ERR_ARG, "%s: data set is NULL", fn);
    return BP_OK;
}

static bp_status check_fraction(const bp_dataset *ds, double fraction, const char *fn)
{
    if (!(fraction > 0.0 && fraction < 1.0))
        return bp_error(BP_ERR_ARG, "%s: fraction must be between 0 and 1 (exclusive), got %g",
                        fn, fraction);
    if (ds->rows < 2)
        return bp_error(BP_ERR_ARG, "%s: a data set of %zu rows cannot be split in two "
                        "non-empty parts", fn, ds->rows);
    return BP_OK;
}

/* rows · (1 + extra) indices, the first `rows` of them 0..rows-1 in the
 * split's shuffled order (the same for both splits); NULL when out of memory. */
static size_t *shuffled_rows(size_t rows, size_t extra, uint64_t seed, const char *fn)
{
    size_t bytes;
    if (!mul_size(rows, (1 + extra) * sizeof(size_t), &bytes)) {
        bp_error(BP_ERR_NOMEM, "%s: size overflows", fn);
        return NULL;
    }
    size_t *perm = malloc(bytes);
    if (!perm) {
        bp_error(BP_ERR_NOMEM, "out of memory shuffling %zu rows", rows);
        return NULL;
    }
    for (size_t i = 0; i < rows; i++)
        perm[i] = i;
    bp_rng rng;
    bp_rng_seed(&rng, seed, BP_STREAM_SPLIT);
    bp_rng_shuffle(&rng, perm, rows);
    return perm;
}

/* Both parts, or neither (first is freed when second fails). */
static bp_status two_subsets(const bp_dataset *ds, const size_t *idx1, size_t n1,
                             const size_t *idx2, size_t n2, bp_dataset **first,
                             bp_dataset **second)
{
    bp_status st = bp_dataset_subset(ds, idx1, n1, first);
    if (st == BP_OK && (st = bp_dataset_subset(ds, idx2, n2, second)) != BP_OK) {
        bp_dataset_free(*first);
        *first = NULL;
    }
    return st;
}

/* round(n · fraction) */
static size_t share_of(size_t n, double fraction)
{
    return (size_t)floor((double)n * fraction + 0.5);
}

bp_status bp_dataset_split(const bp_dataset *ds, double fraction, uint64_t seed,
                           bp_dataset **first, bp_dataset **second)
{
    const char *fn = "bp_dataset_split";
    bp_status st = check_split(ds, fn, first, second);
    if (st == BP_OK)
        st = check_fraction(ds, fraction, fn);
    if (st != BP_OK)
        return st;
    /* The second part gets round(rows·fraction) rows, at least 1, at most rows − 1. */
    size_t rows = ds->rows, n2 = share_of(rows, fraction);
    if (n2 == 0)
        n2 = 1;
    if (n2 >= rows)
        n2 = rows - 1;
    size_t *perm = shuffled_rows(rows, 0, seed, fn);
    if (!perm)
        return BP_ERR_NOMEM;
    size_t n1 = rows - n2;
    st = two_subsets(ds, perm, n1, perm + n1, n2, first, second);
    free(perm);
    return st;
}

/* Each class's share of the second part: round(n_c·fraction), at least one
 * when it has two or more rows, never all of them. */
static void class_quotas(const bp_dataset *ds, double fraction, size_t *quota)
{
    int K = ds->classes;
    for (int c = 0; c < K; c++)
        quota[c] = 0;
    for (size_t i = 0; i < ds->rows; i++) {
        int32_t c = ds->labels[i];
        if (c >= 0 && c < K)
            quota[c]++;
    }
    for (int c = 0; c < K; c++) {
        size_t n = quota[c], q = share_of(n, fraction);
        if (q == 0 && n >= 2)
            q = 1;
        if (q >= n && n > 0)
            q = n - 1;
        quota[c] = q;
    }
}

bp_status bp_dataset_split_stratified(const bp_dataset *ds, double fraction, uint64_t seed,
                                      bp_dataset **first, bp_dataset **second)
{
    const char *fn = "bp_dataset_split_stratified";
    bp_status st = check_split(ds, fn, first, second);
    if (st != BP_OK)
        return st;
    if (!ds->labels || ds->classes < 1)
        return bp_dataset_split(ds, fraction, seed, first, second);
    if ((st = check_fraction(ds, fraction, fn)) != BP_OK)
        return st;
    size_t rows = ds->rows;
    size_t *perm = shuffled_rows(rows, 1, seed, fn);
    size_t *quota = calloc((size_t)ds->classes, sizeof(size_t));
    if (!perm || !quota) {
        free(perm);
        free(quota);
        return bp_error(BP_ERR_NOMEM, "out of memory shuffling %zu rows", rows);
    }
    /* The same shuffle as bp_dataset_split; then each class gives its first
     * quota of shuffled rows to the second part, so both parts keep its share. */
    class_quotas(ds, fraction, quota);
    size_t *part1 = perm + rows, n1 = 0, n2 = 0;
    for (size_t i = 0; i < rows; i++) {
        int32_t c = ds->labels[perm[i]];
        if (c >= 0 && c < ds->classes && quota[c] > 0) {
            quota[c]--;
            perm[n2++] = perm[i]; /* n2 <= i: overwrites only rows already placed */
        } else {
            part1[n1++] = perm[i];
        }
    }
    st = n2 == 0 || n1 == 0 ? bp_dataset_split(ds, fraction, seed, first, second)
                            : two_subsets(ds, part1, n1, perm, n2, first, second);
    free(perm);
    free(quota);
    return st;
}

static bp_status check_matrix(const float *m, size_t rows, int cols, const char *name,
                              const char *what)
{
    size_t c = (size_t)cols;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < c; j++) {
            float v = m[r * c + j];
            if (!isfinite(v))
                return bp_error(BP_ERR_NUMERIC, "%s: row %zu, %s column %zu is %s", name,
                                r + 1, what, j + 1, isnan(v) ? "NaN" : "infinite");
        }
    return BP_OK;
}

bp_status bp_dataset_check_finite(const bp_dataset *ds, const char *name)
{
    if (!ds)
        return bp_error(BP_ERR_ARG, "bp_dataset_check_finite: data set is NULL");
    if (!name)
        name = "data set";
    bp_status st = check_matrix(ds->x, ds->rows, ds->inputs, name, "input");
    if (st == BP_OK && ds->outputs > 0)
        st = check_matrix(ds->y, ds->rows, ds->outputs, name, "target");
    return st;
}

bp_status bp_dataset_check_targets_finite(const bp_dataset *ds, const char *name)
{
    return ds->outputs > 0 ? check_matrix(ds->y, ds->rows, ds->outputs, name, "target") : BP_OK;
}

/* ---- schema: target names, row ids, notes ---------------------------------- */

bp_status bp_dataset_set_target_names(bp_dataset *ds, int n, const char *const *names)
{
    if (!ds || n < 0 || (n > 0 && !names))
        return bp_error(BP_ERR_ARG, "bp_dataset_set_target_names: bad argument");
    char **copy = NULL;
    if (n > 0) {
        bp_status st = bp_names_copy(&copy, n, names, "target", 0);
        if (st != BP_OK)
            return st;
    }
    bp_names_free(ds->target_names, ds->n_targets);
    ds->target_names = copy;
    ds->n_targets = n;
    return BP_OK;
}

int bp_dataset_target_count(const bp_dataset *ds) { return ds ? ds->n_targets : 0; }

const char *bp_dataset_target_name(const bp_dataset *ds, int j)
{
    return ds ? bp_name_at(ds->target_names, ds->n_targets, j) : NULL;
}

bp_status bp_dataset_set_row_ids(bp_dataset *ds, const char *const *ids)
{
    if (!ds)
        return bp_error(BP_ERR_ARG, "bp_dataset_set_row_ids: data set is NULL");
    char **copy = NULL;
    if (ids) {
        copy = calloc(ds->rows ? ds->rows : 1, sizeof *copy);
        for (size_t r = 0; copy && r < ds->rows; r++) {
            copy[r] = ids[r] ? dup_string(ids[r]) : NULL;
            if (!copy[r]) {
                for (size_t q = 0; q < r; q++)
                    free(copy[q]);
                free(copy);
                return bp_error(BP_ERR_NOMEM, "out of memory copying row ids");
            }
        }
        if (!copy)
            return bp_error(BP_ERR_NOMEM, "out of memory copying row ids");
    }
    if (ds->row_ids) {
        for (size_t r = 0; r < ds->rows; r++)
            free(ds->row_ids[r]);
        free(ds->row_ids);
    }
    ds->row_ids = copy;
    return BP_OK;
}

const char *bp_dataset_row_id(const bp_dataset *ds, size_t r)
{
    if (!ds || !ds->row_ids || r >= ds->rows)
        return NULL;
    return ds->row_ids[r];
}

const char *bp_dataset_notes(const bp_dataset *ds) { return ds ? ds->notes : NULL; }

bp_status bp_dataset_add_note(bp_dataset *ds, const char *fmt, ...)
{
    if (!ds || !fmt)
        return bp_error(BP_ERR_ARG, "bp_dataset_add_note: NULL argument");
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = ds->notes ? strlen(ds->notes) : 0, n = strlen(line);
    char *p = realloc(ds->notes, old + n + 2);
    if (!p)
        return bp_error(BP_ERR_NOMEM, "out of memory for a note");
    if (old)
        p[old++] = '\n';
    memcpy(p + old, line, n + 1);
    ds->notes = p;
    return BP_OK;
}

/* ---- classes from numeric targets ------------------------------------------ */

#define DETECT_MAX_CLASSES 32
#define ANY_MAX_CLASSES 65536

/* 1 when every row of Y has exactly one "on" value (1) and the rest "off"
 * (all 0 or all −1). */
static int is_one_hot(const bp_dataset *ds)
{
    size_t on = (size_t)ds->outputs;
    if (on < 2 || ds->rows == 0)
        return 0;
    float off = 2; /* not yet seen */
    for (size_t r = 0; r < ds->rows; r++) {
        int ones = 0;
        for (size_t k = 0; k < on; k++) {
            float v = ds->y[r * on + k];
            if (v == 1.0f) {
                ones++;
            } else if (v == 0.0f || v == -1.0f) {
                if (off == 2)
                    off = v;
                else if (v != off)
                    return 0;
            } else {
                return 0;
            }
        }
        if (ones != 1)
            return 0;
    }
    return 1;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Sorted distinct values of the one target column into *vals (≤ max of
 * them); returns their count, or -1 when there are more than max. */
static int distinct_targets(const bp_dataset *ds, int max, float **vals)
{
    float *v = malloc((ds->rows ? ds->rows : 1) * sizeof *v);
    *vals = v;
    if (!v)
        return -2;
    memcpy(v, ds->y, ds->rows * sizeof *v);
    qsort(v, ds->rows, sizeof *v, cmp_float);
    int n = 0;
    for (size_t r = 0; r < ds->rows; r++)
        if (r == 0 || v[r] != v[n - 1]) {
            if (n == max)
                return -1;
            v[n++] = v[r];
        }
    return n;
}

/* One target column holding class labels: classes are the sorted distinct
 * values, named as %g prints them; Y becomes one-hot over them. */
static bp_status labels_from_column(bp_dataset *ds, const float *vals, int k)
{
    int32_t *labels = malloc((ds->rows ? ds->rows : 1) * sizeof *labels);
    float *y = NULL;
    size_t bytes;
    if (!labels || !mul_size(ds->rows, (size_t)k * sizeof(float), &bytes) ||
        !(y = calloc(bytes ? bytes : 1, 1))) {
        free(labels);
        return bp_error(BP_ERR_NOMEM, "out of memory making %d classes of %zu rows", k, ds->rows);
    }
    for (size_t r = 0; r < ds->rows; r++) {
        const float *hit = bsearch(&ds->y[r], vals, (size_t)k, sizeof *vals, cmp_float);
        labels[r] = (int32_t)(hit - vals);
    }
    free(ds->y);
    ds->y = y;
    ds->outputs = k;
    ds->classes = 0;
    bp_status st = bp_dataset_set_labels(ds, labels, k);
    free(labels);
    char(*nb)[32] = malloc((size_t)k * sizeof *nb);
    const char **names = malloc((size_t)k * sizeof *names);
    if (st == BP_OK && (!nb || !names))
        st = bp_error(BP_ERR_NOMEM, "out of memory naming %d classes", k);
    for (int c = 0; st == BP_OK && c < k; c++) {
        snprintf(nb[c], sizeof nb[c], "%.9g", (double)vals[c]);
        names[c] = nb[c];
    }
    if (st == BP_OK)
        st = bp_dataset_set_class_names(ds, k, names);
    free(nb);
    free(names);
    return st;
}

bp_status bp_dataset_detect_task(bp_dataset *ds, int task, const char *name)
{
    if (!ds || task < -1 || task > 1)
        return bp_error(BP_ERR_ARG, "bp_dataset_detect_task: bad argument");
    if (!name)
        name = "data set";
    if (task == 0 || ds->labels)
        return BP_OK;
    if (is_one_hot(ds)) {
        int32_t *labels = malloc((ds->rows ? ds->rows : 1) * sizeof *labels);
        if (!labels)
            return bp_error(BP_ERR_NOMEM, "out of memory for %zu labels", ds->rows);
        size_t on = (size_t)ds->outputs;
        for (size_t r = 0; r < ds->rows; r++)
            for (size_t k = 0; k < on; k++)
                if (ds->y[r * on + k] == 1.0f)
                    labels[r] = (int32_t)k;
        bp_status st = bp_dataset_set_labels(ds, labels, ds->outputs);
        free(labels);
        if (st == BP_OK && task == -1)
            st = bp_dataset_add_note(ds, "%s: the %d target columns are one-hot vectors: read as "
                                     "%d classes (--task regression to keep them as numbers)",
                                     name, ds->outputs, ds->outputs);
        return st;
    }
    if (ds->outputs == 1 && ds->rows > 0) {
        int integral = 1;
        for (size_t r = 0; r < ds->rows && integral; r++)
            integral = ds->y[r] == floorf(ds->y[r]) && isfinite(ds->y[r]);
        float *vals;
        int k = distinct_targets(ds, task == 1 ? ANY_MAX_CLASSES : DETECT_MAX_CLASSES, &vals);
        bp_status st = BP_OK;
        if (k == -2)
            st = bp_error(BP_ERR_NOMEM, "out of memory reading the targets of %s", name);
        else if (task == 1 && k < 0)
            st = bp_error(BP_ERR_ARG, "%s: more than %d distinct class labels", name,
                          ANY_MAX_CLASSES);
        else if (task == 1 || (integral && k >= 2 && (size_t)k * 5 <= ds->rows)) {
            st = labels_from_column(ds, vals, k);
            if (st == BP_OK && task == -1)
                st = bp_dataset_add_note(ds, "%s: the target has %d distinct whole-number values: "
                                         "read as %d classes in sorted order (--task regression "
                                         "to predict the numbers)", name, k, k);
        }
        free(vals);
        return st;
    }
    if (task == 1)
        return bp_error(BP_ERR_ARG, "%s: --task classification needs one target column of class "
                        "labels or one-hot target vectors (one 1 per row, the rest 0 or -1); it "
                        "has %d target columns that are not one-hot", name, ds->outputs);
    return BP_OK;
}
