/*
 * Data-parallel training through the reduce hook, without MPI: P trainers
 * run in P threads and meet in an in-memory all-gather, the way P processes
 * meet through the CLI's MPI layer.  The contract (backprop.h): a run on P
 * ranks gives the same weights, bit for bit, as one process with the same
 * shard count, for any P that divides it.
 */
#include <pthread.h>

#include "testutil.h"

enum { ROWS = 203, INPUTS = 5, CLASSES = 3, MAX_RANKS = 4 };

static bp_dataset *make_data(void)
{
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, ROWS, INPUTS, CLASSES));
    float *x = bp_dataset_x(ds), *y = bp_dataset_y(ds);
    int32_t labels[ROWS];
    uint32_t h = 12345;
    for (int r = 0; r < ROWS; r++) {
        float sum = 0;
        for (int i = 0; i < INPUTS; i++) {
            h = h * 1103515245u + 12345u;
            x[r * INPUTS + i] = (float)((h >> 8) % 2000) / 1000.0f - 1.0f;
            sum += x[r * INPUTS + i] * (float)(i + 1);
        }
        labels[r] = sum < -1.0f ? 0 : sum < 1.0f ? 1 : 2;
        for (int k = 0; k < CLASSES; k++)
            y[r * CLASSES + k] = k == labels[r];
    }
    assert_ok(bp_dataset_set_labels(ds, labels, CLASSES));
    return ds;
}

static int hidden = 8; /* units of the hidden layer */

static bp_net *make_net(void)
{
    bp_layer_spec layers[2] = {BP_LAYER(hidden, BP_ACT_TANH, 1, BP_SLOPE_DEFAULT),
                                BP_LAYER(CLASSES, BP_ACT_SOFTMAX, 1, BP_SLOPE_DEFAULT)};
    bp_net *net;
    assert_ok(bp_net_create(&net, INPUTS, 2, layers, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 7));
    return net;
}

/* The in-memory transport: every rank copies its shards into `all`, waits
 * for the others, and sums all shards in order. */
typedef struct shared_reduce {
    pthread_barrier_t barrier;
    int ranks, calls;
    float *all;    /* [shards][len] */
    float *totals; /* [ranks][len], zero-copy mode: each rank's total */
    float *state;  /* mode 3: the parameters and optimizer state all ranks share */
    int syncs;     /* mode 3: sync calls of rank 0 */
} shared_reduce;

/* Zero-copy mode (bp_trainer_set_reduce_buffers): each rank's trainer writes
 * its shards straight into its place in `all`, where the others read them,
 * the way ranks on one machine share an MPI window; each has its own total
 * (the update may change it in place).  Mode 2: one total for all ranks
 * (bp_trainer_total_read_only), each rank summing its slice into it. */
static int zero_copy;

/* Mode 3 (bp_trainer_share_state): the ranks share the parameters and the
 * optimizer state too, each summing and updating its part; they meet in
 * this barrier instead of the hook.  Each run is split in two (one epoch,
 * then the rest) so that the state copied out after a run and back in at
 * the next one is checked as well. */
static int barrier_sync(void *user, bp_sync_point point, char *err, size_t cap);

typedef struct rank_ctx {
    shared_reduce *sh;
    int rank;
    const bp_train_options *opts;
    const bp_dataset *ds;
    bp_net *net;
    bp_status status;
    int stop_at_call; /* request a stop before this many calls (0: never) */
    bp_trainer *tr;
} rank_ctx;

static int gather_and_sum(void *user, const float *local, int local_shards, size_t len,
                          float *total, char *err, size_t cap)
{
    (void)err, (void)cap;
    rank_ctx *c = user;
    shared_reduce *sh = c->sh;
    if (c->stop_at_call && ++c->stop_at_call == 0)
        bp_trainer_request_stop(c->tr);
    if (zero_copy) {
        size_t mine = zero_copy == 2 ? 0 : (size_t)c->rank * len;
        if (local != sh->all + (size_t)c->rank * local_shards * len || total != sh->totals + mine) {
            snprintf(err, cap, "the hook did not get the buffers it gave the trainer");
            return -1;
        }
        pthread_barrier_wait(&sh->barrier); /* every rank's shards written */
        if (zero_copy == 2) {
            /* Slice [lo, hi) of every shard, summed in order into the one total:
             * the same bits as the whole sum.  The next write comes after the
             * next call's first barrier, when every update has read it. */
            size_t lo = len * (size_t)c->rank / (size_t)sh->ranks;
            size_t hi = len * (size_t)(c->rank + 1) / (size_t)sh->ranks;
            size_t S = (size_t)local_shards * (size_t)sh->ranks;
            float *piece = malloc((hi - lo) * S * sizeof(float) + 1);
            if (!piece)
                return -1;
            for (size_t k = 0; k < S; k++)
                memcpy(piece + k * (hi - lo), sh->all + k * len + lo, (hi - lo) * sizeof(float));
            bp_sum_shards(piece, (int)S, hi - lo, total + lo);
            free(piece);
        } else {
            bp_sum_shards(sh->all, local_shards * sh->ranks, len, total);
        }
        pthread_barrier_wait(&sh->barrier); /* read by all: the next step may write */
        if (c->rank == 0)
            sh->calls++;
        return 0;
    }
    memcpy(sh->all + (size_t)c->rank * local_shards * len, local,
           (size_t)local_shards * len * sizeof(float));
    pthread_barrier_wait(&sh->barrier);
    /* Each rank sums on its own: every one must get the same bits. */
    bp_sum_shards(sh->all, local_shards * sh->ranks, len, total);
    pthread_barrier_wait(&sh->barrier);
    if (c->rank == 0)
        sh->calls++;
    return 0;
}

static int barrier_sync(void *user, bp_sync_point point, char *err, size_t cap)
{
    (void)point, (void)err, (void)cap;
    rank_ctx *c = user;
    if (c->stop_at_call && ++c->stop_at_call == 0)
        bp_trainer_request_stop(c->tr);
    pthread_barrier_wait(&c->sh->barrier);
    if (c->rank == 0)
        c->sh->syncs++;
    return 0;
}

/* Mode 3's run: the state shared, one epoch, then the rest. */
static bp_status run_sharing_state(rank_ctx *c)
{
    size_t len = bp_trainer_shard_len(c->tr), local = (size_t)(c->opts->shards / c->sh->ranks);
    float *rank_shards[MAX_RANKS];
    for (int q = 0; q < c->sh->ranks; q++)
        rank_shards[q] = c->sh->all + (size_t)q * local * len;
    bp_status st = bp_trainer_share_state(c->tr, c->sh->state, rank_shards, barrier_sync, c);
    if (st != BP_OK)
        return st;
    int epochs = c->opts->epochs;
    bp_trainer_set_epochs(c->tr, 1);
    st = bp_trainer_run(c->tr, c->ds, NULL);
    bp_trainer_set_epochs(c->tr, epochs);
    return st == BP_OK ? bp_trainer_run(c->tr, c->ds, NULL) : st;
}

static void *rank_main(void *arg)
{
    rank_ctx *c = arg;
    c->status = bp_trainer_create(&c->tr, c->net, c->opts);
    if (c->status == BP_OK)
        c->status = bp_trainer_set_reduce(c->tr, c->rank, c->sh->ranks, gather_and_sum, c);
    if (c->status == BP_OK && zero_copy == 3) {
        c->status = run_sharing_state(c);
    } else if (c->status == BP_OK && zero_copy) {
        size_t len = bp_trainer_shard_len(c->tr), local = (size_t)(c->opts->shards / c->sh->ranks);
        size_t mine = zero_copy == 2 ? 0 : (size_t)c->rank * len;
        c->status = bp_trainer_set_reduce_buffers(c->tr, c->sh->all + (size_t)c->rank * local * len,
                                                  c->sh->totals + mine);
    }
    if (c->status == BP_OK && zero_copy != 3)
        c->status = bp_trainer_run(c->tr, c->ds, NULL);
    bp_trainer_free(c->tr);
    c->tr = NULL;
    return NULL;
}

/* Trains copies of `net0` on P threads; returns rank 0's net (the others
 * are checked equal to it).  stop_rank >= 0 asks that rank to stop. */
static bp_net *train_on_ranks(const bp_net *net0, const bp_dataset *ds,
                              const bp_train_options *o, int P, int stop_rank, bp_status *st)
{
    shared_reduce sh = {.ranks = P};
    bp_trainer *probe;
    bp_net *tmp;
    assert_ok(bp_net_clone(net0, &tmp));
    assert_ok(bp_trainer_create(&probe, tmp, o));
    size_t len = bp_trainer_shard_len(probe);
    size_t state_len = bp_trainer_shared_state_len(probe);
    bp_trainer_free(probe);
    if (zero_copy == 3) {
        assert_true(state_len > 0);
        sh.state = aligned_alloc(64, (state_len * sizeof(float) + 63) / 64 * 64);
        assert_non_null(sh.state);
    }
    bp_net_free(tmp);
    sh.all = calloc((size_t)o->shards * len, sizeof(float));
    sh.totals = calloc((size_t)P * len, sizeof(float));
    pthread_barrier_init(&sh.barrier, NULL, (unsigned)P);
    rank_ctx ctx[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    for (int r = 0; r < P; r++) {
        ctx[r] = (rank_ctx){&sh, r, o, ds, NULL, BP_OK, r == stop_rank ? -3 : 0, NULL};
        assert_ok(bp_net_clone(net0, &ctx[r].net));
        pthread_create(&th[r], NULL, rank_main, &ctx[r]);
    }
    for (int r = 0; r < P; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&sh.barrier);
    free(sh.all);
    free(sh.totals);
    free(sh.state);
    if (zero_copy == 3) /* at least the two a step takes: the hook was not called */
        assert_true(sh.syncs >= 2 && sh.calls == 0);
    *st = ctx[0].status;
    size_t n = bp_net_param_count(ctx[0].net);
    for (int r = 1; r < P; r++) {
        assert_int_equal(ctx[r].status, ctx[0].status);
        assert_memory_equal(bp_net_params_const(ctx[r].net), bp_net_params_const(ctx[0].net),
                            n * sizeof(float));
        bp_net_free(ctx[r].net);
    }
    return ctx[0].net;
}

/* One process, no hook: the in-order sum of its own shards. */
static bp_net *train_alone(const bp_net *net0, const bp_dataset *ds, const bp_train_options *o)
{
    bp_net *net;
    assert_ok(bp_net_clone(net0, &net));
    assert_ok(bp_train(net, ds, NULL, o));
    return net;
}

static void check_ranks_match_one_process(const bp_train_options *o)
{
    bp_dataset *ds = make_data();
    bp_net *net0 = make_net();
    bp_net *alone = train_alone(net0, ds, o);
    size_t n = bp_net_param_count(net0);
    for (int P = 1; P <= MAX_RANKS; P *= 2) {
        bp_status st;
        bp_net *net = train_on_ranks(net0, ds, o, P, -1, &st);
        assert_ok(st);
        assert_memory_equal(bp_net_params_const(net), bp_net_params_const(alone),
                            n * sizeof(float));
        bp_net_free(net);
    }
    /* It did train: the weights moved. */
    assert_memory_not_equal(bp_net_params_const(alone), bp_net_params_const(net0),
                            n * sizeof(float));
    bp_net_free(alone);
    bp_net_free(net0);
    bp_dataset_free(ds);
}

static bp_train_options base_options(bp_optimizer opt)
{
    bp_train_options o;
    bp_train_options_default(&o);
    o.optimizer = opt;
    o.learning_rate = bp_learning_rate_default(opt);
    o.epochs = 3;
    o.batch_size = 16;
    o.shards = 4;
    o.seed = 11;
    return o;
}

static void test_sgd(void **state)
{
    (void)state;
    bp_train_options o = base_options(BP_OPT_SGD);
    check_ranks_match_one_process(&o);
}

static void test_momentum(void **state)
{
    (void)state;
    bp_train_options o = base_options(BP_OPT_MOMENTUM);
    o.weight_decay = 1e-3f;
    check_ranks_match_one_process(&o);
}

static void test_adam_dropout_clip(void **state)
{
    (void)state;
    bp_train_options o = base_options(BP_OPT_ADAM);
    o.dropout = 0.3f;
    o.clip_norm = 0.5f;
    check_ranks_match_one_process(&o);
}

/* The caller's buffers (an MPI shared-memory window in the CLI): the same
 * bits, the hook sees the very pointers, and the trainer never frees them
 * (the test frees them after; ASan would see a double free). */
static void test_zero_copy_buffers(void **state)
{
    (void)state;
    bp_train_options o = base_options(BP_OPT_ADAM);
    o.dropout = 0.3f;
    o.clip_norm = 0.5f;
    zero_copy = 1; /* back to 0 in zero_copy_off, after a failure too */
    check_ranks_match_one_process(&o);
    zero_copy = 0;
    bp_net *net = make_net();
    bp_trainer *tr;
    assert_ok(bp_trainer_create(&tr, net, &o));
    float one[4];
    assert_int_equal(bp_trainer_set_reduce_buffers(tr, one, NULL), BP_ERR_ARG);
    assert_int_equal(bp_trainer_set_reduce_buffers(NULL, NULL, NULL), BP_ERR_ARG);
    assert_ok(bp_trainer_set_reduce_buffers(tr, NULL, NULL));
    bp_trainer_free(tr);
    bp_net_free(net);
}

/* One total for all ranks where the step only reads it: the same bits; and
 * which steps do (clipping, L2 decay and RPROP change the total in place). */
static void test_shared_total(void **state)
{
    (void)state;
    bp_train_options o = base_options(BP_OPT_ADAM);
    o.dropout = 0.3f;
    zero_copy = 2; /* back to 0 in zero_copy_off, after a failure too */
    check_ranks_match_one_process(&o);
    o = base_options(BP_OPT_MOMENTUM);
    check_ranks_match_one_process(&o);
    zero_copy = 0;
    static const struct {
        bp_optimizer opt;
        float decay, clip;
        int read_only;
    } cases[] = {{BP_OPT_ADAM, 0, 0, 1},       {BP_OPT_ADAM, 0, 0.5f, 0},
                 {BP_OPT_SGD, 0.01f, 0, 0},    {BP_OPT_ADAMW, 0.01f, 0, 1},
                 {BP_OPT_RPROP, 0, 0, 0},      {BP_OPT_RMSPROP, 0, 0, 1}};
    bp_net *net = make_net();
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        o = base_options(cases[k].opt);
        o.weight_decay = cases[k].decay;
        o.clip_norm = cases[k].clip;
        bp_trainer *tr;
        assert_ok(bp_trainer_create(&tr, net, &o));
        assert_int_equal(bp_trainer_total_read_only(tr), cases[k].read_only);
        bp_trainer_free(tr);
    }
    assert_int_equal(bp_trainer_total_read_only(NULL), 0);
    bp_net_free(net);
}

static int zero_copy_off(void **state)
{
    (void)state;
    zero_copy = 0;
    hidden = 8;
    return 0;
}

static int failing_sync(void *user, bp_sync_point point, char *err, size_t cap)
{
    (void)user, (void)point;
    snprintf(err, cap, "rank 1 is gone");
    return 1;
}

/* The parameters and optimizer state shared (bp_trainer_share_state): the
 * same bits as one process, with a net wide enough (63003 parameters, four
 * update slices) that 2 and 4 ranks each update parts of their own; which
 * runs can share; what is refused. */
static void test_shared_state(void **state)
{
    (void)state;
    if (getenv("BACKPROP_DEVICE")) {
        /* A backend whose memory is not the host's (tests/cli_checked_backend.sh)
         * cannot share its state: the other processes could not read it. */
        bp_net *net = make_net();
        bp_train_options o = base_options(BP_OPT_ADAM);
        bp_trainer *tr;
        float *mem = aligned_alloc(64, 64 * 1024), *shards[1] = {mem};
        assert_ok(bp_trainer_create(&tr, net, &o));
        assert_int_equal(bp_trainer_shared_state_len(tr), 0);
        assert_int_equal(bp_trainer_share_state(tr, mem, shards, barrier_sync, NULL),
                         BP_ERR_UNSUPPORTED);
        bp_trainer_free(tr);
        bp_net_free(net);
        free(mem);
        return;
    }
    zero_copy = 3; /* back to 0 (and hidden to 8) in zero_copy_off, after a failure too */
    hidden = 7000;
    bp_train_options o = base_options(BP_OPT_ADAM);
    o.dropout = 0.3f;
    check_ranks_match_one_process(&o);
    static const bp_optimizer others[] = {BP_OPT_SGD, BP_OPT_MOMENTUM, BP_OPT_NESTEROV,
                                          BP_OPT_ADAMW, BP_OPT_RMSPROP};
    for (size_t k = 0; k < sizeof others / sizeof others[0]; k++) {
        o = base_options(others[k]);
        o.weight_decay = others[k] == BP_OPT_ADAMW ? 0.01f : 0.0f;
        o.epochs = 2;
        check_ranks_match_one_process(&o);
    }
    /* A stop asked on one rank still stops all after the same step. */
    bp_dataset *ds = make_data();
    bp_net *net0 = make_net();
    o = base_options(BP_OPT_ADAM);
    o.epochs = 2;
    bp_status st;
    bp_net *stopped_net = train_on_ranks(net0, ds, &o, 2, 1, &st);
    assert_int_equal(st, BP_ERR_INTERRUPTED);
    bp_net_free(stopped_net);
    zero_copy = 0;
    hidden = 8;
    /* Runs that change the combined gradient cannot share it. */
    bp_net *net = make_net();
    bp_trainer *tr;
    float *mem = aligned_alloc(64, 64 * 1024);
    float *shards[1] = {mem};
    o = base_options(BP_OPT_ADAM);
    o.clip_norm = 0.5f;
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_int_equal(bp_trainer_shared_state_len(tr), 0);
    assert_int_equal(bp_trainer_share_state(tr, mem, shards, barrier_sync, NULL),
                     BP_ERR_UNSUPPORTED);
    assert_errmsg_contains("clipping");
    bp_trainer_free(tr);
    /* Adam: parameters, m and v, each padded to 16 floats. */
    o.clip_norm = 0;
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_int_equal(bp_trainer_shared_state_len(tr), 3 * ((bp_net_param_count(net) + 15) / 16 * 16));
    assert_int_equal(bp_trainer_share_state(tr, mem + 1, shards, barrier_sync, NULL), BP_ERR_ARG);
    assert_int_equal(bp_trainer_share_state(tr, mem, shards, NULL, NULL), BP_ERR_ARG);
    /* A sync that fails ends the run with its message. */
    assert_ok(bp_trainer_share_state(tr, mem, shards, failing_sync, NULL));
    assert_int_equal(bp_trainer_run(tr, ds, NULL), BP_ERR_IO);
    assert_errmsg_contains("rank 1 is gone");
    assert_ok(bp_trainer_share_state(tr, NULL, NULL, NULL, NULL)); /* alone again: it trains */
    assert_ok(bp_trainer_run(tr, ds, NULL));
    bp_trainer_free(tr);
    o = base_options(BP_OPT_RPROP);
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_int_equal(bp_trainer_shared_state_len(tr), 0);
    bp_trainer_free(tr);
    assert_int_equal(bp_trainer_shared_state_len(NULL), 0);
    free(mem);
    bp_net_free(net);
    bp_net_free(net0);
    bp_dataset_free(ds);
}

static void test_rprop_full_batch(void **state)
{
    (void)state;
    bp_train_options o = base_options(BP_OPT_RPROP);
    check_ranks_match_one_process(&o);
}

static void test_batch_one_and_uneven_shards(void **state)
{
    (void)state;
    /* Batch 3 over 4 shards: some shards are empty; batch 1 turns the
     * fused online path off. */
    bp_train_options o = base_options(BP_OPT_SGD);
    o.batch_size = 3;
    check_ranks_match_one_process(&o);
    o.batch_size = 1;
    o.epochs = 1;
    check_ranks_match_one_process(&o);
}

/* Masks are per sample: the same run with another shard count draws the
 * same masks, so with a tiny learning rate the difference stays tiny
 * (different masks would change the weights far more). */
static void test_dropout_masks_do_not_depend_on_shards(void **state)
{
    (void)state;
    bp_dataset *ds = make_data();
    bp_net *net0 = make_net();
    bp_train_options o = base_options(BP_OPT_SGD);
    o.dropout = 0.5f;
    o.epochs = 1;
    o.shards = 1;
    bp_net *a = train_alone(net0, ds, &o);
    o.shards = 8;
    bp_net *b = train_alone(net0, ds, &o);
    const float *pa = bp_net_params_const(a), *pb = bp_net_params_const(b),
                *p0 = bp_net_params_const(net0);
    double moved = 0, diff = 0;
    for (size_t i = 0; i < bp_net_param_count(net0); i++) {
        moved += fabs((double)pa[i] - p0[i]);
        diff += fabs((double)pa[i] - pb[i]);
    }
    assert_true(moved > 0);
    assert_true(diff < 1e-4 * moved);
    bp_net_free(a);
    bp_net_free(b);
    bp_net_free(net0);
    bp_dataset_free(ds);
}

/* A stop asked on one rank stops every rank after the same step. */
static void test_stop_is_collective(void **state)
{
    (void)state;
    bp_dataset *ds = make_data();
    bp_net *net0 = make_net();
    bp_train_options o = base_options(BP_OPT_ADAM);
    o.epochs = 2;
    bp_status st;
    bp_net *net = train_on_ranks(net0, ds, &o, 2, 1, &st); /* asserts ranks agree */
    assert_int_equal(st, BP_ERR_INTERRUPTED);
    bp_net_free(net);
    bp_net_free(net0);
    bp_dataset_free(ds);
}

static void test_bad_rank_counts_refused(void **state)
{
    (void)state;
    bp_net *net = make_net();
    bp_train_options o = base_options(BP_OPT_SGD);
    bp_trainer *tr;
    o.shards = 6;
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_int_equal(bp_trainer_set_reduce(tr, 0, 4, gather_and_sum, NULL), BP_ERR_ARG);
    assert_errmsg_contains("shards is 6");
    assert_int_equal(bp_trainer_set_reduce(tr, 3, 3, gather_and_sum, NULL), BP_ERR_ARG);
    assert_ok(bp_trainer_set_reduce(tr, 2, 3, gather_and_sum, NULL));
    bp_trainer_free(tr);
    o.shards = 0;
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_int_equal(bp_trainer_set_reduce(tr, 0, 2, gather_and_sum, NULL), BP_ERR_ARG);
    bp_trainer_free(tr);
    o.shards = -1;
    assert_int_equal(bp_trainer_create(&tr, net, &o), BP_ERR_ARG);
    bp_net_free(net);
}

static int failing_reduce(void *user, const float *local, int local_shards, size_t len,
                          float *total, char *err, size_t cap)
{
    (void)user, (void)local, (void)local_shards, (void)len, (void)total;
    snprintf(err, cap, "rank 3 is gone");
    return 1;
}

static void test_reduce_failure_is_reported(void **state)
{
    (void)state;
    bp_dataset *ds = make_data();
    bp_net *net = make_net();
    bp_train_options o = base_options(BP_OPT_SGD);
    bp_trainer *tr;
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_ok(bp_trainer_set_reduce(tr, 0, 2, failing_reduce, NULL));
    assert_int_equal(bp_trainer_run(tr, ds, NULL), BP_ERR_IO);
    assert_errmsg_contains("rank 3 is gone");
    bp_trainer_free(tr);
    bp_net_free(net);
    bp_dataset_free(ds);
}

/* A checkpoint keeps the shard count: resuming gives the uninterrupted bits. */
static void test_checkpoint_keeps_shards(void **state)
{
    (void)state;
    bp_dataset *ds = make_data();
    bp_net *net0 = make_net();
    bp_train_options o = base_options(BP_OPT_ADAM);
    o.dropout = 0.2f;
    bp_net *whole = train_alone(net0, ds, &o);
    bp_net *net;
    bp_trainer *tr;
    assert_ok(bp_net_clone(net0, &net));
    o.epochs = 1;
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_ok(bp_trainer_run(tr, ds, NULL));
    char path[64];
    snprintf(path, sizeof path, "/tmp/bp_test_shards_%ld.ckpt", (long)getpid());
    assert_ok(bp_checkpoint_save(tr, path));
    bp_trainer_free(tr);
    bp_net_free(net);
    assert_ok(bp_checkpoint_load(path, &net, &tr));
    unlink(path);
    assert_int_equal(bp_trainer_options(tr)->shards, 4);
    bp_trainer_set_epochs(tr, 3);
    assert_ok(bp_trainer_run(tr, ds, NULL));
    assert_memory_equal(bp_net_params_const(net), bp_net_params_const(whole),
                        bp_net_param_count(net) * sizeof(float));
    bp_trainer_free(tr);
    bp_net_free(net);
    bp_net_free(whole);
    bp_net_free(net0);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_momentum),
        cmocka_unit_test(test_adam_dropout_clip),
        cmocka_unit_test_teardown(test_zero_copy_buffers, zero_copy_off),
        cmocka_unit_test_teardown(test_shared_total, zero_copy_off),
        cmocka_unit_test_teardown(test_shared_state, zero_copy_off),
        cmocka_unit_test(test_rprop_full_batch),
        cmocka_unit_test(test_batch_one_and_uneven_shards),
        cmocka_unit_test(test_dropout_masks_do_not_depend_on_shards),
        cmocka_unit_test(test_stop_is_collective),
        cmocka_unit_test(test_bad_rank_counts_refused),
        cmocka_unit_test(test_reduce_failure_is_reported),
        cmocka_unit_test(test_checkpoint_keeps_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
