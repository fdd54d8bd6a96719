/* The plot command: learning curves of a training log. */
#include <stdio.h>

#include "cli.h"
#include "common.h"

int cmd_plot(int argc, char **argv)
{
    cli_option opts[] = {{"output", 'o', 1, "FILE.svg", "where to write (required)", 0},
                         FORCE_OPTION};
    cli_args args = {opts, 2, {0}, 0};
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
    if ((rc = check_output("plot", &args, "LOG", args.positional[0], out)))
        return rc;
    if (bp_plot_svg(args.positional[0], out) != BP_OK)
        return cli_fail("plot");
    return 0;
}
