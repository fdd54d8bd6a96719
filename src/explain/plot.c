/*
 * bp_plot_svg: learning curves from a training log (`backprop train --log`).
 *
 * The log is a CSV with the header
 *   epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy
 * and, from logs written since, optionally
 *   test_loss,test_accuracy,train_rmse,val_rmse,test_rmse
 * (columns found by name; empty or "nan" fields are missing values).  The
 * picture has two panels sharing the epoch axis: loss and accuracy (or, for a
 * regression log, RMSE), each with train, validation and test curves, round
 * ticks (whole epochs on the x axis), grid and a legend.  The loss axis is
 * logarithmic on request or when the loss spans more than two decades.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backprop.h"
#include "explain.h"
#include "io/io_internal.h"

#define LOG_MAX_BYTES ((size_t)256 << 20)
#define FONT_SANS "DejaVu Sans, Helvetica, Arial, sans-serif"
#define COLOR_TRAIN "#1f77b4"
#define COLOR_VAL "#e6550d"
#define COLOR_TEST "#2ca02c"

enum {
    C_EPOCH, C_SECONDS, C_SPS, C_LR, C_TRAIN_LOSS, C_TRAIN_ACC, C_VAL_LOSS, C_VAL_ACC,
    NREQUIRED, /* the columns above must be in the header; those below may be */
    C_TEST_LOSS = NREQUIRED, C_TEST_ACC, C_TRAIN_RMSE, C_VAL_RMSE, C_TEST_RMSE, NCOL
};

static const char *const col_names[NCOL] = {
    "epoch",      "seconds",       "samples_per_s", "learning_rate", "train_loss",
    "train_accuracy", "val_loss",  "val_accuracy",  "test_loss",     "test_accuracy",
    "train_rmse", "val_rmse",      "test_rmse",
};

typedef struct series_log {
    double *v[NCOL]; /* [rows] each; NAN where missing */
    size_t rows, cap;
} series_log;

static void log_free(series_log *lg)
{
    for (int c = 0; c < NCOL; c++)
        free(lg->v[c]);
}

static int log_grow(series_log *lg)
{
    if (lg->rows < lg->cap)
        return 1;
    size_t cap = lg->cap ? lg->cap * 2 : 64;
    for (int c = 0; c < NCOL; c++) {
        double *bigger = realloc(lg->v[c], cap * sizeof *bigger);
        if (!bigger)
            return 0;
        lg->v[c] = bigger;
    }
    lg->cap = cap;
    return 1;
}

/* Trims spaces (and a CR) around a field in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Splits a line at commas in place; returns the number of fields (≤ cap). */
static int split(char *line, char **fields, int cap)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (n < cap)
            fields[n] = trim(p);
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

static int is_missing(const char *s)
{
    if (!*s)
        return 1;
    char low[8];
    size_t n = strlen(s);
    if (n >= sizeof low)
        return 0;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    return strcmp(low, "nan") == 0 || strcmp(low, "-nan") == 0;
}

#define MAX_FIELDS 64

static bp_status parse_log(const char *path, char *text, series_log *lg)
{
    int map[NCOL]; /* field index of each column */
    int nfields = 0, line_no = 0, have_header = 0;
    char *fields[MAX_FIELDS];
    char *p = text;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3;
    while (*p) {
        char *line = p;
        char *nl = strchr(p, '\n');
        if (nl) {
            *nl = '\0';
            p = nl + 1;
        } else {
            p += strlen(p);
        }
        line_no++;
        char *t = trim(line);
        if (!*t || *t == '#')
            continue;
        int n = split(t, fields, MAX_FIELDS);
        if (n > MAX_FIELDS)
            return bp_error(BP_ERR_PARSE, "%s:%d: %d fields; a training log has at most %d",
                            path, line_no, n, MAX_FIELDS);
        if (!have_header) {
            for (int c = 0; c < NCOL; c++) {
                map[c] = -1;
                for (int f = 0; f < n; f++)
                    if (strcmp(fields[f], col_names[c]) == 0)
                        map[c] = f;
                if (map[c] < 0 && c < NREQUIRED)
                    return bp_error(BP_ERR_PARSE,
                                    "%s:%d: the header lacks the column \"%s\" (expected "
                                    "epoch,seconds,samples_per_s,learning_rate,train_loss,"
                                    "train_accuracy,val_loss,val_accuracy)",
                                    path, line_no, col_names[c]);
            }
            nfields = n;
            have_header = 1;
            continue;
        }
        if (n != nfields)
            return bp_error(BP_ERR_PARSE, "%s:%d: %d fields, but the header has %d", path,
                            line_no, n, nfields);
        if (!log_grow(lg))
            return bp_error(BP_ERR_NOMEM, "%s:%d: out of memory", path, line_no);
        for (int c = 0; c < NCOL; c++) {
            const char *s = map[c] >= 0 ? fields[map[c]] : "";
            double v = NAN;
            if (!is_missing(s)) {
                char *end;
                errno = 0;
                v = strtod(s, &end);
                if (end == s || *end || !isfinite(v))
                    return bp_error(BP_ERR_PARSE, "%s:%d: column \"%s\": \"%s\" is not a number",
                                    path, line_no, col_names[c], s);
            } else if (c == C_EPOCH) {
                return bp_error(BP_ERR_PARSE, "%s:%d: the epoch is missing", path, line_no);
            }
            lg->v[c][lg->rows] = v;
        }
        lg->rows++;
    }
    if (!have_header)
        return bp_error(BP_ERR_PARSE, "%s:%d: empty log: no header line", path, line_no);
    if (!lg->rows)
        return bp_error(BP_ERR_PARSE, "%s:%d: the log has a header but no data rows", path,
                        line_no);
    return BP_OK;
}

/* ---- axes ------------------------------------------------------------ */

typedef struct axis {
    double lo, hi, step; /* on a log axis: exponents of 10 (decades) */
    int decimals;
    int log;
} axis;

/* Round ticks (1, 2, 2.5, 5 × 10^k) covering [lo, hi] with about `want`
 * intervals; an `integer` axis (epochs) steps by 1, 2, 5 × 10^k only, never
 * below 1, so every tick is a whole number. */
static axis nice_axis(double lo, double hi, int want, int integer)
{
    axis a = {0, 1, 1, 0, 0};
    if (!(hi > lo)) {
        double pad = integer ? 1.0 : fabs(lo) > 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= pad;
        hi += pad;
        if (integer && lo < 0 && hi - lo > 0)
            lo = 0;
    }
    double raw = (hi - lo) / want;
    double mag = pow(10.0, floor(log10(raw)));
    double m = raw / mag, f;
    if (m <= 1.0)
        f = 1.0;
    else if (m <= 2.0)
        f = 2.0;
    else if (m <= 2.5 && !integer)
        f = 2.5;
    else if (m <= 5.0)
        f = 5.0;
    else
        f = 10.0;
    a.step = f * mag;
    if (integer && a.step < 1.0)
        a.step = 1.0;
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    if (a.hi <= a.lo)
        a.hi = a.lo + a.step;
    int d = (int)-floor(log10(a.step) + 1e-9);
    if (f == 2.5 && mag < 10)
        d++;
    a.decimals = d > 0 && !integer ? d : 0;
    return a;
}

/* 1, 2 or 5 × 10^k just below (down) or above v > 0. */
static double nice_125(double v, int down)
{
    double mag = pow(10.0, floor(log10(v) + 1e-9)), best = down ? mag : 10 * mag;
    static const double m[4] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++) {
        double t = m[i] * mag;
        if (down && t <= v * (1 + 1e-9))
            best = t;
        if (!down && t >= v * (1 - 1e-9)) {
            best = t;
            break;
        }
    }
    return best;
}

/* A log axis covering [lo, hi] (both > 0) from and to 1, 2 or 5 × 10^k;
 * lo and hi are kept as exponents of 10. */
static axis log_axis(double lo, double hi)
{
    axis a = {log10(nice_125(lo, 1)), log10(nice_125(hi, 0)), 1, 0, 1};
    if (a.hi <= a.lo + 1e-9)
        a.hi = a.lo + 1;
    return a;
}

typedef struct panel {
    double x, y, w, h; /* plotting area */
    axis ax, ay;
} panel;

static double px(const panel *p, double v)
{
    return p->x + (v - p->ax.lo) / (p->ax.hi - p->ax.lo) * p->w;
}

static double py(const panel *p, double v)
{
    if (p->ay.log)
        v = log10(v);
    return p->y + p->h - (v - p->ay.lo) / (p->ay.hi - p->ay.lo) * p->h;
}

/* A value the panel can show: not missing, and positive on a log axis. */
static int shown(const panel *p, double v) { return !isnan(v) && (!p->ay.log || v > 0); }

/* The three data sets' curves: train solid, validation dashed, test dotted. */
static const char *const set_names[3] = {"train", "validation", "test"};
static const char *const set_colors[3] = {COLOR_TRAIN, COLOR_VAL, COLOR_TEST};
static const char *const set_dashes[3] = {"", " stroke-dasharray=\"6 4\"",
                                          " stroke-dasharray=\"2 3\""};

static void draw_series(FILE *fp, const panel *p, const series_log *lg, int col, int set)
{
    int open = 0;
    size_t points = 0;
    for (size_t i = 0; i < lg->rows; i++)
        points += shown(p, lg->v[col][i]);
    for (size_t i = 0; i < lg->rows; i++) {
        double v = lg->v[col][i];
        if (!shown(p, v)) {
            if (open)
                fputs("\"/>\n", fp);
            open = 0;
            continue;
        }
        if (!open) {
            fprintf(fp,
                    "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                    "stroke-linejoin=\"round\"%s points=\"",
                    set_colors[set], set_dashes[set]);
            open = 1;
        } else {
            fputc(' ', fp);
        }
        fprintf(fp, "%.1f,%.1f", px(p, lg->v[C_EPOCH][i]), py(p, v));
    }
    if (open)
        fputs("\"/>\n", fp);
    /* Markers while they can be told apart; a lone point gets a big one so
     * a one-epoch log shows something. */
    if (points <= 60)
        for (size_t i = 0; i < lg->rows; i++)
            if (shown(p, lg->v[col][i]))
                fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"/>\n",
                        px(p, lg->v[C_EPOCH][i]), py(p, lg->v[col][i]),
                        points == 1 ? "5" : "2.5", set_colors[set]);
}

/* Range of a column's values (positive ones only when `positive`). */
static int range_of(const series_log *lg, int col, int positive, double *lo, double *hi)
{
    int any = 0;
    for (size_t i = 0; i < lg->rows; i++) {
        double v = lg->v[col][i];
        if (isnan(v) || (positive && !(v > 0)))
            continue;
        if (!any || v < *lo)
            *lo = v;
        if (!any || v > *hi)
            *hi = v;
        any = 1;
    }
    return any;
}

/* A grid line, tick and label at value v of the y axis. */
static void y_tick(FILE *fp, const panel *p, double v, int decimals)
{
    char label[32];
    if (decimals < 0) /* log axis: 0.01, 0.1, 1, 10 … */
        snprintf(label, sizeof label, "%g", v);
    else
        snprintf(label, sizeof label, "%.*f", decimals, v);
    double y = py(p, v);
    fprintf(fp,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>"
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888888\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            p->x, y, p->x + p->w, y, p->x - 5, y, p->x, y, p->x - 8, y + 4, label);
}

static void draw_ticks(FILE *fp, const panel *p)
{
    int nx = (int)floor((p->ax.hi - p->ax.lo) / p->ax.step + 0.5);
    for (int i = 0; i <= nx; i++) {
        double v = p->ax.lo + i * p->ax.step, x = px(p, v);
        fprintf(fp,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888888\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n",
                x, p->y, x, p->y + p->h, x, p->y + p->h, x, p->y + p->h + 5, x,
                p->y + p->h + 18, p->ax.decimals, v);
    }
    /* y: round steps; on a log axis every decade, and 2 and 5 times it when
     * the axis spans two decades or less. */
    if (p->ay.log) {
        int few = p->ay.hi - p->ay.lo <= 2 + 1e-9;
        for (int k = (int)floor(p->ay.lo + 1e-9); k <= (int)ceil(p->ay.hi - 1e-9); k++)
            for (int m = 1; m <= 5; m++) {
                double v = m * pow(10.0, k), e = log10(v);
                if ((m == 1 || (few && (m == 2 || m == 5))) && e >= p->ay.lo - 1e-9 &&
                    e <= p->ay.hi + 1e-9)
                    y_tick(fp, p, v, -1);
            }
        return;
    }
    int ny = (int)floor((p->ay.hi - p->ay.lo) / p->ay.step + 0.5);
    for (int i = 0; i <= ny; i++) {
        double v = p->ay.lo + i * p->ay.step;
        y_tick(fp, p, fabs(v) < p->ay.step * 1e-9 ? 0.0 : v, p->ay.decimals);
    }
}

/* Legend on the title's line, right-aligned above the panel, so it never
 * hides a curve. */
static void draw_legend(FILE *fp, const panel *p, const int has[3])
{
    static const double width[3] = {80, 110, 70};
    double lx = p->x + p->w, ly = p->y - 16;
    for (int s = 0; s < 3; s++)
        lx -= has[s] ? width[s] : 0;
    fprintf(fp, "<g font-family=\"%s\" font-size=\"12\" fill=\"#222222\">\n", FONT_SANS);
    for (int s = 0; s < 3; s++) {
        if (!has[s])
            continue;
        fprintf(fp,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2\"%s/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                lx, ly, lx + 28, ly, set_colors[s], set_dashes[s], lx + 34, ly + 4,
                set_names[s]);
        lx += width[s];
    }
    fputs("</g>\n", fp);
}

/* One panel: frame, grid, ticks, the train, validation and test curves of
 * cols[] (-1: none), legend.  `log_y`: a logarithmic value axis. */
static void draw_panel(FILE *fp, panel *p, const series_log *lg, const char *title,
                       const int cols[3], const char *ylabel, int log_y)
{
    double lo = 0, hi = 0;
    int has[3] = {0, 0, 0}, any = 0;
    for (int s = 0; s < 3; s++) {
        double slo = 0, shi = 0;
        if (cols[s] < 0 || !(has[s] = range_of(lg, cols[s], log_y, &slo, &shi)))
            continue;
        lo = any ? fmin(lo, slo) : slo;
        hi = any ? fmax(hi, shi) : shi;
        any = 1;
    }
    double elo = lg->v[C_EPOCH][0], ehi = elo;
    range_of(lg, C_EPOCH, 0, &elo, &ehi);
    p->ax = nice_axis(elo, ehi, 8, 1);
    p->ay = log_y && any ? log_axis(lo, hi) : nice_axis(lo, hi, 5, 0);

    fprintf(fp, "<g font-family=\"%s\" font-size=\"12\" fill=\"#222222\">\n", FONT_SANS);
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">", p->x,
            p->y - 12);
    bp_xml_escape(fp, title, BP_XML_CLEAN);
    fputs("</text>\n", fp);
    fprintf(fp,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fbfbfb\" "
            "stroke=\"#888888\"/>\n",
            p->x, p->y, p->w, p->h);
    if (!any) {
        fprintf(fp,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#666666\">no %s "
                "values in the log</text>\n</g>\n",
                p->x + p->w / 2, p->y + p->h / 2, ylabel);
        return;
    }
    draw_ticks(fp, p);
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n",
            p->x + p->w / 2, p->y + p->h + 36);
    fprintf(fp,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 %.1f %.1f)\">%s%s</text>\n",
            p->x - 56, p->y + p->h / 2, p->x - 56, p->y + p->h / 2, ylabel,
            p->ay.log ? " (log scale)" : "");
    fputs("</g>\n", fp);
    for (int s = 0; s < 3; s++)
        if (has[s])
            draw_series(fp, p, lg, cols[s], s);
    draw_legend(fp, p, has);
}

/* Last non-missing value of a column, or NAN. */
static double last_of(const series_log *lg, int col)
{
    for (size_t i = lg->rows; i-- > 0;)
        if (!isnan(lg->v[col][i]))
            return lg->v[col][i];
    return NAN;
}

static int any_value(const series_log *lg, int col)
{
    return !isnan(last_of(lg, col));
}

/* A log axis for the loss: as asked, else when the (positive) loss spans
 * more than two decades. */
static int loss_log_scale(const series_log *lg, unsigned flags)
{
    static const int cols[3] = {C_TRAIN_LOSS, C_VAL_LOSS, C_TEST_LOSS};
    double lo = 0, hi = 0;
    int any = 0;
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < lg->rows; i++) {
            double v = lg->v[cols[s]][i];
            if (isnan(v))
                continue;
            if (!(v > 0) && !(flags & BP_PLOT_LOG_LOSS))
                return 0; /* a log axis cannot show it */
            if (!(v > 0))
                continue;
            lo = any ? fmin(lo, v) : v;
            hi = any ? fmax(hi, v) : v;
            any = 1;
        }
    }
    if (!any || (flags & BP_PLOT_LINEAR_LOSS))
        return 0;
    return (flags & BP_PLOT_LOG_LOSS) || hi > 100 * lo;
}

/* Two lines under the title: epochs and time, then the final values. */
static void write_summary(FILE *fp, const series_log *lg)
{
    double secs = 0;
    for (size_t i = 0; i < lg->rows; i++)
        if (!isnan(lg->v[C_SECONDS][i]))
            secs += lg->v[C_SECONDS][i];
    fprintf(fp, "<text x=\"20\" y=\"50\" font-size=\"12\">%zu epoch%s", lg->rows,
            lg->rows == 1 ? "" : "s");
    if (secs > 0)
        fprintf(fp, ", %.3g s of training", secs);
    fputs("</text>\n<text x=\"20\" y=\"66\" font-size=\"12\">", fp);
    static const struct {
        int cols[3];
        const char *what;
    } finals[] = {{{C_TRAIN_LOSS, C_VAL_LOSS, C_TEST_LOSS}, "loss"},
                  {{C_TRAIN_ACC, C_VAL_ACC, C_TEST_ACC}, "accuracy"},
                  {{C_TRAIN_RMSE, C_VAL_RMSE, C_TEST_RMSE}, "RMSE"}};
    const char *sep = "final ";
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        const char *inner = "";
        for (int s = 0; s < 3; s++) {
            double v = last_of(lg, finals[i].cols[s]);
            if (isnan(v))
                continue;
            if (!*inner)
                fprintf(fp, "%s%s: ", sep, finals[i].what);
            fprintf(fp, "%s%s %.4g", inner, set_names[s], v);
            inner = ", ";
            sep = "; ";
        }
    }
    fputs("</text>\n", fp);
}

static void write_plot(FILE *fp, const char *log_path, const series_log *lg, unsigned flags)
{
    /* A regression log has no accuracy: its second panel is the RMSE; an
     * older regression log has neither and gets the loss panel alone. */
    int accuracy = any_value(lg, C_TRAIN_ACC) || any_value(lg, C_VAL_ACC) ||
                   any_value(lg, C_TEST_ACC);
    int rmse = any_value(lg, C_TRAIN_RMSE) || any_value(lg, C_VAL_RMSE) ||
               any_value(lg, C_TEST_RMSE);
    const double W = 820, H = accuracy || rmse ? 800 : 460;
    fprintf(fp,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            W, H, W, H);
    const char *base = strrchr(log_path, '/');
    base = base ? base + 1 : log_path;
    fputs("<title>training log ", fp);
    bp_xml_escape(fp, base, BP_XML_CLEAN);
    fputs("</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", fp);
    fprintf(fp, "<g font-family=\"%s\" fill=\"#222222\">\n", FONT_SANS);
    fputs("<text x=\"20\" y=\"30\" font-size=\"18\" font-weight=\"bold\">Training log: ", fp);
    bp_xml_escape(fp, base, BP_XML_CLEAN);
    fputs("</text>\n", fp);
    write_summary(fp, lg);
    if (!accuracy && !rmse)
        fprintf(fp, "<text x=\"%.0f\" y=\"50\" font-size=\"12\" text-anchor=\"end\" "
                    "fill=\"#666666\">no accuracy values in the log (nor RMSE)</text>\n",
                W - 30);
    fputs("</g>\n", fp);

    int log_y = loss_log_scale(lg, flags);
    static const int loss_cols[3] = {C_TRAIN_LOSS, C_VAL_LOSS, C_TEST_LOSS};
    static const int acc_cols[3] = {C_TRAIN_ACC, C_VAL_ACC, C_TEST_ACC};
    static const int rmse_cols[3] = {C_TRAIN_RMSE, C_VAL_RMSE, C_TEST_RMSE};
    panel loss = {90, 110, W - 120, 250, {0, 1, 1, 0, 0}, {0, 1, 1, 0, 0}};
    draw_panel(fp, &loss, lg, log_y ? "Loss (log scale)" : "Loss", loss_cols, "loss", log_y);
    panel second = {90, 110 + 250 + 90, W - 120, 250, {0, 1, 1, 0, 0}, {0, 1, 1, 0, 0}};
    if (accuracy)
        draw_panel(fp, &second, lg, "Accuracy", acc_cols, "accuracy", 0);
    else if (rmse)
        draw_panel(fp, &second, lg, "RMSE (regression)", rmse_cols, "RMSE", 0);
    fputs("</svg>\n", fp);
}

bp_status bp_plot_svg_flags(const char *log_csv_path, const char *svg_path, unsigned flags)
{
    if (!log_csv_path || !svg_path)
        return bp_error(BP_ERR_ARG, "bp_plot_svg: NULL argument");
    if ((flags & BP_PLOT_LOG_LOSS) && (flags & BP_PLOT_LINEAR_LOSS))
        return bp_error(BP_ERR_ARG, "bp_plot_svg: a loss axis cannot be both logarithmic and "
                                    "linear");
    if (flags & ~(unsigned)(BP_PLOT_LOG_LOSS | BP_PLOT_LINEAR_LOSS))
        return bp_error(BP_ERR_ARG, "bp_plot_svg: unknown flags 0x%x", flags);
    char *text;
    size_t len;
    bp_status st = bp_read_file(log_csv_path, LOG_MAX_BYTES, &text, &len);
    if (st != BP_OK)
        return st;
    if (memchr(text, '\0', len)) {
        free(text);
        return bp_error(BP_ERR_PARSE, "%s: not a text file (it contains NUL bytes)",
                        log_csv_path);
    }
    series_log lg;
    memset(&lg, 0, sizeof lg);
    st = parse_log(log_csv_path, text, &lg);
    free(text);
    if (st == BP_OK) {
        bp_atomic_file f;
        st = bp_atomic_begin(&f, svg_path);
        if (st == BP_OK) {
            write_plot(f.fp, log_csv_path, &lg, flags);
            st = bp_atomic_commit(&f);
        }
    }
    log_free(&lg);
    return st;
}

bp_status bp_plot_svg(const char *log_csv_path, const char *svg_path)
{
    return bp_plot_svg_flags(log_csv_path, svg_path, 0);
}
