/*
 * A persistent thread pool that degrades gracefully when the machine is
 * shared.
 *
 * A job is `ntasks` fixed tasks handed out one at a time from an atomic
 * countdown: the caller and every awake worker take the next task until none
 * is left, so a worker that is descheduled (another process has its core)
 * holds nobody up unless it is in the middle of a task — the caller and the
 * other workers take the rest.  The caller then waits for the tasks still
 * running, not for the workers: a worker that never woke up for a job is not
 * waited for at all.  Tasks write disjoint memory and their split does not
 * depend on who runs them, so which thread runs which task never changes a
 * result (kernels.h's determinism rule).
 *
 * Waiting (a worker for the next job, the caller for the last running tasks)
 * spins for a bounded time with a pause instruction — a training step's
 * kernels follow each other within microseconds, and a wake-up costs more —
 * then sleeps on a condition variable, so a thread that has nothing to do
 * never takes CPU time from one that has (its own caller on the same core,
 * or another process).  No sched_yield() before sleeping: on a loaded
 * machine each yield gives up the core for a whole round of the other
 * runnable threads, and with ~15 jobs a training step that made the
 * 2-thread epoch 3–4× slower at load 10 (bench/busy_core.sh).
 *
 * When sharing does not pay, the caller works alone.  bpk_pool_width, which
 * every kernel asks before it splits its work, counts the calls per second —
 * in a training loop the same kernels come round every step, so that rate is
 * the run's speed, serial work between the calls included — once with the
 * workers (a window of at least WINDOW_JOBS calls and WINDOW_NS) and once
 * with the kernels split for the caller alone (one GEMM tile, no repacking;
 * cut short when far behind), keeps the faster way for a while (1 s,
 * doubling while the same way keeps winning, up to 8 s), then measures both
 * again.  The first probe comes half a second into the run, so short runs
 * never pay for one — unless the threads are plainly not getting their
 * cores: while sharing, each window also reads the process's CPU time, and
 * when the threads used far fewer CPU-seconds per second than there are
 * threads (they wait for a core another process has, or sleep), that
 * window's rate is the shared one and the alone probe starts at once (see
 * cpu_starved).  When another process holds a core, the threads' share of
 * it is worth less than waiting for them and being moved between cores
 * costs, and alone wins: with Linux's autogroups a process in another
 * session busy on one of 2 cores leaves this one about 1.1 CPUs, however
 * many threads it runs.  Which thread runs a task never changes a result,
 * so neither does this; the CLI's default (one thread per core) is then no
 * slower than one thread on a shared machine (bench/busy_core.sh).
 * BACKPROP_POOL_ADAPT=0 turns it off (measuring the threads themselves).
 *
 * One job at a time per pool: bpk_pool_run must not be called concurrently
 * on the same pool, nor from inside one of its tasks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "pool_test.h"

/* How long a waiting thread spins before it sleeps.  Long enough to cover
 * the gap between the kernels of one training step (a few µs of serial
 * work), short enough that a thread sharing its core with the one it waits
 * for gives the core back soon. */
#define SPIN_NS 30000L

/* The governor (see the top): a probe window is at least WINDOW_JOBS calls
 * and WINDOW_NS; the way that won is kept for hold_ns.  The first probe
 * comes FIRST_PROBE_NS after the first call, so that a short run (a test, a
 * small net) never pays for one. */
#define WINDOW_JOBS 32
#define WINDOW_NS 50000000LL
#define FIRST_PROBE_NS 500000000LL
#define HOLD_FIRST_NS 1000000000LL
#define HOLD_MAX_NS 8000000000LL
/* A shared window in which the threads used less than STARVED_SHARE of the
 * CPU time they used when sharing last won a probe (at first: one second a
 * second per thread) starts a probe.  Idle, workload B's 2 threads use 1.9–2
 * (a waiting worker spins); with another session busy on one of the 2
 * cores, 1.1. */
#define STARVED_SHARE 0.75
/* The watch's windows: CPU use needs no long window, and the sooner a
 * starved start is seen the less of it is run shared. */
#define WATCH_NS (WINDOW_NS / 2)

typedef enum { PROBE_SHARED, PROBE_ALONE, HOLD } governor_phase;

typedef struct governor {
    int adaptive;          /* 0: always share (BACKPROP_POOL_ADAPT=0) */
    int threads;           /* the pool's: the CPUs sharing hopes to use */
    int started;           /* the first call has been seen */
    governor_phase phase;
    int alone;             /* in HOLD: the caller works alone */
    int jobs;              /* kernel calls counted in this phase */
    struct timespec since; /* when this phase began */
    double shared_rate;    /* calls per ns in the last shared probe */
    long long hold_ns;     /* how long the next hold lasts */
    long alone_holds;      /* test and diagnostics: holds that chose alone */
    /* The CPU-time watch while sharing (cpu_starved). */
    int watch;             /* 0: the run's first window (a warm-up) is not over */
    int win_jobs;          /* calls in this window */
    struct timespec win_since;
    long long win_cpu_ns;  /* the process's CPU time when the window began */
    double win_used;       /* CPU-seconds per second in the last shared window */
    double calm_used;      /* ... when sharing last won a probe */
    long early_probes;     /* test and diagnostics: probes the watch started */
} governor;

struct bpk_pool {
    int threads;
    pthread_t *tids;
    int nstarted;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    /* The current job.  Written by the caller only while no task is handed
     * out or running; read by a thread only after it has claimed a task of
     * the job (the claim's acquire pairs with the caller's release), and the
     * job cannot end before that task does. */
    bpk_task_fn fn;
    void *ctx;
    int ntasks;
    atomic_int left;    /* tasks not yet handed out; task = ntasks − left */
    atomic_int done;    /* tasks finished */
    atomic_uint gen;    /* bumped for each job: what sleeping workers wait on */
    atomic_int sleepers;      /* workers asleep on cv_work (or about to be) */
    atomic_int caller_sleeps; /* the caller is asleep on cv_done (or about to be) */
    atomic_int stop;
    governor gov; /* the caller's only */
};

/* Test-only: called before each task when set (tests/test_pool.c). */
void (*bpk_pool_task_hook)(int task);

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Spins until ready(p) or SPIN_NS have passed; non-zero when ready. */
static int spin_until(bpk_pool *p, int (*ready)(bpk_pool *))
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (ready(p))
                return 1;
            cpu_relax();
        }
        if (elapsed_ns(&t0) > SPIN_NS)
            return 0;
    }
}

/* Claims and runs tasks until none is left to hand out; how many it ran. */
static int run_tasks(bpk_pool *p)
{
    for (int ran = 0;; ran++) {
        int left = atomic_fetch_sub_explicit(&p->left, 1, memory_order_acquire);
        if (left <= 0)
            return ran; /* nothing left (left is reset with a store for each job) */
        int n = p->ntasks;
        if (bpk_pool_task_hook)
            bpk_pool_task_hook(n - left);
        p->fn(p->ctx, n - left);
        /* After this increment the job may end and the caller rewrite it:
         * nothing of the job is read after it. */
        if (atomic_fetch_add(&p->done, 1) + 1 == n && atomic_load(&p->caller_sleeps)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

void bpk_thread_cleanup(void); /* sgemm.c: frees this thread's packing buffers */

static _Thread_local unsigned tl_seen; /* a worker's last job generation */

static int new_job(bpk_pool *p)
{
    return atomic_load_explicit(&p->gen, memory_order_acquire) != tl_seen ||
           atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static void *worker(void *arg)
{
    bpk_pool *p = arg;
    tl_seen = 0; /* gen starts at 0 before any worker exists: no job is missed */
    for (;;) {
        if (!spin_until(p, new_job)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (!new_job(p))
                pthread_cond_wait(&p->cv_work, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            break;
        tl_seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        run_tasks(p);
    }
    bpk_thread_cleanup();
    return NULL;
}

bpk_pool *bpk_pool_create(int threads, int *failed_thread)
{
    /* kernels/ sits below nn/error.c, so it words no message: errno says why
     * and the caller (nn/workspace.c) reports it. */
    if (threads < 1 || threads > 1024) {
        errno = EINVAL;
        return NULL;
    }
    bpk_pool *p = calloc(1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    p->threads = threads;
    const char *adapt = getenv("BACKPROP_POOL_ADAPT");
    p->gov.adaptive = !(adapt && strcmp(adapt, "0") == 0);
    p->gov.threads = threads;
    atomic_init(&p->left, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->gen, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->caller_sleeps, 0);
    atomic_init(&p->stop, 0);
    if (threads == 1)
        return p;
    p->tids = calloc((size_t)threads - 1, sizeof *p->tids);
    if (!p->tids) {
        free(p);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&p->tids[i], NULL, worker, p) != 0) {
            bpk_pool_free(p);
            if (failed_thread)
                *failed_thread = i + 1;
            errno = EAGAIN;
            return NULL;
        }
        p->nstarted++;
    }
    return p;
}

void bpk_pool_free(bpk_pool *p)
{
    if (!p)
        return;
    if (p->threads > 1) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->nstarted; i++)
            pthread_join(p->tids[i], NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv_work);
        pthread_cond_destroy(&p->cv_done);
        free(p->tids);
    }
    free(p);
}

int bpk_pool_threads(const bpk_pool *p) { return p ? p->threads : 1; }

long bpk_pool_alone_holds(const bpk_pool *p) { return p ? p->gov.alone_holds : 0; }

long bpk_pool_early_probes(const bpk_pool *p) { return p ? p->gov.early_probes : 0; }

static int working_alone(const governor *g)
{
    return g->adaptive && (g->phase == PROBE_ALONE || (g->phase == HOLD && g->alone));
}

static long long ns_between(const struct timespec *t0, const struct timespec *t1)
{
    return (long long)(t1->tv_sec - t0->tv_sec) * 1000000000LL + (t1->tv_nsec - t0->tv_nsec);
}

/* The CPU time of all the process's threads; -1 where there is no such clock. */
static long long process_cpu_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) != 0)
        return -1;
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void start_window(governor *g, const struct timespec *now)
{
    g->win_jobs = 0;
    g->win_since = *now;
    g->win_cpu_ns = process_cpu_ns();
}

static void enter(governor *g, governor_phase phase, const struct timespec *now)
{
    g->phase = phase;
    g->jobs = 0;
    g->since = *now;
    start_window(g, now);
}

/* Counts a call made while sharing; at the end of each window (WINDOW_JOBS
 * calls and WATCH_NS) notes the CPU-seconds per second the process used in
 * it, and answers non-zero when that is far below what sharing used when it
 * last won (calm_used): the threads are not getting their cores now.  The
 * window's rate is then the shared rate the alone probe is measured against.
 * The run's first window warms up (packing, first touches) and only arms the
 * watch. */
static int cpu_starved(governor *g, const struct timespec *now)
{
    g->win_jobs++;
    long long ns = ns_between(&g->win_since, now);
    if (g->win_jobs < WINDOW_JOBS || ns < WATCH_NS || g->win_cpu_ns < 0)
        return 0;
    long long cpu = process_cpu_ns();
    g->win_used = (double)(cpu - g->win_cpu_ns) / (double)ns;
    double rate = g->win_jobs / (double)ns;
    int armed = g->watch;
    g->watch = 1;
    start_window(g, now);
    if (!armed || g->win_used >= STARVED_SHARE * g->calm_used)
        return 0;
    g->shared_rate = rate;
    return 1;
}

/* Called as each kernel call is split: counts it and moves between the
 * phases.  Non-zero when this call is to run on the caller alone. */
static int governor_tick(governor *g)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!g->started) {
        g->started = 1;
        g->hold_ns = FIRST_PROBE_NS;
        g->calm_used = g->threads;
        enter(g, HOLD, &now); /* sharing, until the first probe */
    }
    long long ns = ns_between(&g->since, &now);
    if (g->phase == HOLD) {
        if (ns >= g->hold_ns) {
            enter(g, PROBE_SHARED, &now);
        } else if (!g->alone && cpu_starved(g, &now)) {
            g->early_probes++;
            enter(g, PROBE_ALONE, &now);
            g->jobs = 1;
            return 1;
        } else {
            return g->alone;
        }
    }
    if (g->phase == PROBE_SHARED)
        cpu_starved(g, &now); /* only notes win_used: the probe decides */
    int window_done = g->jobs >= WINDOW_JOBS && ns >= WINDOW_NS;
    /* An alone probe far behind the shared rate ends early: on an idle
     * machine it is the costly half of the probe. */
    int far_behind = g->phase == PROBE_ALONE && g->jobs >= WINDOW_JOBS &&
                     ns >= WINDOW_NS / 4 && g->jobs < 0.75 * g->shared_rate * (double)ns;
    if (!window_done && !far_behind) {
        g->jobs++;
        return g->phase == PROBE_ALONE;
    }
    double rate = g->jobs / (double)ns;
    if (g->phase == PROBE_SHARED) {
        g->shared_rate = rate;
        enter(g, PROBE_ALONE, &now);
        g->jobs = 1;
        return 1;
    }
    int alone = rate > g->shared_rate;
    /* Sharing won at this CPU use: only a further fall starts a probe early. */
    g->calm_used = alone ? g->threads : g->win_used;
    /* The same winner again: trust it longer. */
    g->hold_ns = alone == g->alone && g->hold_ns * 2 <= HOLD_MAX_NS ? g->hold_ns * 2
                 : alone == g->alone                               ? HOLD_MAX_NS
                                                                   : HOLD_FIRST_NS;
    g->alone = alone;
    g->alone_holds += alone;
    enter(g, HOLD, &now);
    return alone;
}

int bpk_pool_alternate_width;

int bpk_pool_width(bpk_pool *p)
{
    if (!p || p->threads == 1)
        return 1;
    if (bpk_pool_alternate_width) {
        static _Thread_local unsigned turn;
        return ++turn & 1 ? 1 : p->threads;
    }
    return p->gov.adaptive && governor_tick(&p->gov) ? 1 : p->threads;
}

static int job_done(bpk_pool *p)
{
    return atomic_load_explicit(&p->done, memory_order_acquire) == p->ntasks;
}

/* Only tasks that other threads are running now are waited for. */
static void wait_for_job(bpk_pool *p)
{
    if (job_done(p) || spin_until(p, job_done))
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_sleeps, 1); /* seq_cst: pairs with run_tasks' done/caller_sleeps */
    while (!job_done(p))
        pthread_cond_wait(&p->cv_done, &p->mu);
    atomic_store(&p->caller_sleeps, 0);
    pthread_mutex_unlock(&p->mu);
}

void bpk_pool_run(bpk_pool *p, int ntasks, bpk_task_fn fn, void *ctx)
{
    if (ntasks <= 0)
        return;
    if (!p || p->threads == 1 || ntasks == 1 || working_alone(&p->gov)) {
        for (int t = 0; t < ntasks; t++) {
            if (bpk_pool_task_hook)
                bpk_pool_task_hook(t);
            fn(ctx, t);
        }
        return;
    }
    /* No task of the previous job is handed out or running: the job's fields
     * are the caller's until `left` publishes them. */
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->left, ntasks, memory_order_release);
    atomic_fetch_add(&p->gen, 1); /* seq_cst: ordered before the read of sleepers */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p);
    wait_for_job(p);
}
