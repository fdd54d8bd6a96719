/* Commands that train and run models: train, eval, predict, plot. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "data.h"

#define DATA_OPTIONS                                                                               \
    {"data-dir", 0, 1, "DIR", "where mnist/fashion-mnist IDX files are", 0},                       \
    {"labels", 0, 1, "FILE", "IDX labels file for IDX images", 0},                                 \
    {"target", 0, 1, "COLUMN", "CSV target column(s): name, 1-based index or 'last'", 0},          \
    {"task", 0, 1, "TASK", "classification|regression (default: detect from the target)", 0}

static int data_options(cli_args *a, const char *cmd, cli_data_options *d)
{
    memset(d, 0, sizeof *d);
    d->data_dir = cli_get(a, "data-dir");
    d->labels = cli_get(a, "labels");
    d->target = cli_get(a, "target");
    d->task = -1;
    const char *t = cli_get(a, "task");
    if (t) {
        if (!strcmp(t, "classification"))
            d->task = 1;
        else if (!strcmp(t, "regression"))
            d->task = 0;
        else {
            fprintf(stderr, "backprop %s: --task: expected classification or regression, got '%s'\n",
                    cmd, t);
            return 2;
        }
    }
    return 0;
}

/* ---- class names kept in the model ----------------------------------------- */

/* The model remembers its classes' names (meta "classes", comma-separated)
 * so predict can name them for data that has no labels. */
static void store_class_names(bp_net *net, const bp_dataset *ds)
{
    char buf[256];
    size_t len = 0;
    int k = bp_dataset_classes(ds);
    for (int c = 0; c < k; c++) {
        const char *name = bp_dataset_class_name(ds, c);
        if (!name || strchr(name, ','))
            return;
        size_t n = strlen(name);
        if (len + n + 2 > sizeof buf)
            return;
        if (c)
            buf[len++] = ',';
        memcpy(buf + len, name, n);
        len += n;
    }
    if (k > 0) {
        buf[len] = '\0';
        bp_net_set_meta(net, "classes", buf);
    }
}

/* Name of class k: from the model's meta, else the data set's, else NULL. */
static const char *class_name(const bp_net *net, const bp_dataset *ds, int k, char *buf,
                              size_t cap)
{
    const char *list = bp_net_get_meta(net, "classes");
    if (list) {
        for (int c = 0; c < k && list; c++) {
            list = strchr(list, ',');
            if (list)
                list++;
        }
        if (list) {
            size_t n = strcspn(list, ",");
            if (n < cap) {
                memcpy(buf, list, n);
                buf[n] = '\0';
                return buf;
            }
        }
    }
    return bp_dataset_class_name(ds, k);
}

/* ---- train ---------------------------------------------------------------- */

typedef struct {
    FILE *log;
    int tty, quiet;
    const char *checkpoint;
    int checkpoint_every;
    int saved_epoch; /* epoch of the last checkpoint written by this run (0: none) */
    int failed;
} progress_state;

static void fmt_metric(char *buf, size_t cap, const char *name, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, cap, "  %s %.4f", name, v);
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
    if (p->log) {
        fprintf(p->log, "%d,%.6f,%.1f,%.9g,%.9g,", r->epoch, r->seconds, r->samples_per_s,
                r->learning_rate, r->train_loss);
        if (!isnan(r->train_accuracy))
            fprintf(p->log, "%.6f", r->train_accuracy);
        fputc(',', p->log);
        if (!isnan(r->val_loss))
            fprintf(p->log, "%.9g", r->val_loss);
        fputc(',', p->log);
        if (!isnan(r->val_accuracy))
            fprintf(p->log, "%.6f", r->val_accuracy);
        fputc('\n', p->log);
        fflush(p->log);
    }
    if (p->checkpoint && p->checkpoint_every > 0 && r->epoch % p->checkpoint_every == 0) {
        if (bp_checkpoint_save(r->trainer, p->checkpoint) != BP_OK) {
            fprintf(stderr, "backprop train: %s\n", bp_errmsg());
            p->failed = 1;
            return 1;
        }
        p->saved_epoch = r->epoch;
    }
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
        spec[l - 1].units = sizes[l];
        spec[l - 1].act = l == n - 1 ? out_act : act;
        spec[l - 1].bias = bias;
        spec[l - 1].slope = 0;
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
    OPT_INT("epochs", epochs, 0, 1000000)
    OPT_INT("batch", batch_size, 1, 1 << 20)
    OPT_INT("threads", threads, 1, 256)
    OPT_INT("patience", patience, 0, 1000000)
    OPT_INT("step-every", step_every, 1, 1000000)
    OPT_INT("warmup", warmup_epochs, 0, 1000000)
    OPT_FLOAT("lr", learning_rate)
    OPT_FLOAT("momentum", momentum)
    OPT_FLOAT("weight-decay", weight_decay)
    OPT_FLOAT("dropout", dropout)
    OPT_FLOAT("gamma", step_gamma)
    OPT_FLOAT("min-lr", min_lr)
    OPT_FLOAT("clip", clip_norm)
#undef OPT_INT
#undef OPT_FLOAT
    if (rc)
        return rc;
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
    return 0;
bad:
    fprintf(stderr, "backprop train: %s\n", bp_errmsg());
    return 2;
}

static void print_eval(const char *what, const bp_metrics *m)
{
    if (m->classes)
        printf("%s: loss %.4f  accuracy %.4f (%zu rows)\n", what, m->loss, m->accuracy, m->rows);
    else
        printf("%s: loss %.4f  MSE %.6g  MAE %.6g  R² %.4f (%zu rows)\n", what, m->loss, m->mse,
               m->mae, m->r2, m->rows);
}

/* Fails early (exit 1) when `path` cannot be created or replaced, so a long
 * run does not end in an unwritable output.  The real write is atomic. */
static int check_writable(const char *cmd, const char *what, const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (!*path || n >= sizeof dir) {
        fprintf(stderr, "backprop %s: %s '%s': cannot write there\n", cmd, what, path);
        return 1;
    }
    if (slash && n == 0)
        n = 1; /* "/file" */
    memcpy(dir, slash ? path : ".", slash ? n : 2);
    dir[slash ? n : 1] = '\0';
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "backprop %s: %s %s: cannot write: it is a directory\n", cmd, what, path);
        return 1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "backprop %s: %s %s: cannot write: %s: %s\n", cmd, what, path, dir,
                strerror(errno));
        return 1;
    }
    return 0;
}

/* Exit status for a failed library call: invalid options are usage errors. */
static int fail_rc(bp_status st) { return st == BP_ERR_ARG ? 2 : 1; }

int cmd_train(int argc, char **argv)
{
    cli_option opts[] = {
        {"data", 0, 1, "DATA", "training data: a CSV, FANN .data or IDX file, mnist or fashion-mnist", 0},
        {"test", 0, 1, "FILE", "test data evaluated after training (named sets bring their own)", 0},
        DATA_OPTIONS,
        {"val", 0, 1, "FRACTION", "hold out this fraction for validation (default 0.1; 0 = none)", 0},
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
        {"epochs", 0, 1, "N", "epochs (default 10)", 0},
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
        {"patience", 0, 1, "N", "early stopping after N epochs without validation gain", 0},
        {"scale", 0, 1, "S", "input scaling none (default), minmax or standard, fitted on training data", 0},
        {"seed", 0, 1, "N", "seed for initialisation, split, shuffles, dropout (default 42)", 0},
        {"threads", 0, 1, "N", "worker threads (default: all cores); results do not change", 0},
        {"no-shuffle", 0, 0, "", "keep the file order every epoch", 0},
        {"output", 'o', 1, "MODEL", "where to save the model (default model.bpm)", 0},
        {"log", 0, 1, "FILE.csv", "per-epoch metrics as CSV", 0},
        {"checkpoint", 0, 1, "FILE", "save a checkpoint here", 0},
        {"checkpoint-every", 0, 1, "N", "epochs between checkpoints (default 1 with --checkpoint)", 0},
        {"resume", 0, 1, "CHECKPOINT", "continue a run from a checkpoint", 0},
        {"quiet", 'q', 0, "", "print only the final result", 0},
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "train", "[DATA] [OPTION]...",
                       "Train a network on DATA and save it.", argc, argv, 0, 1);
    if (rc >= 0)
        return rc;
    const char *data = cli_get(&args, "data");
    if (!data && args.n_positional)
        data = args.positional[0];
    if (!data) {
        fprintf(stderr, "backprop train: no training data (give DATA or --data)\n");
        return 2;
    }
    cli_data_options dopt;
    if ((rc = data_options(&args, "train", &dopt)))
        return rc;
    bp_train_options topt;
    bp_train_options_default(&topt);
    if ((rc = train_options(&args, &topt)))
        return rc;
    if (!cli_get(&args, "lr"))
        topt.learning_rate = topt.optimizer == BP_OPT_ADAM || topt.optimizer == BP_OPT_ADAMW ||
                                     topt.optimizer == BP_OPT_RMSPROP
                                 ? 0.001f
                                 : 0.01f;
    if (!cli_get(&args, "threads")) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        topt.threads = cores > 0 ? (int)(cores < 256 ? cores : 256) : 1;
    }
    float val_fraction = 0.1f;
    const char *v;
    if ((v = cli_get(&args, "val")) && (rc = cli_float("train", "val", v, &val_fraction)))
        return rc;
    if (val_fraction < 0 || val_fraction >= 1) {
        fprintf(stderr, "backprop train: --val must be in [0, 1)\n");
        return 2;
    }
    const char *output = cli_get(&args, "output");
    if (!output)
        output = "model.bpm";
    progress_state prog = {0};
    prog.tty = isatty(fileno(stderr));
    prog.quiet = cli_get(&args, "quiet") != NULL;
    prog.checkpoint = cli_get(&args, "checkpoint");
    prog.checkpoint_every = prog.checkpoint ? 1 : 0;
    if ((v = cli_get(&args, "checkpoint-every")) &&
        (rc = cli_int("train", "checkpoint-every", v, 1, 1000000, &prog.checkpoint_every)))
        return rc;

    if (check_writable("train", "output", output) ||
        (prog.checkpoint && check_writable("train", "checkpoint", prog.checkpoint)) ||
        ((v = cli_get(&args, "log")) && check_writable("train", "log", v)))
        return 1;

    bp_dataset *all = NULL, *test = NULL, *train = NULL, *val = NULL;
    bp_net *net = NULL;
    bp_trainer *tr = NULL;
    bp_status lst;
    rc = 1;
    if ((lst = cli_load_data(data, &dopt, &all, &test)) != BP_OK ||
        (lst = bp_dataset_check_finite(all, data)) != BP_OK) {
        fprintf(stderr, "backprop train: %s\n", bp_errmsg());
        rc = fail_rc(lst);
        goto done;
    }
    const char *test_path = cli_get(&args, "test");
    if (test_path) {
        bp_dataset_free(test);
        test = NULL;
        if (cli_load_data(test_path, &dopt, &test, NULL) != BP_OK ||
            bp_dataset_check_finite(test, test_path) != BP_OK)
            goto fail;
    }

    const char *resume = cli_get(&args, "resume");
    if (resume) {
        if (bp_checkpoint_load(resume, &net, &tr) != BP_OK)
            goto fail;
        /* The split must be the one the run started with. */
        const char *vf = bp_net_get_meta(net, "val_fraction");
        if (vf)
            val_fraction = strtof(vf, NULL);
        if (cli_get(&args, "epochs"))
            bp_trainer_set_epochs(tr, topt.epochs);
        topt = *bp_trainer_options(tr);
    }
    if (val_fraction > 0) {
        if (bp_dataset_split(all, val_fraction, topt.seed, &train, &val) != BP_OK)
            goto fail;
    } else {
        train = all;
        all = NULL;
    }
    if (!resume) {
        const char *netfile = cli_get(&args, "net");
        if (netfile) {
            if (bp_net_load_any(&net, netfile) != BP_OK)
                goto fail;
            if (bp_net_inputs(net) != bp_dataset_inputs(train) ||
                bp_net_outputs(net) != bp_dataset_outputs(train)) {
                fprintf(stderr, "backprop train: %s has %d inputs and %d outputs per row but %s "
                                "takes %d and gives %d\n", data, bp_dataset_inputs(train),
                        bp_dataset_outputs(train), netfile, bp_net_inputs(net),
                        bp_net_outputs(net));
                goto done;
            }
        } else if ((rc = build_net(&args, train, topt.seed, &net)) != 0) {
            goto done;
        }
        rc = 1;
        bp_scaling scaling = BP_SCALE_NONE;
        if ((v = cli_get(&args, "scale")) && bp_scaling_parse(v, &scaling) != BP_OK) {
            fprintf(stderr, "backprop train: %s\n", bp_errmsg());
            rc = 2;
            goto done;
        }
        if (scaling != BP_SCALE_NONE && bp_net_fit_scaling(net, train, scaling) != BP_OK)
            goto fail;
        char buf[32];
        snprintf(buf, sizeof buf, "%g", val_fraction);
        bp_net_set_meta(net, "val_fraction", buf);
        const char *base = strrchr(data, '/');
        bp_net_set_meta(net, "data", base ? base + 1 : data);
        store_class_names(net, train);
        if ((lst = bp_trainer_create(&tr, net, &topt)) != BP_OK) {
            fprintf(stderr, "backprop train: %s\n", bp_errmsg());
            rc = fail_rc(lst);
            goto done;
        }
    }
    if ((v = cli_get(&args, "log"))) {
        int fresh = !resume || access(v, F_OK) != 0;
        prog.log = fopen(v, fresh ? "w" : "a");
        if (!prog.log) {
            fprintf(stderr, "backprop train: %s: cannot write the log\n", v);
            goto done;
        }
        if (fresh)
            fputs("epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,"
                  "val_accuracy\n", prog.log);
    }
    bp_trainer_set_progress(tr, on_progress, &prog, prog.tty && !prog.quiet ? 20 : 0);
    if (!prog.quiet) {
        printf("training %d", bp_net_inputs(net));
        for (int l = 0; l < bp_net_layers(net); l++)
            printf("-%d", bp_net_layer(net, l).units);
        printf(" (%zu parameters) on %zu rows%s, %s, %d threads\n", bp_net_param_count(net),
               bp_dataset_rows(train), val ? " (+ validation)" : "",
               bp_optimizer_name(bp_trainer_options(tr)->optimizer),
               bp_trainer_options(tr)->threads);
    }
    bp_status st = bp_trainer_run(tr, train, val);
    if (st != BP_OK) {
        if (prog.failed) /* the checkpoint could not be written; already said why */
            goto done;
        fprintf(stderr, "backprop train: %s\n", bp_errmsg());
        if (st == BP_ERR_NUMERIC && prog.saved_epoch > 0)
            fprintf(stderr, "backprop train: the last good checkpoint is %s (epoch %d); inspect "
                            "it with 'backprop info %s', continue with --resume %s\n",
                    prog.checkpoint, prog.saved_epoch, prog.checkpoint, prog.checkpoint);
        else if (st == BP_ERR_NUMERIC && resume)
            fprintf(stderr, "backprop train: no new checkpoint was written; %s is unchanged\n",
                    resume);
        else if (st == BP_ERR_NUMERIC && prog.checkpoint)
            fprintf(stderr, "backprop train: no checkpoint was written (no epoch finished)\n");
        goto done;
    }
    if (bp_net_save(net, output) != BP_OK)
        goto fail;
    if (!prog.quiet)
        printf("saved %s\n", output);
    bp_metrics m = {0};
    if (test) {
        if (bp_evaluate(net, test, topt.threads, &m) != BP_OK)
            goto fail;
        print_eval("test", &m);
        bp_metrics_clear(&m);
    } else if (val) {
        if (bp_evaluate(net, val, topt.threads, &m) != BP_OK)
            goto fail;
        print_eval("validation", &m);
        bp_metrics_clear(&m);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "backprop train: %s\n", bp_errmsg());
    rc = 1;
done:
    if (prog.log)
        fclose(prog.log);
    bp_trainer_free(tr);
    bp_net_free(net);
    bp_dataset_free(all);
    bp_dataset_free(train);
    bp_dataset_free(val);
    bp_dataset_free(test);
    return rc;
}

/* ---- eval ------------------------------------------------------------------ */

int cmd_eval(int argc, char **argv)
{
    cli_option opts[] = {
        DATA_OPTIONS,
        {"threads", 0, 1, "N", "worker threads (default 1)", 0},
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "eval", "MODEL DATA",
                       "Evaluate MODEL on DATA: loss and accuracy, per-class precision, recall\n"
                       "and F1 and the confusion matrix; or MSE, MAE and R² for regression.\n"
                       "For mnist/fashion-mnist the test split is used.", argc, argv, 2, 2);
    if (rc >= 0)
        return rc;
    cli_data_options dopt;
    if ((rc = data_options(&args, "eval", &dopt)))
        return rc;
    int threads = 1;
    const char *v;
    if ((v = cli_get(&args, "threads")) && (rc = cli_int("eval", "threads", v, 1, 256, &threads)))
        return rc;
    bp_net *net = NULL;
    bp_dataset *ds = NULL, *test = NULL;
    bp_metrics m = {0};
    rc = 1;
    if (bp_net_load_any(&net, args.positional[0]) != BP_OK ||
        cli_load_data(args.positional[1], &dopt, &ds, &test) != BP_OK) {
        cli_fail("eval");
        goto done;
    }
    if (bp_dataset_inputs(test ? test : ds) != bp_net_inputs(net)) {
        fprintf(stderr, "backprop eval: %s has %d inputs per row but the model takes %d\n",
                args.positional[1], bp_dataset_inputs(test ? test : ds), bp_net_inputs(net));
        goto done;
    }
    if (bp_evaluate(net, test ? test : ds, threads, &m) != BP_OK) {
        cli_fail("eval");
        goto done;
    }
    const bp_dataset *used = test ? test : ds;
    print_eval("eval", &m);
    if (m.classes) {
        int k = m.classes;
        printf("\n%-16s %9s %9s %9s\n", "class", "precision", "recall", "f1");
        for (int c = 0; c < k; c++) {
            char nb[256];
            const char *name = class_name(net, used, c, nb, sizeof nb);
            char fallback[16];
            snprintf(fallback, sizeof fallback, "%d", c);
            printf("%-16s %9.4f %9.4f %9.4f\n", name ? name : fallback, m.precision[c],
                   m.recall[c], m.f1[c]);
        }
        printf("\nconfusion matrix (rows: true class, columns: predicted)\n");
        for (int r = 0; r < k; r++) {
            for (int c = 0; c < k; c++)
                printf("%6zu", m.confusion[(size_t)r * (size_t)k + (size_t)c]);
            putchar('\n');
        }
    }
    rc = 0;
done:
    bp_metrics_clear(&m);
    bp_net_free(net);
    bp_dataset_free(ds);
    bp_dataset_free(test);
    return rc;
}

/* ---- predict ------------------------------------------------------------- */

int cmd_predict(int argc, char **argv)
{
    cli_option opts[] = {
        DATA_OPTIONS,
        {"output", 'o', 1, "FILE.csv", "write here instead of standard output", 0},
        {"threads", 0, 1, "N", "worker threads (default 1)", 0},
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "predict", "MODEL DATA",
                       "Run MODEL on every row of DATA and print a CSV: for classifiers the\n"
                       "predicted class and each class's probability, else the outputs.",
                       argc, argv, 2, 2);
    if (rc >= 0)
        return rc;
    cli_data_options dopt;
    if ((rc = data_options(&args, "predict", &dopt)))
        return rc;
    int threads = 1;
    const char *v;
    if ((v = cli_get(&args, "threads")) &&
        (rc = cli_int("predict", "threads", v, 1, 256, &threads)))
        return rc;
    bp_net *net = NULL;
    bp_dataset *ds = NULL, *test = NULL;
    bp_workspace *ws = NULL;
    float *out = NULL;
    char *tmp = NULL;
    FILE *fp = stdout;
    rc = 1;
    if (bp_net_load_any(&net, args.positional[0]) != BP_OK ||
        cli_load_data(args.positional[1], &dopt, &ds, &test) != BP_OK) {
        cli_fail("predict");
        goto done;
    }
    const bp_dataset *used = test ? test : ds;
    if (bp_dataset_inputs(used) != bp_net_inputs(net)) {
        fprintf(stderr, "backprop predict: %s has %d inputs per row but the model takes %d\n",
                args.positional[1], bp_dataset_inputs(used), bp_net_inputs(net));
        goto done;
    }
    size_t rows = bp_dataset_rows(used);
    int n_out = bp_net_outputs(net);
    out = malloc((rows ? rows : 1) * (size_t)n_out * sizeof(float));
    if (!out || bp_workspace_create(&ws, net, 256, threads) != BP_OK ||
        bp_predict(net, ws, bp_dataset_x_const(used), rows, out) != BP_OK) {
        cli_fail("predict");
        goto done;
    }
    /* -o FILE is written to a temporary beside it and renamed at the end, so
     * a failed write leaves no partial file and keeps any previous one. */
    const char *path = cli_get(&args, "output");
    if (path) {
        size_t n = strlen(path);
        tmp = malloc(n + 16);
        int fd = -1;
        if (tmp) {
            snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
            fd = mkstemp(tmp);
        }
        if (fd >= 0) { /* mkstemp makes 0600; give what fopen would */
            mode_t mask = umask(0);
            umask(mask);
            fchmod(fd, 0666 & ~mask);
        }
        if (fd < 0 || !(fp = fdopen(fd, "w"))) {
            fprintf(stderr, "backprop predict: %s: cannot write: %s\n", path,
                    strerror(tmp ? errno : ENOMEM));
            if (fd >= 0) {
                close(fd);
                unlink(tmp);
            }
            free(tmp);
            tmp = NULL;
            fp = stdout;
            goto done;
        }
    }
    bp_layer_spec last = bp_net_layer(net, bp_net_layers(net) - 1);
    int classifier = last.act == BP_ACT_SOFTMAX || bp_net_loss(net) == BP_LOSS_BCE;
    if (classifier) {
        fputs("class", fp);
        for (int k = 0; k < n_out; k++) {
            char nb[256];
            const char *name = class_name(net, used, k, nb, sizeof nb);
            if (name)
                fprintf(fp, ",p_%s", name);
            else
                fprintf(fp, ",p%d", k);
        }
        fputc('\n', fp);
    } else {
        for (int k = 0; k < n_out; k++)
            fprintf(fp, k ? ",y%d" : "y%d", k + 1);
        fputc('\n', fp);
    }
    for (size_t r = 0; r < rows; r++) {
        const float *o = out + r * (size_t)n_out;
        if (classifier) {
            int best = 0;
            if (n_out == 1)
                best = o[0] > 0.5f;
            for (int k = 1; k < n_out; k++)
                if (o[k] > o[best])
                    best = k;
            char nb[256];
            const char *name = class_name(net, used, best, nb, sizeof nb);
            if (name)
                fputs(name, fp);
            else
                fprintf(fp, "%d", best);
            for (int k = 0; k < n_out; k++)
                fprintf(fp, ",%.6g", o[k]);
        } else {
            for (int k = 0; k < n_out; k++)
                fprintf(fp, k ? ",%.9g" : "%.9g", o[k]);
        }
        fputc('\n', fp);
    }
    rc = fflush(fp) != 0 || ferror(fp) ? 1 : 0;
    if (rc)
        fprintf(stderr, "backprop predict: %s: write failed: %s%s\n", path ? path : "standard output",
                strerror(errno ? errno : EIO), path ? " (previous file left unchanged)" : "");
done:
    if (fp != stdout) {
        if (fclose(fp) != 0 && rc == 0) {
            fprintf(stderr, "backprop predict: %s: write failed: %s (previous file left "
                            "unchanged)\n", path, strerror(errno));
            rc = 1;
        }
        if (rc == 0 && rename(tmp, path) != 0) {
            fprintf(stderr, "backprop predict: %s: cannot write: %s\n", path, strerror(errno));
            rc = 1;
        }
        if (rc != 0)
            unlink(tmp);
    }
    free(tmp);
    free(out);
    bp_workspace_free(ws);
    bp_net_free(net);
    bp_dataset_free(ds);
    bp_dataset_free(test);
    return rc;
}

/* ---- plot ------------------------------------------------------------------ */

int cmd_plot(int argc, char **argv)
{
    cli_option opts[] = {{"output", 'o', 1, "FILE.svg", "where to write (required)", 0}};
    cli_args args = {opts, 1, {0}, 0};
    int rc = cli_begin(&args, "plot", "LOG.csv -o FILE.svg",
                       "Draw the loss and accuracy curves of a training log (train --log).",
                       argc, argv, 1, 1);
    if (rc >= 0)
        return rc;
    const char *out = cli_get(&args, "output");
    if (!out) {
        fprintf(stderr, "backprop plot: -o FILE.svg is required\n");
        return 2;
    }
    if (bp_plot_svg(args.positional[0], out) != BP_OK)
        return cli_fail("plot");
    return 0;
}
