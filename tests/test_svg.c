/* SVG pictures: the network drawing (bp_draw_svg) and learning curves (bp_plot_svg). */
#include "testutil.h"

#include <sys/stat.h>

static char *slurp(const char *path, size_t *len_out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len_out)
        *len_out = (size_t)n;
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + k, needle))
        n++;
    return n;
}

#define assert_contains(hay, needle)                                                      \
    do {                                                                                  \
        if (!strstr((hay), (needle)))                                                     \
            fail_msg("the SVG lacks \"%s\"", (needle));                                   \
    } while (0)

/* Basic well-formedness: XML prolog or <svg first, </svg> last, the SVG
 * namespace, balanced groups and texts, no stray '&' or '<' inside texts. */
static void check_svg(const char *svg)
{
    assert_true(strncmp(svg, "<?xml", 5) == 0 || strncmp(svg, "<svg", 4) == 0);
    size_t n = strlen(svg);
    while (n && (svg[n - 1] == '\n' || svg[n - 1] == ' '))
        n--;
    assert_true(n >= 6 && strncmp(svg + n - 6, "</svg>", 6) == 0);
    assert_contains(svg, "xmlns=\"http://www.w3.org/2000/svg\"");
    assert_contains(svg, "viewBox=\"");
    assert_contains(svg, "width=\"");
    assert_int_equal(count(svg, "<svg"), 1);
    assert_int_equal(count(svg, "<g>") + count(svg, "<g "), count(svg, "</g>"));
    assert_int_equal(count(svg, "<text"), count(svg, "</text>"));
    /* Every '&' starts an entity. */
    for (const char *p = strchr(svg, '&'); p; p = strchr(p + 1, '&'))
        assert_true(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
                    strncmp(p, "&gt;", 4) == 0 || strncmp(p, "&quot;", 6) == 0 ||
                    strncmp(p, "&apos;", 6) == 0);
    /* Between '>' and '<' (text content) there is no raw '<' by construction;
     * check that each '<' begins a tag name, a closing tag, '?' or '!'. */
    for (const char *p = strchr(svg, '<'); p; p = strchr(p + 1, '<'))
        assert_true(p[1] == '/' || p[1] == '?' || p[1] == '!' ||
                    (p[1] >= 'a' && p[1] <= 'z'));
}

/* The article's 2-3-2 sigmoid net without biases; w1..w12 = 0.11, 0.12, …. */
static bp_net *article_net(int bias)
{
    bp_layer_spec layers[2] = {BP_LAYER(3, BP_ACT_SIGMOID, bias, 0), BP_LAYER(2, BP_ACT_SIGMOID, bias, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 2, layers, BP_LOSS_MSE));
    float *w1 = bp_net_weights(net, 0), *w2 = bp_net_weights(net, 1);
    for (int i = 0; i < 6; i++) {
        w1[i] = 0.11f + 0.01f * (float)i;
        w2[i] = 0.17f + 0.01f * (float)i;
    }
    w2[2] = -0.35f; /* one negative weight: w9 */
    if (bias)
        for (int j = 0; j < 3; j++)
            bp_net_biases(net, 0)[j] = 0.25f * (float)(j + 1);
    return net;
}

static void tmp_path(char *buf, size_t cap, const char *suffix)
{
    static unsigned counter;
    snprintf(buf, cap, "/tmp/bp_test_svg_%ld_%u%s", (long)getpid(), counter++, suffix);
}

static void test_draw_plain(void **state)
{
    (void)state;
    bp_net *net = article_net(0);
    char path[256];
    tmp_path(path, sizeof path, ".svg");
    assert_ok(bp_draw_svg(net, NULL, NULL, path));
    char *svg = slurp(path, NULL);
    check_svg(svg);
    assert_contains(svg, ">i1<");
    assert_contains(svg, ">i2<");
    assert_contains(svg, ">h1<");
    assert_contains(svg, ">h3<");
    assert_contains(svg, ">o2<");
    assert_contains(svg, "w1 = 0.1100");
    assert_contains(svg, "w7 = 0.1700");
    assert_contains(svg, "w9 = -0.3500");
    assert_contains(svg, "w12 = 0.2200");
    assert_int_equal(count(svg, "<circle"), 7);
    assert_null(strstr(svg, "s = "));  /* no input: no forward values */
    assert_null(strstr(svg, "b1 = ")); /* no biases */
    free(svg);
    unlink(path);
    bp_net_free(net);
}

static void test_draw_forward_and_update(void **state)
{
    (void)state;
    bp_net *net = article_net(1), *upd;
    assert_ok(bp_net_clone(net, &upd));
    float x[2] = {0.05f, 0.10f}, t[2] = {1.0f, 0.0f}, loss;
    bp_workspace *ws;
    assert_ok(bp_workspace_create(&ws, upd, 1, 1));
    assert_ok(bp_train_sample(upd, ws, x, t, 0.1f, &loss));

    /* The values the picture must show, from our own forward pass. */
    assert_ok(bp_forward(net, ws, x, 1));
    char want[64];
    char path[256];
    tmp_path(path, sizeof path, ".svg");
    assert_ok(bp_draw_svg(net, x, upd, path));
    char *svg = slurp(path, NULL);
    check_svg(svg);
    for (int l = 0; l < 2; l++) {
        for (int j = 0; j < bp_net_layer(net, l).units; j++) {
            snprintf(want, sizeof want, "s = %.4f", (double)bp_workspace_s(ws, l)[j]);
            assert_contains(svg, want);
            snprintf(want, sizeof want, "a = %.4f", (double)bp_workspace_a(ws, l)[j]);
            assert_contains(svg, want);
        }
    }
    assert_contains(svg, "x = 0.0500");
    assert_contains(svg, "x = 0.1000");
    /* Old → new for weights and biases. */
    snprintf(want, sizeof want, "w7 = 0.1700 \xe2\x86\x92 %.4f",
             (double)bp_net_weights_const(upd, 1)[0]);
    assert_contains(svg, want);
    snprintf(want, sizeof want, "w1 = 0.1100 \xe2\x86\x92 %.4f",
             (double)bp_net_weights_const(upd, 0)[0]);
    assert_contains(svg, want);
    snprintf(want, sizeof want, "b1 = 0.2500 \xe2\x86\x92 %.4f",
             (double)bp_net_biases_const(upd, 0)[0]);
    assert_contains(svg, want);
    /* Output biases are b4, b5. */
    assert_contains(svg, "b5 = 0.0000");
    assert_contains(svg, "mse");
    assert_contains(svg, "sigmoid");
    free(svg);
    unlink(path);

    /* A net of another architecture is refused. */
    bp_layer_spec other[2] = {BP_LAYER(4, BP_ACT_SIGMOID, 1, 0), BP_LAYER(2, BP_ACT_SIGMOID, 1, 0)};
    bp_net *wrong;
    assert_ok(bp_net_create(&wrong, 2, 2, other, BP_LOSS_MSE));
    assert_int_equal(bp_draw_svg(net, x, wrong, path), BP_ERR_SHAPE);
    assert_int_equal(access(path, F_OK), -1);
    bp_net_free(wrong);
    bp_workspace_free(ws);
    bp_net_free(upd);
    bp_net_free(net);
}

static void test_draw_scaled_inputs(void **state)
{
    (void)state;
    bp_net *net = article_net(0);
    float shift[2] = {1.0f, 2.0f}, scale[2] = {0.5f, 0.25f};
    assert_ok(bp_net_set_scaling(net, shift, scale));
    float x[2] = {3.0f, 6.0f}; /* scaled: 1.0, 1.0 */
    char path[256];
    tmp_path(path, sizeof path, ".svg");
    assert_ok(bp_draw_svg(net, x, NULL, path));
    char *svg = slurp(path, NULL);
    check_svg(svg);
    assert_contains(svg, "x = 1.0000");
    assert_contains(svg, "raw = 3.0000");
    assert_contains(svg, "raw = 6.0000");
    free(svg);
    unlink(path);
    bp_net_free(net);
}

static void test_draw_big_net_is_reduced(void **state)
{
    (void)state;
    bp_layer_spec layers[2] = {BP_LAYER(128, BP_ACT_RELU, 1, 0), BP_LAYER(10, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 784, 2, layers, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_HE, 7));
    float *x = calloc(784, sizeof *x);
    assert_non_null(x);
    for (int i = 0; i < 784; i++)
        x[i] = (float)(i % 10) / 10.0f;
    char path[256];
    tmp_path(path, sizeof path, ".svg");
    assert_ok(bp_draw_svg(net, x, NULL, path));
    size_t len;
    char *svg = slurp(path, &len);
    check_svg(svg);
    assert_true(len < 200 * 1024);
    assert_contains(svg, "784");
    assert_contains(svg, "128");
    assert_contains(svg, "reduced");
    assert_contains(svg, ">i784<");
    assert_contains(svg, ">h128<");
    assert_contains(svg, ">o10<");
    assert_contains(svg, "777 more");
    assert_null(strstr(svg, ">i100<"));
    assert_null(strstr(svg, "w1 = ")); /* no per-edge labels */
    free(svg);

    /* No layer wider than 16 but many edges: every neuron, no edge labels. */
    bp_layer_spec mid[2] = {BP_LAYER(16, BP_ACT_TANH, 0, 0), BP_LAYER(16, BP_ACT_TANH, 0, 0)};
    bp_net *net2;
    assert_ok(bp_net_create(&net2, 16, 2, mid, BP_LOSS_MSE));
    assert_ok(bp_net_init(net2, BP_INIT_XAVIER, 1));
    assert_ok(bp_draw_svg(net2, NULL, NULL, path));
    svg = slurp(path, &len);
    check_svg(svg);
    assert_int_equal(count(svg, "<circle"), 48);
    assert_null(strstr(svg, "w1 = "));
    assert_true(len < 200 * 1024);
    free(svg);
    unlink(path);
    bp_net_free(net2);
    free(x);
    bp_net_free(net);
}

static void test_draw_errors(void **state)
{
    (void)state;
    bp_net *net = article_net(0);
    assert_int_equal(bp_draw_svg(net, NULL, NULL, "/nonexistent-dir/x/net.svg"), BP_ERR_IO);
    assert_errmsg_contains("/nonexistent-dir/x/net.svg");
    assert_int_equal(bp_draw_svg(NULL, NULL, NULL, "/tmp/x.svg"), BP_ERR_ARG);
    assert_int_equal(bp_draw_svg(net, NULL, NULL, NULL), BP_ERR_ARG);

    /* A failed write leaves a previous file untouched and no temporary. */
    char path[256];
    tmp_path(path, sizeof path, ".svg");
    assert_ok(bp_draw_svg(net, NULL, NULL, path));
    bp_layer_spec other[2] = {BP_LAYER(4, BP_ACT_SIGMOID, 0, 0), BP_LAYER(2, BP_ACT_SIGMOID, 0, 0)};
    bp_net *wrong;
    assert_ok(bp_net_create(&wrong, 2, 2, other, BP_LOSS_MSE));
    assert_int_equal(bp_draw_svg(net, NULL, wrong, path), BP_ERR_SHAPE);
    char *svg = slurp(path, NULL);
    assert_contains(svg, "w12 = ");
    free(svg);
    unlink(path);
    bp_net_free(wrong);
    bp_net_free(net);
}

static const char *const LOG_HEADER =
    "epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy\n";

static void test_plot_with_validation(void **state)
{
    (void)state;
    char text[4096];
    size_t off = (size_t)snprintf(text, sizeof text, "%s", LOG_HEADER);
    for (int e = 1; e <= 12; e++)
        off += (size_t)snprintf(text + off, sizeof text - off, "%d,0.5,1200,0.01,%.4f,%.4f,%.4f,%.4f\n",
                                e, 1.0 / e, 1.0 - 0.5 / e, 1.1 / e + 0.05, 0.98 - 0.5 / e);
    char log[256], out[256];
    write_temp_file(log, sizeof log, ".csv", text, off);
    tmp_path(out, sizeof out, ".svg");
    assert_ok(bp_plot_svg(log, out));
    char *svg = slurp(out, NULL);
    check_svg(svg);
    assert_contains(svg, "Loss");
    assert_contains(svg, "Accuracy");
    assert_contains(svg, "validation");
    assert_contains(svg, "train");
    assert_contains(svg, "epoch");
    assert_true(count(svg, "<polyline") >= 4);
    free(svg);
    unlink(log);

    /* The log's name appears in the title, escaped for XML. */
    write_temp_file(log, sizeof log, "_a&b<c>.csv", text, off);
    assert_ok(bp_plot_svg(log, out));
    svg = slurp(out, NULL);
    check_svg(svg);
    assert_contains(svg, "_a&amp;b&lt;c&gt;.csv");
    free(svg);
    unlink(out);
    unlink(log);
}

static void test_plot_without_validation(void **state)
{
    (void)state;
    /* Regression: no accuracy at all, no validation ("nan" and empty fields). */
    char text[4096];
    size_t off = (size_t)snprintf(text, sizeof text, "%s", LOG_HEADER);
    for (int e = 1; e <= 5; e++)
        off += (size_t)snprintf(text + off, sizeof text - off, "%d,0.1,900,0.1,%.4f,nan,,NaN\r\n",
                                e, 0.3 / e);
    char log[256], out[256];
    write_temp_file(log, sizeof log, ".csv", text, off);
    tmp_path(out, sizeof out, ".svg");
    assert_ok(bp_plot_svg(log, out));
    char *svg = slurp(out, NULL);
    check_svg(svg);
    assert_int_equal(count(svg, "<polyline"), 1);
    assert_null(strstr(svg, ">validation<"));
    assert_contains(svg, "no accuracy values");
    free(svg);

    /* A single epoch still renders (a degenerate axis range). */
    off = (size_t)snprintf(text, sizeof text, "%s1,0.2,100,0.01,0.5,0.8,0.6,0.75\n", LOG_HEADER);
    write_temp_file(log, sizeof log, ".csv", text, off);
    assert_ok(bp_plot_svg(log, out));
    svg = slurp(out, NULL);
    check_svg(svg);
    free(svg);
    unlink(out);
    unlink(log);
}

static void expect_plot_error(const char *text, bp_status want, const char *msg_part)
{
    char log[256], out[256];
    write_temp_file(log, sizeof log, ".csv", text, strlen(text));
    tmp_path(out, sizeof out, ".svg");
    assert_int_equal(bp_plot_svg(log, out), want);
    assert_errmsg_contains(log);
    assert_errmsg_contains(msg_part);
    assert_int_equal(access(out, F_OK), -1);
    unlink(log);
}

static void test_plot_malformed(void **state)
{
    (void)state;
    char buf[1024];
    /* Missing column. */
    expect_plot_error("epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss\n"
                      "1,0.1,10,0.1,0.5,0.5,0.5\n",
                      BP_ERR_PARSE, ":1: the header lacks the column \"val_accuracy\"");
    /* Non-numeric field on line 3. */
    snprintf(buf, sizeof buf, "%s1,0.1,10,0.1,0.5,0.5,0.5,0.5\n2,0.1,10,0.1,abc,0.5,0.5,0.5\n",
             LOG_HEADER);
    expect_plot_error(buf, BP_ERR_PARSE, ":3: column \"train_loss\": \"abc\" is not a number");
    /* Wrong field count on line 2. */
    snprintf(buf, sizeof buf, "%s1,0.1,10\n", LOG_HEADER);
    expect_plot_error(buf, BP_ERR_PARSE, ":2: 3 fields");
    /* Header only. */
    expect_plot_error(LOG_HEADER, BP_ERR_PARSE, "no data rows");
    /* Empty file. */
    expect_plot_error("", BP_ERR_PARSE, "no header");
    /* Missing epoch. */
    snprintf(buf, sizeof buf, "%s,0.1,10,0.1,0.5,0.5,0.5,0.5\n", LOG_HEADER);
    expect_plot_error(buf, BP_ERR_PARSE, ":2: the epoch is missing");
    /* Missing file. */
    assert_int_equal(bp_plot_svg("/nonexistent-dir/run.csv", "/tmp/x.svg"), BP_ERR_IO);
    assert_errmsg_contains("/nonexistent-dir/run.csv");
    /* Unwritable output. */
    char log[256];
    snprintf(buf, sizeof buf, "%s1,0.1,10,0.1,0.5,0.5,0.5,0.5\n", LOG_HEADER);
    write_temp_file(log, sizeof log, ".csv", buf, strlen(buf));
    assert_int_equal(bp_plot_svg(log, "/nonexistent-dir/plot.svg"), BP_ERR_IO);
    assert_errmsg_contains("/nonexistent-dir/plot.svg");
    unlink(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draw_plain),
        cmocka_unit_test(test_draw_forward_and_update),
        cmocka_unit_test(test_draw_scaled_inputs),
        cmocka_unit_test(test_draw_big_net_is_reduced),
        cmocka_unit_test(test_draw_errors),
        cmocka_unit_test(test_plot_with_validation),
        cmocka_unit_test(test_plot_without_validation),
        cmocka_unit_test(test_plot_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
