/* The explain options: bp_explain_step_ex (languages, the HTML lesson, the
 * size check) and bp_draw_svg_ex (ids, highlight). */
#include "testutil.h"

/* The article's net (examples/article.net): δo1 = -0.0984, δo2 = 0.1479. */
static bp_net *article(void)
{
    static const float w1[6] = {0.72f, 0.07f, 0.06f, 0.07f, 0.58f, 0.74f};
    static const float w2[6] = {0.12f, 0.48f, 0.07f, 0.68f, 0.50f, 0.13f};
    bp_layer_spec L[2] = {BP_LAYER(3, BP_ACT_SIGMOID, 0, BP_SLOPE_DEFAULT),
                          BP_LAYER(2, BP_ACT_SIGMOID, 0, BP_SLOPE_DEFAULT)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 2, L, BP_LOSS_MSE));
    memcpy(bp_net_weights(net, 0), w1, sizeof w1);
    memcpy(bp_net_weights(net, 1), w2, sizeof w2);
    return net;
}

static const float X[2] = {0.5f, 0.9f}, Y[2] = {1.0f, 0.0f};

/* Runs one step on a fresh article net and returns what it printed (NULL
 * and *st set on failure). */
static char *step(bp_trace_format fmt, const bp_explain_options *opt, bp_status *st, int legacy)
{
    bp_net *net = article();
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    *st = legacy ? bp_explain_step(net, X, Y, 0.1f, fmt, fp)
                 : bp_explain_step_ex(net, X, Y, 0.1f, fmt, opt, fp);
    fclose(fp);
    bp_net_free(net);
    if (*st != BP_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_defaults_print_what_step_prints(void **state)
{
    (void)state;
    bp_status st;
    for (int f = BP_TRACE_TEXT; f <= BP_TRACE_MARKDOWN; f++) {
        char *a = step((bp_trace_format)f, NULL, &st, 1), *b = step((bp_trace_format)f, NULL, &st, 0);
        bp_explain_options o;
        bp_explain_options_default(&o);
        char *c = step((bp_trace_format)f, &o, &st, 0);
        assert_non_null(a);
        assert_string_equal(a, b);
        assert_string_equal(a, c);
        assert_non_null(strstr(a, f ? "\\delta_{o1}" : "= -0.0984"));
        free(a);
        free(b);
        free(c);
    }
}

static void test_chinese(void **state)
{
    (void)state;
    bp_explain_options o;
    bp_explain_options_default(&o);
    o.lang = "zh";
    bp_status st;
    char *t = step(BP_TRACE_TEXT, &o, &st, 0);
    assert_non_null(t);
    const char *terms[] = {"前向传播", "反向传播", "误差", "均方误差", "学习率", "权重", "激活",
                           "隐藏层", "输出层", "= -0.0984", "= 0.1479"};
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++)
        if (!strstr(t, terms[i]))
            fail_msg("the Chinese trace lacks %s", terms[i]);
    assert_null(strstr(t, "Forward propagation"));
    free(t);
    o.lang = "fr";
    assert_null(step(BP_TRACE_TEXT, &o, &st, 0));
    assert_int_equal(st, BP_ERR_ARG);
    assert_errmsg_contains("en, zh");
}

static void test_lesson(void **state)
{
    (void)state;
    bp_explain_options o;
    bp_explain_options_default(&o);
    o.steps = 3;
    bp_status st;
    char *h = step(BP_TRACE_HTML, &o, &st, 0);
    assert_non_null(h);
    assert_true(strncmp(h, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(h, "<math xmlns=\"http://www.w3.org/1998/Math/MathML\">"));
    assert_non_null(strstr(h, "(0.5925 − 1.0000)·0.5925·(1 − 0.5925) = -0.0984</div>"));
    assert_non_null(strstr(h, "= 0.1479</div>"));
    assert_non_null(strstr(h, "<line id=\"w7\" data-k=\"w7\" data-ends=\"n-h1 n-o1\""));
    assert_non_null(strstr(h, "<td>4</td>"));   /* steps 1..4 */
    assert_null(strstr(h, "<td>5</td>"));
    assert_null(strstr(h, "<?xml"));           /* the SVG is inline */
    assert_null(strstr(h, "src="));
    free(h);
    o.steps = -1;
    h = step(BP_TRACE_HTML, &o, &st, 0);
    assert_non_null(h);
    assert_null(strstr(h, "And then repeat"));
    free(h);
}

static void test_bad_options(void **state)
{
    (void)state;
    bp_explain_options o;
    memset(&o, 0, sizeof o); /* never initialised: size 0 */
    bp_status st;
    assert_null(step(BP_TRACE_TEXT, &o, &st, 0));
    assert_int_equal(st, BP_ERR_ARG);
    assert_errmsg_contains("bp_explain_options_default");
    assert_null(step((bp_trace_format)7, NULL, &st, 0));
    assert_int_equal(st, BP_ERR_ARG);
    bp_explain_options_default(&o);
    o.steps = 1000000;
    assert_null(step(BP_TRACE_HTML, &o, &st, 0));
    assert_int_equal(st, BP_ERR_ARG);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_draw_highlight(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "/tmp/bp_test_lesson_%ld.svg", (long)getpid());
    bp_net *net = article();
    bp_explain_options o;
    bp_explain_options_default(&o);
    o.highlight = "w7";
    assert_ok(bp_draw_svg_ex(net, X, NULL, &o, path));
    char *svg = slurp(path);
    assert_non_null(strstr(svg, "<line id=\"w7\" class=\"hl\""));
    assert_non_null(strstr(svg, "<g id=\"lw7\" class=\"hl\">"));
    assert_non_null(strstr(svg, "<g class=\"neuron hl\" id=\"n-h1\""));
    assert_non_null(strstr(svg, "<g class=\"neuron hl\" id=\"n-o1\""));
    assert_non_null(strstr(svg, "<g class=\"neuron\" id=\"n-h2\""));
    assert_null(strstr(svg, "data-k")); /* only the lesson's script needs them */
    free(svg);
    unlink(path);
    o.highlight = "w13";
    assert_int_equal(bp_draw_svg_ex(net, X, NULL, &o, path), BP_ERR_ARG);
    assert_errmsg_contains("w13");
    assert_int_equal(access(path, F_OK), -1); /* nothing written */
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_print_what_step_prints),
        cmocka_unit_test(test_chinese),
        cmocka_unit_test(test_lesson),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_draw_highlight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
