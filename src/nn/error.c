/*
 * Status strings and the per-thread error message.
 *
 * Like SQLite's sqlite3_errmsg(), the message lives beside the status so a
 * caller can report "file:line: what was expected" without the library ever
 * printing.  It is thread-local so concurrent users of separate objects do not
 * overwrite each other's messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backprop.h"
#include "error.h"

static _Thread_local char error_message[1024];

const char *bp_version(void) { return BP_VERSION_STRING; }

const char *bp_errmsg(void) { return error_message; }

bp_status bp_error(bp_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return status;
}

bp_status bp_error_prefix(bp_status status, const char *fmt, ...)
{
    char old[sizeof error_message];
    memcpy(old, error_message, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof error_message)
        snprintf(error_message + n, sizeof error_message - (size_t)n, "%s", old);
    return status;
}

const char *bp_status_string(bp_status status)
{
    switch (status) {
    case BP_OK: return "ok";
    case BP_ERR_ARG: return "invalid argument";
    case BP_ERR_NOMEM: return "out of memory";
    case BP_ERR_IO: return "i/o error";
    case BP_ERR_PARSE: return "parse error";
    case BP_ERR_FORMAT: return "bad file format";
    case BP_ERR_SHAPE: return "shape mismatch";
    case BP_ERR_NUMERIC: return "numeric error";
    case BP_ERR_UNSUPPORTED: return "unsupported";
    case BP_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}
