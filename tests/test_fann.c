/* FANN training-data files: read, write (atomic), round trip, bad files. */
#include <dirent.h>
#include <sys/stat.h>

#include "testutil.h"

#ifndef BP_SOURCE_DIR
#define BP_SOURCE_DIR "."
#endif

static char path_buf[256];

static void test_read_xor(void **state)
{
    (void)state;
    bp_dataset *ds;
    assert_ok(bp_dataset_read_fann(&ds, BP_SOURCE_DIR "/data/xor.data"));
    assert_int_equal(bp_dataset_rows(ds), 4);
    assert_int_equal(bp_dataset_inputs(ds), 2);
    assert_int_equal(bp_dataset_outputs(ds), 1);
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    for (int i = 0; i < 8; i++)
        assert_true(bp_dataset_x(ds)[i] == x[i]);
    for (int i = 0; i < 4; i++)
        assert_true(bp_dataset_y(ds)[i] == y[i]);
    bp_dataset_free(ds);

    /* Same as the CSV copy. */
    bp_dataset *csv;
    assert_ok(bp_dataset_read_csv(&csv, BP_SOURCE_DIR "/data/xor.csv", NULL));
    assert_memory_equal(bp_dataset_x(csv), x, sizeof x);
    assert_memory_equal(bp_dataset_y(csv), y, sizeof y);
    bp_dataset_free(csv);
}

static void test_free_layout(void **state)
{
    (void)state;
    /* Line breaks are not significant; CRLF, tabs and exponents are fine. */
    const char *text = "2 3 2\r\n  1.5\t-2e-3 +4\r\n0.25 -1\n\n 7 8\n9 10 11\n";
    write_temp_file(path_buf, sizeof path_buf, ".data", text, strlen(text));
    bp_dataset *ds;
    assert_ok(bp_dataset_read_fann(&ds, path_buf));
    unlink(path_buf);
    const float x[6] = {1.5f, -2e-3f, 4, 7, 8, 9}, y[4] = {0.25f, -1, 10, 11};
    for (int i = 0; i < 6; i++)
        assert_true(bp_dataset_x(ds)[i] == x[i]);
    for (int i = 0; i < 4; i++)
        assert_true(bp_dataset_y(ds)[i] == y[i]);
    bp_dataset_free(ds);
}

/* Counts entries of dir whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void test_round_trip_bits(void **state)
{
    (void)state;
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, 50, 3, 2));
    uint32_t s = 7;
    float *x = bp_dataset_x(ds), *y = bp_dataset_y(ds);
    for (int i = 0; i < 150; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * powf(10.0f, (float)(i % 11) - 5.0f);
    }
    x[0] = 1e-40f;    /* subnormal */
    x[1] = -3.4e38f;  /* near the largest float */
    x[2] = -0.0f;
    for (int i = 0; i < 100; i++)
        y[i] = (float)i / 3.0f;

    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/bp_test_fann_%ld", (long)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path_buf, sizeof path_buf, "%s/out.data", dir);
    /* An old file is replaced whole. */
    FILE *fp = fopen(path_buf, "w");
    assert_non_null(fp);
    fputs("old contents\n", fp);
    fclose(fp);
    assert_ok(bp_dataset_write_fann(ds, path_buf));
    assert_int_equal(count_prefixed(dir, "out.data."), 0); /* no temporary left behind */

    bp_dataset *back;
    assert_ok(bp_dataset_read_fann(&back, path_buf));
    assert_int_equal(bp_dataset_rows(back), 50);
    assert_int_equal(bp_dataset_inputs(back), 3);
    assert_int_equal(bp_dataset_outputs(back), 2);
    assert_memory_equal(bp_dataset_x(back), x, 150 * sizeof(float));
    assert_memory_equal(bp_dataset_y(back), y, 100 * sizeof(float));
    bp_dataset_free(back);

    /* Writing into a missing directory fails and leaves nothing. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing/out.data", dir);
    assert_int_equal(bp_dataset_write_fann(ds, bad), BP_ERR_IO);
    assert_errmsg_contains("missing/out.data");
    assert_int_equal(count_prefixed(dir, "out.data"), 1);
    assert_int_equal(bp_dataset_write_fann(NULL, path_buf), BP_ERR_ARG);

    unlink(path_buf);
    rmdir(dir);
    bp_dataset_free(ds);
}

typedef struct bad_case {
    const char *text;
    const char *fragment; /* after the file name */
} bad_case;

static const bad_case bad_cases[] = {
    {"", ": empty file: expected the header"},
    {"  \n\n", ": empty file"},
    {"4 2\n", ":1: the header ends early: expected the number of outputs"},
    {"4 x 1\n", ":1:3: expected the number of inputs (an integer from 1 to"},
    {"0 2 1\n", ":1:1: expected the number of rows (an integer from 1 to"},
    {"1.5 2 1\n", ":1:1: expected the number of rows"},
    {"2 2 1\n0 0\n0\n0 1\n", ":4: the file ends in row 2 of 2: expected output 1 of 1"},
    {"1 2 1\n0 zz\n1\n", ":2:3: expected a number (row 1, input 2 of 2), found \"zz\""},
    {"1 2 1\n0 1\nnan\n", ":3:1: expected a number (row 1, output 1 of 1), found \"nan\" (NaN is not allowed)"},
    {"1 2 1\n0 1e99\n1\n", ":2:3: expected a number (row 1, input 2 of 2), found \"1e99\" (infinite or outside"},
    {"1 2 1\n0 1,5\n1\n", ":2:3: expected a number (row 1, input 2 of 2), found \"1,5\""},
    {"1 2 1\n0 1\n1\n5\n", ":4:1: unexpected \"5\" after the 1 rows announced in line 1"},
    {"1000000 100 10\n1 2\n", ":1: the header announces 1000000 rows of 110 numbers, but the rest of the file"},
    {"4294967295 2147483647 1\n", ":1:12: expected the number of inputs"},
    {"99999999999 1000 1000\n", ":1: the header announces 99999999999 rows of 2000 numbers, more than the limit of 2^31"},
};

static void test_bad_files(void **state)
{
    (void)state;
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    for (size_t i = 0; i < n; i++) {
        write_temp_file(path_buf, sizeof path_buf, ".data", bad_cases[i].text,
                        strlen(bad_cases[i].text));
        bp_dataset *ds = (bp_dataset *)&ds;
        bp_status st = bp_dataset_read_fann(&ds, path_buf);
        unlink(path_buf);
        if (st != BP_ERR_PARSE)
            fail_msg("case %zu: status %s (%s)", i, bp_status_string(st), bp_errmsg());
        assert_null(ds);
        char expect[512];
        snprintf(expect, sizeof expect, "%s%s", path_buf, bad_cases[i].fragment);
        if (strncmp(bp_errmsg(), expect, strlen(expect)) != 0)
            fail_msg("case %zu: message \"%s\"\n  expected to start \"%s\"", i, bp_errmsg(),
                     expect);
    }
    bp_dataset *ds;
    assert_int_equal(bp_dataset_read_fann(&ds, "/nonexistent/x.data"), BP_ERR_IO);
    assert_errmsg_contains("/nonexistent/x.data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_xor),
        cmocka_unit_test(test_free_layout),
        cmocka_unit_test(test_round_trip_bits),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
