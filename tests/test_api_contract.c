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


/* ---- NULL and out-of-range arguments: every public function ------------- */

#define ARG_FAILS(expr)                                                                   \
    do {                                                                                  \
        bp_error(BP_OK, "%s", "");                                                        \
        bp_status st_ = (expr);                                                           \
        if (st_ == BP_OK)                                                                 \
            fail_msg("%s returned BP_OK", #expr);                                         \
        if (!bp_errmsg()[0])                                                              \
            fail_msg("%s failed without a message", #expr);                               \
    } while (0)

typedef struct world {
    bp_net *net;
    bp_workspace *ws;
    bp_dataset *ds;
    bp_trainer *tr;
    float x[2], t[2];
    char path[128], text[128];
} world;

static void make_world(world *w)
{
    w->net = small_net();
    assert_ok(bp_workspace_create(&w->ws, w->net, 4, 1));
    w->ds = small_data();
    assert_ok(bp_trainer_create(&w->tr, w->net, NULL));
    w->x[0] = 0.5f;
    w->x[1] = -0.5f;
    w->t[0] = 1.0f;
    w->t[1] = 0.0f;
    snprintf(w->path, sizeof w->path, "/tmp/bp_contract_%ld.out", (long)getpid());
    snprintf(w->text, sizeof w->text, "/tmp/bp_contract_%ld.txt", (long)getpid());
}

static void free_world(world *w)
{
    bp_trainer_free(w->tr);
    bp_workspace_free(w->ws);
    bp_dataset_free(w->ds);
    bp_net_free(w->net);
    remove(w->path);
    remove(w->text);
}

/* Groups 1: names, parsers, nets. */
static void test_null_nets_and_names(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    bp_net *const sentinel = (bp_net *)&w; /* outputs must come back NULL, not stay */
    assert_non_null(bp_version());
    assert_non_null(bp_isa());
    assert_non_null(bp_errmsg());
    assert_string_equal(bp_status_string((bp_status)99), "unknown status");
    assert_string_equal(bp_activation_name((bp_activation)99), "?");
    assert_string_equal(bp_activation_name((bp_activation)-1), "?");
    assert_string_equal(bp_loss_name((bp_loss)99), "?");
    assert_string_equal(bp_init_name((bp_init)99), "?");
    assert_string_equal(bp_optimizer_name((bp_optimizer)99), "?");
    assert_string_equal(bp_schedule_name((bp_schedule)99), "?");
    assert_string_equal(bp_scaling_name((bp_scaling)99), "?");
    bp_activation act;
    bp_loss loss;
    bp_init init;
    bp_optimizer opt;
    bp_schedule sch;
    bp_scaling sca;
    ARG_FAILS(bp_activation_parse(NULL, &act));
    ARG_FAILS(bp_activation_parse("relu", NULL));
    ARG_FAILS(bp_loss_parse(NULL, &loss));
    ARG_FAILS(bp_loss_parse("mse", NULL));
    ARG_FAILS(bp_init_parse(NULL, &init));
    ARG_FAILS(bp_init_parse("he", NULL));
    ARG_FAILS(bp_optimizer_parse(NULL, &opt));
    ARG_FAILS(bp_optimizer_parse("sgd", NULL));
    ARG_FAILS(bp_schedule_parse(NULL, &sch));
    ARG_FAILS(bp_schedule_parse("step", NULL));
    ARG_FAILS(bp_scaling_parse(NULL, &sca));
    ARG_FAILS(bp_scaling_parse("minmax", NULL));
    (void)bp_activation_apply((bp_activation)99, 1.0f, 0.0f);
    (void)bp_activation_derivative((bp_activation)99, 1.0f, 0.0f);
    (void)bp_activation_apply(BP_ACT_SOFTMAX, 1.0f, 0.0f);
    bp_layer_spec_init(NULL, sizeof(bp_layer_spec));
    bp_csv_options_init(NULL, sizeof(bp_csv_options));
    bp_train_options_init(NULL, sizeof(bp_train_options));
    bp_metrics_init_size(NULL, sizeof(bp_metrics));

    bp_net *n = sentinel;
    bp_layer_spec L[1] = {BP_LAYER(2, BP_ACT_LINEAR, 1, 0)};
    ARG_FAILS(bp_net_create(NULL, 2, 1, L, BP_LOSS_MSE));
    ARG_FAILS(bp_net_create(&n, 2, 1, NULL, BP_LOSS_MSE));
    assert_null(n);
    bp_net_free(NULL);
    n = sentinel;
    ARG_FAILS(bp_net_clone(NULL, &n));
    assert_null(n);
    ARG_FAILS(bp_net_clone(w.net, NULL));
    ARG_FAILS(bp_net_copy_params(NULL, w.net));
    ARG_FAILS(bp_net_copy_params(w.net, NULL));
    ARG_FAILS(bp_net_init(NULL, BP_INIT_HE, 1));
    assert_int_equal(bp_net_inputs(NULL), 0);
    assert_int_equal(bp_net_outputs(NULL), 0);
    assert_int_equal(bp_net_layers(NULL), 0);
    assert_int_equal(bp_net_layer(NULL, 0).units, 0);
    assert_int_equal(bp_net_layer(NULL, 0).size, 0);
    assert_int_equal(bp_net_fan_in(NULL, 0), 0);
    assert_int_equal(bp_net_loss(NULL), BP_LOSS_MSE);
    assert_int_equal(bp_net_param_count(NULL), 0);
    assert_int_equal(bp_net_max_width(NULL), 0);
    char buf[32];
    assert_null(bp_neuron_name(NULL, 0, 0, buf, sizeof buf));
    assert_null(bp_neuron_name(w.net, 0, 0, NULL, sizeof buf));
    assert_null(bp_neuron_name(w.net, 0, 0, buf, 0));
    assert_null(bp_net_weights(NULL, 0));
    assert_null(bp_net_biases(NULL, 0));
    assert_null(bp_net_weights_const(NULL, 0));
    assert_null(bp_net_biases_const(NULL, 0));
    assert_null(bp_net_params(NULL));
    assert_null(bp_net_params_const(NULL));
    ARG_FAILS(bp_net_set_scaling(NULL, w.x, w.x));
    ARG_FAILS(bp_net_set_scaling(w.net, w.x, NULL));
    const float *sh = w.x, *sc = w.x;
    assert_int_equal(bp_net_scaling(NULL, &sh, &sc), 0);
    assert_null(sh);
    assert_null(sc);
    assert_int_equal(bp_net_scaling(w.net, NULL, NULL), 0);
    float out[4];
    bp_net_scale_inputs(NULL, w.x, out, 1);
    bp_net_scale_inputs(w.net, NULL, out, 1);
    bp_net_scale_inputs(w.net, w.x, NULL, 1);
    ARG_FAILS(bp_net_set_meta(NULL, "k", "v"));
    ARG_FAILS(bp_net_set_meta(w.net, NULL, "v"));
    ARG_FAILS(bp_net_set_meta(w.net, "k", NULL));
    assert_null(bp_net_get_meta(NULL, "k"));
    assert_null(bp_net_get_meta(w.net, NULL));
    assert_int_equal(bp_net_meta_count(NULL), 0);
    const char *k = "x", *v = "y";
    bp_net_meta_at(NULL, 0, &k, &v);
    assert_null(k);
    assert_null(v);
    bp_net_meta_at(w.net, 0, NULL, NULL);

    bp_sample_clear(NULL);
    n = sentinel;
    ARG_FAILS(bp_net_read_text(&n, NULL, NULL));
    assert_null(n);
    ARG_FAILS(bp_net_read_text(NULL, NULL, w.path));
    n = sentinel;
    ARG_FAILS(bp_net_parse_text(&n, NULL, NULL, 0, "x"));
    assert_null(n);
    ARG_FAILS(bp_net_parse_text(&n, NULL, "bogus", 5, NULL));
    assert_null(n);
    ARG_FAILS(bp_net_write_text(NULL, NULL, w.path));
    ARG_FAILS(bp_net_write_text(w.net, NULL, NULL));
    ARG_FAILS(bp_net_fprint_text(NULL, NULL, stdout));
    ARG_FAILS(bp_net_fprint_text(w.net, NULL, NULL));

    ARG_FAILS(bp_net_save(NULL, w.path));
    ARG_FAILS(bp_net_save(w.net, NULL));
    n = sentinel;
    ARG_FAILS(bp_net_load(&n, NULL));
    assert_null(n);
    ARG_FAILS(bp_net_load(NULL, w.path));
    n = sentinel;
    ARG_FAILS(bp_net_load_any(&n, NULL));
    assert_null(n);
    ARG_FAILS(bp_net_load_any(NULL, w.path));
    ARG_FAILS(bp_draw_svg(NULL, NULL, NULL, w.path));
    ARG_FAILS(bp_draw_svg(w.net, NULL, NULL, NULL));
    ARG_FAILS(bp_plot_svg(NULL, w.path));
    ARG_FAILS(bp_plot_svg(w.path, NULL));
    ARG_FAILS(bp_explain_step(NULL, w.x, w.t, 0.1f, BP_TRACE_TEXT, stdout));
    ARG_FAILS(bp_explain_step(w.net, NULL, w.t, 0.1f, BP_TRACE_TEXT, stdout));
    ARG_FAILS(bp_explain_step(w.net, w.x, NULL, 0.1f, BP_TRACE_TEXT, stdout));
    ARG_FAILS(bp_explain_step(w.net, w.x, w.t, 0.1f, BP_TRACE_TEXT, NULL));
    bp_gradcheck_result gr;
    ARG_FAILS(bp_gradcheck(NULL, w.x, w.t, 1, &gr));
    ARG_FAILS(bp_gradcheck(w.net, NULL, w.t, 1, &gr));
    ARG_FAILS(bp_gradcheck(w.net, w.x, NULL, 1, &gr));
    ARG_FAILS(bp_gradcheck(w.net, w.x, w.t, 1, NULL));
    free_world(&w);
}

/* Group 2: workspaces, passes, data sets, training, evaluation, checkpoints. */
static void test_null_passes_data_training(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    bp_workspace *ws = (bp_workspace *)&w;
    ARG_FAILS(bp_workspace_create(&ws, NULL, 4, 1));
    assert_null(ws);
    ARG_FAILS(bp_workspace_create(NULL, w.net, 4, 1));
    bp_workspace_free(NULL);
    assert_int_equal(bp_workspace_max_batch(NULL), 0);
    assert_int_equal(bp_workspace_threads(NULL), 0);
    assert_int_equal(bp_workspace_batch(NULL), 0);
    assert_null(bp_workspace_s(NULL, 0));
    assert_null(bp_workspace_a(NULL, 0));
    assert_null(bp_workspace_delta(NULL, 0));
    assert_null(bp_workspace_grad_w(NULL, 0));
    assert_null(bp_workspace_grad_b(NULL, 0));
    assert_null(bp_workspace_grads(NULL));
    float l, out[4];
    ARG_FAILS(bp_forward(NULL, w.ws, w.x, 1));
    ARG_FAILS(bp_forward(w.net, NULL, w.x, 1));
    ARG_FAILS(bp_forward(w.net, w.ws, NULL, 1));
    assert_ok(bp_forward(w.net, w.ws, w.x, 1));
    ARG_FAILS(bp_loss_value(NULL, w.ws, w.t, 1, &l));
    ARG_FAILS(bp_loss_value(w.net, NULL, w.t, 1, &l));
    ARG_FAILS(bp_loss_value(w.net, w.ws, NULL, 1, &l));
    ARG_FAILS(bp_loss_value(w.net, w.ws, w.t, 1, NULL));
    ARG_FAILS(bp_backward(NULL, w.ws, w.x, w.t, 1, &l));
    ARG_FAILS(bp_backward(w.net, NULL, w.x, w.t, 1, &l));
    ARG_FAILS(bp_backward(w.net, w.ws, NULL, w.t, 1, &l));
    ARG_FAILS(bp_backward(w.net, w.ws, w.x, NULL, 1, &l));
    ARG_FAILS(bp_sgd_step(NULL, w.ws, 0.1f));
    ARG_FAILS(bp_sgd_step(w.net, NULL, 0.1f));
    ARG_FAILS(bp_train_sample(NULL, w.ws, w.x, w.t, 0.1f, &l));
    ARG_FAILS(bp_train_sample(w.net, NULL, w.x, w.t, 0.1f, &l));
    ARG_FAILS(bp_train_sample(w.net, w.ws, NULL, w.t, 0.1f, &l));
    ARG_FAILS(bp_train_sample(w.net, w.ws, w.x, NULL, 0.1f, &l));
    ARG_FAILS(bp_predict(NULL, w.ws, w.x, 1, out));
    ARG_FAILS(bp_predict(w.net, NULL, w.x, 1, out));
    ARG_FAILS(bp_predict(w.net, w.ws, NULL, 1, out));
    ARG_FAILS(bp_predict(w.net, w.ws, w.x, 1, NULL));

    bp_dataset *const dsent = (bp_dataset *)&w;
    bp_dataset *a = dsent, *b = dsent;
    ARG_FAILS(bp_dataset_create(NULL, 1, 1, 1));
    bp_dataset_free(NULL);
    int32_t lab[4] = {0, 1, 0, 1};
    const char *names[2] = {"a", "b"};
    size_t idx[1] = {0};
    ARG_FAILS(bp_dataset_set_labels(NULL, lab, 2));
    ARG_FAILS(bp_dataset_set_labels(w.ds, NULL, 2));
    ARG_FAILS(bp_dataset_set_class_names(NULL, 2, names));
    assert_null(bp_dataset_class_name(NULL, 0));
    ARG_FAILS(bp_dataset_set_input_names(NULL, names));
    assert_null(bp_dataset_input_name(NULL, 0));
    ARG_FAILS(bp_dataset_subset(NULL, idx, 1, &a));
    assert_null(a);
    ARG_FAILS(bp_dataset_subset(w.ds, idx, 1, NULL));
    a = dsent;
    ARG_FAILS(bp_dataset_split(NULL, 0.5, 1, &a, &b));
    assert_null(a);
    assert_null(b);
    b = dsent;
    ARG_FAILS(bp_dataset_split(w.ds, 0.5, 1, NULL, &b));
    assert_null(b);
    a = b = dsent;
    ARG_FAILS(bp_dataset_split_stratified(NULL, 0.5, 1, &a, &b));
    assert_null(a);
    assert_null(b);
    a = dsent;
    ARG_FAILS(bp_dataset_split_stratified(w.ds, 0.5, 1, &a, NULL));
    assert_null(a);
    ARG_FAILS(bp_dataset_check_finite(NULL, "x"));
    a = dsent;
    ARG_FAILS(bp_dataset_read_csv(&a, NULL, NULL));
    assert_null(a);
    ARG_FAILS(bp_dataset_read_csv(NULL, "data/iris.csv", NULL));
    a = dsent;
    ARG_FAILS(bp_dataset_read_idx(&a, NULL, NULL));
    assert_null(a);
    a = dsent;
    ARG_FAILS(bp_dataset_read_fann(&a, NULL));
    assert_null(a);
    ARG_FAILS(bp_dataset_write_fann(NULL, w.path));
    ARG_FAILS(bp_dataset_write_fann(w.ds, NULL));
    a = b = dsent;
    ARG_FAILS(bp_dataset_load_named(NULL, NULL, &a, &b));
    assert_null(a);
    assert_null(b);
    a = dsent;
    ARG_FAILS(bp_dataset_load_named("mnist", NULL, &a, NULL));
    assert_null(a);

    bp_trainer *tr = (bp_trainer *)&w;
    ARG_FAILS(bp_trainer_create(&tr, NULL, NULL));
    assert_null(tr);
    ARG_FAILS(bp_trainer_create(NULL, w.net, NULL));
    bp_trainer_free(NULL);
    ARG_FAILS(bp_trainer_run(NULL, w.ds, NULL));
    ARG_FAILS(bp_trainer_run(w.tr, NULL, NULL));
    assert_int_equal(bp_trainer_epoch(NULL), 0);
    assert_null(bp_trainer_net(NULL));
    assert_null(bp_trainer_options(NULL));
    bp_trainer_set_progress(NULL, NULL, NULL, 0);
    bp_trainer_set_epochs(NULL, 3);
    assert_true(isnan(bp_schedule_lr(NULL, 0)));
    ARG_FAILS(bp_train(NULL, w.ds, NULL, NULL));
    ARG_FAILS(bp_train(w.net, NULL, NULL, NULL));
    ARG_FAILS(bp_net_fit_scaling(NULL, w.ds, BP_SCALE_MINMAX));
    ARG_FAILS(bp_net_fit_scaling(w.net, NULL, BP_SCALE_MINMAX));

    bp_metrics m;
    bp_metrics_init(&m);
    ARG_FAILS(bp_evaluate(NULL, w.ds, 1, &m));
    ARG_FAILS(bp_evaluate(w.net, NULL, 1, &m));
    ARG_FAILS(bp_evaluate(w.net, w.ds, 1, NULL));
    bp_metrics_clear(NULL);
    float o2[2] = {0.3f, 0.7f};
    ARG_FAILS(bp_metrics_compute(NULL, o2, lab, 1, 2, 2, &m));
    ARG_FAILS(bp_metrics_compute(o2, NULL, lab, 1, 2, 2, NULL));

    ARG_FAILS(bp_checkpoint_save(NULL, w.path));
    ARG_FAILS(bp_checkpoint_save(w.tr, NULL));
    bp_net *n = (bp_net *)&w;
    tr = (bp_trainer *)&w;
    ARG_FAILS(bp_checkpoint_load(NULL, &n, &tr));
    assert_null(n);
    assert_null(tr);
    tr = (bp_trainer *)&w;
    ARG_FAILS(bp_checkpoint_load(w.path, NULL, &tr));
    assert_null(tr);
    free_world(&w);
}

/* Indices outside their range: NULL, 0 or a zeroed spec, never a crash. */
static void test_out_of_range_indices(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    const int bad[] = {-1, 2, 64, 99, -1000000, 1 << 30};
    char buf[32];
    assert_ok(bp_forward(w.net, w.ws, w.x, 1));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int l = bad[i];
        assert_int_equal(bp_net_layer(w.net, l).units, 0);
        assert_int_equal(bp_net_fan_in(w.net, l), 0);
        assert_null(bp_net_weights(w.net, l));
        assert_null(bp_net_biases(w.net, l));
        assert_null(bp_net_weights_const(w.net, l));
        assert_null(bp_net_biases_const(w.net, l));
        assert_null(bp_workspace_s(w.ws, l));
        assert_null(bp_workspace_a(w.ws, l));
        assert_null(bp_workspace_delta(w.ws, l));
        assert_null(bp_workspace_grad_w(w.ws, l));
        assert_null(bp_workspace_grad_b(w.ws, l));
        assert_null(bp_dataset_class_name(w.ds, l));
        assert_null(bp_dataset_input_name(w.ds, l));
        if (l != -1)
            assert_null(bp_neuron_name(w.net, l, 0, buf, sizeof buf));
        assert_null(bp_neuron_name(w.net, 0, l < 0 ? l : l + 3, buf, sizeof buf));
        const char *k = "x", *v = "y";
        bp_net_meta_at(w.net, l, &k, &v);
        assert_null(k);
        assert_null(v);
    }
    /* in range still works */
    assert_int_equal(bp_net_layer(w.net, 1).units, 2);
    assert_non_null(bp_net_weights(w.net, 1));
    assert_non_null(bp_workspace_a(w.ws, 1));
    assert_string_equal(bp_neuron_name(w.net, -1, 1, buf, sizeof buf), "i2");
    assert_string_equal(bp_neuron_name(w.net, 1, 1, buf, sizeof buf), "o2");
    free_world(&w);
}

/* bp_evaluate into a bp_metrics that already holds results frees them first
 * (LSan under SANITIZE=1 reports the leak otherwise). */
static void test_evaluate_reuses_metrics(void **state)
{
    (void)state;
    bp_net *net = small_net();
    bp_dataset *ds = small_data();
    bp_metrics m;
    bp_metrics_init(&m);
    for (int i = 0; i < 3; i++) {
        assert_ok(bp_evaluate(net, ds, 1, &m));
        assert_int_equal(m.classes, 2);
        assert_non_null(m.confusion);
    }
    float o2[4] = {0.3f, 0.7f, 0.9f, 0.1f};
    int32_t lab[2] = {1, 0};
    assert_ok(bp_metrics_compute(o2, NULL, lab, 2, 2, 2, &m));
    assert_close(m.accuracy, 1.0, 0);
    bp_metrics_clear(&m);
    bp_dataset_free(ds);
    bp_net_free(net);
}

/* NaN (or Inf) targets are refused with BP_ERR_NUMERIC naming row and column. */
static void test_nan_targets_refused(void **state)
{
    (void)state;
    bp_layer_spec L[1] = {BP_LAYER(2, BP_ACT_LINEAR, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 1, L, BP_LOSS_MSE));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 1));
    bp_workspace *ws;
    assert_ok(bp_workspace_create(&ws, net, 2, 1));
    float x[4] = {1, 2, 3, 4}, t[4] = {0, 1, 1, NAN}, loss = 0;
    assert_ok(bp_forward(net, ws, x, 2));
    assert_int_equal(bp_loss_value(net, ws, t, 2, &loss), BP_ERR_NUMERIC);
    assert_errmsg_contains("row 2, column 2");
    assert_int_equal(bp_backward(net, ws, x, t, 2, &loss), BP_ERR_NUMERIC);
    assert_errmsg_contains("row 2, column 2 is nan");
    t[3] = INFINITY;
    assert_int_equal(bp_backward(net, ws, x, t, 2, NULL), BP_ERR_NUMERIC);
    float t1[2] = {NAN, 0};
    assert_int_equal(bp_train_sample(net, ws, x, t1, 0.1f, &loss), BP_ERR_NUMERIC);
    assert_errmsg_contains("row 1, column 1");
    t[3] = 1;
    assert_ok(bp_forward(net, ws, x, 2));
    assert_ok(bp_loss_value(net, ws, t, 2, &loss));
    bp_workspace_free(ws);
    bp_net_free(net);
}

static int stop_after_64(size_t done, size_t total, void *user)
{
    (void)total;
    ++*(int *)user;
    return done >= 64;
}

/* A seeded sample: exactly max_params checked, the same for the same seed;
 * the progress callback can stop it. */
static void test_gradcheck_sample(void **state)
{
    (void)state;
    bp_layer_spec L[2] = {BP_LAYER(40, BP_ACT_TANH, 1, 0), BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 30, 2, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 2));
    float x[60], t[6] = {1, 0, 0, 0, 0, 1};
    for (int i = 0; i < 60; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    bp_gradcheck_result a, b, all;
    assert_ok(bp_gradcheck_sample(net, x, t, 2, 100, 7, NULL, NULL, &a));
    assert_ok(bp_gradcheck_sample(net, x, t, 2, 100, 7, NULL, NULL, &b));
    assert_int_equal(a.params_checked, 100);
    assert_int_equal(a.worst_param, b.worst_param);
    assert_true(a.max_rel_error_double == b.max_rel_error_double);
    assert_true(a.max_rel_error_double < 1e-4);
    assert_ok(bp_gradcheck(net, x, t, 2, &all));
    assert_int_equal(all.params_checked, bp_net_param_count(net));
    assert_true(all.max_rel_error_double >= a.max_rel_error_double);
    int calls = 0;
    assert_int_equal(bp_gradcheck_sample(net, x, t, 2, 500, 7, stop_after_64, &calls, &a),
                     BP_ERR_INTERRUPTED);
    assert_int_equal(calls, 1);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_set_size),
        cmocka_unit_test(test_newer_structs_accepted),
        cmocka_unit_test(test_zeroed_structs_refused),
        cmocka_unit_test(test_null_nets_and_names),
        cmocka_unit_test(test_null_passes_data_training),
        cmocka_unit_test(test_out_of_range_indices),
        cmocka_unit_test(test_evaluate_reuses_metrics),
        cmocka_unit_test(test_nan_targets_refused),
        cmocka_unit_test(test_gradcheck_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
