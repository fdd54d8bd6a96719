/* Shared includes and helpers for the cmocka tests. */
#ifndef BP_TESTUTIL_H
#define BP_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backprop.h"

/* Fails the test with the library's message when a call does not return BP_OK. */
#define assert_ok(expr)                                                                   \
    do {                                                                                  \
        bp_status st_ = (expr);                                                           \
        if (st_ != BP_OK)                                                                 \
            fail_msg("%s -> %s: %s", #expr, bp_status_string(st_), bp_errmsg());          \
    } while (0)

#define assert_close(a, b, tol)                                                           \
    do {                                                                                  \
        double a_ = (a), b_ = (b);                                                        \
        if (!(fabs(a_ - b_) <= (tol)))                                                    \
            fail_msg("%s = %.9g, expected %.9g (tol %g)", #a, a_, b_, (double)(tol));     \
    } while (0)

/* Asserts the message of the last failure contains `needle`. */
#define assert_errmsg_contains(needle)                                                    \
    do {                                                                                  \
        if (!strstr(bp_errmsg(), (needle)))                                               \
            fail_msg("error message \"%s\" lacks \"%s\"", bp_errmsg(), (needle));         \
    } while (0)

/* Writes `text` to a fresh temporary file and returns its path (static buffer per call site is
 * not enough for two files, so the caller passes one). */
static inline const char *write_temp_file(char *path_buf, size_t cap, const char *suffix,
                                          const char *text, size_t len)
{
    static unsigned counter;
    snprintf(path_buf, cap, "/tmp/bp_test_%ld_%u%s", (long)getpid(), counter++, suffix);
    FILE *fp = fopen(path_buf, "wb");
    if (!fp)
        fail_msg("cannot create %s", path_buf);
    if (len && fwrite(text, 1, len, fp) != len)
        fail_msg("cannot write %s", path_buf);
    fclose(fp);
    return path_buf;
}

#endif
