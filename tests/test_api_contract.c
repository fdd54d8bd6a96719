/* The C API's contracts as an embedder sees them: extensible structs (size
 * fields), NULL and out-of-range arguments, output pointers on failure. */
#include "testutil.h"

/* ---- extensible structs (backprop.h, "Extensible structs") ---------------- */

/* What a program built against a newer header would pass: the known layout
 * followed by fields this library does not know. */
typedef struct newer_train_options { bp_train_options base; double future[4]; } newer_train_options;
typedef struct newer_csv_options { bp_csv_options base; int future[3]; } newer_csv_options;
typedef struct newer_layer_spec { bp_layer_spec base; double future; int more; } newer_layer_spec;
typedef struct newer_metrics { bp_metrics base; int future[5]; } newer_metrics;

static bp_net *small_net(void)
{
    bp_layer_spec L[2] = {BP_LAYER(3, BP_ACT_TANH, 1, 0), BP_LAYER(2, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 2, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 3));
    return net;
}

static bp_dataset *small_data(void)
{
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, 4, 2, 2));
    float *x = bp_dataset_x(ds);
    int32_t labels[4] = {0, 1, 1, 0};
    for (int i = 0; i < 8; i++)
        x[i] = (float)(i % 3) - 1.0f;
    assert_ok(bp_dataset_set_labels(ds, labels, 2));
    return ds;
}

static void test_defaults_set_size(void **state)
{
    (void)state;
    bp_train_options o;
    bp_train_options_default(&o);
    assert_int_equal(o.size, sizeof o);
    assert_int_equal(o.epochs, 10);
    bp_csv_options c;
    bp_csv_options_default(&c);
    assert_int_equal(c.size, sizeof c);
    assert_int_equal(c.header, -1);
    bp_layer_spec s;
    bp_layer_spec_default(&s);
    assert_int_equal(s.size, sizeof s);
    assert_int_equal(s.units, 1);
    bp_layer_spec m = BP_LAYER(5, BP_ACT_RELU, 1, 0);
    assert_int_equal(m.size, sizeof m);
    bp_metrics e;
    bp_metrics_init(&e);
    assert_int_equal(e.size, sizeof e);
    assert_null(e.confusion);
}

static void test_newer_structs_accepted(void **state)
{
    (void)state;
    /* bp_layer_spec array with a bigger stride */
    newer_layer_spec L[2];
    for (int l = 0; l < 2; l++) {
        memset(&L[l], 0xAB, sizeof L[l]);
        bp_layer_spec_init(&L[l].base, sizeof L[l]);
        assert_int_equal(L[l].future, 0.0); /* the init zeroes the unknown tail */
    }
    L[0].base.units = 3;
    L[0].base.act = BP_ACT_TANH;
    L[1].base.units = 2;
    L[1].base.act = BP_ACT_SOFTMAX;
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 2, &L[0].base, BP_LOSS_XENT));
    assert_int_equal(bp_net_layer(net, 1).units, 2);
    assert_int_equal(bp_net_layer(net, 1).act, BP_ACT_SOFTMAX);
    assert_int_equal(bp_net_layer(net, 1).size, sizeof(bp_layer_spec));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 1));

    /* bp_train_options */
    newer_train_options o;
    memset(&o, 0xCD, sizeof o);
    bp_train_options_init(&o.base, sizeof o);
    assert_int_equal(o.base.size, sizeof o);
    assert_int_equal(o.future[3], 0.0);
    o.base.epochs = 2;
    o.base.batch_size = 2;
    bp_dataset *ds = small_data();
    assert_ok(bp_train(net, ds, NULL, &o.base));
    assert_false(isnan(bp_schedule_lr(&o.base, 0)));
    bp_trainer *tr;
    assert_ok(bp_trainer_create(&tr, net, &o.base));
    assert_int_equal(bp_trainer_options(tr)->size, sizeof(bp_train_options));
    assert_int_equal(bp_trainer_options(tr)->epochs, 2);
    bp_trainer_free(tr);

    /* bp_metrics: the unknown tail is left alone */
    newer_metrics m;
    bp_metrics_init_size(&m.base, sizeof m);
    m.future[4] = 77;
    assert_ok(bp_evaluate(net, ds, 1, &m.base));
    assert_int_equal(m.base.rows, 4);
    assert_int_equal(m.base.size, sizeof m);
    assert_int_equal(m.future[4], 77);
    bp_metrics_clear(&m.base);
    assert_int_equal(m.base.size, sizeof m);
    assert_int_equal(m.future[4], 77);

    /* bp_csv_options */
    char path[128];
    const char *text = "a,b,y\n1,2,3\n4,5,6\n";
    write_temp_file(path, sizeof path, ".csv", text, strlen(text));
    newer_csv_options c;
    bp_csv_options_init(&c.base, sizeof c);
    c.base.task = 0;
    bp_dataset *csv;
    assert_ok(bp_dataset_read_csv(&csv, path, &c.base));
    assert_int_equal(bp_dataset_rows(csv), 2);
    bp_dataset_free(csv);
    remove(path);

    bp_dataset_free(ds);
    bp_net_free(net);
}

static void test_zeroed_structs_refused(void **state)
{
    (void)state;
    bp_net *net = small_net();
    bp_dataset *ds = small_data();

    bp_train_options o;
    memset(&o, 0, sizeof o);
    o.epochs = 1;
    bp_trainer *tr = (bp_trainer *)&o; /* must be reset to NULL */
    assert_int_equal(bp_trainer_create(&tr, net, &o), BP_ERR_ARG);
    assert_null(tr);
    assert_errmsg_contains("bp_train_options_default");
    assert_int_equal(bp_train(net, ds, NULL, &o), BP_ERR_ARG);
    assert_errmsg_contains("bp_train_options.size is 0");
    assert_true(isnan(bp_schedule_lr(&o, 0)));
    assert_errmsg_contains("bp_train_options_default");

    bp_csv_options c;
    memset(&c, 0, sizeof c);
    bp_dataset *csv = (bp_dataset *)&c;
    assert_int_equal(bp_dataset_read_csv(&csv, "data/iris.csv", &c), BP_ERR_ARG);
    assert_null(csv);
    assert_errmsg_contains("bp_csv_options_default");

    bp_layer_spec L[2] = {{0}};
    L[0].units = 3;
    L[1].units = 2;
    bp_net *bad = (bp_net *)&c;
    assert_int_equal(bp_net_create(&bad, 2, 2, L, BP_LOSS_MSE), BP_ERR_ARG);
    assert_null(bad);
    assert_errmsg_contains("bp_layer_spec_default");
    /* mixed sizes in one array are refused too */
    bp_layer_spec mixed[2] = {BP_LAYER(3, BP_ACT_TANH, 1, 0), BP_LAYER(2, BP_ACT_LINEAR, 1, 0)};
    mixed[1].size = 0;
    assert_int_equal(bp_net_create(&bad, 2, 2, mixed, BP_LOSS_MSE), BP_ERR_ARG);
    assert_errmsg_contains("layer 2");

    bp_metrics m;
    memset(&m, 0, sizeof m);
    assert_int_equal(bp_evaluate(net, ds, 1, &m), BP_ERR_ARG);
    assert_errmsg_contains("bp_metrics_init");
    float out[2] = {0.2f, 0.8f};
    int32_t lab[1] = {1};
    assert_int_equal(bp_metrics_compute(out, NULL, lab, 1, 2, 2, &m), BP_ERR_ARG);
    assert_errmsg_contains("bp_metrics_init");

    bp_dataset_free(ds);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_set_size),
        cmocka_unit_test(test_newer_structs_accepted),
        cmocka_unit_test(test_zeroed_structs_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
