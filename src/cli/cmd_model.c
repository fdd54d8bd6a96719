/* Commands about model files: info, export. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common.h"

/* A per-layer table like Keras' model.summary(): each layer's units,
 * activation and parameters (weights + biases), and the total. */
static void print_layer_summary(const bp_net *net)
{
    printf("\nsummary:\n%-8s %8s  %-12s %12s %12s %12s\n", "layer", "units", "activation",
           "weights", "biases", "parameters");
    printf("%-8s %8d  %-12s %12s %12s %12s\n", "input", bp_net_inputs(net), "-", "-", "-", "0");
    size_t fan_in = (size_t)bp_net_inputs(net), total = 0;
    for (int l = 0; l < bp_net_layers(net); l++) {
        bp_layer_spec s = bp_net_layer(net, l);
        size_t weights = fan_in * (size_t)s.units, biases = s.bias ? (size_t)s.units : 0;
        char name[32];
        snprintf(name, sizeof name, "%d%s", l + 1, l == bp_net_layers(net) - 1 ? " (out)" : "");
        printf("%-8s %8d  %-12s %12zu %12zu %12zu\n", name, s.units, bp_activation_name(s.act),
               weights, biases, weights + biases);
        total += weights + biases;
        fan_in = (size_t)s.units;
    }
    printf("%-8s %8s  %-12s %12s %12s %12zu\n", "total", "", "", "", "", total);
}

int cmd_info(int argc, char **argv)
{
    cli_args args = {NULL, 0, {0}, 0};
    int rc = cli_begin(&args, "info", "MODEL",
                       "Show a model's architecture, parameter count, input scaling and\n"
                       "metadata (training seed, epochs, optimizer ...).  MODEL may be a\n"
                       "binary model or a text .net file.", argc, argv, 1, 1);
    if (rc >= 0)
        return rc;
    bp_net *net;
    if (bp_net_load_any(&net, args.positional[0]) != BP_OK)
        return cli_fail("info");
    printf("model: %s\n", args.positional[0]);
    printf("architecture: %d", bp_net_inputs(net));
    for (int l = 0; l < bp_net_layers(net); l++)
        printf("-%d", bp_net_layer(net, l).units);
    printf("\ninputs: %d\n", bp_net_inputs(net));
    for (int l = 0; l < bp_net_layers(net); l++) {
        bp_layer_spec s = bp_net_layer(net, l);
        printf("layer %d: %d units, %s, %s\n", l + 1, s.units, bp_activation_name(s.act),
               s.bias ? "bias" : "no bias");
    }
    printf("loss: %s\nparameters: %zu\n", bp_loss_name(bp_net_loss(net)), bp_net_param_count(net));
    printf("input scaling: %s\n", bp_net_scaling(net, NULL, NULL) ? "yes" : "none");
    print_schema(net); /* the data the model expects */
    for (int i = 0; i < bp_net_meta_count(net); i++) {
        const char *k, *v;
        bp_net_meta_at(net, i, &k, &v);
        printf("%s: %s\n", k, v);
    }
    print_layer_summary(net);
    bp_net_free(net);
    return 0;
}

/* The export format: --format, else the output's extension (.onnx, .c),
 * else the text .net format.  0 on success, 2 (usage) otherwise. */
static int export_format(const char *fmt, const char *out, int *kind)
{
    static const char *const names[] = {"net", "onnx", "c"};
    if (!fmt) {
        const char *dot = strrchr(out, '.');
        *kind = dot && !strcmp(dot, ".onnx") ? 1 : dot && !strcmp(dot, ".c") ? 2 : 0;
        return 0;
    }
    for (int i = 0; i < 3; i++)
        if (!strcmp(fmt, names[i]))
            return *kind = i, 0;
    fprintf(stderr, "backprop export: --format: expected net, onnx or c, got '%s'\n", fmt);
    return 2;
}

/* The header beside a C export: --header, else the output with .h for .c. */
static int header_path(const char *given, const char *out, char *buf, size_t cap)
{
    if (given) {
        if (strlen(given) >= cap)
            return 0;
        strcpy(buf, given);
        return 1;
    }
    size_t n = strlen(out);
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash) && !strcmp(dot, ".c"))
        n -= 2;
    if (n + 3 > cap)
        return 0;
    memcpy(buf, out, n);
    strcpy(buf + n, ".h");
    return 1;
}

int cmd_export(int argc, char **argv)
{
    cli_option opts[] = {{"output", 'o', 1, "FILE", "where to write (required)", 0},
                         {"format", 0, 1, "FMT",
                          "net (text), onnx or c (default: by the extension of -o)", 0},
                         {"header", 0, 1, "FILE.h",
                          "with --format c: the header (default: -o with .h)", 0},
                         FORCE_OPTION};
    cli_args args = {opts, 4, {0}, 0};
    int rc = cli_begin(&args, "export", "MODEL -o FILE",
                       "Write MODEL in another format, every weight exact:\n"
                       "  net   the human-readable text format (%.9g reads back to the same bits)\n"
                       "  onnx  ONNX opset 13 (Gemm and activation nodes, the input scaling as\n"
                       "        Sub/Mul, class names and other metadata as metadata_props)\n"
                       "  c     one dependency-free C99 file with predict(const float *x, float *y)\n"
                       "        and its header; compiled with -std=c99 -ffp-contract=off (no\n"
                       "        -ffast-math) it gives the same bits as BACKPROP_ISA=portable predict.\n"
                       "The format follows -o's extension (.onnx, .c; anything else is net)\n"
                       "unless --format says otherwise.", argc, argv, 1, 1);
    if (rc >= 0)
        return rc;
    const char *out = required_output(&args, "export", "FILE");
    if (!out)
        return 2;
    int kind;
    if ((rc = export_format(cli_get(&args, "format"), out, &kind)))
        return rc;
    char hpath[4096];
    if (kind != 2 && cli_get(&args, "header")) {
        fprintf(stderr, "backprop export: --header goes with --format c\n");
        return 2;
    }
    if (kind == 2) {
        if (!header_path(cli_get(&args, "header"), out, hpath, sizeof hpath)) {
            fprintf(stderr, "backprop export: header path too long\n");
            return 2;
        }
        cli_file files[] = {{"MODEL", args.positional[0], 0}, {"-o", out, 1},
                            {"--header", hpath, 1}};
        if ((rc = check_distinct("export", files, 3)))
            return rc;
        if (check_writable("export", "header", hpath, cli_get(&args, "force") != NULL))
            return 1;
    }
    if ((rc = check_output("export", &args, "MODEL", args.positional[0], out)))
        return rc;
    bp_net *net;
    if (bp_net_load_any(&net, args.positional[0]) != BP_OK)
        return cli_fail("export");
    bp_status st = kind == 1 ? bp_net_save_onnx(net, out)
                   : kind == 2 ? bp_net_save_c(net, out, hpath)
                               : bp_net_write_text(net, NULL, out);
    bp_net_free(net);
    return st == BP_OK ? 0 : cli_fail("export");
}
