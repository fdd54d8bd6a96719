/* bp_trainer_request_stop (what the CLI's SIGINT handler calls): the run
 * stops after the batch in progress with BP_ERR_INTERRUPTED naming epoch and
 * batch, the net holds finite weights, the request is used up (the next run
 * goes on), and a stop at an epoch's end followed by a second run gives the
 * same bits as one uninterrupted run. */
#include "testutil.h"

typedef struct {
    bp_trainer *tr;
    int epoch;  /* request the stop in this epoch (1-based) */
    size_t batch; /* after this batch; 0: at the epoch's end */
} stop_at;

static int request(const bp_epoch_report *r, void *user)
{
    stop_at *s = user;
    if (r->epoch == s->epoch && (s->batch ? r->in_epoch && r->batch == s->batch : !r->in_epoch))
        bp_trainer_request_stop(s->tr);
    return 0;
}

static bp_dataset *make_data(void)
{
    bp_dataset *ds = NULL;
    assert_ok(bp_dataset_create(&ds, 64, 2, 1));
    float *x = bp_dataset_x(ds), *y = bp_dataset_y(ds);
    for (int r = 0; r < 64; r++) {
        x[2 * r] = (float)(r % 8) / 8.0f;
        x[2 * r + 1] = (float)(r / 8) / 8.0f;
        y[r] = x[2 * r] - 0.5f * x[2 * r + 1];
    }
    return ds;
}

static bp_net *make_net(void)
{
    bp_layer_spec L[2] = {BP_LAYER(4, BP_ACT_TANH, 1, 0), BP_LAYER(1, BP_ACT_LINEAR, 1, 0)};
    bp_net *net = NULL;
    assert_ok(bp_net_create(&net, 2, 2, L, BP_LOSS_MSE));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 5));
    return net;
}

static bp_trainer *make_trainer(bp_net *net, stop_at *s)
{
    bp_train_options o;
    bp_train_options_default(&o);
    o.epochs = 3;
    o.batch_size = 4;
    o.optimizer = BP_OPT_ADAM;
    o.threads = 1;
    bp_trainer *tr = NULL;
    assert_ok(bp_trainer_create(&tr, net, &o));
    if (s) {
        s->tr = tr;
        bp_trainer_set_progress(tr, request, s, 1);
    }
    return tr;
}

static void test_stop_after_a_batch(void **state)
{
    (void)state;
    bp_dataset *ds = make_data();
    bp_net *net = make_net();
    stop_at s = {NULL, 2, 3};
    bp_trainer *tr = make_trainer(net, &s);
    assert_int_equal(bp_trainer_run(tr, ds, NULL), BP_ERR_INTERRUPTED);
    assert_errmsg_contains("training interrupted in epoch 2 after batch 3 of 16");
    assert_int_equal(bp_trainer_epoch(tr), 1);
    const float *p = bp_net_params_const(net);
    for (size_t i = 0; i < bp_net_param_count(net); i++)
        assert_true(isfinite(p[i]));
    /* The request is used up: the next run trains to the end. */
    s.epoch = 0;
    assert_ok(bp_trainer_run(tr, ds, NULL));
    assert_int_equal(bp_trainer_epoch(tr), 3);
    bp_trainer_request_stop(NULL);
    bp_trainer_free(tr);
    bp_net_free(net);
    bp_dataset_free(ds);
}

static void test_stop_at_epoch_end_keeps_the_bits(void **state)
{
    (void)state;
    bp_dataset *ds = make_data();
    bp_net *ref = make_net(), *net = make_net();
    bp_trainer *tr_ref = make_trainer(ref, NULL);
    assert_ok(bp_trainer_run(tr_ref, ds, NULL));

    stop_at s = {NULL, 1, 0};
    bp_trainer *tr = make_trainer(net, &s);
    assert_int_equal(bp_trainer_run(tr, ds, NULL), BP_ERR_INTERRUPTED);
    assert_errmsg_contains("training interrupted after epoch 1");
    assert_int_equal(bp_trainer_epoch(tr), 1);
    assert_ok(bp_trainer_run(tr, ds, NULL));
    assert_int_equal(bp_trainer_epoch(tr), 3);
    assert_memory_equal(bp_net_params_const(net), bp_net_params_const(ref),
                        bp_net_param_count(net) * sizeof(float));
    bp_trainer_free(tr);
    bp_trainer_free(tr_ref);
    bp_net_free(net);
    bp_net_free(ref);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_after_a_batch),
        cmocka_unit_test(test_stop_at_epoch_end_keeps_the_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
