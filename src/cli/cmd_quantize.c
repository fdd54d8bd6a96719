/* quantize: a model's int8 form, calibrated on data (docs/performance.md). */
#include <stdio.h>

#include "cli.h"
#include "common.h"

/* The calibration data, mapped through the model's schema as predict maps
 * its data; 0, or the exit code. */
static int load_calib(const char *model, const char *calib, const cli_data_options *dopt,
                      const bp_net *net, bp_dataset **ds)
{
    bp_status st = cli_load_data_for(calib, dopt, net, ds);
    if (st == BP_ERR_SHAPE) {
        fprintf(stderr, "backprop quantize: --calib %s: %s (model %s)\n", calib, bp_errmsg(),
                model);
        return 1;
    }
    if (st != BP_OK) {
        cli_fail("quantize");
        return fail_rc(st);
    }
    if (bp_dataset_inputs(*ds) != bp_net_inputs(net)) {
        fprintf(stderr, "backprop quantize: --calib %s has %d inputs per row but the model %s "
                        "takes %d\n", calib, bp_dataset_inputs(*ds), model, bp_net_inputs(net));
        return 1;
    }
    if (bp_dataset_rows(*ds) == 0) {
        fprintf(stderr, "backprop quantize: --calib %s has no rows\n", calib);
        return 1;
    }
    return 0;
}

int cmd_quantize(int argc, char **argv)
{
    cli_option opts[] = {
        DATA_OPTIONS,
        {"output", 'o', 1, "FILE", "where to write the int8 model (required)", 0},
        {"calib", 0, 1, "DATA",
         "calibration data: rows like the model's inputs (required; a named set: its "
         "training split)", 0},
        FORCE_OPTION,
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "quantize", "MODEL -o FILE --calib DATA",
                       "Write MODEL with an int8 form: per-neuron int8 weights and activation\n"
                       "scales calibrated on DATA (a few hundred typical rows; mapped through\n"
                       "the model's schema like predict's data).  predict and eval run such a\n"
                       "file through int8 arithmetic; older builds read it as the float32\n"
                       "model it was made from.",
                       argc, argv, 1, 1);
    if (rc >= 0)
        return rc;
    cli_data_options dopt;
    if ((rc = data_options(&args, "quantize", &dopt)))
        return rc;
    /* A named set calibrates on its training split: the test split is what
     * eval then measures, and must not have chosen the scales. */
    dopt.named_train = 1;
    const char *model = args.positional[0], *calib = cli_get(&args, "calib");
    const char *out = required_output(&args, "quantize", "FILE");
    if (!out)
        return 2;
    if (!calib) {
        fprintf(stderr, "backprop quantize: --calib DATA is required: activation scales are "
                        "calibrated on data, and %s does not hold its training data\n", model);
        return 2;
    }
    if ((rc = check_output("quantize", &args, "MODEL", model, out)))
        return rc;
    bp_net *net = NULL;
    bp_dataset *ds = NULL;
    bp_qnet *q = NULL;
    rc = 1;
    if (bp_net_load_any(&net, model) != BP_OK) {
        cli_fail("quantize");
        goto done;
    }
    if ((rc = load_calib(model, calib, &dopt, net, &ds)))
        goto done;
    rc = 1;
    if (bp_quantize(&q, net, bp_dataset_x_const(ds), bp_dataset_rows(ds)) != BP_OK ||
        bp_qnet_save(q, out) != BP_OK) {
        cli_fail("quantize");
        goto done;
    }
    fprintf(stderr, "backprop quantize: %s: int8 model calibrated on %zu rows of %s%s\n", out,
            bp_dataset_rows(ds), calib,
            cli_is_named_set(calib) ? " (its training split)" : "");
    rc = 0;
done:
    bp_qnet_free(q);
    bp_net_free(net);
    bp_dataset_free(ds);
    return rc;
}
