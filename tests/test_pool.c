/* The thread pool's dynamic handout (src/kernels/pool.c): every task runs
 * once, the caller returns only when all have finished, and results keep
 * their bits for 1, 2, 3 and 7 threads — also when threads are slowed down at
 * random (a test-only hook sleeps before tasks, as a descheduled thread would)
 * so that the tasks land on different threads from run to run. */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/kernels.h"
#include "kernels/pool_test.h"

static const int thread_counts[] = {1, 2, 3, 7};
enum { NTC = 4 };

/* ---- random sleeps ------------------------------------------------------------ */

static atomic_uint sleep_ticket;

/* About one task in three sleeps 0–250 µs: which thread gets which task then
 * changes from run to run. */
static void sleepy_hook(int task)
{
    unsigned x = atomic_fetch_add(&sleep_ticket, 1) * 2654435761u ^ (unsigned)task * 40503u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    if (x % 3 == 0)
        nanosleep(&(struct timespec){0, (long)(x % 250) * 1000}, NULL);
}

/* ---- every task once ------------------------------------------------------------ */

typedef struct count_job {
    atomic_int hits[64];
    atomic_int running;
} count_job;

static void count_task(void *ctx, int t)
{
    count_job *j = ctx;
    atomic_fetch_add(&j->running, 1);
    atomic_fetch_add(&j->hits[t], 1);
    atomic_fetch_sub(&j->running, 1);
}

static void check_counts(bpk_pool *pool, int jobs)
{
    count_job j;
    for (int rep = 0; rep < jobs; rep++) {
        int n = 1 + rep % 64;
        for (int i = 0; i < 64; i++)
            atomic_init(&j.hits[i], 0);
        atomic_init(&j.running, 0);
        bpk_pool_run(pool, n, count_task, &j);
        /* Returned: nothing of the job may still run, every task ran once. */
        assert_int_equal(atomic_load(&j.running), 0);
        for (int i = 0; i < 64; i++)
            if (atomic_load(&j.hits[i]) != (i < n))
                fail_msg("%d threads, job %d of %d tasks: task %d ran %d times",
                         bpk_pool_threads(pool), rep, n, i, atomic_load(&j.hits[i]));
    }
}

static void test_each_task_once(void **state)
{
    (void)state;
    for (int c = 0; c < NTC; c++) {
        bpk_pool *pool = bpk_pool_create(thread_counts[c], NULL);
        assert_non_null(pool);
        check_counts(pool, 2000); /* back to back: workers still spinning */
        nanosleep(&(struct timespec){0, 5000000}, NULL); /* asleep now */
        check_counts(pool, 3);
        bpk_pool_task_hook = sleepy_hook;
        check_counts(pool, 200);
        bpk_pool_task_hook = NULL;
        bpk_pool_free(pool);
    }
}

/* ---- same bits ------------------------------------------------------------------ */

static float *rand_buf(size_t n, uint64_t seed)
{
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        p[i] = (float)((double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    return p;
}

/* C = op(A)·op(B) + 0.5·C0 for one shape, on `pool`. */
static float *gemm(bpk_pool *pool, int ta, int tb, int M, int N, int K)
{
    float *A = rand_buf((size_t)M * K, 1), *B = rand_buf((size_t)K * N, 2);
    float *C = rand_buf((size_t)M * N, 3);
    bpk_cpu_sgemm(pool, ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.5f, C, N);
    free(A);
    free(B);
    return C;
}

/* The modern net's GEMMs at batch 128 (forward, weight gradient, delta) and
 * a ragged one, under every path this CPU runs. */
static void test_sgemm_bits_any_thread(void **state)
{
    (void)state;
    static const int shapes[][5] = {
        {0, 1, 128, 512, 784}, {1, 0, 512, 784, 128}, {0, 0, 128, 512, 256},
        {0, 1, 128, 10, 256},  {1, 1, 203, 77, 333},  {0, 1, 1, 512, 784},
    };
    static const char *const isas[] = {"portable", "avx2", "avx512"};
    bpk_pool *pools[NTC];
    for (int c = 0; c < NTC; c++)
        assert_non_null(pools[c] = bpk_pool_create(thread_counts[c], NULL));
    for (int is = 0; is < 3; is++) {
        if (!bpk_isa_supported(isas[is])) {
            print_message("[  SKIP    ] %s path: not supported by this CPU\n", isas[is]);
            continue;
        }
        assert_string_equal(bpk_set_isa(isas[is]), isas[is]);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int *sh = shapes[s];
            size_t n = (size_t)sh[2] * sh[3];
            float *want = gemm(pools[0], sh[0], sh[1], sh[2], sh[3], sh[4]);
            for (int c = 1; c < NTC; c++)
                for (int hook = 0; hook < 2; hook++) {
                    bpk_pool_task_hook = hook ? sleepy_hook : NULL;
                    float *got = gemm(pools[c], sh[0], sh[1], sh[2], sh[3], sh[4]);
                    bpk_pool_task_hook = NULL;
                    if (memcmp(want, got, n * sizeof *got) != 0)
                        fail_msg("%s sgemm %dx%dx%d: %d threads%s differ from 1", isas[is],
                                 sh[2], sh[3], sh[4], thread_counts[c],
                                 hook ? " (random sleeps)" : "");
                    free(got);
                }
            free(want);
        }
    }
    for (int c = 0; c < NTC; c++)
        bpk_pool_free(pools[c]);
    bpk_set_isa(NULL);
}

/* A few Adam steps of a wide net on synthetic data through the public API:
 * the whole training step (GEMMs, activations, column sums, pooled update). */
static float *train_params(int threads, int sleepy, size_t *count)
{
    enum { ROWS = 600, IN = 40 };
    float *x = rand_buf((size_t)ROWS * IN, 7);
    int32_t labels[ROWS];
    for (int i = 0; i < ROWS; i++)
        labels[i] = (x[(size_t)i * IN] > 0) + (x[(size_t)i * IN + 1] > 0.5f);
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, ROWS, IN, 3));
    memcpy(bp_dataset_x(ds), x, (size_t)ROWS * IN * sizeof *x);
    assert_ok(bp_dataset_set_labels(ds, labels, 3));
    free(x);
    bp_layer_spec L[3] = {BP_LAYER(512, BP_ACT_RELU, 1, 0), BP_LAYER(256, BP_ACT_RELU, 1, 0),
                          BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, IN, 3, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_HE, 3));
    bp_train_options o;
    bp_train_options_default(&o);
    o.optimizer = BP_OPT_ADAM;
    o.learning_rate = 1e-3f;
    o.epochs = 2;
    o.batch_size = 128; /* the last batch is partial */
    o.threads = threads;
    o.seed = 5;
    bpk_pool_task_hook = sleepy ? sleepy_hook : NULL;
    assert_ok(bp_train(net, ds, NULL, &o));
    bpk_pool_task_hook = NULL;
    *count = bp_net_param_count(net);
    float *p = malloc(*count * sizeof *p);
    assert_non_null(p);
    memcpy(p, bp_net_params_const(net), *count * sizeof *p);
    bp_net_free(net);
    bp_dataset_free(ds);
    return p;
}

static void test_training_bits_any_thread(void **state)
{
    (void)state;
    size_t n1, n;
    float *want = train_params(1, 0, &n1);
    for (int c = 1; c < NTC; c++)
        for (int sleepy = 0; sleepy < 2; sleepy++) {
            float *got = train_params(thread_counts[c], sleepy, &n);
            assert_int_equal(n, n1);
            if (memcmp(want, got, n * sizeof *got) != 0)
                fail_msg("training on %d threads%s gave other weights than on 1",
                         thread_counts[c], sleepy ? " (random sleeps)" : "");
            free(got);
        }
    free(want);
}

/* The governor switches between the threads' split and the caller's alone
 * in the middle of a run: forced here at every kernel call. */
static void test_training_bits_switching_split(void **state)
{
    (void)state;
    size_t n1, n;
    float *want = train_params(1, 0, &n1);
    bpk_pool_alternate_width = 1;
    for (int c = 1; c < NTC; c++) {
        float *got = train_params(thread_counts[c], 0, &n);
        assert_int_equal(n, n1);
        if (memcmp(want, got, n * sizeof *got) != 0)
            fail_msg("training on %d threads, split switching at every call, gave other weights "
                     "than on 1", thread_counts[c]);
        free(got);
    }
    bpk_pool_alternate_width = 0;
    free(want);
}

/* ---- the governor: alone when the workers are held up -------------------------- */

static _Thread_local int tl_caller; /* set on the test's own thread */

/* Workers take 2 ms per task, as if another process had their cores. */
static void held_up_hook(int task)
{
    (void)task;
    if (!tl_caller)
        nanosleep(&(struct timespec){0, 2000000}, NULL);
}

/* Kernel-like calls (bpk_pool_width, then a job split for that width) for
 * up to `seconds`, or until the governor has chosen to work alone. */
static void run_calls(bpk_pool *pool, double seconds)
{
    count_job j;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        int w = bpk_pool_width(pool);
        for (int i = 0; i < 64; i++)
            atomic_init(&j.hits[i], 0);
        atomic_init(&j.running, 0);
        bpk_pool_run(pool, 4 * w, count_task, &j);
        for (int i = 0; i < 4 * w; i++)
            assert_int_equal(atomic_load(&j.hits[i]), 1);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (bpk_pool_alone_holds(pool) == 0 &&
             (double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) < seconds);
}

static void test_governor_goes_alone(void **state)
{
    (void)state;
    tl_caller = 1;
    bpk_pool *pool = bpk_pool_create(2, NULL);
    assert_non_null(pool);
    bpk_pool_task_hook = held_up_hook;
    /* A shared probe window and an alone one: about 0.2 s; allow a slow CI. */
    run_calls(pool, 10.0);
    bpk_pool_task_hook = NULL;
    if (bpk_pool_alone_holds(pool) == 0)
        fail_msg("workers 2 ms per task behind, yet the pool kept waiting for them");
    /* Sleeping workers (as ones waiting for a core another process holds)
     * leave the process about 1 CPU-second a second of the 2 it shares: the
     * governor probed then, not only when its first hold (0.5 s) ended. */
    if (bpk_pool_early_probes(pool) == 0)
        fail_msg("the workers used about half the CPU time of sharing, yet the first probe "
                 "waited for the end of the hold");
    /* In the hold that follows (≥ 1 s) the calls are split for the caller. */
    assert_int_equal(bpk_pool_width(pool), 1);
    bpk_pool_free(pool);
}

static void test_governor_off(void **state)
{
    (void)state;
    tl_caller = 1;
    setenv("BACKPROP_POOL_ADAPT", "0", 1);
    bpk_pool *pool = bpk_pool_create(2, NULL);
    unsetenv("BACKPROP_POOL_ADAPT");
    assert_non_null(pool);
    bpk_pool_task_hook = held_up_hook;
    run_calls(pool, 0.5);
    bpk_pool_task_hook = NULL;
    assert_int_equal(bpk_pool_alone_holds(pool), 0);
    assert_int_equal(bpk_pool_width(pool), 2);
    bpk_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_task_once),
        cmocka_unit_test(test_sgemm_bits_any_thread),
        cmocka_unit_test(test_training_bits_any_thread),
        cmocka_unit_test(test_training_bits_switching_split),
        cmocka_unit_test(test_governor_goes_alone),
        cmocka_unit_test(test_governor_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
