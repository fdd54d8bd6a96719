/* A small GNU-style option parser for the CLI: --name VALUE, --name=VALUE,
 * short -o VALUE, flags, and positional arguments in any order. */
#ifndef BP_CLI_ARGS_H
#define BP_CLI_ARGS_H

#include "backprop.h"

typedef struct cli_option {
    const char *long_name; /* without the dashes */
    char short_name;       /* 0 for none */
    int takes_value;
    const char *value_name; /* for help text */
    const char *help;
    const char *value;      /* set by parsing (or "1" for a flag) */
} cli_option;

typedef struct cli_args {
    cli_option *options;
    int n_options;
    const char *positional[16];
    int n_positional;
} cli_args;

/* Returns 0 on success; on a usage error prints it to stderr and returns 2.
 * Returns 1 (and prints help to stdout) when --help was given. */
int cli_parse(cli_args *args, const char *command, const char *usage, int argc, char **argv);
void cli_print_help(const cli_args *args, const char *command, const char *usage,
                    const char *description);
const char *cli_get(const cli_args *args, const char *long_name);

/* Value converters: print "backprop CMD: --name: ..." and return 2 on bad input. */
int cli_int(const char *command, const char *name, const char *text, long lo, long hi, int *out);
int cli_float(const char *command, const char *name, const char *text, float *out);
/* Comma-separated floats into a fresh array (caller frees). */
int cli_float_list(const char *command, const char *name, const char *text, float **out, int *n);

#endif
