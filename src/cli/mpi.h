/* Multi-process training under mpirun: the CLI's MPI transport (mpi.c) and
 * the train command's agreement steps (mpi_train.c).  docs/scaling.md.
 *
 * Only mpi.c includes <mpi.h>; it is compiled with mpicc when the build found
 * MPI and as stubs otherwise, so the library and the rest of the CLI never
 * depend on MPI.  MPI is started only when the process was launched by an MPI
 * launcher (its environment says so), so a plain `backprop train` never
 * starts MPI's singleton machinery. */
#ifndef BP_CLI_MPI_H
#define BP_CLI_MPI_H

#include <stddef.h>
#include <stdint.h>

#include "backprop.h"

/* ---- the launcher's environment (no MPI call) ---------------------------- */

/* This process's rank and the job's size as the launcher set them (OpenMPI's
 * OMPI_COMM_WORLD_*, MPICH's PMI_*, PMIx's PMIX_RANK); 0 and 1 when not
 * launched by one. */
int cli_mpi_env_rank(void);
int cli_mpi_env_size(void);
/* Ranks of this job on this machine (1 when unknown): --threads' default is
 * the cores divided by it. */
int cli_mpi_env_local_size(void);

/* ---- transport (mpi.c) --------------------------------------------------- */

/* 1 when this build has MPI. */
int cli_mpi_built(void);
/* Starts MPI (a launched job of more than one process only).  0, or -1 after
 * writing why to err. */
int cli_mpi_start(int *argc, char ***argv, char *err, size_t cap);
/* Whether MPI was started, and this process's place in the job. */
int cli_mpi_active(void);
int cli_mpi_rank(void);
int cli_mpi_ranks(void);
/* Every rank's `bytes` bytes, in rank order, into all (ranks·bytes).
 * 0, or -1 after writing why to err. */
int cli_mpi_allgather(const void *mine, size_t bytes, void *all, char *err, size_t cap);
/* The bp_reduce_fn: the in-order shard sum on every rank, through a
 * reduce-scatter of slices and an all-gather of the summed slices, both as
 * pairwise MPI_Sendrecv; never MPI_Allreduce on floats (its order depends on
 * the job). */
int cli_mpi_reduce(void *user, const float *local, int local_shards, size_t len, float *total,
                   char *err, size_t cap);
/* What cli_mpi_share_buffers made: places in an MPI-3 shared-memory window.
 * Either local and total, for bp_trainer_set_reduce_buffers (cli_mpi_reduce
 * then reads the other ranks' vectors in place), or state and rank_shards,
 * for bp_trainer_share_state with cli_mpi_sync (no reduce at all). */
typedef struct cli_mpi_shared {
    float *local, *total;
    float *state;
    float *const *rank_shards; /* [ranks], owned by mpi.c */
} cli_mpi_shared;
/* When every rank runs on this machine (and BACKPROP_MPI_SHM is not 0): a
 * window for this rank's shard vectors (local_floats) and, by what the run
 * allows and BACKPROP_MPI_SHM asks (both the same on every rank):
 *   state_floats > 0 (bp_trainer_shared_state_len) and BACKPROP_MPI_SHM
 *     not "total": the parameters and optimizer state, one copy for all;
 *   else read_only_total (bp_trainer_total_read_only): one total for all,
 *     which each reduce sums into in place;
 *   else a total per rank (total_floats).
 * Returns 1 with *out set, or 0 with it zeroed (ranks on several machines,
 * or no window: the message path).  Collective: every rank calls it, after
 * the start-up agreement; all get the same answer. */
int cli_mpi_share_buffers(size_t local_floats, size_t total_floats, int read_only_total,
                          size_t state_floats, cli_mpi_shared *out);
/* The bp_sync_fn of shared state: a barrier through the window (timed like
 * the reduce: BACKPROP_MPI_TIMING). */
int cli_mpi_sync(void *user, bp_sync_point point, char *err, size_t cap);
/* How the reduce moves the vectors, for the timing line: "through a
 * shared-memory window" or "by messages". */
const char *cli_mpi_reduce_path(void);
/* What combining the gradients cost so far, for the timing report and the
 * bench: seconds exchanging (the reduce, or shared state's syncs), and
 * (BACKPROP_MPI_TIMING=1 only) waiting for the slowest rank apart from it;
 * steps; the bytes this rank sent (or read from the others' memory) per
 * step; with shared state, the seconds of this rank's part of the sum and
 * update (else 0). */
typedef struct cli_mpi_stats {
    double wait, seconds, update_seconds, bytes_per_step;
    long steps;
    int shared_state; /* the ranks shared their state: bytes are read, not sent */
} cli_mpi_stats;
void cli_mpi_reduce_stats(cli_mpi_stats *st);
/* Barrier-split timing in every reduce: all ranks must agree (a barrier on
 * one rank only would pair with another rank's exchange), so the start-up
 * agreement sets it from rank 0's BACKPROP_MPI_TIMING. */
void cli_mpi_set_timing(int on);
/* Ends the whole job at once with `code` (a rank that cannot go on while the
 * others wait in a collective step). */
void cli_mpi_abort(int code);
void cli_mpi_stop(void);

/* ---- the train command's agreement (mpi_train.c) ------------------------- */

/* What defines a run, hashed per part; ranks that differ are refused. */
enum { MPI_PART_OPTIONS, MPI_PART_DATA, MPI_PART_NET, MPI_PARTS };

/* Non-root ranks print nothing: standard output goes to /dev/null and
 * standard error to a capture file whose last line travels to rank 0 at
 * the agreement steps.  Call first. */
void cli_mpi_quiet_others(void);
/* FNV-1a over bytes, continuing from h (start with CLI_HASH_INIT). */
#define CLI_HASH_INIT 14695981039346656037ull
uint64_t cli_hash(uint64_t h, const void *p, size_t n);
uint64_t cli_hash_options(const bp_train_options *o);
uint64_t cli_hash_dataset(uint64_t h, const bp_dataset *ds);
uint64_t cli_hash_net(const bp_net *net);
/* Start-up agreement: every rank says whether it is ready (rc 0) and what its
 * run is (hashes).  Returns 0 when all are ready and agree; else rank 0 says
 * which rank failed and why, or which ranks differ and in what, and every
 * rank returns the same exit code.  Rank 0's BACKPROP_MPI_TIMING decides
 * for all, and rank 0 notes ranks whose CPU kernel path (bp_isa) differs. */
int cli_mpi_agree_start(int rc, const uint64_t hashes[MPI_PARTS]);
/* End: every rank's exit code meets; rank 0 reports ranks that failed
 * alone.  Returns the job's exit code (rank 0's, else the first failure). */
int cli_mpi_agree_end(int rc);
/* A failure only this rank saw while the others are in a training step:
 * says so on the real standard error and ends the job. */
void cli_mpi_fail_alone(const char *message);

#endif
