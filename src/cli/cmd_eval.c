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
    bp_dataset *ds = NULL, *test = NULL;
    bp_metrics m;
    bp_metrics_init(&m);
    FILE *jfp = NULL;
    if (cli_get(&args, "json") && !(jfp = json_stdout_begin("eval")))
        return 1;
    rc = 1;
    bp_status lst = BP_OK;
    if ((lst = bp_net_load_any(&net, args.positional[0])) != BP_OK ||
        (lst = cli_load_data_for(args.positional[1], &dopt, net, &ds)) != BP_OK) {
        if (lst == BP_ERR_SHAPE) /* data and model disagree: name both */
            fprintf(stderr, "backprop eval: %s (model %s)\n", bp_errmsg(), args.positional[0]);
        else
            cli_fail("eval");
        rc = net ? fail_rc(lst) : 1; /* an unknown --target is a usage error */
        goto done;
    }
    if (bp_dataset_inputs(test ? test : ds) != bp_net_inputs(net)) {
        fprintf(stderr, "backprop eval: %s has %d inputs per row but the model takes %d (%s)\n",
                args.positional[1], bp_dataset_inputs(test ? test : ds), bp_net_inputs(net),
                args.positional[0]);
        goto done;
    }
    if (bp_dataset_outputs(ds) == 0 && cli_data_is_idx(args.positional[1], &dopt)) {
        cli_need_targets(args.positional[1], ds);
        cli_fail("eval");
        rc = 2;
        goto done;
    }
    if (bp_dataset_outputs(ds) == 0) {
        const char *t = bp_net_target_name(net, 0);
        fprintf(stderr, "backprop eval: %s has no target column%s%s%s to evaluate against "
                        "(predict works without one)\n", args.positional[1], t ? " (\"" : "",
                t ? t : "", t ? "\")" : "");
        goto done;
    }
    bp_status est = bp_evaluate(net, test ? test : ds, threads, &m);
    if (est == BP_ERR_SHAPE) { /* the library's message names neither file */
        fprintf(stderr, "backprop eval: %s (model %s): %s\n", args.positional[1],
                args.positional[0], bp_errmsg());
        goto done;
    }
    if (est != BP_OK) {
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
    if (jfp) {
        json_writer w;
        json_names names = {net, used};
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
    bp_net_free(net);
    bp_dataset_free(ds);
    bp_dataset_free(test);
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
    cli_data_options dopt;
    if ((rc = data_options(&args, "predict", &dopt)))
        return rc;
    dopt.id = cli_get(&args, "id");
    int with_target = cli_get(&args, "with-target") != NULL;
    int threads = 1;
    const char *v;
    if ((v = cli_get(&args, "threads")) &&
        (rc = cli_int("predict", "threads", v, 1, 256, &threads)))
        return rc;
    int precision = 0;
    if ((v = cli_get(&args, "precision")) &&
        (rc = cli_int("predict", "precision", v, 1, 17, &precision)))
        return rc;
    bp_net *net = NULL;
    bp_dataset *ds = NULL, *test = NULL;
    bp_workspace *ws = NULL;
    float *out = NULL;
    bp_output *outfile = NULL;
    FILE *fp = stdout;
    const char *path = cli_get(&args, "output");
    if (path) {
        cli_file files[] = {{"MODEL", args.positional[0], 0},
                            {"DATA", args.positional[1], 0},
                            {"--labels", cli_get(&args, "labels"), 0},
                            {"-o", path, 1}};
        if ((rc = check_distinct("predict", files, 4)))
            return rc;
        if (check_writable("predict", "output", path, cli_get(&args, "force") != NULL))
            return 1;
    }
    rc = 1;
    bp_status lst = BP_OK;
    if (bp_net_load_any(&net, args.positional[0]) != BP_OK ||
        (lst = cli_load_data_for(args.positional[1], &dopt, net, &ds)) != BP_OK) {
        if (lst == BP_ERR_SHAPE) /* data and model disagree: name both */
            fprintf(stderr, "backprop predict: %s (model %s)\n", bp_errmsg(), args.positional[0]);
        else
            cli_fail("predict");
        rc = net ? fail_rc(lst) : 1; /* an unknown --target is a usage error */
        goto done;
    }
    if (dopt.id && !bp_dataset_row_id(ds, 0) && bp_dataset_rows(ds) > 0) {
        fprintf(stderr, "backprop predict: --id needs a CSV file\n");
        rc = 2;
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
    /* -o FILE goes through the library's writer: a temporary renamed at the
     * end (a failed write keeps any previous file), or straight into a
     * device or FIFO. */
    if (path) {
        if (bp_output_open(&outfile, path) != BP_OK) {
            cli_fail("predict");
            goto done;
        }
        fp = bp_output_file(outfile);
    }
    write_predictions(fp, net, used, out, dopt.id, with_target, precision);
    if (outfile) {
        bp_status cst = bp_output_commit(outfile);
        outfile = NULL;
        rc = cst == BP_OK ? 0 : cli_fail("predict");
    } else {
        errno = 0;
        rc = fflush(fp) != 0 || ferror(fp) ? 1 : 0;
        if (rc)
            fprintf(stderr, "backprop predict: standard output: write failed: %s\n",
                    strerror(errno ? errno : EIO));
    }
done:
    bp_output_abort(outfile);
    free(out);
    bp_workspace_free(ws);
    bp_net_free(net);
    bp_dataset_free(ds);
    bp_dataset_free(test);
    return rc;
}

/* ---- plot ------------------------------------------------------------------ */
