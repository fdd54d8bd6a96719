/*
 * pool_test.h — a test-only hook into the thread pool (not for library code).
 *
 * When set, bpk_pool_task_hook(task) is called by whichever thread is about
 * to run a task of bpk_pool_run, just before it: tests/test_pool.c makes
 * threads sleep at random there to check that a dynamic handout with slow or
 * descheduled threads still gives the same bits.  Set it only while no pool
 * is running a job.
 */
#ifndef BP_POOL_TEST_H
#define BP_POOL_TEST_H

extern void (*bpk_pool_task_hook)(int task);

/* How many times the pool's governor chose to work on the caller alone for a
 * while (pool.c): tests/test_pool.c checks that a pool whose workers are held
 * up does, and that one with BACKPROP_POOL_ADAPT=0 never does. */
struct bpk_pool;
long bpk_pool_alone_holds(const struct bpk_pool *pool);

/* How many probes the governor started before its hold ended because the
 * threads used far less CPU time than there are threads (pool.c's
 * cpu_starved): tests/test_pool.c checks that held-up workers start one. */
long bpk_pool_early_probes(const struct bpk_pool *pool);

/* Test-only: when non-zero, bpk_pool_width answers 1 and the pool's width in
 * turn, as if the governor switched at every kernel call, so that a test can
 * check that a run mixing both splits keeps its bits. */
extern int bpk_pool_alternate_width;

#endif
