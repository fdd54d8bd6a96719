/* Commands that run models on data: eval, predict. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "data.h"
#include "common.h"
#include "json.h"

/* ---- eval ------------------------------------------------------------------ */

/* Loads the model and the data mapped through it, and checks the data can be
 * evaluated (inputs match, a target is there); 0, or the exit code. */
static int eval_load(const cli_args *args, const cli_data_options *dopt, bp_net **net,
                     bp_qnet **q, bp_dataset **ds)
{
    bp_status lst = BP_OK;
    if ((lst = bp_net_load_quantized(net, q, args->positional[0])) != BP_OK ||
        (lst = cli_load_data_for(args->positional[1], dopt, *net, ds)) != BP_OK) {
        if (lst == BP_ERR_SHAPE) /* data and model disagree: name both */
            fprintf(stderr, "backprop eval: %s (model %s)\n", bp_errmsg(), args->positional[0]);
        else
            cli_fail("eval");
        return *net ? fail_rc(lst) : 1; /* an unknown --target is a usage error */
    }
    if (bp_dataset_inputs(*ds) != bp_net_inputs(*net)) {
        fprintf(stderr, "backprop eval: %s has %d inputs per row but the model takes %d (%s)\n",
                args->positional[1], bp_dataset_inputs(*ds), bp_net_inputs(*net),
                args->positional[0]);
        return 1;
    }
    if (bp_dataset_outputs(*ds) == 0 && cli_data_is_idx(args->positional[1], dopt)) {
        cli_need_targets(args->positional[1], *ds);
        cli_fail("eval");
        return 2;
    }
    if (bp_dataset_outputs(*ds) == 0) {
        const char *t = bp_net_target_name(*net, 0);
        fprintf(stderr, "backprop eval: %s has no target column%s%s%s to evaluate against "
                        "(predict works without one)\n", args->positional[1], t ? " (\"" : "",
                t ? t : "", t ? "\")" : "");
        return 1;
    }
    return 0;
}

/* Per-class precision, recall and F1, and the confusion matrix. */
static void print_class_table(const bp_net *net, const bp_dataset *used, const bp_metrics *m)
{
    int k = m->classes;
    printf("\n%-16s %9s %9s %9s\n", "class", "precision", "recall", "f1");
    for (int c = 0; c < k; c++) {
        char nb[256];
        const char *name = class_name(net, used, c, nb, sizeof nb);
        char fallback[16];
        snprintf(fallback, sizeof fallback, "%d", c);
        printf("%-16s %9.4f %9.4f %9.4f\n", name ? name : fallback, m->precision[c],
               m->recall[c], m->f1[c]);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n");
    for (int r = 0; r < k; r++) {
        for (int c = 0; c < k; c++)
            printf("%6zu", m->confusion[(size_t)r * (size_t)k + (size_t)c]);
        putchar('\n');
    }
}

int cmd_eval(int argc, char **argv)
{
    cli_option opts[] = {
        DATA_OPTIONS,
        {"threads", 0, 1, "N", "worker threads (default 1)", 0},
        {"json", 0, 0, "", "print the metrics as JSON on standard output (the text goes to standard error)", 0},
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "eval", "MODEL DATA",
                       "Evaluate MODEL on DATA: loss and accuracy, per-class precision, recall\n"
                       "and F1 and the confusion matrix; or MSE, MAE and R² for regression.\n"
                       "For mnist/fashion-mnist the test split is used.  With --json standard\n"
                       "output holds one JSON document: rows, loss; accuracy, per-class\n"
                       "precision/recall/f1/support, macro and weighted averages and the\n"
                       "confusion matrix with its labels; or mse, rmse, mae and r2.",
                       argc, argv, 2, 2);
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
    bp_qnet *q = NULL; /* a quantized model's int8 form: eval runs it */
    bp_dataset *ds = NULL;
    bp_metrics m;
    bp_metrics_init(&m);
    FILE *jfp = NULL;
    if (cli_get(&args, "json") && !(jfp = json_stdout_begin("eval")))
        return 1;
    if ((rc = eval_load(&args, &dopt, &net, &q, &ds)))
        goto done;
    rc = 1;
    if (q)
        fprintf(stderr, "backprop eval: %s is quantized: running its int8 form\n",
                args.positional[0]);
    bp_status est = q ? bp_qnet_evaluate(q, ds, &m) : bp_evaluate(net, ds, threads, &m);
    if (est == BP_ERR_SHAPE) { /* the library's message names neither file */
        fprintf(stderr, "backprop eval: %s (model %s): %s\n", args.positional[1],
                args.positional[0], bp_errmsg());
        goto done;
    }
    if (est != BP_OK) {
        cli_fail("eval");
        goto done;
    }
    print_eval("eval", &m);
    if (m.classes)
        print_class_table(net, ds, &m);
    rc = 0;
    if (jfp) {
        json_writer w;
        json_names names = {net, ds};
        json_init(&w, jfp);
        json_object_begin(&w, NULL);
        json_string(&w, "command", "eval");
        json_string(&w, "model", args.positional[0]);
        json_string(&w, "data", args.positional[1]);
        json_metrics(&w, "metrics", &m, json_model_class_name, &names);
        json_object_end(&w);
    }
done:
    if (jfp && json_stdout_end("eval", jfp))
        rc = 1;
    bp_metrics_clear(&m);
    bp_qnet_free(q);
    bp_net_free(net);
    bp_dataset_free(ds);
    return rc;
}

/* ---- predict ------------------------------------------------------------- */

/* One CSV field, quoted when it holds a delimiter, quote or line break. */
static void put_field(FILE *fp, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

/* The class name (or number) of class k. */
static void put_class(FILE *fp, const bp_net *net, const bp_dataset *ds, int k)
{
    char nb[256];
    const char *name = class_name(net, ds, k, nb, sizeof nb);
    if (name)
        put_field(fp, name);
    else
        fprintf(fp, "%d", k);
}

/* The predictions as CSV: [id,] class or outputs, [true target,] and for
 * classifiers each class's probability under its name. */
static void write_predictions(FILE *fp, const bp_net *net, const bp_dataset *ds,
                              const float *out, const char *id, int with_target, int precision)
{
    int n_out = bp_net_outputs(net);
    int classifier = cli_model_task(net) == BP_TASK_CLASSIFICATION;
    int n_t = with_target ? bp_dataset_outputs(ds) : 0;
    const int32_t *labels = bp_dataset_labels(ds);
    if (id) {
        put_field(fp, id);
        fputc(',', fp);
    }
    if (classifier) {
        fputs("class", fp);
        if (n_t)
            fputs(",target", fp);
        for (int k = 0; k < n_out; k++) {
            char nb[256];
            const char *name = class_name(net, ds, k, nb, sizeof nb);
            fputs(",", fp);
            if (name) {
                char h[300];
                snprintf(h, sizeof h, "p_%s", name);
                put_field(fp, h);
            } else {
                fprintf(fp, "p%d", k);
            }
        }
    } else {
        for (int k = 0; k < n_out; k++)
            fprintf(fp, k ? ",y%d" : "y%d", k + 1);
        for (int k = 0; k < n_t; k++)
            fprintf(fp, n_t == 1 ? ",target" : ",target%d", k + 1);
    }
    fputc('\n', fp);
    const float *y = bp_dataset_y_const(ds);
    for (size_t r = 0; r < bp_dataset_rows(ds); r++) {
        const float *o = out + r * (size_t)n_out;
        if (id) {
            put_field(fp, bp_dataset_row_id(ds, r));
            fputc(',', fp);
        }
        if (classifier) {
            put_class(fp, net, ds, bp_predicted_class(o, n_out));
            if (n_t && labels) {
                fputc(',', fp);
                put_class(fp, net, ds, labels[r]);
            }
            for (int k = 0; k < n_out; k++)
                fprintf(fp, ",%.*g", precision ? precision : 6, o[k]);
        } else {
            for (int k = 0; k < n_out; k++)
                fprintf(fp, k ? ",%.*g" : "%.*g", precision ? precision : 9, o[k]);
            for (int k = 0; k < n_t; k++)
                fprintf(fp, ",%.9g", y[r * (size_t)n_t + (size_t)k]);
        }
        fputc('\n', fp);
    }
}

/* predict's options beyond the data options. */
typedef struct {
    cli_data_options dopt;
    int with_target, threads, precision;
    const char *path; /* -o, or NULL for standard output */
} predict_options;

/* Reads the options and checks the output file; 0, or the exit code. */
static int predict_parse_options(cli_args *args, predict_options *p)
{
    int rc;
    const char *v;
    if ((rc = data_options(args, "predict", &p->dopt)))
        return rc;
    p->dopt.id = cli_get(args, "id");
    p->with_target = cli_get(args, "with-target") != NULL;
    p->threads = 1;
    if ((v = cli_get(args, "threads")) &&
        (rc = cli_int("predict", "threads", v, 1, 256, &p->threads)))
        return rc;
    p->precision = 0;
    if ((v = cli_get(args, "precision")) &&
        (rc = cli_int("predict", "precision", v, 1, 17, &p->precision)))
        return rc;
    p->path = cli_get(args, "output");
    if (p->path) {
        cli_file files[] = {{"MODEL", args->positional[0], 0},
                            {"DATA", args->positional[1], 0},
                            {"--labels", cli_get(args, "labels"), 0},
                            {"-o", p->path, 1}};
        if ((rc = check_distinct("predict", files, 4)))
            return rc;
        if (check_writable("predict", "output", p->path, cli_get(args, "force") != NULL))
            return 1;
    }
    return 0;
}

/* Loads the model and the data mapped through it; 0, or the exit code. */
static int predict_load(const cli_args *args, const predict_options *p, bp_net **net,
                        bp_qnet **q, bp_dataset **ds)
{
    bp_status lst = BP_OK;
    if (bp_net_load_quantized(net, q, args->positional[0]) != BP_OK ||
        (lst = cli_load_data_for(args->positional[1], &p->dopt, *net, ds)) != BP_OK) {
        if (lst == BP_ERR_SHAPE) /* data and model disagree: name both */
            fprintf(stderr, "backprop predict: %s (model %s)\n", bp_errmsg(), args->positional[0]);
        else
            cli_fail("predict");
        return *net ? fail_rc(lst) : 1; /* an unknown --target is a usage error */
    }
    if (p->dopt.id && !bp_dataset_row_id(*ds, 0) && bp_dataset_rows(*ds) > 0) {
        fprintf(stderr, "backprop predict: --id needs a CSV file\n");
        return 2;
    }
    if (bp_dataset_inputs(*ds) != bp_net_inputs(*net)) {
        fprintf(stderr, "backprop predict: %s has %d inputs per row but the model takes %d\n",
                args->positional[1], bp_dataset_inputs(*ds), bp_net_inputs(*net));
        return 1;
    }
    return 0;
}

/* Writes the predictions to -o (through the library's writer: a temporary
 * renamed at the end, so a failed write keeps any previous file, or straight
 * into a device or FIFO) or to standard output; 0 or 1. */
static int predict_write(const predict_options *p, const bp_net *net, const bp_dataset *ds,
                         const float *out)
{
    if (!p->path) {
        write_predictions(stdout, net, ds, out, p->dopt.id, p->with_target, p->precision);
        errno = 0;
        int rc = fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
        if (rc)
            fprintf(stderr, "backprop predict: standard output: write failed: %s\n",
                    strerror(errno ? errno : EIO));
        return rc;
    }
    bp_output *outfile = NULL;
    if (bp_output_open(&outfile, p->path) != BP_OK)
        return cli_fail("predict");
    write_predictions(bp_output_file(outfile), net, ds, out, p->dopt.id, p->with_target,
                      p->precision);
    return bp_output_commit(outfile) == BP_OK ? 0 : cli_fail("predict");
}

/* Every row's outputs into out: through the int8 form when the model has one. */
static bp_status predict_rows(const bp_net *net, const bp_qnet *q, const bp_dataset *ds,
                              int threads, float *out)
{
    const float *x = bp_dataset_x_const(ds);
    size_t rows = bp_dataset_rows(ds);
    if (q)
        return bp_qnet_predict(q, x, rows, out);
    bp_workspace *ws = NULL;
    bp_status st = bp_workspace_create(&ws, net, 256, threads);
    if (st == BP_OK)
        st = bp_predict(net, ws, x, rows, out);
    bp_workspace_free(ws);
    return st;
}

int cmd_predict(int argc, char **argv)
{
    cli_option opts[] = {
        DATA_OPTIONS,
        {"output", 'o', 1, "FILE.csv", "write here instead of standard output", 0},
        {"threads", 0, 1, "N", "worker threads (default 1)", 0},
        {"precision", 0, 1, "N",
         "significant digits of each output (default 6 for probabilities, 9 otherwise; "
         "9 reads back to the same float)", 0},
        FORCE_OPTION,
        {"id", 0, 1, "COLUMN", "copy this CSV column (name or 1-based index) to the output", 0},
        {"with-target", 0, 0, "", "add the true target from DATA (when it has one)", 0},
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "predict", "MODEL DATA",
                       "Run MODEL on every row of DATA and print a CSV: for classifiers the\n"
                       "predicted class and each class's probability, else the outputs.\n"
                       "DATA is mapped through the model's schema (columns by name when it\n"
                       "has a header); its target column may be left out.",
                       argc, argv, 2, 2);
    if (rc >= 0)
        return rc;
    predict_options p;
    if ((rc = predict_parse_options(&args, &p)))
        return rc;
    bp_net *net = NULL;
    bp_qnet *q = NULL; /* a quantized model's int8 form: predict runs it */
    bp_dataset *ds = NULL;
    float *out = NULL;
    if ((rc = predict_load(&args, &p, &net, &q, &ds)))
        goto done;
    rc = 1;
    size_t rows = bp_dataset_rows(ds);
    int n_out = bp_net_outputs(net);
    out = malloc((rows ? rows : 1) * (size_t)n_out * sizeof(float));
    if (!out || predict_rows(net, q, ds, p.threads, out) != BP_OK) {
        cli_fail("predict");
        goto done;
    }
    rc = predict_write(&p, net, ds, out);
done:
    free(out);
    bp_qnet_free(q);
    bp_net_free(net);
    bp_dataset_free(ds);
    return rc;
}

/* ---- plot ------------------------------------------------------------------ */
