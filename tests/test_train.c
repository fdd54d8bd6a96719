/* Training: optimizers against hand-computed steps, schedules, metrics,
 * determinism across thread counts, bit-identical resume, divergence. */
#include "testutil.h"

/* A 1-1 linear net without bias, w = 0.5, one row x = 1, t = 0: the
 * gradient of ½(w·x − t)² is w, so each step is easy to follow by hand. */
static bp_net *one_weight_net(void)
{
    bp_layer_spec L[1] = {BP_LAYER(1, BP_ACT_LINEAR, 0, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 1, 1, L, BP_LOSS_MSE));
    bp_net_weights(net, 0)[0] = 0.5f;
    return net;
}

static bp_dataset *one_row(void)
{
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, 1, 1, 1));
    bp_dataset_x(ds)[0] = 1.0f;
    bp_dataset_y(ds)[0] = 0.0f;
    return ds;
}

static double run_optimizer(bp_optimizer opt, int epochs, float wd)
{
    bp_net *net = one_weight_net();
    bp_dataset *ds = one_row();
    bp_train_options o;
    bp_train_options_default(&o);
    o.optimizer = opt;
    o.learning_rate = 0.1f;
    o.epochs = epochs;
    o.batch_size = 1;
    o.weight_decay = wd;
    assert_ok(bp_train(net, ds, NULL, &o));
    double w = bp_net_weights(net, 0)[0];
    bp_net_free(net);
    bp_dataset_free(ds);
    return w;
}

static void test_optimizer_steps(void **state)
{
    (void)state;
    /* SGD: w = 0.5 − 0.1·0.5 */
    assert_close(run_optimizer(BP_OPT_SGD, 1, 0), 0.45, 1e-7);
    assert_close(run_optimizer(BP_OPT_SGD, 2, 0), 0.45 - 0.1 * 0.45, 1e-7);
    /* Momentum: v1 = 0.5, w1 = 0.45; v2 = 0.9·0.5 + 0.45 = 0.9, w2 = 0.36 */
    assert_close(run_optimizer(BP_OPT_MOMENTUM, 1, 0), 0.45, 1e-7);
    assert_close(run_optimizer(BP_OPT_MOMENTUM, 2, 0), 0.36, 1e-7);
    /* Nesterov: w1 = 0.5 − 0.1·(0.5 + 0.9·0.5) = 0.405 */
    assert_close(run_optimizer(BP_OPT_NESTEROV, 1, 0), 0.405, 1e-7);
    /* Adam: the first bias-corrected step is lr·g/|g| = 0.1 */
    assert_close(run_optimizer(BP_OPT_ADAM, 1, 0), 0.4, 1e-6);
    /* Adam, step 2: g = 0.4; m = 0.9·0.05 + 0.1·0.4 = 0.085; v = 0.999·0.00025 + 0.001·0.16 */
    {
        double m = 0.085, v = 0.999 * 0.00025 + 0.001 * 0.16;
        double mh = m / (1 - 0.81), vh = v / (1 - 0.998001);
        assert_close(run_optimizer(BP_OPT_ADAM, 2, 0), 0.4 - 0.1 * mh / (sqrt(vh) + 1e-8), 1e-6);
    }
    /* AdamW with λ = 0.1: w −= 0.1·0.1·0.5 first, then the Adam step */
    assert_close(run_optimizer(BP_OPT_ADAMW, 1, 0.1f), 0.5 - 0.005 - 0.1, 1e-6);
    /* Adam with L2 weight decay λ = 0.1: g = 0.5 + 0.05, first step still lr */
    assert_close(run_optimizer(BP_OPT_ADAM, 1, 0.1f), 0.4, 1e-6);
    /* SGD with L2 decay: g = 0.5 + 0.1·0.5 = 0.55 */
    assert_close(run_optimizer(BP_OPT_SGD, 1, 0.1f), 0.5 - 0.055, 1e-7);
    /* RMSprop: v = 0.1·0.25; w = 0.5 − 0.1·0.5/√0.025 */
    assert_close(run_optimizer(BP_OPT_RMSPROP, 1, 0), 0.5 - 0.05 / sqrt(0.025), 1e-6);
    /* iRPROP−: first step by Δ0 = 0.1 against the sign; second grows Δ to 0.12 */
    assert_close(run_optimizer(BP_OPT_RPROP, 1, 0), 0.4, 1e-7);
    assert_close(run_optimizer(BP_OPT_RPROP, 2, 0), 0.28, 1e-7);
}

/* iRPROP− shrinks the step and skips the update when the gradient's sign flips. */
static void test_rprop_sign_change(void **state)
{
    (void)state;
    /* w = 0.05, t = 0: first step 0.05 − 0.1 = −0.05 flips the gradient's sign. */
    bp_net *net = one_weight_net();
    bp_net_weights(net, 0)[0] = 0.05f;
    bp_dataset *ds = one_row();
    bp_train_options o;
    bp_train_options_default(&o);
    o.optimizer = BP_OPT_RPROP;
    o.epochs = 2;
    assert_ok(bp_train(net, ds, NULL, &o));
    assert_close(bp_net_weights(net, 0)[0], -0.05, 1e-7); /* step 2 skipped */
    bp_train_options_default(&o);
    o.optimizer = BP_OPT_RPROP;
    o.epochs = 3;
    bp_net_weights(net, 0)[0] = 0.05f;
    assert_ok(bp_train(net, ds, NULL, &o));
    assert_close(bp_net_weights(net, 0)[0], -0.05 + 0.05, 1e-7); /* Δ = 0.05 after the flip */
    bp_net_free(net);
    bp_dataset_free(ds);
}

static void test_schedules(void **state)
{
    (void)state;
    bp_train_options o;
    bp_train_options_default(&o);
    o.learning_rate = 0.1f;
    o.epochs = 10;
    assert_close(bp_schedule_lr(&o, 0), 0.1, 1e-7);
    assert_close(bp_schedule_lr(&o, 9), 0.1, 1e-7);
    o.schedule = BP_SCHED_STEP;
    o.step_every = 3;
    o.step_gamma = 0.5f;
    assert_close(bp_schedule_lr(&o, 2), 0.1, 1e-7);
    assert_close(bp_schedule_lr(&o, 3), 0.05, 1e-7);
    assert_close(bp_schedule_lr(&o, 7), 0.025, 1e-7);
    o.schedule = BP_SCHED_COSINE;
    o.min_lr = 0.01f;
    assert_close(bp_schedule_lr(&o, 0), 0.1, 1e-7);
    assert_close(bp_schedule_lr(&o, 5), 0.055, 1e-7);
    assert_close(bp_schedule_lr(&o, 10), 0.01, 1e-7);
    o.schedule = BP_SCHED_CONSTANT;
    o.warmup_epochs = 4;
    assert_close(bp_schedule_lr(&o, 0), 0.02, 1e-7);
    assert_close(bp_schedule_lr(&o, 3), 0.08, 1e-7);
    assert_close(bp_schedule_lr(&o, 4), 0.1, 1e-7);
}

static void test_metrics_values(void **state)
{
    (void)state;
    /* 3 classes, 6 rows: truth 0 0 1 1 2 2, predicted 0 1 1 1 2 0 */
    const float out[6 * 3] = {.9f, .05f, .05f, .2f, .7f, .1f, .1f, .8f, .1f,
                              .3f, .6f, .1f, .1f, .1f, .8f, .5f, .2f, .3f};
    const int32_t labels[6] = {0, 0, 1, 1, 2, 2};
    bp_metrics m;
    bp_metrics_init(&m);
    assert_ok(bp_metrics_compute(out, NULL, labels, 6, 3, 3, &m));
    assert_close(m.accuracy, 4.0 / 6, 1e-12);
    assert_int_equal(m.confusion[0 * 3 + 0], 1);
    assert_int_equal(m.confusion[0 * 3 + 1], 1);
    assert_int_equal(m.confusion[2 * 3 + 0], 1);
    assert_close(m.precision[0], 0.5, 1e-12);      /* predicted 0 twice, right once */
    assert_close(m.recall[1], 1.0, 1e-12);
    assert_close(m.precision[1], 2.0 / 3, 1e-12);
    assert_close(m.f1[1], 0.8, 1e-12);
    assert_close(m.f1[2], 2 * 1.0 * 0.5 / 1.5, 1e-12);
    bp_metrics_clear(&m);
    /* Regression: outputs 1 2 3, targets 1 3 5 */
    const float o2[3] = {1, 2, 3}, t2[3] = {1, 3, 5};
    assert_ok(bp_metrics_compute(o2, t2, NULL, 3, 1, 0, &m));
    assert_close(m.mse, 5.0 / 3, 1e-12);
    assert_close(m.mae, 1.0, 1e-12);
    assert_close(m.r2, 1 - 5.0 / 8, 1e-12);
    bp_metrics_clear(&m);
}

static bp_net *digits_net(const bp_dataset *ds, uint64_t seed)
{
    bp_layer_spec L[3] = {BP_LAYER(48, BP_ACT_RELU, 1, 0), BP_LAYER(24, BP_ACT_TANH, 1, 0),
                          BP_LAYER(bp_dataset_outputs(ds), BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, bp_dataset_inputs(ds), 3, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_HE, seed));
    assert_ok(bp_net_fit_scaling(net, ds, BP_SCALE_STANDARD));
    return net;
}

static bp_dataset *load_digits(void)
{
    bp_dataset *ds;
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.task = 1; /* integer labels: classes, not a regression target */
    assert_ok(bp_dataset_read_csv(&ds, "data/digits.csv", &o));
    assert_int_equal(bp_dataset_classes(ds), 10);
    return ds;
}

static void train_digits(int threads, bp_optimizer opt, float dropout, float *params_out,
                         size_t *n)
{
    bp_dataset *ds = load_digits(), *tr, *va;
    assert_ok(bp_dataset_split(ds, 0.2, 9, &tr, &va));
    bp_net *net = digits_net(tr, 5);
    bp_train_options o;
    bp_train_options_default(&o);
    o.optimizer = opt;
    o.epochs = 2;
    o.batch_size = 50; /* the last batch is partial */
    o.learning_rate = opt == BP_OPT_SGD ? 0.05f : 0.002f;
    o.dropout = dropout;
    o.threads = threads;
    o.seed = 11;
    assert_ok(bp_train(net, tr, va, &o));
    *n = bp_net_param_count(net);
    memcpy(params_out, bp_net_params_const(net), *n * sizeof(float));
    bp_net_free(net);
    bp_dataset_free(ds);
    bp_dataset_free(tr);
    bp_dataset_free(va);
}

static void test_threads_bit_identical(void **state)
{
    (void)state;
    static float p1[8192], p2[8192];
    size_t n1, n2;
    const bp_optimizer opts[] = {BP_OPT_ADAM, BP_OPT_SGD, BP_OPT_NESTEROV};
    for (size_t i = 0; i < 3; i++) {
        train_digits(1, opts[i], i == 0 ? 0.2f : 0.0f, p1, &n1);
        train_digits(2, opts[i], i == 0 ? 0.2f : 0.0f, p2, &n2);
        assert_int_equal(n1, n2);
        if (memcmp(p1, p2, n1 * sizeof(float)) != 0)
            fail_msg("%s: 1 and 2 threads gave different weights", bp_optimizer_name(opts[i]));
        /* And training did something. */
        train_digits(3, opts[i], i == 0 ? 0.2f : 0.0f, p2, &n2);
        assert_memory_equal(p1, p2, n1 * sizeof(float));
    }
}

static int checkpoint_and_stop(const bp_epoch_report *r, void *path)
{
    if (r->in_epoch || r->epoch < 2)
        return 0;
    assert_ok(bp_checkpoint_save(r->trainer, path));
    return 1;
}

static void test_resume_bit_identical(void **state)
{
    (void)state;
    bp_dataset *ds = load_digits(), *tr, *va;
    assert_ok(bp_dataset_split(ds, 0.2, 3, &tr, &va));
    bp_train_options o;
    bp_train_options_default(&o);
    o.epochs = 4;
    o.batch_size = 64;
    o.learning_rate = 0.003f;
    o.optimizer = BP_OPT_ADAMW;
    o.weight_decay = 0.01f;
    o.dropout = 0.1f;
    o.patience = 10;
    o.schedule = BP_SCHED_COSINE;
    o.threads = 2;
    /* Uninterrupted. */
    bp_net *a = digits_net(tr, 8);
    assert_ok(bp_train(a, tr, va, &o));
    /* The same run, checkpointed after epoch 2 by the progress callback,
     * which then stops it as a crash would; resumed in a fresh trainer. */
    bp_net *b = digits_net(tr, 8);
    bp_trainer *t;
    char path[256];
    write_temp_file(path, sizeof path, ".bpc", "", 0);
    o.progress = checkpoint_and_stop;
    o.progress_user = path;
    assert_ok(bp_trainer_create(&t, b, &o));
    assert_int_equal(bp_trainer_run(t, tr, va), BP_ERR_INTERRUPTED);
    bp_trainer_free(t);
    bp_net_free(b);
    bp_net *c;
    assert_ok(bp_checkpoint_load(path, &c, &t));
    assert_int_equal(bp_trainer_epoch(t), 2);
    assert_int_equal(bp_trainer_options(t)->epochs, 4);
    assert_ok(bp_trainer_run(t, tr, va));
    assert_int_equal(bp_net_param_count(a), bp_net_param_count(c));
    assert_memory_equal(bp_net_params_const(a), bp_net_params_const(c),
                        bp_net_param_count(a) * sizeof(float));
    bp_trainer_free(t);
    bp_net_free(c);
    bp_net_free(a);
    remove(path);
    bp_dataset_free(ds);
    bp_dataset_free(tr);
    bp_dataset_free(va);
}

static void test_divergence_stops_with_message(void **state)
{
    (void)state;
    bp_dataset *ds = load_digits();
    bp_layer_spec L[2] = {BP_LAYER(16, BP_ACT_LINEAR, 1, 0), BP_LAYER(10, BP_ACT_LINEAR, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 64, 2, L, BP_LOSS_MSE));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 1));
    bp_train_options o;
    bp_train_options_default(&o);
    o.optimizer = BP_OPT_SGD;
    o.learning_rate = 1000.0f; /* unscaled pixel values 0..16 and η = 1000 */
    o.epochs = 3;
    o.batch_size = 32;
    bp_status st = bp_train(net, ds, NULL, &o);
    assert_int_equal(st, BP_ERR_NUMERIC);
    assert_errmsg_contains("diverged");
    assert_errmsg_contains("epoch 1, batch");
    assert_errmsg_contains("layer ");
    assert_errmsg_contains("learning rate");
    /* The weights were restored to the last good state: all finite. */
    const float *p = bp_net_params_const(net);
    for (size_t i = 0; i < bp_net_param_count(net); i++)
        assert_true(isfinite(p[i]));
    bp_net_free(net);
    bp_dataset_free(ds);
}

static void test_accuracy_targets_small_sets(void **state)
{
    (void)state;
    /* Iris: ≥ 93% on a held-out 30%. */
    bp_dataset *ds, *tr, *te;
    assert_ok(bp_dataset_read_csv(&ds, "data/iris.csv", NULL));
    assert_ok(bp_dataset_split(ds, 0.3, 42, &tr, &te));
    bp_layer_spec L[2] = {BP_LAYER(16, BP_ACT_RELU, 1, 0), BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 4, 2, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_HE, 42));
    assert_ok(bp_net_fit_scaling(net, tr, BP_SCALE_STANDARD));
    bp_train_options o;
    bp_train_options_default(&o);
    o.epochs = 100;
    o.batch_size = 16;
    o.learning_rate = 0.01f;
    assert_ok(bp_train(net, tr, NULL, &o));
    bp_metrics m;
    bp_metrics_init(&m);
    assert_ok(bp_evaluate(net, te, 1, &m));
    if (m.accuracy < 0.93)
        fail_msg("iris held-out accuracy %.4f < 0.93", m.accuracy);
    bp_metrics_clear(&m);
    bp_net_free(net);
    bp_dataset_free(ds);
    bp_dataset_free(tr);
    bp_dataset_free(te);

    /* Digits: ≥ 95% on a held-out 20%. */
    ds = load_digits();
    assert_ok(bp_dataset_split(ds, 0.2, 42, &tr, &te));
    net = digits_net(tr, 42);
    bp_train_options_default(&o);
    o.epochs = 30;
    o.batch_size = 32;
    o.learning_rate = 0.001f;
    assert_ok(bp_train(net, tr, NULL, &o));
    assert_ok(bp_evaluate(net, te, 1, &m));
    if (m.accuracy < 0.95)
        fail_msg("digits held-out accuracy %.4f < 0.95", m.accuracy);
    bp_metrics_clear(&m);
    bp_net_free(net);
    bp_dataset_free(ds);
    bp_dataset_free(tr);
    bp_dataset_free(te);
}

static void test_shape_mismatch_rejected(void **state)
{
    (void)state;
    bp_dataset *ds = load_digits();
    bp_layer_spec L[1] = {BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 64, 1, L, BP_LOSS_XENT));
    assert_int_equal(bp_train(net, ds, NULL, NULL), BP_ERR_SHAPE);
    assert_errmsg_contains("10 target values per row but the net has 3 outputs");
    bp_metrics m;
    bp_metrics_init(&m);
    assert_int_equal(bp_evaluate(net, ds, 1, &m), BP_ERR_SHAPE);
    bp_net_free(net);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optimizer_steps),
        cmocka_unit_test(test_rprop_sign_change),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_metrics_values),
        cmocka_unit_test(test_threads_bit_identical),
        cmocka_unit_test(test_resume_bit_identical),
        cmocka_unit_test(test_divergence_stops_with_message),
        cmocka_unit_test(test_accuracy_targets_small_sets),
        cmocka_unit_test(test_shape_mismatch_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
