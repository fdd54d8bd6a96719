/*
 * The lesson: `backprop step --format html`.  One self-contained page,
 * written as XHTML-compatible HTML (every element closed, only XML's five
 * entities) so that it parses as XML as well as HTML: the network figure of
 * svg.c inline, the derivation of trace.c with every formula as MathML and
 * its text notation under it, a table and plot of E over the next steps,
 * and a few lines of script that link the figure and the formulas.  No
 * external URL; the only URIs are the XML namespace names.
 *
 * The formulas arrive in trace.c's text notation ("δo1 = (a_o1 −
 * expected1)·a_o1·(1 − a_o1) = …") and are turned into MathML by a small
 * tokenizer here, so text, Markdown and HTML cannot disagree on a number.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"

#define MAX_TOKENS 512
#define MAX_REFS 48
#define REF_CAP 24

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_valid_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
          : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 2 && s[0] < 0xC2)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

void bp_xml_escape(FILE *fp, const char *str, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        int n = 1;
        if (flags & BP_XML_CLEAN) {
            n = utf8_valid_len(s);
            if (n == 0 || (n == 1 && *s < 0x20 && *s != '\t')) {
                fputc('?', fp);
                s++;
                continue;
            }
        }
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'':
            if (flags & BP_XML_APOS)
                fputs("&apos;", fp);
            else
                fputc('\'', fp);
            break;
        default: fwrite(s, 1, (size_t)n, fp);
        }
        s += n;
    }
}

void bp_html_escape(FILE *fp, const char *s) { bp_xml_escape(fp, s, 0); }

/* ---- formulas: text notation → MathML -------------------------------- */

typedef enum { T_NUM, T_ID, T_OP } tok_kind;

typedef struct {
    tok_kind kind;
    char base[24]; /* number, identifier's base or operator (UTF-8) */
    char sub[24];  /* identifier's subscript, "" if none */
    int prime;     /* w7' */
} token;

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

/* Copies n bytes of s into a buffer of cap bytes, truncating. */
static void copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Length of the UTF-8 sequence starting with byte c. */
static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* Reads a subscript run after a base: "_h1", "o1" (after δ), "7" (after w). */
static const char *read_sub(const char *p, char *sub, size_t cap, int letters_ok)
{
    const char *q = p;
    if (*q == '_') {
        q++;
        p = q;
        while (is_word(*q))
            q++;
    } else if (letters_ok) {
        while (is_word(*q))
            q++;
    } else {
        while (is_digit(*q))
            q++;
    }
    copy(sub, cap, p, (size_t)(q - p));
    return q;
}

static int tokenize(const char *s, token *tok, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        token *t = &tok[n];
        memset(t, 0, sizeof *t);
        int after_value = n > 0 && (tok[n - 1].kind != T_OP || !strcmp(tok[n - 1].base, ")"));
        if (*s == ' ') {
            s++;
            continue;
        }
        if (is_digit(*s) || (*s == '-' && is_digit(s[1]) && !after_value)) {
            const char *q = s + 1;
            while (is_digit(*q) || *q == '.')
                q++;
            t->kind = T_NUM;
            copy(t->base, sizeof t->base, s, (size_t)(q - s));
            s = q;
        } else if (is_alpha(*s)) {
            const char *q = s;
            while (is_alpha(*q))
                q++;
            t->kind = T_ID;
            copy(t->base, sizeof t->base, s, (size_t)(q - s));
            s = read_sub(q, t->sub, sizeof t->sub, 0);
        } else if (!strncmp(s, "δ", 2) || !strncmp(s, "Σ", 2)) {
            t->kind = s[1] == '\xb4' ? T_ID : T_OP; /* δ is a name, Σ an operator */
            copy(t->base, sizeof t->base, s, 2);
            s = read_sub(s + 2, t->sub, sizeof t->sub, 1);
        } else if (!strncmp(s, "η", 2)) {
            t->kind = T_ID;
            copy(t->base, sizeof t->base, s, 2);
            s += 2;
        } else {
            size_t k = utf8_len((unsigned char)*s);
            t->kind = T_OP;
            copy(t->base, sizeof t->base, s, k);
            s += strlen(t->base) ? strlen(t->base) : 1;
        }
        if (t->kind == T_ID && *s == '\'') {
            t->prime = 1;
            s++;
        }
        n++;
    }
    return n;
}

static int op_is(const token *t, const char *op) { return t->kind == T_OP && !strcmp(t->base, op); }

static void emit_atom(FILE *fp, const token *t)
{
    /* w7' as w with subscript 7 and superscript ′ over the same base. */
    if (t->sub[0])
        fputs(t->prime ? "<msubsup>" : "<msub>", fp);
    else if (t->prime)
        fputs("<msup>", fp);
    if (t->kind == T_NUM) {
        fputs("<mn>", fp);
        if (t->base[0] == '-')
            fprintf(fp, "−%s", t->base + 1);
        else
            fputs(t->base, fp);
        fputs("</mn>", fp);
    } else if (t->kind == T_ID) {
        fputs("<mi>", fp);
        bp_html_escape(fp, t->base);
        fputs("</mi>", fp);
    } else if (!strcmp(t->base, "½")) {
        fputs("<mfrac><mn>1</mn><mn>2</mn></mfrac>", fp);
    } else {
        /* Brackets keep their size: the formulas are one line each. */
        fputs(strchr("()[]", t->base[0]) && t->base[0] ? "<mo stretchy=\"false\">" : "<mo>", fp);
        bp_html_escape(fp, t->base);
        fputs("</mo>", fp);
    }
    if (t->sub[0]) {
        const char *q = t->sub;
        while (is_digit(*q))
            q++;
        fputs(*q ? "<mi>" : "<mn>", fp);
        bp_html_escape(fp, t->sub);
        fputs(*q ? "</mi>" : "</mn>", fp);
        fputs(t->prime ? "<mo>′</mo></msubsup>" : "</msub>", fp);
    } else if (t->prime) {
        fputs("<mo>′</mo></msup>", fp);
    }
}

/* The superscript after '^': a sign and an atom or a parenthesised group. */
static int emit_sup(FILE *fp, const token *tok, int i, int n)
{
    fputs("<mrow>", fp);
    if (i < n && (op_is(&tok[i], "-") || op_is(&tok[i], "−"))) {
        fputs("<mo>−</mo>", fp);
        i++;
    }
    if (i < n && op_is(&tok[i], "(")) {
        int depth = 0;
        do {
            depth += op_is(&tok[i], "(") - op_is(&tok[i], ")");
            emit_atom(fp, &tok[i++]);
        } while (i < n && depth > 0);
    } else if (i < n) {
        emit_atom(fp, &tok[i++]);
    }
    fputs("</mrow>", fp);
    return i;
}

/* Tokens [i, n) as one row. */
static void emit_row(FILE *fp, const token *tok, int i, int n)
{
    fputs("<mrow>", fp);
    while (i < n) {
        /* ∂X/∂Y as a fraction. */
        if (i + 4 < n && op_is(&tok[i], "∂") && tok[i + 1].kind == T_ID &&
            op_is(&tok[i + 2], "/") && op_is(&tok[i + 3], "∂") && tok[i + 4].kind == T_ID) {
            fputs("<mfrac><mrow><mo>∂</mo>", fp);
            emit_atom(fp, &tok[i + 1]);
            fputs("</mrow><mrow><mo>∂</mo>", fp);
            emit_atom(fp, &tok[i + 4]);
            fputs("</mrow></mfrac>", fp);
            i += 5;
        } else if (i + 1 < n && op_is(&tok[i + 1], "^")) {
            fputs("<msup>", fp);
            emit_atom(fp, &tok[i]);
            i = emit_sup(fp, tok, i + 2, n);
            fputs("</msup>", fp);
        } else if (i + 1 < n && op_is(&tok[i + 1], "²")) {
            fputs("<msup>", fp);
            emit_atom(fp, &tok[i]);
            fputs("<mn>2</mn></msup>", fp);
            i += 2;
        } else {
            emit_atom(fp, &tok[i++]);
        }
    }
    fputs("</mrow>", fp);
}

/* A long chain "x = a = b = c" is set as a table, one "= …" per row,
 * since MathML Core does not break lines; short formulas stay one row. */
#define LONG_FORMULA 70 /* characters of plain text */
static void emit_math(FILE *fp, const token *tok, int n, size_t text_len)
{
    int eq[32], k = 0, depth = 0;
    for (int i = 0; i < n && k < 32; i++) {
        depth += op_is(&tok[i], "(") - op_is(&tok[i], ")");
        if (depth == 0 && op_is(&tok[i], "="))
            eq[k++] = i;
    }
    fputs("<math xmlns=\"http://www.w3.org/1998/Math/MathML\">", fp);
    if (text_len <= LONG_FORMULA || k < 2) {
        emit_row(fp, tok, 0, n);
    } else {
        fputs("<mtable columnalign=\"right left\">", fp);
        for (int r = 0; r < k; r++) {
            fputs("<mtr><mtd>", fp);
            if (r == 0)
                emit_row(fp, tok, 0, eq[0]);
            fputs("</mtd><mtd>", fp);
            emit_row(fp, tok, eq[r], r + 1 < k ? eq[r + 1] : n);
            fputs("</mtd></mtr>", fp);
        }
        fputs("</mtable>", fp);
    }
    fputs("</math>", fp);
}

/* Is s a neuron name: i1, h3, o2, h2_3? */
static int neuron_name(const char *s)
{
    if (*s != 'i' && *s != 'h' && *s != 'o')
        return 0;
    if (!is_digit(*++s))
        return 0;
    while (is_digit(*s) || *s == '_')
        s++;
    return *s == '\0';
}

static void add_ref(char refs[][REF_CAP], int *n, const char *ref)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(refs[i], ref))
            return;
    if (*n < MAX_REFS)
        copy(refs[(*n)++], REF_CAP, ref, strlen(ref));
}

/* The figure elements a formula mentions: weights w7, biases b2, neurons n-h1. */
static int formula_refs(const token *tok, int n, char refs[][REF_CAP])
{
    int k = 0;
    char buf[64];
    for (int i = 0; i < n; i++) {
        const token *t = &tok[i];
        if (t->kind != T_ID || !t->sub[0])
            continue;
        int digits = is_digit(t->sub[0]);
        if ((!strcmp(t->base, "w") || !strcmp(t->base, "b")) && digits) {
            snprintf(buf, sizeof buf, "%s%s", t->base, t->sub);
            add_ref(refs, &k, buf);
        } else if (!strcmp(t->base, "i") && digits) {
            snprintf(buf, sizeof buf, "n-i%s", t->sub);
            add_ref(refs, &k, buf);
        } else if ((!strcmp(t->base, "s") || !strcmp(t->base, "a") || !strcmp(t->base, "δ")) &&
                   neuron_name(t->sub)) {
            snprintf(buf, sizeof buf, "n-%s", t->sub);
            add_ref(refs, &k, buf);
        }
    }
    return k;
}

static void formula_block(FILE *fp, const char *text)
{
    token *tok = malloc(MAX_TOKENS * sizeof *tok);
    char refs[MAX_REFS][REF_CAP];
    if (!tok)
        return;
    int n = tokenize(text, tok, MAX_TOKENS);
    int k = formula_refs(tok, n, refs);
    fputs("<div class=\"f\" tabindex=\"0\" data-refs=\"", fp);
    for (int i = 0; i < k; i++)
        fprintf(fp, "%s%s", i ? " " : "", refs[i]);
    fputs("\">", fp);
    emit_math(fp, tok, n, strlen(text));
    fputs("<div class=\"plain\">", fp);
    bp_html_escape(fp, text);
    fputs("</div></div>\n", fp);
    free(tok);
}

void bp_html_formula(FILE *fp, const char *text)
{
    /* trace.c separates two formulas on one line by four spaces. */
    char *copy_ = malloc(strlen(text) + 1);
    if (!copy_)
        return;
    strcpy(copy_, text);
    char *p = copy_;
    while (*p == ' ')
        p++;
    while (*p) {
        char *sep = strstr(p, "    ");
        if (sep)
            *sep = '\0';
        char *end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\n'))
            *--end = '\0';
        if (*p)
            formula_block(fp, p);
        if (!sep)
            break;
        p = sep + 4;
        while (*p == ' ')
            p++;
    }
    free(copy_);
}

/* ---- the page -------------------------------------------------------- */

static const char *const css =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,'Noto Sans CJK SC','Source Han Sans SC',"
    "'PingFang SC','Microsoft YaHei',sans-serif;margin:0;background:#fafafa;"
    "color:#222}\n"
    "main{max-width:1100px;margin:0 auto;padding:1em 1.5em;background:#fff}\n"
    "h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\n"
    "figure{margin:0;overflow-x:auto}figure svg{max-width:100%;height:auto}\n"
    ".f{margin:.3em 0;padding:.2em .5em;border-left:3px solid transparent;overflow-x:auto}\n"
    ".f math{font-size:1.15em;math-style:normal;display:block;margin:.2em 0}\n"
    ".f mtd{text-align:left;padding:.1em 0}.f mtd:first-child{text-align:right}\n"
    ".plain{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.8em;color:#666}\n"
    ".f.hl,.f:focus{background:#fff3cd;border-left-color:#e67e00;outline:none}\n"
    "svg .hl circle{stroke:#e67e00;stroke-width:5}\n"
    "svg line.hl{stroke:#e67e00;stroke-width:6;stroke-opacity:1}\n"
    "svg g.hl rect{stroke:#e67e00;stroke-width:2.5}\n"
    "svg [data-k]{cursor:pointer}\n"
    ".hint{color:#555;font-style:italic}\n"
    "table{border-collapse:collapse}td,th{padding:.15em .8em;text-align:right;"
    "border-bottom:1px solid #eee}\n";

/* Links figure and formulas (see the data-k / data-refs attributes).  The
 * page is complete without it.  "#selftest=w7" in the address runs a check
 * for the browser test and writes its result into body[data-selftest].
 * Written without '<' and '&' so the page stays well-formed XML. */
static const char *const script =
    "(function () {\n"
    "  var all = function (q) { return Array.prototype.slice.call(document.querySelectorAll(q)); };\n"
    "  var figs = all('svg [data-k]'), fs = all('.f');\n"
    "  var list = function (e, a) { return (e.getAttribute(a) || '').split(' '); };\n"
    "  var clear = function () { all('.hl').forEach(function (e) { e.classList.remove('hl'); }); };\n"
    "  var fromFigure = function (g) {\n"
    "    var k = g.getAttribute('data-k'), ends = list(g, 'data-ends');\n"
    "    clear();\n"
    "    figs.forEach(function (e) { var x = e.getAttribute('data-k');\n"
    "      if (x === k || ends.indexOf(x) !== -1) e.classList.add('hl'); });\n"
    "    fs.forEach(function (f) { if (list(f, 'data-refs').indexOf(k) !== -1) f.classList.add('hl'); });\n"
    "  };\n"
    "  var fromFormula = function (f) {\n"
    "    var r = list(f, 'data-refs');\n"
    "    clear();\n"
    "    f.classList.add('hl');\n"
    "    figs.forEach(function (e) { if (r.indexOf(e.getAttribute('data-k')) !== -1) e.classList.add('hl'); });\n"
    "  };\n"
    "  figs.forEach(function (g) {\n"
    "    g.addEventListener('mouseenter', function () { fromFigure(g); });\n"
    "    g.addEventListener('focus', function () { fromFigure(g); });\n"
    "  });\n"
    "  fs.forEach(function (f) {\n"
    "    f.addEventListener('mouseenter', function () { fromFormula(f); });\n"
    "    f.addEventListener('focus', function () { fromFormula(f); });\n"
    "  });\n"
    "  var m = /^#selftest=([a-z0-9_-]+)$/.exec(location.hash);\n"
    "  if (m) {\n"
    "    var maths = all('math'), empty = maths.filter(function (e) {\n"
    "      var r = e.getBoundingClientRect(); return !(r.width * r.height > 0); });\n"
    "    var g = document.querySelector('svg [data-k=\"' + m[1] + '\"]');\n"
    "    if (g) g.dispatchEvent(new MouseEvent('mouseenter'));\n"
    "    var want = fs.filter(function (f) { return list(f, 'data-refs').indexOf(m[1]) !== -1; });\n"
    "    document.body.setAttribute('data-selftest', 'math=' + maths.length + ' empty=' + empty.length +\n"
    "      ' formulas=' + want.length + ' highlighted=' + all('.f.hl').length +\n"
    "      ' figure=' + all('svg .hl').length);\n"
    "  }\n"
    "})();\n";

static void arch_name(const bp_net *net, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "%d", bp_net_inputs(net));
    for (int l = 0; l < bp_net_layers(net) && off < cap; l++)
        off += (size_t)snprintf(buf + off, cap - off, "-%d", bp_net_layer(net, l).units);
}

bp_status bp_html_begin(FILE *fp, const bp_words *w, const bp_net *old, const bp_net *updated,
                        const float *input, const float *raw, const float *target, float lr)
{
    char arch[640], title[800], line[4096];
    arch_name(old, arch, sizeof arch);
    snprintf(title, sizeof title, w->html_title, arch);
    fprintf(fp, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"%s\" "
                "xml:lang=\"%s\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
                "<title>", w->code, w->code);
    bp_html_escape(fp, title);
    fprintf(fp, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>", css);
    bp_html_escape(fp, title);
    fputs("</h1>\n<p>", fp);
    bp_html_escape(fp, w->intro);
    fputs("</p>\n<figure>\n", fp);
    bp_status st = bp_svg_write(fp, old, input, raw, updated, NULL, w, 1);
    if (st != BP_OK)
        return st;
    fputs("<figcaption>", fp);
    bp_html_escape(fp, w->figure_caption);
    fputs("</figcaption>\n</figure>\n<p class=\"hint\">", fp);
    bp_html_escape(fp, w->hint);
    fputs("</p>\n<h2>", fp);
    bp_html_escape(fp, w->setup);
    fputs("</h2>\n<p>", fp);
    size_t off = (size_t)snprintf(line, sizeof line, w->net_md_fmt, bp_net_inputs(old));
    for (int l = 0; l < bp_net_layers(old) && off < sizeof line; l++) {
        bp_layer_spec ls = bp_net_layer(old, l);
        off += (size_t)snprintf(line + off, sizeof line - off, w->layer_fmt, ls.units,
                                bp_activation_name(ls.act),
                                l == bp_net_layers(old) - 1 ? w->outputs : w->hidden,
                                ls.bias ? w->bias : "");
    }
    if (off < sizeof line)
        snprintf(line + off, sizeof line - off, w->loss_text_fmt,
                 bp_loss_name(bp_net_loss(old)), lr);
    bp_html_escape(fp, line);
    fputs("</p>\n", fp);
    off = 0;
    for (int i = 0; i < bp_net_inputs(old) && off < sizeof line; i++)
        off += (size_t)snprintf(line + off, sizeof line - off, "%si%d = %.4f", i ? ", " : "",
                                i + 1, input[i]);
    bp_html_formula(fp, line);
    off = 0;
    for (int k = 0; k < bp_net_outputs(old) && off < sizeof line; k++)
        off += (size_t)snprintf(line + off, sizeof line - off, "%sexpected%d = %.4f",
                                k ? ", " : "", k + 1, target[k]);
    bp_html_formula(fp, line);
    snprintf(line, sizeof line, "η = %g", lr);
    bp_html_formula(fp, line);
    return BP_OK;
}

/* E before each of `n` steps of `net` (a copy) on the sample. */
static bp_status repeat_losses(const bp_net *net, const float *input, const float *target,
                               float lr, int n, double *E)
{
    bp_net *copy_net = NULL;
    bp_workspace *ws = NULL;
    bp_status st = bp_net_clone(net, &copy_net);
    if (st == BP_OK)
        st = bp_workspace_create(&ws, copy_net, 1, 1);
    for (int i = 0; i < n && st == BP_OK; i++) {
        float loss = 0;
        st = bp_forward(copy_net, ws, input, 1);
        if (st == BP_OK)
            st = bp_backward(copy_net, ws, input, target, 1, &loss);
        if (st == BP_OK)
            st = bp_sgd_step(copy_net, ws, lr);
        E[i] = loss;
    }
    bp_workspace_free(ws);
    bp_net_free(copy_net);
    return st;
}

/* A line plot of E[0..n-1] against steps 1..n. */
static void plot_losses(FILE *fp, const bp_words *w, const double *E, int n)
{
    const double W = 640, H = 260, x0 = 70, x1 = 620, y0 = 20, y1 = 220;
    double lo = E[0], hi = E[0];
    for (int i = 1; i < n; i++) {
        lo = fmin(lo, E[i]);
        hi = fmax(hi, E[i]);
    }
    if (!(hi > lo))
        hi = lo + 1e-6;
    fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "viewBox=\"0 0 %.0f %.0f\" class=\"plot\" font-family=\"DejaVu Sans, Arial, "
                "sans-serif\" font-size=\"12\">\n<title>E</title>\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
                "<path d=\"M%.0f,%.0f V%.0f H%.0f\" fill=\"none\" stroke=\"#444444\"/>\n",
            W, H, W, H, x0, y0, y1, x1);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.4f</text>\n", x0 - 6,
            y0 + 4, hi);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.4f</text>\n", x0 - 6,
            y1 + 4, lo);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">1</text>\n", x0, y1 + 18);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n", x1, y1 + 18,
            n);
    fputs("<text x=\"345\" y=\"250\" text-anchor=\"middle\">", fp);
    bp_html_escape(fp, w->step_col);
    fputs("</text>\n<text x=\"16\" y=\"120\" text-anchor=\"middle\">", fp);
    bp_html_escape(fp, w->error_col);
    fputs("</text>\n<polyline fill=\"none\" stroke=\"#2166ac\" stroke-width=\"2\" points=\"", fp);
    for (int i = 0; i < n; i++) {
        double x = n > 1 ? x0 + (x1 - x0) * i / (n - 1) : x0;
        double y = y1 - (y1 - y0) * (E[i] - lo) / (hi - lo);
        fprintf(fp, "%s%.1f,%.1f", i ? " " : "", x, y);
    }
    fputs("\"/>\n</svg>\n", fp);
}

static void repeat_section(FILE *fp, const bp_words *w, const double *E, int n)
{
    char buf[512];
    fputs("<h2>", fp);
    bp_html_escape(fp, w->repeat);
    fputs("</h2>\n<p>", fp);
    snprintf(buf, sizeof buf, w->repeat_text_fmt, n - 1);
    bp_html_escape(fp, buf);
    fputs("</p>\n<table class=\"repeat\">\n<tr><th>", fp);
    bp_html_escape(fp, w->step_col);
    fputs("</th><th>", fp);
    bp_html_escape(fp, w->error_col);
    fputs("</th><th>", fp);
    bp_html_escape(fp, w->change_col);
    fputs("</th></tr>\n", fp);
    /* Steps 1, 2, 3, 5, 10, 20, 50, 100, … and the last. */
    static const int marks[] = {1, 2, 3, 5};
    int step = 1, prev = -1;
    for (int m = 0;; m++) {
        step = m < 4 ? marks[m] : (m % 3 == 1 ? 10 : m % 3 == 2 ? 20 : 50) *
                                  (int)pow(10, (m - 4) / 3);
        if (step > n)
            step = n;
        if (step - 1 == prev)
            break;
        fprintf(fp, "<tr><td>%d</td><td>%.4f</td><td>", step, E[step - 1]);
        if (prev >= 0)
            fprintf(fp, "%+.4f", E[step - 1] - E[prev]);
        fputs("</td></tr>\n", fp);
        prev = step - 1;
    }
    fputs("</table>\n", fp);
    plot_losses(fp, w, E, n);
}

bp_status bp_html_end(FILE *fp, const bp_words *w, const bp_net *net, const float *input,
                      const float *target, float lr, int steps, float first_loss)
{
    if (steps > 0) {
        double *E = malloc(((size_t)steps + 1) * sizeof *E);
        if (!E)
            return bp_error(BP_ERR_NOMEM, "out of memory for %d steps", steps);
        E[0] = first_loss;
        bp_status st = repeat_losses(net, input, target, lr, steps, E + 1);
        if (st == BP_OK)
            repeat_section(fp, w, E, steps + 1);
        free(E);
        if (st != BP_OK)
            return st;
    }
    fputs("<p>", fp);
    bp_html_escape(fp, w->closing);
    fprintf(fp, "</p>\n</main>\n<script>\n%s</script>\n</body>\n</html>\n", script);
    return BP_OK;
}
