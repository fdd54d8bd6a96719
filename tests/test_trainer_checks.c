/*
 * The trainer checks every target once, before its first step (the steps
 * themselves no longer check each batch): a NaN target is refused naming the
 * data set, row and column, and the weights are untouched.
 */
#include "testutil.h"

static void run_with_bad_target(float bad, bp_loss loss, const char *want, int in_val)
{
    bp_layer_spec layers[1] = {BP_LAYER(2, loss == BP_LOSS_MSE ? BP_ACT_LINEAR : BP_ACT_SOFTMAX,
                                         1, BP_SLOPE_DEFAULT)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 1, layers, loss));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 3));
    bp_dataset *train, *val;
    assert_ok(bp_dataset_create(&train, 6, 2, 2));
    assert_ok(bp_dataset_create(&val, 6, 2, 2));
    for (int i = 0; i < 12; i++) {
        bp_dataset_x(train)[i] = bp_dataset_x(val)[i] = (float)i / 12;
        bp_dataset_y(train)[i] = bp_dataset_y(val)[i] = (float)(i % 2);
    }
    bp_dataset_y(in_val ? val : train)[9] = bad; /* row 5, target 2 */
    float before[6];
    memcpy(before, bp_net_params_const(net), sizeof before);
    bp_train_options o;
    bp_train_options_default(&o);
    o.epochs = 2;
    o.batch_size = 1; /* the fused online path too */
    o.optimizer = BP_OPT_SGD;
    assert_int_equal(bp_train(net, train, val, &o), loss == BP_LOSS_MSE ? BP_ERR_NUMERIC : BP_ERR_ARG);
    assert_errmsg_contains(want);
    assert_memory_equal(bp_net_params_const(net), before, sizeof before);
    bp_dataset_free(train);
    bp_dataset_free(val);
    bp_net_free(net);
}

static void test_nan_target_refused(void **state)
{
    (void)state;
    run_with_bad_target(NAN, BP_LOSS_MSE, "training data: row 5, target column 2 is NaN", 0);
    run_with_bad_target(INFINITY, BP_LOSS_MSE, "validation data: row 5, target column 2 is infinite", 1);
}

static void test_xent_target_out_of_range_refused(void **state)
{
    (void)state;
    run_with_bad_target(2.0f, BP_LOSS_XENT, "training data row 5: target 2 is 2", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nan_target_refused),
        cmocka_unit_test(test_xent_target_out_of_range_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
