/*
 * A persistent thread pool.  Workers are created once, spin briefly after a
 * job (so a training loop's back-to-back kernels do not pay a wake-up each)
 * and then sleep on a condition variable.  A job is a task range handed out
 * by an atomic counter to the caller and the workers; tasks write disjoint
 * memory, so which thread runs which task never changes a result.
 *
 * One job at a time per pool: bpk_pool_run must not be called concurrently
 * on the same pool, nor from inside one of its tasks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "kernels.h"

/* Spin iterations before sleeping (≈ tens of µs: covers the gap between
 * the kernels of one training step). */
#define SPIN_ITERS 4000

struct bpk_pool {
    int threads;
    pthread_t *tids;
    int nstarted;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    /* the current job (written by the caller before gen is bumped) */
    bpk_task_fn fn;
    void *ctx;
    int ntasks;
    atomic_int next;    /* next task to hand out */
    atomic_int active;  /* workers still inside the current job */
    atomic_uint gen;    /* job generation */
    atomic_int sleepers;
    atomic_int stop;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_tasks(bpk_pool *p)
{
    int n = p->ntasks;
    for (;;) {
        int t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= n)
            break;
        p->fn(p->ctx, t);
    }
}

void bpk_thread_cleanup(void); /* sgemm.c: frees this thread's packing buffers */

static void *worker(void *arg)
{
    bpk_pool *p = arg;
    unsigned seen = 0; /* gen starts at 0 before any worker exists: no job is missed */
    for (;;) {
        unsigned g = seen;
        for (int i = 0; i < SPIN_ITERS; i++) {
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
            if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed))
                break;
            cpu_relax();
        }
        if (g == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv_work, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            break;
        seen = g;
        run_tasks(p);
        if (atomic_fetch_sub_explicit(&p->active, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
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
    atomic_init(&p->next, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->gen, 0);
    atomic_init(&p->sleepers, 0);
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

void bpk_pool_run(bpk_pool *p, int ntasks, bpk_task_fn fn, void *ctx)
{
    if (ntasks <= 0)
        return;
    if (!p || p->threads == 1 || ntasks == 1) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->active, p->nstarted, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1); /* seq_cst: publishes the job, ordered before the read below */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p);
    for (int i = 0; i < SPIN_ITERS; i++) {
        if (atomic_load_explicit(&p->active, memory_order_acquire) == 0)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->active) != 0)
        pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
