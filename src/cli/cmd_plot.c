/* The plot command: learning curves of a training log. */
#include <stdio.h>

#include "cli.h"
#include "common.h"

int cmd_plot(int argc, char **argv)
{
    cli_option opts[] = {
        {"output", 'o', 1, "FILE.svg", "where to write (required)", 0},
        {"log-scale", 0, 0, "", "logarithmic loss axis (default: when the loss spans > 2 decades)", 0},
        {"linear-scale", 0, 0, "", "linear loss axis, even when the loss spans decades", 0},
        FORCE_OPTION,
    };
    cli_args args = {opts, (int)(sizeof opts / sizeof opts[0]), {0}, 0};
    int rc = cli_begin(&args, "plot", "LOG.csv -o FILE.svg",
                       "Draw the curves of a training log (train --log): loss, and accuracy or\n"
                       "for regression RMSE, of the training, validation and test sets.",
                       argc, argv, 1, 1);
    if (rc >= 0)
        return rc;
    const char *out = required_output(&args, "plot", "FILE.svg");
    if (!out)
        return 2;
    unsigned flags = 0;
    if (cli_get(&args, "log-scale"))
        flags |= BP_PLOT_LOG_LOSS;
    if (cli_get(&args, "linear-scale"))
        flags |= BP_PLOT_LINEAR_LOSS;
    if (flags == (BP_PLOT_LOG_LOSS | BP_PLOT_LINEAR_LOSS)) {
        fprintf(stderr, "backprop plot: give --log-scale or --linear-scale, not both\n");
        return 2;
    }
    if ((rc = check_output("plot", &args, "LOG", args.positional[0], out)))
        return rc;
    if (bp_plot_svg_flags(args.positional[0], out, flags) != BP_OK)
        return cli_fail("plot");
    return 0;
}
