/* The CLI's MPI transport: start-up, all-gather of fixed records, and the
 * reduce hook of data-parallel training (backprop.h, bp_reduce_fn).
 *
 * Built with mpicc and BP_MPI when the build found MPI (Makefile); without
 * it every function here is a stub for a one-process run, so the rest of the
 * CLI is the same in both builds.  See docs/scaling.md for what the reduce
 * sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi.h"

#ifdef BP_MPI
#include <mpi.h>

static int started, my_rank, n_ranks = 1;

/* The reduce's layout for one (len, local shards): slice q of every vector is
 * [off[q], off[q+1]); rank q sums slice q.  Built at the first call. */
static struct {
    size_t len;
    int local;
    MPI_Datatype *send_types; /* slice q of each local vector, strided by len */
    int *scounts, *sdispls, *rcounts, *rdispls;
    MPI_Datatype *rtypes;
    int *gcounts, *gdispls;   /* the all-gather of summed slices, in floats */
    float *recv;              /* [shards][my slice]: every shard's slice, in shard order */
    double bytes;             /* sent per call by this rank */
} lay;
static double reduce_wait, reduce_secs;
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
    for (int q = 0; lay.send_types && q < n_ranks; q++)
        if (lay.send_types[q] != MPI_FLOAT)
            MPI_Type_free(&lay.send_types[q]);
    free(lay.send_types);
    free(lay.rtypes);
    free(lay.scounts);
    free(lay.sdispls);
    free(lay.rcounts);
    free(lay.rdispls);
    free(lay.gcounts);
    free(lay.gdispls);
    free(lay.recv);
    memset(&lay, 0, sizeof lay);
}

/* The send types, counts and displacements of the reduce for len floats ×
 * `local` vectors per rank. */
static int build_layout(size_t len, int local, char *err, size_t cap)
{
    free_layout();
    int P = n_ranks, S = local * P;
    if (len * (size_t)local * sizeof(float) > 2147483647u) {
        snprintf(err, cap, "%zu floats × %d shards are too many for one MPI message", len, local);
        return -1;
    }
    lay.send_types = calloc((size_t)P, sizeof *lay.send_types);
    lay.rtypes = calloc((size_t)P, sizeof *lay.rtypes);
    int **ints[] = {&lay.scounts, &lay.sdispls, &lay.rcounts, &lay.rdispls, &lay.gcounts,
                    &lay.gdispls};
    int ok = lay.send_types && lay.rtypes;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        ok = (*ints[i] = calloc((size_t)P + 1, sizeof(int))) != NULL && ok;
    size_t mine = len * (size_t)(my_rank + 1) / (size_t)P - len * (size_t)my_rank / (size_t)P;
    lay.recv = malloc((mine ? mine : 1) * (size_t)S * sizeof(float));
    if (!ok || !lay.recv) {
        free_layout();
        snprintf(err, cap, "out of memory for the reduce's buffers");
        return -1;
    }
    lay.len = len;
    lay.local = local;
    for (int q = 0; q < P; q++) {
        size_t off = len * (size_t)q / (size_t)P, n = len * (size_t)(q + 1) / (size_t)P - off;
        lay.gcounts[q] = (int)n;
        lay.gdispls[q] = (int)off;
        lay.send_types[q] = MPI_FLOAT;
        lay.sdispls[q] = (int)(off * sizeof(float));
        if (n > 0) {
            MPI_Type_vector(local, (int)n, (int)len, MPI_FLOAT, &lay.send_types[q]);
            MPI_Type_commit(&lay.send_types[q]);
            lay.scounts[q] = 1;
        }
        /* From rank q: its `local` shards' copies of my slice, after those of
         * ranks before it, so the buffer is in shard order. */
        lay.rtypes[q] = MPI_FLOAT;
        lay.rcounts[q] = (int)(mine * (size_t)local);
        lay.rdispls[q] = (int)((size_t)q * mine * (size_t)local * sizeof(float));
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
    int rc = MPI_Alltoallw(local, lay.scounts, lay.sdispls, lay.send_types, lay.recv,
                           lay.rcounts, lay.rdispls, lay.rtypes, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
        mpi_message(rc, "the gradient exchange (MPI_Alltoallw)", err, cap);
        return -1;
    }
    int me = my_rank;
    bp_sum_shards(lay.recv, local_shards * n_ranks, (size_t)lay.gcounts[me],
                  total + lay.gdispls[me]);
    rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, total, lay.gcounts, lay.gdispls,
                        MPI_FLOAT, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
        mpi_message(rc, "the gradient all-gather (MPI_Allgatherv)", err, cap);
        return -1;
    }
    reduce_secs += now() - t0;
    reduce_calls++;
    return 0;
}

void cli_mpi_set_timing(int on) { timing = on; }

void cli_mpi_reduce_stats(double *wait, double *seconds, long *calls, double *bytes_per_call)
{
    *wait = reduce_wait;
    *seconds = reduce_secs;
    *calls = reduce_calls;
    *bytes_per_call = lay.bytes;
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

void cli_mpi_reduce_stats(double *wait, double *seconds, long *calls, double *bytes_per_call)
{
    *wait = 0;
    *seconds = 0;
    *calls = 0;
    *bytes_per_call = 0;
}

void cli_mpi_set_timing(int on) { (void)on; }
void cli_mpi_abort(int code) { exit(code); }
void cli_mpi_stop(void) {}

#endif
