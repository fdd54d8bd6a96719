/*
 * The training loop: minibatches over shuffled rows, optimizers, schedules,
 * clipping, dropout, validation, early stopping, divergence detection.
 *
 * Reproducibility: every random draw comes from a stream derived from
 * (seed, epoch[, batch]), never from a generator carried across epochs, so a
 * run resumed from a checkpoint after epoch k draws exactly what the
 * uninterrupted run drew; and the kernels give the same bits for any thread
 * count.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "le.h"
#include "nn_internal.h"
#include "kernels/rng.h"

struct bp_trainer {
    bp_net *net;
    bp_train_options opts;
    bp_workspace *ws;
    int epochs_done;
    uint64_t steps;        /* optimizer steps taken (Adam's t) */
    float *m, *v;          /* optimizer moments (momentum uses v) */
    float *rprop_step;     /* iRPROP− per-weight step sizes */
    float *rprop_prev;     /* previous full-batch gradient */
    float *full_grad;      /* iRPROP− accumulator */
    float *best;           /* early stopping: best weights so far */
    double best_val;
    int bad_epochs;
    float *last_good;      /* weights at the start of the epoch, for divergence */
    float *batch_x, *batch_y;
    size_t *order;
    size_t order_cap;
    volatile sig_atomic_t stop; /* bp_trainer_request_stop: checked after every batch */
    /* Data parallel (bp_trainer_set_reduce): this process is rank of ranks. */
    int rank, ranks;
    bp_reduce_fn reduce;
    void *reduce_user;
    float *shard_grads; /* [shards / ranks][shard_len]: this rank's shard vectors */
    float *shard_total; /* [shard_len]: their sum over all ranks */
    float *host_shards, *host_total; /* the same in host memory, for the hook on a
                                        device backend (malloc'd; NULL otherwise) */
    float *user_shards, *user_total; /* bp_trainer_set_reduce_buffers: the caller's
                                        host memory for the two above (never freed) */
    /* Ranks of one machine sharing the parameters and optimizer state
     * (bp_trainer_share_state; see "one machine's shared state" below). */
    struct {
        float *params, *m, *v;    /* in the caller's memory (m, v NULL when unused) */
        const float **vectors;    /* [shards]: every rank's shard vectors, shard order */
        const float **part;       /* [shards]: the same from this rank's part on */
        size_t first, count;      /* this rank's part of the parameters */
        bp_sync_fn sync;
        void *user;
        int active;               /* in a run: ws->params, m and v are the shared ones */
        float *own_m, *own_v;     /* the trainer's own m and v while they are */
    } share;
};

/* Statistics appended to each shard's gradient vector (backprop.h). */
enum { STAT_LOSS, STAT_CORRECT, STAT_ROWS, STAT_STOP, STAT_COUNT };

/* ---- names --------------------------------------------------------------- */

static const char *const optimizer_names[BP_OPT_COUNT_] = {
    "sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "rprop"};
static const char *const schedule_names[BP_SCHED_COUNT_] = {"constant", "step", "cosine"};
static const char *const scaling_names[BP_SCALE_COUNT_] = {"none", "minmax", "standard"};

const char *bp_optimizer_name(bp_optimizer o)
{
    return (unsigned)o < BP_OPT_COUNT_ ? optimizer_names[o] : "?";
}
const char *bp_schedule_name(bp_schedule s)
{
    return (unsigned)s < BP_SCHED_COUNT_ ? schedule_names[s] : "?";
}
const char *bp_scaling_name(bp_scaling s)
{
    return (unsigned)s < BP_SCALE_COUNT_ ? scaling_names[s] : "?";
}

static bp_status parse_name(const char *name, const char *const *names, int n, int *out,
                            const char *what)
{
    if (!name)
        return bp_error(BP_ERR_ARG, "%s name is NULL", what);
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i]))
            return *out = i, BP_OK;
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        strcat(list, names[i]);
        if (i + 1 < n)
            strcat(list, i + 2 < n ? ", " : " or ");
    }
    return bp_error(BP_ERR_ARG, "unknown %s \"%s\" (expected %s)", what, name, list);
}

bp_status bp_optimizer_parse(const char *name, bp_optimizer *out)
{
    int v;
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_optimizer_parse: out is NULL");
    if (name && !strcmp(name, "irprop-"))
        return *out = BP_OPT_RPROP, BP_OK;
    bp_status st = parse_name(name, optimizer_names, BP_OPT_COUNT_, &v, "optimizer");
    if (st == BP_OK)
        *out = (bp_optimizer)v;
    return st;
}
bp_status bp_schedule_parse(const char *name, bp_schedule *out)
{
    int v;
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_schedule_parse: out is NULL");
    bp_status st = parse_name(name, schedule_names, BP_SCHED_COUNT_, &v, "schedule");
    if (st == BP_OK)
        *out = (bp_schedule)v;
    return st;
}
bp_status bp_scaling_parse(const char *name, bp_scaling *out)
{
    int v;
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_scaling_parse: out is NULL");
    bp_status st = parse_name(name, scaling_names, BP_SCALE_COUNT_, &v, "scaling");
    if (st == BP_OK)
        *out = (bp_scaling)v;
    return st;
}

bp_status bp_device_parse(const char *name, int *device, int *index)
{
    if (!name || !device || !index)
        return bp_error(BP_ERR_ARG, "bp_device_parse: NULL argument");
    char *end = NULL;
    if (strcmp(name, "cpu") == 0) {
        *device = BP_DEVICE_CPU;
        *index = 0;
        return BP_OK;
    }
    if (strcmp(name, "cuda") == 0) {
        *device = BP_DEVICE_CUDA;
        *index = 0;
        return BP_OK;
    }
    if (strncmp(name, "cuda:", 5) == 0) {
        long i = strtol(name + 5, &end, 10);
        if (end != name + 5 && *end == '\0' && i >= 0 && i < 1024) {
            *device = BP_DEVICE_CUDA;
            *index = (int)i;
            return BP_OK;
        }
    }
    return bp_error(BP_ERR_ARG, "unknown device \"%s\" (choose cpu, cuda or cuda:N)", name);
}

float bp_learning_rate_default(bp_optimizer optimizer)
{
    return optimizer == BP_OPT_ADAM || optimizer == BP_OPT_ADAMW || optimizer == BP_OPT_RMSPROP
               ? 0.001f
               : 0.01f;
}

void bp_train_options_init(bp_train_options *opts, size_t size)
{
    bp_train_options d, *o = &d;
    memset(o, 0, sizeof *o);
    o->epochs = 10;
    o->batch_size = 32;
    o->learning_rate = bp_learning_rate_default(BP_OPT_SGD); /* see backprop.h */
    o->optimizer = BP_OPT_ADAM;
    o->momentum = 0.9f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->rho = 0.9f;
    o->schedule = BP_SCHED_CONSTANT;
    o->step_every = 10;
    o->step_gamma = 0.1f;
    o->seed = 42;
    o->threads = 1;
    o->shuffle = 1;
    o->rprop_increase = 1.2f;
    o->rprop_decrease = 0.5f;
    o->rprop_delta_min = 0.0f;
    o->rprop_delta_max = 50.0f;
    o->rprop_delta_zero = 0.1f;
    bp_abi_fill(opts, size, &d, sizeof d);
}

/* The caller's options (checked size) in this library's layout. */
static bp_status copy_options(bp_train_options *dst, const bp_train_options *src, const char *fn)
{
    bp_train_options_default(dst);
    if (!src)
        return BP_OK;
    bp_status st = bp_abi_check(src, BP_TRAIN_OPTIONS_V1, fn, "bp_train_options",
                                "bp_train_options_default");
    if (st == BP_OK)
        bp_abi_copy(dst, sizeof *dst, src);
    return st;
}

static bp_status check_options(const bp_train_options *o)
{
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return bp_error(BP_ERR_ARG, __VA_ARGS__);                                              \
    } while (0)
    REQUIRE(o->epochs >= 0 && o->epochs <= 1000000, "epochs must be in 0..1000000 (got %d)",
            o->epochs);
    REQUIRE(o->batch_size >= 1 && o->batch_size <= (1 << 20),
            "batch size must be in 1..1048576 (got %d)", o->batch_size);
    REQUIRE(isfinite(o->learning_rate) && o->learning_rate > 0,
            "learning rate must be a positive number");
    REQUIRE((unsigned)o->optimizer < BP_OPT_COUNT_, "unknown optimizer %d", (int)o->optimizer);
    REQUIRE((unsigned)o->schedule < BP_SCHED_COUNT_, "unknown schedule %d", (int)o->schedule);
    REQUIRE(o->momentum >= 0 && o->momentum < 1, "momentum must be in [0, 1)");
    REQUIRE(o->beta1 >= 0 && o->beta1 < 1 && o->beta2 >= 0 && o->beta2 < 1,
            "Adam's betas must be in [0, 1)");
    REQUIRE(o->eps > 0 && isfinite(o->eps), "eps must be positive");
    REQUIRE(o->rho >= 0 && o->rho < 1, "rho must be in [0, 1)");
    REQUIRE(o->weight_decay >= 0 && isfinite(o->weight_decay), "weight decay must be >= 0");
    REQUIRE(o->dropout >= 0 && o->dropout < 1, "dropout must be in [0, 1)");
    /* The integer limits are the CLI's (train --step-every, --warmup,
     * --patience) and hold for checkpoints too, so schedule arithmetic never
     * overflows whatever a file says. */
    REQUIRE(o->step_every >= 1 && o->step_every <= 1000000,
            "step_every must be in 1..1000000 (got %d)", o->step_every);
    REQUIRE(o->step_gamma > 0 && isfinite(o->step_gamma), "step_gamma must be positive");
    REQUIRE(o->min_lr >= 0 && isfinite(o->min_lr), "min_lr must be >= 0");
    REQUIRE(o->warmup_epochs >= 0 && o->warmup_epochs <= 1000000,
            "warm-up epochs must be in 0..1000000 (got %d)", o->warmup_epochs);
    REQUIRE(o->clip_norm >= 0 && isfinite(o->clip_norm), "clip norm must be >= 0");
    REQUIRE(o->patience >= 0 && o->patience <= 1000000, "patience must be in 0..1000000 (got %d)",
            o->patience);
    REQUIRE(o->min_delta >= 0 && isfinite(o->min_delta), "min_delta must be >= 0");
    REQUIRE(o->flat_spot >= 0 && o->flat_spot <= 1, "flat_spot must be in [0, 1]");
    REQUIRE(o->shards >= 0 && o->shards <= 65536, "shards must be in 0..65536 (got %d)",
            o->shards);
    REQUIRE((o->device == BP_DEVICE_CPU || o->device == BP_DEVICE_CUDA) && o->device_index >= 0 &&
                o->device_index < 1024,
            "unknown device %d:%d", o->device, o->device_index);
    REQUIRE(o->precision == BP_PRECISION_FP32 || o->precision == BP_PRECISION_BF16,
            "unknown precision %d (0 fp32, 1 bf16)", o->precision);
    REQUIRE(o->threads >= 1 && o->threads <= 256, "threads must be in 1..256 (got %d)",
            o->threads);
    REQUIRE(o->rprop_increase > 1 && o->rprop_decrease > 0 && o->rprop_decrease < 1 &&
                o->rprop_delta_min >= 0 && o->rprop_delta_max > o->rprop_delta_min &&
                o->rprop_delta_zero > 0 && isfinite(o->rprop_increase) &&
                isfinite(o->rprop_delta_max) && isfinite(o->rprop_delta_zero),
            "RPROP needs increase > 1, 0 < decrease < 1, 0 <= delta_min < delta_max, "
            "delta_zero > 0");
#undef REQUIRE
    return BP_OK;
}

/* Every buffer but the row order lives in the workspace's backend. */
/* The shard vectors and their total, the trainer's own or the caller's
 * (bp_trainer_set_reduce_buffers): the caller's are only forgotten. */
static void release_shard_buffers(bp_trainer *tr)
{
    if (tr->shard_grads && tr->shard_grads != tr->user_shards)
        bpk_release(tr->ws->be, tr->shard_grads);
    if (tr->shard_total && tr->shard_total != tr->user_total)
        bpk_release(tr->ws->be, tr->shard_total);
    if (tr->host_shards != tr->user_shards)
        free(tr->host_shards);
    if (tr->host_total != tr->user_total)
        free(tr->host_total);
    tr->shard_grads = tr->shard_total = tr->host_shards = tr->host_total = NULL;
}

void bp_trainer_free(bp_trainer *tr)
{
    if (!tr)
        return;
    free(tr->share.vectors); /* never active here: bp_trainer_run ends sharing */
    free(tr->share.part);
    release_shard_buffers(tr);
    if (tr->ws) {
        float *bufs[] = {tr->m,         tr->v,        tr->rprop_step, tr->rprop_prev,
                         tr->full_grad, tr->best,     tr->last_good,  tr->batch_x,
                         tr->batch_y};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
            if (bufs[i])
                bpk_release(tr->ws->be, bufs[i]);
    }
    bp_workspace_free(tr->ws);
    free(tr->order);
    free(tr);
}

/* n floats, zeroed, from the trainer's backend (NULL when out of memory). */
static float *alloc_params(bp_trainer *tr, size_t n) { return bpk_alloc(tr->ws->be, n); }

/* The optimizer's state; RPROP's steps start at delta_zero. */
static int alloc_optimizer_state(bp_trainer *tr)
{
    size_t np = tr->net->n_params;
    switch (tr->opts.optimizer) {
    case BP_OPT_MOMENTUM:
    case BP_OPT_NESTEROV:
    case BP_OPT_RMSPROP:
        return (tr->v = alloc_params(tr, np)) != NULL;
    case BP_OPT_ADAM:
    case BP_OPT_ADAMW:
        return (tr->m = alloc_params(tr, np)) && (tr->v = alloc_params(tr, np));
    case BP_OPT_RPROP:
        if (!(tr->rprop_step = alloc_params(tr, np)) || !(tr->rprop_prev = alloc_params(tr, np)) ||
            !(tr->full_grad = alloc_params(tr, np)))
            return 0;
        bpk_fill(tr->ws->be, tr->rprop_step, np, tr->opts.rprop_delta_zero);
        return 1;
    default:
        return 1;
    }
}

/* bf16 is refused where it would only be slower float32 (docs/precision.md). */
static bp_status check_bf16(bpk_backend *be)
{
    if (!be->ops->sgemm_bf16 || !be->ops->bf16_path)
        return bp_error(BP_ERR_UNSUPPORTED, "precision bf16 is not implemented on the %s "
                                            "backend; use fp32", be->name);
    if (!be->ops->bf16_path(be))
        return bp_error(BP_ERR_UNSUPPORTED,
                        "precision bf16 needs a CPU with AVX512-BF16 (this one has none, or "
                        "BACKPROP_ISA chose a path without it); use fp32, or set "
                        "BACKPROP_BF16=emulate to test the bf16 arithmetic on float32 kernels "
                        "(no faster than fp32)");
    return BP_OK;
}

bp_status bp_trainer_create(bp_trainer **out, bp_net *net, const bp_train_options *opts)
{
    if (out)
        *out = NULL;
    if (!out || !net)
        return bp_error(BP_ERR_ARG, "bp_trainer_create: NULL argument");
    bp_train_options o;
    bp_status st = copy_options(&o, opts, "bp_trainer_create");
    if (st == BP_OK)
        st = check_options(&o);
    if (st != BP_OK)
        return st;
    bp_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return bp_error(BP_ERR_NOMEM, "out of memory for a trainer");
    tr->net = net;
    tr->opts = o;
    tr->ranks = 1;
    tr->best_val = INFINITY;
    /* The workspace first: its backend allocates everything else. */
    /* BACKPROP_DEVICE=checked trains on the test backend that stands in
     * for a device (kernels/checked_backend.c); the default is the CPU. */
    char device[32] = "cpu";
    if (o.device == BP_DEVICE_CUDA)
        snprintf(device, sizeof device, "cuda:%d", o.device_index);
    const char *forced = getenv("BACKPROP_DEVICE");
    if ((st = bp_workspace_create_on(&tr->ws, net, o.batch_size, o.threads,
                                     forced && *forced ? forced : device)) != BP_OK ||
        (o.dropout > 0 && (st = bp_workspace_enable_dropout(tr->ws)) != BP_OK)) {
        bp_trainer_free(tr);
        return st;
    }
    tr->ws->flat_spot = o.flat_spot;
    if (o.precision == BP_PRECISION_BF16 && (st = check_bf16(tr->ws->be)) != BP_OK) {
        bp_trainer_free(tr);
        return st;
    }
    size_t np = net->n_params, B = (size_t)o.batch_size;
    /* Zeroed: without a validation set `best` is never filled, yet a
     * checkpoint saves it and the loader refuses non-finite values. */
    int ok = alloc_optimizer_state(tr) && (o.patience == 0 || (tr->best = alloc_params(tr, np))) &&
             (tr->last_good = alloc_params(tr, np)) &&
             (tr->batch_x = alloc_params(tr, B * (size_t)net->n_inputs)) &&
             (tr->batch_y = alloc_params(tr, B * (size_t)bp_net_outputs(net)));
    if (!ok) {
        bp_trainer_free(tr);
        return bp_error(BP_ERR_NOMEM, "out of memory for the trainer of a %zu-parameter net", np);
    }
    *out = tr;
    return BP_OK;
}

/* ---- data parallel ---------------------------------------------------- */

size_t bp_trainer_shard_len(const bp_trainer *tr)
{
    return tr ? tr->net->n_params + STAT_COUNT : 0;
}

void bp_sum_shards(const float *vectors, int count, size_t len, float *out)
{
    if (vectors && out)
        bpk_sum_vectors_host(vectors, count, len, out);
}

bp_status bp_trainer_set_reduce(bp_trainer *tr, int rank, int ranks, bp_reduce_fn fn, void *user)
{
    if (!tr)
        return bp_error(BP_ERR_ARG, "bp_trainer_set_reduce: NULL trainer");
    if (ranks < 1 || rank < 0 || rank >= ranks)
        return bp_error(BP_ERR_ARG, "rank %d of %d processes is not a valid place", rank, ranks);
    if (ranks > 1 && (tr->opts.shards == 0 || tr->opts.shards % ranks != 0))
        return bp_error(BP_ERR_ARG,
                        "%d processes need a shard count they divide (shards is %d); every "
                        "process count that divides it gives the same bits",
                        ranks, tr->opts.shards);
    tr->rank = rank;
    tr->ranks = ranks;
    tr->reduce = fn;
    tr->reduce_user = user;
    return BP_OK;
}

bp_status bp_trainer_set_reduce_buffers(bp_trainer *tr, float *local, float *total)
{
    if (!tr)
        return bp_error(BP_ERR_ARG, "bp_trainer_set_reduce_buffers: NULL trainer");
    if (!local != !total)
        return bp_error(BP_ERR_ARG, "bp_trainer_set_reduce_buffers: give both buffers or neither");
    release_shard_buffers(tr); /* the next run sets up with these */
    tr->user_shards = local;
    tr->user_total = total;
    return BP_OK;
}

/* ---- one machine's shared state (bp_trainer_share_state) ---------------
 *
 * The shared memory holds the parameters, then the optimizer's m and v when
 * it has them, each padded to 16 floats.  A rank's part of the parameters is
 * a run of whole BPK_UPDATE_CHUNKs (so its update has the bits of the whole
 * one, and no two ranks write one cache line); the parts of P ranks split
 * the chunks as evenly as they can.  In a run, ws->params, m and v point
 * into the shared memory (the passes read the parameters there); outside a
 * run the trainer's own hold a copy, which is what the net, callers and
 * checkpoints see. */

static int step_changes_gradient(const bp_train_options *o);

static size_t padded16(size_t n) { return (n + 15) / 16 * 16; }

/* The optimizer state vectors a read-only-total step keeps: m and v, v, or none. */
static int state_vectors(const bp_train_options *o)
{
    switch (o->optimizer) {
    case BP_OPT_ADAM:
    case BP_OPT_ADAMW:
        return 2;
    case BP_OPT_MOMENTUM:
    case BP_OPT_NESTEROV:
    case BP_OPT_RMSPROP:
        return 1;
    default:
        return 0;
    }
}

size_t bp_trainer_shared_state_len(const bp_trainer *tr)
{
    if (!tr || !tr->ws->be->host_memory || !tr->ws->be->ops->update_summed ||
        step_changes_gradient(&tr->opts))
        return 0;
    return (size_t)(1 + state_vectors(&tr->opts)) * padded16(tr->net->n_params);
}

static void share_forget(bp_trainer *tr)
{
    free(tr->share.vectors);
    free(tr->share.part);
    memset(&tr->share, 0, sizeof tr->share);
}

bp_status bp_trainer_share_state(bp_trainer *tr, float *state, float *const *rank_shards,
                                 bp_sync_fn sync, void *user)
{
    if (!tr)
        return bp_error(BP_ERR_ARG, "bp_trainer_share_state: NULL trainer");
    if (tr->share.active)
        return bp_error(BP_ERR_ARG, "bp_trainer_share_state: a run is using the shared state");
    share_forget(tr);
    release_shard_buffers(tr); /* the next run sets up with these */
    tr->user_shards = tr->user_total = NULL;
    if (!state)
        return BP_OK;
    size_t np = tr->net->n_params, len = bp_trainer_shard_len(tr), chunk = BPK_UPDATE_CHUNK;
    int S = tr->opts.shards, local = tr->ranks > 0 ? S / tr->ranks : 0;
    if (!bp_trainer_shared_state_len(tr))
        return bp_error(BP_ERR_UNSUPPORTED, "this run cannot share its state between processes "
                                            "(a device backend, clipping, L2 weight decay or "
                                            "RPROP)");
    if (!rank_shards || !sync || S < 1 || local < 1 || ((uintptr_t)state & 63) != 0)
        return bp_error(BP_ERR_ARG, "bp_trainer_share_state: needs 64-byte aligned state, the "
                                    "ranks' shard vectors, a sync and a sharded run");
    tr->share.vectors = malloc((size_t)S * sizeof *tr->share.vectors);
    tr->share.part = malloc((size_t)S * sizeof *tr->share.part);
    if (!tr->share.vectors || !tr->share.part) {
        share_forget(tr);
        return bp_error(BP_ERR_NOMEM, "out of memory for %d shard pointers", S);
    }
    size_t chunks = (np + chunk - 1) / chunk, R = (size_t)tr->ranks, r = (size_t)tr->rank;
    size_t lo = chunks * r / R * chunk, hi = chunks * (r + 1) / R * chunk;
    tr->share.first = lo < np ? lo : np;
    tr->share.count = (hi < np ? hi : np) - tr->share.first;
    for (int k = 0; k < S; k++) {
        tr->share.vectors[k] = rank_shards[k / local] + (size_t)(k % local) * len;
        tr->share.part[k] = tr->share.vectors[k] + tr->share.first;
    }
    int vecs = state_vectors(&tr->opts);
    tr->share.params = state;
    tr->share.m = vecs == 2 ? state + padded16(np) : NULL;
    tr->share.v = vecs ? state + (size_t)vecs * padded16(np) : NULL;
    tr->share.sync = sync;
    tr->share.user = user;
    tr->user_shards = rank_shards[tr->rank];
    return BP_OK;
}

/* Every rank at this point (the sync hook), or BP_ERR_IO naming `when`. */
static bp_status share_sync(bp_trainer *tr, bp_sync_point point, const char *when)
{
    char err[256] = "";
    if (tr->share.sync(tr->share.user, point, err, sizeof err) == 0)
        return BP_OK;
    return bp_error(BP_ERR_IO, "waiting for the other processes (%s) failed: %s", when,
                    err[0] ? err : "the sync gave no reason");
}

/* n floats of src[first..] into dst[first..] (either may be NULL: nothing). */
static void copy_part(float *dst, const float *src, size_t first, size_t n)
{
    if (dst && src && n)
        memcpy(dst + first, src + first, n * sizeof *dst);
}

/* The start of a run: every rank writes its part of the net's parameters
 * and of its optimizer state (the same on every rank: the same checkpoint
 * or none) into the shared memory, after every rank has left its last run
 * and before any rank reads.  From here on the run uses the shared copy. */
static bp_status share_in(bp_trainer *tr)
{
    bp_status st = share_sync(tr, BP_SYNC_RUN_START, "the start of the run");
    if (st != BP_OK)
        return st;
    size_t first = tr->share.first, n = tr->share.count;
    copy_part(tr->share.params, tr->net->params, first, n);
    copy_part(tr->share.m, tr->m, first, n);
    copy_part(tr->share.v, tr->v, first, n);
    if ((st = share_sync(tr, BP_SYNC_RUN_START, "the start of the run")) != BP_OK)
        return st;
    tr->share.own_m = tr->m;
    tr->share.own_v = tr->v;
    tr->m = tr->share.m;
    tr->v = tr->share.v;
    tr->ws->params = tr->share.params;
    tr->share.active = 1;
    return BP_OK;
}

/* The end of a run, whatever its outcome: the net and the optimizer state
 * are the trainer's own again, copied whole from the shared memory (every
 * write to it happened before the last sync every rank passed). */
static void share_out(bp_trainer *tr)
{
    if (!tr->share.active)
        return;
    size_t np = tr->net->n_params;
    copy_part(tr->net->params, tr->share.params, 0, np);
    copy_part(tr->share.own_m, tr->share.m, 0, np);
    copy_part(tr->share.own_v, tr->share.v, 0, np);
    tr->m = tr->share.own_m;
    tr->v = tr->share.own_v;
    tr->ws->params = NULL;
    tr->share.active = 0;
}

/* Weights put back from `from` (the last good epoch's, or the best): each
 * rank its part of the shared copy, then a sync so all see the whole. */
static bp_status restore_params(bp_trainer *tr, const float *from)
{
    bp_net *net = tr->net;
    if (!tr->share.active) {
        bpk_copy(tr->ws->be, bp_ws_params(net, tr->ws), from, net->n_params);
        return BP_OK;
    }
    copy_part(tr->share.params, from, tr->share.first, tr->share.count);
    return share_sync(tr, BP_SYNC_RESTORED, "restoring the weights");
}

/* NULL trainer: 0 / NULL / nothing (the getters' rule in backprop.h). */
int bp_trainer_epoch(const bp_trainer *tr) { return tr ? tr->epochs_done : 0; }
bp_net *bp_trainer_net(const bp_trainer *tr) { return tr ? tr->net : NULL; }
const bp_train_options *bp_trainer_options(const bp_trainer *tr) { return tr ? &tr->opts : NULL; }

void bp_trainer_set_progress(bp_trainer *tr, bp_progress_fn fn, void *user, size_t report_every)
{
    if (!tr)
        return;
    tr->opts.progress = fn;
    tr->opts.progress_user = user;
    tr->opts.report_every = report_every;
}

void bp_trainer_set_epochs(bp_trainer *tr, int epochs)
{
    if (tr)
        tr->opts.epochs = epochs;
}

/* Only stores to a volatile sig_atomic_t, so a signal handler may call it. */
void bp_trainer_request_stop(bp_trainer *tr)
{
    if (tr)
        tr->stop = 1;
}

/* η for a 0-based epoch. */
float bp_schedule_lr(const bp_train_options *opts, int epoch)
{
    bp_train_options copy, *o = &copy;
    if (!opts) {
        bp_error(BP_ERR_ARG, "bp_schedule_lr: options are NULL");
        return NAN;
    }
    if (copy_options(o, opts, "bp_schedule_lr") != BP_OK)
        return NAN; /* the message says why */
    double lr = o->learning_rate;
    switch (o->schedule) {
    case BP_SCHED_STEP:
        lr *= pow(o->step_gamma, epoch / o->step_every);
        break;
    case BP_SCHED_COSINE: {
        double T = o->epochs > 0 ? o->epochs : 1;
        lr = o->min_lr + 0.5 * (o->learning_rate - o->min_lr) * (1 + cos(3.14159265358979323846 * epoch / T));
        break;
    }
    default:
        break;
    }
    if (epoch < o->warmup_epochs)
        lr *= ((double)epoch + 1) / ((double)o->warmup_epochs + 1);
    return (float)lr;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Names the first place a non-finite value appears, for the divergence message. */
static void locate_nonfinite(const bp_net *net, const bp_workspace *ws, char *buf, size_t cap)
{
    char name[32];
    for (int l = 0; l < net->n_layers; l++) {
        size_t n = (size_t)ws->batch * (size_t)net->layer[l].units;
        size_t is = bpk_find_nonfinite(ws->be, ws->s[l], n);
        size_t ia = bpk_find_nonfinite(ws->be, ws->a[l], n);
        size_t i = is < ia ? is : ia;
        if (i < n) {
            int j = (int)(i % (size_t)net->layer[l].units);
            float s;
            bpk_download(ws->be, &s, ws->s[l] + i, 1);
            snprintf(buf, cap, "layer %d, neuron %s (weighted sum s = %g)", l + 1,
                     bp_neuron_name(net, l, j, name, sizeof name), (double)s);
            return;
        }
    }
    for (int l = 0; l < net->n_layers; l++) {
        size_t n = (size_t)net->layer[l].units * (size_t)net->fan_in[l];
        size_t i = bpk_find_nonfinite(ws->be, bp_ws_params(net, ws) + net->w_offset[l], n);
        if (i < n) {
            snprintf(buf, cap, "layer %d, weights of neuron %s", l + 1,
                     bp_neuron_name(net, l, (int)(i / (size_t)net->fan_in[l]), name,
                                    sizeof name));
            return;
        }
    }
    snprintf(buf, cap, "the loss of layer %d's outputs", net->n_layers);
}

/* The net's parameters from the backend's copy (a device backend's), before
 * the caller may look at the net: callbacks, stops, the end of a run. */
static void params_to_host(bp_trainer *tr)
{
    if (tr->ws->params)
        bpk_download(tr->ws->be, tr->net->params, tr->ws->params, tr->net->n_params);
}

static bp_status diverged(bp_trainer *tr, int epoch, size_t batch, const char *where, float lr)
{
    const bp_train_options *o = &tr->opts;
    /* Put back the weights of the last good epoch so the caller keeps a usable model. */
    bp_status st = restore_params(tr, tr->last_good);
    if (st != BP_OK)
        return st;
    params_to_host(tr);
    const char *hint =
        o->optimizer == BP_OPT_RPROP
            ? "the data may hold extreme values; scale the inputs (--scale standard)"
            : "the learning rate may be too high for this loss and optimizer (try a 10x smaller "
              "--lr), or the inputs are unscaled (try --scale standard)";
    char restored[64];
    if (epoch > 0)
        snprintf(restored, sizeof restored, "the end of epoch %d", epoch);
    else
        snprintf(restored, sizeof restored, "their values before training");
    return bp_error(BP_ERR_NUMERIC,
                    "training diverged: NaN or Inf at epoch %d, batch %zu, first in %s; likely "
                    "cause: %s (learning rate %g in this epoch). Weights restored to %s",
                    epoch + 1, batch + 1, where, hint, (double)lr, restored);
}

/* Whether optimizer_step changes its g: L2 weight decay adds λ·w to it,
 * clipping scales it, iRPROP− zeroes the entries whose sign flipped. */
static int step_changes_gradient(const bp_train_options *o)
{
    return (o->weight_decay > 0 && o->optimizer != BP_OPT_ADAMW) || o->clip_norm > 0 ||
           o->optimizer == BP_OPT_RPROP;
}

int bp_trainer_total_read_only(const bp_trainer *tr)
{
    return tr && !step_changes_gradient(&tr->opts);
}

/* The settings of the optimizer's next step (counts it: Adam's t). */
static bpk_update next_update(bp_trainer *tr, float lr)
{
    const bp_train_options *o = &tr->opts;
    tr->steps++;
    int adam = o->optimizer == BP_OPT_ADAM || o->optimizer == BP_OPT_ADAMW;
    return (bpk_update){
        .optimizer = o->optimizer,
        .lr = lr,
        .momentum = o->momentum,
        .beta1 = o->beta1,
        .beta2 = o->beta2,
        .eps = o->eps,
        .rho = o->rho,
        .c1 = adam ? (float)(1 - pow(o->beta1, (double)tr->steps)) : 0,
        .c2 = adam ? (float)(1 - pow(o->beta2, (double)tr->steps)) : 0,
        .decoupled_wd = o->optimizer == BP_OPT_ADAMW ? o->weight_decay : 0.0f,
        .rprop_increase = o->rprop_increase,
        .rprop_decrease = o->rprop_decrease,
        .rprop_delta_min = o->rprop_delta_min,
        .rprop_delta_max = o->rprop_delta_max,
    };
}

/* Stage 3: weight decay (L2 form), gradient clipping, then the optimizer's
 * update of the weights from the gradient g (which it may change:
 * step_changes_gradient). */
static void optimizer_step(bp_trainer *tr, float *g, float lr)
{
    const bp_train_options *o = &tr->opts;
    bp_net *net = tr->net;
    bpk_backend *be = tr->ws->be;
    size_t n = net->n_params;
    if (o->weight_decay > 0 && o->optimizer != BP_OPT_ADAMW)
        bpk_axpy(be, g, bp_ws_params(net, tr->ws), n, o->weight_decay); /* g += λ·w */
    if (o->clip_norm > 0) {
        double norm = sqrt(bpk_sumsq(be, g, n));
        if (norm > o->clip_norm)
            bpk_scale(be, g, n, (float)(o->clip_norm / norm));
    }
    bpk_update u = next_update(tr, lr);
    int rprop = o->optimizer == BP_OPT_RPROP;
    bpk_update_params(be, &u, bp_ws_params(net, tr->ws), g, rprop ? tr->rprop_step : tr->m,
                      rprop ? tr->rprop_prev : tr->v, n);
}

/* Rows order[first..first+n) into the batch buffers, inputs scaled. */
static void gather(bp_trainer *tr, const bp_dataset *ds, const size_t *order, size_t first,
                   int n)
{
    const bp_net *net = tr->net;
    bpk_backend *be = tr->ws->be;
    bpk_gather_rows(be, tr->batch_x, bp_dataset_x_const(ds), order + first, n, net->n_inputs,
                    net->scale_shift, net->scale_factor);
    bpk_gather_rows(be, tr->batch_y, bp_dataset_y_const(ds), order + first, n,
                    bp_net_outputs(net), NULL, NULL);
}

/* Correct predictions among the n rows just passed forward. */
static size_t batch_correct(const bp_trainer *tr, const bp_dataset *ds, const size_t *order,
                            size_t first, int n)
{
    const bp_net *net = tr->net;
    const int32_t *labels = bp_dataset_labels(ds);
    if (!labels)
        return 0;
    return bpk_count_correct(tr->ws->be, tr->ws->a[net->n_layers - 1], n, bp_net_outputs(net),
                             labels, order + first);
}

/* Mean loss and accuracy of the net on ds (no dropout). */
static bp_status evaluate_into(bp_trainer *tr, const bp_dataset *ds, double *loss, double *acc)
{
    const bp_net *net = tr->net;
    size_t rows = bp_dataset_rows(ds), B = (size_t)tr->opts.batch_size;
    const int32_t *labels = bp_dataset_labels(ds);
    double total = 0;
    size_t correct = 0;
    size_t *order = tr->order; /* identity slice reused: evaluate in file order */
    int frozen = rows > B; /* batches over the same weights (bp_predict) */
    if (frozen)
        bpk_freeze(tr->ws->be, 1);
    bp_status st = BP_OK;
    for (size_t r = 0; r < rows && st == BP_OK; r += B) {
        int n = (int)(rows - r < B ? rows - r : B);
        for (int i = 0; i < n; i++)
            order[i] = r + (size_t)i;
        gather(tr, ds, order, 0, n);
        st = bp_forward(net, tr->ws, tr->batch_x, n);
        float l;
        if (st == BP_OK)
            st = bp_loss_value(net, tr->ws, tr->batch_y, n, &l);
        if (st == BP_OK) {
            total += (double)l * n;
            correct += batch_correct(tr, ds, order, 0, n);
        }
    }
    if (frozen)
        bpk_freeze(tr->ws->be, 0);
    if (st != BP_OK)
        return st;
    *loss = rows ? total / (double)rows : NAN;
    *acc = labels && rows ? (double)correct / (double)rows : NAN;
    return BP_OK;
}

bp_status bp_check_data_fits(const bp_net *net, const bp_dataset *ds, const char *which,
                             const char *noun)
{
    const char *sp = which ? " " : "";
    which = which ? which : "";
    if (bp_dataset_inputs(ds) != net->n_inputs)
        return bp_error(BP_ERR_SHAPE, "%s%sdata has %d inputs per row but the %s takes %d", which,
                        sp, bp_dataset_inputs(ds), noun, net->n_inputs);
    if (bp_dataset_outputs(ds) != bp_net_outputs(net))
        return bp_error(BP_ERR_SHAPE,
                        "%s%sdata has %d target values per row but the %s has %d outputs%s",
                        which, sp, bp_dataset_outputs(ds), noun, bp_net_outputs(net),
                        bp_dataset_classes(ds) ? " (one per class)" : "");
    if (bp_dataset_rows(ds) == 0)
        return bp_error(BP_ERR_SHAPE, "%s%sdata has no rows", which, sp);
    return BP_OK;
}

static void record_metadata(bp_trainer *tr)
{
    const bp_train_options *o = &tr->opts;
    bp_net *net = tr->net;
    char v[64];
    snprintf(v, sizeof v, "%llu", (unsigned long long)o->seed);
    bp_net_set_meta(net, "seed", v);
    snprintf(v, sizeof v, "%d", tr->epochs_done);
    bp_net_set_meta(net, "epochs", v);
    bp_net_set_meta(net, "optimizer", bp_optimizer_name(o->optimizer));
    /* Only a GPU is named: a CPU-trained model stays the file it always was,
     * and the checked backend is the CPU's arithmetic (same bits, same file). */
    const char *device = tr->ws->be->name;
    if (strcmp(device, "cpu") != 0 && strcmp(device, "checked") != 0)
        bp_net_set_meta(net, "device", device);
    /* Likewise only bf16 is named (the weights are float32 either way). */
    if (o->precision == BP_PRECISION_BF16)
        bp_net_set_meta(net, "precision", "bf16");
    snprintf(v, sizeof v, "%.9g", o->learning_rate);
    bp_net_set_meta(net, "learning_rate", v);
    snprintf(v, sizeof v, "%d", o->batch_size);
    bp_net_set_meta(net, "batch_size", v);
    if (o->optimizer == BP_OPT_MOMENTUM || o->optimizer == BP_OPT_NESTEROV) {
        snprintf(v, sizeof v, "%.9g", o->momentum);
        bp_net_set_meta(net, "momentum", v);
    }
    if (o->optimizer == BP_OPT_ADAM || o->optimizer == BP_OPT_ADAMW) {
        snprintf(v, sizeof v, "%.9g,%.9g,%.9g", o->beta1, o->beta2, o->eps);
        bp_net_set_meta(net, "adam_betas_eps", v);
    }
    if (o->weight_decay > 0) {
        snprintf(v, sizeof v, "%.9g", o->weight_decay);
        bp_net_set_meta(net, "weight_decay", v);
    }
    if (o->dropout > 0) {
        snprintf(v, sizeof v, "%.9g", o->dropout);
        bp_net_set_meta(net, "dropout", v);
    }
    if (o->schedule != BP_SCHED_CONSTANT)
        bp_net_set_meta(net, "schedule", bp_schedule_name(o->schedule));
}

/* A stop request seen after batch `b` (0-based) of 0-based `epoch`: the net
 * keeps the weights of the batches done, unless they are not finite. */
static bp_status stopped(bp_trainer *tr, int epoch, size_t b, size_t batches, float lr)
{
    bp_net *net = tr->net;
    tr->stop = 0;
    bp_online_flush(net, tr->ws);
    if (bpk_find_nonfinite(tr->ws->be, bp_ws_params(net, tr->ws), net->n_params) <
        net->n_params) {
        char where[160];
        locate_nonfinite(net, tr->ws, where, sizeof where);
        return diverged(tr, epoch, b, where, lr);
    }
    params_to_host(tr);
    if (b + 1 == batches)
        return bp_error(BP_ERR_INTERRUPTED, "training interrupted after epoch %d", epoch + 1);
    return bp_error(BP_ERR_INTERRUPTED, "training interrupted in epoch %d after batch %zu of %zu",
                    epoch + 1, b + 1, batches);
}

/* ---- the training step: gradients → reduce → update -------------------
 *
 * Stage 1 computes the gradient of a batch (bp_backward: the batch mean of
 * ∂E/∂w); stage 2 combines gradients across shards and processes (the reduce
 * hook; nothing to do in an unsharded run); stage 3 applies the optimizer
 * (optimizer_step).  Online SGD (batch 1, plain SGD, nothing else per step)
 * keeps its fused path instead: the update is folded into the next sample's
 * forward pass, so there is no gradient buffer at all and nothing a reduce
 * could see — it is the article's loop and the fastest way to run it, and it
 * turns itself off in sharded runs. */

/* One epoch's running totals, for reports and early stopping. */
typedef struct epoch_run {
    int epoch;
    float lr;
    size_t rows, step_rows, steps; /* rows per step: the batch, or all for full batch */
    int online, full_batch;
    double t0, loss_sum;
    size_t correct, seen;
    int stop_seen; /* sharded: the last reduce carried a stop request */
} epoch_run;

/* Around stage 1 (on = 1) and after it (0): the GEMMs of training passes
 * take bf16 operands when precision is bf16; evaluation stays float32. */
static void training_passes(bp_trainer *tr, int on)
{
    tr->ws->bf16_gemm = on && tr->opts.precision == BP_PRECISION_BF16;
}

/* Stage 1, unsharded: the batch's mean gradient into ws->grads and its mean
 * loss into *loss.  Dropout masks come from one generator per batch. */
static bp_status batch_gradient(bp_trainer *tr, const epoch_run *er, size_t b, int n, float *loss)
{
    const bp_train_options *o = &tr->opts;
    bp_status st;
    if (o->dropout > 0) {
        bp_rng rng;
        bp_rng_seed(&rng, o->seed,
                    ((uint64_t)BP_STREAM_DROPOUT << 48) + ((uint64_t)er->epoch << 24) + b);
        bpk_mask_source src = {&rng, 0, 0, 0};
        st = bp_forward_dropout(tr->net, tr->ws, tr->batch_x, n, o->dropout, &src);
    } else {
        st = bp_forward(tr->net, tr->ws, tr->batch_x, n);
    }
    return st == BP_OK ? bp_backward_scaled(tr->net, tr->ws, tr->batch_x, tr->batch_y, n,
                                            1.0f / (float)n, loss)
                       : st;
}

/* Stage 1, sharded: the gradient of rows [first, first + count) of the
 * epoch's order, each row's term scaled by `scale` (1 / rows of the whole
 * step), into vec[0..n_params), and the shard's statistics after it.  A shard
 * larger than the workspace (full-batch RPROP) is summed in chunks. */
static bp_status shard_gradient(bp_trainer *tr, const bp_dataset *ds, const epoch_run *er,
                                size_t first, size_t count, float scale, int stop, float *vec)
{
    const bp_net *net = tr->net;
    size_t np = net->n_params, B = (size_t)tr->opts.batch_size;
    float stats[STAT_COUNT] = {0};
    stats[STAT_STOP] = stop ? 1.0f : 0.0f;
    if (count == 0)
        bpk_fill(tr->ws->be, vec, np, 0.0f); /* a shard with no rows (batch < S) */
    for (size_t done = 0; done < count; done += B) {
        int m = (int)(count - done < B ? count - done : B);
        gather(tr, ds, tr->order, first + done, m);
        bp_status st;
        if (tr->opts.dropout > 0) {
            bpk_mask_source src = {NULL, tr->opts.seed, (uint64_t)er->epoch, first + done};
            st = bp_forward_dropout(net, tr->ws, tr->batch_x, m, tr->opts.dropout, &src);
        } else {
            st = bp_forward(net, tr->ws, tr->batch_x, m);
        }
        /* The first chunk's gradient is written in place; later chunks
         * (full-batch RPROP) are added to it. */
        float loss = 0;
        if (st == BP_OK)
            st = bp_backward_into(net, tr->ws, tr->batch_x, tr->batch_y, m, scale, &loss,
                                  done == 0 ? vec : tr->ws->grads);
        if (st != BP_OK)
            return st;
        if (done > 0)
            bpk_axpy(tr->ws->be, vec, tr->ws->grads, np, 1.0f);
        stats[STAT_LOSS] += loss * (float)m;
        stats[STAT_CORRECT] += (float)batch_correct(tr, ds, tr->order, first + done, m);
        stats[STAT_ROWS] += (float)m;
    }
    bpk_upload(tr->ws->be, vec + np, stats, STAT_COUNT);
    return BP_OK;
}

/* Stage 2: the sum of all shards' vectors, in shard order, on every rank. */
static bp_status reduce_shards(bp_trainer *tr)
{
    int local = tr->opts.shards / tr->ranks;
    size_t len = bp_trainer_shard_len(tr);
    if (!tr->reduce) {
        bpk_sum_vectors(tr->ws->be, tr->shard_grads, local, len, tr->shard_total);
        return BP_OK;
    }
    /* The hook works on host memory: a device backend's vectors go through
     * host buffers (tr->host_shards, tr->host_total). */
    bpk_backend *be = tr->ws->be;
    float *grads = tr->shard_grads, *total = tr->shard_total;
    if (!be->host_memory) {
        bpk_download(be, tr->host_shards, grads, (size_t)local * len);
        grads = tr->host_shards;
        total = tr->host_total;
    }
    char err[256] = "";
    if (tr->reduce(tr->reduce_user, grads, local, len, total, err, sizeof err) != 0)
        return bp_error(BP_ERR_IO, "combining the gradients of %d processes failed: %s",
                        tr->ranks, err[0] ? err : "the reduce gave no reason");
    if (!be->host_memory)
        bpk_upload(be, tr->shard_total, total, len);
    return BP_OK;
}

/* A step's combined statistics into the epoch's totals; a loss that is not
 * finite ends the run (every rank sees the same, so all end together). */
static bp_status take_stats(bp_trainer *tr, epoch_run *er, size_t step,
                            const float stats[STAT_COUNT])
{
    if (!isfinite(stats[STAT_LOSS])) {
        char where[160];
        locate_nonfinite(tr->net, tr->ws, where, sizeof where);
        return diverged(tr, er->epoch, step, where, er->lr);
    }
    er->loss_sum += (double)stats[STAT_LOSS];
    er->correct += (size_t)stats[STAT_CORRECT];
    er->seen += (size_t)stats[STAT_ROWS];
    er->stop_seen = stats[STAT_STOP] > 0;
    return BP_OK;
}

/* The statistics of every shard (host memory), summed in shard order as
 * bp_sum_shards would: the same on every rank. */
static void sum_shard_stats(const bp_trainer *tr, float stats[STAT_COUNT])
{
    size_t np = tr->net->n_params;
    for (int s = 0; s < STAT_COUNT; s++) {
        stats[s] = tr->share.vectors[0][np + (size_t)s];
        for (int k = 1; k < tr->opts.shards; k++)
            stats[s] += tr->share.vectors[k][np + (size_t)s];
    }
}

/* Stages 2 and 3 with one machine's shared state: once every rank's shards
 * are written, each rank sums the statistics (all ranks see the same, so all
 * take the same decisions) and its part of the gradient, straight into the
 * update of its part of the parameters; a second sync makes the whole
 * updated copy every rank's.  ws->grads holds the part's sum. */
static bp_status shared_update(bp_trainer *tr, epoch_run *er, size_t step)
{
    int S = tr->opts.shards;
    size_t first = tr->share.first;
    bp_status st = share_sync(tr, BP_SYNC_SHARDS, "every shard written");
    if (st != BP_OK)
        return st;
    float stats[STAT_COUNT];
    sum_shard_stats(tr, stats);
    if ((st = take_stats(tr, er, step, stats)) != BP_OK)
        return st;
    bpk_update u = next_update(tr, er->lr);
    if (tr->share.count)
        bpk_update_summed(tr->ws->be, &u, tr->share.params + first, tr->ws->grads + first,
                          tr->share.m ? tr->share.m + first : NULL,
                          tr->share.v ? tr->share.v + first : NULL, tr->share.part, S,
                          tr->share.count);
    return share_sync(tr, BP_SYNC_UPDATED, "every part updated");
}

/* One sharded step over rows [first, first + n): this rank's shards, the
 * reduce, the update.  Every rank sees the same total, so all take the same
 * decisions (divergence, stop) at the same step. */
static bp_status sharded_step(bp_trainer *tr, const bp_dataset *ds, epoch_run *er, size_t step,
                              size_t first, size_t n)
{
    int S = tr->opts.shards, local = S / tr->ranks, k0 = tr->rank * local;
    size_t len = bp_trainer_shard_len(tr), np = tr->net->n_params;
    for (int j = 0; j < local; j++) {
        size_t lo = n * (size_t)(k0 + j) / (size_t)S, hi = n * (size_t)(k0 + j + 1) / (size_t)S;
        float *vec = tr->shard_grads + (size_t)j * len;
        training_passes(tr, 1);
        bp_status st = shard_gradient(tr, ds, er, first + lo, hi - lo, 1.0f / (float)n,
                                      j == 0 && tr->stop, vec);
        training_passes(tr, 0);
        if (st != BP_OK)
            return st;
    }
    if (tr->share.active)
        return shared_update(tr, er, step);
    bp_status st = reduce_shards(tr);
    if (st != BP_OK)
        return st;
    float stats[STAT_COUNT];
    bpk_download(tr->ws->be, stats, tr->shard_total + np, STAT_COUNT);
    if ((st = take_stats(tr, er, step, stats)) != BP_OK)
        return st;
    optimizer_step(tr, tr->shard_total, er->lr);
    return BP_OK;
}

/* One unsharded step over batch b: gradient, (identity reduce), update —
 * or the fused online step, or accumulation for full-batch RPROP. */
static bp_status plain_step(bp_trainer *tr, const bp_dataset *ds, epoch_run *er, size_t b)
{
    bp_net *net = tr->net;
    size_t first = b * er->step_rows;
    int n = (int)(er->rows - first < er->step_rows ? er->rows - first : er->step_rows);
    gather(tr, ds, tr->order, first, n);
    float loss = 0;
    training_passes(tr, 1);
    bp_status st = er->online ? bp_train_sample_deferred(net, tr->ws, tr->batch_x, tr->batch_y,
                                                         er->lr, &loss)
                              : batch_gradient(tr, er, b, n, &loss);
    training_passes(tr, 0);
    if (st != BP_OK)
        return st;
    if (!isfinite(loss)) {
        char where[160];
        locate_nonfinite(net, tr->ws, where, sizeof where);
        bp_online_flush(net, tr->ws);
        return diverged(tr, er->epoch, b, where, er->lr);
    }
    er->correct += batch_correct(tr, ds, tr->order, first, n);
    er->loss_sum += (double)loss * n;
    er->seen += (size_t)n;
    if (er->full_batch)
        /* Sum batch means weighted by rows: the mean gradient over all rows. */
        bpk_axpy(tr->ws->be, tr->full_grad, tr->ws->grads, net->n_params,
                 (float)n / (float)er->rows);
    else if (!er->online)
        optimizer_step(tr, tr->ws->grads, er->lr);
    return BP_OK;
}

/* The in-epoch report every report_every steps (not after the last). */
static bp_status report_progress(bp_trainer *tr, const bp_dataset *ds, const epoch_run *er,
                                 size_t b)
{
    const bp_train_options *o = &tr->opts;
    if (!o->progress || !o->report_every || (b + 1) % o->report_every != 0 || b + 1 >= er->steps)
        return BP_OK;
    /* The callback may look at the net: apply any pending online update
     * (same bits as applying it later). */
    bp_online_flush(tr->net, tr->ws);
    params_to_host(tr);
    double secs = now_seconds() - er->t0, seen = (double)er->seen;
    bp_epoch_report r = {tr, er->epoch + 1, o->epochs, 1, b + 1, er->steps, secs,
                         secs > 0 ? seen / secs : 0, er->lr, er->loss_sum / seen,
                         bp_dataset_labels(ds) ? (double)er->correct / seen : NAN, NAN, NAN, 0};
    if (o->progress(&r, o->progress_user))
        return bp_error(BP_ERR_INTERRUPTED, "training stopped by the progress callback");
    return BP_OK;
}

/* The steps of one epoch, in the order the epoch's shuffle gives. */
static bp_status run_steps(bp_trainer *tr, const bp_dataset *train, epoch_run *er)
{
    bp_net *net = tr->net;
    int sharded = tr->opts.shards > 0;
    if (er->full_batch && !sharded)
        bpk_fill(tr->ws->be, tr->full_grad, net->n_params, 0.0f);
    for (size_t b = 0; b < er->steps; b++) {
        size_t first = b * er->step_rows;
        size_t n = er->rows - first < er->step_rows ? er->rows - first : er->step_rows;
        bp_status st = sharded ? sharded_step(tr, train, er, b, first, n)
                               : plain_step(tr, train, er, b);
        if (st == BP_OK)
            st = report_progress(tr, train, er, b);
        if (st != BP_OK)
            return st;
        int stop = sharded ? er->stop_seen : tr->stop && !er->full_batch;
        if (stop && b + 1 < er->steps)
            return stopped(tr, er->epoch, b, er->steps, er->lr);
    }
    if (er->full_batch && !sharded)
        optimizer_step(tr, tr->full_grad, er->lr); /* the steps were chunks of one batch */
    bp_online_flush(net, tr->ws);
    if (bpk_find_nonfinite(tr->ws->be, bp_ws_params(net, tr->ws), net->n_params) <
        net->n_params) {
        char where[160];
        locate_nonfinite(net, tr->ws, where, sizeof where);
        return diverged(tr, er->epoch, er->steps - 1, where, er->lr);
    }
    return BP_OK;
}

/* Early stopping after an epoch; sets *stop when patience runs out. */
static void watch_improvement(bp_trainer *tr, bp_epoch_report *r, int has_val, int *stop)
{
    const bp_train_options *o = &tr->opts;
    if (o->patience <= 0)
        return;
    /* Validation loss when there is a validation set, else training loss. */
    double watched = has_val ? r->val_loss : r->train_loss;
    if (watched < tr->best_val - o->min_delta) {
        tr->best_val = watched;
        tr->bad_epochs = 0;
        r->improved = 1;
        if (has_val)
            bpk_copy(tr->ws->be, tr->best, bp_ws_params(tr->net, tr->ws), tr->net->n_params);
    } else if (++tr->bad_epochs >= o->patience) {
        *stop = 1;
    }
}

/* The shard vectors and their total: in the backend's memory, or the
 * caller's (bp_trainer_set_reduce_buffers) when the backend's memory is host
 * memory; a device backend stages them through host buffers for the hook. */
static bp_status setup_shard_buffers(bp_trainer *tr)
{
    size_t len = bp_trainer_shard_len(tr), local = (size_t)(tr->opts.shards / tr->ranks);
    int host = tr->ws->be->host_memory, user = tr->user_total != NULL;
    if (tr->share.vectors) { /* one machine's shared state: no total (shared_update) */
        tr->shard_grads = tr->user_shards;
        return BP_OK;
    }
    tr->shard_grads = host && user ? tr->user_shards : alloc_params(tr, local * len);
    tr->shard_total = host && user ? tr->user_total : alloc_params(tr, len);
    if (tr->shard_grads && tr->shard_total && !host) {
        tr->host_shards = user ? tr->user_shards : malloc(local * len * sizeof(float));
        tr->host_total = user ? tr->user_total : malloc(len * sizeof(float));
    }
    if (!tr->shard_grads || !tr->shard_total || (!host && (!tr->host_shards || !tr->host_total)))
        return bp_error(BP_ERR_NOMEM, "out of memory for %zu shard gradients", local);
    return BP_OK;
}

/* Checks and buffers a run needs before its first epoch. */
static bp_status prepare_run(bp_trainer *tr, const bp_dataset *train, const bp_dataset *val)
{
    bp_net *net = tr->net;
    const bp_train_options *o = &tr->opts;
    bp_status st = bp_check_data_fits(net, train, "training", "net");
    if (st == BP_OK && val)
        st = bp_check_data_fits(net, val, "validation", "net");
    if (st == BP_OK)
        st = bp_dataset_check_targets_finite(train, "training data");
    if (st == BP_OK && val)
        st = bp_dataset_check_targets_finite(val, "validation data");
    if (st == BP_OK)
        st = bp_check_targets(net, bp_dataset_y_const(train), bp_dataset_rows(train),
                              "training data row");
    if (st == BP_OK && val)
        st = bp_check_targets(net, bp_dataset_y_const(val), bp_dataset_rows(val),
                              "validation data row");
    if (st != BP_OK)
        return st;
    size_t rows = bp_dataset_rows(train);
    size_t need = rows > (size_t)o->batch_size ? rows : (size_t)o->batch_size;
    if (val && bp_dataset_rows(val) > need)
        need = bp_dataset_rows(val);
    if (tr->order_cap < need) {
        size_t *bigger = realloc(tr->order, need * sizeof *bigger);
        if (!bigger)
            return bp_error(BP_ERR_NOMEM, "out of memory for the row order of %zu rows", need);
        tr->order = bigger;
        tr->order_cap = need;
    }
    /* The net may have changed since the last run (a loaded checkpoint). */
    if (tr->ws->params)
        bpk_upload(tr->ws->be, tr->ws->params, net->params, net->n_params);
    return o->shards > 0 && !tr->shard_grads ? setup_shard_buffers(tr) : BP_OK;
}

/* The epoch's settings and its order of rows (shuffled from the seed). */
static epoch_run start_epoch(bp_trainer *tr, size_t rows)
{
    const bp_train_options *o = &tr->opts;
    epoch_run er = {0};
    er.epoch = tr->epochs_done;
    er.lr = bp_schedule_lr(o, er.epoch);
    er.rows = rows;
    er.full_batch = o->optimizer == BP_OPT_RPROP;
    /* A sharded full-batch epoch is one step over all rows. */
    er.step_rows = er.full_batch && o->shards > 0 ? rows : (size_t)o->batch_size;
    er.steps = (rows + er.step_rows - 1) / er.step_rows;
    /* Online SGD with nothing else to do per step takes the fused batch-1 path. */
    er.online = o->batch_size == 1 && o->optimizer == BP_OPT_SGD && o->dropout == 0 &&
                o->weight_decay == 0 && o->clip_norm == 0 && o->shards == 0 && !tr->reduce &&
                o->precision == BP_PRECISION_FP32;
    bpk_copy(tr->ws->be, tr->last_good, bp_ws_params(tr->net, tr->ws), tr->net->n_params);
    for (size_t i = 0; i < rows; i++)
        tr->order[i] = i;
    if (o->shuffle) {
        bp_rng rng;
        bp_rng_seed(&rng, o->seed, ((uint64_t)BP_STREAM_SHUFFLE << 32) + (uint64_t)er.epoch);
        bp_rng_shuffle(&rng, tr->order, rows);
    }
    er.t0 = now_seconds();
    return er;
}

/* The epochs of a prepared run. */
static bp_status run_epochs(bp_trainer *tr, const bp_dataset *train, const bp_dataset *val)
{
    bp_net *net = tr->net;
    const bp_train_options *o = &tr->opts;
    bp_status st;
    size_t rows = bp_dataset_rows(train);
    while (tr->epochs_done < o->epochs) {
        epoch_run er = start_epoch(tr, rows);
        if ((st = run_steps(tr, train, &er)) != BP_OK)
            return st;
        params_to_host(tr);
        const char *failed = bpk_backend_error(tr->ws->be);
        if (failed)
            return bp_error(BP_ERR_IO, "the %s backend failed in epoch %d: %s", tr->ws->be->name,
                            er.epoch + 1, failed);
        double secs = now_seconds() - er.t0;
        bp_epoch_report r = {tr, er.epoch + 1, o->epochs, 0, er.steps, er.steps, secs,
                             secs > 0 ? rows / secs : 0, er.lr, er.loss_sum / (double)rows,
                             bp_dataset_labels(train) ? (double)er.correct / (double)rows : NAN,
                             NAN, NAN, 0};
        if (val && (st = evaluate_into(tr, val, &r.val_loss, &r.val_accuracy)) != BP_OK)
            return st;
        tr->epochs_done++;
        int stop = 0;
        watch_improvement(tr, &r, val != NULL, &stop);
        record_metadata(tr);
        if (o->progress && o->progress(&r, o->progress_user))
            return bp_error(BP_ERR_INTERRUPTED, "training stopped by the progress callback");
        int asked = o->shards > 0 ? er.stop_seen : tr->stop;
        if (asked && tr->epochs_done < o->epochs && !stop)
            return stopped(tr, er.epoch, er.steps - 1, er.steps, er.lr);
        if (stop)
            break;
    }
    if (o->patience > 0 && val && isfinite(tr->best_val)) {
        if ((st = restore_params(tr, tr->best)) != BP_OK)
            return st;
        params_to_host(tr);
        char v[64];
        snprintf(v, sizeof v, "%.9g", tr->best_val);
        bp_net_set_meta(net, "best_val_loss", v);
    }
    return BP_OK;
}

bp_status bp_trainer_run(bp_trainer *tr, const bp_dataset *train, const bp_dataset *val)
{
    if (!tr || !train)
        return bp_error(BP_ERR_ARG, "bp_trainer_run: NULL argument");
    bp_status st = prepare_run(tr, train, val);
    if (st == BP_OK && tr->share.vectors)
        st = share_in(tr);
    if (st == BP_OK)
        st = run_epochs(tr, train, val);
    share_out(tr);
    return st;
}

bp_status bp_train(bp_net *net, const bp_dataset *train, const bp_dataset *val,
                   const bp_train_options *opts)
{
    bp_trainer *tr;
    bp_status st = bp_trainer_create(&tr, net, opts);
    if (st != BP_OK)
        return st;
    st = bp_trainer_run(tr, train, val);
    bp_trainer_free(tr);
    return st;
}

bp_status bp_net_fit_scaling(bp_net *net, const bp_dataset *train, bp_scaling kind)
{
    if (!net || !train)
        return bp_error(BP_ERR_ARG, "bp_net_fit_scaling: NULL argument");
    if ((unsigned)kind >= BP_SCALE_COUNT_)
        return bp_error(BP_ERR_ARG, "unknown scaling %d", (int)kind);
    if (kind == BP_SCALE_NONE)
        return bp_net_set_scaling(net, NULL, NULL);
    int in = net->n_inputs;
    if (bp_dataset_inputs(train) != in)
        return bp_error(BP_ERR_SHAPE, "data has %d inputs per row but the net takes %d",
                        bp_dataset_inputs(train), in);
    size_t rows = bp_dataset_rows(train);
    if (rows == 0)
        return bp_error(BP_ERR_SHAPE, "cannot fit scaling on an empty data set");
    const float *X = bp_dataset_x_const(train);
    double *a = calloc((size_t)in, sizeof *a), *b = calloc((size_t)in, sizeof *b);
    float *shift = malloc((size_t)in * sizeof *shift), *scale = malloc((size_t)in * sizeof *scale);
    bp_status st = BP_OK;
    if (!a || !b || !shift || !scale) {
        st = bp_error(BP_ERR_NOMEM, "out of memory fitting the scaling");
        goto done;
    }
    if (kind == BP_SCALE_MINMAX) {
        for (int i = 0; i < in; i++)
            a[i] = INFINITY, b[i] = -INFINITY;
        for (size_t r = 0; r < rows; r++)
            for (int i = 0; i < in; i++) {
                double x = X[r * (size_t)in + (size_t)i];
                a[i] = x < a[i] ? x : a[i];
                b[i] = x > b[i] ? x : b[i];
            }
        /* A constant input (e.g. an always-black pixel) gets scale 1, not 1/0. */
        for (int i = 0; i < in; i++) {
            shift[i] = (float)a[i];
            scale[i] = b[i] > a[i] ? (float)(1.0 / (b[i] - a[i])) : 1.0f;
        }
    } else {
        for (size_t r = 0; r < rows; r++)
            for (int i = 0; i < in; i++)
                a[i] += X[r * (size_t)in + (size_t)i];
        for (int i = 0; i < in; i++)
            a[i] /= (double)rows;
        for (size_t r = 0; r < rows; r++)
            for (int i = 0; i < in; i++) {
                double d = X[r * (size_t)in + (size_t)i] - a[i];
                b[i] += d * d;
            }
        for (int i = 0; i < in; i++) {
            double sd = sqrt(b[i] / (double)rows);
            shift[i] = (float)a[i];
            scale[i] = sd > 1e-12 ? (float)(1.0 / sd) : 1.0f;
        }
    }
    st = bp_net_set_scaling(net, shift, scale);
    if (st == BP_OK)
        st = bp_net_set_meta(net, "scaling", bp_scaling_name(kind));
done:
    free(a);
    free(b);
    free(shift);
    free(scale);
    return st;
}

/* ---- checkpoint state ------------------------------------------------------
 * Little-endian bytes: "BPTS", version, the options that shape training, the
 * counters, then each optimizer array present.  Pointers in the options
 * (callback) are not stored; the loader sets them. */

#define STATE_VERSION 4u /* 4 adds precision, 3 shards, 2 min_delta and flat_spot; 1-3 are still read */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int failed;
} bytes_out;

static void put(bytes_out *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u64(bytes_out *b, uint64_t v)
{
    unsigned char c[8];
    bp_le_put_u64(c, v);
    put(b, c, 8);
}

static void put_u32(bytes_out *b, uint32_t v)
{
    unsigned char c[4];
    bp_le_put_u32(c, v);
    put(b, c, 4);
}

static void put_f32(bytes_out *b, float f) { put_u32(b, bp_f32_bits(f)); }

static void put_f64(bytes_out *b, double d) { put_u64(b, bp_f64_bits(d)); }

static void put_array(bytes_out *b, const float *a, size_t n)
{
    put_u32(b, a != NULL);
    if (a)
        for (size_t i = 0; i < n; i++)
            put_f32(b, a[i]);
}

typedef struct {
    const unsigned char *p;
    size_t len, pos;
    int failed;
} bytes_in;

static uint64_t get_u64(bytes_in *b)
{
    if (b->failed || b->len - b->pos < 8)
        return b->failed = 1, 0;
    uint64_t v = bp_le_get_u64(b->p + b->pos);
    b->pos += 8;
    return v;
}

static uint32_t get_u32(bytes_in *b)
{
    if (b->failed || b->len - b->pos < 4)
        return b->failed = 1, 0;
    uint32_t v = bp_le_get_u32(b->p + b->pos);
    b->pos += 4;
    return v;
}

static float get_f32(bytes_in *b) { return bp_f32_from_bits(get_u32(b)); }

static double get_f64(bytes_in *b) { return bp_f64_from_bits(get_u64(b)); }

/* Reads an optional array into dst (allocated by the trainer when expected). */
static void get_array(bytes_in *b, float *dst, size_t n)
{
    uint32_t present = get_u32(b);
    if (b->failed || present != (dst != NULL) || present > 1) {
        b->failed = 1;
        return;
    }
    if (!present)
        return;
    if ((b->len - b->pos) / 4 < n) {
        b->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = get_f32(b);
}

/* The optimizer state arrays in checkpoint order (NULL ones are absent). */
enum { STATE_ARRAYS = 5 };
static void state_slots(bp_trainer *tr, float **slots[STATE_ARRAYS])
{
    slots[0] = &tr->m;
    slots[1] = &tr->v;
    slots[2] = &tr->rprop_step;
    slots[3] = &tr->rprop_prev;
    slots[4] = &tr->best;
}

bp_status bp_trainer_state_export(const bp_trainer *tr, unsigned char **blob, size_t *len)
{
    const bp_train_options *o = &tr->opts;
    bytes_out b = {0};
    put(&b, "BPTS", 4);
    put_u32(&b, STATE_VERSION);
    put_u32(&b, (uint32_t)o->epochs);
    put_u32(&b, (uint32_t)o->batch_size);
    put_f32(&b, o->learning_rate);
    put_u32(&b, (uint32_t)o->optimizer);
    put_f32(&b, o->momentum);
    put_f32(&b, o->beta1);
    put_f32(&b, o->beta2);
    put_f32(&b, o->eps);
    put_f32(&b, o->rho);
    put_f32(&b, o->weight_decay);
    put_f32(&b, o->dropout);
    put_u32(&b, (uint32_t)o->schedule);
    put_u32(&b, (uint32_t)o->step_every);
    put_f32(&b, o->step_gamma);
    put_f32(&b, o->min_lr);
    put_u32(&b, (uint32_t)o->warmup_epochs);
    put_f32(&b, o->clip_norm);
    put_u32(&b, (uint32_t)o->patience);
    put_u64(&b, o->seed);
    put_u32(&b, (uint32_t)o->threads);
    put_u32(&b, (uint32_t)o->shuffle);
    put_f32(&b, o->rprop_increase);
    put_f32(&b, o->rprop_decrease);
    put_f32(&b, o->rprop_delta_min);
    put_f32(&b, o->rprop_delta_max);
    put_f32(&b, o->rprop_delta_zero);
    put_f32(&b, o->min_delta);
    put_f32(&b, o->flat_spot);
    put_u32(&b, (uint32_t)o->shards);
    put_u32(&b, (uint32_t)o->precision);
    put_u32(&b, (uint32_t)tr->epochs_done);
    put_u64(&b, tr->steps);
    put_f64(&b, tr->best_val);
    put_u32(&b, (uint32_t)tr->bad_epochs);
    size_t n = tr->net->n_params;
    put_u64(&b, n);
    float **slots[STATE_ARRAYS];
    state_slots((bp_trainer *)tr, slots); /* only read here */
    for (int k = 0; k < STATE_ARRAYS; k++) {
        const float *a = *slots[k];
        float *host = NULL;
        if (a && !tr->ws->be->host_memory && (host = malloc(n * sizeof(float))) != NULL)
            bpk_download(tr->ws->be, host, a, n);
        b.failed |= a && !tr->ws->be->host_memory && !host;
        put_array(&b, host ? host : a, n);
        free(host);
    }
    if (b.failed) {
        free(b.p);
        return bp_error(BP_ERR_NOMEM, "out of memory saving the trainer state");
    }
    *blob = b.p;
    *len = b.len;
    return BP_OK;
}

/* A loaded optimizer state must be one training could have produced: every
 * value finite, second moments ≥ 0, RPROP steps inside [delta_min,
 * delta_max].  Refused here rather than reported later as divergence. */
static bp_status check_state_arrays(const bp_trainer *tr, float *const host[STATE_ARRAYS],
                                    size_t n)
{
    const struct {
        const float *a;
        const char *name;
        int nonneg;
    } arr[] = {{host[0], "first moments (m)", 0},   {host[1], "second moments (v)", 1},
               {host[2], "RPROP steps", 1}, {host[3], "RPROP previous gradients", 0},
               {host[4], "best weights", 0}};
    const bp_train_options *o = &tr->opts;
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++) {
        if (!arr[k].a)
            continue;
        for (size_t i = 0; i < n; i++) {
            float x = arr[k].a[i];
            int bad = !isfinite(x) || (arr[k].nonneg && x < 0);
            if (k == 2) /* RPROP's first step is delta_zero, then clamped */
                bad = bad || x < fminf(o->rprop_delta_min, o->rprop_delta_zero) ||
                      x > fmaxf(o->rprop_delta_max, o->rprop_delta_zero);
            if (bad)
                return bp_error(BP_ERR_FORMAT, "trainer state: %s: value %zu is %g, %s", arr[k].name,
                                i + 1, (double)x,
                                k == 2                     ? "outside [delta_min, delta_max]"
                                : arr[k].nonneg            ? "not a finite number >= 0"
                                                           : "not a finite number");
        }
    }
    return BP_OK;
}

/* The options a state of `version` holds (fields a version lacks keep
 * their defaults). */
static void get_options(bytes_in *b, uint32_t version, bp_train_options *o)
{
    bp_train_options_default(o);
    o->epochs = (int)get_u32(b);
    o->batch_size = (int)get_u32(b);
    o->learning_rate = get_f32(b);
    o->optimizer = (bp_optimizer)get_u32(b);
    o->momentum = get_f32(b);
    o->beta1 = get_f32(b);
    o->beta2 = get_f32(b);
    o->eps = get_f32(b);
    o->rho = get_f32(b);
    o->weight_decay = get_f32(b);
    o->dropout = get_f32(b);
    o->schedule = (bp_schedule)get_u32(b);
    o->step_every = (int)get_u32(b);
    o->step_gamma = get_f32(b);
    o->min_lr = get_f32(b);
    o->warmup_epochs = (int)get_u32(b);
    o->clip_norm = get_f32(b);
    o->patience = (int)get_u32(b);
    o->seed = get_u64(b);
    o->threads = (int)get_u32(b);
    o->shuffle = (int)get_u32(b);
    o->rprop_increase = get_f32(b);
    o->rprop_decrease = get_f32(b);
    o->rprop_delta_min = get_f32(b);
    o->rprop_delta_max = get_f32(b);
    o->rprop_delta_zero = get_f32(b);
    if (version >= 2) {
        o->min_delta = get_f32(b);
        o->flat_spot = get_f32(b);
    }
    if (version >= 3)
        o->shards = (int)get_u32(b);
    if (version >= 4)
        o->precision = (int)get_u32(b);
}

bp_status bp_trainer_state_import(bp_trainer **out, bp_net *net, const unsigned char *blob,
                                  size_t len)
{
    *out = NULL;
    bytes_in b = {blob, len, 0, 0};
    if (len < 8 || memcmp(blob, "BPTS", 4) != 0)
        return bp_error(BP_ERR_FORMAT, "trainer state: bad magic");
    b.pos = 4;
    uint32_t version = get_u32(&b);
    if (version < 1 || version > STATE_VERSION)
        return bp_error(BP_ERR_FORMAT, "trainer state version %u is not supported (this build "
                                       "reads %u)", version, STATE_VERSION);
    bp_train_options o;
    get_options(&b, version, &o);
    int epochs_done = (int)get_u32(&b);
    uint64_t steps = get_u64(&b);
    double best_val = get_f64(&b);
    int bad_epochs = (int)get_u32(&b);
    uint64_t n = get_u64(&b);
    if (b.failed)
        return bp_error(BP_ERR_FORMAT, "trainer state: truncated");
    if (n != net->n_params)
        return bp_error(BP_ERR_FORMAT, "trainer state is for %llu parameters, the net has %zu",
                        (unsigned long long)n, net->n_params);
    if (epochs_done < 0 || epochs_done > 1000000 || bad_epochs < 0 || bad_epochs > epochs_done)
        return bp_error(BP_ERR_FORMAT, "trainer state: bad counters (%d epochs done, %d without "
                                       "improvement)", epochs_done, bad_epochs);
    if (isnan(best_val) || best_val == -INFINITY)
        return bp_error(BP_ERR_FORMAT, "trainer state: best validation loss is %g", best_val);
    bp_trainer *tr;
    bp_status st = bp_trainer_create(&tr, net, &o);
    if (st != BP_OK)
        return bp_error_prefix(BP_ERR_FORMAT, "trainer state: ");
    tr->epochs_done = epochs_done;
    tr->steps = steps;
    tr->best_val = best_val;
    tr->bad_epochs = bad_epochs;
    /* Read and checked in host memory, then handed to the backend. */
    float **slots[STATE_ARRAYS], *host[STATE_ARRAYS] = {0};
    state_slots(tr, slots);
    int device = !tr->ws->be->host_memory;
    for (int k = 0; k < STATE_ARRAYS; k++) {
        host[k] = *slots[k] && device ? malloc(n * sizeof(float)) : *slots[k];
        b.failed |= *slots[k] && !host[k];
        get_array(&b, host[k], n);
    }
    if (b.failed || b.pos != len)
        st = bp_error(BP_ERR_FORMAT, "trainer state: optimizer arrays do not match the "
                                     "optimizer, or the state is truncated");
    else
        st = check_state_arrays(tr, host, n);
    for (int k = 0; k < STATE_ARRAYS && device; k++) {
        if (host[k] && st == BP_OK)
            bpk_upload(tr->ws->be, *slots[k], host[k], n);
        free(host[k]);
    }
    if (st != BP_OK) {
        bp_trainer_free(tr);
        return st;
    }
    *out = tr;
    return BP_OK;
}
