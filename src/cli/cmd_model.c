/* Commands about model files: info, export. */
#include <stdio.h>

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

int cmd_export(int argc, char **argv)
{
    cli_option opts[] = {{"output", 'o', 1, "FILE.net", "where to write (required)", 0},
                         FORCE_OPTION};
    cli_args args = {opts, 2, {0}, 0};
    int rc = cli_begin(&args, "export", "MODEL -o FILE.net",
                       "Write MODEL in the human-readable text format, every weight exact\n"
                       "(%.9g reads back to the same bits).", argc, argv, 1, 1);
    if (rc >= 0)
        return rc;
    const char *out = cli_get(&args, "output");
    if (!out) {
        fprintf(stderr, "backprop export: -o FILE.net is required\n");
        return 2;
    }
    if ((rc = check_output("export", &args, "MODEL", args.positional[0], out)))
        return rc;
    bp_net *net;
    if (bp_net_load_any(&net, args.positional[0]) != BP_OK)
        return cli_fail("export");
    if (bp_net_write_text(net, NULL, out) != BP_OK) {
        bp_net_free(net);
        return cli_fail("export");
    }
    bp_net_free(net);
    return 0;
}
