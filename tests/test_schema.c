/* The schema a model keeps of its training data: set/get, clone, save/load
 * (version 2) and version 1 files, and CSV/FANN data mapped through it. */
#include "testutil.h"

#ifndef BP_SOURCE_DIR
#define BP_SOURCE_DIR "."
#endif

static char p1[256], p2[256];

static bp_dataset *csv(const char *text, const bp_csv_options *o)
{
    write_temp_file(p1, sizeof p1, ".csv", text, strlen(text));
    bp_dataset *ds = NULL;
    assert_ok(bp_dataset_read_csv(&ds, p1, o));
    unlink(p1);
    return ds;
}

/* A 2-input, 3-class net with the schema of a data set trained on labels c < a < b. */
static bp_net *classifier(void)
{
    bp_layer_spec L[1] = {BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 1, L, BP_LOSS_XENT));
    /* Class numbers follow the sorted labels, whatever order the rows have. */
    bp_dataset *ds = csv("x,y,label\n1,2,b\n3,4,c\n5,6,a\n", NULL);
    assert_string_equal(bp_dataset_class_name(ds, 0), "a");
    assert_int_equal(bp_dataset_labels(ds)[0], 1);
    assert_ok(bp_net_set_schema(net, ds));
    bp_dataset_free(ds);
    return net;
}

static void test_set_get_clone_save(void **state)
{
    (void)state;
    bp_net *net = classifier();
    assert_int_equal(bp_net_task(net), BP_TASK_CLASSIFICATION);
    assert_int_equal(bp_net_classes(net), 3);
    assert_string_equal(bp_net_class_name(net, 2), "c");
    assert_string_equal(bp_net_input_name(net, 1), "y");
    assert_int_equal(bp_net_target_count(net), 1);
    assert_string_equal(bp_net_target_name(net, 0), "label");
    assert_null(bp_net_class_name(net, 3));
    assert_null(bp_net_input_name(NULL, 0));
    /* Classes must fit the outputs. */
    assert_int_equal(bp_net_set_classes(net, 4, NULL), BP_ERR_SHAPE);

    bp_net *c;
    assert_ok(bp_net_clone(net, &c));
    assert_string_equal(bp_net_class_name(c, 1), "b");
    bp_net_free(c);

    write_temp_file(p2, sizeof p2, ".bpm", "", 0);
    assert_ok(bp_net_save(net, p2));
    bp_net *back;
    assert_ok(bp_net_load(&back, p2));
    unlink(p2);
    assert_int_equal(bp_net_task(back), BP_TASK_CLASSIFICATION);
    assert_string_equal(bp_net_class_name(back, 0), "a");
    assert_string_equal(bp_net_input_name(back, 0), "x");
    assert_string_equal(bp_net_target_name(back, 0), "label");
    bp_net_free(back);
    bp_net_free(net);
}

static void test_version1_file(void **state)
{
    (void)state;
    bp_net *net;
    assert_ok(bp_net_load(&net, BP_SOURCE_DIR "/tests/data/iris-v1.bpm"));
    assert_int_equal(bp_net_task(net), BP_TASK_CLASSIFICATION);
    assert_int_equal(bp_net_classes(net), 3);
    assert_string_equal(bp_net_class_name(net, 1), "versicolor");
    assert_null(bp_net_input_name(net, 0));
    bp_net_free(net);
}

static void test_mapping(void **state)
{
    (void)state;
    bp_net *net = classifier();
    /* Reordered columns, an extra one, a subset of the classes in another order. */
    const char *text = "label,extra,y,x\nc,9,2,1\nc,9,4,3\na,9,6,5\n";
    write_temp_file(p1, sizeof p1, ".csv", text, strlen(text));
    bp_dataset *ds = NULL;
    assert_ok(bp_dataset_read_csv_schema(&ds, p1, NULL, net));
    assert_int_equal(bp_dataset_outputs(ds), 3);
    assert_int_equal(bp_dataset_labels(ds)[0], 2);
    assert_int_equal(bp_dataset_labels(ds)[2], 0);
    assert_true(bp_dataset_x(ds)[0] == 1.0f && bp_dataset_x(ds)[1] == 2.0f);
    assert_non_null(strstr(bp_dataset_notes(ds), "extra"));
    bp_dataset_free(ds);
    unlink(p1);
    /* No target column: fine, outputs 0.  An unknown label: named with its line. */
    text = "y,x\n2,1\n";
    write_temp_file(p1, sizeof p1, ".csv", text, strlen(text));
    assert_ok(bp_dataset_read_csv_schema(&ds, p1, NULL, net));
    assert_int_equal(bp_dataset_outputs(ds), 0);
    bp_dataset_free(ds);
    unlink(p1);
    text = "x,y,label\n1,2,a\n1,2,zebra\n";
    write_temp_file(p1, sizeof p1, ".csv", text, strlen(text));
    assert_int_equal(bp_dataset_read_csv_schema(&ds, p1, NULL, net), BP_ERR_PARSE);
    assert_null(ds);
    assert_errmsg_contains(":3:3: class label \"zebra\" is not one the model was trained on");
    unlink(p1);
    text = "x,label\n1,a\n";
    write_temp_file(p1, sizeof p1, ".csv", text, strlen(text));
    assert_int_equal(bp_dataset_read_csv_schema(&ds, p1, NULL, net), BP_ERR_SHAPE);
    assert_errmsg_contains("no column \"y\"");
    unlink(p1);
    bp_net_free(net);
}

static void test_detect(void **state)
{
    (void)state;
    /* −1/1 one-hot rows are classes (Y becomes 0/1); other rows are not. */
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, 2, 1, 2));
    float y[4] = {1, -1, -1, 1};
    memcpy(bp_dataset_y(ds), y, sizeof y);
    assert_ok(bp_dataset_detect_task(ds, -1, "d"));
    assert_int_equal(bp_dataset_classes(ds), 2);
    assert_true(bp_dataset_y(ds)[1] == 0.0f);
    bp_dataset_free(ds);
    assert_ok(bp_dataset_create(&ds, 2, 1, 2));
    float z[4] = {0.5f, 1, 0, 1};
    memcpy(bp_dataset_y(ds), z, sizeof z);
    assert_ok(bp_dataset_detect_task(ds, -1, "d"));
    assert_int_equal(bp_dataset_classes(ds), 0);
    assert_int_equal(bp_dataset_detect_task(ds, 1, "d"), BP_ERR_ARG);
    assert_errmsg_contains("--task classification needs");
    bp_dataset_free(ds);
    /* FANN files by content. */
    const char *f = "2 1 2\n0.5\n1 0\n0.25\n0 1\n";
    write_temp_file(p1, sizeof p1, ".txt", f, strlen(f));
    assert_int_equal(bp_fann_sniff(p1), 1);
    unlink(p1);
    f = "2 1 2\n0.5\n1 0\n";
    write_temp_file(p1, sizeof p1, ".txt", f, strlen(f));
    assert_int_equal(bp_fann_sniff(p1), 2);
    unlink(p1);
    f = "1\t2\t3\n4\t5\t6\n";
    write_temp_file(p1, sizeof p1, ".tsv", f, strlen(f));
    assert_int_equal(bp_fann_sniff(p1), 2);
    unlink(p1);
    f = "a,b\n1,2\n";
    write_temp_file(p1, sizeof p1, ".csv", f, strlen(f));
    assert_int_equal(bp_fann_sniff(p1), 0);
    unlink(p1);
    /* CSV ids. */
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.id = "name";
    ds = csv("name,x,y\nann,1,2.5\nbob,3,4.5\n", &o);
    assert_int_equal(bp_dataset_inputs(ds), 1);
    assert_string_equal(bp_dataset_row_id(ds, 1), "bob");
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_clone_save),
        cmocka_unit_test(test_version1_file),
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
