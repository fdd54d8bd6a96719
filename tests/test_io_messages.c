/* Messages of the CSV reader's option checks and the model writer's refusals,
 * pinned word for word: the functions that word them were split (issue 12)
 * and their messages must not change. */
#include "testutil.h"

#include "io/io_internal.h"

static char path_buf[256];

static void expect_csv_refusal(const bp_csv_options *o, const char *message)
{
    write_temp_file(path_buf, sizeof path_buf, ".csv", "a,b\n1,2\n", 8);
    bp_dataset *ds = (bp_dataset *)&ds; /* not NULL: a failed read must clear it */
    assert_int_equal(bp_dataset_read_csv(&ds, path_buf, o), BP_ERR_ARG);
    unlink(path_buf);
    assert_null(ds);
    assert_string_equal(bp_errmsg(), message);
}

static void test_csv_bad_delimiters(void **state)
{
    (void)state;
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.delimiter = '"';
    expect_csv_refusal(&o, "bp_dataset_read_csv: '\"' cannot be a delimiter");
    o.delimiter = '#';
    expect_csv_refusal(&o, "bp_dataset_read_csv: '#' cannot be a delimiter");
    o.delimiter = ' ';
    expect_csv_refusal(&o, "bp_dataset_read_csv: ' ' cannot be a delimiter");
    o.delimiter = '\n';
    expect_csv_refusal(&o, "bp_dataset_read_csv: '?' cannot be a delimiter");
    o.delimiter = '\r';
    expect_csv_refusal(&o, "bp_dataset_read_csv: '?' cannot be a delimiter");
}

static void test_csv_bad_options(void **state)
{
    (void)state;
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.header = 2;
    expect_csv_refusal(&o, "bp_dataset_read_csv: bad options (header 2, task -1, n_classes 0)");
    bp_csv_options_default(&o);
    o.task = -2;
    expect_csv_refusal(&o, "bp_dataset_read_csv: bad options (header -1, task -2, n_classes 0)");
    bp_csv_options_default(&o);
    o.n_classes = -1;
    expect_csv_refusal(&o, "bp_dataset_read_csv: bad options (header -1, task -1, n_classes -1)");
}

static void test_csv_null_arguments(void **state)
{
    (void)state;
    bp_dataset *ds = NULL;
    assert_int_equal(bp_dataset_read_csv(NULL, "x.csv", NULL), BP_ERR_ARG);
    assert_string_equal(bp_errmsg(), "bp_dataset_read_csv: out is NULL");
    assert_int_equal(bp_dataset_read_csv(&ds, NULL, NULL), BP_ERR_ARG);
    assert_string_equal(bp_errmsg(), "bp_dataset_read_csv: path is NULL");
}

/* A header too long for a message is listed up to a cut, ", ..." at the end. */
static void test_csv_header_list_cut(void **state)
{
    (void)state;
    char text[8192];
    size_t o = 0;
    for (int j = 0; j < 100; j++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%scolumn_%03d", j ? "," : "", j);
    o += (size_t)snprintf(text + o, sizeof text - o, "\n");
    for (int j = 0; j < 100; j++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s%d", j ? "," : "", j % 2);
    o += (size_t)snprintf(text + o, sizeof text - o, "\n");
    write_temp_file(path_buf, sizeof path_buf, ".csv", text, o);
    bp_csv_options opt;
    bp_csv_options_default(&opt);
    opt.target = "nope";
    bp_dataset *ds = NULL;
    assert_int_equal(bp_dataset_read_csv(&ds, path_buf, &opt), BP_ERR_ARG);
    unlink(path_buf);
    const char *m = bp_errmsg();
    assert_non_null(strstr(m, ": no column named \"nope\" for the target (the header has: "
                              "column_000, column_001, "));
    size_t n = strlen(m);
    assert_true(n > 12 && strcmp(m + n - 6, ", ...)") == 0);
    assert_null(strstr(m, "column_099"));
}

/* A label the model does not know: the message lists the model's classes,
 * unnamed ones by number. */
static void test_csv_unknown_class_lists_classes(void **state)
{
    (void)state;
    bp_net *net = NULL;
    const bp_layer_spec L = BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0);
    assert_ok(bp_net_create(&net, 2, 1, &L, BP_LOSS_XENT));
    write_temp_file(path_buf, sizeof path_buf, ".csv", "1,2,0\n3,4,7\n", 12);
    bp_dataset *ds = NULL;
    bp_status st = bp_dataset_read_csv_schema(&ds, path_buf, NULL, net);
    unlink(path_buf);
    assert_int_equal(st, BP_ERR_PARSE);
    assert_non_null(strstr(bp_errmsg(), ":2:3: class label \"7\" is not one the model was "
                                        "trained on (its classes: 0, 1, 2)"));
    bp_net_free(net);
}

static void test_save_refusals(void **state)
{
    (void)state;
    bp_net *net = NULL;
    const bp_layer_spec L = BP_LAYER(1, BP_ACT_SIGMOID, 1, 0);
    assert_ok(bp_net_create(&net, 2, 1, &L, BP_LOSS_MSE));
    assert_int_equal(bp_net_save(NULL, "x.bpm"), BP_ERR_ARG);
    assert_string_equal(bp_errmsg(), "bp_net_save: NULL argument");
    assert_int_equal(bp_net_save(net, NULL), BP_ERR_ARG);
    assert_string_equal(bp_errmsg(), "bp_net_save: NULL argument");
    assert_int_equal(bp_model_write("x.bpm", net, NULL, 3), BP_ERR_ARG);
    assert_string_equal(bp_errmsg(), "bp_model_write: trainer state is NULL but has a length");
    bp_net_params(net)[1] = NAN;
    assert_int_equal(bp_net_save(net, "/nonexistent/x.bpm"), BP_ERR_NUMERIC);
    assert_string_equal(bp_errmsg(), "/nonexistent/x.bpm: layer 1: weight of neuron 1 from "
                                     "input 2 is not finite (nan)");
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_bad_delimiters),
        cmocka_unit_test(test_csv_bad_options),
        cmocka_unit_test(test_csv_null_arguments),
        cmocka_unit_test(test_csv_header_list_cut),
        cmocka_unit_test(test_csv_unknown_class_lists_classes),
        cmocka_unit_test(test_save_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
