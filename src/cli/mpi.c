/* The CLI's MPI transport: start-up, all-gather of fixed records, and the
 * reduce hook of data-parallel training (backprop.h, bp_reduce_fn).
 *
 * Built with mpicc and BP_MPI when the build found MPI (Makefile); without
 * it every function here is a stub for a one-process run, so the rest of the
 * CLI is the same in both builds.  See docs/scaling.md for what the reduce
 * sends. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi.h"

#ifdef BP_MPI
#include <mpi.h>

static int started, my_rank, n_ranks = 1;

/* The reduce's layout for one (len, local shards): slice q of every vector is
 * [off[q], off[q+1]); rank q sums slice q.  Built at the first call.
 *
 * A slice is exchanged and summed CHUNK floats at a time: the chunk just
 * received is still in cache when it is added, so the shards' copies are
 * written and read once in L2 instead of through memory (on the bench's
 * 2-process run that read alone was 0.26 ms of a 1.1 ms reduce).  The sum is
 * a plain left fold per element, so chunking does not change a bit. */
enum { CHUNK = 32768 };
static struct {
    size_t len;
    int local;
    int *counts, *displs; /* slice q: its length and offset, in floats */
    float *recv;          /* [shards][CHUNK]: every shard's chunk, in shard order */
    double bytes;         /* sent per call by this rank */
} lay;
static double reduce_wait, reduce_secs, update_secs;
static long reduce_calls;
static int timing; /* split waiting from the exchange (cli_mpi_set_timing) */

int cli_mpi_built(void) { return 1; }
int cli_mpi_active(void) { return started; }
int cli_mpi_rank(void) { return my_rank; }
int cli_mpi_ranks(void) { return n_ranks; }

static void mpi_message(int code, const char *what, char *err, size_t cap)
{
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(code, text, &n) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", code);
    snprintf(err, cap, "%s failed on rank %d: %s", what, my_rank, text);
}

int cli_mpi_start(int *argc, char ***argv, char *err, size_t cap)
{
    if (started || cli_mpi_env_size() <= 1)
        return 0;
    /* Only the main thread calls MPI; the worker threads never do. */
    int provided, rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) {
        snprintf(err, cap, "MPI_Init failed (error %d)", rc);
        return -1;
    }
    started = 1;
    /* Errors come back as codes, so a failed step names itself; a rank that
     * dies still ends the job through the launcher. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    return 0;
}

int cli_mpi_allgather(const void *mine, size_t bytes, void *all, char *err, size_t cap)
{
    if (!started) {
        memcpy(all, mine, bytes);
        return 0;
    }
    int rc = MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
        mpi_message(rc, "MPI_Allgather", err, cap);
        return -1;
    }
    return 0;
}

static void free_layout(void)
{
    free(lay.counts);
    free(lay.displs);
    free(lay.recv);
    memset(&lay, 0, sizeof lay);
}

/* The slices of the reduce for len floats × `local` vectors per rank. */
static int build_layout(size_t len, int local, char *err, size_t cap)
{
    free_layout();
    int P = n_ranks, S = local * P;
    if (len > 2147483647u / sizeof(float)) {
        snprintf(err, cap, "%zu floats are too many for one MPI message", len);
        return -1;
    }
    lay.counts = calloc((size_t)P, sizeof(int));
    lay.displs = calloc((size_t)P, sizeof(int));
    lay.recv = malloc((size_t)CHUNK * (size_t)S * sizeof(float));
    if (!lay.counts || !lay.displs || !lay.recv) {
        free_layout();
        snprintf(err, cap, "out of memory for the reduce's buffers");
        return -1;
    }
    lay.len = len;
    lay.local = local;
    size_t mine = len * (size_t)(my_rank + 1) / (size_t)P - len * (size_t)my_rank / (size_t)P;
    for (int q = 0; q < P; q++) {
        size_t off = len * (size_t)q / (size_t)P, n = len * (size_t)(q + 1) / (size_t)P - off;
        lay.counts[q] = (int)n;
        lay.displs[q] = (int)off;
        if (q != my_rank)
            lay.bytes += (double)(n * (size_t)local + mine) * sizeof(float);
    }
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Step k of a pairwise exchange: rank r sends to r + k and hears from r - k
 * (mod P), so every pair meets once in P - 1 steps and no step waits on a
 * third rank.  On one node each message is one copy; the library's
 * collectives (MPI_Alltoallw, MPI_Allgatherv) took 2-4x as long for the same
 * bytes here (docs/scaling.md). */
static int pair_to(int k) { return (my_rank + k) % n_ranks; }
static int pair_from(int k) { return (my_rank - k + n_ranks) % n_ranks; }

/* Send `count` floats at `at` of each of the `local` vectors (strided by
 * lay.len) to rank `to`, and receive rank `from`'s `local` × `mine` floats
 * into `into`.  One contiguous message when local is 1; a vector type
 * otherwise. */
static int send_chunk(const float *at, int count, int to, float *into, int mine, int from)
{
    int recv_count = lay.local * mine;
    if (lay.local == 1 || count == 0)
        return MPI_Sendrecv(at, count * lay.local, MPI_FLOAT, to, 1, into, recv_count, MPI_FLOAT,
                            from, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Datatype type;
    int rc = MPI_Type_vector(lay.local, count, (int)lay.len, MPI_FLOAT, &type);
    if (rc == MPI_SUCCESS && (rc = MPI_Type_commit(&type)) == MPI_SUCCESS) {
        rc = MPI_Sendrecv(at, 1, type, to, 1, into, recv_count, MPI_FLOAT, from, 1,
                          MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Type_free(&type);
    }
    return rc;
}

/* Reduce-scatter: floats [lo, lo + n) of my slice from every shard of every
 * rank into lay.recv in shard order, then their sum into total.  Chunk c of
 * rank q's slice goes at the same step c, so ranks whose slices have
 * different chunk counts still pair every message. */
static int reduce_chunk(const float *local, size_t c, float *total, char *err, size_t cap)
{
    int me = my_rank, S = lay.local * n_ranks;
    size_t lo = c * CHUNK, mine = (size_t)lay.counts[me];
    int n = lo < mine ? (int)(mine - lo < CHUNK ? mine - lo : CHUNK) : 0;
    const float *own = local + lay.displs[me] + lo;
    for (int j = 0; j < lay.local; j++)
        memcpy(lay.recv + ((size_t)me * (size_t)lay.local + (size_t)j) * (size_t)n,
               own + (size_t)j * lay.len, (size_t)n * sizeof(float));
    for (int k = 1; k < n_ranks; k++) {
        int to = pair_to(k), from = pair_from(k);
        size_t theirs = (size_t)lay.counts[to];
        int m = lo < theirs ? (int)(theirs - lo < CHUNK ? theirs - lo : CHUNK) : 0;
        int rc = send_chunk(local + lay.displs[to] + lo, m, to,
                            lay.recv + (size_t)from * (size_t)lay.local * (size_t)n, n, from);
        if (rc != MPI_SUCCESS) {
            mpi_message(rc, "the gradient exchange (MPI_Sendrecv)", err, cap);
            return -1;
        }
    }
    if (n > 0)
        bp_sum_shards(lay.recv, S, (size_t)n, total + lay.displs[me] + lo);
    return 0;
}

/* All-gather: my summed slice of total to every rank, theirs into total. */
static int gather_sums(float *total, char *err, size_t cap)
{
    int me = my_rank;
    for (int k = 1; k < n_ranks; k++) {
        int to = pair_to(k), from = pair_from(k);
        int rc = MPI_Sendrecv(total + lay.displs[me], lay.counts[me], MPI_FLOAT, to, 2,
                              total + lay.displs[from], lay.counts[from], MPI_FLOAT, from, 2,
                              MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            mpi_message(rc, "the gradient all-gather (MPI_Sendrecv)", err, cap);
            return -1;
        }
    }
    return 0;
}

/* ---- ranks on one machine: an MPI-3 shared-memory window ----------------
 *
 * When every rank runs on this machine, each rank's shard vectors and total
 * live in one shared window (cli_mpi_share_buffers; the trainer writes its
 * gradients straight into it, bp_trainer_set_reduce_buffers), and the reduce
 * reads the other ranks' vectors where they lie instead of copying them
 * through messages: each rank sums its slice from every shard, then copies
 * the other ranks' summed slices from their totals.  The same slices, the
 * same order of summation, the same bits as the message path.  Three
 * barriers a step order it: all shards written; all slices summed; all
 * copies taken (after which a rank may change its total in place and write
 * its next shards).
 *
 * When the step only reads the total (bp_trainer_total_read_only: no
 * clipping, L2 weight decay or RPROP), the ranks share more: the parameters
 * and the optimizer state, one copy in rank 0's part of the window
 * (bp_trainer_share_state).  Then there is no reduce at all: after a
 * barrier (every shard written) each rank sums every shard over its own
 * part of the parameters, straight into the update of that part, and a
 * second barrier makes the updated whole every rank's (cli_mpi_sync).
 * BACKPROP_MPI_SHM=total keeps the step before that for comparison: one
 * total, in rank 0's part, which each rank sums its slice into; nobody
 * copies, two barriers (all shards written; all slices summed); a rank
 * writes the total again only after the next step's first barrier, which
 * every rank reaches only once its update (the total's only reader) is
 * done.  BACKPROP_MPI_SHM=0 keeps the message path. */
static struct {
    int on;
    int one_total;    /* every rank's total is rank 0's */
    int share_state;  /* bp_trainer_share_state: no totals */
    MPI_Win win;
    float **shards; /* [P]: rank q's shard vectors, as mapped in this process */
    float **totals; /* [P]: rank q's total (all the same with one_total) */
    double update_t0; /* cli_mpi_sync: when this rank's part of the update began */
} shm;

static void shm_free(void)
{
    if (shm.on) {
        MPI_Win_unlock_all(shm.win);
        MPI_Win_free(&shm.win);
    }
    free(shm.shards);
    free(shm.totals);
    memset(&shm, 0, sizeof shm);
}

/* 1 on every rank when all agree on `mine` being 1 (a collective step). */
static int all_agree(int mine)
{
    int all = 0;
    if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
        return 0;
    return all;
}

/* Whether every rank of the job shares this machine (collective). */
static int one_machine(void)
{
    MPI_Comm node;
    int size = 0;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) !=
        MPI_SUCCESS)
        return 0;
    MPI_Comm_size(node, &size);
    MPI_Comm_free(&node);
    return size == n_ranks;
}

/* Floats of rank q's part of the window: its shard vectors (padded to a
 * cache line), then rank 0's shared state or total, or each rank's total;
 * 16 more for the alignment below. */
static size_t window_part(int q, size_t local_padded, size_t total_floats, size_t state_floats)
{
    size_t extra = shm.share_state ? (q == 0 ? state_floats : 0)
                   : shm.one_total ? (q == 0 ? total_floats : 0)
                                   : total_floats;
    return local_padded + extra + 16;
}

/* Maps every rank's part of a new window (collective); 0 when any failed. */
static int map_window(size_t local_padded, size_t total_floats, size_t state_floats)
{
    size_t floats = window_part(my_rank, local_padded, total_floats, state_floats);
    float *base = NULL;
    int ok = floats <= (size_t)PTRDIFF_MAX / sizeof(float) &&
             MPI_Win_allocate_shared((MPI_Aint)(floats * sizeof(float)), (int)sizeof(float),
                                     MPI_INFO_NULL, MPI_COMM_WORLD, &base, &shm.win) == MPI_SUCCESS;
    int made = ok;
    shm.shards = calloc((size_t)n_ranks, sizeof *shm.shards);
    shm.totals = calloc((size_t)n_ranks, sizeof *shm.totals);
    ok = ok && shm.shards && shm.totals;
    for (int q = 0; ok && q < n_ranks; q++) {
        MPI_Aint size;
        int unit;
        float *at = NULL;
        size_t want_q = window_part(q, local_padded, total_floats, state_floats);
        ok = MPI_Win_shared_query(shm.win, q, &size, &unit, &at) == MPI_SUCCESS && at &&
             (size_t)size >= want_q * sizeof(float);
        /* Open MPI's segments start 8 bytes into a cache line: each vector
         * is moved to the next 64-byte boundary (the kernels' loads and
         * stores straddled lines otherwise, and a step took 1 ms longer).  A
         * byte's place within its page is the same in every process's
         * mapping, so every rank finds the same boundaries. */
        if (at)
            at = (float *)(((uintptr_t)at + 63) & ~(uintptr_t)63);
        shm.shards[q] = at;
        shm.totals[q] = at ? at + local_padded : NULL;
    }
    for (int q = 1; ok && (shm.one_total || shm.share_state) && q < n_ranks; q++)
        shm.totals[q] = shm.totals[0];
    ok = all_agree(ok);
    if (ok)
        ok = MPI_Win_lock_all(MPI_MODE_NOCHECK, shm.win) == MPI_SUCCESS;
    shm.on = all_agree(ok); /* a failed lock on one rank: all back out together */
    if (!shm.on) {
        if (ok)
            MPI_Win_unlock_all(shm.win);
        if (made)
            MPI_Win_free(&shm.win);
        shm_free();
    }
    return shm.on;
}

int cli_mpi_share_buffers(size_t local_floats, size_t total_floats, int read_only_total,
                          size_t state_floats, cli_mpi_shared *out)
{
    memset(out, 0, sizeof *out);
    if (!started || n_ranks < 2)
        return 0;
    const char *env = getenv("BACKPROP_MPI_SHM");
    int want = one_machine() && !(env && !strcmp(env, "0"));
    if (!all_agree(want))
        return 0;
    shm.share_state = all_agree(state_floats > 0 && !(env && !strcmp(env, "total")));
    shm.one_total = !shm.share_state && all_agree(read_only_total);
    size_t local_padded = (local_floats + 15) / 16 * 16;
    if (!map_window(local_padded, total_floats, state_floats))
        return 0;
    if (shm.share_state) {
        out->state = shm.totals[0];
        out->rank_shards = shm.shards;
        /* What a rank reads of the others' shards a step: its part (about
         * 1/P of each vector) of the other ranks' vectors. */
        lay.bytes = (double)local_floats * (double)(n_ranks - 1) / (double)n_ranks *
                    (double)sizeof(float);
    } else {
        out->local = shm.shards[my_rank];
        out->total = shm.totals[my_rank];
    }
    return 1;
}

/* Every rank's writes to the window seen by all: the barrier orders the
 * ranks, the syncs make the memory agree with it. */
static int shm_sync(const char *when, char *err, size_t cap)
{
    MPI_Win_sync(shm.win);
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_sync(shm.win);
    if (rc != MPI_SUCCESS)
        mpi_message(rc, when, err, cap);
    return rc == MPI_SUCCESS ? 0 : -1;
}

/* The reduce through the window: my slice of every shard, a piece at a time
 * into lay.recv and summed into my total; then the other slices from the
 * ranks that summed them. */
static int shm_reduce(float *total, char *err, size_t cap)
{
    if (shm_sync("the barrier before the gradient sum", err, cap) != 0)
        return -1;
    int me = my_rank, L = lay.local;
    size_t mine = (size_t)lay.counts[me], first = (size_t)lay.displs[me];
    for (size_t lo = 0; lo < mine; lo += CHUNK) {
        size_t n = mine - lo < CHUNK ? mine - lo : CHUNK;
        for (int q = 0; q < n_ranks; q++)
            for (int j = 0; j < L; j++)
                memcpy(lay.recv + ((size_t)q * (size_t)L + (size_t)j) * n,
                       shm.shards[q] + (size_t)j * lay.len + first + lo, n * sizeof(float));
        bp_sum_shards(lay.recv, L * n_ranks, n, total + first + lo);
    }
    if (shm_sync("the barrier after the gradient sum", err, cap) != 0)
        return -1;
    if (shm.one_total) /* summed in place: nothing to copy (see above) */
        return 0;
    for (int k = 1; k < n_ranks; k++) {
        int q = pair_from(k);
        memcpy(total + lay.displs[q], shm.totals[q] + lay.displs[q],
               (size_t)lay.counts[q] * sizeof(float));
    }
    return shm_sync("the barrier after the gradient copy", err, cap);
}

int cli_mpi_reduce(void *user, const float *local, int local_shards, size_t len, float *total,
                   char *err, size_t cap)
{
    (void)user;
    double t0 = now();
    if (timing) {
        /* Time spent waiting for the slowest rank to finish its shards is
         * load imbalance, not communication: a barrier first measures it
         * apart (timing runs only; it costs one small message round). */
        MPI_Barrier(MPI_COMM_WORLD);
        double t1 = now();
        reduce_wait += t1 - t0;
        t0 = t1;
    }
    if ((lay.len != len || lay.local != local_shards) &&
        build_layout(len, local_shards, err, cap) != 0)
        return -1;
    if (shm.on && local == shm.shards[my_rank] && total == shm.totals[my_rank]) {
        if (shm_reduce(total, err, cap) != 0)
            return -1;
        reduce_secs += now() - t0;
        reduce_calls++;
        return 0;
    }
    /* Every rank runs the same number of steps: the widest slice's chunks. */
    size_t widest = 0;
    for (int q = 0; q < n_ranks; q++)
        widest = (size_t)lay.counts[q] > widest ? (size_t)lay.counts[q] : widest;
    size_t chunks = (widest + CHUNK - 1) / CHUNK;
    for (size_t c = 0; c < chunks; c++)
        if (reduce_chunk(local, c, total, err, cap) != 0)
            return -1;
    if (gather_sums(total, err, cap) != 0)
        return -1;
    reduce_secs += now() - t0;
    reduce_calls++;
    return 0;
}
/* Shared state's barrier.  Timed like the reduce: the barrier once every
 * shard is written, and the one once every part is updated, are the
 * exchange (with timing on, a barrier before each takes the waiting for the
 * slowest rank apart); between them lies this rank's part of the sum and
 * update, timed on its own. */
int cli_mpi_sync(void *user, bp_sync_point point, char *err, size_t cap)
{
    (void)user;
    int step = point == BP_SYNC_SHARDS || point == BP_SYNC_UPDATED;
    double t0 = now();
    if (point == BP_SYNC_UPDATED)
        update_secs += t0 - shm.update_t0;
    if (timing && step) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t1 = now();
        reduce_wait += t1 - t0;
        t0 = t1;
    }
    if (shm_sync("the barrier of a training step", err, cap) != 0)
        return -1;
    double t1 = now();
    if (step)
        reduce_secs += t1 - t0;
    if (point == BP_SYNC_SHARDS)
        shm.update_t0 = t1;
    if (point == BP_SYNC_UPDATED)
        reduce_calls++;
    return 0;
}

void cli_mpi_set_timing(int on) { timing = on; }
const char *cli_mpi_reduce_path(void)
{
    return !shm.on           ? "by messages"
           : shm.share_state ? "no reduce: the parameters and optimizer state shared in a "
                               "shared-memory window, each process summing and updating its part"
           : shm.one_total   ? "through a shared-memory window, into one shared total"
                             : "through a shared-memory window";
}

void cli_mpi_reduce_stats(cli_mpi_stats *st)
{
    st->wait = reduce_wait;
    st->seconds = reduce_secs;
    st->update_seconds = update_secs;
    st->steps = reduce_calls;
    st->bytes_per_step = lay.bytes;
    st->shared_state = shm.share_state;
}

void cli_mpi_abort(int code)
{
    if (started)
        MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

void cli_mpi_stop(void)
{
    if (!started)
        return;
    free_layout();
    shm_free();
    MPI_Finalize();
    started = 0;
}

#else /* one-process build: no MPI */

int cli_mpi_built(void) { return 0; }
int cli_mpi_active(void) { return 0; }
int cli_mpi_rank(void) { return 0; }
int cli_mpi_ranks(void) { return 1; }

int cli_mpi_start(int *argc, char ***argv, char *err, size_t cap)
{
    (void)argc;
    (void)argv;
    if (cli_mpi_env_size() <= 1)
        return 0;
    snprintf(err, cap, "started by an MPI launcher as one of %d processes, but this backprop "
                       "was built without MPI (install libopenmpi-dev, then make)",
             cli_mpi_env_size());
    return -1;
}

int cli_mpi_allgather(const void *mine, size_t bytes, void *all, char *err, size_t cap)
{
    (void)err;
    (void)cap;
    memcpy(all, mine, bytes);
    return 0;
}

int cli_mpi_reduce(void *user, const float *local, int local_shards, size_t len, float *total,
                   char *err, size_t cap)
{
    (void)user;
    (void)err;
    (void)cap;
    bp_sum_shards(local, local_shards, len, total);
    return 0;
}

void cli_mpi_reduce_stats(cli_mpi_stats *st) { memset(st, 0, sizeof *st); }

void cli_mpi_set_timing(int on) { (void)on; }
const char *cli_mpi_reduce_path(void) { return "by messages"; }

int cli_mpi_share_buffers(size_t local_floats, size_t total_floats, int read_only_total,
                          size_t state_floats, cli_mpi_shared *out)
{
    (void)local_floats;
    (void)read_only_total;
    (void)total_floats;
    (void)state_floats;
    memset(out, 0, sizeof *out);
    return 0;
}
int cli_mpi_sync(void *user, bp_sync_point point, char *err, size_t cap)
{
    (void)user;
    (void)point;
    (void)err;
    (void)cap;
    return 0; /* one process: nobody to wait for */
}
void cli_mpi_abort(int code) { exit(code); }
void cli_mpi_stop(void) {}

#endif
