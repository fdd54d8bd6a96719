/*
 * backprop — the command-line tool.  It parses arguments, calls the public
 * API and prints; all the maths lives in the library.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"step", cmd_step, "one forward and backward pass printed like the article"},
    {"draw", cmd_draw, "draw a network as SVG, with its values"},
    {"train", cmd_train, "train a network on data and save the model"},
    {"eval", cmd_eval, "evaluate a model on data"},
    {"predict", cmd_predict, "run a model on data and print its outputs"},
    {"plot", cmd_plot, "draw learning curves of a training log as SVG"},
    {"gradcheck", cmd_gradcheck, "check backpropagation against finite differences"},
    {"quantize", cmd_quantize, "write a model's int8 form, calibrated on data"},
    {"info", cmd_info, "show a model's architecture, parameters and metadata"},
    {"export", cmd_export, "write a model as a text .net file"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: backprop COMMAND [OPTION]... [ARG]...\n"
                "Build, train, explain and run feed-forward neural networks.\n\nCommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'backprop help COMMAND' or 'backprop COMMAND --help' describes a command's "
                "options.\n"
                "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int cli_fail(const char *command)
{
    fprintf(stderr, "backprop %s: %s\n", command, bp_errmsg());
    return 1;
}

int cli_begin(cli_args *args, const char *command, const char *usage_text,
              const char *description, int argc, char **argv, int min_positional,
              int max_positional)
{
    int rc = cli_parse(args, command, usage_text, argc, argv);
    if (rc == 1) {
        cli_print_help(args, command, usage_text, description);
        return 0;
    }
    if (rc)
        return rc;
    if (args->n_positional < min_positional || args->n_positional > max_positional) {
        fprintf(stderr, "backprop %s: expected %s\nUsage: backprop %s %s\n", command,
                args->n_positional < min_positional ? "more arguments" : "fewer arguments",
                command, usage_text);
        return 2;
    }
    return -1;
}

/* ---- signals ----------------------------------------------------------------
 * SIGINT, SIGTERM and SIGHUP remove the temporaries of saves in progress and
 * end the process with status 128 + the signal number (130 for Ctrl-C).
 * While train trains and saves it defers the first one: the trainer stops
 * after its batch, train saves and exits with that status; a second ends the
 * process at once.  A signal ignored on entry (nohup, a background job of a
 * shell without job control) stays ignored.  SIGXFSZ is ignored so a write
 * past `ulimit -f` fails with EFBIG and takes the write error path (message,
 * temporary removed, exit 1) instead of killing the process. */

volatile sig_atomic_t cli_interrupted;
static volatile sig_atomic_t deferring;
static bp_trainer *volatile stop_trainer;

static void on_signal(int sig)
{
    if (deferring && !cli_interrupted) {
        cli_interrupted = sig;
        if (stop_trainer)
            bp_trainer_request_stop(stop_trainer);
        static const char msg[] = "\nbackprop: interrupted: finishing the batch and saving "
                                  "(interrupt again to quit at once)\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        return;
    }
    bp_remove_temp_files();
    _exit(128 + sig);
}

void cli_defer_signals(bp_trainer *tr)
{
    stop_trainer = tr;
    deferring = 1;
}

void cli_undefer_signals(void)
{
    deferring = 0;
    stop_trainer = NULL;
}

static void install_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaddset(&sa.sa_mask, sigs[i]);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sa.sa_handler = on_signal;
        sigaction(sigs[i], &sa, NULL);
    }
    signal(SIGXFSZ, SIG_IGN);
}

/* A full disk or closed pipe on stdout must not pass as success. */
static int finish_stdout(int rc)
{
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        fprintf(stderr, "backprop: write error: standard output: %s\n",
                strerror(errno ? errno : EIO));
        return 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    install_signals();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") && argc > 2) {
        /* "backprop help CMD" is "backprop CMD --help". */
        char *help[] = {"--help", NULL};
        for (int i = 0; i < N_COMMANDS; i++)
            if (!strcmp(argv[2], commands[i].name))
                return commands[i].run(1, help);
        fprintf(stderr, "backprop help: unknown command '%s'\nTry 'backprop --help'.\n", argv[2]);
        return 2;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return finish_stdout(0);
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("backprop %s\n", bp_version());
        return finish_stdout(0);
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name))
            return finish_stdout(commands[i].run(argc - 2, argv + 2));
    fprintf(stderr, "backprop: unknown command '%s'\nTry 'backprop --help'.\n", cmd);
    return 2;
}
