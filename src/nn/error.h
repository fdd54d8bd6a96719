#ifndef BP_NN_ERROR_H
#define BP_NN_ERROR_H

#include "backprop.h"

/* Like bp_error, but keeps this thread's current message after the formatted
 * text: bp_error_prefix(st, "%s: ", path) turns "bad magic" into
 * "model.bp: bad magic".  For re-raising a failed call's message with the
 * file, line or section it happened in, without copying it by hand first.
 * Internal: the CLI reports through bp_error and bp_errmsg alone. */
bp_status bp_error_prefix(bp_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
