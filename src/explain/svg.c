/*
 * bp_draw_svg: a picture of a (small) network as the article draws it —
 * inputs on the left, outputs on the right, every neuron a circle with its
 * name, every edge labelled with its weight ("w7 = 0.1200"), biases beside
 * their neuron, and, given an input, each neuron's weighted sum s and
 * activation a.  Given the net after a step, every value reads "old → new".
 *
 * Layout: one column per layer; edge labels are placed greedily along their
 * edge, preferring the sending end, at the candidate spot that overlaps the
 * least with neurons, their texts and the labels already placed.  Big nets
 * are drawn reduced (first and last neurons of wide layers, no edge labels)
 * so the file stays small and the picture readable.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "io/io_internal.h"
#include "nn/net_io.h"

#define MAX_FULL_UNITS 16   /* wider layers are drawn reduced */
#define MAX_FULL_EDGES 200  /* more edges: no per-edge labels */
#define SHOW_HEAD 5         /* neurons shown before the ellipsis of a reduced layer */
#define SHOW_TAIL 2         /* and after it */

#define NODE_R 24.0
#define FONT_MONO "DejaVu Sans Mono, Menlo, Consolas, monospace"
#define FONT_SANS "DejaVu Sans, Helvetica, Arial, sans-serif"
#define MONO_PX 11.0
#define MONO_CHAR_W (MONO_PX * 0.602) /* advance of one monospace glyph */
#define LABEL_H 15.0
#define LABEL_PAD 4.0
#define ARROW "\xe2\x86\x92" /* → in UTF-8 */
#define TEXT_CAP 128   /* a value text: "w123 = -1234.5678 → …" */

#define COLOR_POS "#2166ac"
#define COLOR_NEG "#c0392b"
#define COLOR_HL "#e67e00"

typedef struct rect {
    double x0, y0, x1, y1;
} rect;

typedef struct rects {
    rect *r;
    size_t n, cap;
} rects;

typedef struct column {
    int units;      /* neurons of the layer */
    int slots;      /* drawn rows: neurons shown, plus one for an ellipsis */
    int ellipsis;   /* slot index of the ellipsis, or -1 */
    double x;
    double y0;      /* y of slot 0 */
} column;

typedef struct edge_label {
    double cx, cy, w;
    int positive;
    size_t wi;      /* weight number (w7: 7) */
    int l, j, k;    /* layer, receiving and sending neuron */
    char text[TEXT_CAP];
} edge_label;

/* ---- small helpers ------------------------------------------------- */

static int rects_push(rects *rs, rect r)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        rect *bigger = realloc(rs->r, cap * sizeof *bigger);
        if (!bigger)
            return 0;
        rs->r = bigger;
        rs->cap = cap;
    }
    rs->r[rs->n++] = r;
    return 1;
}

static double overlap(rect a, rect b)
{
    double w = fmin(a.x1, b.x1) - fmax(a.x0, b.x0);
    double h = fmin(a.y1, b.y1) - fmax(a.y0, b.y0);
    return (w > 0 && h > 0) ? w * h : 0.0;
}

/* "%.4f" without a "-0.0000". */
static void fmt4(char *buf, size_t cap, float v)
{
    snprintf(buf, cap, "%.4f", (double)v);
    if (strcmp(buf, "-0.0000") == 0)
        snprintf(buf, cap, "0.0000");
}

/* "name = old" or "name = old → new"; returns the length in characters. */
static int fmt_value(char *buf, size_t cap, const char *name, float v, const float *v_new)
{
    char a[48], b[48];
    fmt4(a, sizeof a, v);
    if (v_new) {
        fmt4(b, sizeof b, *v_new);
        snprintf(buf, cap, "%s = %s " ARROW " %s", name, a, b);
        return (int)(strlen(name) + strlen(a) + strlen(b) + 6);
    }
    snprintf(buf, cap, "%s = %s", name, a);
    return (int)(strlen(name) + strlen(a) + 3);
}

/* A monospace text with a translucent white box behind it, centred on (cx, cy). */
static void put_boxed_text(FILE *fp, double cx, double cy, double w, const char *text,
                           const char *stroke, const char *fill)
{
    fprintf(fp,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"3\" "
            "fill=\"#ffffff\" fill-opacity=\"0.88\"",
            cx - w / 2, cy - LABEL_H / 2, w, LABEL_H);
    if (stroke)
        fprintf(fp, " stroke=\"%s\" stroke-width=\"0.6\"", stroke);
    fprintf(fp, "/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">", cx, cy + MONO_PX * 0.35, fill);
    bp_xml_escape(fp, text, BP_XML_APOS);
    fputs("</text>\n", fp);
}

static const char *layer_role(const bp_net *net, const bp_words *w, int l, char *buf,
                              size_t cap)
{
    int L = bp_net_layers(net);
    if (l < 0)
        snprintf(buf, cap, "%s", w->svg_input);
    else if (l == L - 1)
        snprintf(buf, cap, "%s (%s)", w->svg_output, bp_activation_name(bp_net_layer(net, l).act));
    else if (L == 2)
        snprintf(buf, cap, "%s (%s)", w->svg_hidden, bp_activation_name(bp_net_layer(net, l).act));
    else
        snprintf(buf, cap, "%s %d (%s)", w->svg_hidden, l + 1,
                 bp_activation_name(bp_net_layer(net, l).act));
    return buf;
}

/* "2 inputs → 3 hidden (sigmoid) → 2 output (sigmoid) · loss mse · 12 weights, 0 biases";
 * returns its length in characters (not bytes). */
static int describe(const bp_net *net, const bp_words *w, char *buf, size_t cap)
{
    size_t n_w = 0, n_b = 0;
    int L = bp_net_layers(net), chars = 0;
    for (int l = 0; l < L; l++) {
        bp_layer_spec s = bp_net_layer(net, l);
        n_w += (size_t)bp_net_fan_in(net, l) * (size_t)s.units;
        if (s.bias)
            n_b += (size_t)s.units;
    }
    char role[64];
    size_t off = 0;
    int k = snprintf(buf, cap, "%d inputs", bp_net_inputs(net));
    off += (size_t)k;
    chars += k;
    for (int l = 0; l < L && off < cap; l++) {
        k = snprintf(buf + off, cap - off, " " ARROW " %d %s", bp_net_layer(net, l).units,
                     layer_role(net, w, l, role, sizeof role));
        off += (size_t)k;
        chars += k - 2; /* the arrow is 3 bytes, 1 character */
    }
    if (off < cap) {
        k = snprintf(buf + off, cap - off, " \xc2\xb7 loss %s \xc2\xb7 %zu weights, %zu biases",
                     bp_loss_name(bp_net_loss(net)), n_w, n_b);
        chars += k - 2;
    }
    return chars;
}

/* Neuron shown in slot `slot` of a column, or -1 for the ellipsis. */
static int slot_neuron(const column *c, int slot)
{
    if (c->ellipsis < 0)
        return slot;
    if (slot < c->ellipsis)
        return slot;
    if (slot == c->ellipsis)
        return -1;
    return c->units - (c->slots - slot);
}

/* ---- the drawing ---------------------------------------------------- */

typedef struct drawing {
    const bp_net *net, *upd;
    int L;              /* layers (columns are L + 1: the input is column 0) */
    int reduced;        /* some layer is wide: ellipses */
    int edge_labels;    /* per-edge labels drawn */
    column col[BP_MAX_LAYERS + 1];
    double gap_y;       /* vertical distance between slots */
    double width, height, top;
    const float *x_in;  /* scaled input [n_inputs], or NULL */
    const float *raw_in; /* unscaled input shown beside it, or NULL */
    const bp_words *w;
    int embedded;       /* inside the lesson: data-k attributes, no prolog */
    char hl[3][48];     /* keys drawn highlighted: "w7", "n-h1", "n-o1" */
    bp_workspace *ws;   /* after the forward pass, or NULL */
    rects obstacles;
    edge_label *labels;
    size_t n_labels;
} drawing;

static const float *col_a(const drawing *d, int c)
{
    return c == 0 ? d->x_in : bp_workspace_a(d->ws, c - 1);
}

/* Texts drawn under (s, a) and above (bias) a neuron, in the order drawn. */
static int node_texts(const drawing *d, int c, int j, char above[][TEXT_CAP], int *n_above,
                      char below[][TEXT_CAP], int *n_below, size_t *bias_index)
{
    *n_above = *n_below = 0;
    int width = 0;
    if (c > 0) {
        bp_layer_spec spec = bp_net_layer(d->net, c - 1);
        if (spec.bias) {
            char name[32];
            snprintf(name, sizeof name, "b%zu", *bias_index + (size_t)j + 1);
            const float *b = bp_net_biases_const(d->net, c - 1);
            const float *bn = d->upd ? bp_net_biases_const(d->upd, c - 1) + j : NULL;
            int n = fmt_value(above[(*n_above)++], TEXT_CAP, name, b[j], bn);
            if (n > width)
                width = n;
        }
    }
    if (d->ws) {
        if (c == 0) {
            int n = fmt_value(below[(*n_below)++], TEXT_CAP, "x", d->x_in[j], NULL);
            if (n > width)
                width = n;
            const float *shift, *scale;
            if (d->raw_in && bp_net_scaling(d->net, &shift, &scale)) {
                n = fmt_value(below[(*n_below)++], TEXT_CAP, "raw", d->raw_in[j], NULL);
                if (n > width)
                    width = n;
            }
        } else {
            int n = fmt_value(below[(*n_below)++], TEXT_CAP, "s", bp_workspace_s(d->ws, c - 1)[j], NULL);
            if (n > width)
                width = n;
            n = fmt_value(below[(*n_below)++], TEXT_CAP, "a", col_a(d, c)[j], NULL);
            if (n > width)
                width = n;
        }
    }
    return width;
}

static double slot_y(const drawing *d, int c, int slot)
{
    return d->col[c].y0 + slot * d->gap_y;
}

/* Units and drawn slots of each column: a column over MAX_FULL_UNITS shows
 * its head, an ellipsis and its tail.  Edge labels only when every edge is
 * drawn and there are few.  Returns the most slots of any column. */
static int layout_columns(drawing *d)
{
    size_t edges = 0;
    int max_slots = 0;
    for (int c = 0; c <= d->L; c++) {
        column *col = &d->col[c];
        col->units = c == 0 ? bp_net_inputs(d->net) : bp_net_layer(d->net, c - 1).units;
        if (col->units > MAX_FULL_UNITS) {
            d->reduced = 1;
            col->slots = SHOW_HEAD + 1 + SHOW_TAIL;
            col->ellipsis = SHOW_HEAD;
        } else {
            col->slots = col->units;
            col->ellipsis = -1;
        }
        if (col->slots > max_slots)
            max_slots = col->slots;
        if (c > 0)
            edges += (size_t)d->col[c - 1].units * (size_t)col->units;
    }
    d->edge_labels = !d->reduced && edges <= MAX_FULL_EDGES;
    return max_slots;
}

/* Vertical placement: room for node texts when there are any, the header's
 * notes on top, each column centred on the tallest.  Returns the content's
 * height. */
static double layout_rows(drawing *d, int max_slots)
{
    int has_text = d->ws != NULL || d->upd != NULL;
    for (int l = 0; l < d->L; l++)
        if (bp_net_layer(d->net, l).bias)
            has_text = 1;
    d->gap_y = has_text ? 132.0 : 84.0;

    int notes = (d->ws != NULL) + (d->upd != NULL) + (d->reduced || !d->edge_labels);
    d->top = 70.0 + 18.0 * notes + 36.0;
    double content_h = max_slots * d->gap_y;
    for (int c = 0; c <= d->L; c++)
        d->col[c].y0 = d->top + (content_h - d->col[c].slots * d->gap_y) / 2 + d->gap_y / 2;
    return content_h;
}

/* The width of the widest edge label ("w7 = 0.5 → 0.4"), padding included. */
static double widest_edge_label(const drawing *d)
{
    char buf[TEXT_CAP];
    double label_w = 0;
    size_t wn = 1;
    for (int l = 0; l < d->L; l++) {
        const float *W = bp_net_weights_const(d->net, l);
        size_t n = (size_t)bp_net_fan_in(d->net, l) * (size_t)bp_net_layer(d->net, l).units;
        for (size_t i = 0; i < n; i++, wn++) {
            char name[32];
            snprintf(name, sizeof name, "w%zu", wn);
            const float *wnew = d->upd ? bp_net_weights_const(d->upd, l) + i : NULL;
            double w = fmt_value(buf, sizeof buf, name, W[i], wnew) * MONO_CHAR_W;
            if (w > label_w)
                label_w = w;
        }
    }
    return label_w + 2 * LABEL_PAD;
}

/* Horizontal placement of the columns from x = 90.  Column gaps: wide enough
 * for the node texts, and, with edge labels, for roughly twice the area the
 * labels need.  Returns the x of the last column. */
static double layout_x(drawing *d)
{
    double label_w = d->edge_labels ? widest_edge_label(d) : 0;
    double x = 90.0;
    for (int c = 0; c <= d->L; c++) {
        d->col[c].x = x;
        if (c == d->L)
            break;
        double gap = d->edge_labels ? 300.0 : (d->ws || d->upd ? 200.0 : 150.0);
        if (d->edge_labels) {
            int a = d->col[c].slots, b = d->col[c + 1].slots;
            double span = (a > b ? a : b) * d->gap_y;
            double need = (double)a * b * (label_w + 8) * (LABEL_H + 6) * 4.0 / span;
            if (gap < need + 2 * NODE_R + 30)
                gap = need + 2 * NODE_R + 30;
            if (gap < label_w * 2 + 60)
                gap = label_w * 2 + 60;
        }
        x += gap;
    }
    return x;
}

static void layout(drawing *d)
{
    double content_h = layout_rows(d, layout_columns(d));
    double x = layout_x(d);
    d->width = x + 90.0;
    d->height = d->top + content_h + 70.0;
    /* As wide as the header's description, at least 640; narrow drawings centred. */
    char line[4096];
    double text_w = describe(d->net, d->w, line, sizeof line) * 7.0 + 40;
    if (d->reduced && text_w < 760)
        text_w = 760;
    if (d->width < text_w)
        d->width = text_w;
    if (d->width < 640)
        d->width = 640;
    double shift = (d->width - (x + 90.0)) / 2;
    for (int c = 0; c <= d->L; c++)
        d->col[c].x += shift;
}

/* Records every neuron, node text and the header as an obstacle. */
static int collect_obstacles(drawing *d)
{
    rects *ob = &d->obstacles;
    if (!rects_push(ob, (rect){0, 0, d->width, d->top - 34}))
        return 0;
    size_t bias_index = 0;
    for (int c = 0; c <= d->L; c++) {
        column *col = &d->col[c];
        for (int s = 0; s < col->slots; s++) {
            double cx = col->x, cy = slot_y(d, c, s);
            if (!rects_push(ob, (rect){cx - NODE_R - 2, cy - NODE_R - 2, cx + NODE_R + 2,
                                       cy + NODE_R + 2}))
                return 0;
            int j = slot_neuron(col, s);
            if (j < 0)
                continue;
            char above[2][TEXT_CAP], below[3][TEXT_CAP];
            int na, nb;
            int w = node_texts(d, c, j, above, &na, below, &nb, &bias_index);
            double hw = (w * MONO_CHAR_W + 2 * LABEL_PAD) / 2;
            if (na && !rects_push(ob, (rect){cx - hw, cy - NODE_R - 6 - LABEL_H, cx + hw,
                                             cy - NODE_R - 4}))
                return 0;
            if (nb && !rects_push(ob, (rect){cx - hw, cy + NODE_R + 4, cx + hw,
                                             cy + NODE_R + 6 + nb * (LABEL_H + 1)}))
                return 0;
        }
        if (c > 0 && bp_net_layer(d->net, c - 1).bias)
            bias_index += (size_t)col->units;
    }
    return 1;
}

/* Whether the segment (x1,y1)-(x2,y2), x1 < x2, passes through r. */
static int segment_hits(double x1, double y1, double x2, double y2, rect r)
{
    double a = fmax(x1, r.x0), b = fmin(x2, r.x1);
    if (a > b)
        return 0;
    double ya = y1 + (a - x1) / (x2 - x1) * (y2 - y1);
    double yb = y1 + (b - x1) / (x2 - x1) * (y2 - y1);
    return fmax(ya, yb) >= r.y0 && fmin(ya, yb) <= r.y1;
}

static bp_status place_edge_labels(drawing *d)
{
    size_t total = 0;
    for (int l = 0; l < d->L; l++)
        total += (size_t)d->col[l].units * (size_t)d->col[l + 1].units;
    d->labels = calloc(total ? total : 1, sizeof *d->labels);
    if (!d->labels)
        return bp_error(BP_ERR_NOMEM, "out of memory laying out the picture");
    size_t wn = 1;
    for (int l = 0; l < d->L; l++) {
        const column *a = &d->col[l], *b = &d->col[l + 1];
        int fan_in = a->units;
        const float *W = bp_net_weights_const(d->net, l);
        const float *Wn = d->upd ? bp_net_weights_const(d->upd, l) : NULL;
        /* Sender by sender, so a sender's labels fan out from it in order. */
        for (int k = 0; k < fan_in; k++) {
            for (int j = 0; j < b->units; j++) {
                size_t i = (size_t)j * fan_in + k;
                edge_label *e = &d->labels[d->n_labels++];
                char name[32];
                snprintf(name, sizeof name, "w%zu", wn + i);
                int len = fmt_value(e->text, sizeof e->text, name, W[i], Wn ? Wn + i : NULL);
                e->wi = wn + i;
                e->l = l;
                e->j = j;
                e->k = k;
                e->w = len * MONO_CHAR_W + 2 * LABEL_PAD;
                e->positive = W[i] >= 0;
                double x1 = a->x + NODE_R, y1 = slot_y(d, l, k);
                double x2 = b->x - NODE_R, y2 = slot_y(d, l + 1, j);
                double best = INFINITY;
                /* Candidate spots along the edge, preferring t = 0.3 (near the
                 * sending end); any overlap costs far more than a move. */
                for (int ci = 0; ci <= 38; ci++) {
                    double t = 0.12 + 0.02 * ci;
                    double cx = x1 + t * (x2 - x1), cy = y1 + t * (y2 - y1);
                    rect r = {cx - e->w / 2 - 3, cy - LABEL_H / 2 - 3, cx + e->w / 2 + 3,
                              cy + LABEL_H / 2 + 3};
                    double cost = fabs(t - 0.3) * 60.0;
                    for (size_t o = 0; o < d->obstacles.n; o++)
                        cost += overlap(r, d->obstacles.r[o]) * 10.0;
                    /* A label on a crossing is ambiguous: other edges through
                     * the box cost too, but less than covering a label. */
                    for (int k2 = 0; k2 < fan_in; k2++)
                        for (int j2 = 0; j2 < b->units; j2++)
                            if ((k2 != k || j2 != j) &&
                                segment_hits(x1, slot_y(d, l, k2), x2, slot_y(d, l + 1, j2), r))
                                cost += 40.0;
                    if (cost < best) {
                        best = cost;
                        e->cx = cx;
                        e->cy = cy;
                    }
                }
                if (!rects_push(&d->obstacles,
                                (rect){e->cx - e->w / 2, e->cy - LABEL_H / 2, e->cx + e->w / 2,
                                       e->cy + LABEL_H / 2}))
                    return bp_error(BP_ERR_NOMEM, "out of memory laying out the picture");
            }
        }
        wn += (size_t)fan_in * (size_t)b->units;
    }
    return BP_OK;
}

static void write_header(FILE *fp, const drawing *d)
{
    const bp_net *net = d->net;
    if (!d->embedded)
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", fp);
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            d->width, d->height, d->width, d->height);
    char arch[640];
    size_t off = (size_t)snprintf(arch, sizeof arch, "%d", bp_net_inputs(net));
    for (int l = 0; l < d->L && off < sizeof arch; l++)
        off += (size_t)snprintf(arch + off, sizeof arch - off, "-%d", bp_net_layer(net, l).units);
    fputs("<title>backprop network ", fp);
    bp_xml_escape(fp, arch, BP_XML_APOS);
    fputs("</title>\n", fp);
    fprintf(fp,
            "<defs>\n"
            "<marker id=\"arrow-pos\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
            "markerWidth=\"8\" markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" "
            "orient=\"auto\"><path d=\"M0,1 L10,5 L0,9 z\" fill=\"%s\"/></marker>\n"
            "<marker id=\"arrow-neg\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
            "markerWidth=\"8\" markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" "
            "orient=\"auto\"><path d=\"M0,1 L10,5 L0,9 z\" fill=\"%s\"/></marker>\n"
            "</defs>\n",
            COLOR_POS, COLOR_NEG);
    fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");

    /* Title and one line describing the net. */
    fprintf(fp, "<g id=\"title\" font-family=\"%s\" fill=\"#222222\">\n", FONT_SANS);
    fprintf(fp, "<text x=\"20\" y=\"30\" font-size=\"18\" font-weight=\"bold\">Network ");
    bp_xml_escape(fp, arch, BP_XML_APOS);
    fprintf(fp, "</text>\n<text x=\"20\" y=\"52\" font-size=\"12\">");
    char line[4096];
    describe(net, d->w, line, sizeof line);
    bp_xml_escape(fp, line, BP_XML_APOS);
    fputs("</text>\n", fp);
    size_t n_w = 0;
    for (int l = 0; l < d->L; l++)
        n_w += (size_t)bp_net_fan_in(net, l) * (size_t)bp_net_layer(net, l).units;
    double y = 70;
    if (d->ws) {
        fprintf(fp, "<text x=\"20\" y=\"%.0f\" font-size=\"12\">", y);
        bp_xml_escape(fp, d->w->svg_forward, BP_XML_APOS);
        fputs("</text>\n", fp);
        y += 18;
    }
    if (d->upd) {
        fprintf(fp, "<text x=\"20\" y=\"%.0f\" font-size=\"12\">", y);
        bp_xml_escape(fp, d->w->svg_update, BP_XML_APOS);
        fputs("</text>\n", fp);
        y += 18;
    }
    if (d->reduced) {
        fprintf(fp, "<text x=\"20\" y=\"%.0f\" font-size=\"12\">reduced view: layers wider "
                    "than %d show their first %d and last %d neurons; weight labels omitted"
                    "</text>\n", y, MAX_FULL_UNITS, SHOW_HEAD, SHOW_TAIL);
    } else if (!d->edge_labels) {
        fprintf(fp, "<text x=\"20\" y=\"%.0f\" font-size=\"12\">%zu edges: weight labels "
                    "omitted</text>\n", y, n_w);
    }
    fputs("</g>\n", fp);
}

static void write_legend(FILE *fp, const drawing *d)
{
    double y = d->height - 26;
    fprintf(fp, "<g id=\"legend\" font-family=\"%s\" font-size=\"12\" fill=\"#222222\">\n",
            FONT_SANS);
    fprintf(fp,
            "<line x1=\"20\" y1=\"%.1f\" x2=\"50\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
            "<text x=\"56\" y=\"%.1f\">%s</text>\n",
            y, y, COLOR_POS, y + 4, d->w->svg_positive);
    fprintf(fp,
            "<line x1=\"170\" y1=\"%.1f\" x2=\"200\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
            "<text x=\"206\" y=\"%.1f\">%s</text>\n",
            y, y, COLOR_NEG, y + 4, d->w->svg_negative);
    fprintf(fp, "<text x=\"330\" y=\"%.1f\">", y + 4);
    bp_xml_escape(fp, d->w->svg_width, BP_XML_APOS);
    fputs("</text>\n", fp);
    fputs("</g>\n", fp);
}

static int highlighted(const drawing *d, const char *key)
{
    for (int i = 0; i < 3; i++)
        if (d->hl[i][0] && !strcmp(d->hl[i], key))
            return 1;
    return 0;
}

/* id="w7" and, in the lesson, the attributes its script reads: the key and
 * the two neurons the weight joins. */
static void weight_attrs(FILE *fp, const drawing *d, const char *prefix, size_t wi, int l,
                         int j, int k)
{
    char from[32], to[32];
    bp_neuron_name(d->net, l - 1, k, from, sizeof from);
    bp_neuron_name(d->net, l, j, to, sizeof to);
    fprintf(fp, " id=\"%sw%zu\"", prefix, wi);
    if (d->embedded)
        fprintf(fp, " data-k=\"w%zu\" data-ends=\"n-%s n-%s\"", wi, from, to);
}

static void write_edges(FILE *fp, const drawing *d)
{
    fputs("<g id=\"edges\" fill=\"none\">\n", fp);
    size_t wbase = 1;
    for (int l = 0; l < d->L; wbase += (size_t)d->col[l].units * (size_t)d->col[l + 1].units, l++) {
        const column *a = &d->col[l], *b = &d->col[l + 1];
        const float *W = bp_net_weights_const(d->net, l);
        size_t n = (size_t)a->units * (size_t)b->units;
        float maxw = 0;
        for (size_t i = 0; i < n; i++)
            if (fabsf(W[i]) > maxw)
                maxw = fabsf(W[i]);
        for (int sb = 0; sb < b->slots; sb++) {
            int j = slot_neuron(b, sb);
            if (j < 0)
                continue;
            for (int sa = 0; sa < a->slots; sa++) {
                int k = slot_neuron(a, sa);
                if (k < 0)
                    continue;
                float w = W[(size_t)j * a->units + k];
                double mag = maxw > 0 && isfinite(w) ? fabs((double)w) / maxw : 0.0;
                double width = d->reduced ? 0.4 + 1.6 * mag : 0.6 + 3.4 * mag;
                int pos = !(w < 0);
                size_t wi = wbase + (size_t)j * a->units + k;
                char key[32];
                snprintf(key, sizeof key, "w%zu", wi);
                int hl = highlighted(d, key);
                fputs("<line", fp);
                weight_attrs(fp, d, "", wi, l, j, k);
                fprintf(fp,
                        "%s x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                        "stroke-width=\"%.2f\" stroke-opacity=\"%s\"%s/>\n",
                        hl ? " class=\"hl\"" : "", a->x + NODE_R, slot_y(d, l, sa),
                        b->x - NODE_R - 1, slot_y(d, l + 1, sb), hl ? COLOR_HL : pos ? COLOR_POS : COLOR_NEG,
                        hl ? 6.0 : width, hl ? "1" : d->reduced ? "0.45" : "0.75",
                        d->reduced ? "" : pos ? " marker-end=\"url(#arrow-pos)\""
                                              : " marker-end=\"url(#arrow-neg)\"");
            }
        }
    }
    fputs("</g>\n", fp);
}

static void write_nodes(FILE *fp, const drawing *d)
{
    static const char *fills[] = {"#eeeeee", "#fff3c4", "#d5f0d5"};
    fprintf(fp, "<g id=\"neurons\" font-family=\"%s\">\n", FONT_SANS);
    size_t bias_index = 0;
    char role[64];
    for (int c = 0; c <= d->L; c++) {
        const column *col = &d->col[c];
        const char *fill = fills[c == 0 ? 0 : c == d->L ? 2 : 1];
        /* Column heading. */
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\" "
                    "text-anchor=\"middle\" fill=\"#444444\">",
                col->x, d->top - 14);
        bp_xml_escape(fp, layer_role(d->net, d->w, c - 1, role, sizeof role),
                      BP_XML_APOS);
        fputs("</text>\n", fp);
        if (col->ellipsis >= 0)
            fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
                        "fill=\"#666666\">%d neurons</text>\n",
                    col->x, d->top + 2, col->units);
        for (int s = 0; s < col->slots; s++) {
            double cx = col->x, cy = slot_y(d, c, s);
            int j = slot_neuron(col, s);
            if (j < 0) {
                fprintf(fp,
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"28\" text-anchor=\"middle\" "
                        "fill=\"#555555\">\xe2\x8b\xae</text>\n"
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
                        "fill=\"#555555\">%d more</text>\n",
                        cx, cy + 6, cx, cy + 26, col->units - SHOW_HEAD - SHOW_TAIL);
                continue;
            }
            char name[32];
            bp_neuron_name(d->net, c - 1, j, name, sizeof name);
            double fs = strlen(name) <= 3 ? 14 : strlen(name) <= 5 ? 11 : 9;
            char key[40];
            snprintf(key, sizeof key, "n-%s", name);
            int hl = highlighted(d, key);
            fprintf(fp, "<g class=\"neuron%s\" id=\"%s\"", hl ? " hl" : "", key);
            if (d->embedded)
                fprintf(fp, " data-k=\"%s\" tabindex=\"0\"", key);
            fprintf(fp,
                    "><circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\" fill=\"%s\" "
                    "stroke=\"%s\" stroke-width=\"%s\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" font-weight=\"bold\" "
                    "text-anchor=\"middle\" fill=\"#111111\">",
                    cx, cy, NODE_R, fill, hl ? COLOR_HL : "#333333", hl ? "5" : "1.5", cx,
                    cy + fs * 0.36, fs);
            bp_xml_escape(fp, name, BP_XML_APOS);
            fputs("</text></g>\n", fp);
            char above[2][TEXT_CAP], below[3][TEXT_CAP];
            int na, nb;
            int w = node_texts(d, c, j, above, &na, below, &nb, &bias_index);
            if (!na && !nb)
                continue;
            double bw = w * MONO_CHAR_W + 2 * LABEL_PAD;
            fprintf(fp, "<g font-family=\"%s\" font-size=\"%.0f\" text-anchor=\"middle\">\n",
                    FONT_MONO, MONO_PX);
            for (int t = 0; t < na; t++)
                put_boxed_text(fp, cx, cy - NODE_R - 5 - LABEL_H / 2, bw, above[t], "#999999",
                               "#5b3a00");
            for (int t = 0; t < nb; t++)
                put_boxed_text(fp, cx, cy + NODE_R + 5 + LABEL_H / 2 + t * (LABEL_H + 1), bw,
                               below[t], NULL, "#111111");
            fputs("</g>\n", fp);
        }
        if (c > 0 && bp_net_layer(d->net, c - 1).bias)
            bias_index += (size_t)col->units;
    }
    fputs("</g>\n", fp);
}

static void write_edge_labels(FILE *fp, const drawing *d)
{
    if (!d->n_labels)
        return;
    fprintf(fp,
            "<g id=\"weights\" font-family=\"%s\" font-size=\"%.0f\" text-anchor=\"middle\">\n",
            FONT_MONO, MONO_PX);
    for (size_t i = 0; i < d->n_labels; i++) {
        const edge_label *e = &d->labels[i];
        const char *color = e->positive ? COLOR_POS : COLOR_NEG;
        char key[32];
        snprintf(key, sizeof key, "w%zu", e->wi);
        int hl = highlighted(d, key);
        fputs("<g", fp);
        weight_attrs(fp, d, "l", e->wi, e->l, e->j, e->k);
        fputs(d->embedded ? " tabindex=\"0\"" : "", fp);
        fputs(hl ? " class=\"hl\">" : ">", fp);
        put_boxed_text(fp, e->cx, e->cy, e->w, e->text, hl ? COLOR_HL : color, color);
        fputs("</g>\n", fp);
    }
    fputs("</g>\n", fp);
}

/* Finds what --highlight names: a weight (the edge and both neurons), a
 * bias (its neuron) or a neuron. */
static bp_status find_highlight(drawing *d, const char *h)
{
    char name[32];
    size_t wn = 1, bn = 1, idx = 0;
    int is_w = h[0] == 'w', is_b = h[0] == 'b';
    if ((is_w || is_b) && h[1] >= '1' && h[1] <= '9' && strspn(h + 1, "0123456789") == strlen(h + 1))
        idx = (size_t)strtoull(h + 1, NULL, 10);
    for (int l = 0; l < d->L; l++) {
        bp_layer_spec ls = bp_net_layer(d->net, l);
        size_t fan_in = (size_t)bp_net_fan_in(d->net, l), n = fan_in * (size_t)ls.units;
        if (is_w && idx >= wn && idx < wn + n) {
            int j = (int)((idx - wn) / fan_in), k = (int)((idx - wn) % fan_in);
            snprintf(d->hl[0], sizeof d->hl[0], "w%zu", idx);
            snprintf(d->hl[1], sizeof d->hl[1], "n-%s", bp_neuron_name(d->net, l - 1, k, name, sizeof name));
            snprintf(d->hl[2], sizeof d->hl[2], "n-%s", bp_neuron_name(d->net, l, j, name, sizeof name));
            return BP_OK;
        }
        if (is_b && ls.bias && idx >= bn && idx < bn + (size_t)ls.units) {
            snprintf(d->hl[0], sizeof d->hl[0], "n-%s",
                     bp_neuron_name(d->net, l, (int)(idx - bn), name, sizeof name));
            return BP_OK;
        }
        wn += n;
        bn += ls.bias ? (size_t)ls.units : 0;
    }
    for (int l = -1; l < d->L; l++) {
        int units = l < 0 ? bp_net_inputs(d->net) : bp_net_layer(d->net, l).units;
        for (int j = 0; j < units; j++)
            if (!strcmp(h, bp_neuron_name(d->net, l, j, name, sizeof name))) {
                snprintf(d->hl[0], sizeof d->hl[0], "n-%s", name);
                return BP_OK;
            }
    }
    return bp_error(BP_ERR_ARG, "highlight: this net has no weight, bias or neuron '%s' "
                                "(weights w1..w%zu, neurons i1.., h.., o..)", h, wn - 1);
}

bp_status bp_svg_write(FILE *fp, const bp_net *net, const float *x, const float *raw,
                       const bp_net *updated, const char *highlight, const bp_words *w,
                       int embedded)
{
    if (updated && !bp_net_same_architecture(net, updated, 0))
        return bp_error(BP_ERR_SHAPE,
                        "bp_draw_svg: the updated net's architecture differs from the net's");
    drawing d;
    memset(&d, 0, sizeof d);
    d.net = net;
    d.upd = updated;
    d.L = bp_net_layers(net);
    d.x_in = x;
    d.raw_in = raw;
    d.w = w;
    d.embedded = embedded;
    bp_status st = BP_OK;
    if (highlight && *highlight && (st = find_highlight(&d, highlight)) != BP_OK)
        return st;
    if (x) {
        st = bp_workspace_create(&d.ws, net, 1, 1);
        if (st == BP_OK)
            st = bp_forward(net, d.ws, x, 1);
        if (st != BP_OK)
            goto done;
    }
    layout(&d);
    if (!collect_obstacles(&d)) {
        st = bp_error(BP_ERR_NOMEM, "out of memory drawing the network");
        goto done;
    }
    if (d.edge_labels && (st = place_edge_labels(&d)) != BP_OK)
        goto done;
    write_header(fp, &d);
    write_edges(fp, &d);
    write_nodes(fp, &d);
    write_edge_labels(fp, &d);
    write_legend(fp, &d);
    fputs("</svg>\n", fp);
done:
    bp_workspace_free(d.ws);
    free(d.obstacles.r);
    free(d.labels);
    return st;
}

bp_status bp_draw_svg(const bp_net *net, const float *input, const bp_net *updated,
                      const char *path)
{
    return bp_draw_svg_ex(net, input, updated, NULL, path);
}

bp_status bp_draw_svg_ex(const bp_net *net, const float *input, const bp_net *updated,
                         const struct bp_explain_options *opt, const char *path)
{
    if (!net || !path)
        return bp_error(BP_ERR_ARG, "bp_draw_svg: NULL argument");
    bp_explain_options o;
    const bp_words *w;
    bp_status st = bp_explain_options_take(opt, "bp_draw_svg", &o, &w);
    if (st != BP_OK)
        return st;
    float *x = NULL;
    if (input) {
        x = malloc((size_t)bp_net_inputs(net) * sizeof *x);
        if (!x)
            return bp_error(BP_ERR_NOMEM, "out of memory drawing %s", path);
        bp_net_scale_inputs(net, input, x, 1);
    }
    bp_atomic_file f;
    if ((st = bp_atomic_begin(&f, path)) == BP_OK) {
        st = bp_svg_write(f.fp, net, x, input, updated, o.highlight, w, 0);
        if (st == BP_OK)
            st = bp_atomic_commit(&f);
        else
            bp_atomic_abort(&f);
    }
    free(x);
    return st;
}
