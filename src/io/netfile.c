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
    parser p = {.name = name_for_errors ? name_for_errors : "<text>"};
    layer_in layers[BP_MAX_LAYERS];
    memset(layers, 0, sizeof layers);
    int n_layers = 0, n_inputs = 0, have_header = 0, have_init = 0;
    bp_loss loss = BP_LOSS_MSE;
    bp_init init = BP_INIT_XAVIER;
    int init_seed = 0;
    float *shift = NULL, *scale = NULL, *input = NULL, *target = NULL;
    int target_line = 0, target_count = 0, have_lr = 0;
    float lr = 0;
    int meta_n = 0;
    char *meta_key[64], *meta_value[64];
    int meta_line[64];
    int pending_rows = 0, pending_layer = -1; /* inside a weights block */
    bp_net *net = NULL;
    bp_status st = BP_OK;

    char *buf = malloc(len + 1);
    if (!buf)
        return bp_error(BP_ERR_NOMEM, "%s: out of memory", p.name);
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        free(buf);
        return bp_error(BP_ERR_PARSE, "%s: contains a NUL byte; not a text .net file", p.name);
    }

    char *line = buf;
    /* A UTF-8 byte-order mark is harmless; skip it. */
    if (len >= 3 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        line += 3;
    while (line && st == BP_OK) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        p.line++;
        if ((st = tokenize(&p, line)) != BP_OK)
            break;
        line = next;
        if (p.ntok == 0)
            continue;
        const char *kw = p.tok[0];

        if (pending_rows > 0) {
            layer_in *L = &layers[pending_layer];
            int fan_in = pending_layer ? layers[pending_layer - 1].spec.units : n_inputs;
            int row = L->spec.units - pending_rows;
            if (p.ntok != fan_in) {
                char msg[200];
                snprintf(msg, sizeof msg,
                         "layer %d, neuron %d: expected %d weights (one per input to the layer), "
                         "found %d", pending_layer + 1, row + 1, fan_in, p.ntok);
                st = perr(&p, "%s%s", msg, NULL);
                break;
            }
            for (int k = 0; k < fan_in && st == BP_OK; k++)
                st = parse_float(&p, p.tok[k], &L->weights[(size_t)row * fan_in + k], "a weight");
            pending_rows--;
            continue;
        }

        if (!have_header) {
            if (strcmp(kw, "backprop-net") != 0 || p.ntok != 2) {
                st = perr(&p, "expected the header \"backprop-net %s\", found \"%s\"", "1", kw);
                break;
            }
            int version;
            if ((st = parse_int(&p, p.tok[1], 0, 1000000, &version, "the format version")))
                break;
            if (version != NET_FORMAT_VERSION) {
                char v[32];
                snprintf(v, sizeof v, "%d", version);
                st = perr(&p, "format version %s is not supported (this build reads version 1)",
                          v, NULL);
                break;
            }
            have_header = 1;
        } else if (!strcmp(kw, "inputs")) {
            if (n_inputs) {
                st = perr(&p, "inputs given twice%s%s", NULL, NULL);
            } else if (p.ntok != 2) {
                st = perr(&p, "expected \"inputs N\"%s%s", NULL, NULL);
            } else {
                st = parse_int(&p, p.tok[1], 1, BP_MAX_UNITS, &n_inputs, "inputs");
            }
        } else if (!strcmp(kw, "loss")) {
            if (p.ntok != 2)
                st = perr(&p, "expected \"loss mse|xent|bce\"%s%s", NULL, NULL);
            else if (bp_loss_parse(p.tok[1], &loss) != BP_OK)
                st = perr(&p, "unknown loss \"%s\" (expected mse, xent or bce)", p.tok[1], NULL);
        } else if (!strcmp(kw, "init")) {
            if (p.ntok < 2 || p.ntok > 3)
                st = perr(&p, "expected \"init xavier|he [SEED]\"%s%s", NULL, NULL);
            else if (bp_init_parse(p.tok[1], &init) != BP_OK)
                st = perr(&p, "unknown initialiser \"%s\" (expected xavier or he)", p.tok[1],
                          NULL);
            else if (p.ntok == 3)
                st = parse_int(&p, p.tok[2], 0, 2147483647, &init_seed, "the seed");
            have_init = 1;
        } else if (!strcmp(kw, "layer")) {
            if (!n_inputs) {
                st = perr(&p, "\"inputs N\" must come before the first layer%s%s", NULL, NULL);
                break;
            }
            if (n_layers == BP_MAX_LAYERS) {
                st = perr(&p, "too many layers (at most 64)%s%s", NULL, NULL);
                break;
            }
            if (p.ntok < 3) {
                st = perr(&p, "expected \"layer UNITS ACTIVATION [bias|nobias] [slope=S]\"%s%s",
                          NULL, NULL);
                break;
            }
            layer_in *L = &layers[n_layers];
            bp_layer_spec_default(&L->spec);
            L->spec.bias = 1;
            L->spec.slope = BP_SLOPE_DEFAULT; /* unless slope= is given */
            if ((st = parse_int(&p, p.tok[1], 1, BP_MAX_UNITS, &L->spec.units, "units")))
                break;
            if (bp_activation_parse(p.tok[2], &L->spec.act) != BP_OK) {
                st = perr(&p, "unknown activation \"%s\" (expected linear, sigmoid, tanh, relu, "
                              "leaky-relu or softmax)%s", p.tok[2], NULL);
                break;
            }
            for (int t = 3; t < p.ntok && st == BP_OK; t++) {
                if (!strcmp(p.tok[t], "bias"))
                    L->spec.bias = 1;
                else if (!strcmp(p.tok[t], "nobias"))
                    L->spec.bias = 0;
                else if (!strncmp(p.tok[t], "slope=", 6)) {
                    st = parse_float(&p, p.tok[t] + 6, &L->spec.slope, "slope");
                    /* Checked here so no written value can pass for "not given". */
                    if (st == BP_OK && !(L->spec.slope >= 0.0f && L->spec.slope < 1.0f))
                        st = perr(&p, "layer slope=%s: leaky-ReLU slope must be in [0, 1)%s",
                                  p.tok[t] + 6, NULL);
                }
                else
                    st = perr(&p, "unknown layer option \"%s\" (expected bias, nobias or slope=S)",
                              p.tok[t], NULL);
            }
            /* Checked here, not only by bp_net_create, so the message has the line. */
            if (st == BP_OK && L->spec.act == BP_ACT_SOFTMAX && L->spec.units == 1)
                st = perr(&p, "softmax on a single unit always outputs 1 and learns nothing; for "
                              "one output use sigmoid (loss bce), or give softmax 2 units%s%s",
                          NULL, NULL);
            n_layers++;
        } else if (!strcmp(kw, "weights")) {
            if (!n_layers) {
                st = perr(&p, "\"weights\" before any \"layer\"%s%s", NULL, NULL);
                break;
            }
            layer_in *L = &layers[n_layers - 1];
            if (L->weights) {
                char msg[120];
                snprintf(msg, sizeof msg, "layer %d already has weights (from line %d)",
                         n_layers, L->weights_line);
                st = perr(&p, "%s%s", msg, NULL);
                break;
            }
            if (p.ntok != 1) {
                st = perr(&p, "\"weights\" stands alone on its line; the rows follow%s%s", NULL,
                          NULL);
                break;
            }
            int fan_in = n_layers > 1 ? layers[n_layers - 2].spec.units : n_inputs;
            L->weights = malloc((size_t)L->spec.units * (size_t)fan_in * sizeof(float));
            if (!L->weights) {
                st = bp_error(BP_ERR_NOMEM, "%s:%d: out of memory", p.name, p.line);
                break;
            }
            L->weights_line = p.line;
            pending_rows = L->spec.units;
            pending_layer = n_layers - 1;
        } else if (!strcmp(kw, "biases")) {
            if (!n_layers) {
                st = perr(&p, "\"biases\" before any \"layer\"%s%s", NULL, NULL);
                break;
            }
            layer_in *L = &layers[n_layers - 1];
            if (!L->spec.bias)
                st = perr(&p, "biases given for a layer declared nobias%s%s", NULL, NULL);
            else
                st = parse_vector(&p, L->spec.units, &L->biases, "biases");
        } else if (!strcmp(kw, "scaling-shift") || !strcmp(kw, "scaling-scale")) {
            if (!n_inputs)
                st = perr(&p, "\"inputs N\" must come before %s", kw, NULL);
            else
                st = parse_vector(&p, n_inputs, kw[8] == 's' && kw[9] == 'h' ? &shift : &scale,
                                  kw);
        } else if (!strcmp(kw, "meta")) {
            if (p.ntok < 3) {
                st = perr(&p, "expected \"meta KEY VALUE\"%s%s", NULL, NULL);
            } else if (meta_n == 64) {
                st = perr(&p, "too many meta lines (at most 64)%s%s", NULL, NULL);
            } else {
                /* The value is the rest of the line, spaces kept as single spaces. */
                size_t vlen = 0;
                for (int t = 2; t < p.ntok; t++)
                    vlen += strlen(p.tok[t]) + 1;
                char *v = malloc(vlen);
                char *k = malloc(strlen(p.tok[1]) + 1);
                if (!v || !k) {
                    free(v);
                    free(k);
                    st = bp_error(BP_ERR_NOMEM, "%s:%d: out of memory", p.name, p.line);
                    break;
                }
                strcpy(k, p.tok[1]);
                v[0] = '\0';
                for (int t = 2; t < p.ntok; t++) {
                    if (t > 2)
                        strcat(v, " ");
                    strcat(v, p.tok[t]);
                }
                meta_line[meta_n] = p.line;
                meta_key[meta_n] = k;
                meta_value[meta_n++] = v;
            }
        } else if (!strcmp(kw, "input")) {
            if (!n_inputs)
                st = perr(&p, "\"inputs N\" must come before \"input\"%s%s", NULL, NULL);
            else
                st = parse_vector(&p, n_inputs, &input, "input");
        } else if (!strcmp(kw, "target")) {
            st = parse_vector(&p, p.ntok - 1, &target, "target");
            target_line = p.line;
            target_count = p.ntok - 1;
        } else if (!strcmp(kw, "lr")) {
            if (p.ntok != 2)
                st = perr(&p, "expected \"lr VALUE\"%s%s", NULL, NULL);
            else if ((st = parse_float(&p, p.tok[1], &lr, "the learning rate")) == BP_OK &&
                     !(lr > 0))
                st = perr(&p, "the learning rate must be positive%s%s", NULL, NULL);
            have_lr = 1;
        } else {
            st = perr(&p, "unknown keyword \"%s\" (expected inputs, loss, init, layer, weights, "
                          "biases, scaling-shift, scaling-scale, meta, input, target or lr)%s",
                      kw, NULL);
        }
    }

    if (st == BP_OK && pending_rows > 0) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%s: end of file inside the weights of layer %d (line %d): %d of %d neuron rows "
                 "missing", p.name, pending_layer + 1, layers[pending_layer].weights_line,
                 pending_rows, layers[pending_layer].spec.units);
        st = bp_error(BP_ERR_PARSE, "%s", msg);
    }
    if (st == BP_OK && !have_header)
        st = bp_error(BP_ERR_PARSE, "%s: empty file; expected the header \"backprop-net 1\"",
                      p.name);
    if (st == BP_OK && !n_inputs)
        st = bp_error(BP_ERR_PARSE, "%s: no \"inputs N\" line", p.name);
    if (st == BP_OK && !n_layers)
        st = bp_error(BP_ERR_PARSE, "%s: no \"layer\" line; a net needs at least one layer",
                      p.name);
    for (int l = 0; st == BP_OK && l < n_layers; l++) {
        if (!layers[l].weights && !have_init)
            st = bp_error(BP_ERR_PARSE,
                          "%s: layer %d has no weights; give a \"weights\" block or an "
                          "\"init xavier|he [SEED]\" line", p.name, l + 1);
        else if (layers[l].spec.bias && !layers[l].biases && layers[l].weights && !have_init)
            st = bp_error(BP_ERR_PARSE,
                          "%s: layer %d has a bias but no \"biases\" line (declare it nobias, or "
                          "give its biases)", p.name, l + 1);
    }
    if (st == BP_OK && (!shift) != (!scale))
        st = bp_error(BP_ERR_PARSE, "%s: scaling needs both scaling-shift and scaling-scale",
                      p.name);
    if (st == BP_OK) {
        bp_layer_spec specs[BP_MAX_LAYERS];
        for (int l = 0; l < n_layers; l++)
            specs[l] = layers[l].spec;
        st = bp_net_create(&net, n_inputs, n_layers, specs, loss);
        if (st != BP_OK)
            st = bp_error_prefix(BP_ERR_PARSE, "%s: ", p.name);
    }
    if (st == BP_OK && have_init)
        st = bp_net_init(net, init, (uint64_t)init_seed);
    for (int l = 0; st == BP_OK && l < n_layers; l++) {
        int fan_in = bp_net_fan_in(net, l);
        if (layers[l].weights)
            memcpy(bp_net_weights(net, l), layers[l].weights,
                   (size_t)layers[l].spec.units * (size_t)fan_in * sizeof(float));
        if (layers[l].biases)
            memcpy(bp_net_biases(net, l), layers[l].biases,
                   (size_t)layers[l].spec.units * sizeof(float));
    }
    if (st == BP_OK && shift)
        st = bp_net_set_scaling(net, shift, scale);
    for (int i = 0; st == BP_OK && i < meta_n; i++)
        if ((st = bp_net_set_meta(net, meta_key[i], meta_value[i])) != BP_OK)
            st = bp_error_prefix(BP_ERR_PARSE, "%s:%d: meta %s: ", p.name, meta_line[i],
                                 meta_key[i]);
    if (st == BP_OK && target && target_count != bp_net_outputs(net))
        st = bp_error(BP_ERR_PARSE, "%s:%d: target has %d values but the net has %d outputs",
                      p.name, target_line, target_count, bp_net_outputs(net));
    if (st == BP_OK && sample) {
        sample->has_input = input != NULL;
        sample->has_target = target != NULL;
        sample->has_lr = have_lr;
        sample->input = input;
        sample->target = target;
        sample->lr = lr;
        input = target = NULL;
    }

    free(buf);
    free(p.tok);
    free(shift);
    free(scale);
    free(input);
    free(target);
    for (int l = 0; l < BP_MAX_LAYERS; l++) {
        free(layers[l].weights);
        free(layers[l].biases);
    }
    for (int i = 0; i < meta_n; i++) {
        free(meta_key[i]);
        free(meta_value[i]);
    }
    if (st != BP_OK) {
        bp_net_free(net);
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
