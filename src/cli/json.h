/* A small JSON writer for the CLI's machine-readable output (--json), and the
 * metrics reports built on it.
 *
 * Values are written as they come; the writer only remembers, per nesting
 * level, whether a comma is due.  Strings are escaped per RFC 8259 (quote,
 * backslash, control characters; bytes that are not UTF-8 become U+FFFD), and
 * numbers that JSON cannot hold (NaN, ±Inf) are written as null. */
#ifndef BP_CLI_JSON_H
#define BP_CLI_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "backprop.h"

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
    FILE *fp;
    int depth;
    int count[JSON_MAX_DEPTH]; /* values written so far at each level */
    int flat[JSON_MAX_DEPTH];  /* level written on one line */
} json_writer;

void json_init(json_writer *w, FILE *fp);
/* `key` names the value inside an object; pass NULL inside arrays and at the top. */
void json_object_begin(json_writer *w, const char *key);
void json_object_end(json_writer *w);
void json_array_begin(json_writer *w, const char *key);
void json_array_end(json_writer *w);
/* An array kept on one line (a row of numbers, a list of labels). */
void json_flat_array_begin(json_writer *w, const char *key);
void json_string(json_writer *w, const char *key, const char *value); /* NULL → null */
void json_number(json_writer *w, const char *key, double value);     /* NaN/Inf → null */
void json_integer(json_writer *w, const char *key, long long value);
void json_bool(json_writer *w, const char *key, int value);
void json_null(json_writer *w, const char *key);

/* Name of class k for a report (the model's, else the data's, else "k"). */
typedef const char *(*json_class_name_fn)(int k, char *buf, size_t cap, void *user);

/* A json_class_name_fn for models: user points to a json_names; the name
 * comes from class_name() (common.h), else the class's index. */
typedef struct json_names {
    const bp_net *net;
    const bp_dataset *ds;
} json_names;
const char *json_model_class_name(int k, char *buf, size_t cap, void *user);

/* Writes m as an object under `key`: rows, loss and, for classification,
 * accuracy, per-class precision/recall/F1/support, macro and weighted averages
 * and the confusion matrix with its labels; for regression MSE, RMSE, MAE, R². */
void json_metrics(json_writer *w, const char *key, const bp_metrics *m, json_class_name_fn name,
                  void *user);

/* --json sends the document to standard output and everything meant for
 * people (progress, the text report) to standard error, so a pipe gets pure
 * JSON.  json_stdout_begin moves stdout to stderr and returns a stream on the
 * original stdout (NULL on failure, with a message); json_stdout_end flushes
 * and closes it and returns 0, or 1 after saying why the write failed. */
FILE *json_stdout_begin(const char *cmd);
int json_stdout_end(const char *cmd, FILE *fp);

#endif
