/* Commands that show the maths: step, draw, gradcheck. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"

/* What step and draw work on: a net, and a sample and learning rate taken
 * from the command line or, failing that, from the .net file. */
typedef struct {
    bp_net *net;
    float *input, *target; /* NULL when neither the file nor the options give one */
    float lr;
} sample_setup;

static void sample_setup_free(sample_setup *s)
{
    free(s->input);
    free(s->target);
    bp_net_free(s->net);
    memset(s, 0, sizeof *s);
}

/* Reads a list option of exactly `want` values, or takes the file's. */
static int vector_option(const char *cmd, const cli_args *args, const char *name, int want,
                         float **file_value, float **out)
{
    const char *v = cli_get(args, name);
    if (!v) {
        *out = *file_value;
        *file_value = NULL;
        return 0;
    }
    int n, rc = cli_float_list(cmd, name, v, out, &n);
    if (rc)
        return rc;
    if (n != want) {
        fprintf(stderr, "backprop %s: --%s has %d values, the net has %d %s\n", cmd, name, n,
                want, !strcmp(name, "input") ? "inputs" : "outputs");
        free(*out);
        *out = NULL;
        return 2;
    }
    return 0;
}

/* Returns an exit status, or -1 when loaded. */
static int sample_setup_load(const char *cmd, const cli_args *args, const char *path,
                             sample_setup *s)
{
    memset(s, 0, sizeof *s);
    bp_sample sample = {0};
    if (bp_net_read_text(&s->net, &sample, path) != BP_OK) {
        /* Not a text file (or a bad one): try a binary model, but keep the
         * text parser's message when that also fails, since it names a line. */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", bp_errmsg());
        if (bp_net_load(&s->net, path) != BP_OK) {
            fprintf(stderr, "backprop %s: %s\n", cmd, msg);
            return 1;
        }
    }
    s->lr = sample.has_lr ? sample.lr : 0.1f;
    const char *v;
    int rc = 0;
    if ((v = cli_get(args, "lr")) && (rc = cli_float(cmd, "lr", v, &s->lr)) == 0 && !(s->lr > 0)) {
        fprintf(stderr, "backprop %s: --lr must be positive\n", cmd);
        rc = 2;
    }
    if (!rc)
        rc = vector_option(cmd, args, "input", bp_net_inputs(s->net), &sample.input, &s->input);
    if (!rc)
        rc = vector_option(cmd, args, "target", bp_net_outputs(s->net), &sample.target,
                           &s->target);
    bp_sample_clear(&sample);
    if (rc) {
        sample_setup_free(s);
        return rc;
    }
    return -1;
}

/* --lang, --steps and --highlight, where the command has them. */
static int explain_options(const char *cmd, const cli_args *args, bp_explain_options *eo)
{
    bp_explain_options_default(eo);
    const char *v = cli_get(args, "lang");
    if (v) {
        eo->lang = v;
        /* Checked here, before any work, so a typo is a usage error. */
        if (strcmp(v, "en") && strcmp(v, "zh")) {
            fprintf(stderr, "backprop %s: --lang: expected one of %s, got '%s'\n", cmd,
                    bp_explain_languages(), v);
            return 2;
        }
    }
    int rc;
    if ((v = cli_get(args, "steps"))) {
        int n;
        if ((rc = cli_int(cmd, "steps", v, 0, 100000, &n)))
            return rc;
        eo->steps = n ? n : -1;
    }
    eo->highlight = cli_get(args, "highlight");
    return 0;
}

/* The lesson goes to its file atomically: a failed step leaves no half page. */
static int write_lesson(sample_setup *s, const bp_explain_options *eo, const char *path)
{
    bp_output *o;
    if (bp_output_open(&o, path) != BP_OK)
        return cli_fail("step");
    if (bp_explain_step_ex(s->net, s->input, s->target, s->lr, BP_TRACE_HTML, eo,
                           bp_output_file(o)) != BP_OK) {
        int rc = cli_fail("step");
        bp_output_abort(o);
        return rc;
    }
    return bp_output_commit(o) == BP_OK ? 0 : cli_fail("step");
}

int cmd_step(int argc, char **argv)
{
    cli_option opts[] = {
        {"input", 0, 1, "x1,x2,...", "the sample's inputs (default: the 'input' line of NET)", 0},
        {"target", 0, 1, "t1,t2,...", "expected outputs (default: the 'target' line of NET)", 0},
        {"lr", 0, 1, "ETA", "learning rate η (default: the 'lr' line of NET, else 0.1)", 0},
        {"format", 0, 1, "text|markdown|html", "output format (default text); html: one "
                                                "self-contained page, the lesson", 0},
        {"out", 'o', 1, "FILE", "write the updated network here (with --format html: the "
                                "lesson)", 0},
        {"lang", 0, 1, "en|zh", "language of the words (default en; zh: the article's terms)", 0},
        {"steps", 0, 1, "N", "html: E over the next N steps on the sample (default 100, 0: none)",
         0},
        FORCE_OPTION,
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "step", "NET [OPTION]...",
                       "One forward pass, the error, one backward pass and the gradient-descent\n"
                       "update of NET (a text .net file or a model), every number shown.",
                       argc, argv, 1, 1);
    if (rc >= 0)
        return rc;
    const char *path = args.positional[0];
    bp_trace_format fmt = BP_TRACE_TEXT;
    const char *f = cli_get(&args, "format");
    if (f && !strcmp(f, "markdown"))
        fmt = BP_TRACE_MARKDOWN;
    else if (f && !strcmp(f, "html"))
        fmt = BP_TRACE_HTML;
    else if (f && strcmp(f, "text")) {
        fprintf(stderr, "backprop step: --format: expected text, markdown or html, got '%s'\n", f);
        return 2;
    }
    bp_explain_options eo;
    if ((rc = explain_options("step", &args, &eo)))
        return rc;
    const char *out = cli_get(&args, "out");
    if (out && (rc = check_output("step", &args, "NET", path, out)))
        return rc;
    sample_setup s;
    if ((rc = sample_setup_load("step", &args, path, &s)) >= 0)
        return rc;
    rc = 2;
    if (!s.input)
        fprintf(stderr, "backprop step: %s has no 'input' line; give --input\n", path);
    else if (!s.target)
        fprintf(stderr, "backprop step: %s has no 'target' line; give --target\n", path);
    else if (fmt == BP_TRACE_HTML && out)
        rc = write_lesson(&s, &eo, out);
    else if (bp_explain_step_ex(s.net, s.input, s.target, s.lr, fmt, &eo, stdout) != BP_OK)
        rc = cli_fail("step");
    else
        rc = 0;
    if (rc == 0 && out && fmt != BP_TRACE_HTML) {
        bp_sample keep = {1, 1, 1, s.input, s.target, s.lr};
        if (bp_net_write_text(s.net, &keep, out) != BP_OK)
            rc = cli_fail("step");
    }
    sample_setup_free(&s);
    return rc;
}

/* Random inputs and targets that suit the loss (one-hot for xent, [0,1] for bce). */
static void random_sample(unsigned *state, const bp_net *net, float *x, float *t, int batch)
{
    int in = bp_net_inputs(net), out = bp_net_outputs(net);
    for (int i = 0; i < batch * in; i++) {
        *state = *state * 1664525u + 1013904223u;
        x[i] = (float)((*state >> 8) / 16777216.0 * 2 - 1);
    }
    for (int r = 0; r < batch; r++) {
        for (int k = 0; k < out; k++) {
            *state = *state * 1664525u + 1013904223u;
            t[r * out + k] = (float)((*state >> 8) / 16777216.0);
        }
        if (bp_net_loss(net) == BP_LOSS_XENT) {
            int hot = (int)((*state >> 4) % (unsigned)out);
            for (int k = 0; k < out; k++)
                t[r * out + k] = k == hot ? 1.0f : 0.0f;
        }
    }
}

/* "checked N of M" on a terminal, rewritten in place (stderr). */
static int gradcheck_progress(size_t done, size_t total, void *user)
{
    (void)user;
    fprintf(stderr, "\rgradcheck: %zu of %zu parameters checked", done, total);
    if (done == total)
        fprintf(stderr, "\r%*s\r", 60, "");
    return 0;
}

static int check_one(const char *label, bp_net *net, unsigned seed, int batch, size_t sample,
                     int *failures)
{
    int in = bp_net_inputs(net), out = bp_net_outputs(net);
    const unsigned seed0 = seed; /* random_sample advances seed */
    float *x = malloc(sizeof(float) * (size_t)(batch * in));
    float *t = malloc(sizeof(float) * (size_t)(batch * out));
    if (!x || !t) {
        free(x);
        free(t);
        fprintf(stderr, "backprop gradcheck: out of memory\n");
        return 1;
    }
    random_sample(&seed, net, x, t, batch);
    bp_gradcheck_result r;
    size_t np = bp_net_param_count(net), k = sample && sample < np ? sample : np;
    bp_status st = bp_gradcheck_sample(net, x, t, batch, k, seed0,
                                       k >= 1000 && isatty(fileno(stderr)) ? gradcheck_progress
                                                                           : NULL,
                                       NULL, &r);
    free(x);
    free(t);
    if (st != BP_OK)
        return cli_fail("gradcheck");
    int ok = r.max_rel_error_double < 1e-4 && r.max_rel_error_float < 1e-2;
    if (r.params_checked < np)
        printf("%-34s %8zu of %zu params (a sample, seed %u)  double %.2e  float32 %.2e  %s\n",
               label, r.params_checked, np, seed0, r.max_rel_error_double, r.max_rel_error_float,
               ok ? "ok" : "FAIL");
    else
        printf("%-34s %8zu params  double %.2e  float32 %.2e  %s\n", label, r.params_checked,
               r.max_rel_error_double, r.max_rel_error_float, ok ? "ok" : "FAIL");
    *failures += !ok;
    return 0;
}

int cmd_gradcheck(int argc, char **argv)
{
    cli_option opts[] = {
        {"seed", 0, 1, "N", "seed for weights and samples (default 1)", 0},
        {"batch", 0, 1, "B", "rows per check (default 3)", 0},
        {"sample", 0, 1, "N", "check N parameters (a seeded sample) when NET has more (default 2000; 0 = all)", 0},
    };
    cli_args args = {opts, 3, {0}, 0};
    int rc = cli_begin(&args, "gradcheck", "[NET]",
                       "Compare backpropagation's gradients with central finite differences in\n"
                       "double precision, and the float32 path with both.  Without NET, checks\n"
                       "random nets for every activation x loss combination the library allows.\n"
                       "Passes when the double error is below 1e-4 and float32 below 1e-2\n"
                       "(relative errors with a floor near 0: see bp_gradcheck in backprop.h).\n"
                       "A net of more than --sample parameters is checked on a seeded sample.",
                       argc, argv, 0, 1);
    if (rc >= 0)
        return rc;
    int seed = 1, batch = 3, failures = 0;
    const char *v;
    if ((v = cli_get(&args, "seed")) && (rc = cli_int("gradcheck", "seed", v, 0, 1 << 30, &seed)))
        return rc;
    if ((v = cli_get(&args, "batch")) && (rc = cli_int("gradcheck", "batch", v, 1, 1024, &batch)))
        return rc;
    int sample = 2000;
    if ((v = cli_get(&args, "sample")) &&
        (rc = cli_int("gradcheck", "sample", v, 0, 2147483647, &sample)))
        return rc;
    if (args.n_positional == 1) {
        bp_net *net;
        if (bp_net_load_any(&net, args.positional[0]) != BP_OK)
            return cli_fail("gradcheck");
        rc = check_one(args.positional[0], net, (unsigned)seed, batch, (size_t)sample, &failures);
        bp_net_free(net);
        return rc ? rc : failures ? 1 : 0;
    }
    for (int hidden = 0; hidden < BP_ACT_COUNT_; hidden++) {
        if (hidden == BP_ACT_SOFTMAX)
            continue;
        for (int outact = 0; outact < BP_ACT_COUNT_; outact++) {
            for (int loss = 0; loss < BP_LOSS_COUNT_; loss++) {
                if (loss == BP_LOSS_XENT && outact != BP_ACT_SOFTMAX)
                    continue;
                if (loss == BP_LOSS_BCE && outact != BP_ACT_SIGMOID)
                    continue;
                bp_layer_spec L[3] = {BP_LAYER(4, (bp_activation)hidden, 1, BP_SLOPE_DEFAULT),
                                      BP_LAYER(3, (bp_activation)hidden, 0, BP_SLOPE_DEFAULT),
                                      BP_LAYER(3, (bp_activation)outact, 1, BP_SLOPE_DEFAULT)};
                bp_net *net;
                if (bp_net_create(&net, 3, 3, L, (bp_loss)loss) != BP_OK ||
                    bp_net_init(net, BP_INIT_XAVIER, (uint64_t)seed) != BP_OK)
                    return cli_fail("gradcheck");
                char label[96];
                snprintf(label, sizeof label, "3-4-3-3 %s/%s, %s", bp_activation_name(hidden),
                         bp_activation_name(outact), bp_loss_name(loss));
                rc = check_one(label, net, (unsigned)seed + (unsigned)(hidden * 100 + outact * 10 + loss),
                               batch, (size_t)sample, &failures);
                bp_net_free(net);
                if (rc)
                    return rc;
            }
        }
    }
    printf("gradcheck: %s\n", failures ? "FAILED" : "all combinations agree");
    return failures ? 1 : 0;
}

int cmd_draw(int argc, char **argv)
{
    cli_option opts[] = {
        {"output", 'o', 1, "FILE.svg", "where to write (required)", 0},
        {"input", 0, 1, "x1,x2,...", "show s and a for these inputs (default: NET's input line)", 0},
        {"target", 0, 1, "t1,...", "with an input: also show the weights after one step", 0},
        {"lr", 0, 1, "ETA", "learning rate of that step (default: NET's lr line, else 0.1)", 0},
        {"no-step", 0, 0, "", "do not show updated weights even when NET has a target", 0},
        {"highlight", 0, 1, "w7|h1", "draw this weight (with both its neurons) or neuron "
                                     "highlighted", 0},
        {"lang", 0, 1, "en|zh", "language of the picture's words (default en)", 0},
        FORCE_OPTION,
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "draw", "NET -o FILE.svg",
                       "Draw NET as an SVG picture: neurons with their s and a values, edges\n"
                       "with their weights, and the updated weights after one step when a\n"
                       "target is known.", argc, argv, 1, 1);
    if (rc >= 0)
        return rc;
    const char *out = required_output(&args, "draw", "FILE.svg");
    if (!out)
        return 2;
    if ((rc = check_output("draw", &args, "NET", args.positional[0], out)))
        return rc;
    bp_explain_options eo;
    if ((rc = explain_options("draw", &args, &eo)))
        return rc;
    sample_setup s;
    if ((rc = sample_setup_load("draw", &args, args.positional[0], &s)) >= 0)
        return rc;
    bp_net *updated = NULL;
    rc = 0;
    if (s.input && s.target && !cli_get(&args, "no-step")) {
        /* One step on a copy, traced to nowhere, gives the updated weights. */
        FILE *sink = fopen("/dev/null", "w");
        if (!sink || bp_net_clone(s.net, &updated) != BP_OK ||
            bp_explain_step(updated, s.input, s.target, s.lr, BP_TRACE_TEXT, sink) != BP_OK)
            rc = cli_fail("draw");
        if (sink)
            fclose(sink);
    }
    bp_status st = rc ? BP_OK : bp_draw_svg_ex(s.net, s.input, updated, &eo, out);
    if (st != BP_OK) {
        cli_fail("draw");
        rc = fail_rc(st); /* an unknown --highlight is a usage error */
    }
    bp_net_free(updated);
    sample_setup_free(&s);
    return rc;
}
