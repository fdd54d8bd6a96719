/*
 * The text network format (.net): a human-readable statement of a whole
 * network — layers, activations, bias flags, every weight and bias — plus an
 * optional training sample and learning rate.  docs/net-format.md is the
 * reference; this file is its parser and writer.
 *
 * The parser is line-oriented so every error can name the file and line.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"
#include "nn/error.h"

#define NET_FORMAT_VERSION 1
#define NET_MAX_FILE_BYTES ((size_t)1 << 31)

typedef struct {
    const char *name;  /* file name for messages */
    int line;
    char **tok;        /* tokens of the current line (point into the line buffer) */
    int ntok, captok;
} parser;

typedef struct {
    bp_layer_spec spec;
    float *weights;    /* [units][fan_in] once read */
    float *biases;     /* [units] once read */
    int weights_line;
} layer_in;

static bp_status perr(const parser *p, const char *fmt, const char *a, const char *b)
{
    char what[512];
    snprintf(what, sizeof what, fmt, a ? a : "", b ? b : "");
    return bp_error(BP_ERR_PARSE, "%s:%d: %s", p->name, p->line, what);
}

/* Splits one line (modified in place) into tokens; '#' starts a comment
 * when it begins a token. */
static bp_status tokenize(parser *p, char *line)
{
    p->ntok = 0;
    char *c = line;
    for (;;) {
        while (*c == ' ' || *c == '\t' || *c == '\r')
            c++;
        if (!*c || *c == '#')
            break;
        if (p->ntok == p->captok) {
            int cap = p->captok ? p->captok * 2 : 64;
            char **bigger = realloc(p->tok, (size_t)cap * sizeof *bigger);
            if (!bigger)
                return bp_error(BP_ERR_NOMEM, "%s:%d: out of memory", p->name, p->line);
            p->tok = bigger;
            p->captok = cap;
        }
        p->tok[p->ntok++] = c;
        while (*c && *c != ' ' && *c != '\t' && *c != '\r')
            c++;
        if (*c)
            *c++ = '\0';
    }
    return BP_OK;
}

static bp_status parse_float(const parser *p, const char *tok, float *out, const char *what)
{
    char *end;
    errno = 0;
    float v = strtof(tok, &end);
    if (end == tok || *end)
        return perr(p, "expected a number for %s, found \"%s\"", what, tok);
    if (!isfinite(v))
        return perr(p, "%s is \"%s\"; only finite numbers are allowed", what, tok);
    *out = v;
    return BP_OK;
}

static bp_status parse_int(const parser *p, const char *tok, long lo, long hi, int *out,
                           const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(tok, &end, 10);
    if (end == tok || *end || errno)
        return perr(p, "expected a whole number for %s, found \"%s\"", what, tok);
    if (v < lo || v > hi) {
        char range[96];
        snprintf(range, sizeof range, "%ld..%ld", lo, hi);
        return perr(p, "%s must be in %s", what, range);
    }
    *out = (int)v;
    return BP_OK;
}

/* Reads tokens 1..n of the line as n floats into a fresh array. */
static bp_status parse_vector(const parser *p, int expected, float **out, const char *what)
{
    if (p->ntok - 1 != expected) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s needs %d values, found %d", what, expected, p->ntok - 1);
        return perr(p, "%s%s", msg, NULL);
    }
    float *v = malloc((size_t)(expected ? expected : 1) * sizeof(float));
    if (!v)
        return bp_error(BP_ERR_NOMEM, "%s:%d: out of memory", p->name, p->line);
    for (int i = 0; i < expected; i++) {
        bp_status st = parse_float(p, p->tok[i + 1], &v[i], what);
        if (st != BP_OK) {
            free(v);
            return st;
        }
    }
    free(*out);
    *out = v;
    return BP_OK;
}

void bp_sample_clear(bp_sample *sample)
{
    if (!sample)
        return;
    free(sample->input);
    free(sample->target);
    memset(sample, 0, sizeof *sample);
}

/* Everything the parser has read so far; the keyword handlers fill it in and
 * build_net turns it into a net once the whole file is read. */
typedef struct {
    parser p;
    layer_in layers[BP_MAX_LAYERS];
    int n_layers, n_inputs, have_header, have_init;
    bp_loss loss;
    bp_init init;
    int init_seed;
    float *shift, *scale, *input, *target;
    int target_line, target_count, have_lr;
    float lr;
    int meta_n;
    char *meta_key[64], *meta_value[64];
    int meta_line[64];
    int pending_rows, pending_layer; /* inside a weights block */
} net_text;

/* One row of a weights block: one weight per input to the layer. */
static bp_status read_weight_row(net_text *s)
{
    parser *p = &s->p;
    layer_in *L = &s->layers[s->pending_layer];
    int fan_in = s->pending_layer ? s->layers[s->pending_layer - 1].spec.units : s->n_inputs;
    int row = L->spec.units - s->pending_rows;
    bp_status st = BP_OK;
    if (p->ntok != fan_in) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "layer %d, neuron %d: expected %d weights (one per input to the layer), "
                 "found %d", s->pending_layer + 1, row + 1, fan_in, p->ntok);
        return perr(p, "%s%s", msg, NULL);
    }
    for (int k = 0; k < fan_in && st == BP_OK; k++)
        st = parse_float(p, p->tok[k], &L->weights[(size_t)row * fan_in + k], "a weight");
    s->pending_rows--;
    return st;
}

static bp_status read_header(net_text *s)
{
    parser *p = &s->p;
    if (strcmp(p->tok[0], "backprop-net") != 0 || p->ntok != 2)
        return perr(p, "expected the header \"backprop-net %s\", found \"%s\"", "1", p->tok[0]);
    int version;
    bp_status st = parse_int(p, p->tok[1], 0, 1000000, &version, "the format version");
    if (st)
        return st;
    if (version != NET_FORMAT_VERSION) {
        char v[32];
        snprintf(v, sizeof v, "%d", version);
        return perr(p, "format version %s is not supported (this build reads version 1)", v,
                    NULL);
    }
    s->have_header = 1;
    return BP_OK;
}

static bp_status kw_inputs(net_text *s)
{
    parser *p = &s->p;
    if (s->n_inputs)
        return perr(p, "inputs given twice%s%s", NULL, NULL);
    if (p->ntok != 2)
        return perr(p, "expected \"inputs N\"%s%s", NULL, NULL);
    return parse_int(p, p->tok[1], 1, BP_MAX_UNITS, &s->n_inputs, "inputs");
}

static bp_status kw_loss(net_text *s)
{
    parser *p = &s->p;
    if (p->ntok != 2)
        return perr(p, "expected \"loss mse|xent|bce\"%s%s", NULL, NULL);
    if (bp_loss_parse(p->tok[1], &s->loss) != BP_OK)
        return perr(p, "unknown loss \"%s\" (expected mse, xent or bce)", p->tok[1], NULL);
    return BP_OK;
}

static bp_status kw_init(net_text *s)
{
    parser *p = &s->p;
    bp_status st = BP_OK;
    if (p->ntok < 2 || p->ntok > 3)
        st = perr(p, "expected \"init xavier|he [SEED]\"%s%s", NULL, NULL);
    else if (bp_init_parse(p->tok[1], &s->init) != BP_OK)
        st = perr(p, "unknown initialiser \"%s\" (expected xavier or he)", p->tok[1], NULL);
    else if (p->ntok == 3)
        st = parse_int(p, p->tok[2], 0, 2147483647, &s->init_seed, "the seed");
    s->have_init = 1;
    return st;
}

/* The words after "layer UNITS ACTIVATION": bias, nobias, slope=S. */
static bp_status layer_options(parser *p, bp_layer_spec *spec)
{
    bp_status st = BP_OK;
    for (int t = 3; t < p->ntok && st == BP_OK; t++) {
        if (!strcmp(p->tok[t], "bias"))
            spec->bias = 1;
        else if (!strcmp(p->tok[t], "nobias"))
            spec->bias = 0;
        else if (!strncmp(p->tok[t], "slope=", 6)) {
            st = parse_float(p, p->tok[t] + 6, &spec->slope, "slope");
            /* Checked here so no written value can pass for "not given". */
            if (st == BP_OK && !(spec->slope >= 0.0f && spec->slope < 1.0f))
                st = perr(p, "layer slope=%s: leaky-ReLU slope must be in [0, 1)%s",
                          p->tok[t] + 6, NULL);
        }
        else
            st = perr(p, "unknown layer option \"%s\" (expected bias, nobias or slope=S)",
                      p->tok[t], NULL);
    }
    return st;
}

static bp_status kw_layer(net_text *s)
{
    parser *p = &s->p;
    if (!s->n_inputs)
        return perr(p, "\"inputs N\" must come before the first layer%s%s", NULL, NULL);
    if (s->n_layers == BP_MAX_LAYERS)
        return perr(p, "too many layers (at most 64)%s%s", NULL, NULL);
    if (p->ntok < 3)
        return perr(p, "expected \"layer UNITS ACTIVATION [bias|nobias] [slope=S]\"%s%s",
                    NULL, NULL);
    layer_in *L = &s->layers[s->n_layers];
    bp_layer_spec_default(&L->spec);
    L->spec.bias = 1;
    L->spec.slope = BP_SLOPE_DEFAULT; /* unless slope= is given */
    bp_status st = parse_int(p, p->tok[1], 1, BP_MAX_UNITS, &L->spec.units, "units");
    if (st)
        return st;
    if (bp_activation_parse(p->tok[2], &L->spec.act) != BP_OK)
        return perr(p, "unknown activation \"%s\" (expected linear, sigmoid, tanh, relu, "
                       "leaky-relu or softmax)%s", p->tok[2], NULL);
    st = layer_options(p, &L->spec);
    /* Checked here, not only by bp_net_create, so the message has the line. */
    if (st == BP_OK && L->spec.act == BP_ACT_SOFTMAX && L->spec.units == 1)
        st = perr(p, "softmax on a single unit always outputs 1 and learns nothing; for "
                     "one output use sigmoid (loss bce), or give softmax 2 units%s%s",
                  NULL, NULL);
    s->n_layers++;
    return st;
}

static bp_status kw_weights(net_text *s)
{
    parser *p = &s->p;
    if (!s->n_layers)
        return perr(p, "\"weights\" before any \"layer\"%s%s", NULL, NULL);
    layer_in *L = &s->layers[s->n_layers - 1];
    if (L->weights) {
        char msg[120];
        snprintf(msg, sizeof msg, "layer %d already has weights (from line %d)", s->n_layers,
                 L->weights_line);
        return perr(p, "%s%s", msg, NULL);
    }
    if (p->ntok != 1)
        return perr(p, "\"weights\" stands alone on its line; the rows follow%s%s", NULL, NULL);
    int fan_in = s->n_layers > 1 ? s->layers[s->n_layers - 2].spec.units : s->n_inputs;
    L->weights = malloc((size_t)L->spec.units * (size_t)fan_in * sizeof(float));
    if (!L->weights)
        return bp_error(BP_ERR_NOMEM, "%s:%d: out of memory", p->name, p->line);
    L->weights_line = p->line;
    s->pending_rows = L->spec.units;
    s->pending_layer = s->n_layers - 1;
    return BP_OK;
}

static bp_status kw_biases(net_text *s)
{
    parser *p = &s->p;
    if (!s->n_layers)
        return perr(p, "\"biases\" before any \"layer\"%s%s", NULL, NULL);
    layer_in *L = &s->layers[s->n_layers - 1];
    if (!L->spec.bias)
        return perr(p, "biases given for a layer declared nobias%s%s", NULL, NULL);
    return parse_vector(p, L->spec.units, &L->biases, "biases");
}

/* scaling-shift and scaling-scale */
static bp_status kw_scaling(net_text *s)
{
    parser *p = &s->p;
    const char *kw = p->tok[0];
    if (!s->n_inputs)
        return perr(p, "\"inputs N\" must come before %s", kw, NULL);
    return parse_vector(p, s->n_inputs, kw[8] == 's' && kw[9] == 'h' ? &s->shift : &s->scale,
                        kw);
}

static bp_status kw_meta(net_text *s)
{
    parser *p = &s->p;
    if (p->ntok < 3)
        return perr(p, "expected \"meta KEY VALUE\"%s%s", NULL, NULL);
    if (s->meta_n == 64)
        return perr(p, "too many meta lines (at most 64)%s%s", NULL, NULL);
    /* The value is the rest of the line, spaces kept as single spaces. */
    size_t vlen = 0;
    for (int t = 2; t < p->ntok; t++)
        vlen += strlen(p->tok[t]) + 1;
    char *v = malloc(vlen);
    char *k = malloc(strlen(p->tok[1]) + 1);
    if (!v || !k) {
        free(v);
        free(k);
        return bp_error(BP_ERR_NOMEM, "%s:%d: out of memory", p->name, p->line);
    }
    strcpy(k, p->tok[1]);
    v[0] = '\0';
    for (int t = 2; t < p->ntok; t++) {
        if (t > 2)
            strcat(v, " ");
        strcat(v, p->tok[t]);
    }
    s->meta_line[s->meta_n] = p->line;
    s->meta_key[s->meta_n] = k;
    s->meta_value[s->meta_n++] = v;
    return BP_OK;
}

static bp_status kw_input(net_text *s)
{
    parser *p = &s->p;
    if (!s->n_inputs)
        return perr(p, "\"inputs N\" must come before \"input\"%s%s", NULL, NULL);
    return parse_vector(p, s->n_inputs, &s->input, "input");
}

static bp_status kw_target(net_text *s)
{
    parser *p = &s->p;
    bp_status st = parse_vector(p, p->ntok - 1, &s->target, "target");
    s->target_line = p->line;
    s->target_count = p->ntok - 1;
    return st;
}

static bp_status kw_lr(net_text *s)
{
    parser *p = &s->p;
    bp_status st;
    if (p->ntok != 2)
        st = perr(p, "expected \"lr VALUE\"%s%s", NULL, NULL);
    else if ((st = parse_float(p, p->tok[1], &s->lr, "the learning rate")) == BP_OK &&
             !(s->lr > 0))
        st = perr(p, "the learning rate must be positive%s%s", NULL, NULL);
    s->have_lr = 1;
    return st;
}

static const struct {
    const char *kw;
    bp_status (*handle)(net_text *s);
} keywords[] = {
    {"inputs", kw_inputs},         {"loss", kw_loss},     {"init", kw_init},
    {"layer", kw_layer},           {"weights", kw_weights}, {"biases", kw_biases},
    {"scaling-shift", kw_scaling}, {"scaling-scale", kw_scaling},
    {"meta", kw_meta},             {"input", kw_input},   {"target", kw_target},
    {"lr", kw_lr},
};

/* One tokenized, non-empty line: a weight row, the header, or a keyword line. */
static bp_status read_line(net_text *s)
{
    if (s->pending_rows > 0)
        return read_weight_row(s);
    if (!s->have_header)
        return read_header(s);
    const char *kw = s->p.tok[0];
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (!strcmp(kw, keywords[i].kw))
            return keywords[i].handle(s);
    return perr(&s->p, "unknown keyword \"%s\" (expected inputs, loss, init, layer, weights, "
                       "biases, scaling-shift, scaling-scale, meta, input, target or lr)%s",
                kw, NULL);
}

/* Reads every line of buf (len bytes, NUL-terminated, modified in place). */
static bp_status read_lines(net_text *s, char *buf, size_t len)
{
    bp_status st = BP_OK;
    char *line = buf;
    /* A UTF-8 byte-order mark is harmless; skip it. */
    if (len >= 3 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        line += 3;
    while (line && st == BP_OK) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        s->p.line++;
        if ((st = tokenize(&s->p, line)) != BP_OK)
            break;
        line = next;
        if (s->p.ntok == 0)
            continue;
        st = read_line(s);
    }
    return st;
}

/* What can only be checked once the whole file is read. */
static bp_status check_complete(const net_text *s)
{
    const char *name = s->p.name;
    if (s->pending_rows > 0) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%s: end of file inside the weights of layer %d (line %d): %d of %d neuron rows "
                 "missing", name, s->pending_layer + 1, s->layers[s->pending_layer].weights_line,
                 s->pending_rows, s->layers[s->pending_layer].spec.units);
        return bp_error(BP_ERR_PARSE, "%s", msg);
    }
    if (!s->have_header)
        return bp_error(BP_ERR_PARSE, "%s: empty file; expected the header \"backprop-net 1\"",
                        name);
    if (!s->n_inputs)
        return bp_error(BP_ERR_PARSE, "%s: no \"inputs N\" line", name);
    if (!s->n_layers)
        return bp_error(BP_ERR_PARSE, "%s: no \"layer\" line; a net needs at least one layer",
                        name);
    for (int l = 0; l < s->n_layers; l++) {
        const layer_in *L = &s->layers[l];
        if (!L->weights && !s->have_init)
            return bp_error(BP_ERR_PARSE,
                            "%s: layer %d has no weights; give a \"weights\" block or an "
                            "\"init xavier|he [SEED]\" line", name, l + 1);
        else if (L->spec.bias && !L->biases && L->weights && !s->have_init)
            return bp_error(BP_ERR_PARSE,
                            "%s: layer %d has a bias but no \"biases\" line (declare it nobias, "
                            "or give its biases)", name, l + 1);
    }
    if ((!s->shift) != (!s->scale))
        return bp_error(BP_ERR_PARSE, "%s: scaling needs both scaling-shift and scaling-scale",
                        name);
    return BP_OK;
}

/* Creates the net that was read and fills in its parameters, scaling and meta. */
static bp_status build_net(const net_text *s, bp_net **out)
{
    const char *name = s->p.name;
    bp_net *net = NULL;
    bp_layer_spec specs[BP_MAX_LAYERS];
    for (int l = 0; l < s->n_layers; l++)
        specs[l] = s->layers[l].spec;
    bp_status st = bp_net_create(&net, s->n_inputs, s->n_layers, specs, s->loss);
    if (st != BP_OK)
        return bp_error_prefix(BP_ERR_PARSE, "%s: ", name);
    if (s->have_init)
        st = bp_net_init(net, s->init, (uint64_t)s->init_seed);
    for (int l = 0; st == BP_OK && l < s->n_layers; l++) {
        const layer_in *L = &s->layers[l];
        int fan_in = bp_net_fan_in(net, l);
        if (L->weights)
            memcpy(bp_net_weights(net, l), L->weights,
                   (size_t)L->spec.units * (size_t)fan_in * sizeof(float));
        if (L->biases)
            memcpy(bp_net_biases(net, l), L->biases, (size_t)L->spec.units * sizeof(float));
    }
    if (st == BP_OK && s->shift)
        st = bp_net_set_scaling(net, s->shift, s->scale);
    for (int i = 0; st == BP_OK && i < s->meta_n; i++)
        if ((st = bp_net_set_meta(net, s->meta_key[i], s->meta_value[i])) != BP_OK)
            st = bp_error_prefix(BP_ERR_PARSE, "%s:%d: meta %s: ", name, s->meta_line[i],
                                 s->meta_key[i]);
    if (st == BP_OK && s->target && s->target_count != bp_net_outputs(net))
        st = bp_error(BP_ERR_PARSE, "%s:%d: target has %d values but the net has %d outputs",
                      name, s->target_line, s->target_count, bp_net_outputs(net));
    if (st != BP_OK) {
        bp_net_free(net);
        return st;
    }
    *out = net;
    return BP_OK;
}

static void net_text_free(net_text *s)
{
    free(s->p.tok);
    free(s->shift);
    free(s->scale);
    free(s->input);
    free(s->target);
    for (int l = 0; l < BP_MAX_LAYERS; l++) {
        free(s->layers[l].weights);
        free(s->layers[l].biases);
    }
    for (int i = 0; i < s->meta_n; i++) {
        free(s->meta_key[i]);
        free(s->meta_value[i]);
    }
}

bp_status bp_net_parse_text(bp_net **out, bp_sample *sample, const char *text, size_t len,
                            const char *name_for_errors)
{
    if (out)
        *out = NULL;
    if (!out || !text)
        return bp_error(BP_ERR_ARG, "bp_net_parse_text: NULL argument");
    if (!name_for_errors)
        name_for_errors = "(text)";
    if (sample)
        memset(sample, 0, sizeof *sample);
    net_text text_read, *s = &text_read;
    memset(s, 0, sizeof *s);
    s->p.name = name_for_errors;
    s->loss = BP_LOSS_MSE;
    s->init = BP_INIT_XAVIER;
    s->pending_layer = -1;
    bp_net *net = NULL;

    char *buf = malloc(len + 1);
    if (!buf)
        return bp_error(BP_ERR_NOMEM, "%s: out of memory", name_for_errors);
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        free(buf);
        return bp_error(BP_ERR_PARSE, "%s: contains a NUL byte; not a text .net file",
                        name_for_errors);
    }

    bp_status st = read_lines(s, buf, len);
    if (st == BP_OK)
        st = check_complete(s);
    if (st == BP_OK)
        st = build_net(s, &net);
    if (st == BP_OK && sample) {
        sample->has_input = s->input != NULL;
        sample->has_target = s->target != NULL;
        sample->has_lr = s->have_lr;
        sample->input = s->input;
        sample->target = s->target;
        sample->lr = s->lr;
        s->input = s->target = NULL;
    }
    free(buf);
    net_text_free(s);
    if (st != BP_OK) {
        if (sample)
            bp_sample_clear(sample);
        return st;
    }
    *out = net;
    return BP_OK;
}

bp_status bp_net_read_text(bp_net **out, bp_sample *sample, const char *path)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return bp_error(BP_ERR_ARG, "bp_net_read_text: NULL argument");
    char *text;
    size_t len;
    bp_status st = bp_read_file(path, NET_MAX_FILE_BYTES, &text, &len);
    if (st != BP_OK)
        return st;
    st = bp_net_parse_text(out, sample, text, len, path);
    free(text);
    return st;
}

static void print_values(FILE *fp, const char *keyword, const float *v, int n)
{
    fputs(keyword, fp);
    for (int i = 0; i < n; i++)
        fprintf(fp, " %.9g", v[i]);
    fputc('\n', fp);
}

bp_status bp_net_fprint_text(const bp_net *net, const bp_sample *sample, FILE *fp)
{
    if (!net || !fp)
        return bp_error(BP_ERR_ARG, "bp_net_fprint_text: NULL argument");
    char name[32], src[32];
    fprintf(fp, "# backprop network, text format %d (see docs/net-format.md).\n",
            NET_FORMAT_VERSION);
    fprintf(fp, "# Weights are numbered w1, w2, ... layer by layer from the inputs, one row per\n"
                "# receiving neuron; biases b1, b2, ... in the same order.\n");
    fprintf(fp, "backprop-net %d\ninputs %d\nloss %s\n", NET_FORMAT_VERSION, bp_net_inputs(net),
            bp_loss_name(bp_net_loss(net)));
    const float *shift, *scale;
    if (bp_net_scaling(net, &shift, &scale)) {
        print_values(fp, "scaling-shift", shift, bp_net_inputs(net));
        print_values(fp, "scaling-scale", scale, bp_net_inputs(net));
    }
    for (int i = 0; i < bp_net_meta_count(net); i++) {
        const char *k, *v;
        bp_net_meta_at(net, i, &k, &v);
        fprintf(fp, "meta %s %s\n", k, v);
    }
    size_t wnum = 1;
    for (int l = 0; l < bp_net_layers(net); l++) {
        bp_layer_spec L = bp_net_layer(net, l);
        int fan_in = bp_net_fan_in(net, l);
        fprintf(fp, "\n# layer %d: %d -> %d\nlayer %d %s %s", l + 1, fan_in, L.units, L.units,
                bp_activation_name(L.act), L.bias ? "bias" : "nobias");
        if (L.act == BP_ACT_LEAKY_RELU)
            fprintf(fp, " slope=%.9g", L.slope);
        fputs("\nweights\n", fp);
        const float *W = bp_net_weights_const(net, l);
        for (int j = 0; j < L.units; j++) {
            for (int k = 0; k < fan_in; k++)
                fprintf(fp, k ? " %.9g" : "%.9g", W[(size_t)j * fan_in + k]);
            bp_neuron_name(net, l, j, name, sizeof name);
            if (fan_in <= 4) {
                fprintf(fp, "  # %s <-", name);
                for (int k = 0; k < fan_in; k++)
                    fprintf(fp, " %s", bp_neuron_name(net, l - 1, k, src, sizeof src));
                fputs(":", fp);
                for (int k = 0; k < fan_in; k++)
                    fprintf(fp, " w%zu", wnum + (size_t)k);
                fputc('\n', fp);
            } else {
                fprintf(fp, "  # %s: w%zu..w%zu\n", name, wnum, wnum + (size_t)fan_in - 1);
            }
            wnum += (size_t)fan_in;
        }
        if (L.bias)
            print_values(fp, "biases", bp_net_biases_const(net, l), L.units);
    }
    if (sample && (sample->has_input || sample->has_target || sample->has_lr)) {
        fputs("\n# training sample\n", fp);
        if (sample->has_input)
            print_values(fp, "input", sample->input, bp_net_inputs(net));
        if (sample->has_target)
            print_values(fp, "target", sample->target, bp_net_outputs(net));
        if (sample->has_lr)
            fprintf(fp, "lr %.9g\n", sample->lr);
    }
    if (ferror(fp))
        return bp_error(BP_ERR_IO, "write error");
    return BP_OK;
}

bp_status bp_net_write_text(const bp_net *net, const bp_sample *sample, const char *path)
{
    if (!net || !path)
        return bp_error(BP_ERR_ARG, "bp_net_write_text: NULL argument");
    bp_atomic_file f;
    bp_status st = bp_atomic_begin(&f, path);
    if (st != BP_OK)
        return st;
    if ((st = bp_net_fprint_text(net, sample, f.fp)) != BP_OK) {
        bp_atomic_abort(&f);
        return bp_error(BP_ERR_IO, "%s: write failed (previous file left unchanged)", path);
    }
    return bp_atomic_commit(&f);
}
