#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

static cli_option *find_long(cli_args *args, const char *name, size_t len)
{
    for (int i = 0; i < args->n_options; i++)
        if (strlen(args->options[i].long_name) == len &&
            strncmp(args->options[i].long_name, name, len) == 0)
            return &args->options[i];
    return NULL;
}

static cli_option *find_short(cli_args *args, char c)
{
    for (int i = 0; i < args->n_options; i++)
        if (args->options[i].short_name == c)
            return &args->options[i];
    return NULL;
}

/* Levenshtein distance between a[0..la) and b, capped at 9: enough to rank
 * near misses like "epoch" for "epochs". */
static int edit_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    if (la > 40 || lb > 40)
        return 9;
    int prev[41], cur[41];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof cur);
    }
    return prev[lb] < 9 ? prev[lb] : 9;
}

/* The long option closest to an unknown one: a unique option it abbreviates,
 * else the nearest within two edits (and less than half its length). */
static const cli_option *closest_long(const cli_args *args, const char *name, size_t len)
{
    const cli_option *best = NULL, *prefix = NULL;
    int best_d = 3, n_prefix = 0;
    for (int i = 0; i < args->n_options; i++) {
        const cli_option *o = &args->options[i];
        if (len && strncmp(o->long_name, name, len) == 0) {
            prefix = o;
            n_prefix++;
        }
        int d = edit_distance(name, len, o->long_name);
        if (d < best_d && (size_t)d * 2 < len) {
            best_d = d;
            best = o;
        }
    }
    if (n_prefix == 1)
        return prefix;
    return best;
}

void cli_print_help(const cli_args *args, const char *command, const char *usage,
                    const char *description)
{
    printf("Usage: backprop %s %s\n%s\n\nOptions:\n", command, usage, description);
    for (int i = 0; i < args->n_options; i++) {
        const cli_option *o = &args->options[i];
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : "",
                 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->long_name,
                 o->takes_value ? " " : "", o->takes_value ? o->value_name : "");
        printf("  %-28s %s\n", left, o->help);
    }
    printf("  %-28s %s\n", "-h, --help", "show this help and exit");
}

int cli_parse(cli_args *args, const char *command, const char *usage, int argc, char **argv)
{
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        cli_option *o = NULL;
        const char *value = NULL;
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (args->n_positional == 16) {
                fprintf(stderr, "backprop %s: too many arguments\n", command);
                return 2;
            }
            args->positional[args->n_positional++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            only_positional = 1;
            continue;
        }
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
            return 1;
        if (arg[1] == '-') {
            const char *eq = strchr(arg + 2, '=');
            size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
            o = find_long(args, arg + 2, len);
            if (eq)
                value = eq + 1;
        } else if (arg[2] == '\0') {
            o = find_short(args, arg[1]);
        } else if ((o = find_short(args, arg[1])) != NULL && o->takes_value) {
            value = arg + 2; /* -ofile */
        } else {
            o = NULL;
        }
        if (!o) {
            const cli_option *near = NULL;
            if (arg[1] == '-') {
                const char *eq = strchr(arg + 2, '=');
                near = closest_long(args, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
            }
            if (near)
                fprintf(stderr, "backprop %s: unknown option '%s'; did you mean '--%s'?\n"
                                "Try 'backprop %s --help'.\n", command, arg, near->long_name,
                        command);
            else
                fprintf(stderr, "backprop %s: unknown option '%s'\nTry 'backprop %s --help'.\n",
                        command, arg, command);
            return 2;
        }
        if (o->takes_value && !value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "backprop %s: option '%s' needs a value (%s)\n", command, arg,
                        o->value_name);
                return 2;
            }
            value = argv[++i];
        } else if (!o->takes_value && value) {
            fprintf(stderr, "backprop %s: option '--%s' takes no value\n", command, o->long_name);
            return 2;
        }
        o->value = o->takes_value ? value : "1";
    }
    (void)usage;
    return 0;
}

const char *cli_get(const cli_args *args, const char *long_name)
{
    for (int i = 0; i < args->n_options; i++)
        if (!strcmp(args->options[i].long_name, long_name))
            return args->options[i].value;
    return NULL;
}

int cli_int(const char *command, const char *name, const char *text, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "backprop %s: --%s: expected a whole number in %ld..%ld, got '%s'\n",
                command, name, lo, hi, text);
        return 2;
    }
    *out = (int)v;
    return 0;
}

int cli_float(const char *command, const char *name, const char *text, float *out)
{
    char *end;
    float v = strtof(text, &end);
    if (end == text || *end || !isfinite(v)) {
        fprintf(stderr, "backprop %s: --%s: expected a number, got '%s'\n", command, name, text);
        return 2;
    }
    *out = v;
    return 0;
}

int cli_float_list(const char *command, const char *name, const char *text, float **out, int *n)
{
    int count = 1;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    float *v = malloc((size_t)count * sizeof *v);
    if (!v) {
        fprintf(stderr, "backprop %s: out of memory\n", command);
        return 1;
    }
    const char *p = text;
    for (int i = 0; i < count; i++) {
        char *end;
        v[i] = strtof(p, &end);
        if (end == p || (*end && *end != ',') || !isfinite(v[i])) {
            fprintf(stderr, "backprop %s: --%s: value %d of '%s' is not a number\n", command, name,
                    i + 1, text);
            free(v);
            return 2;
        }
        p = *end ? end + 1 : end;
    }
    *out = v;
    *n = count;
    return 0;
}
