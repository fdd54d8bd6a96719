/* Checkpoints with a valid CRC but fields outside what training could have
 * produced: each is refused at load with a message naming the field, never
 * loaded to misbehave later (undefined behaviour in the schedule, NaN moments
 * reported as divergence). */
#include "testutil.h"

#include "io/io_internal.h"
#include "nn/nn_internal.h"

bp_status bp_trainer_state_export(const bp_trainer *tr, unsigned char **blob, size_t *len);

/* Offsets in the trainer-state blob (src/nn/trainer.c, bp_trainer_state_export). */
enum {
    OFF_STEP_EVERY = 56,
    OFF_WARMUP = 68,
    OFF_PATIENCE = 76,
    OFF_SHARDS = 124,
    OFF_PRECISION = 128,
    OFF_EPOCHS_DONE = 132,
    OFF_BEST_VAL = 144,
    OFF_BAD_EPOCHS = 152,
    OFF_ARRAYS = 164 /* presence flag of m, then its values */
};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(p, u);
}

typedef struct {
    bp_net *net;
    bp_trainer *tr;
    unsigned char *blob;
    size_t len;
    char path[128];
} fixture;

/* A trained-for-one-epoch Adam trainer with patience (so m, v and best are stored). */
static void make_fixture(fixture *f, bp_optimizer opt)
{
    bp_layer_spec L[2] = {BP_LAYER(3, BP_ACT_TANH, 1, 0), BP_LAYER(1, BP_ACT_LINEAR, 1, 0)};
    assert_ok(bp_net_create(&f->net, 2, 2, L, BP_LOSS_MSE));
    assert_ok(bp_net_init(f->net, BP_INIT_XAVIER, 1));
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, 8, 2, 1));
    for (int i = 0; i < 16; i++)
        bp_dataset_x(ds)[i] = (float)(i % 5) * 0.25f;
    for (int i = 0; i < 8; i++)
        bp_dataset_y(ds)[i] = (float)(i % 2);
    bp_train_options o;
    bp_train_options_default(&o);
    o.optimizer = opt;
    o.epochs = 1;
    o.batch_size = 4;
    o.patience = 3;
    o.warmup_epochs = 2;
    assert_ok(bp_trainer_create(&f->tr, f->net, &o));
    assert_ok(bp_trainer_run(f->tr, ds, ds));
    bp_dataset_free(ds);
    assert_ok(bp_trainer_state_export(f->tr, &f->blob, &f->len));
    /* The offsets above still match the format (else fix them, not the checks). */
    assert_int_equal(get_u32(f->blob + OFF_STEP_EVERY), 10);
    assert_int_equal(get_u32(f->blob + OFF_WARMUP), 2);
    assert_int_equal(get_u32(f->blob + OFF_PATIENCE), 3);
    assert_int_equal(get_u32(f->blob + OFF_PRECISION), BP_PRECISION_FP32);
    assert_int_equal(get_u32(f->blob + OFF_EPOCHS_DONE), 1);
    assert_int_equal(get_u32(f->blob + OFF_BAD_EPOCHS), 0);
    assert_int_equal(get_u32(f->blob + OFF_ARRAYS), opt == BP_OPT_ADAM); /* m present? */
    snprintf(f->path, sizeof f->path, "/tmp/bp_ckpt_limits_%ld.bpc", (long)getpid());
}

static void free_fixture(fixture *f)
{
    free(f->blob);
    bp_trainer_free(f->tr);
    bp_net_free(f->net);
    remove(f->path);
}

/* Writes the (modified) blob as a checkpoint with a valid CRC and loads it. */
static bp_status load_modified(fixture *f)
{
    assert_ok(bp_model_write(f->path, f->net, f->blob, f->len));
    bp_net *net = (bp_net *)f; /* both must come back NULL on failure */
    bp_trainer *tr = (bp_trainer *)f;
    bp_status st = bp_checkpoint_load(f->path, &net, &tr);
    if (st == BP_OK) {
        bp_trainer_free(tr);
        bp_net_free(net);
    } else {
        assert_null(net);
        assert_null(tr);
    }
    return st;
}

static void test_unmodified_loads(void **state)
{
    (void)state;
    fixture f;
    make_fixture(&f, BP_OPT_ADAM);
    assert_ok(load_modified(&f));
    free_fixture(&f);
}

static void test_int_fields_limited(void **state)
{
    (void)state;
    const struct {
        size_t off;
        uint32_t value;
        const char *word;
    } cases[] = {
        {OFF_WARMUP, 2147483647u, "warm-up epochs must be in 0..1000000"},
        {OFF_WARMUP, 1000001u, "warm-up epochs"},
        {OFF_WARMUP, 0x80000000u, "warm-up epochs"},
        {OFF_STEP_EVERY, 2147483647u, "step_every must be in 1..1000000"},
        {OFF_STEP_EVERY, 0u, "step_every"},
        {OFF_PATIENCE, 2000000u, "patience must be in 0..1000000"},
        {OFF_SHARDS, 70000u, "shards must be in 0..65536"},
        {OFF_PRECISION, 2u, "unknown precision 2"},
        {OFF_PRECISION, 0xffffffffu, "unknown precision -1"},
        {OFF_EPOCHS_DONE, 2147483647u, "bad counters"},
        {OFF_BAD_EPOCHS, 5u, "bad counters"}, /* more than the 1 epoch done */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture f;
        make_fixture(&f, BP_OPT_ADAM);
        put_u32(f.blob + cases[k].off, cases[k].value);
        assert_int_equal(load_modified(&f), BP_ERR_FORMAT);
        assert_errmsg_contains(cases[k].word);
        assert_errmsg_contains(f.path);
        free_fixture(&f);
    }
}

static void test_nan_state_refused(void **state)
{
    (void)state;
    size_t n;
    {
        fixture f;
        make_fixture(&f, BP_OPT_ADAM);
        n = bp_net_param_count(f.net);
        put_f32(f.blob + OFF_ARRAYS + 4 + 4 * 2, NAN); /* m[2] */
        assert_int_equal(load_modified(&f), BP_ERR_FORMAT);
        assert_errmsg_contains("first moments (m): value 3 is nan");
        free_fixture(&f);
    }
    {
        fixture f;
        make_fixture(&f, BP_OPT_ADAM);
        /* v follows m: flag, n values, then v's flag */
        put_f32(f.blob + OFF_ARRAYS + 4 + 4 * n + 4, -1.0f); /* v[0] < 0 */
        assert_int_equal(load_modified(&f), BP_ERR_FORMAT);
        assert_errmsg_contains("second moments (v): value 1");
        free_fixture(&f);
    }
    {
        fixture f;
        make_fixture(&f, BP_OPT_ADAM);
        put_f32(f.blob + f.len - 4, INFINITY); /* the last best weight */
        assert_int_equal(load_modified(&f), BP_ERR_FORMAT);
        assert_errmsg_contains("best weights");
        free_fixture(&f);
    }
    {
        fixture f;
        make_fixture(&f, BP_OPT_ADAM);
        double nan = NAN;
        memcpy(f.blob + OFF_BEST_VAL, &nan, 8); /* the blob is little-endian like the host */
        assert_int_equal(load_modified(&f), BP_ERR_FORMAT);
        assert_errmsg_contains("best validation loss");
        free_fixture(&f);
    }
    {
        fixture f;
        make_fixture(&f, BP_OPT_RPROP);
        /* RPROP: no m, no v (two absent flags), then the steps */
        put_f32(f.blob + OFF_ARRAYS + 4 + 4 + 4, 1e30f);
        assert_int_equal(load_modified(&f), BP_ERR_FORMAT);
        assert_errmsg_contains("RPROP steps");
        free_fixture(&f);
    }
}

/* The schedule itself stays defined at the limits (UBSan checks this). */
static void test_schedule_at_limits(void **state)
{
    (void)state;
    bp_train_options o;
    bp_train_options_default(&o);
    o.warmup_epochs = 2147483647;
    float lr = bp_schedule_lr(&o, 2147483646);
    assert_true(lr > 0 && lr <= o.learning_rate);
    bp_net *net;
    bp_layer_spec L[1] = {BP_LAYER(1, BP_ACT_LINEAR, 1, 0)};
    assert_ok(bp_net_create(&net, 1, 1, L, BP_LOSS_MSE));
    bp_trainer *tr;
    assert_int_equal(bp_trainer_create(&tr, net, &o), BP_ERR_ARG);
    assert_errmsg_contains("warm-up epochs must be in 0..1000000");
    bp_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmodified_loads),
        cmocka_unit_test(test_int_fields_limited),
        cmocka_unit_test(test_nan_state_refused),
        cmocka_unit_test(test_schedule_at_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
