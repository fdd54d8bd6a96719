/*
 * The article, for any small network: one forward pass, the error, one
 * backward pass and the update, every number printed with the formula that
 * made it, in plain text, Markdown with LaTeX maths, or HTML.
 *
 * The numbers come from the library's own forward/backward (bp_forward,
 * bp_backward, bp_sgd_step); this file only re-derives the printed
 * intermediate products, so the trace shows exactly what training computes.
 *
 * One function per section of the article (set-up, forward pass, error,
 * backpropagation, result) says what is written; a format_writer per output
 * format says how: its blocks (headings, paragraphs, displayed formulas) and
 * its notation.  No section asks which format it writes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"

/* Rows longer than this are summarised instead of spelled out term by term. */
#define MAX_TERMS 8

/* How formulas are written.  Plain text and HTML share one notation (HTML
 * turns each displayed formula into MathML); Markdown writes LaTeX.  A format
 * string takes the same arguments in every notation (listed after it). */
typedef struct notation {
    const char *mul, *minus;
    const char *input_sym;        /* j + 1; NULL: the input's own name */
    const char *a_sym, *s_sym, *delta_sym; /* neuron name */
    const char *w_sym, *b_sym;    /* number */
    const char *sigmoid;          /* a, s, s's value, a's value */
    const char *tanh, *relu, *softmax; /* a, s, a's value */
    const char *leaky;            /* a, s, s, slope, mul, s, a's value */
    const char *tanh_factor;      /* a (symbol or value) */
    const char *relu_factor;
    const char *leaky_factor;     /* slope */
    const char *sum_summary;      /* fan-in, first and last w */
    const char *s_line;           /* neuron name, expression */
    const char *mse_term;         /* " + " or "", expected, a */
    const char *delta_loss;       /* δ, a, k, a's value, expected, δ's value */
    const char *delta_softmax;    /* δ, a, k, δ's value */
    const char *delta_factor;     /* δ, a, k, mul, f', a's, expected, mul, f' values, δ's */
    const char *delta_sum;        /* Σ_q δ_q·w_q, for many terms */
    const char *weight_update;    /* w, δ, a, δ's, a's, ∂E/∂w's values, w, w, w, old w, η,
                                     ∂E/∂w, new w */
    const char *bias_update;      /* b, δ, ∂E/∂b, b, old b, η, ∂E/∂b, new b */
} notation;

static const notation plain = {
    .mul = "·",
    .minus = "−",
    .input_sym = NULL,
    .a_sym = "a_%s",
    .s_sym = "s_%s",
    .delta_sym = "δ%s",
    .w_sym = "w%zu",
    .b_sym = "b%zu",
    .sigmoid = "%s = sigmoid(%s) = 1/(1 + e^-%s) = %.4f",
    .tanh = "%s = tanh(%s) = %.4f",
    .relu = "%s = max(0, %s) = %.4f",
    .softmax = "%s = e^%s / Σ_k e^s_k = %.4f",
    .leaky = "%s = (%s > 0 ? %s : %g%s%s) = %.4f",
    .tanh_factor = "(1 − %s²)",
    .relu_factor = "[s > 0]",
    .leaky_factor = "(s > 0 ? 1 : %g)",
    .sum_summary = "Σ_k w·a over %d inputs (w%zu..w%zu)",
    .s_line = "s_%s = %s",
    .mse_term = "%s½(%.4f − %.4f)²",
    .delta_loss = "%s = %s − expected%d = %.4f − %.4f = %.4f",
    .delta_softmax = "%s = %s·(g%d − Σ_k g_k·a_k), g = a − expected: %.4f",
    .delta_factor = "%s = (%s − expected%d)%s%s = (%.4f − %.4f)%s%s = %.4f",
    .delta_sum = "Σ_q δ_q·w_q",
    .weight_update = "∂E/∂%s = %s·%s = %s·%s = %.4f    %s' = %s − η·∂E/∂%s = %.4f − %g·%s = %.4f",
    .bias_update = "∂E/∂%s = %s = %.4f    %s' = %.4f − %g·%s = %.4f",
};

static const notation latex = {
    .mul = " \\cdot ",
    .minus = "-",
    .input_sym = "i_{%d}",
    .a_sym = "a_{%s}",
    .s_sym = "s_{%s}",
    .delta_sym = "\\delta_{%s}",
    .w_sym = "w_{%zu}",
    .b_sym = "b_{%zu}",
    .sigmoid = "%s = \\sigma(%s) = \\frac{1}{1 + e^{-%s}} = %.4f",
    .tanh = "%s = \\tanh(%s) = %.4f",
    .relu = "%s = \\max(0, %s) = %.4f",
    .softmax = "%s = \\frac{e^{%s}}{\\sum_k e^{s_k}} = %.4f",
    .leaky = "%s = %s > 0 \\;?\\; %s : %g %s %s = %.4f",
    .tanh_factor = "(1 - %s^2)",
    .relu_factor = "\\mathbb{1}[s > 0]",
    .leaky_factor = "(s > 0 \\;?\\; 1 : %g)",
    .sum_summary = "\\sum_{k=1}^{%d} w_k \\cdot a_k \\;(w_{%zu} \\ldots w_{%zu})",
    .s_line = "s_{%s} = %s",
    .mse_term = "%s\\frac{1}{2}(%.4f - %.4f)^2",
    .delta_loss = "%s = %s - \\text{expected}_{%d} = %.4f - %.4f = %.4f",
    .delta_softmax = "%s = %s\\,(g_{%d} - \\sum_k g_k a_k),\\; g = a - expected; = %.4f",
    .delta_factor = "%s = (%s - \\text{expected}_{%d})%s%s = (%.4f - %.4f)%s%s = %.4f",
    .delta_sum = "\\sum_q \\delta_q w_q",
    .weight_update = "\\frac{\\partial E}{\\partial %s} = %s \\cdot %s = %s \\cdot %s = %.4f"
                     ",\\quad %s' = %s - \\eta \\cdot \\frac{\\partial E}{\\partial %s} = "
                     "%.4f - %g \\cdot %s = %.4f",
    .bias_update = "\\frac{\\partial E}{\\partial %s} = %s = %.4f,\\quad %s' = %.4f - %g "
                   "\\cdot %s = %.4f",
};

typedef struct format_writer format_writer;

typedef struct {
    FILE *fp;            /* where the pieces go: `out`, or a formula's buffer in HTML */
    FILE *out;           /* the caller's stream */
    const format_writer *f;
    const notation *n;   /* f's notation */
    const bp_words *w;
    const bp_net *net;
    char *line;          /* HTML: the formula being written */
    size_t line_len;
} tracer;

/* One output format: how it writes each kind of block, and its notation. */
struct format_writer {
    const notation *n;
    int latex_words;     /* the words' _md variants (else _text) */
    void (*heading)(const tracer *t, const char *text);
    void (*subheading)(const tracer *t, const char *text);
    void (*para)(const tracer *t, const char *text);
    void (*line_begin)(tracer *t); /* a displayed formula */
    void (*line_end)(tracer *t);
    const char *vdots;   /* the line for weights left out */
    /* the result: per layer, begin, the items (w_item, b_item; item_sep
     * between weights), end */
    void (*result_begin)(tracer *t);
    void (*result_end)(tracer *t);
    const char *w_item, *b_item, *item_sep;
    /* the set-up (text and Markdown; HTML has its own page head): the title,
     * input, raw input and expected items (separator, number, value),
     * the separators of the first and later items, and the end */
    const char *title, *input_item, *raw_item, *expected_item, *first_sep, *sep, *setup_end;
};

/* A word in the writer's variant: t->w->NAME_md or NAME_text. */
#define WORD(t, name) ((t)->f->latex_words ? (t)->w->name##_md : (t)->w->name##_text)

/* ---- plain text ---- */
static void text_heading(const tracer *t, const char *text) { fprintf(t->fp, "\n%s\n", text); }
static void text_para(const tracer *t, const char *text) { fprintf(t->fp, "  %s\n", text); }
static void text_line_begin(tracer *t) { fputs("    ", t->fp); }
static void text_line_end(tracer *t) { fputs("\n", t->fp); }
static void text_result_begin(tracer *t) { fputs("   ", t->fp); }

static const format_writer text_writer = {
    .n = &plain,
    .heading = text_heading,
    .subheading = text_para,
    .para = text_para,
    .line_begin = text_line_begin,
    .line_end = text_line_end,
    .vdots = "    …\n",
    .result_begin = text_result_begin,
    .result_end = text_line_end,
    .w_item = " w%zu' = %.4f",
    .b_item = " b%zu' = %.4f",
    .item_sep = "",
    .title = "%s\n",
    .input_item = "%si%d = %.4f",
    .raw_item = "%s%.4f",
    .expected_item = "%sexpected%d = %.4f",
    .first_sep = " ",
    .sep = " ",
    .setup_end = "\n",
};

/* ---- Markdown with LaTeX ---- */
static void md_heading(const tracer *t, const char *text) { fprintf(t->fp, "### %s\n\n", text); }
static void md_subheading(const tracer *t, const char *text)
{
    fprintf(t->fp, "#### %s\n\n", text);
}
static void md_para(const tracer *t, const char *text) { fprintf(t->fp, "%s\n\n", text); }
static void md_line_begin(tracer *t) { fputs("$$", t->fp); }
static void md_line_end(tracer *t) { fputs("$$\n\n", t->fp); }
static void md_result_begin(tracer *t) { (void)t; }
static void md_result_end(tracer *t) { fputs("\n\n", t->fp); }

static const format_writer md_writer = {
    .n = &latex,
    .latex_words = 1,
    .heading = md_heading,
    .subheading = md_subheading,
    .para = md_para,
    .line_begin = md_line_begin,
    .line_end = md_line_end,
    .vdots = "$$\\vdots$$\n\n",
    .result_begin = md_result_begin,
    .result_end = md_result_end,
    .w_item = "$w_{%zu}' = %.4f$",
    .b_item = ", $b_{%zu}' = %.4f$",
    .item_sep = ", ",
    .title = "## %s\n\n",
    .input_item = "%s$i_{%d} = %.4f$",
    .raw_item = "%s$%.4f$",
    .expected_item = "%s$\\text{expected}_{%d} = %.4f$",
    .first_sep = "",
    .sep = ", ",
    .setup_end = ".\n\n",
};

/* ---- HTML: blocks as elements, each formula collected whole (plain
 * notation) and then written as MathML with the text as its fallback ---- */
static void html_element(const tracer *t, const char *tag, const char *text)
{
    fprintf(t->fp, "<%s>", tag);
    bp_html_escape(t->fp, text);
    fprintf(t->fp, "</%s>\n", tag);
}
static void html_heading(const tracer *t, const char *text) { html_element(t, "h2", text); }
static void html_subheading(const tracer *t, const char *text) { html_element(t, "h3", text); }
static void html_para(const tracer *t, const char *text) { html_element(t, "p", text); }

static void html_line_begin(tracer *t)
{
    FILE *mem = open_memstream(&t->line, &t->line_len);
    if (mem)
        t->fp = mem;
}

static void html_line_end(tracer *t)
{
    if (t->fp != t->out) {
        fclose(t->fp);
        t->fp = t->out;
        bp_html_formula(t->out, t->line);
    }
    free(t->line);
    t->line = NULL;
}

static const format_writer html_writer = {
    .n = &plain,
    .heading = html_heading,
    .subheading = html_subheading,
    .para = html_para,
    .line_begin = html_line_begin,
    .line_end = html_line_end,
    .vdots = "<p class=\"vdots\">⋮</p>\n",
    .result_begin = html_line_begin,
    .result_end = html_line_end,
    .w_item = "w%zu' = %.4f",
    .b_item = ", b%zu' = %.4f",
    .item_sep = ", ",
};

static void heading(const tracer *t, const char *text) { t->f->heading(t, text); }
static void subheading(const tracer *t, const char *text) { t->f->subheading(t, text); }
static void para(const tracer *t, const char *text) { t->f->para(t, text); }
static void line_begin(tracer *t) { t->f->line_begin(t); }
static void line_end(tracer *t) { t->f->line_end(t); }

/* Names in the article's notation.  In Markdown, h1 → h_{1}-style subscripts
 * would be wrong for h2_3, so the neuron name is kept whole as a subscript. */
static const char *nm(const tracer *t, int layer, int j, char *buf, size_t cap)
{
    return bp_neuron_name(t->net, layer, j, buf, cap);
}

static const char *mul(const tracer *t) { return t->n->mul; }
static const char *minus(const tracer *t) { return t->n->minus; }

/* Rounds values that print as ±0.0000 to +0, so a product with a zero factor
 * never shows as "-0.0000". */
static double z(double v) { return fabs(v) < 5e-5 ? 0.0 : v; }

/* A number for an expression: 4 decimals, negative values in parentheses
 * when they follow an operator. */
static const char *num(char *buf, size_t cap, double v, int paren)
{
    v = z(v);
    if (paren && v < 0)
        snprintf(buf, cap, "(%.4f)", v);
    else
        snprintf(buf, cap, "%.4f", v);
    return buf;
}

static void sym_a(const tracer *t, int layer, int j, char *buf, size_t cap)
{
    char n[32];
    nm(t, layer, j, n, sizeof n);
    if (layer < 0 && t->n->input_sym)
        snprintf(buf, cap, t->n->input_sym, j + 1);
    else if (layer < 0)
        snprintf(buf, cap, "%s", n);
    else
        snprintf(buf, cap, t->n->a_sym, n);
}

static void sym_w(const tracer *t, size_t idx, char *buf, size_t cap)
{
    snprintf(buf, cap, t->n->w_sym, idx);
}

static void sym_b(const tracer *t, size_t idx, char *buf, size_t cap)
{
    snprintf(buf, cap, t->n->b_sym, idx);
}

static void sym_delta(const tracer *t, int layer, int j, char *buf, size_t cap)
{
    char n[32];
    nm(t, layer, j, n, sizeof n);
    snprintf(buf, cap, t->n->delta_sym, n);
}

/* f(s) written out: "sigmoid(s) = 1/(1 + e^(−s))" style for the article's case. */
static void print_activation(tracer *t, bp_activation act, float slope, double s, double a,
                             const char *a_sym, const char *s_sym)
{
    const notation *n = t->n;
    char sb[32];
    line_begin(t);
    switch (act) {
    case BP_ACT_SIGMOID:
        fprintf(t->fp, n->sigmoid, a_sym, s_sym, num(sb, sizeof sb, s, 1), a);
        break;
    case BP_ACT_TANH: fprintf(t->fp, n->tanh, a_sym, s_sym, a); break;
    case BP_ACT_RELU: fprintf(t->fp, n->relu, a_sym, s_sym, a); break;
    case BP_ACT_LEAKY_RELU:
        fprintf(t->fp, n->leaky, a_sym, s_sym, s_sym, slope, mul(t), s_sym, a);
        break;
    case BP_ACT_SOFTMAX: fprintf(t->fp, n->softmax, a_sym, s_sym, a); break;
    default: fprintf(t->fp, "%s = %s = %.4f", a_sym, s_sym, a); break;
    }
    line_end(t);
}

/* f'(s) as a factor in symbols, e.g. "a_h1·(1 − a_h1)".  Only the symbols:
 * every number the trace prints comes from the workspace the kernels filled,
 * or from bp_activation_derivative, the one definition of f'. */
static void derivative_factor(const tracer *t, bp_activation act, float slope,
                              const char *a_sym, char *sym, size_t cap)
{
    switch (act) {
    case BP_ACT_SIGMOID:
        snprintf(sym, cap, "%s%s(1 %s %s)", a_sym, mul(t), minus(t), a_sym);
        break;
    case BP_ACT_TANH: snprintf(sym, cap, t->n->tanh_factor, a_sym); break;
    case BP_ACT_RELU: snprintf(sym, cap, "%s", t->n->relu_factor); break;
    case BP_ACT_LEAKY_RELU: snprintf(sym, cap, t->n->leaky_factor, slope); break;
    default: snprintf(sym, cap, "1"); break;
    }
}

/* The factors' numbers, e.g. "0.6042·(1 − 0.6042)"; leaky ReLU's slope by
 * name where s ≤ 0. */
static void derivative_numbers(const tracer *t, bp_activation act, float slope, float s, double a,
                               char *buf, size_t cap)
{
    char ab[32];
    switch (act) {
    case BP_ACT_SIGMOID:
        snprintf(buf, cap, "%s%s(1 %s %s)", num(ab, sizeof ab, a, 0), mul(t), minus(t), ab);
        break;
    case BP_ACT_TANH: snprintf(buf, cap, t->n->tanh_factor, num(ab, sizeof ab, a, 1)); break;
    case BP_ACT_LEAKY_RELU: snprintf(buf, cap, "%s", s > 0 ? "1" : "slope"); break;
    default:
        snprintf(buf, cap, "%g", (double)bp_activation_derivative(act, s, slope));
        break;
    }
}

/* HTML only: the chain rule and the update rule for the output layer's first
 * weight, in symbols, before the numbers (the article's "taking w7 as an
 * example").  Text and Markdown keep their established form. */
static void html_rules(tracer *t, size_t w_first)
{
    char w[32], o[32], h[32];
    sym_w(t, w_first, w, sizeof w);
    nm(t, bp_net_layers(t->net) - 1, 0, o, sizeof o);
    sym_a(t, bp_net_layers(t->net) - 2, 0, h, sizeof h);
    para(t, t->w->chain_rule);
    line_begin(t);
    fprintf(t->fp, "∂E/∂%s = ∂E/∂a_%s·∂a_%s/∂s_%s·∂s_%s/∂%s = δ%s·%s", w, o, o, o, o, w, o, h);
    line_end(t);
    para(t, t->w->update_rule);
    line_begin(t);
    fprintf(t->fp, "%s' = %s − η·∂E/∂%s", w, w, w);
    line_end(t);
}

bp_status bp_explain_step(bp_net *net, const float *raw_input, const float *target, float lr,
                          bp_trace_format format, FILE *fp)
{
    return bp_explain_step_ex(net, raw_input, target, lr, format, NULL, fp);
}

/* One step's numbers: the net before (old) and after (net) the update, and the
 * workspace that holds the forward and backward values in between. */
typedef struct {
    tracer t;
    const bp_net *old, *net;
    const bp_workspace *ws;
    const float *input;     /* as the net sees it (scaled) */
    const float *raw_input; /* the caller's, when scaling changed it; else NULL */
    const float *target;
    float lr, loss;
    int L;
    size_t wbase[BP_MAX_LAYERS], bbase[BP_MAX_LAYERS]; /* first w / b number of each layer */
} step_trace;

/* Title and set-up, text and Markdown (HTML has its own page head). */
static void print_setup(step_trace *c)
{
    tracer *t = &c->t;
    FILE *fp = t->fp;
    const bp_net *old = c->old;
    int L = c->L;
    const format_writer *f = t->f;
    fprintf(fp, f->title, t->w->title);
    fprintf(fp, f->latex_words ? t->w->net_md_fmt : t->w->net_text_fmt, bp_net_inputs(old));
    for (int l = 0; l < L; l++) {
        bp_layer_spec ls = bp_net_layer(old, l);
        fprintf(fp, t->w->layer_fmt, ls.units, bp_activation_name(ls.act),
                l == L - 1 ? t->w->outputs : t->w->hidden, ls.bias ? t->w->bias : "");
    }
    fprintf(fp, f->latex_words ? t->w->loss_md_fmt : t->w->loss_text_fmt,
            bp_loss_name(bp_net_loss(old)), c->lr);
    fputs(WORD(t, inputs), fp);
    for (int i = 0; i < bp_net_inputs(old); i++)
        fprintf(fp, f->input_item, i ? f->sep : f->first_sep, i + 1, c->input[i]);
    if (c->raw_input) {
        fputs(WORD(t, scaled), fp);
        for (int i = 0; i < bp_net_inputs(old); i++)
            fprintf(fp, f->raw_item, i ? ", " : " ", c->raw_input[i]);
        fputs(")", fp);
    }
    fputs(WORD(t, expected), fp);
    for (int k = 0; k < bp_net_outputs(old); k++)
        fprintf(fp, f->expected_item, k ? f->sep : f->first_sep, k + 1, c->target[k]);
    fputs(f->setup_end, fp);
}

/* s_j = Σ_k w_jk·a_k (+ b_j) and a_j = f(s_j) for neuron j of layer l. */
static void print_neuron_forward(step_trace *c, int l, int j)
{
    tracer *t = &c->t;
    bp_layer_spec ls = bp_net_layer(c->old, l);
    int fan_in = bp_net_fan_in(c->old, l);
    const float *W = bp_net_weights_const(c->old, l), *B = bp_net_biases_const(c->old, l);
    const float *s = bp_workspace_s(c->ws, l), *a = bp_workspace_a(c->ws, l);
    const float *a_prev = l ? bp_workspace_a(c->ws, l - 1) : c->input;
    char a1[64], a2[64], b1[64], b2[64], n1[32], expr[1024], nums[1024];
    nm(t, l, j, n1, sizeof n1);
    size_t e = 0, m = 0;
    expr[0] = nums[0] = '\0';
    int terms = fan_in <= MAX_TERMS ? fan_in : 0;
    for (int k = 0; k < terms; k++) {
        sym_w(t, c->wbase[l] + (size_t)j * fan_in + k, a1, sizeof a1);
        sym_a(t, l - 1, k, a2, sizeof a2);
        e += (size_t)snprintf(expr + e, sizeof expr - e, "%s%s%s%s", k ? " + " : "", a1, mul(t),
                              a2);
        m += (size_t)snprintf(nums + m, sizeof nums - m, "%s%s%s%s", k ? " + " : "",
                              num(b1, sizeof b1, W[(size_t)j * fan_in + k], k > 0), mul(t),
                              num(b2, sizeof b2, a_prev[k], 1));
    }
    if (!terms) {
        size_t first = c->wbase[l] + (size_t)j * fan_in, last = first + fan_in - 1;
        snprintf(expr, sizeof expr, t->n->sum_summary, fan_in, first, last);
        e = strlen(expr); /* the bias term follows the summary */
    }
    if (ls.bias) {
        sym_b(t, c->bbase[l] + (size_t)j, a1, sizeof a1);
        e += (size_t)snprintf(expr + e, sizeof expr - e, " + %s", a1);
        if (terms)
            m += (size_t)snprintf(nums + m, sizeof nums - m, " + %s", num(b1, sizeof b1, B[j], 1));
    }
    line_begin(t);
    fprintf(t->fp, t->n->s_line, n1, expr);
    if (terms)
        fprintf(t->fp, " = %s", nums);
    fprintf(t->fp, " = %.4f", s[j]);
    line_end(t);
    sym_a(t, l, j, a1, sizeof a1);
    snprintf(a2, sizeof a2, t->n->s_sym, n1);
    print_activation(t, ls.act, ls.slope, s[j], a[j], a1, a2);
}

static void print_forward(step_trace *c)
{
    tracer *t = &c->t;
    int L = c->L;
    char n1[32];
    heading(t, t->w->forward);
    for (int l = 0; l < L; l++) {
        char title[96];
        snprintf(title, sizeof title, t->w->layer_title_fmt,
                 l == L - 1 ? t->w->Output : t->w->Hidden,
                 L > 2 && l < L - 1 ? (snprintf(n1, sizeof n1, " %d", l + 1), n1) : "");
        subheading(t, title);
        for (int j = 0; j < bp_net_layer(c->old, l).units; j++)
            print_neuron_forward(c, l, j);
    }
}

static void print_error(step_trace *c)
{
    tracer *t = &c->t;
    int out_units = bp_net_outputs(c->old);
    const float *a_out = bp_workspace_a(c->ws, c->L - 1);
    bp_loss lossfn = bp_net_loss(c->old);
    heading(t, t->w->error);
    if (lossfn == BP_LOSS_MSE) {
        para(t, WORD(t, mse));
        line_begin(t);
        fputs("E = ", t->fp);
        for (int k = 0; k < out_units && k < MAX_TERMS; k++)
            fprintf(t->fp, t->n->mse_term, k ? " + " : "", c->target[k], a_out[k]);
        if (out_units > MAX_TERMS)
            fputs(" + …", t->fp);
        fprintf(t->fp, " = %.4f", c->loss);
        line_end(t);
    } else {
        para(t, lossfn == BP_LOSS_XENT ? WORD(t, xent) : WORD(t, bce));
        line_begin(t);
        fprintf(t->fp, "E = %.4f", c->loss);
        line_end(t);
    }
}

/* δ of output neuron j (between line_begin and line_end); a1 is δ's name, a2 the output's. */
static void print_output_delta(step_trace *c, int j, const char *a1, const char *a2)
{
    tracer *t = &c->t;
    int l = c->L - 1;
    bp_layer_spec ls = bp_net_layer(c->old, l);
    const float *s = bp_workspace_s(c->ws, l), *a = bp_workspace_a(c->ws, l);
    const float *delta = bp_workspace_delta(c->ws, l);
    if (bp_net_loss(c->old) != BP_LOSS_MSE) {
        fprintf(t->fp, t->n->delta_loss, a1, a2, j + 1, a[j], c->target[j], z(delta[j]));
    } else if (ls.act == BP_ACT_SOFTMAX) {
        fprintf(t->fp, t->n->delta_softmax, a1, a2, j + 1, z(delta[j]));
    } else {
        char fs[128], fv[128];
        derivative_factor(t, ls.act, ls.slope, a2, fs, sizeof fs);
        derivative_numbers(t, ls.act, ls.slope, s[j], a[j], fv, sizeof fv);
        fprintf(t->fp, t->n->delta_factor, a1, a2, j + 1, mul(t), fs, a[j], c->target[j], mul(t),
                fv, z(delta[j]));
    }
}

/* δ_h = (Σ_next δ·w) · f'(s_h) for hidden neuron j of layer l (between
 * line_begin and line_end); a1 is δ's name, a2 the neuron's output's. */
static void print_hidden_delta(step_trace *c, int l, int j, const char *a1, const char *a2)
{
    tracer *t = &c->t;
    bp_layer_spec ls = bp_net_layer(c->old, l);
    const float *s = bp_workspace_s(c->ws, l), *a = bp_workspace_a(c->ws, l);
    const float *delta = bp_workspace_delta(c->ws, l);
    bp_layer_spec nx = bp_net_layer(c->old, l + 1);
    const float *Wx = bp_net_weights_const(c->old, l + 1);
    const float *dx = bp_workspace_delta(c->ws, l + 1);
    int nterms = nx.units <= MAX_TERMS ? nx.units : 0;
    char b1[64], b2[64], expr[1024], nums[1024];
    size_t e = 0, m = 0;
    expr[0] = nums[0] = '\0';
    double sum = 0;
    for (int q = 0; q < nx.units; q++)
        sum += (double)dx[q] * Wx[(size_t)q * ls.units + j];
    for (int q = 0; q < nterms; q++) {
        sym_delta(t, l + 1, q, b1, sizeof b1);
        sym_w(t, c->wbase[l + 1] + (size_t)q * ls.units + j, b2, sizeof b2);
        e += (size_t)snprintf(expr + e, sizeof expr - e, "%s%s%s%s", q ? " + " : "", b1, mul(t),
                              b2);
        char c1[32], c2[32];
        m += (size_t)snprintf(nums + m, sizeof nums - m, "%s%s%s%s", q ? " + " : "",
                              num(c1, sizeof c1, dx[q], q > 0), mul(t),
                              num(c2, sizeof c2, Wx[(size_t)q * ls.units + j], 1));
    }
    if (!nterms)
        snprintf(expr, sizeof expr, "%s", t->n->delta_sum);
    char fs[128], fv[128];
    derivative_factor(t, ls.act, ls.slope, a2, fs, sizeof fs);
    derivative_numbers(t, ls.act, ls.slope, s[j], a[j], fv, sizeof fv);
    if (nterms)
        fprintf(t->fp, "%s = (%s)%s%s = (%s)%s%s = %.4f", a1, expr, mul(t), fs, nums, mul(t), fv,
                z(delta[j]));
    else
        fprintf(t->fp, "%s = (%s)%s%s = %.4f%s%s = %.4f", a1, expr, mul(t), fs, sum, mul(t), fv,
                z(delta[j]));
}

/* ∂E/∂w = δ·a and w' = w − η·∂E/∂w for weight k of neuron j in layer l. */
static void print_weight_update(step_trace *c, int l, int j, int k)
{
    tracer *t = &c->t;
    int fan_in = bp_net_fan_in(c->old, l);
    const float *delta = bp_workspace_delta(c->ws, l), *gw = bp_workspace_grad_w(c->ws, l);
    const float *W = bp_net_weights_const(c->old, l), *Wn = bp_net_weights_const(c->net, l);
    const float *a_prev = l ? bp_workspace_a(c->ws, l - 1) : c->input;
    float lr = c->lr;
    size_t wi = c->wbase[l] + (size_t)j * fan_in + k, off = (size_t)j * fan_in + k;
    char a1[64], a2[64], b1[64];
    sym_w(t, wi, a1, sizeof a1);
    sym_delta(t, l, j, a2, sizeof a2);
    sym_a(t, l - 1, k, b1, sizeof b1);
    char c1[32], c2[32], c3[32];
    line_begin(t);
    fprintf(t->fp, t->n->weight_update, a1, a2, b1, num(c1, sizeof c1, z(delta[j]), 0),
            num(c2, sizeof c2, a_prev[k], 1), z(gw[off]), a1, a1, a1, W[off], lr,
            num(c3, sizeof c3, z(gw[off]), 1), z(Wn[off]));
    line_end(t);
}

/* Gradients and updates of layer l's weights and biases. */
static void print_layer_updates(step_trace *c, int l)
{
    tracer *t = &c->t;
    bp_layer_spec ls = bp_net_layer(c->old, l);
    int fan_in = bp_net_fan_in(c->old, l);
    const float *gb = bp_workspace_grad_b(c->ws, l);
    const float *B = bp_net_biases_const(c->old, l), *Bn = bp_net_biases_const(c->net, l);
    char a1[64], a2[64];
    for (int j = 0; j < ls.units; j++) {
        for (int k = 0; k < fan_in; k++) {
            if (fan_in > MAX_TERMS && k >= 2 && k < fan_in - 1) {
                if (k == 2)
                    fputs(t->f->vdots, t->fp);
                continue;
            }
            print_weight_update(c, l, j, k);
        }
        if (ls.bias) {
            char c1[32];
            sym_b(t, c->bbase[l] + (size_t)j, a1, sizeof a1);
            sym_delta(t, l, j, a2, sizeof a2);
            line_begin(t);
            fprintf(t->fp, t->n->bias_update, a1, a2, z(gb[j]), a1, B[j], c->lr,
                    num(c1, sizeof c1, z(gb[j]), 1), z(Bn[j]));
            line_end(t);
        }
    }
}

/* Backpropagation, layer by layer from the output. */
static void print_backprop(step_trace *c)
{
    tracer *t = &c->t;
    int L = c->L;
    char a1[64], a2[64], n1[32];
    for (int l = L - 1; l >= 0; l--) {
        char title[96];
        snprintf(title, sizeof title, t->w->backprop_fmt,
                 l == L - 1 ? t->w->output_lc : t->w->hidden_lc,
                 L > 2 && l < L - 1 ? (snprintf(n1, sizeof n1, " %d", l + 1), n1) : "");
        heading(t, title);
        for (int j = 0; j < bp_net_layer(c->old, l).units; j++) {
            sym_delta(t, l, j, a1, sizeof a1);
            sym_a(t, l, j, a2, sizeof a2);
            line_begin(t);
            if (l == L - 1)
                print_output_delta(c, j, a1, a2);
            else
                print_hidden_delta(c, l, j, a1, a2);
            line_end(t);
        }
        if (t->f == &html_writer && l == L - 1)
            html_rules(t, c->wbase[l]);
        print_layer_updates(c, l);
    }
}

/* The updated weights and biases, one line per layer. */
static void print_result(step_trace *c)
{
    tracer *t = &c->t;
    const bp_net *net = c->net;
    heading(t, t->w->result);
    for (int l = 0; l < c->L; l++) {
        bp_layer_spec ls = bp_net_layer(net, l);
        int fan_in = bp_net_fan_in(net, l);
        size_t n = (size_t)ls.units * (size_t)fan_in;
        const float *Wn = bp_net_weights_const(net, l);
        const format_writer *f = t->f;
        f->result_begin(t);
        for (size_t i = 0; i < n && i < 64; i++) {
            fprintf(t->fp, f->w_item, c->wbase[l] + i, Wn[i]);
            if (i + 1 < n && i + 1 < 64)
                fputs(f->item_sep, t->fp);
        }
        if (n > 64)
            fprintf(t->fp, f->latex_words ? t->w->more_md_fmt : t->w->more_text_fmt, n);
        if (ls.bias) {
            const float *Bn = bp_net_biases_const(net, l);
            for (int j = 0; j < ls.units && j < 64; j++)
                fprintf(t->fp, f->b_item, c->bbase[l] + (size_t)j, Bn[j]);
        }
        f->result_end(t);
    }
}

/* The article's numbering: w1, w2, ... and b1, b2, ... run on across layers. */
static void number_parameters(step_trace *c)
{
    size_t wn = 1, bn = 1;
    for (int l = 0; l < c->L; l++) {
        bp_layer_spec ls = bp_net_layer(c->old, l);
        c->wbase[l] = wn;
        c->bbase[l] = bn;
        wn += (size_t)ls.units * (size_t)bp_net_fan_in(c->old, l);
        if (ls.bias)
            bn += (size_t)ls.units;
    }
}

/* Checks the arguments, as bp_explain_step_ex documents them. */
static bp_status check_step_args(const bp_net *net, const float *input, const float *target,
                                 FILE *fp, bp_trace_format format)
{
    if (!net || !input || !target || !fp)
        return bp_error(BP_ERR_ARG, "bp_explain_step: NULL argument");
    if (format != BP_TRACE_TEXT && format != BP_TRACE_MARKDOWN && format != BP_TRACE_HTML)
        return bp_error(BP_ERR_ARG, "bp_explain_step: unknown format %d", (int)format);
    return BP_OK;
}

static bp_status check_step_values(const bp_net *net, const float *input, const float *target,
                                   float lr)
{
    if (!(lr > 0) || !isfinite(lr))
        return bp_error(BP_ERR_ARG, "learning rate must be a positive number");
    for (int i = 0; i < bp_net_inputs(net); i++)
        if (!isfinite(input[i]))
            return bp_error(BP_ERR_NUMERIC, "input %d is not a finite number", i + 1);
    for (int k = 0; k < bp_net_outputs(net); k++)
        if (!isfinite(target[k]))
            return bp_error(BP_ERR_NUMERIC, "target %d is not a finite number", k + 1);
    return BP_OK;
}

bp_status bp_explain_step_ex(bp_net *net, const float *raw_input, const float *target,
                             float lr, bp_trace_format format, const bp_explain_options *opt,
                             FILE *fp)
{
    const float *input = raw_input;
    bp_status st = check_step_args(net, input, target, fp, format);
    if (st != BP_OK)
        return st;
    bp_explain_options o;
    const bp_words *words;
    st = bp_explain_options_take(opt, "bp_explain_step", &o, &words);
    if (st != BP_OK)
        return st;
    if ((st = check_step_values(net, input, target, lr)) != BP_OK)
        return st;
    /* The net sees its inputs scaled, as bp_predict and bp_draw_svg feed them,
     * so every s below is the one the model computes for this raw input. */
    float *scaled = NULL;
    if (bp_net_scaling(net, NULL, NULL)) {
        scaled = malloc((size_t)bp_net_inputs(net) * sizeof *scaled);
        if (!scaled)
            return bp_error(BP_ERR_NOMEM, "out of memory scaling the input");
        bp_net_scale_inputs(net, raw_input, scaled, 1);
        input = scaled;
    }

    bp_net *old = NULL;
    bp_workspace *ws = NULL;
    st = bp_net_clone(net, &old);
    if (st == BP_OK)
        st = bp_workspace_create(&ws, net, 1, 1);
    float loss = 0;
    if (st == BP_OK)
        st = bp_forward(net, ws, input, 1);
    if (st == BP_OK)
        st = bp_backward(net, ws, input, target, 1, &loss);
    if (st == BP_OK)
        st = bp_sgd_step(net, ws, lr);
    if (st != BP_OK)
        goto done;

    const format_writer *f = format == BP_TRACE_HTML       ? &html_writer
                             : format == BP_TRACE_MARKDOWN ? &md_writer
                                                           : &text_writer;
    step_trace c = {.t = {.fp = fp, .out = fp, .f = f, .n = f->n, .w = words, .net = old},
                    .old = old, .net = net, .ws = ws, .input = input,
                    .raw_input = scaled ? raw_input : NULL, .target = target, .lr = lr,
                    .loss = loss, .L = bp_net_layers(old)};
    number_parameters(&c);
    if (f == &html_writer)
        st = bp_html_begin(fp, words, old, net, input, scaled ? raw_input : NULL, target, lr);
    else
        print_setup(&c);
    if (st != BP_OK)
        goto done;
    print_forward(&c);
    print_error(&c);
    print_backprop(&c);
    print_result(&c);
    if (f == &html_writer)
        st = bp_html_end(fp, words, net, input, target, lr, o.steps, loss);
done:
    bp_workspace_free(ws);
    bp_net_free(old);
    free(scaled);
    if (st != BP_OK)
        return st;
    if (ferror(fp))
        return bp_error(BP_ERR_IO, "write error while printing the trace");
    return BP_OK;
}
