/* A small JSON writer and the metrics report built on it (see json.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "json.h"

void json_init(json_writer *w, FILE *fp)
{
    memset(w, 0, sizeof *w);
    w->fp = fp;
}

/* Length of the valid UTF-8 sequence at s (no overlongs, no surrogates), or 0. */
static int utf8_seq(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
          : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0;
    if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

static void put_string(FILE *fp, const char *value)
{
    fputc('"', fp);
    const unsigned char *s = (const unsigned char *)value;
    while (*s) {
        int n = utf8_seq(s);
        if (n == 0) { /* not UTF-8: JSON text must be, so say so visibly */
            fputs("\\ufffd", fp);
            s++;
            continue;
        }
        if (*s == '"' || *s == '\\')
            fprintf(fp, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", fp);
        else if (*s == '\t')
            fputs("\\t", fp);
        else if (*s == '\r')
            fputs("\\r", fp);
        else if (*s < 0x20 || *s == 0x7F)
            fprintf(fp, "\\u%04x", *s);
        else
            fwrite(s, 1, (size_t)n, fp);
        s += n;
    }
    fputc('"', fp);
}

/* Comma, line break and indentation before a value, then its key. */
static void json_prefix(json_writer *w, const char *key)
{
    int d = w->depth;
    if (d > 0) {
        if (w->count[d]++)
            fputc(',', w->fp);
        if (w->flat[d]) {
            if (w->count[d] > 1)
                fputc(' ', w->fp);
        } else {
            fputc('\n', w->fp);
            for (int i = 0; i < d; i++)
                fputs("  ", w->fp);
        }
    }
    if (key) {
        put_string(w->fp, key);
        fputs(": ", w->fp);
    }
}

static void json_open(json_writer *w, const char *key, char bracket, int flat)
{
    json_prefix(w, key);
    fputc(bracket, w->fp);
    if (w->depth + 1 < JSON_MAX_DEPTH) {
        w->depth++;
        w->count[w->depth] = 0;
        w->flat[w->depth] = flat || (w->depth > 1 && w->flat[w->depth - 1]);
    }
}

static void json_close(json_writer *w, char bracket)
{
    int d = w->depth;
    if (d > 0 && w->count[d] && !w->flat[d]) {
        fputc('\n', w->fp);
        for (int i = 0; i < d - 1; i++)
            fputs("  ", w->fp);
    }
    fputc(bracket, w->fp);
    if (d > 0)
        w->depth--;
    if (w->depth == 0)
        fputc('\n', w->fp); /* the document ends its line */
}

void json_object_begin(json_writer *w, const char *key) { json_open(w, key, '{', 0); }
void json_object_end(json_writer *w) { json_close(w, '}'); }
void json_array_begin(json_writer *w, const char *key) { json_open(w, key, '[', 0); }
void json_flat_array_begin(json_writer *w, const char *key) { json_open(w, key, '[', 1); }
void json_array_end(json_writer *w) { json_close(w, ']'); }

void json_string(json_writer *w, const char *key, const char *value)
{
    json_prefix(w, key);
    if (value)
        put_string(w->fp, value);
    else
        fputs("null", w->fp);
}

void json_number(json_writer *w, const char *key, double value)
{
    json_prefix(w, key);
    if (isfinite(value)) { /* the shortest of %.15g … %.17g that reads back exactly */
        char buf[32];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(buf, sizeof buf, "%.*g", digits, value);
            if (strtod(buf, NULL) == value)
                break;
        }
        fputs(buf, w->fp);
    } else
        fputs("null", w->fp);
}

void json_integer(json_writer *w, const char *key, long long value)
{
    json_prefix(w, key);
    fprintf(w->fp, "%lld", value);
}

void json_bool(json_writer *w, const char *key, int value)
{
    json_prefix(w, key);
    fputs(value ? "true" : "false", w->fp);
}

void json_null(json_writer *w, const char *key)
{
    json_prefix(w, key);
    fputs("null", w->fp);
}

const char *json_model_class_name(int k, char *buf, size_t cap, void *user)
{
    const json_names *u = user;
    const char *name = class_name(u->net, u->ds, k, buf, cap);
    if (name)
        return name;
    snprintf(buf, cap, "%d", k);
    return buf;
}

/* ---- metrics ------------------------------------------------------------- */

static void json_averages(json_writer *w, const char *key, double p, double r, double f,
                          size_t support)
{
    json_object_begin(w, key);
    json_number(w, "precision", p);
    json_number(w, "recall", r);
    json_number(w, "f1", f);
    json_integer(w, "support", (long long)support);
    json_object_end(w);
}

static void json_classification(json_writer *w, const bp_metrics *m, json_class_name_fn name,
                                void *user)
{
    size_t k = (size_t)m->classes;
    char buf[256];
    json_number(w, "accuracy", m->accuracy);
    /* Per-class support is the confusion matrix's row sum (true class). */
    double macro[3] = {0, 0, 0}, weighted[3] = {0, 0, 0};
    size_t total = 0;
    json_array_begin(w, "classes");
    for (size_t c = 0; c < k; c++) {
        size_t support = 0;
        for (size_t j = 0; j < k; j++)
            support += m->confusion[c * k + j];
        total += support;
        double v[3] = {m->precision[c], m->recall[c], m->f1[c]};
        for (int i = 0; i < 3; i++) {
            macro[i] += v[i] / (double)k;
            weighted[i] += v[i] * (double)support;
        }
        json_object_begin(w, NULL);
        json_string(w, "class", name(c, buf, sizeof buf, user));
        json_number(w, "precision", v[0]);
        json_number(w, "recall", v[1]);
        json_number(w, "f1", v[2]);
        json_integer(w, "support", (long long)support);
        json_object_end(w);
    }
    json_array_end(w);
    for (int i = 0; i < 3; i++)
        weighted[i] = total ? weighted[i] / (double)total : NAN;
    json_averages(w, "macro_avg", macro[0], macro[1], macro[2], total);
    json_averages(w, "weighted_avg", weighted[0], weighted[1], weighted[2], total);
    json_object_begin(w, "confusion_matrix");
    json_flat_array_begin(w, "labels");
    for (size_t c = 0; c < k; c++)
        json_string(w, NULL, name((int)c, buf, sizeof buf, user));
    json_array_end(w);
    json_string(w, "rows", "true class");
    json_string(w, "columns", "predicted class");
    json_array_begin(w, "matrix");
    for (size_t r = 0; r < k; r++) {
        json_flat_array_begin(w, NULL);
        for (size_t c = 0; c < k; c++)
            json_integer(w, NULL, (long long)m->confusion[r * k + c]);
        json_array_end(w);
    }
    json_array_end(w);
    json_object_end(w);
}

void json_metrics(json_writer *w, const char *key, const bp_metrics *m, json_class_name_fn name,
                  void *user)
{
    json_object_begin(w, key);
    json_string(w, "task", m->classes ? "classification" : "regression");
    json_integer(w, "rows", (long long)m->rows);
    json_number(w, "loss", m->loss);
    if (m->classes) {
        json_classification(w, m, name, user);
    } else {
        json_number(w, "mse", m->mse);
        json_number(w, "rmse", m->mse >= 0 ? sqrt(m->mse) : NAN);
        json_number(w, "mae", m->mae);
        json_number(w, "r2", m->r2);
    }
    json_object_end(w);
}

/* ---- the document on standard output -------------------------------------- */

FILE *json_stdout_begin(const char *cmd)
{
    fflush(stdout);
    int fd = dup(STDOUT_FILENO);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!fp || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fprintf(stderr, "backprop %s: --json: cannot set up standard output: %s\n", cmd,
                strerror(errno));
        if (fp)
            fclose(fp);
        else if (fd >= 0)
            close(fd);
        return NULL;
    }
    return fp;
}

int json_stdout_end(const char *cmd, FILE *fp)
{
    fflush(stdout); /* the text report first, then any complaint about the JSON */
    int bad = fflush(fp) != 0 || ferror(fp);
    int err = errno;
    if (fclose(fp) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad)
        fprintf(stderr, "backprop %s: standard output: write failed: %s\n", cmd,
                strerror(err ? err : EIO));
    return bad;
}
