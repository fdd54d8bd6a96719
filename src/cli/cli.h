/* The CLI's commands; each takes argv after the command name and returns the
 * exit status (0 success, 1 runtime failure, 2 usage error). */
#ifndef BP_CLI_H
#define BP_CLI_H

#include <signal.h>

#include "args.h"

int cmd_step(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_draw(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_quantize(int argc, char **argv);

/* Prints "backprop CMD: message" from the library's last error; returns 1. */
int cli_fail(const char *command);
/* Parses argv into args; prints help (exit 0) or usage errors (exit 2).
 * Returns -1 when the command should go on. */
int cli_begin(cli_args *args, const char *command, const char *usage, const char *description,
              int argc, char **argv, int min_positional, int max_positional);

/* Signals (main.c).  cli_interrupted is the number of a SIGINT/SIGTERM/SIGHUP
 * that arrived while deferred, else 0.  cli_defer_signals: from now on the
 * first such signal only sets cli_interrupted and asks `tr` (may be NULL) to
 * stop after its batch; a second one ends the process at once.  Without
 * deferral a signal removes the temporaries of saves in progress and ends the
 * process with status 128 + N. */
extern volatile sig_atomic_t cli_interrupted;
void cli_defer_signals(bp_trainer *tr);
void cli_undefer_signals(void);

#endif
