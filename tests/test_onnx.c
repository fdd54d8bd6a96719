/* ONNX export and import (io/onnx.c) and the standalone C export
 * (io/cexport.c): round trips, hand-made graphs as other exporters write
 * them, refusals naming the node, hostile bytes. */
#include "testutil.h"

#include "io/protobuf.h"

static char tmp_a[256], tmp_b[256];

static int teardown_tmp(void **state)
{
    (void)state;
    unlink(tmp_a);
    unlink(tmp_b);
    return 0;
}

static void tmp_names(void)
{
    snprintf(tmp_a, sizeof tmp_a, "/tmp/bp_test_onnx_%ld_a.onnx", (long)getpid());
    snprintf(tmp_b, sizeof tmp_b, "/tmp/bp_test_onnx_%ld_b.onnx", (long)getpid());
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char *buf = malloc(1 << 22);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 22, fp);
    fclose(fp);
    return buf;
}

/* A 3-5-4-2 net with every activation and bias setting, scaling and metadata. */
static bp_net *sample_net(bp_activation h1, bp_activation h2, bp_activation out, int bias2)
{
    bp_layer_spec L[3] = {BP_LAYER(5, h1, 1, 0.25f), BP_LAYER(4, h2, bias2, BP_SLOPE_DEFAULT),
                          BP_LAYER(2, out, 1, BP_SLOPE_DEFAULT)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 3, 3, L, out == BP_ACT_SOFTMAX ? BP_LOSS_XENT : BP_LOSS_MSE));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 7));
    float *p = bp_net_params(net);
    for (size_t i = 0; i < bp_net_param_count(net); i++)
        p[i] += 0.01f * (float)i;
    float shift[3] = {1.5f, -2.0f, 0.1f}, scale[3] = {0.5f, 3.0f, 1.0f / 3.0f};
    assert_ok(bp_net_set_scaling(net, shift, scale));
    assert_ok(bp_net_set_meta(net, "note", "cat,dog"));
    /* Names that need escaping in the JSON lists of metadata_props. */
    const char *inputs[3] = {"x \"one\", quoted", "back\\slash", "new\nline \xc3\xa9"};
    assert_ok(bp_net_set_input_names(net, inputs));
    if (out == BP_ACT_SOFTMAX || out == BP_ACT_SIGMOID) {
        const char *classes[2] = {"cat", "dog, big"};
        assert_ok(bp_net_set_classes(net, 2, classes));
        const char *target[1] = {"animal"};
        assert_ok(bp_net_set_target_names(net, 1, target));
    } else {
        const char *targets[2] = {"y,1", "y2"};
        assert_ok(bp_net_set_target_names(net, 2, targets));
        assert_ok(bp_net_set_task(net, BP_TASK_REGRESSION));
    }
    return net;
}

static void assert_same_net(const bp_net *a, const bp_net *b)
{
    assert_int_equal(bp_net_inputs(a), bp_net_inputs(b));
    assert_int_equal(bp_net_layers(a), bp_net_layers(b));
    for (int l = 0; l < bp_net_layers(a); l++) {
        bp_layer_spec x = bp_net_layer(a, l), y = bp_net_layer(b, l);
        assert_int_equal(x.units, y.units);
        assert_int_equal(x.act, y.act);
        assert_int_equal(x.bias, y.bias);
        if (x.act == BP_ACT_LEAKY_RELU)
            assert_true(x.slope == y.slope);
    }
    assert_int_equal(bp_net_loss(a), bp_net_loss(b));
    assert_int_equal(bp_net_param_count(a), bp_net_param_count(b));
    assert_memory_equal(bp_net_params_const(a), bp_net_params_const(b),
                        bp_net_param_count(a) * sizeof(float));
    const float *s1, *f1, *s2, *f2;
    assert_int_equal(bp_net_scaling(a, &s1, &f1), bp_net_scaling(b, &s2, &f2));
    if (bp_net_scaling(a, NULL, NULL)) {
        assert_memory_equal(s1, s2, (size_t)bp_net_inputs(a) * sizeof(float));
        assert_memory_equal(f1, f2, (size_t)bp_net_inputs(a) * sizeof(float));
    }
}

static void test_roundtrip_byte_identical(void **state)
{
    (void)state;
    tmp_names();
    const bp_activation acts[][3] = {
        {BP_ACT_RELU, BP_ACT_TANH, BP_ACT_SOFTMAX},
        {BP_ACT_LEAKY_RELU, BP_ACT_SIGMOID, BP_ACT_LINEAR},
        {BP_ACT_SIGMOID, BP_ACT_LINEAR, BP_ACT_SIGMOID},
    };
    for (size_t t = 0; t < sizeof acts / sizeof acts[0]; t++) {
        bp_net *net = sample_net(acts[t][0], acts[t][1], acts[t][2], (int)(t % 2));
        assert_ok(bp_net_save_onnx(net, tmp_a));
        bp_net *back;
        assert_ok(bp_net_load_any(&back, tmp_a)); /* recognised by content */
        assert_same_net(net, back);
        assert_string_equal(bp_net_get_meta(back, "note"), "cat,dog");
        assert_int_equal(bp_net_task(back), bp_net_task(net));
        for (int i = 0; i < 3; i++)
            assert_string_equal(bp_net_input_name(back, i), bp_net_input_name(net, i));
        assert_int_equal(bp_net_target_count(back), bp_net_target_count(net));
        for (int i = 0; i < bp_net_target_count(net); i++)
            assert_string_equal(bp_net_target_name(back, i), bp_net_target_name(net, i));
        assert_int_equal(bp_net_classes(back), bp_net_classes(net));
        for (int i = 0; i < bp_net_classes(net); i++)
            assert_string_equal(bp_net_class_name(back, i), bp_net_class_name(net, i));
        assert_ok(bp_net_save_onnx(back, tmp_b));
        size_t na, nb;
        unsigned char *a = slurp(tmp_a, &na), *b = slurp(tmp_b, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        free(a);
        free(b);
        bp_net_free(back);
        bp_net_free(net);
    }
}

/* ---- hand-made graphs --------------------------------------------------- */

static void put_tensor(pb_buf *g, const char *name, const float *v, int rows, int cols)
{
    pb_buf t = {0};
    if (rows)
        pb_put_varint_field(&t, 1, (uint64_t)rows);
    pb_put_varint_field(&t, 1, (uint64_t)cols);
    pb_put_varint_field(&t, 2, 1);
    pb_put_string_field(&t, 8, name);
    pb_put_packed_floats(&t, 4, v, (size_t)(rows ? rows : 1) * (size_t)cols); /* float_data */
    pb_put_message_field(g, 5, &t);
}

static void put_node(pb_buf *g, const char *op, const char *name, const char *in0,
                     const char *in1, const char *out)
{
    pb_buf n = {0};
    pb_put_string_field(&n, 1, in0);
    if (in1)
        pb_put_string_field(&n, 1, in1);
    pb_put_string_field(&n, 2, out);
    pb_put_string_field(&n, 3, name);
    pb_put_string_field(&n, 4, op);
    pb_put_message_field(g, 1, &n);
}

static void put_io(pb_buf *g, int field, const char *name)
{
    pb_buf vi = {0};
    pb_put_string_field(&vi, 1, name);
    pb_put_message_field(g, field, &vi);
}

/* input → MatMul(B [2][3]) → Add(c) → Tanh → [extra op] → output */
static bp_status load_handmade(const char *extra_op, bp_net **net)
{
    static const float B[6] = {1, 2, 3, 4, 5, 6}, c[3] = {0.5f, -0.5f, 0.25f};
    pb_buf g = {0}, m = {0}, o = {0};
    put_tensor(&g, "B", B, 2, 3);
    put_tensor(&g, "c", c, 0, 3);
    put_node(&g, "MatMul", "mm", "x", "B", "t1");
    put_node(&g, "Add", "add", "t1", "c", "t2");
    put_node(&g, "Tanh", "tanh", "t2", NULL, extra_op ? "t3" : "y");
    if (extra_op)
        put_node(&g, extra_op, "the_odd_one", "t3", NULL, "y");
    put_io(&g, 11, "x");
    put_io(&g, 11, "B"); /* older exporters list initializers as inputs too */
    put_io(&g, 12, "y");
    pb_put_varint_field(&m, 1, 6);
    pb_put_message_field(&m, 7, &g);
    pb_put_varint_field(&o, 2, 11);
    pb_put_message_field(&m, 8, &o);
    assert_false(m.failed);
    bp_status st = bp_net_parse_onnx(net, m.data, m.len, "hand.onnx");
    pb_free(&m);
    return st;
}

static void test_matmul_add_graph(void **state)
{
    (void)state;
    bp_net *net;
    assert_ok(load_handmade(NULL, &net));
    assert_int_equal(bp_net_inputs(net), 2);
    assert_int_equal(bp_net_outputs(net), 3);
    bp_layer_spec L = bp_net_layer(net, 0);
    assert_int_equal(L.act, BP_ACT_TANH);
    assert_true(L.bias);
    /* B [in][out] is transposed into W [out][in] */
    const float *W = bp_net_weights_const(net, 0);
    assert_true(W[0] == 1 && W[1] == 4 && W[2] == 2 && W[3] == 5);
    assert_true(bp_net_biases_const(net, 0)[1] == -0.5f);
    assert_int_equal(bp_net_loss(net), BP_LOSS_MSE);
    bp_net_free(net);
    assert_ok(load_handmade("Identity", &net));
    bp_net_free(net);
}

static void test_unsupported_node_named(void **state)
{
    (void)state;
    bp_net *net = (bp_net *)1;
    assert_int_equal(load_handmade("Conv", &net), BP_ERR_UNSUPPORTED);
    assert_null(net);
    assert_errmsg_contains("hand.onnx");
    assert_errmsg_contains("\"the_odd_one\"");
    assert_errmsg_contains("op Conv");
}

/* x → first(v1) → second(v2) → MatMul(B) → y: input scaling as other tools write it. */
static bp_status load_scaled(const char *first, const char *second, bp_net **net)
{
    static const float B[4] = {1, 2, 3, 4}, v1[2] = {2, 4}, v2[2] = {0.5f, 8};
    pb_buf g = {0}, m = {0}, o = {0};
    put_tensor(&g, "B", B, 2, 2);
    put_tensor(&g, "v1", v1, 0, 2);
    put_tensor(&g, "v2", v2, 0, 2);
    put_node(&g, first, "first", "x", "v1", "t1");
    put_node(&g, second, "second", "t1", "v2", "t2");
    put_node(&g, "MatMul", "mm", "t2", "B", "y");
    put_io(&g, 11, "x");
    put_io(&g, 12, "y");
    pb_put_varint_field(&m, 1, 7);
    pb_put_message_field(&m, 7, &g);
    pb_put_varint_field(&o, 2, 13);
    pb_put_message_field(&m, 8, &o);
    bp_status st = bp_net_parse_onnx(net, m.data, m.len, "scaled.onnx");
    pb_free(&m);
    return st;
}

static void test_scaling_nodes(void **state)
{
    (void)state;
    bp_net *net;
    assert_ok(load_scaled("Sub", "Div", &net));
    const float *shift, *scale;
    assert_true(bp_net_scaling(net, &shift, &scale));
    assert_true(shift[0] == 2 && shift[1] == 4 && scale[0] == 2 && scale[1] == 0.125f);
    bp_net_free(net);
    /* (x · v1) − v2 is not (x − shift) · scale: refused, not misread. */
    assert_int_equal(load_scaled("Mul", "Sub", &net), BP_ERR_UNSUPPORTED);
    assert_errmsg_contains("\"second\" (op Sub)");
}

/* Every truncation and many corruptions of a valid file fail cleanly. */
static void test_hostile_bytes(void **state)
{
    (void)state;
    tmp_names();
    bp_net *net = sample_net(BP_ACT_RELU, BP_ACT_TANH, BP_ACT_SOFTMAX, 1);
    assert_ok(bp_net_save_onnx(net, tmp_a));
    bp_net_free(net);
    size_t n;
    unsigned char *buf = slurp(tmp_a, &n);
    for (size_t cut = 0; cut < n; cut++) {
        bp_net *back = NULL;
        bp_status st = bp_net_parse_onnx(&back, buf, cut, "cut.onnx");
        if (st == BP_OK) /* a cut at a field boundary may still be a valid, smaller model */
            bp_net_free(back);
        else
            assert_null(back), assert_true(bp_errmsg()[0] != '\0');
    }
    unsigned seed = 1;
    for (int trial = 0; trial < 2000; trial++) {
        unsigned char *c = malloc(n);
        memcpy(c, buf, n);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            c[(seed >> 8) % n] = (unsigned char)(seed >> 20);
        }
        bp_net *back = NULL;
        if (bp_net_parse_onnx(&back, c, n, "bad.onnx") == BP_OK)
            bp_net_free(back);
        else
            assert_null(back);
        free(c);
    }
    free(buf);
}

static void test_c_export_refuses_same_paths(void **state)
{
    (void)state;
    bp_net *net = sample_net(BP_ACT_RELU, BP_ACT_TANH, BP_ACT_SOFTMAX, 1);
    assert_int_equal(bp_net_save_c(net, "/tmp/x.c", "/tmp/x.c"), BP_ERR_ARG);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_roundtrip_byte_identical, teardown_tmp),
        cmocka_unit_test(test_matmul_add_graph),
        cmocka_unit_test(test_unsupported_node_named),
        cmocka_unit_test(test_scaling_nodes),
        cmocka_unit_test_teardown(test_hostile_bytes, teardown_tmp),
        cmocka_unit_test(test_c_export_refuses_same_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
