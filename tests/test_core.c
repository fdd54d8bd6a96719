/* The core maths: the article's worked example, a second hand-checked net,
 * activation derivatives, gradient checks, the .net format. */
#include <pthread.h>

#include "testutil.h"

/* Values computed by hand (in double precision) for examples/article.net. */
static const double article_s_h[3] = {0.423, 0.093, 0.956};
static const double article_a_h[3] = {0.6042009001831193, 0.5232332570433341, 0.7223202241520781};
static const double article_a_o[2] = {0.5924779190012273, 0.682736184074856};
static const double article_d_o[2] = {-0.09839532396694721, 0.14788576913674242};
static const double article_d_h[3] = {0.02122503580371201, 0.006663862940180401,
                                      0.0024745736939984484};
static const double article_w_new[12] = {
    0.7189387482098144, 0.06808974677766592, 0.05966680685299098, 0.06940025233538377,
    0.5798762713153001, 0.7397772883675401, 0.1259450543314639, 0.48514837058370597,
    0.07710729324633217, 0.6710647285163308, 0.4922621247344224, 0.11931791180882458};

static void test_article_example(void **state)
{
    (void)state;
    bp_net *net;
    bp_sample sample;
    assert_ok(bp_net_read_text(&net, &sample, "examples/article.net"));
    assert_int_equal(bp_net_inputs(net), 2);
    assert_int_equal(bp_net_layers(net), 2);
    assert_int_equal(bp_net_param_count(net), 12);
    assert_true(sample.has_input && sample.has_target && sample.has_lr);
    assert_close(sample.lr, 0.1, 1e-7);

    bp_workspace *ws;
    assert_ok(bp_workspace_create(&ws, net, 1, 1));
    float loss;
    assert_ok(bp_forward(net, ws, sample.input, 1));
    assert_ok(bp_backward(net, ws, sample.input, sample.target, 1, &loss));
    for (int j = 0; j < 3; j++) {
        assert_close(bp_workspace_s(ws, 0)[j], article_s_h[j], 1e-6);
        assert_close(bp_workspace_a(ws, 0)[j], article_a_h[j], 1e-6);
        assert_close(bp_workspace_delta(ws, 0)[j], article_d_h[j], 1e-6);
    }
    for (int k = 0; k < 2; k++) {
        assert_close(bp_workspace_a(ws, 1)[k], article_a_o[k], 1e-6);
        assert_close(bp_workspace_delta(ws, 1)[k], article_d_o[k], 1e-6);
    }
    /* The article's printed deltas, at its 4 decimals. */
    assert_close(round(bp_workspace_delta(ws, 1)[0] * 1e4) / 1e4, -0.0984, 1e-9);
    assert_close(round(bp_workspace_delta(ws, 1)[1] * 1e4) / 1e4, 0.1479, 1e-9);
    assert_close(loss, 0.316101471773333, 1e-6);
    /* ∂E/∂w7 = δo1 · a_h1 */
    assert_close(bp_workspace_grad_w(ws, 1)[0], article_d_o[0] * article_a_h[0], 1e-6);
    assert_ok(bp_sgd_step(net, ws, sample.lr));
    const float *p = bp_net_params_const(net);
    for (int i = 0; i < 12; i++)
        assert_close(p[i], article_w_new[i], 1e-6);
    bp_workspace_free(ws);
    bp_sample_clear(&sample);
    bp_net_free(net);
}

/* The online path (GEMV + rank-1 updates) must give the same step. */
static void test_article_online_step(void **state)
{
    (void)state;
    bp_net *net;
    bp_sample sample;
    assert_ok(bp_net_read_text(&net, &sample, "examples/article.net"));
    bp_workspace *ws;
    assert_ok(bp_workspace_create(&ws, net, 1, 1));
    float loss;
    assert_ok(bp_train_sample(net, ws, sample.input, sample.target, sample.lr, &loss));
    assert_close(loss, 0.316101471773333, 1e-6);
    const float *p = bp_net_params_const(net);
    for (int i = 0; i < 12; i++)
        assert_close(p[i], article_w_new[i], 1e-6);
    bp_workspace_free(ws);
    bp_sample_clear(&sample);
    bp_net_free(net);
}

/* 2-2-1: tanh hidden with bias, linear output with bias, MSE, η = 0.05. */
static void test_second_network_by_hand(void **state)
{
    (void)state;
    bp_layer_spec L[2] = {BP_LAYER(2, BP_ACT_TANH, 1, 0), BP_LAYER(1, BP_ACT_LINEAR, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 2, L, BP_LOSS_MSE));
    const float w1[4] = {0.1f, -0.2f, 0.3f, 0.4f}, b1[2] = {0.05f, -0.1f};
    const float w2[2] = {0.7f, -0.6f}, b2[1] = {0.2f};
    memcpy(bp_net_weights(net, 0), w1, sizeof w1);
    memcpy(bp_net_biases(net, 0), b1, sizeof b1);
    memcpy(bp_net_weights(net, 1), w2, sizeof w2);
    memcpy(bp_net_biases(net, 1), b2, sizeof b2);
    const float x[2] = {1.0f, -2.0f}, t[1] = {0.5f};
    bp_workspace *ws;
    assert_ok(bp_workspace_create(&ws, net, 4, 1));
    float loss;
    assert_ok(bp_forward(net, ws, x, 1));
    assert_ok(bp_backward(net, ws, x, t, 1, &loss));
    assert_close(bp_workspace_s(ws, 0)[0], 0.55, 1e-6);
    assert_close(bp_workspace_s(ws, 0)[1], -0.6, 1e-6);
    assert_close(bp_workspace_a(ws, 0)[0], 0.5005202111902353, 1e-6);
    assert_close(bp_workspace_a(ws, 0)[1], -0.5370495669980353, 1e-6);
    assert_close(bp_workspace_a(ws, 1)[0], 0.8725938880319859, 1e-6);
    assert_close(bp_workspace_delta(ws, 1)[0], 0.3725938880319859, 1e-6);
    assert_close(bp_workspace_delta(ws, 0)[0], 0.19547604137794758, 1e-6);
    assert_close(bp_workspace_delta(ws, 0)[1], -0.15907771511968485, 1e-6);
    assert_close(loss, 0.06941310269939602, 1e-6);
    assert_ok(bp_sgd_step(net, ws, 0.05f));
    const double w1n[4] = {0.09022619793110262, -0.18045239586220524, 0.30795388575598426,
                           0.38409222848803154};
    for (int i = 0; i < 4; i++)
        assert_close(bp_net_weights(net, 0)[i], w1n[i], 1e-6);
    assert_close(bp_net_biases(net, 0)[0], 0.040226197931102624, 1e-6);
    assert_close(bp_net_biases(net, 0)[1], -0.09204611424401576, 1e-6);
    assert_close(bp_net_weights(net, 1)[0], 0.690675461423702, 1e-6);
    assert_close(bp_net_weights(net, 1)[1], -0.5899949306883153, 1e-6);
    assert_close(bp_net_biases(net, 1)[0], 0.18137030559840073, 1e-6);

    /* A batch of two identical rows averages to the same gradient. */
    const float x2[4] = {1, -2, 1, -2}, t2[2] = {0.5f, 0.5f};
    float g_single[9], g_batch[9];
    assert_ok(bp_forward(net, ws, x, 1));
    assert_ok(bp_backward(net, ws, x, t, 1, NULL));
    memcpy(g_single, bp_workspace_grads(ws), sizeof g_single);
    assert_ok(bp_forward(net, ws, x2, 2));
    assert_ok(bp_backward(net, ws, x2, t2, 2, NULL));
    memcpy(g_batch, bp_workspace_grads(ws), sizeof g_batch);
    for (int i = 0; i < 9; i++)
        assert_close(g_batch[i], g_single[i], 1e-7);
    bp_workspace_free(ws);
    bp_net_free(net);
}

static void test_activation_derivatives(void **state)
{
    (void)state;
    const float points[] = {-3.0f, -0.7f, -0.01f, 0.02f, 0.5f, 2.5f};
    for (int act = 0; act < BP_ACT_COUNT_; act++) {
        if (act == BP_ACT_SOFTMAX)
            continue;
        for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
            double s = points[i], h = 1e-3;
            double up = bp_activation_apply((bp_activation)act, (float)(s + h), 0.01f);
            double down = bp_activation_apply((bp_activation)act, (float)(s - h), 0.01f);
            double numeric = (up - down) / (2 * h);
            double analytic = bp_activation_derivative((bp_activation)act, (float)s, 0.01f);
            if (fabs(numeric - analytic) > 2e-3)
                fail_msg("%s'(%g): analytic %g, numeric %g", bp_activation_name(act), s,
                         analytic, numeric);
        }
    }
    /* Known values. */
    assert_close(bp_activation_apply(BP_ACT_SIGMOID, 0, 0), 0.5, 1e-7);
    assert_close(bp_activation_derivative(BP_ACT_SIGMOID, 0, 0), 0.25, 1e-7);
    assert_close(bp_activation_derivative(BP_ACT_TANH, 0, 0), 1.0, 1e-7);
    assert_close(bp_activation_apply(BP_ACT_LEAKY_RELU, -2, 0.1f), -0.2, 1e-7);
    assert_close(bp_activation_derivative(BP_ACT_RELU, -1, 0), 0.0, 0);
    assert_close(bp_activation_derivative(BP_ACT_RELU, 1, 0), 1.0, 0);
}

/* Every activation × loss combination the library allows. */
static void test_gradcheck_all_combinations(void **state)
{
    (void)state;
    int checked = 0;
    for (int hidden = 0; hidden < BP_ACT_COUNT_; hidden++) {
        if (hidden == BP_ACT_SOFTMAX)
            continue;
        for (int out = 0; out < BP_ACT_COUNT_; out++) {
            for (int loss = 0; loss < BP_LOSS_COUNT_; loss++) {
                bp_layer_spec L[3] = {BP_LAYER(5, (bp_activation)hidden, 1, BP_SLOPE_DEFAULT),
                                      BP_LAYER(4, (bp_activation)hidden, 0, 0.2f),
                                      BP_LAYER(3, (bp_activation)out, 1, BP_SLOPE_DEFAULT)};
                bp_net *net;
                bp_status st = bp_net_create(&net, 3, 3, L, (bp_loss)loss);
                if ((loss == BP_LOSS_XENT && out != BP_ACT_SOFTMAX) ||
                    (loss == BP_LOSS_BCE && out != BP_ACT_SIGMOID)) {
                    assert_int_equal(st, BP_ERR_ARG); /* refused, with a reason */
                    assert_errmsg_contains("needs");
                    continue;
                }
                assert_ok(st);
                assert_ok(bp_net_init(net, BP_INIT_XAVIER, (uint64_t)(hidden * 31 + out)));
                /* Non-zero biases keep every s off ReLU's kink at 0, where finite
                 * differences and the subgradient legitimately disagree. */
                for (int l = 0; l < 3; l++) {
                    float *b = bp_net_biases(net, l);
                    for (int j = 0; b && j < L[l].units; j++)
                        b[j] = 0.05f + 0.03f * (float)j;
                }
                float x[4 * 3], t[4 * 3];
                for (int i = 0; i < 12; i++) {
                    x[i] = (float)sin(i * 1.7 + hidden) * 0.9f;
                    t[i] = (float)(0.5 + 0.4 * cos(i * 2.3 + out));
                }
                if (loss == BP_LOSS_XENT)
                    for (int r = 0; r < 4; r++)
                        for (int k = 0; k < 3; k++)
                            t[r * 3 + k] = k == r % 3;
                bp_gradcheck_result res;
                assert_ok(bp_gradcheck(net, x, t, 4, &res));
                if (!(res.max_rel_error_double < 1e-4) || !(res.max_rel_error_float < 1e-2))
                    fail_msg("%s/%s/%s: double %g, float %g (param %zu)",
                             bp_activation_name(hidden), bp_activation_name(out),
                             bp_loss_name(loss), res.max_rel_error_double,
                             res.max_rel_error_float, res.worst_param);
                checked++;
                bp_net_free(net);
            }
        }
    }
    assert_int_equal(checked, 5 * (6 + 1 + 1)); /* mse with all 6 outputs, xent, bce */
}

/* A wrong gradient must be caught: gradcheck on a net whose output delta we
 * cannot corrupt directly, so compare with a deliberately different net. */
static void test_gradcheck_detects_mismatch(void **state)
{
    (void)state;
    /* ReLU exactly at the kink makes finite differences disagree with the
     * analytic (sub)gradient: the check must report a large error. */
    bp_layer_spec L[2] = {BP_LAYER(1, BP_ACT_RELU, 0, 0), BP_LAYER(1, BP_ACT_LINEAR, 0, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 1, 2, L, BP_LOSS_MSE));
    bp_net_weights(net, 0)[0] = 1.0f;
    bp_net_weights(net, 1)[0] = 1.0f;
    const float x[1] = {0.0f}, t[1] = {1.0f};
    bp_gradcheck_result r;
    assert_ok(bp_gradcheck(net, x, t, 1, &r));
    (void)r; /* w1's gradient: analytic 0 (x = 0) both ways; w2: a = 0 → 0 */
    bp_net_weights(net, 0)[0] = 0.0f;
    const float x2[1] = {1.0f};
    assert_ok(bp_gradcheck(net, x2, t, 1, &r));
    assert_true(r.max_rel_error_double > 1e-2); /* s = 0: one-sided slopes differ */
    bp_net_free(net);
}

typedef struct {
    const char *text;
    const char *message;
} bad_net;

static void test_net_parser_errors(void **state)
{
    (void)state;
    static const bad_net cases[] = {
        {"", "empty file"},
        {"backprop-net 2\n", ":1: format version 2 is not supported"},
        {"hello\n", ":1: expected the header"},
        {"backprop-net 1\nlayer 2 sigmoid\n", ":2: \"inputs N\" must come before"},
        {"backprop-net 1\ninputs 0\n", ":2: inputs must be in 1..1048576"},
        {"backprop-net 1\ninputs 2\nlayer 2 sigmoid nobias\nweights\n1 2\n3\n",
         ":6: layer 1, neuron 2: expected 2 weights"},
        {"backprop-net 1\ninputs 2\nlayer 2 sigmoid nobias\nweights\n1 2 3\n",
         ":5: layer 1, neuron 1: expected 2 weights (one per input to the layer), found 3"},
        {"backprop-net 1\ninputs 2\nlayer 2 sigmoid nobias\nweights\n1 2\n",
         "end of file inside the weights of layer 1"},
        {"backprop-net 1\ninputs 2\nlayer 2 sigmoid nobias\nweights\n1 x\n3 4\n",
         ":5: expected a number for a weight, found \"x\""},
        {"backprop-net 1\ninputs 2\nlayer 2 sigmoid nobias\nweights\n1 nan\n3 4\n",
         ":5: a weight is \"nan\"; only finite numbers"},
        {"backprop-net 1\ninputs 2\nlayer 2 wiggle\n", ":3: unknown activation \"wiggle\""},
        {"backprop-net 1\ninputs 2\nlayer 2 sigmoid\nweights\n1 2\n3 4\n",
         "layer 1 has a bias but no \"biases\" line"},
        {"backprop-net 1\ninputs 2\nlayer 2 sigmoid\nweights\n1 2\n3 4\nbiases 1\n",
         ":7: biases needs 2 values, found 1"},
        {"backprop-net 1\ninputs 2\nlayer 1 sigmoid nobias\n", "layer 1 has no weights"},
        {"backprop-net 1\ninputs 2\nloss hinge\n", ":3: unknown loss \"hinge\""},
        {"backprop-net 1\ninputs 2\nfrobnicate 3\n", ":3: unknown keyword \"frobnicate\""},
        {"backprop-net 1\ninputs 1\nloss xent\nlayer 2 sigmoid nobias\nweights\n1\n2\n",
         "loss xent needs a softmax output layer"},
        {"backprop-net 1\ninputs 1\nlayer 2 softmax nobias\nweights\n1\n2\nlayer 1 linear nobias\n"
         "weights\n1 1\n",
         "softmax is only allowed on the output layer"},
        {"backprop-net 1\ninputs 1\nlayer 1 linear nobias\nweights\n1\ntarget 1 2\n",
         ":6: target has 2 values but the net has 1 outputs"},
        {"backprop-net 1\ninputs 2\nlayer 1 linear nobias\nweights\n1 1\ninput 1\n",
         ":6: input needs 2 values, found 1"},
        {"backprop-net 1\ninputs 1\nlayer 1 linear nobias\nweights\n1\nlr -1\n",
         ":6: the learning rate must be positive"},
        {"backprop-net 1\ninputs 1\nlayer 1 linear nobias\nweights\n1\nweights\n",
         ":6: layer 1 already has weights (from line 4)"},
        {"backprop-net 1\ninputs 1\nlayer 1 linear nobias\nweights\n1\nscaling-shift 0\n",
         "scaling needs both"},
        {"backprop-net 1\ninputs 1\nlayer 1 leaky-relu nobias slope=2\nweights\n1\n",
         "slope must be in [0, 1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bp_net *net = (bp_net *)0x1;
        bp_status st = bp_net_parse_text(&net, NULL, cases[i].text, strlen(cases[i].text), "t.net");
        if (st == BP_OK)
            fail_msg("case %zu parsed but should fail with \"%s\"", i, cases[i].message);
        assert_null(net);
        if (!strstr(bp_errmsg(), cases[i].message))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, bp_errmsg(), cases[i].message);
        if (strncmp(bp_errmsg(), "t.net", 5) != 0)
            fail_msg("case %zu: message \"%s\" does not start with the file name", i,
                     bp_errmsg());
    }
}

static void test_net_round_trip(void **state)
{
    (void)state;
    bp_layer_spec L[3] = {BP_LAYER(7, BP_ACT_LEAKY_RELU, 1, 0.05f), BP_LAYER(5, BP_ACT_TANH, 0, 0),
                          BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net, *back;
    assert_ok(bp_net_create(&net, 4, 3, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_HE, 7));
    float *b = bp_net_biases(net, 0);
    for (int i = 0; i < 7; i++)
        b[i] = (float)i / 3.0f - 1e-30f * (float)i;
    const float shift[4] = {1, 2, 3, 4}, scale[4] = {0.5f, 0.25f, 1.0f / 3, 7};
    assert_ok(bp_net_set_scaling(net, shift, scale));
    assert_ok(bp_net_set_meta(net, "note", "hello world"));
    float in[4] = {0.1f, 0.2f, 0.3f, 0.4f}, tg[3] = {0, 1, 0};
    bp_sample s = {1, 1, 1, in, tg, 0.25f};
    char path[256];
    write_temp_file(path, sizeof path, ".net", "", 0);
    assert_ok(bp_net_write_text(net, &s, path));
    bp_sample s2;
    assert_ok(bp_net_read_text(&back, &s2, path));
    assert_int_equal(bp_net_param_count(back), bp_net_param_count(net));
    assert_memory_equal(bp_net_params_const(back), bp_net_params_const(net),
                        bp_net_param_count(net) * sizeof(float));
    const float *sh2, *sc2;
    assert_true(bp_net_scaling(back, &sh2, &sc2));
    assert_memory_equal(sc2, scale, sizeof scale);
    assert_string_equal(bp_net_get_meta(back, "note"), "hello world");
    assert_true(s2.has_input && s2.has_target && s2.has_lr);
    assert_memory_equal(s2.input, in, sizeof in);
    assert_close(s2.lr, 0.25, 0);
    bp_layer_spec l0 = bp_net_layer(back, 0);
    assert_int_equal(l0.act, BP_ACT_LEAKY_RELU);
    assert_close(l0.slope, 0.05, 1e-9);
    assert_int_equal(bp_net_layer(back, 1).bias, 0);
    bp_sample_clear(&s2);
    bp_net_free(back);
    bp_net_free(net);
    remove(path);
}

/* A const net shared by threads, each with its own workspace. */
typedef struct {
    const bp_net *net;
    const float *x;
    float out[64 * 3];
    bp_status st;
} thread_job;

static void *predict_job(void *arg)
{
    thread_job *j = arg;
    bp_workspace *ws;
    j->st = bp_workspace_create(&ws, j->net, 16, 1);
    for (int rep = 0; rep < 50 && j->st == BP_OK; rep++)
        j->st = bp_predict(j->net, ws, j->x, 64, j->out);
    bp_workspace_free(ws);
    return NULL;
}

static void test_const_net_many_threads(void **state)
{
    (void)state;
    bp_layer_spec L[2] = {BP_LAYER(32, BP_ACT_RELU, 1, 0), BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 10, 2, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_HE, 3));
    float x[64 * 10];
    for (int i = 0; i < 640; i++)
        x[i] = (float)cos(i * 0.37);
    thread_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].net = net;
        jobs[i].x = x;
        assert_int_equal(pthread_create(&th[i], NULL, predict_job, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jobs[i].st, BP_OK);
        assert_memory_equal(jobs[i].out, jobs[0].out, sizeof jobs[0].out);
    }
    bp_net_free(net);
}

/* bp_predict gives each row the same bits whatever the workspace's size and
 * however many rows one call takes: large calls run in passes of about 256
 * rows (activations stay in cache), never leaving a one-row pass (the
 * batch-1 path rounds differently) unless one row is asked for. */
static void test_predict_passes_same_bits(void **state)
{
    (void)state;
    enum { ROWS = 1283, IN = 24, OUT = 5 };
    bp_layer_spec L[3] = {BP_LAYER(300, BP_ACT_TANH, 1, 0), BP_LAYER(40, BP_ACT_RELU, 1, 0),
                          BP_LAYER(OUT, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, IN, 3, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_HE, 7));
    float *x = malloc(sizeof(float) * ROWS * IN), *ref = malloc(sizeof(float) * ROWS * OUT);
    float *out = malloc(sizeof(float) * ROWS * OUT);
    assert_true(x && ref && out);
    for (int i = 0; i < ROWS * IN; i++)
        x[i] = (float)sin(i * 0.11);
    bp_workspace *ws;
    /* the reference: 2 rows a call, on a 2-row workspace */
    assert_ok(bp_workspace_create(&ws, net, 2, 1));
    for (int r = 0; r + 1 < ROWS; r += 2)
        assert_ok(bp_predict(net, ws, x + (size_t)r * IN, 2, ref + (size_t)r * OUT));
    assert_ok(bp_predict(net, ws, x + (size_t)(ROWS - 2) * IN, 2, out));
    memcpy(ref + (size_t)(ROWS - 1) * OUT, out + OUT, sizeof(float) * OUT);
    bp_workspace_free(ws);
    const int sizes[] = {ROWS, 257, 1000, 256};
    const size_t calls[] = {ROWS, 257, 513, 1282};
    for (int k = 0; k < 4; k++)
        for (int threads = 1; threads <= 2; threads++) {
            assert_ok(bp_workspace_create(&ws, net, sizes[k], threads));
            size_t n = calls[k] < (size_t)ROWS ? calls[k] : ROWS;
            for (size_t r = 0; r < ROWS; r += n) {
                size_t m = ROWS - r < n ? ROWS - r : n;
                if (m == 1) /* a lone row takes the batch-1 path: not compared */
                    m = 0, r = ROWS;
                else
                    assert_ok(bp_predict(net, ws, x + r * IN, m, out + r * OUT));
            }
            bp_workspace_free(ws);
            size_t upto = (size_t)ROWS - (ROWS % n == 1);
            if (memcmp(out, ref, sizeof(float) * upto * OUT) != 0)
                fail_msg("workspace of %d rows, calls of %zu rows, %d threads: predictions differ "
                         "from 2-row calls", sizes[k], n, threads);
        }
    free(x), free(ref), free(out);
    bp_net_free(net);
}

static void test_create_rejects_bad_shapes(void **state)
{
    (void)state;
    bp_net *net;
    bp_layer_spec L[1] = {BP_LAYER(0, BP_ACT_SIGMOID, 1, 0)};
    assert_int_equal(bp_net_create(&net, 2, 1, L, BP_LOSS_MSE), BP_ERR_ARG);
    assert_errmsg_contains("units must be between 1");
    L[0].units = 2;
    assert_int_equal(bp_net_create(&net, 0, 1, L, BP_LOSS_MSE), BP_ERR_ARG);
    assert_int_equal(bp_net_create(&net, 2, 0, L, BP_LOSS_MSE), BP_ERR_ARG);
    bp_layer_spec big[2] = {BP_LAYER(1 << 20, BP_ACT_RELU, 1, 0), BP_LAYER(1 << 20, BP_ACT_RELU, 1, 0)};
    assert_int_equal(bp_net_create(&net, 1 << 20, 2, big, BP_LOSS_MSE), BP_ERR_NOMEM);
    assert_errmsg_contains("parameters");
    assert_ok(bp_net_create(&net, 2, 1, L, BP_LOSS_MSE));
    bp_workspace *ws;
    assert_int_equal(bp_workspace_create(&ws, net, 0, 1), BP_ERR_ARG);
    assert_ok(bp_workspace_create(&ws, net, 2, 1));
    float x[6] = {0};
    assert_int_equal(bp_forward(net, ws, x, 3), BP_ERR_ARG);
    assert_errmsg_contains("does not fit");
    bp_workspace_free(ws);
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_article_example),
        cmocka_unit_test(test_article_online_step),
        cmocka_unit_test(test_second_network_by_hand),
        cmocka_unit_test(test_activation_derivatives),
        cmocka_unit_test(test_gradcheck_all_combinations),
        cmocka_unit_test(test_gradcheck_detects_mismatch),
        cmocka_unit_test(test_net_parser_errors),
        cmocka_unit_test(test_net_round_trip),
        cmocka_unit_test(test_const_net_many_threads),
        cmocka_unit_test(test_predict_passes_same_bits),
        cmocka_unit_test(test_create_rejects_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
