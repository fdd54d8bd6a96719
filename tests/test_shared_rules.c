/* The rules that used to live in several drifted copies and now live in one
 * place each: the little-endian codecs (nn/le.h), bp_error_prefix, the XML
 * escaper and its flags, the predicted class, the default learning rates and
 * the architecture comparison. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "explain/explain.h"
#include "nn/error.h"
#include "nn/le.h"
#include "nn/nn_internal.h"

static void test_le_codecs(void **state)
{
    (void)state;
    unsigned char b[8];
    bp_le_put_u32(b, 0x04030201u);
    assert_memory_equal(b, "\x01\x02\x03\x04", 4);
    assert_int_equal(bp_le_get_u32(b), 0x04030201u);
    bp_le_put_u64(b, 0x0807060504030201ull);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(bp_le_get_u64(b) == 0x0807060504030201ull);
    assert_int_equal(bp_f32_bits(1.0f), 0x3f800000u);
    assert_true(bp_f32_from_bits(0xc0000000u) == -2.0f);
    assert_true(bp_f64_from_bits(bp_f64_bits(0.1)) == 0.1);
}

static void test_error_prefix(void **state)
{
    (void)state;
    bp_error(BP_ERR_PARSE, "bad magic");
    assert_int_equal(bp_error_prefix(BP_ERR_FORMAT, "%s: section %s: ", "m.bpm", "ARCH"),
                     BP_ERR_FORMAT);
    assert_string_equal(bp_errmsg(), "m.bpm: section ARCH: bad magic");
    /* A long message is cut at the buffer, never overrun. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    bp_error(BP_ERR_IO, "%s", big);
    bp_error_prefix(BP_ERR_IO, "p: ");
    assert_int_equal(strncmp(bp_errmsg(), "p: xxx", 6), 0);
    assert_true(strlen(bp_errmsg()) < 1024);
}

static void escaped(const char *s, unsigned flags, const char *want)
{
    char buf[256] = {0};
    FILE *fp = fmemopen(buf, sizeof buf - 1, "w");
    assert_non_null(fp);
    bp_xml_escape(fp, s, flags);
    fclose(fp);
    assert_string_equal(buf, want);
}

static void test_xml_escape_flags(void **state)
{
    (void)state;
    escaped("a<b>&\"c'", 0, "a&lt;b&gt;&amp;&quot;c'");
    escaped("a<b>&\"c'", BP_XML_APOS, "a&lt;b&gt;&amp;&quot;c&apos;");
    escaped("t\x01\xff\xc3\xa9\tx'", BP_XML_CLEAN, "t??\xc3\xa9\tx'");
    escaped("\x01", 0, "\x01");
}

static void test_predicted_class(void **state)
{
    (void)state;
    float one[1] = {0.5f}, three[3] = {0.1f, 0.7f, 0.7f};
    assert_int_equal(bp_predicted_class(one, 1), 0);
    one[0] = 0.51f;
    assert_int_equal(bp_predicted_class(one, 1), 1);
    assert_int_equal(bp_predicted_class(three, 3), 1); /* the first of equal maxima */
    assert_int_equal(bp_predicted_class(NULL, 3), -1);
    assert_int_equal(bp_predicted_class(three, 0), -1);
}

static void test_learning_rate_defaults(void **state)
{
    (void)state;
    assert_true(bp_learning_rate_default(BP_OPT_ADAM) == 0.001f);
    assert_true(bp_learning_rate_default(BP_OPT_ADAMW) == 0.001f);
    assert_true(bp_learning_rate_default(BP_OPT_RMSPROP) == 0.001f);
    assert_true(bp_learning_rate_default(BP_OPT_SGD) == 0.01f);
    assert_true(bp_learning_rate_default(BP_OPT_MOMENTUM) == 0.01f);
    bp_train_options o;
    bp_train_options_default(&o);
    assert_true(o.learning_rate == 0.01f); /* the struct's default, as before */
}

static void test_same_architecture(void **state)
{
    (void)state;
    bp_layer_spec a[2] = {BP_LAYER(3, BP_ACT_SIGMOID, 1, 0), BP_LAYER(1, BP_ACT_SIGMOID, 1, 0)};
    bp_layer_spec b[2] = {BP_LAYER(3, BP_ACT_TANH, 1, 0), BP_LAYER(1, BP_ACT_SIGMOID, 1, 0)};
    bp_layer_spec c[2] = {BP_LAYER(4, BP_ACT_SIGMOID, 1, 0), BP_LAYER(1, BP_ACT_SIGMOID, 1, 0)};
    bp_net *na, *nb, *nc;
    assert_ok(bp_net_create(&na, 2, 2, a, BP_LOSS_MSE));
    assert_ok(bp_net_create(&nb, 2, 2, b, BP_LOSS_MSE));
    assert_ok(bp_net_create(&nc, 2, 2, c, BP_LOSS_MSE));
    assert_true(bp_net_same_architecture(na, nb, 0));
    assert_false(bp_net_same_architecture(na, nb, 1));
    assert_true(bp_net_same_architecture(na, na, 1));
    assert_false(bp_net_same_architecture(na, nc, 0));
    assert_int_equal(bp_net_copy_params(na, nb), BP_ERR_SHAPE);
    bp_net_free(na);
    bp_net_free(nb);
    bp_net_free(nc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_le_codecs),
        cmocka_unit_test(test_error_prefix),
        cmocka_unit_test(test_xml_escape_flags),
        cmocka_unit_test(test_predicted_class),
        cmocka_unit_test(test_learning_rate_defaults),
        cmocka_unit_test(test_same_architecture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
