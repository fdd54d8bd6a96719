/* CSV reader: good files of every accepted shape, bad files with exact messages. */
#include <string.h>

#include "testutil.h"

#ifndef BP_SOURCE_DIR
#define BP_SOURCE_DIR "."
#endif

static char path_buf[256];

/* Reads `text` as a CSV file with the given options. */
static bp_status read_text(bp_dataset **ds, const char *text, const bp_csv_options *opts)
{
    write_temp_file(path_buf, sizeof path_buf, ".csv", text, strlen(text));
    bp_status st = bp_dataset_read_csv(ds, path_buf, opts);
    unlink(path_buf);
    return st;
}

static bp_dataset *read_ok(const char *text, const bp_csv_options *opts)
{
    bp_dataset *ds = NULL;
    assert_ok(read_text(&ds, text, opts));
    assert_non_null(ds);
    return ds;
}

static void assert_x(const bp_dataset *ds, const float *expect, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bp_dataset_x_const(ds)[i] != expect[i])
            fail_msg("x[%zu] = %g, expected %g", i, (double)bp_dataset_x_const(ds)[i],
                     (double)expect[i]);
}

static void test_header_string_labels(void **state)
{
    (void)state;
    bp_dataset *ds = read_ok("h,w,kind\n1.5,2,cat\n3,4e1,dog\n-5,6,cat\n7,8,emu\n", NULL);
    assert_int_equal(bp_dataset_rows(ds), 4);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_classes(ds), 3);
    assert_int_equal(bp_dataset_outputs(ds), 3);
    const float x[8] = {1.5f, 2, 3, 40, -5, 6, 7, 8};
    assert_x(ds, x, 8);
    assert_string_equal(bp_dataset_class_name(ds, 0), "cat");
    assert_string_equal(bp_dataset_class_name(ds, 1), "dog");
    assert_string_equal(bp_dataset_class_name(ds, 2), "emu");
    const int32_t *l = bp_dataset_labels(ds);
    assert_int_equal(l[0], 0);
    assert_int_equal(l[1], 1);
    assert_int_equal(l[2], 0);
    assert_int_equal(l[3], 2);
    assert_true(bp_dataset_y(ds)[3 * 3 + 2] == 1.0f && bp_dataset_y(ds)[3 * 3] == 0.0f);
    assert_string_equal(bp_dataset_input_name(ds, 0), "h");
    assert_string_equal(bp_dataset_input_name(ds, 1), "w");
    bp_dataset_free(ds);
}

static void test_no_header_regression(void **state)
{
    (void)state;
    bp_dataset *ds = read_ok("1,2,3\n4,5,6.25\n", NULL);
    assert_int_equal(bp_dataset_rows(ds), 2);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_outputs(ds), 1);
    assert_int_equal(bp_dataset_classes(ds), 0);
    assert_null(bp_dataset_input_name(ds, 0));
    const float x[4] = {1, 2, 4, 5};
    assert_x(ds, x, 4);
    assert_true(bp_dataset_y(ds)[0] == 3.0f && bp_dataset_y(ds)[1] == 6.25f);
    bp_dataset_free(ds);
}

static void test_quoted_fields(void **state)
{
    (void)state;
    bp_dataset *ds = read_ok("\"a\",\"b, c\",label\n"
                             "\"1\", 2 ,\"say \"\"hi\"\", ok\"\n"
                             "3,\"4\",plain\n"
                             "5,6,\"two\nlines\"\n",
                             NULL);
    assert_int_equal(bp_dataset_rows(ds), 3);
    assert_string_equal(bp_dataset_input_name(ds, 1), "b, c");
    /* Classes in sorted order: "plain" < "say …" < "two…". */
    assert_string_equal(bp_dataset_class_name(ds, 1), "say \"hi\", ok");
    assert_string_equal(bp_dataset_class_name(ds, 0), "plain");
    assert_string_equal(bp_dataset_class_name(ds, 2), "two\nlines");
    const float x[6] = {1, 2, 3, 4, 5, 6};
    assert_x(ds, x, 6);
    bp_dataset_free(ds);
}

static void test_crlf_bom_comments_blank(void **state)
{
    (void)state;
    bp_dataset *ds = read_ok("\xEF\xBB\xBF# a comment\r\n"
                             "\r\n"
                             "x1,x2,y\r\n"
                             "  # indented comment\r\n"
                             "0,1,1\r\n"
                             "\r\n"
                             "1,1,0\r\n"
                             "# trailing comment",
                             NULL);
    assert_int_equal(bp_dataset_rows(ds), 2);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_string_equal(bp_dataset_input_name(ds, 0), "x1"); /* BOM not part of the name */
    const float x[4] = {0, 1, 1, 1};
    assert_x(ds, x, 4);
    assert_true(bp_dataset_y(ds)[0] == 1.0f && bp_dataset_y(ds)[1] == 0.0f);
    bp_dataset_free(ds);
}

static void test_delimiters(void **state)
{
    (void)state;
    bp_dataset *ds = read_ok("a;b;c\n1;2;3\n4;5;6\n", NULL);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_true(bp_dataset_y(ds)[1] == 6.0f);
    bp_dataset_free(ds);
    ds = read_ok("a\tb\tc\td\n1\t2\t3\t4\n", NULL);
    assert_int_equal(bp_dataset_inputs(ds), 3);
    assert_true(bp_dataset_y(ds)[0] == 4.0f);
    bp_dataset_free(ds);
    /* Declared delimiter overrides detection. */
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.delimiter = '|';
    ds = read_ok("1|2|3,5\n", &o); /* fails unless '|' is used: "3,5" is then one field */
    bp_dataset_free(ds);
    ds = NULL;
    o.delimiter = ';';
    assert_int_equal(read_text(&ds, "1;2,5;3\n", &o), BP_ERR_PARSE);
    assert_errmsg_contains(":1:2: expected a number, found \"2,5\"");
}

static void test_numeric_labels(void **state)
{
    (void)state;
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.task = 1;
    /* Numeric labels are numbered in sorted order, never by position. */
    bp_dataset *ds = read_ok("0.5,2\n1.5,0\n2.5,1\n", &o);
    assert_int_equal(bp_dataset_classes(ds), 3);
    assert_int_equal(bp_dataset_outputs(ds), 3);
    assert_int_equal(bp_dataset_labels(ds)[0], 2);
    assert_string_equal(bp_dataset_class_name(ds, 0), "0");
    assert_true(bp_dataset_y(ds)[2] == 1.0f);
    bp_dataset_free(ds);
    ds = read_ok("0.5,30\n1.5,10\n2.5,20\n", &o);
    assert_int_equal(bp_dataset_classes(ds), 3); /* not 31 */
    assert_int_equal(bp_dataset_labels(ds)[0], 2);
    assert_string_equal(bp_dataset_class_name(ds, 1), "20");
    bp_dataset_free(ds);
    /* n_classes: labels 0 … n−1 are class numbers. */
    o.n_classes = 5;
    ds = read_ok("0.5,2\n1.5,0\n", &o);
    assert_int_equal(bp_dataset_classes(ds), 5);
    assert_int_equal(bp_dataset_outputs(ds), 5);
    bp_dataset_free(ds);
    /* Detected task: few whole numbers are classes, other numbers regression. */
    bp_csv_options_default(&o);
    ds = read_ok("0.5,2\n1.5,0\n", &o);
    assert_int_equal(bp_dataset_classes(ds), 0);
    assert_int_equal(bp_dataset_outputs(ds), 1);
    assert_null(bp_dataset_notes(ds));
    bp_dataset_free(ds);
    ds = read_ok("1,1\n2,2\n3,3\n4,1\n5,2\n6,3\n7,1\n8,2\n9,3\n10,1\n11,2\n12,3\n13,1\n14,2\n"
                 "15,3\n", &o);
    assert_int_equal(bp_dataset_classes(ds), 3); /* labels 1,2,3 → 3 outputs, not 4 */
    assert_int_equal(bp_dataset_outputs(ds), 3);
    assert_int_equal(bp_dataset_labels(ds)[0], 0);
    assert_string_equal(bp_dataset_class_name(ds, 2), "3");
    assert_non_null(strstr(bp_dataset_notes(ds), "--task regression"));
    bp_dataset_free(ds);
    o.task = 0;
    ds = read_ok("1,1\n2,2\n3,3\n4,1\n5,2\n6,3\n7,1\n8,2\n9,3\n10,1\n11,2\n12,3\n13,1\n14,2\n"
                 "15,3\n", &o);
    assert_int_equal(bp_dataset_classes(ds), 0);
    bp_dataset_free(ds);
    /* One-hot target columns are classes, named by their columns. */
    bp_csv_options_default(&o);
    o.target = "a,b,c";
    ds = read_ok("x,a,b,c\n1,0,1,0\n2,1,0,0\n3,0,0,1\n", &o);
    assert_int_equal(bp_dataset_classes(ds), 3);
    assert_int_equal(bp_dataset_labels(ds)[0], 1);
    assert_string_equal(bp_dataset_class_name(ds, 2), "c");
    bp_dataset_free(ds);
}

static void test_target_by_name_index_multi(void **state)
{
    (void)state;
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.target = "label";
    bp_dataset *ds = read_ok("label,a,b\nyes,1,2\nno,3,4\n", &o);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_classes(ds), 2);
    assert_string_equal(bp_dataset_input_name(ds, 0), "a");
    assert_string_equal(bp_dataset_class_name(ds, 0), "no"); /* sorted: no < yes */
    assert_string_equal(bp_dataset_class_name(ds, 1), "yes");
    const float x[4] = {1, 2, 3, 4};
    assert_x(ds, x, 4);
    bp_dataset_free(ds);

    o.target = "2";
    ds = read_ok("1,10,2\n3,30,4\n", &o);
    const float x2[4] = {1, 2, 3, 4};
    assert_x(ds, x2, 4);
    assert_true(bp_dataset_y(ds)[0] == 10.0f && bp_dataset_y(ds)[1] == 30.0f);
    bp_dataset_free(ds);

    o.target = "u, 1";
    ds = read_ok("v,w,u\n1,2,3\n4,5,6\n", &o);
    assert_int_equal(bp_dataset_inputs(ds), 1);
    assert_int_equal(bp_dataset_outputs(ds), 2);
    assert_int_equal(bp_dataset_classes(ds), 0);
    assert_string_equal(bp_dataset_input_name(ds, 0), "w");
    /* Y columns in the order they were named: u then v. */
    const float y[4] = {3, 1, 6, 4};
    for (int i = 0; i < 4; i++)
        assert_true(bp_dataset_y(ds)[i] == y[i]);
    bp_dataset_free(ds);

    o.target = "last";
    ds = read_ok("1,2,3\n", &o);
    assert_int_equal(bp_dataset_rows(ds), 1);
    assert_true(bp_dataset_y(ds)[0] == 3.0f);
    bp_dataset_free(ds);
}

static void test_declared_header(void **state)
{
    (void)state;
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.header = 1;
    bp_dataset *ds = read_ok("1,2,3\n4,5,6\n", &o); /* numeric header names */
    assert_int_equal(bp_dataset_rows(ds), 1);
    assert_string_equal(bp_dataset_input_name(ds, 1), "2");
    bp_dataset_free(ds);
    o.header = 0;
    ds = NULL;
    assert_int_equal(read_text(&ds, "a,b,c\n4,5,6\n", &o), BP_ERR_PARSE);
    assert_errmsg_contains(":1:1: expected a number, found \"a\"");
}

static void test_shipped_data(void **state)
{
    (void)state;
    bp_dataset *ds;
    assert_ok(bp_dataset_read_csv(&ds, BP_SOURCE_DIR "/data/iris.csv", NULL));
    assert_int_equal(bp_dataset_rows(ds), 150);
    assert_int_equal(bp_dataset_inputs(ds), 4);
    assert_int_equal(bp_dataset_classes(ds), 3);
    assert_string_equal(bp_dataset_class_name(ds, 0), "setosa");
    assert_string_equal(bp_dataset_class_name(ds, 2), "virginica");
    assert_string_equal(bp_dataset_input_name(ds, 0), "sepal_length");
    int count[3] = {0, 0, 0};
    for (size_t r = 0; r < 150; r++)
        count[bp_dataset_labels(ds)[r]]++;
    assert_int_equal(count[0], 50);
    assert_int_equal(count[1], 50);
    assert_int_equal(count[2], 50);
    assert_close(bp_dataset_x(ds)[0], 5.1, 1e-6);
    bp_dataset_free(ds);

    bp_csv_options o;
    bp_csv_options_default(&o);
    o.task = 1;
    assert_ok(bp_dataset_read_csv(&ds, BP_SOURCE_DIR "/data/digits.csv", &o));
    assert_int_equal(bp_dataset_rows(ds), 1797);
    assert_int_equal(bp_dataset_inputs(ds), 64);
    assert_int_equal(bp_dataset_classes(ds), 10);
    int digits[10] = {0};
    for (size_t r = 0; r < 1797; r++)
        digits[bp_dataset_labels(ds)[r]]++;
    for (int k = 0; k < 10; k++)
        assert_in_range(digits[k], 170, 190);
    float mx = 0;
    for (size_t i = 0; i < 1797 * 64; i++)
        mx = bp_dataset_x(ds)[i] > mx ? bp_dataset_x(ds)[i] : mx;
    assert_true(mx == 16.0f);
    bp_dataset_free(ds);

    assert_ok(bp_dataset_read_csv(&ds, BP_SOURCE_DIR "/data/xor.csv", NULL));
    assert_int_equal(bp_dataset_rows(ds), 4);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_outputs(ds), 1);
    bp_dataset_free(ds);
}

/* ---- bad files ------------------------------------------------------------ */

typedef struct bad_case {
    const char *text;
    const char *target; /* NULL: last */
    int task;           /* -1, 0, 1 */
    int n_classes;
    bp_status status;
    const char *fragment; /* after the file name */
} bad_case;

static const bad_case bad_cases[] = {
    {"a,b,c\n1,2,3\n1,abc,3\n", NULL, -1, 0, BP_ERR_PARSE, ":3:2: expected a number, found \"abc\""},
    {"1,2,3\n4,5\n", NULL, -1, 0, BP_ERR_PARSE, ":2: row has 2 fields, expected 3 (as in line 1)"},
    {"# c\n1,2,3\n\n4,5,6,7\n", NULL, -1, 0, BP_ERR_PARSE, ":4: row has 4 fields, expected 3 (as in line 2)"},
    {"1,,3\n", NULL, -1, 0, BP_ERR_PARSE, ":1:2: expected a number, found an empty field"},
    {"1,2,3\n4,5,\n", NULL, -1, 0, BP_ERR_PARSE, ":2:3: expected a number, found an empty field"},
    {"1,nan,3\n", NULL, -1, 0, BP_ERR_PARSE, ":1:2: expected a number, found NaN \"nan\""},
    {"1,2,3\n-inf,2,3\n", NULL, -1, 0, BP_ERR_PARSE, ":2:1: expected a number, found an infinite value \"-inf\""},
    {"1e999,2,3\n", NULL, -1, 0, BP_ERR_PARSE, ":1:1: expected a number, found \"1e999\", outside the float32 range"},
    {"1,2,1e39\n", NULL, -1, 0, BP_ERR_PARSE, ":1:3: expected a number, found \"1e39\", outside the float32 range"},
    {"", NULL, -1, 0, BP_ERR_PARSE, ": no data: the file is empty"},
    {"# only\n\n  \n# comments\n", NULL, -1, 0, BP_ERR_PARSE, ": no data: the file is empty or holds only comments"},
    {"\n# x\na,b,c\n", NULL, -1, 0, BP_ERR_PARSE, ":3: has a header line but no data rows"},
    {"1,2,3\n4,\"5,6\n", NULL, -1, 0, BP_ERR_PARSE, ":2:2: quoted field is not closed"},
    {"\"1\"x,2,3\n", NULL, -1, 0, BP_ERR_PARSE, ":1:1: expected a delimiter or the end of the line after a closing quote, found 'x'"},
    {"a,b,c\n1,2,3\n", "zz", -1, 0, BP_ERR_ARG, ": no column named \"zz\" for the target (the header has: a, b, c)"},
    {"1,2,3\n", "9", -1, 0, BP_ERR_ARG, ": target column 9 is out of range: the file has 3 columns"},
    {"1,2,3\n", "y", -1, 0, BP_ERR_ARG, ": target \"y\" is not a column number"},
    {"1,2,3\n", "1,1", -1, 0, BP_ERR_ARG, ": target column 1 is named twice"},
    {"1,2,3\n", "1,2,3", -1, 0, BP_ERR_ARG, ": every one of the 3 columns is a target"},
    {"1\n2\n", NULL, -1, 0, BP_ERR_PARSE, ":1: found 1 column"},
    {"1,2,3\n4,x,6\n", "2,3", -1, 0, BP_ERR_PARSE, ":2:2: expected a number (several target columns are numbers: one-hot classes or a multi-output regression), found \"x\""},
    {"1,2\n3,-1\n", NULL, 1, 3, BP_ERR_PARSE, ":2:2: class label \"-1\" is not a class number from 0 to 2"},
    {"1,1\n3,0.5\n", NULL, 1, 2, BP_ERR_PARSE, ":2:2: class label \"0.5\" is not a class number from 0 to 1"},
    {"1,2\n3,5\n", NULL, 1, 3, BP_ERR_PARSE, ":2:2: class label \"5\" is not a class number from 0 to 2"},
    {"1,cat\n", NULL, 0, 0, BP_ERR_PARSE, ":1:2: expected a number, found \"cat\""},
    {"1,cat\n2,\n", NULL, -1, 0, BP_ERR_PARSE, ":2:2: expected a class label, found an empty field"},
    {"1,2,cat\n1,2,\"x\ny\"\n1,q,dog\n", NULL, -1, 0, BP_ERR_PARSE, ":4:2: expected a number, found \"q\""},
    {"1,2,3\n1,2,3\0\n", NULL, -1, 0, BP_ERR_PARSE, ":2: contains a NUL byte"},
    {"1,2\n3,cat\n4,NaN\n", NULL, 1, 0, BP_ERR_PARSE, ":3:2: expected a class label, found NaN \"NaN\""},
};

static void test_bad_files(void **state)
{
    (void)state;
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    for (size_t i = 0; i < n; i++) {
        const bad_case *c = &bad_cases[i];
        bp_csv_options o;
        bp_csv_options_default(&o);
        o.target = c->target;
        o.task = c->task;
        o.n_classes = c->n_classes;
        /* The NUL case needs its true length. */
        size_t len = strlen(c->text);
        if (strstr(c->fragment, "NUL"))
            len = 12;
        write_temp_file(path_buf, sizeof path_buf, ".csv", c->text, len);
        bp_dataset *ds = (bp_dataset *)&ds;
        bp_status st = bp_dataset_read_csv(&ds, path_buf, &o);
        unlink(path_buf);
        if (st != c->status)
            fail_msg("case %zu: status %s (%s), expected %s", i, bp_status_string(st),
                     bp_errmsg(), bp_status_string(c->status));
        assert_null(ds);
        char expect[512];
        snprintf(expect, sizeof expect, "%s%s", path_buf, c->fragment);
        if (strncmp(bp_errmsg(), expect, strlen(expect)) != 0)
            fail_msg("case %zu: message \"%s\"\n  expected to start \"%s\"", i, bp_errmsg(),
                     expect);
    }
    assert_true(n >= 15);
}

static void test_missing_file_and_args(void **state)
{
    (void)state;
    bp_dataset *ds;
    assert_int_equal(bp_dataset_read_csv(&ds, "/nonexistent/dir/x.csv", NULL), BP_ERR_IO);
    assert_errmsg_contains("/nonexistent/dir/x.csv: cannot open");
    assert_int_equal(bp_dataset_read_csv(NULL, "x.csv", NULL), BP_ERR_ARG);
    bp_csv_options o;
    bp_csv_options_default(&o);
    assert_int_equal(o.header, -1);
    assert_int_equal(o.task, -1);
    assert_int_equal(o.delimiter, 0);
    assert_null(o.target);
    o.task = 7;
    assert_int_equal(bp_dataset_read_csv(&ds, "x.csv", &o), BP_ERR_ARG);
    bp_csv_options_default(&o);
    o.delimiter = '"';
    assert_int_equal(bp_dataset_read_csv(&ds, "x.csv", &o), BP_ERR_ARG);
}

/* A long line (one row, many columns) and many rows: no fixed-size buffers. */
static void test_long_lines(void **state)
{
    (void)state;
    size_t cols = 20000, cap = cols * 8 + 64;
    char *text = malloc(cap * 3);
    assert_non_null(text);
    size_t o = 0;
    for (int r = 0; r < 3; r++)
        for (size_t j = 0; j < cols; j++)
            o += (size_t)snprintf(text + o, cap * 3 - o, "%zu%c", (j + (size_t)r) % 97,
                                  j + 1 == cols ? '\n' : ',');
    bp_dataset *ds = read_ok(text, NULL);
    free(text);
    assert_int_equal(bp_dataset_rows(ds), 3);
    assert_int_equal(bp_dataset_inputs(ds), (int)cols - 1);
    assert_true(bp_dataset_x(ds)[cols - 1 + 5] == (float)((5 + 1) % 97));
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_string_labels),
        cmocka_unit_test(test_no_header_regression),
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_crlf_bom_comments_blank),
        cmocka_unit_test(test_delimiters),
        cmocka_unit_test(test_numeric_labels),
        cmocka_unit_test(test_target_by_name_index_multi),
        cmocka_unit_test(test_declared_header),
        cmocka_unit_test(test_shipped_data),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_missing_file_and_args),
        cmocka_unit_test(test_long_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
