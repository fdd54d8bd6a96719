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
#include <string.h>

#include "backprop.h"
#include "rng.h"

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

static void free_names(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
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
    free_names(ds->class_names, ds->n_class_names);
    free_names(ds->input_names, ds->inputs);
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
        free_names(ds->class_names, ds->n_class_names);
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

/* Copies n names (each non-NULL) into a fresh array. */
static bp_status copy_names(char ***out, int n, const char *const *names, const char *what)
{
    *out = NULL;
    char **copy = calloc((size_t)n, sizeof *copy);
    if (!copy)
        return bp_error(BP_ERR_NOMEM, "out of memory copying %d %s names", n, what);
    for (int i = 0; i < n; i++) {
        if (!names[i]) {
            free_names(copy, n);
            return bp_error(BP_ERR_ARG, "%s name %d is NULL", what, i + 1);
        }
        copy[i] = dup_string(names[i]);
        if (!copy[i]) {
            free_names(copy, n);
            return bp_error(BP_ERR_NOMEM, "out of memory copying %d %s names", n, what);
        }
    }
    *out = copy;
    return BP_OK;
}

bp_status bp_dataset_set_class_names(bp_dataset *ds, int classes, const char *const *names)
{
    if (!ds)
        return bp_error(BP_ERR_ARG, "bp_dataset_set_class_names: data set is NULL");
    if (!names) {
        free_names(ds->class_names, ds->n_class_names);
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
    bp_status st = copy_names(&copy, classes, names, "class");
    if (st != BP_OK)
        return st;
    free_names(ds->class_names, ds->n_class_names);
    ds->class_names = copy;
    ds->n_class_names = classes;
    return BP_OK;
}

const char *bp_dataset_class_name(const bp_dataset *ds, int k)
{
    if (!ds || !ds->class_names || k < 0 || k >= ds->n_class_names)
        return NULL;
    return ds->class_names[k];
}

bp_status bp_dataset_set_input_names(bp_dataset *ds, const char *const *names)
{
    if (!ds)
        return bp_error(BP_ERR_ARG, "bp_dataset_set_input_names: data set is NULL");
    char **copy = NULL;
    if (names) {
        bp_status st = copy_names(&copy, ds->inputs, names, "input");
        if (st != BP_OK)
            return st;
    }
    free_names(ds->input_names, ds->inputs);
    ds->input_names = copy;
    return BP_OK;
}

const char *bp_dataset_input_name(const bp_dataset *ds, int i)
{
    if (!ds || !ds->input_names || i < 0 || i >= ds->inputs)
        return NULL;
    return ds->input_names[i];
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
    if (st != BP_OK) {
        bp_dataset_free(sub);
        return st;
    }
    *out = sub;
    return BP_OK;
}

bp_status bp_dataset_split(const bp_dataset *ds, double fraction, uint64_t seed,
                           bp_dataset **first, bp_dataset **second)
{
    if (first)
        *first = NULL;
    if (second)
        *second = NULL;
    if (!first || !second)
        return bp_error(BP_ERR_ARG, "bp_dataset_split: NULL output");
    if (!ds)
        return bp_error(BP_ERR_ARG, "bp_dataset_split: data set is NULL");
    if (!(fraction > 0.0 && fraction < 1.0))
        return bp_error(BP_ERR_ARG, "bp_dataset_split: fraction must be between 0 and 1 "
                        "(exclusive), got %g", fraction);
    size_t rows = ds->rows;
    if (rows < 2)
        return bp_error(BP_ERR_ARG, "bp_dataset_split: a data set of %zu rows cannot be split "
                        "in two non-empty parts", rows);
    /* The second part gets round(rows·fraction) rows, at least 1, at most rows − 1. */
    size_t n2 = (size_t)floor((double)rows * fraction + 0.5);
    if (n2 == 0)
        n2 = 1;
    if (n2 >= rows)
        n2 = rows - 1;
    size_t bytes;
    if (!mul_size(rows, sizeof(size_t), &bytes))
        return bp_error(BP_ERR_NOMEM, "bp_dataset_split: size overflows");
    size_t *perm = malloc(bytes);
    if (!perm)
        return bp_error(BP_ERR_NOMEM, "out of memory shuffling %zu rows", rows);
    for (size_t i = 0; i < rows; i++)
        perm[i] = i;
    bp_rng rng;
    bp_rng_seed(&rng, seed, BP_STREAM_SPLIT);
    bp_rng_shuffle(&rng, perm, rows);
    size_t n1 = rows - n2;
    bp_status st = bp_dataset_subset(ds, perm, n1, first);
    if (st == BP_OK)
        st = bp_dataset_subset(ds, perm + n1, n2, second);
    free(perm);
    if (st != BP_OK) {
        bp_dataset_free(*first);
        *first = NULL;
        return st;
    }
    return BP_OK;
}

bp_status bp_dataset_split_stratified(const bp_dataset *ds, double fraction, uint64_t seed,
                                      bp_dataset **first, bp_dataset **second)
{
    if (first)
        *first = NULL;
    if (second)
        *second = NULL;
    if (!first || !second)
        return bp_error(BP_ERR_ARG, "bp_dataset_split_stratified: NULL output");
    if (!ds)
        return bp_error(BP_ERR_ARG, "bp_dataset_split_stratified: data set is NULL");
    if (!ds->labels || ds->classes < 1)
        return bp_dataset_split(ds, fraction, seed, first, second);
    if (!(fraction > 0.0 && fraction < 1.0))
        return bp_error(BP_ERR_ARG, "bp_dataset_split_stratified: fraction must be between 0 "
                        "and 1 (exclusive), got %g", fraction);
    size_t rows = ds->rows, bytes;
    if (rows < 2)
        return bp_error(BP_ERR_ARG, "bp_dataset_split_stratified: a data set of %zu rows "
                        "cannot be split in two non-empty parts", rows);
    if (!mul_size(rows, 2 * sizeof(size_t), &bytes))
        return bp_error(BP_ERR_NOMEM, "bp_dataset_split_stratified: size overflows");
    int K = ds->classes;
    size_t *perm = malloc(bytes), *count = calloc((size_t)K, 2 * sizeof(size_t));
    if (!perm || !count) {
        free(perm);
        free(count);
        return bp_error(BP_ERR_NOMEM, "out of memory shuffling %zu rows", rows);
    }
    for (size_t i = 0; i < rows; i++)
        perm[i] = i;
    /* The same shuffle as bp_dataset_split; then each class gives its first
     * round(n_c·fraction) shuffled rows (at least one when it has two or
     * more, never all) to the second part, so both parts keep its share. */
    bp_rng rng;
    bp_rng_seed(&rng, seed, BP_STREAM_SPLIT);
    bp_rng_shuffle(&rng, perm, rows);
    size_t *quota = count + K;
    for (size_t i = 0; i < rows; i++) {
        int32_t c = ds->labels[i];
        if (c >= 0 && c < K)
            count[c]++;
    }
    for (int c = 0; c < K; c++) {
        size_t q = (size_t)floor((double)count[c] * fraction + 0.5);
        if (q == 0 && count[c] >= 2)
            q = 1;
        if (q >= count[c] && count[c] > 0)
            q = count[c] - 1;
        quota[c] = q;
    }
    size_t *part1 = perm + rows, n1 = 0, n2 = 0;
    for (size_t i = 0; i < rows; i++) {
        int32_t c = ds->labels[perm[i]];
        if (c >= 0 && c < K && quota[c] > 0) {
            quota[c]--;
            perm[n2++] = perm[i]; /* n2 <= i: overwrites only rows already placed */
        } else {
            part1[n1++] = perm[i];
        }
    }
    bp_status st = BP_OK;
    if (n2 == 0 || n1 == 0)
        st = bp_dataset_split(ds, fraction, seed, first, second);
    else if ((st = bp_dataset_subset(ds, part1, n1, first)) == BP_OK &&
             (st = bp_dataset_subset(ds, perm, n2, second)) != BP_OK) {
        bp_dataset_free(*first);
        *first = NULL;
    }
    free(perm);
    free(count);
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
