/* IDX reader (plain and gzip) and the named data sets. */
#include <sys/stat.h>
#include <zlib.h>

#include "testutil.h"

/* An IDX file in memory: header for `type` and dims, then `data` (already big-endian). */
static size_t make_idx(unsigned char *out, int type, int ndims, const uint32_t *dims,
                       const void *data, size_t data_bytes)
{
    size_t o = 0;
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = (unsigned char)type;
    out[o++] = (unsigned char)ndims;
    for (int d = 0; d < ndims; d++) {
        out[o++] = (unsigned char)(dims[d] >> 24);
        out[o++] = (unsigned char)(dims[d] >> 16);
        out[o++] = (unsigned char)(dims[d] >> 8);
        out[o++] = (unsigned char)dims[d];
    }
    if (data_bytes)
        memcpy(out + o, data, data_bytes);
    return o + data_bytes;
}

static const char *write_gz(char *path, size_t cap, const void *bytes, size_t n)
{
    static unsigned counter;
    snprintf(path, cap, "/tmp/bp_test_idx_%ld_%u.gz", (long)getpid(), counter++);
    gzFile gz = gzopen(path, "wb");
    if (!gz)
        fail_msg("cannot create %s", path);
    if (n && gzwrite(gz, bytes, (unsigned)n) != (int)n)
        fail_msg("cannot write %s", path);
    gzclose(gz);
    return path;
}

static const char *write_plain(char *path, size_t cap, const void *bytes, size_t n)
{
    return write_temp_file(path, cap, ".idx", bytes, n);
}

/* 3 images of 2×2 u8 and their labels. */
static const unsigned char pixels[12] = {0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0};
static const unsigned char label_bytes[3] = {2, 0, 4};

static void check_small_set(const bp_dataset *ds)
{
    assert_int_equal(bp_dataset_rows(ds), 3);
    assert_int_equal(bp_dataset_inputs(ds), 4);
    assert_int_equal(bp_dataset_classes(ds), 5);
    assert_int_equal(bp_dataset_outputs(ds), 5);
    for (int i = 0; i < 12; i++)
        assert_close(bp_dataset_x_const(ds)[i], pixels[i] / 255.0, 1e-7);
    assert_true(bp_dataset_x_const(ds)[1] == 1.0f);
    assert_true(bp_dataset_x_const(ds)[2] == 0.2f);
    assert_int_equal(bp_dataset_labels(ds)[0], 2);
    assert_int_equal(bp_dataset_labels(ds)[2], 4);
    assert_true(bp_dataset_y_const(ds)[2] == 1.0f);
    assert_true(bp_dataset_y_const(ds)[5 + 0] == 1.0f);
    assert_true(bp_dataset_y_const(ds)[10 + 4] == 1.0f);
}

static void test_u8_plain_and_gzip(void **state)
{
    (void)state;
    unsigned char img[64], lab[64];
    const uint32_t idims[3] = {3, 2, 2}, ldims[1] = {3};
    size_t ni = make_idx(img, 0x08, 3, idims, pixels, 12);
    size_t nl = make_idx(lab, 0x08, 1, ldims, label_bytes, 3);
    char ip[256], lp[256];
    bp_dataset *ds;

    write_plain(ip, sizeof ip, img, ni);
    write_plain(lp, sizeof lp, lab, nl);
    assert_ok(bp_dataset_read_idx(&ds, ip, lp));
    check_small_set(ds);
    bp_dataset_free(ds);
    unlink(ip);
    unlink(lp);

    write_gz(ip, sizeof ip, img, ni);
    write_gz(lp, sizeof lp, lab, nl);
    assert_ok(bp_dataset_read_idx(&ds, ip, lp));
    check_small_set(ds);
    bp_dataset_free(ds);

    /* Without labels: no outputs. */
    assert_ok(bp_dataset_read_idx(&ds, ip, NULL));
    assert_int_equal(bp_dataset_rows(ds), 3);
    assert_int_equal(bp_dataset_outputs(ds), 0);
    assert_int_equal(bp_dataset_classes(ds), 0);
    bp_dataset_free(ds);
    unlink(ip);
    unlink(lp);
}

static void test_other_types(void **state)
{
    (void)state;
    unsigned char buf[128];
    char p[256];
    bp_dataset *ds;
    const uint32_t dims[2] = {2, 2};

    const unsigned char i8[4] = {0x80, 0x7f, 0xff, 0x01}; /* -128 127 -1 1 */
    write_plain(p, sizeof p, buf, make_idx(buf, 0x09, 2, dims, i8, 4));
    assert_ok(bp_dataset_read_idx(&ds, p, NULL));
    const float e8[4] = {-128, 127, -1, 1};
    for (int i = 0; i < 4; i++)
        assert_true(bp_dataset_x(ds)[i] == e8[i]);
    bp_dataset_free(ds);
    unlink(p);

    const unsigned char i16[8] = {0x80, 0x00, 0x01, 0x02, 0xff, 0xfe, 0x00, 0x07};
    write_plain(p, sizeof p, buf, make_idx(buf, 0x0B, 2, dims, i16, 8));
    assert_ok(bp_dataset_read_idx(&ds, p, NULL));
    const float e16[4] = {-32768, 258, -2, 7};
    for (int i = 0; i < 4; i++)
        assert_true(bp_dataset_x(ds)[i] == e16[i]);
    bp_dataset_free(ds);
    unlink(p);

    const unsigned char i32[16] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff};
    write_plain(p, sizeof p, buf, make_idx(buf, 0x0C, 2, dims, i32, 16));
    assert_ok(bp_dataset_read_idx(&ds, p, NULL));
    const float e32[4] = {-1, 65536, 0, 2147483647.0f};
    for (int i = 0; i < 4; i++)
        assert_true(bp_dataset_x(ds)[i] == e32[i]);
    bp_dataset_free(ds);
    unlink(p);

    /* f32: 1.5 = 3fc00000, -2 = c0000000, 0.1f = 3dcccccd, 0 */
    const unsigned char f32[16] = {0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0, 0x3d, 0xcc, 0xcc, 0xcd, 0, 0, 0, 0};
    write_plain(p, sizeof p, buf, make_idx(buf, 0x0D, 2, dims, f32, 16));
    assert_ok(bp_dataset_read_idx(&ds, p, NULL));
    const float ef[4] = {1.5f, -2.0f, 0.1f, 0.0f};
    for (int i = 0; i < 4; i++)
        assert_true(bp_dataset_x(ds)[i] == ef[i]);
    bp_dataset_free(ds);
    unlink(p);

    /* f64, 1-D: each row one value.  0.25 = 3fd0000000000000, -3 = c008000000000000 */
    const uint32_t d1[1] = {2};
    const unsigned char f64[16] = {0x3f, 0xd0, 0, 0, 0, 0, 0, 0, 0xc0, 0x08, 0, 0, 0, 0, 0, 0};
    write_gz(p, sizeof p, buf, make_idx(buf, 0x0E, 1, d1, f64, 16));
    assert_ok(bp_dataset_read_idx(&ds, p, NULL));
    assert_int_equal(bp_dataset_rows(ds), 2);
    assert_int_equal(bp_dataset_inputs(ds), 1);
    assert_true(bp_dataset_x(ds)[0] == 0.25f && bp_dataset_x(ds)[1] == -3.0f);
    bp_dataset_free(ds);
    unlink(p);
}

/* Expects reading images (and labels) to fail with status and message fragment. */
static void expect_fail(const char *images, const char *labels, bp_status status,
                        const char *fragment)
{
    bp_dataset *ds = (bp_dataset *)&ds;
    bp_status st = bp_dataset_read_idx(&ds, images, labels);
    if (st != status)
        fail_msg("status %s (%s), expected %s", bp_status_string(st), bp_errmsg(),
                 bp_status_string(status));
    assert_null(ds);
    assert_errmsg_contains(fragment);
}

static void test_bad_headers(void **state)
{
    (void)state;
    unsigned char buf[256];
    char p[256];
    const uint32_t dims[2] = {2, 2};
    const unsigned char data[4] = {1, 2, 3, 4};

    size_t n = make_idx(buf, 0x08, 2, dims, data, 4);
    buf[1] = 0x08;
    write_plain(p, sizeof p, buf, n);
    expect_fail(p, NULL, BP_ERR_FORMAT, "not an IDX file: bad magic 00 08 08 02");
    assert_errmsg_contains(p);
    unlink(p);

    n = make_idx(buf, 0x0A, 2, dims, data, 4);
    write_plain(p, sizeof p, buf, n);
    expect_fail(p, NULL, BP_ERR_FORMAT, "unknown IDX data type 0x0a");
    unlink(p);

    n = make_idx(buf, 0x08, 0, dims, NULL, 0);
    write_plain(p, sizeof p, buf, n);
    expect_fail(p, NULL, BP_ERR_FORMAT, "has 0 dimensions");
    unlink(p);

    write_plain(p, sizeof p, "\0\0", 2);
    expect_fail(p, NULL, BP_ERR_FORMAT, "too short to be an IDX file");
    unlink(p);

    n = make_idx(buf, 0x08, 2, dims, data, 4);
    write_plain(p, sizeof p, buf, 9); /* header cut inside the dimensions */
    expect_fail(p, NULL, BP_ERR_FORMAT, "truncated IDX header");
    unlink(p);

    const uint32_t zero[2] = {2, 0};
    n = make_idx(buf, 0x08, 2, zero, NULL, 0);
    write_plain(p, sizeof p, buf, n);
    expect_fail(p, NULL, BP_ERR_FORMAT, "dimension 2 is 0");
    unlink(p);

    expect_fail("/nonexistent/x.idx", NULL, BP_ERR_IO, "cannot open /nonexistent/x.idx");
}

static void test_sizes_checked_before_allocation(void **state)
{
    (void)state;
    unsigned char buf[256];
    char p[256];
    const unsigned char data[4] = {1, 2, 3, 4};

    /* 4e9 × 4e9 elements: refused at once. */
    const uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    size_t n = make_idx(buf, 0x0E, 3, huge, data, 4);
    write_plain(p, sizeof p, buf, n);
    expect_fail(p, NULL, BP_ERR_FORMAT, "more than 2^31 elements");
    unlink(p);
    write_gz(p, sizeof p, buf, n);
    expect_fail(p, NULL, BP_ERR_FORMAT, "more than 2^31 elements");
    unlink(p);

    /* 2^30 f32 elements claimed (4 GiB) in a 20-byte file: the file length decides. */
    const uint32_t big[2] = {1u << 15, 1u << 15};
    n = make_idx(buf, 0x0D, 2, big, data, 4);
    write_plain(p, sizeof p, buf, n);
    expect_fail(p, NULL, BP_ERR_FORMAT, "truncated: the header claims 1073741824 elements");
    unlink(p);
    write_gz(p, sizeof p, buf, n);
    expect_fail(p, NULL, BP_ERR_FORMAT, "more than a");
    unlink(p);

    /* Plain file one byte short, and one byte long. */
    const uint32_t dims[2] = {2, 2};
    n = make_idx(buf, 0x08, 2, dims, data, 4);
    write_plain(p, sizeof p, buf, n - 1);
    expect_fail(p, NULL, BP_ERR_FORMAT, "but the file holds 3 bytes of data");
    unlink(p);
    buf[n] = 9;
    write_plain(p, sizeof p, buf, n + 1);
    expect_fail(p, NULL, BP_ERR_FORMAT, "1 bytes after the 4 elements");
    unlink(p);
    /* gzip whose content is short of the header's claim. */
    write_gz(p, sizeof p, buf, n - 2);
    expect_fail(p, NULL, BP_ERR_FORMAT, "gzip stream ends after 2 bytes");
    unlink(p);
}

static void test_truncated_gzip(void **state)
{
    (void)state;
    /* 200 images of 28×28 noise: compresses poorly, so a cut loses data. */
    size_t count = 200 * 784;
    unsigned char *buf = malloc(count + 64), *data = malloc(count);
    assert_non_null(buf);
    assert_non_null(data);
    uint32_t s = 12345;
    for (size_t i = 0; i < count; i++) {
        s = s * 1103515245u + 12345u;
        data[i] = (unsigned char)(s >> 16);
    }
    const uint32_t dims[3] = {200, 28, 28};
    size_t n = make_idx(buf, 0x08, 3, dims, data, count);
    char p[256];
    write_gz(p, sizeof p, buf, n);
    bp_dataset *ds;
    assert_ok(bp_dataset_read_idx(&ds, p, NULL));
    assert_int_equal(bp_dataset_rows(ds), 200);
    assert_int_equal(bp_dataset_inputs(ds), 784);
    bp_dataset_free(ds);

    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(truncate(p, sb.st_size / 2), 0);
    expect_fail(p, NULL, BP_ERR_FORMAT, "truncated");
    assert_errmsg_contains(p);
    /* Cut only the 8-byte trailer (CRC, length): the data is whole but unchecked. */
    write_gz(p, sizeof p, buf, n);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(truncate(p, sb.st_size - 4), 0);
    ds = (bp_dataset *)&ds;
    assert_int_not_equal(bp_dataset_read_idx(&ds, p, NULL), BP_OK);
    assert_null(ds);
    assert_errmsg_contains("gzip");
    unlink(p);
    free(buf);
    free(data);
}

static void test_label_errors(void **state)
{
    (void)state;
    unsigned char img[64], lab[64];
    const uint32_t idims[3] = {3, 2, 2};
    size_t ni = make_idx(img, 0x08, 3, idims, pixels, 12);
    char ip[256], lp[256];
    write_plain(ip, sizeof ip, img, ni);

    const uint32_t two[1] = {2};
    write_plain(lp, sizeof lp, lab, make_idx(lab, 0x08, 1, two, label_bytes, 2));
    expect_fail(ip, lp, BP_ERR_SHAPE, "has 2 labels but");
    assert_errmsg_contains("has 3 images");
    unlink(lp);

    const uint32_t three[1] = {3};
    const unsigned char l16[6] = {0, 1, 0, 2, 0, 0};
    write_plain(lp, sizeof lp, lab, make_idx(lab, 0x0B, 1, three, l16, 6));
    expect_fail(ip, lp, BP_ERR_FORMAT, "a labels file must be 1-D unsigned bytes");
    unlink(lp);

    const uint32_t l2d[2] = {3, 1};
    write_plain(lp, sizeof lp, lab, make_idx(lab, 0x08, 2, l2d, label_bytes, 3));
    expect_fail(ip, lp, BP_ERR_FORMAT, "with 2 dimensions");
    unlink(lp);
    unlink(ip);

    /* NaN in f32 images. */
    unsigned char buf[64];
    const uint32_t d[2] = {1, 2};
    const unsigned char nan32[8] = {0, 0, 0, 0, 0x7f, 0xc0, 0, 0};
    write_plain(ip, sizeof ip, buf, make_idx(buf, 0x0D, 2, d, nan32, 8));
    expect_fail(ip, NULL, BP_ERR_FORMAT, "element 2 (row 1, column 2) is NaN");
    unlink(ip);
}

/* ---- named data sets ------------------------------------------------------ */

static void write_named_dir(const char *dir, int gz, int skip)
{
    static const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    unsigned char buf[256];
    unsigned char px[20 * 4], lb[20];
    for (int i = 0; i < 80; i++)
        px[i] = (unsigned char)(i * 3);
    for (int i = 0; i < 20; i++)
        lb[i] = (unsigned char)(i % 10);
    for (int f = 0; f < 4; f++) {
        if (f == skip)
            continue;
        uint32_t rows = f < 2 ? 20 : 10;
        const uint32_t idims[3] = {rows, 2, 2}, ldims[1] = {rows};
        size_t n = f % 2 == 0 ? make_idx(buf, 0x08, 3, idims, px, rows * 4)
                              : make_idx(buf, 0x08, 1, ldims, lb, rows);
        char p[512];
        snprintf(p, sizeof p, "%s/%s%s", dir, names[f], gz ? ".gz" : "");
        if (gz) {
            gzFile g = gzopen(p, "wb");
            assert_non_null(g);
            gzwrite(g, buf, (unsigned)n);
            gzclose(g);
        } else {
            FILE *fp = fopen(p, "wb");
            assert_non_null(fp);
            fwrite(buf, 1, n, fp);
            fclose(fp);
        }
    }
}

static void remove_named_dir(const char *dir)
{
    static const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char p[512];
    for (int f = 0; f < 4; f++)
        for (int gz = 0; gz < 2; gz++) {
            snprintf(p, sizeof p, "%s/%s%s", dir, names[f], gz ? ".gz" : "");
            unlink(p);
        }
    rmdir(dir);
}

static void test_named(void **state)
{
    (void)state;
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/bp_test_named_%ld", (long)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    write_named_dir(dir, 1, -1);
    bp_dataset *train, *test;
    assert_ok(bp_dataset_load_named("mnist", dir, &train, &test));
    assert_int_equal(bp_dataset_rows(train), 20);
    assert_int_equal(bp_dataset_rows(test), 10);
    assert_int_equal(bp_dataset_inputs(test), 4);
    assert_int_equal(bp_dataset_classes(train), 10);
    assert_string_equal(bp_dataset_class_name(train, 7), "7");
    bp_dataset_free(train);
    bp_dataset_free(test);

    /* Plain files through $BACKPROP_DATA, with fashion-mnist's names. */
    remove_named_dir(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_named_dir(dir, 0, -1);
    setenv("BACKPROP_DATA", dir, 1);
    assert_ok(bp_dataset_load_named("fashion-mnist", "/nonexistent", &train, &test));
    assert_string_equal(bp_dataset_class_name(test, 0), "T-shirt/top");
    assert_string_equal(bp_dataset_class_name(test, 9), "Ankle boot");
    bp_dataset_free(train);
    bp_dataset_free(test);

    /* Three of four files: not used; the message says where it looked and how to get them. */
    remove_named_dir(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_named_dir(dir, 1, 3);
    train = test = (bp_dataset *)&train;
    assert_int_equal(bp_dataset_load_named("mnist", "/nonexistent/d", &train, &test), BP_ERR_IO);
    assert_null(train);
    assert_null(test);
    assert_errmsg_contains("looked in: /nonexistent/d, ");
    assert_errmsg_contains(" (3 of 4, no t10k-labels-idx1-ubyte)");
    assert_errmsg_contains("/usr/share/datasets/mnist");
    assert_errmsg_contains("--data-dir");
    unsetenv("BACKPROP_DATA");
    remove_named_dir(dir);

    assert_int_equal(bp_dataset_load_named("cifar", NULL, &train, &test), BP_ERR_ARG);
    assert_errmsg_contains("unknown data set \"cifar\"");
}

/* The real Fashion-MNIST, where Debian's dataset-fashion-mnist installed it. */
static void test_fashion_mnist_installed(void **state)
{
    (void)state;
    if (access("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", R_OK) != 0)
        skip();
    unsetenv("BACKPROP_DATA");
    bp_dataset *train, *test;
    assert_ok(bp_dataset_load_named("fashion-mnist", NULL, &train, &test));
    assert_int_equal(bp_dataset_rows(train), 60000);
    assert_int_equal(bp_dataset_rows(test), 10000);
    assert_int_equal(bp_dataset_inputs(train), 784);
    assert_int_equal(bp_dataset_classes(test), 10);
    int count[10] = {0};
    for (size_t r = 0; r < 10000; r++)
        count[bp_dataset_labels(test)[r]]++;
    for (int k = 0; k < 10; k++)
        assert_int_equal(count[k], 1000);
    assert_string_equal(bp_dataset_class_name(train, 8), "Bag");
    bp_dataset_free(train);
    bp_dataset_free(test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u8_plain_and_gzip),
        cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_sizes_checked_before_allocation),
        cmocka_unit_test(test_truncated_gzip),
        cmocka_unit_test(test_label_errors),
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_fashion_mnist_installed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
