/* The train command. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "data.h"
#include "common.h"
#include "json.h"
#include "mpi.h"


/* ---- train ---------------------------------------------------------------- */

typedef struct {
    FILE *log;
    const char *log_path;
    int tty, quiet;
    const char *checkpoint;
    int checkpoint_every;
    int saved_epoch; /* epoch of the last checkpoint written by this run (0: none) */
    int best_epoch;  /* last epoch whose early-stopping loss improved (0: none) */
    double best_loss;
    int failed;
    /* What the log needs beyond the trainer's report. */
    const bp_dataset *val, *test; /* test: evaluated at each epoch's end (--log with --test) */
    int threads;
    int regression;  /* log RMSE columns */
    int mse_outputs; /* loss is ½Σ over this many outputs: RMSE = √(2·loss/n); 0 otherwise */
    int old_log;     /* appending to a log in the first (8-column) format */
    int collective;  /* several processes: a failure stops all of them at one step */
    bp_trainer *tr;  /* for that stop request */
} progress_state;

/* The training log's columns.  The first eight are the original format, so
 * old logs still plot and --resume appends to an old log in its own format;
 * test_* are filled with --test, *_rmse for regression. */
#define LOG_HEADER_V1                                                                              \
    "epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy"
#define LOG_HEADER LOG_HEADER_V1 ",test_loss,test_accuracy,train_rmse,val_rmse,test_rmse"

/* 1 when the log at `path` starts with the first format's header line. */
static int is_old_log(const char *path)
{
    char line[512];
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    int old = fgets(line, sizeof line, fp) && strcspn(line, "\r\n") == strlen(LOG_HEADER_V1) &&
              strncmp(line, LOG_HEADER_V1, strlen(LOG_HEADER_V1)) == 0;
    fclose(fp);
    return old;
}

/* ",value" or "," for a missing (NaN) value. */
static void log_field(FILE *fp, const char *fmt, double v)
{
    fputc(',', fp);
    if (!isnan(v))
        fprintf(fp, fmt, v);
}

/* One row of the log; evaluates the test set (and, for regression with a
 * loss other than MSE, the validation set) with the epoch's weights. */
static int write_log_row(progress_state *p, const bp_epoch_report *r)
{
    FILE *fp = p->log;
    fprintf(fp, "%d,%.6f,%.1f,%.9g,%.9g", r->epoch, r->seconds, r->samples_per_s,
            r->learning_rate, r->train_loss);
    log_field(fp, "%.6f", r->train_accuracy);
    log_field(fp, "%.9g", r->val_loss);
    log_field(fp, "%.6f", r->val_accuracy);
    if (!p->old_log) {
        double test_loss = NAN, test_acc = NAN, train_rmse = NAN, val_rmse = NAN, test_rmse = NAN;
        const bp_net *net = bp_trainer_net(r->trainer);
        bp_metrics m;
        bp_metrics_init(&m);
        if (p->test) {
            if (bp_evaluate(net, p->test, p->threads, &m) != BP_OK)
                return 1;
            test_loss = m.loss;
            test_acc = m.classes ? m.accuracy : NAN;
            test_rmse = m.classes ? NAN : sqrt(m.mse);
            bp_metrics_clear(&m);
        }
        if (p->regression && p->mse_outputs) {
            train_rmse = sqrt(2 * r->train_loss / p->mse_outputs);
            val_rmse = sqrt(2 * r->val_loss / p->mse_outputs);
        } else if (p->regression && p->val) {
            if (bp_evaluate(net, p->val, p->threads, &m) != BP_OK)
                return 1;
            val_rmse = sqrt(m.mse);
            bp_metrics_clear(&m);
        }
        log_field(fp, "%.9g", test_loss);
        log_field(fp, "%.6f", test_acc);
        log_field(fp, "%.9g", train_rmse);
        log_field(fp, "%.9g", val_rmse);
        log_field(fp, "%.9g", test_rmse);
    }
    fputc('\n', fp);
    errno = 0;
    if (fflush(fp) != 0 || ferror(fp))
        return bp_error(BP_ERR_IO, "%s: write failed: %s", p->log_path,
                        strerror(errno ? errno : EIO)) != BP_OK;
    return 0;
}

static void fmt_metric(char *buf, size_t cap, const char *name, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, cap, "  %s %.4f", name, v);
}

/* A failed log or checkpoint write stops training.  With several processes
 * the others must stop at the same step, so the stop goes through the
 * trainer's collective stop request instead of ending this rank's run. */
static int progress_failed(progress_state *p)
{
    p->failed = 1;
    if (!p->collective)
        return 1;
    bp_trainer_request_stop(p->tr);
    p->log = NULL;
    p->checkpoint = NULL;
    return 0;
}

static int on_progress(const bp_epoch_report *r, void *user)
{
    progress_state *p = user;
    if (r->in_epoch) {
        if (p->tty && !p->quiet) {
            double eta = r->samples_per_s > 0 && r->batch
                             ? r->seconds * (double)(r->batches - r->batch) / (double)r->batch
                             : 0;
            fprintf(stderr, "\repoch %d/%d  batch %zu/%zu  %.0f samples/s  loss %.4f  ETA %.1fs   ",
                    r->epoch, r->epochs, r->batch, r->batches, r->samples_per_s, r->train_loss,
                    eta);
            fflush(stderr);
        }
        return 0;
    }
    if (r->improved) {
        p->best_epoch = r->epoch;
        p->best_loss = isnan(r->val_loss) ? r->train_loss : r->val_loss;
    }
    if (p->tty && !p->quiet)
        fputs("\r\033[K", stderr);
    if (!p->quiet) {
        char a[48], vl[48], va[48];
        fmt_metric(a, sizeof a, "acc", r->train_accuracy);
        fmt_metric(vl, sizeof vl, "val_loss", r->val_loss);
        fmt_metric(va, sizeof va, "val_acc", r->val_accuracy);
        printf("epoch %d/%d  loss %.4f%s%s%s  %.2fs  %.0f samples/s  lr %g%s\n", r->epoch,
               r->epochs, r->train_loss, a, vl, va, r->seconds, r->samples_per_s,
               r->learning_rate, r->improved ? "  *" : "");
        fflush(stdout);
    }
    if (p->log && write_log_row(p, r)) {
        fprintf(stderr, "backprop train: log %s\n", bp_errmsg());
        return progress_failed(p);
    }
    if (p->checkpoint && p->checkpoint_every > 0 && r->epoch % p->checkpoint_every == 0) {
        if (bp_checkpoint_save(r->trainer, p->checkpoint) != BP_OK) {
            fprintf(stderr, "backprop train: %s\n", bp_errmsg());
            return progress_failed(p);
        }
        p->saved_epoch = r->epoch;
    }
    return 0;
}

/* train --json: the final metrics on each data set (null where there is
 * none), epochs run and training seconds, as one document on `fp`. */
static int write_train_json(FILE *fp, const char *model, bp_net *net, const bp_trainer *tr,
                            const bp_dataset *const sets[3], int threads, double seconds)
{
    static const char *const keys[3] = {"train", "validation", "test"};
    json_writer w;
    json_init(&w, fp);
    json_object_begin(&w, NULL);
    json_string(&w, "command", "train");
    json_string(&w, "model", model);
    json_integer(&w, "epochs", bp_trainer_epoch(tr));
    json_integer(&w, "epochs_planned", bp_trainer_options(tr)->epochs);
    json_number(&w, "seconds", seconds);
    for (int i = 0; i < 3; i++) {
        bp_metrics m;
        bp_metrics_init(&m);
        if (!sets[i]) {
            json_null(&w, keys[i]);
            continue;
        }
        if (bp_evaluate(net, sets[i], threads, &m) != BP_OK) {
            json_object_end(&w);
            return 1;
        }
        json_names names = {net, sets[i]};
        json_metrics(&w, keys[i], &m, json_model_class_name, &names);
        bp_metrics_clear(&m);
    }
    json_object_end(&w);
    return 0;
}

/* Parses "784,256,128,10" into sizes. */
static int parse_sizes(const char *text, int *sizes, int max, int *n)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > BP_MAX_UNITS || *n == max || (*end && *end != ','))
            return 2;
        sizes[(*n)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return *n ? 0 : 2;
}

static int build_net(cli_args *a, const bp_dataset *train, uint64_t seed, bp_net **out)
{
    const char *layers = cli_get(a, "layers"), *hidden = cli_get(a, "hidden");
    int sizes[BP_MAX_LAYERS + 1], n = 0;
    int inputs = bp_dataset_inputs(train), outputs = bp_dataset_outputs(train);
    if (layers && hidden) {
        fprintf(stderr, "backprop train: give --layers or --hidden, not both\n");
        return 2;
    }
    if (layers) {
        if (parse_sizes(layers, sizes, BP_MAX_LAYERS + 1, &n) || n < 2) {
            fprintf(stderr, "backprop train: --layers: expected sizes like 784,128,10 "
                            "(inputs, hidden..., outputs), got '%s'\n", layers);
            return 2;
        }
        if (sizes[0] != inputs || sizes[n - 1] != outputs) {
            fprintf(stderr, "backprop train: --layers %s does not fit the data: it has %d inputs "
                            "and %d outputs%s\n", layers, inputs, outputs,
                    bp_dataset_classes(train) ? " (one per class)" : "");
            return 2;
        }
    } else {
        sizes[n++] = inputs;
        if (hidden) {
            int h[BP_MAX_LAYERS], nh;
            if (parse_sizes(hidden, h, BP_MAX_LAYERS - 1, &nh)) {
                fprintf(stderr, "backprop train: --hidden: expected sizes like 256,128, got '%s'\n",
                        hidden);
                return 2;
            }
            for (int i = 0; i < nh; i++)
                sizes[n++] = h[i];
        } else {
            sizes[n++] = 32;
        }
        sizes[n++] = outputs;
    }
    int classes = bp_dataset_classes(train);
    bp_activation act = BP_ACT_RELU, out_act;
    bp_loss loss;
    if (classes > 0 && outputs > 1) {
        out_act = BP_ACT_SOFTMAX;
        loss = BP_LOSS_XENT;
    } else if (classes > 0) {
        out_act = BP_ACT_SIGMOID;
        loss = BP_LOSS_BCE;
    } else {
        out_act = BP_ACT_LINEAR;
        loss = BP_LOSS_MSE;
    }
    const char *v;
    if ((v = cli_get(a, "act")) && bp_activation_parse(v, &act) != BP_OK)
        goto bad;
    if ((v = cli_get(a, "out-act")) && bp_activation_parse(v, &out_act) != BP_OK)
        goto bad;
    if ((v = cli_get(a, "loss")) && bp_loss_parse(v, &loss) != BP_OK)
        goto bad;
    bp_init init = act == BP_ACT_RELU || act == BP_ACT_LEAKY_RELU ? BP_INIT_HE : BP_INIT_XAVIER;
    if ((v = cli_get(a, "init")) && bp_init_parse(v, &init) != BP_OK)
        goto bad;
    bp_layer_spec spec[BP_MAX_LAYERS];
    int bias = !cli_get(a, "no-bias");
    for (int l = 1; l < n; l++) {
        bp_layer_spec_default(&spec[l - 1]);
        spec[l - 1].units = sizes[l];
        spec[l - 1].act = l == n - 1 ? out_act : act;
        spec[l - 1].bias = bias;
        spec[l - 1].slope = BP_SLOPE_DEFAULT;
    }
    if (bp_net_create(out, sizes[0], n - 1, spec, loss) != BP_OK ||
        bp_net_init(*out, init, seed) != BP_OK) {
        bp_net_free(*out);
        *out = NULL;
        goto bad;
    }
    return 0;
bad:
    fprintf(stderr, "backprop train: %s\n", bp_errmsg());
    return 2;
}

#define DEFAULT_MAX_EPOCHS 200
#define DEFAULT_PATIENCE 10
#define MIN_VAL_ROWS 10

static int train_options(cli_args *a, bp_train_options *o)
{
    const char *v;
    int rc = 0;
#define OPT_INT(name, field, lo, hi)                                                               \
    if (!rc && (v = cli_get(a, name)))                                                             \
        rc = cli_int("train", name, v, lo, hi, &o->field);
#define OPT_FLOAT(name, field)                                                                     \
    if (!rc && (v = cli_get(a, name)))                                                             \
        rc = cli_float("train", name, v, &o->field);
    OPT_INT("epochs", epochs, 1, 1000000)
    OPT_INT("batch", batch_size, 1, 1 << 20)
    OPT_INT("threads", threads, 1, 256)
    OPT_INT("patience", patience, 0, 1000000)
    OPT_INT("step-every", step_every, 1, 1000000)
    OPT_INT("warmup", warmup_epochs, 0, 1000000)
    OPT_INT("shards", shards, 0, 65536)
    OPT_FLOAT("lr", learning_rate)
    OPT_FLOAT("momentum", momentum)
    OPT_FLOAT("weight-decay", weight_decay)
    OPT_FLOAT("dropout", dropout)
    OPT_FLOAT("gamma", step_gamma)
    OPT_FLOAT("min-lr", min_lr)
    OPT_FLOAT("clip", clip_norm)
    OPT_FLOAT("min-delta", min_delta)
    OPT_FLOAT("flat-spot", flat_spot)
#undef OPT_INT
#undef OPT_FLOAT
    if (rc)
        return rc;
    if ((v = cli_get(a, "device")) && bp_device_parse(v, &o->device, &o->device_index) != BP_OK)
        goto bad;
    if ((v = cli_get(a, "precision"))) {
        if (!strcmp(v, "fp32") || !strcmp(v, "float32"))
            o->precision = BP_PRECISION_FP32;
        else if (!strcmp(v, "bf16") || !strcmp(v, "bfloat16"))
            o->precision = BP_PRECISION_BF16;
        else {
            fprintf(stderr, "backprop train: unknown precision \"%s\" (choose fp32 or bf16)\n", v);
            return 2;
        }
    }
    if ((v = cli_get(a, "optimizer")) && bp_optimizer_parse(v, &o->optimizer) != BP_OK)
        goto bad;
    if ((v = cli_get(a, "schedule")) && bp_schedule_parse(v, &o->schedule) != BP_OK)
        goto bad;
    if ((v = cli_get(a, "seed"))) {
        int seed;
        if ((rc = cli_int("train", "seed", v, 0, 2147483647, &seed)))
            return rc;
        o->seed = (uint64_t)seed;
    }
    if (cli_get(a, "no-shuffle"))
        o->shuffle = 0;
    if (o->min_delta < 0) {
        fprintf(stderr, "backprop train: --min-delta must be >= 0\n");
        return 2;
    }
    if (o->flat_spot < 0 || o->flat_spot > 1) {
        fprintf(stderr, "backprop train: --flat-spot must be in [0, 1] (0.1 is usual)\n");
        return 2;
    }
    /* Without --epochs the length fits the data: up to 200 epochs, stopping
     * after 10 without an improvement of more than 1e-4 (scikit-learn's MLP
     * defaults).  An explicit --epochs N means exactly N epochs. */
    if (!cli_get(a, "epochs")) {
        o->epochs = DEFAULT_MAX_EPOCHS;
        if (!cli_get(a, "patience"))
            o->patience = DEFAULT_PATIENCE;
        if (!cli_get(a, "min-delta"))
            o->min_delta = 1e-4f;
    }
    return 0;
bad:
    fprintf(stderr, "backprop train: %s\n", bp_errmsg());
    return 2;
}

/* --resume continues a run exactly as its checkpoint set it up, so options
 * that define the net, the optimizer, the schedule or the data split would
 * be silently ignored: refuse them (exit 2, naming each).  --epochs changes a
 * resumed run and the run says so; --threads is accepted (results never
 * depend on it) but the checkpoint's count is kept, which is said too. */
static int resume_conflicts(cli_args *a)
{
    static const char *const fixed[] = {
        "net",      "layers",   "hidden",     "act",       "out-act",     "loss",
        "init",     "no-bias",  "optimizer",  "lr",        "batch",       "momentum",
        "weight-decay", "dropout", "schedule", "step-every", "gamma",      "min-lr",
        "warmup",   "clip",     "patience",   "min-delta", "flat-spot",   "scale",
        "seed",     "no-shuffle", "val",       "shards",    "device",      "precision"};
    char list[512] = "";
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (cli_get(a, fixed[i]) && n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s--%s", n ? ", " : "", fixed[i]);
    if (!n)
        return 0;
    fprintf(stderr, "backprop train: --resume continues the checkpoint's run as it was set up; "
                    "it cannot change %s (only --epochs, the data, -o, --log, --checkpoint and "
                    "--quiet, --threads may be given)\n", list);
    return 2;
}

/* 1 if the validation part is too small to measure anything: under
 * MIN_VAL_ROWS rows, or missing a class the data has; says why in `why`. */
static int val_too_small(const bp_dataset *all, const bp_dataset *val, char *why, size_t cap)
{
    size_t n = bp_dataset_rows(val);
    if (n < MIN_VAL_ROWS) {
        snprintf(why, cap, "leaves %zu validation row%s of %zu (at least %d are needed)", n,
                 n == 1 ? "" : "s", bp_dataset_rows(all), MIN_VAL_ROWS);
        return 1;
    }
    int K = bp_dataset_classes(all);
    const int32_t *la = bp_dataset_labels(all), *lv = bp_dataset_labels(val);
    if (K <= 0 || !la || !lv)
        return 0;
    for (int c = 0; c < K; c++) {
        int in_all = 0, in_val = 0;
        for (size_t i = 0; i < bp_dataset_rows(all) && !in_all; i++)
            in_all = la[i] == c;
        for (size_t i = 0; i < n && !in_val; i++)
            in_val = lv[i] == c;
        if (in_all && !in_val) {
            const char *name = bp_dataset_class_name(all, c);
            char num[16];
            snprintf(num, sizeof num, "%d", c);
            snprintf(why, cap, "leaves no validation row of class %s (it has too few rows)",
                     name ? name : num);
            return 1;
        }
    }
    return 0;
}

/* Splits off the validation part (stratified by class; the plain split for a
 * resumed run that began with it).  A split too small to measure anything is
 * a usage error when --val was given; with the default it is skipped, said
 * so, and *fraction becomes 0.  Returns 0, or the exit code. */
static int split_validation(bp_dataset **all, float *fraction,
                            int given, int stratified, uint64_t seed, bp_dataset **train,
                            bp_dataset **val)
{
    bp_status st = stratified ? bp_dataset_split_stratified(*all, *fraction, seed, train, val)
                              : bp_dataset_split(*all, *fraction, seed, train, val);
    char why[160];
    if (st != BP_OK) {
        snprintf(why, sizeof why, "cannot be made: %s", bp_errmsg());
    } else if (!val_too_small(*all, *val, why, sizeof why)) {
        return 0;
    }
    bp_dataset_free(*train);
    bp_dataset_free(*val);
    *train = *val = NULL;
    if (given) {
        fprintf(stderr, "backprop train: --val %g %s; give a larger --val, more rows, or --val 0 "
                        "to train without validation\n", *fraction, why);
        return 2;
    }
    fprintf(stderr, "backprop train: note: no validation split: the default --val %g %s; "
                    "training on all %zu rows\n", *fraction, why, bp_dataset_rows(*all));
    *fraction = 0;
    *train = *all;
    *all = NULL;
    return 0;
}

/* Says why training stopped when early stopping was on. */
static void report_stop(const progress_state *p, const bp_train_options *o, int epochs_done,
                        int has_val)
{
    if (p->quiet || o->patience <= 0)
        return;
    const char *what = has_val ? "validation loss" : "training loss";
    if (epochs_done < o->epochs)
        printf("stopped early after epoch %d: the %s did not improve by more than %g for %d "
               "epochs", epochs_done, what, (double)o->min_delta, o->patience);
    else
        printf("trained all %d epochs (the %s was still improving; --epochs N trains longer)",
               o->epochs, what);
    if (has_val && p->best_epoch > 0)
        printf("; kept the weights of epoch %d (val_loss %.4f)\n", p->best_epoch, p->best_loss);
    else
        putchar('\n');
}

/* After the first SIGINT/SIGTERM/SIGHUP the trainer stopped after a batch:
 * save the model (a valid one: the weights after that batch) and make sure
 * the checkpoint, if any, can resume.  Returns the exit status. */
static int save_interrupted(const progress_state *p, bp_trainer *tr, const bp_net *net,
                            const char *output)
{
    char where[256];
    snprintf(where, sizeof where, "%s", bp_errmsg());
    if (bp_net_save(net, output) != BP_OK) {
        fprintf(stderr, "backprop train: %s\n", bp_errmsg());
        return 1;
    }
    fprintf(stderr, "backprop train: %s; model saved to %s\n", where, output);
    if (p->checkpoint) {
        int done = bp_trainer_epoch(tr);
        if (p->saved_epoch == done && done > 0) {
            fprintf(stderr, "backprop train: checkpoint %s holds epoch %d; --resume %s continues "
                            "from there\n", p->checkpoint, done, p->checkpoint);
        } else if (bp_checkpoint_save(tr, p->checkpoint) != BP_OK) {
            return cli_fail("train");
        } else {
            fprintf(stderr, "backprop train: checkpoint %s saved with %d epochs done and these "
                            "weights; --resume %s runs epoch %d again from them\n",
                    p->checkpoint, done, p->checkpoint, done + 1);
        }
    }
    return 128 + cli_interrupted;
}

/* -o, --checkpoint and --log: writable, and no two of them nor any input the
 * same file.  Checked before any data is loaded. */
static int check_train_files(cli_args *a, const char *data, const char *output)
{
    const char *ckpt = cli_get(a, "checkpoint"), *log = cli_get(a, "log");
    const char *resume = cli_get(a, "resume");
    int force = cli_get(a, "force") != NULL;
    /* Resuming from the checkpoint it keeps writing is the usual way. */
    if (resume && ckpt && !strcmp(resume, ckpt))
        resume = NULL;
    cli_file files[] = {{"DATA", data, 0},
                        {"--test", cli_get(a, "test"), 0},
                        {"--net", cli_get(a, "net"), 0},
                        {"--resume", resume, 0},
                        {"--labels", cli_get(a, "labels"), 0},
                        {"-o", output, 1},
                        {"--checkpoint", ckpt, 1},
                        {"--log", log, 1}};
    int rc = check_distinct("train", files, (int)(sizeof files / sizeof files[0]));
    if (rc)
        return rc;
    if (check_writable("train", "output", output, force) ||
        (ckpt && check_writable("train", "checkpoint", ckpt, force)) ||
        (log && check_writable("train", "log", log, force)))
        return 1;
    return 0;
}

/* One train run: what the options say, and what it loads and builds. */
typedef struct {
    cli_args *a;
    const char *data, *output, *resume;
    cli_data_options dopt;
    bp_train_options topt;
    float val_fraction;
    int val_given, stratified;
    progress_state prog;
    bp_dataset *all, *test, *train, *val;
    bp_net *net;
    bp_trainer *tr;
    FILE *jfp;
    double seconds; /* spent in bp_trainer_run */
} train_run;

/* Reads the options into r; 0, or the exit code. */
static int train_parse_options(train_run *r)
{
    cli_args *a = r->a;
    int rc;
    const char *v;
    r->data = cli_get(a, "data");
    if (!r->data && a->n_positional)
        r->data = a->positional[0];
    if (!r->data) {
        fprintf(stderr, "backprop train: no training data (give DATA or --data)\n");
        return 2;
    }
    if ((rc = data_options(a, "train", &r->dopt)))
        return rc;
    bp_train_options_default(&r->topt);
    if ((rc = train_options(a, &r->topt)))
        return rc;
    bp_train_options *topt = &r->topt;
    if (!cli_get(a, "lr"))
        topt->learning_rate = bp_learning_rate_default(topt->optimizer);
    if (!cli_get(a, "threads")) {
        /* The cores are shared by the processes of a job on this machine. */
        long cores = sysconf(_SC_NPROCESSORS_ONLN) / cli_mpi_env_local_size();
        topt->threads = cores > 1 ? (int)(cores < 256 ? cores : 256) : 1;
    }
    if (cli_get(a, "resume") && (rc = resume_conflicts(a)))
        return rc;
    r->val_fraction = 0.1f;
    r->val_given = cli_get(a, "val") != NULL;
    r->stratified = 1;
    if ((v = cli_get(a, "val")) && (rc = cli_float("train", "val", v, &r->val_fraction)))
        return rc;
    if (r->val_fraction < 0 || r->val_fraction >= 1) {
        fprintf(stderr, "backprop train: --val must be in [0, 1)\n");
        return 2;
    }
    r->output = cli_get(a, "output");
    if (!r->output)
        r->output = "model.bpm";
    progress_state *prog = &r->prog;
    prog->tty = isatty(fileno(stderr));
    prog->quiet = cli_get(a, "quiet") != NULL;
    prog->checkpoint = cli_get(a, "checkpoint");
    prog->checkpoint_every = prog->checkpoint ? 1 : 0;
    if ((v = cli_get(a, "checkpoint-every")) &&
        (rc = cli_int("train", "checkpoint-every", v, 1, 1000000, &prog->checkpoint_every)))
        return rc;
    return check_train_files(a, r->data, r->output);
}

/* --resume: the net, the trainer and the run's split from the checkpoint. */
static int train_resume(train_run *r)
{
    if (bp_checkpoint_load(r->resume, &r->net, &r->tr) != BP_OK)
        return cli_fail("train");
    /* The split must be the one the run started with. */
    const char *vf = bp_net_get_meta(r->net, "val_fraction");
    if (vf)
        r->val_fraction = strtof(vf, NULL);
    const char *vs = bp_net_get_meta(r->net, "val_split");
    r->stratified = vs && !strcmp(vs, "stratified"); /* older runs: the plain split */
    const bp_train_options *saved = bp_trainer_options(r->tr);
    if (cli_get(r->a, "epochs")) {
        if (!r->prog.quiet && r->topt.epochs != saved->epochs)
            fprintf(stderr, "resuming at epoch %d: --epochs %d replaces the checkpoint's %d\n",
                    bp_trainer_epoch(r->tr), r->topt.epochs, saved->epochs);
        bp_trainer_set_epochs(r->tr, r->topt.epochs);
    }
    if (!r->prog.quiet && cli_get(r->a, "threads") && r->topt.threads != saved->threads)
        fprintf(stderr, "resuming with the checkpoint's %d threads, not --threads %d (the "
                        "result is the same)\n",
                saved->threads, r->topt.threads);
    r->topt = *bp_trainer_options(r->tr);
    return 0;
}

/* Loads the data, resumes if asked, and splits off the validation rows. */
static int train_load_data(train_run *r)
{
    bp_status lst;
    if ((lst = cli_load_data(r->data, &r->dopt, &r->all, &r->test)) != BP_OK ||
        (lst = cli_need_targets(r->data, r->all)) != BP_OK ||
        (lst = bp_dataset_check_finite(r->all, r->data)) != BP_OK) {
        fprintf(stderr, "backprop train: %s\n", bp_errmsg());
        return fail_rc(lst);
    }
    int rc;
    r->resume = cli_get(r->a, "resume");
    if (r->resume && (rc = train_resume(r)))
        return rc;
    if (r->val_fraction > 0)
        return split_validation(&r->all, &r->val_fraction, r->val_given || r->resume,
                                r->stratified, r->topt.seed, &r->train, &r->val);
    r->train = r->all;
    r->all = NULL;
    return 0;
}

/* A fresh run: the net (--net or built from the options), its scaling, meta
 * and schema, and the trainer. */
static int train_new_net(train_run *r)
{
    int rc;
    const char *v;
    const char *netfile = cli_get(r->a, "net");
    if (netfile) {
        if (bp_net_load_any(&r->net, netfile) != BP_OK)
            return cli_fail("train");
        if (bp_net_inputs(r->net) != bp_dataset_inputs(r->train) ||
            bp_net_outputs(r->net) != bp_dataset_outputs(r->train)) {
            fprintf(stderr, "backprop train: %s has %d inputs and %d outputs per row but %s "
                            "takes %d and gives %d\n", r->data, bp_dataset_inputs(r->train),
                    bp_dataset_outputs(r->train), netfile, bp_net_inputs(r->net),
                    bp_net_outputs(r->net));
            return 1;
        }
    } else if ((rc = build_net(r->a, r->train, r->topt.seed, &r->net)) != 0) {
        return rc;
    }
    /* A new net standardises its inputs by default; one from --net keeps
     * its own scaling unless --scale says otherwise. */
    bp_scaling scaling = netfile ? BP_SCALE_NONE : BP_SCALE_STANDARD;
    if ((v = cli_get(r->a, "scale")) && bp_scaling_parse(v, &scaling) != BP_OK) {
        fprintf(stderr, "backprop train: %s\n", bp_errmsg());
        return 2;
    }
    if ((scaling != BP_SCALE_NONE || v) && bp_net_fit_scaling(r->net, r->train, scaling) != BP_OK)
        return cli_fail("train");
    char buf[32];
    snprintf(buf, sizeof buf, "%g", r->val_fraction);
    bp_net_set_meta(r->net, "val_fraction", buf);
    if (r->val_fraction > 0)
        bp_net_set_meta(r->net, "val_split", "stratified");
    const char *base = strrchr(r->data, '/');
    bp_net_set_meta(r->net, "data", base ? base + 1 : r->data);
    /* The model keeps the data's schema, so new data maps the same way. */
    if (bp_net_set_schema(r->net, r->train) != BP_OK)
        return cli_fail("train");
    bp_status lst;
    if ((lst = bp_trainer_create(&r->tr, r->net, &r->topt)) != BP_OK) {
        fprintf(stderr, "backprop train: %s\n", bp_errmsg());
        return fail_rc(lst);
    }
    return 0;
}

/* The test file is read through the model's schema (columns by name,
 * labels in the model's class order). */
static int train_load_test(train_run *r)
{
    const char *test_path = cli_get(r->a, "test");
    if (!test_path)
        return 0;
    bp_dataset_free(r->test);
    r->test = NULL;
    if (cli_load_data_for(test_path, &r->dopt, r->net, &r->test) != BP_OK ||
        bp_dataset_check_finite(r->test, test_path) != BP_OK)
        return cli_fail("train");
    if (bp_dataset_outputs(r->test) == 0) {
        fprintf(stderr, "backprop train: %s has no target column to test against\n", test_path);
        return 1;
    }
    return 0;
}

/* --log: a fresh log with its header, or (resuming) the old one appended to. */
static int train_open_log(train_run *r)
{
    const char *v = cli_get(r->a, "log");
    progress_state *prog = &r->prog;
    if (!v || cli_mpi_rank() != 0) /* rank 0 alone writes files */
        return 0;
    int fresh = !r->resume || access(v, F_OK) != 0;
    if (!fresh)
        prog->old_log = is_old_log(v);
    prog->log = fopen(v, fresh ? "w" : "a");
    if (!prog->log) {
        fprintf(stderr, "backprop train: %s: cannot write the log\n", v);
        return 1;
    }
    if (fresh)
        fputs(LOG_HEADER "\n", prog->log);
    prog->val = r->val;
    prog->test = r->test;
    prog->threads = r->topt.threads;
    prog->regression = bp_dataset_classes(r->train) == 0;
    prog->mse_outputs = bp_net_loss(r->net) == BP_LOSS_MSE ? bp_net_outputs(r->net) : 0;
    prog->log_path = v;
    errno = 0;
    if (fflush(prog->log) != 0 || ferror(prog->log)) { /* e.g. /dev/full, before training */
        fprintf(stderr, "backprop train: log %s: write failed: %s\n", v,
                strerror(errno ? errno : EIO));
        return 1;
    }
    return 0;
}

/* Says why a run stopped with st (not an interruption that was saved). */
static void train_report_failure(const train_run *r, bp_status st)
{
    const progress_state *prog = &r->prog;
    if (prog->failed) /* the checkpoint could not be written; already said why */
        return;
    fprintf(stderr, "backprop train: %s\n", bp_errmsg());
    if (st == BP_ERR_NUMERIC && prog->saved_epoch > 0)
        fprintf(stderr, "backprop train: the last good checkpoint is %s (epoch %d); inspect "
                        "it with 'backprop info %s', continue with --resume %s\n",
                prog->checkpoint, prog->saved_epoch, prog->checkpoint, prog->checkpoint);
    else if (st == BP_ERR_NUMERIC && r->resume)
        fprintf(stderr, "backprop train: no new checkpoint was written; %s is unchanged\n",
                r->resume);
    else if (st == BP_ERR_NUMERIC && prog->checkpoint)
        fprintf(stderr, "backprop train: no checkpoint was written (no epoch finished)\n");
}

/* ---- several processes (mpirun; docs/scaling.md) ------------------------ */

/* Under an MPI launcher with P > 1 processes a fresh run needs shards: P by
 * default (said once), else a multiple of P.  A resumed run keeps its
 * checkpoint's shards (bp_trainer_set_reduce checks them). */
static int train_mpi_shards(train_run *r)
{
    int P = cli_mpi_env_size();
    if (P <= 1 || cli_get(r->a, "resume"))
        return 0;
    if (!cli_get(r->a, "shards")) {
        r->topt.shards = P;
        if (!r->prog.quiet)
            fprintf(stderr, "backprop train: %d processes: --shards %d (each process takes one "
                            "shard of every batch; any process count that divides --shards gives "
                            "the same model)\n", P, P);
        return 0;
    }
    if (r->topt.shards == 0 || r->topt.shards % P != 0) {
        fprintf(stderr, "backprop train: --shards %d cannot be shared by %d processes: give a "
                        "multiple of %d\n", r->topt.shards, P, P);
        return 2;
    }
    return 0;
}

/* Ranks on one machine: the shard vectors and totals in a shared window, so
 * the reduce reads them in place (cli_mpi_share_buffers; every rank calls
 * it, after the agreement). */
static int train_mpi_share(train_run *r)
{
    const bp_train_options *o = bp_trainer_options(r->tr);
    size_t len = bp_trainer_shard_len(r->tr), local = (size_t)(o->shards / cli_mpi_ranks());
    cli_mpi_shared sh;
    if (!cli_mpi_share_buffers(local * len, len, bp_trainer_total_read_only(r->tr),
                               bp_trainer_shared_state_len(r->tr), &sh))
        return 0;
    bp_status st = sh.state ? bp_trainer_share_state(r->tr, sh.state, sh.rank_shards,
                                                     cli_mpi_sync, NULL)
                            : bp_trainer_set_reduce_buffers(r->tr, sh.local, sh.total);
    if (st != BP_OK)
        cli_mpi_fail_alone(bp_errmsg());
    return 0;
}

/* Joins the job once this rank is set up (rc: 0, or how it failed): sets
 * the reduce hook, lets rank 0 alone write the checkpoint, and runs the
 * start-up agreement (every rank ready, all with the same run). */
static int train_mpi_join(train_run *r, int rc)
{
    if (!cli_mpi_active())
        return rc;
    uint64_t h[MPI_PARTS] = {0};
    if (!rc && bp_trainer_set_reduce(r->tr, cli_mpi_rank(), cli_mpi_ranks(), cli_mpi_reduce,
                                     NULL) != BP_OK)
        rc = cli_fail("train");
    if (!rc) {
        h[MPI_PART_OPTIONS] = cli_hash_options(bp_trainer_options(r->tr));
        h[MPI_PART_DATA] = cli_hash_dataset(cli_hash_dataset(cli_hash_dataset(
                               CLI_HASH_INIT, r->train), r->val), r->test);
        h[MPI_PART_NET] = cli_hash_net(r->net);
    }
    r->prog.collective = 1;
    if (cli_mpi_rank() != 0)
        r->prog.checkpoint = NULL;
    rc = cli_mpi_agree_start(rc, h);
    if (!rc)
        rc = train_mpi_share(r);
    return rc;
}

/* After a multi-process bp_trainer_run: 1 when this rank is done (not rank
 * 0, and the outcome is one all ranks share: they stopped at the same
 * step); 0 to go on as one process would.  An outcome only this rank saw
 * (the others wait in a step) ends the job. */
static int train_mpi_outcome(train_run *r, bp_status st)
{
    int shared = st == BP_OK || st == BP_ERR_NUMERIC || st == BP_ERR_INTERRUPTED;
    if (!shared)
        cli_mpi_fail_alone(bp_errmsg());
    if (cli_mpi_rank() != 0)
        return 1;
    /* A stop asked on another rank (a signal it alone got) stops this one too. */
    if (st == BP_ERR_INTERRUPTED && !cli_interrupted && !r->prog.failed)
        cli_interrupted = SIGTERM;
    return 0;
}

/* Leaves the job: BACKPROP_MPI_TIMING=1 has rank 0 say what the reduce
 * cost, then every rank's exit code meets (the job's is returned). */
static int train_mpi_leave(train_run *r, int rc)
{
    if (!cli_mpi_active())
        return rc;
    const char *timing = getenv("BACKPROP_MPI_TIMING");
    cli_mpi_stats m;
    cli_mpi_reduce_stats(&m);
    double steps = (double)m.steps;
    if (cli_mpi_rank() == 0 && timing && !strcmp(timing, "1") && m.steps > 0 && r->seconds > 0) {
        fprintf(stderr, "mpi: %d processes, %ld steps, %.3f ms per step, all-reduce %.3f ms "
                        "per step (%.1f%%), waiting for the slowest rank %.3f ms per step "
                        "(%.1f%%), %.0f bytes %s per step by each process, %s\n",
                cli_mpi_ranks(), m.steps, 1e3 * r->seconds / steps, 1e3 * m.seconds / steps,
                100 * m.seconds / r->seconds, 1e3 * m.wait / steps, 100 * m.wait / r->seconds,
                m.bytes_per_step, m.shared_state ? "read from the others" : "sent",
                cli_mpi_reduce_path());
        if (m.shared_state)
            fprintf(stderr, "mpi: all-reduce here is the two barriers of a step; each "
                            "process's part of the gradient sum and update took %.3f ms per "
                            "step (%.1f%%)\n",
                    1e3 * m.update_seconds / steps, 100 * m.update_seconds / r->seconds);
    }
    rc = cli_mpi_agree_end(rc);
    cli_mpi_stop();
    return rc;
}

/* Trains; 0 when the epochs ran, else the exit code (an interruption is saved here). */
static int train_run_epochs(train_run *r)
{
    bp_net *net = r->net;
    bp_trainer *tr = r->tr;
    progress_state *prog = &r->prog;
    prog->tr = tr;
    bp_trainer_set_progress(tr, on_progress, prog, prog->tty && !prog->quiet ? 20 : 0);
    if (!prog->quiet) {
        printf("training %d", bp_net_inputs(net));
        for (int l = 0; l < bp_net_layers(net); l++)
            printf("-%d", bp_net_layer(net, l).units);
        printf(" (%zu parameters) on %zu rows%s, %s, %d threads", bp_net_param_count(net),
               bp_dataset_rows(r->train), r->val ? " (+ validation)" : "",
               bp_optimizer_name(bp_trainer_options(tr)->optimizer),
               bp_trainer_options(tr)->threads);
        if (cli_mpi_ranks() > 1)
            printf(" per process × %d processes, %d shards", cli_mpi_ranks(),
                   bp_trainer_options(tr)->shards);
        putchar('\n');
    }
    cli_defer_signals(tr);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bp_status st = bp_trainer_run(tr, r->train, r->val);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (prog->collective && train_mpi_outcome(r, st))
        return 0; /* another rank's outcome: rank 0 speaks for the job */
    if (prog->failed) /* a log or checkpoint write failed; said why */
        return 1;
    if (st == BP_ERR_INTERRUPTED && cli_interrupted)
        return save_interrupted(prog, tr, net, r->output);
    if (st != BP_OK) {
        train_report_failure(r, st);
        return 1;
    }
    return 0;
}

/* Evaluates, saves the model and reports. */
static int train_finish(train_run *r)
{
    if (cli_mpi_rank() != 0) /* rank 0 alone evaluates, saves and reports */
        return 0;
    report_stop(&r->prog, bp_trainer_options(r->tr), bp_trainer_epoch(r->tr), r->val != NULL);
    /* Evaluate first: a run that exits 1 writes no model. */
    bp_metrics m;
    bp_metrics_init(&m);
    const bp_dataset *eval_set = cli_interrupted ? NULL : r->test ? r->test : r->val;
    if (eval_set && bp_evaluate(r->net, eval_set, r->topt.threads, &m) != BP_OK)
        return cli_fail("train");
    if (bp_net_save(r->net, r->output) != BP_OK) {
        bp_metrics_clear(&m);
        return cli_fail("train");
    }
    if (cli_interrupted) {
        fprintf(stderr, "backprop train: interrupted after training; model saved to %s\n",
                r->output);
        return 128 + cli_interrupted;
    }
    if (!r->prog.quiet)
        printf("saved %s\n", r->output);
    if (eval_set)
        print_eval(r->test ? "test" : "validation", &m);
    bp_metrics_clear(&m);
    const bp_dataset *const sets[3] = {r->train, r->val, r->test};
    if (r->jfp && write_train_json(r->jfp, r->output, r->net, r->tr, sets, r->topt.threads,
                                   r->seconds))
        return cli_fail("train");
    return 0;
}

/* train's options, in the order --help lists them. */
static const cli_option train_cli_options[] = {
    {"data", 0, 1, "DATA", "training data: a CSV, FANN .data or IDX file, mnist or fashion-mnist", 0},
    {"test", 0, 1, "FILE", "test data evaluated after training (named sets bring their own)", 0},
    DATA_OPTIONS,
    {"val", 0, 1, "FRACTION", "hold out this fraction for validation, stratified by class (default 0.1 when it gives 10 rows; 0 = none)", 0},
    {"net", 0, 1, "FILE.net", "start from this network (text or binary model)", 0},
    {"layers", 0, 1, "N,H...,M", "layer sizes from inputs to outputs, e.g. 784,256,128,10", 0},
    {"hidden", 0, 1, "H1,H2...", "hidden layer sizes (inputs and outputs from the data; default 32)", 0},
    {"act", 0, 1, "ACT", "hidden activation: sigmoid, tanh, relu (default), leaky-relu, linear", 0},
    {"out-act", 0, 1, "ACT", "output activation (default softmax / sigmoid / linear by task)", 0},
    {"loss", 0, 1, "LOSS", "mse, xent or bce (default by task)", 0},
    {"init", 0, 1, "INIT", "xavier or he (default by activation)", 0},
    {"no-bias", 0, 0, "", "layers without biases", 0},
    {"optimizer", 0, 1, "OPT", "sgd, momentum, nesterov, adam (default), adamw, rmsprop, rprop", 0},
    {"lr", 0, 1, "ETA", "learning rate (default 0.001 for adam/adamw/rmsprop, else 0.01)", 0},
    {"epochs", 0, 1, "N", "train exactly N epochs (default: up to 200, stopping early as --patience says)", 0},
    {"batch", 0, 1, "B", "minibatch size (default 32; 1 = online)", 0},
    {"momentum", 0, 1, "MU", "momentum (default 0.9)", 0},
    {"weight-decay", 0, 1, "L", "weight decay (default 0)", 0},
    {"dropout", 0, 1, "P", "dropout on hidden layers (default 0)", 0},
    {"schedule", 0, 1, "S", "constant, step or cosine", 0},
    {"step-every", 0, 1, "N", "step schedule: epochs per step (default 10)", 0},
    {"gamma", 0, 1, "G", "step schedule: factor (default 0.1)", 0},
    {"min-lr", 0, 1, "ETA", "cosine schedule floor (default 0)", 0},
    {"warmup", 0, 1, "N", "linear warm-up epochs (default 0)", 0},
    {"clip", 0, 1, "NORM", "clip the gradient norm (default off)", 0},
    {"patience", 0, 1, "N", "stop after N epochs without a gain in validation loss (training loss without --val); default 10 without --epochs, else off", 0},
    {"min-delta", 0, 1, "D", "a gain must exceed D to count (default 1e-4 without --epochs, else 0)", 0},
    {"flat-spot", 0, 1, "X", "sigmoid layers backpropagate a(1-a)+X, e.g. 0.1 (default 0: exact)", 0},
    {"scale", 0, 1, "S", "input scaling standard (default), minmax or none, fitted on training data", 0},
    {"seed", 0, 1, "N", "seed for initialisation, split, shuffles, dropout (default 42)", 0},
    {"threads", 0, 1, "N", "worker threads per process (default: all cores, shared by the processes of an mpirun job); results do not change", 0},
    {"device", 0, 1, "NAME", "where to train: cpu (default), cuda or cuda:N (a GPU: needs the CUDA backend built and a driver; the model file is the same)", 0},
    {"precision", 0, 1, "P", "fp32 (default) or bf16: matrix products on bfloat16 operands with float32 sums, weights and model stay float32 (needs AVX512-BF16)", 0},
    {"shards", 0, 1, "S", "split every batch into S shards summed in a fixed order: the same model from 1 process or any count that divides S under mpirun (default 0: off; under mpirun the process count)", 0},
    {"no-shuffle", 0, 0, "", "keep the file order every epoch", 0},
    {"output", 'o', 1, "MODEL", "where to save the model (default model.bpm)", 0},
    {"log", 0, 1, "FILE.csv", "per-epoch metrics as CSV", 0},
    {"checkpoint", 0, 1, "FILE", "save a checkpoint here", 0},
    {"checkpoint-every", 0, 1, "N", "epochs between checkpoints (default 1 with --checkpoint)", 0},
    {"resume", 0, 1, "CHECKPOINT", "continue a run from a checkpoint", 0},
    {"quiet", 'q', 0, "", "print only the final result", 0},
    {"json", 0, 0, "", "print the final metrics as JSON on standard output (the text goes to standard error)", 0},
    FORCE_OPTION,
};

/* Closes the log and frees what a run made. */
static void train_free(train_run *r)
{
    if (r->prog.log)
        fclose(r->prog.log);
    bp_trainer_free(r->tr);
    bp_net_free(r->net);
    bp_dataset_free(r->all);
    bp_dataset_free(r->train);
    bp_dataset_free(r->val);
    bp_dataset_free(r->test);
}

/* The run, step by step; returns the exit status.  Once MPI runs every rank
 * goes through both agreements (train_mpi_join, train_mpi_leave), failed or
 * not, so no rank waits for another that gave up. */
static int train_steps(train_run *r)
{
    int rc = train_parse_options(r);
    if (!rc)
        rc = train_mpi_shards(r);
    if (!rc && cli_get(r->a, "json") && !(r->jfp = json_stdout_begin("train")))
        rc = 1;
    if (!rc)
        rc = train_load_data(r);
    if (!rc && !r->resume)
        rc = train_new_net(r);
    if (!rc)
        rc = train_load_test(r);
    if (!rc)
        rc = train_open_log(r);
    rc = train_mpi_join(r, rc);
    if (!rc)
        rc = train_run_epochs(r);
    if (!rc)
        rc = train_finish(r);
    if (r->jfp && json_stdout_end("train", r->jfp))
        rc = 1;
    cli_undefer_signals();
    return train_mpi_leave(r, rc);
}

int cmd_train(int argc, char **argv)
{
    cli_option opts[sizeof train_cli_options / sizeof train_cli_options[0]];
    memcpy(opts, train_cli_options, sizeof opts); /* parsing fills in the values */
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    cli_mpi_quiet_others(); /* under mpirun rank 0 alone speaks */
    int rc = cli_begin(&args, "train", "[DATA] [OPTION]...",
                       "Train a network on DATA and save it.", argc, argv, 0, 1);
    if (rc >= 0)
        return rc;
    char err[256];
    if (cli_mpi_start(NULL, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "backprop train: %s\n", err);
        return 1;
    }
    train_run r;
    memset(&r, 0, sizeof r);
    r.a = &args;
    rc = train_steps(&r);
    train_free(&r);
    return rc;
}

