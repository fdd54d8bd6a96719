/* The train command's side of a multi-process run (mpi.h): the launcher's
 * environment, one voice (rank 0's), and the two agreement steps that make
 * every rank stop together with one message: at the start (every rank loaded
 * its data and built the same run) and at the end (every rank's exit code).
 * No MPI call here; the transport is mpi.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "mpi.h"

/* ---- the launcher's environment ------------------------------------------ */

static int env_int(const char *const names[], int fallback)
{
    for (int i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end == '\0' && n >= 0 && n < 1000000)
                return (int)n;
        }
    }
    return fallback;
}

int cli_mpi_env_rank(void)
{
    static const char *const names[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", NULL};
    return cli_mpi_env_size() > 1 ? env_int(names, 0) : 0;
}

int cli_mpi_env_size(void)
{
    static const char *const names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", NULL};
    int n = env_int(names, 1);
    return n > 0 ? n : 1;
}

int cli_mpi_env_local_size(void)
{
    static const char *const names[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", NULL};
    int n = env_int(names, 1);
    return n > 0 ? n : 1;
}

/* ---- one voice ------------------------------------------------------------ */

static FILE *capture;       /* a non-root rank's standard error */
static int real_stderr = -1;

void cli_mpi_quiet_others(void)
{
    if (cli_mpi_env_size() <= 1 || cli_mpi_env_rank() == 0 || capture)
        return;
    int null = open("/dev/null", O_WRONLY);
    capture = tmpfile();
    if (null < 0 || !capture) {
        if (null >= 0)
            close(null);
        return; /* then this rank just speaks too */
    }
    fflush(stdout);
    fflush(stderr);
    real_stderr = dup(STDERR_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(fileno(capture), STDERR_FILENO);
    close(null);
}

/* The last line this rank wrote to its (captured) standard error, without
 * the "backprop train: " every message starts with. */
static void last_message(char *out, size_t cap)
{
    out[0] = '\0';
    if (!capture)
        return;
    fflush(stderr);
    char buf[4096];
    long end = lseek(STDERR_FILENO, 0, SEEK_END);
    long from = end > (long)sizeof buf - 1 ? end - (long)sizeof buf + 1 : 0;
    ssize_t n = end > 0 ? pread(STDERR_FILENO, buf, (size_t)(end - from), from) : 0;
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *line = strrchr(buf, '\n');
    line = line ? line + 1 : buf;
    static const char prefix[] = "backprop train: ";
    if (!strncmp(line, prefix, sizeof prefix - 1))
        line += sizeof prefix - 1;
    size_t len = strlen(line) < cap - 1 ? strlen(line) : cap - 1;
    memcpy(out, line, len);
    out[len] = '\0';
}

/* ---- what defines a run ---------------------------------------------------- */

static inline uint64_t hash_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* Ranks compare these hashes at start, so a rank hashes its whole data set
 * (188 MB for Fashion-MNIST): 8-byte words in four independent lanes, so no
 * one chain of multiplies sets the pace (0.03 s there, against 0.33 s a byte
 * at a time), then the tail bytes and the length.  Only ranks of one job,
 * running one build, compare them: the function may change between versions. */
uint64_t cli_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t l0 = h, l1 = h ^ 0xc2b2ae3d27d4eb4full, l2 = h ^ 0x165667b19e3779f9ull,
             l3 = h ^ 0x27d4eb2f165667c5ull;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, b + i, sizeof w);
        l0 = hash_mix(l0, w[0]), l1 = hash_mix(l1, w[1]);
        l2 = hash_mix(l2, w[2]), l3 = hash_mix(l3, w[3]);
    }
    h = hash_mix(hash_mix(hash_mix(hash_mix(h, l0), l1), l2), l3);
    for (; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return hash_mix(h, (uint64_t)n);
}

#define HASH_FIELD(h, v) ((h) = cli_hash((h), &(v), sizeof(v)))

/* Every option that changes the result; not threads (it never does), nor the
 * callback. */
uint64_t cli_hash_options(const bp_train_options *o)
{
    uint64_t h = CLI_HASH_INIT;
    int ints[] = {o->epochs, o->batch_size, (int)o->optimizer, (int)o->schedule, o->step_every,
                  o->warmup_epochs, o->patience, o->shuffle, o->shards, o->precision};
    float floats[] = {o->learning_rate, o->momentum, o->beta1, o->beta2, o->eps, o->rho,
                      o->weight_decay, o->dropout, o->step_gamma, o->min_lr, o->clip_norm,
                      o->rprop_increase, o->rprop_decrease, o->rprop_delta_min,
                      o->rprop_delta_max, o->rprop_delta_zero, o->min_delta, o->flat_spot};
    h = cli_hash(h, ints, sizeof ints);
    h = cli_hash(h, floats, sizeof floats);
    HASH_FIELD(h, o->seed);
    return h;
}

uint64_t cli_hash_dataset(uint64_t h, const bp_dataset *ds)
{
    if (!ds)
        return cli_hash(h, "-", 1);
    size_t rows = bp_dataset_rows(ds);
    int in = bp_dataset_inputs(ds), out = bp_dataset_outputs(ds), k = bp_dataset_classes(ds);
    HASH_FIELD(h, rows);
    HASH_FIELD(h, in);
    HASH_FIELD(h, out);
    HASH_FIELD(h, k);
    h = cli_hash(h, bp_dataset_x_const(ds), rows * (size_t)in * sizeof(float));
    if (bp_dataset_y_const(ds))
        h = cli_hash(h, bp_dataset_y_const(ds), rows * (size_t)out * sizeof(float));
    if (bp_dataset_labels(ds))
        h = cli_hash(h, bp_dataset_labels(ds), rows * sizeof(int32_t));
    return h;
}

uint64_t cli_hash_net(const bp_net *net)
{
    uint64_t h = CLI_HASH_INIT;
    int in = bp_net_inputs(net), layers = bp_net_layers(net), loss = (int)bp_net_loss(net);
    HASH_FIELD(h, in);
    HASH_FIELD(h, layers);
    HASH_FIELD(h, loss);
    for (int l = 0; l < layers; l++) {
        bp_layer_spec s = bp_net_layer(net, l);
        int f[] = {s.units, (int)s.act, s.bias};
        h = cli_hash(h, f, sizeof f);
        HASH_FIELD(h, s.slope);
    }
    return cli_hash(h, bp_net_params_const(net), bp_net_param_count(net) * sizeof(float));
}

/* ---- agreement -------------------------------------------------------------- */

typedef struct {
    int32_t rc, timing;
    uint64_t hash[MPI_PARTS];
    char isa[16];
    char msg[240];
} rank_record;

static const char *const part_names[MPI_PARTS] = {
    "the training options", "the data (the rows loaded)", "the network (layers or weights)"};

/* Every rank's record; a failed all-gather ends the job (the ranks can no
 * longer agree on anything). */
static rank_record *gather(int rc, const uint64_t *hashes)
{
    int P = cli_mpi_ranks();
    rank_record mine;
    memset(&mine, 0, sizeof mine);
    mine.rc = rc;
    const char *t = getenv("BACKPROP_MPI_TIMING");
    mine.timing = t && !strcmp(t, "1");
    snprintf(mine.isa, sizeof mine.isa, "%s", bp_isa());
    if (hashes)
        memcpy(mine.hash, hashes, sizeof mine.hash);
    if (rc)
        last_message(mine.msg, sizeof mine.msg);
    rank_record *all = calloc((size_t)P, sizeof *all);
    char err[256];
    if (!all)
        cli_mpi_fail_alone("out of memory for the ranks' agreement");
    if (cli_mpi_allgather(&mine, sizeof mine, all, err, sizeof err) != 0)
        cli_mpi_fail_alone(err);
    return all;
}

/* The job's exit code: rank 0's, else the first rank's that failed.  Rank 0
 * repeats the messages of the other ranks that failed, unless it failed the
 * same way (same exit code: usually the same message it already gave). */
static int job_code(const rank_record *all, const char *when)
{
    int P = cli_mpi_ranks(), code = all[0].rc;
    for (int r = 1; r < P; r++) {
        if (!all[r].rc)
            continue;
        if (!code)
            code = all[r].rc;
        if (cli_mpi_rank() == 0 && all[r].rc != all[0].rc)
            fprintf(stderr, "backprop train: rank %d of %d %s: %s\n", r, P, when,
                    all[r].msg[0] ? all[r].msg : "failed (it gave no message)");
    }
    return code;
}

/* Ranks whose run differs from rank 0's, named with the parts that differ. */
static int refuse_disagreement(const rank_record *all)
{
    int P = cli_mpi_ranks(), differ = 0;
    for (int r = 1; r < P; r++) {
        char list[160] = "";
        size_t n = 0;
        for (int p = 0; p < MPI_PARTS; p++)
            if (all[r].hash[p] != all[0].hash[p] && n < sizeof list)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
                                      part_names[p]);
        if (!n)
            continue;
        differ = 1;
        if (cli_mpi_rank() == 0)
            fprintf(stderr, "backprop train: rank %d of %d differs from rank 0 in %s\n", r, P,
                    list);
    }
    if (differ && cli_mpi_rank() == 0)
        fprintf(stderr, "backprop train: refusing to train: every rank must be given the same "
                        "options and the same data\n");
    return differ;
}

/* Set when the start-up agreement stopped the job: every rank has the same
 * code and all was said, so the end needs no second round. */
static int settled;

/* The kernels of each CPU path round differently: ranks on different paths
 * train a valid model, but not the bits of a one-process run.  Said, not
 * refused (a cluster of mixed CPUs is legitimate). */
static void note_isa(const rank_record *all)
{
    int P = cli_mpi_ranks();
    for (int r = 1; r < P; r++)
        if (strcmp(all[r].isa, all[0].isa) && cli_mpi_rank() == 0) {
            fprintf(stderr, "backprop train: note: rank %d computes with the %s kernels and "
                            "rank 0 with %s: the model is valid but its bits differ from a "
                            "one-process run (export BACKPROP_ISA to every rank: mpirun -x "
                            "BACKPROP_ISA=%s)\n", r, all[r].isa, all[0].isa, all[r].isa);
            return;
        }
}

int cli_mpi_agree_start(int rc, const uint64_t hashes[MPI_PARTS])
{
    if (!cli_mpi_active())
        return rc;
    rank_record *all = gather(rc, hashes);
    int code = job_code(all, "could not start");
    if (!code && refuse_disagreement(all))
        code = 1;
    if (!code)
        note_isa(all);
    cli_mpi_set_timing(all[0].timing);
    free(all);
    settled = code != 0;
    return code;
}

int cli_mpi_agree_end(int rc)
{
    if (!cli_mpi_active() || settled)
        return rc;
    rank_record *all = gather(rc, NULL);
    int code = job_code(all, "failed");
    free(all);
    return code;
}

void cli_mpi_fail_alone(const char *message)
{
    char line[512];
    int n = snprintf(line, sizeof line, "backprop train: rank %d of %d: %s; ending all %d "
                                        "processes\n", cli_mpi_rank(), cli_mpi_ranks(), message,
                     cli_mpi_ranks());
    int fd = real_stderr >= 0 ? real_stderr : STDERR_FILENO;
    if (n > 0) {
        ssize_t w = write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w;
    }
    cli_mpi_abort(1);
}
