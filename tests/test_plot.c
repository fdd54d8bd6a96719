/* bp_plot_svg_flags: the loss axis choice through the C API, flags checked,
 * logs with and without the newer columns. */
#include "testutil.h"

static char *slurp(const char *path)
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
    return buf;
}

static const char *const OLD_HEADER =
    "epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy\n";

/* A loss from 1 down to 1e-4: more than two decades. */
static size_t wide_log(char *text, size_t cap)
{
    size_t off = (size_t)snprintf(text, cap, "%s", OLD_HEADER);
    for (int e = 1; e <= 9; e++)
        off += (size_t)snprintf(text + off, cap - off, "%d,0.1,100,0.01,%g,0.5,%g,0.5\n", e,
                                pow(10.0, -(e - 1) * 0.5), 2 * pow(10.0, -(e - 1) * 0.5));
    return off;
}

static void test_log_scale_flags(void **state)
{
    (void)state;
    char text[4096], log[256], out[300];
    size_t n = wide_log(text, sizeof text);
    write_temp_file(log, sizeof log, ".csv", text, n);
    snprintf(out, sizeof out, "%s.svg", log);

    assert_ok(bp_plot_svg(log, out)); /* automatic */
    char *svg = slurp(out);
    assert_non_null(strstr(svg, "loss (log scale)"));
    assert_non_null(strstr(svg, ">0.001</text>"));
    assert_non_null(strstr(svg, ">0.01</text>"));
    free(svg);

    assert_ok(bp_plot_svg_flags(log, out, BP_PLOT_LINEAR_LOSS));
    svg = slurp(out);
    assert_null(strstr(svg, "log scale"));
    free(svg);

    assert_int_equal(bp_plot_svg_flags(log, out, BP_PLOT_LOG_LOSS | BP_PLOT_LINEAR_LOSS),
                     BP_ERR_ARG);
    assert_errmsg_contains("both");
    assert_int_equal(bp_plot_svg_flags(log, out, 8u), BP_ERR_ARG);
    assert_errmsg_contains("flags");
    unlink(out);
    unlink(log);
}

static void test_forced_log_scale_skips_nonpositive(void **state)
{
    (void)state;
    char text[1024], log[256], out[300];
    size_t n = (size_t)snprintf(text, sizeof text, "%s1,0.1,1,0.1,0.5,,0,\n2,0.1,1,0.1,0.2,,0.1,\n"
                                "3,0.1,1,0.1,0.1,,0.05,\n", OLD_HEADER);
    write_temp_file(log, sizeof log, ".csv", text, n);
    snprintf(out, sizeof out, "%s.svg", log);
    assert_ok(bp_plot_svg(log, out)); /* a zero loss: never an automatic log axis */
    char *svg = slurp(out);
    assert_null(strstr(svg, "log scale"));
    free(svg);
    assert_ok(bp_plot_svg_flags(log, out, BP_PLOT_LOG_LOSS));
    svg = slurp(out);
    assert_non_null(strstr(svg, "loss (log scale)"));
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf"));
    free(svg);
    unlink(out);
    unlink(log);
}

static void test_new_columns(void **state)
{
    (void)state;
    char text[2048], log[256], out[300];
    size_t n = (size_t)snprintf(
        text, sizeof text,
        "epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,"
        "val_accuracy,test_loss,test_accuracy,train_rmse,val_rmse,test_rmse\n"
        "1,0.1,1,0.1,0.5,,0.6,,0.55,,1.0,1.1,1.05\n2,0.1,1,0.1,0.3,,0.4,,0.35,,0.77,0.89,0.84\n");
    write_temp_file(log, sizeof log, ".csv", text, n);
    snprintf(out, sizeof out, "%s.svg", log);
    assert_ok(bp_plot_svg(log, out));
    char *svg = slurp(out);
    assert_non_null(strstr(svg, "RMSE (regression)"));
    assert_non_null(strstr(svg, "RMSE: train 0.77, validation 0.89, test 0.84"));
    assert_non_null(strstr(svg, ">test</text>"));
    assert_null(strstr(svg, "no accuracy values"));
    free(svg);
    unlink(out);
    unlink(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_scale_flags),
        cmocka_unit_test(test_forced_log_scale_skips_nonpositive),
        cmocka_unit_test(test_new_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
