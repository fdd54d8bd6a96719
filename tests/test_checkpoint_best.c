/* A checkpoint of a trainer with early stopping on the training loss (no
 * validation set) must load again: its "best weights" array is only filled
 * with a validation set, and was saved uninitialised (heap garbage, here a
 * recycled block of NaNs), which bp_checkpoint_load then refused as
 * "best weights: value ... is nan".  Found by the Python package's pickling. */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

static void test_checkpoint_without_validation_loads(void **state)
{
    (void)state;
    bp_layer_spec L[2] = {BP_LAYER(4, BP_ACT_TANH, 1, 0), BP_LAYER(1, BP_ACT_LINEAR, 1, 0)};
    bp_net *net = NULL;
    assert_ok(bp_net_create(&net, 2, 2, L, BP_LOSS_MSE));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 1));
    size_t np = bp_net_param_count(net);
    /* leave NaNs in a freed block of the size the trainer will allocate */
    for (int k = 0; k < 8; k++) {
        float *junk = malloc(np * sizeof *junk);
        assert_non_null(junk);
        for (size_t i = 0; i < np; i++)
            junk[i] = NAN;
        free(junk);
    }
    bp_dataset *ds = NULL;
    assert_ok(bp_dataset_create(&ds, 8, 2, 1));
    float *x = bp_dataset_x(ds), *y = bp_dataset_y(ds);
    for (int r = 0; r < 8; r++) {
        x[2 * r] = (float)r / 8.0f;
        x[2 * r + 1] = (float)(r % 3) / 3.0f;
        y[r] = x[2 * r] - x[2 * r + 1];
    }
    bp_train_options o;
    bp_train_options_default(&o);
    o.epochs = 3;
    o.patience = 2;
    bp_trainer *tr = NULL;
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_ok(bp_trainer_run(tr, ds, NULL));
    char path[256];
    write_temp_file(path, sizeof path, ".bpc", "", 0);
    assert_ok(bp_checkpoint_save(tr, path));
    bp_net *net2 = NULL;
    bp_trainer *tr2 = NULL;
    assert_ok(bp_checkpoint_load(path, &net2, &tr2));
    assert_int_equal(bp_trainer_epoch(tr2), 3);
    remove(path);
    bp_trainer_free(tr2);
    bp_net_free(net2);
    bp_trainer_free(tr);
    bp_net_free(net);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_without_validation_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
