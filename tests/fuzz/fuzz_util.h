/* Shared helpers for the libFuzzer targets: the readers take paths, so each
 * input is written to a per-process file on tmpfs (/dev/shm) first. */
#ifndef BP_FUZZ_UTIL_H
#define BP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backprop.h"

/* Writes data to /dev/shm/bp_fuzz_<tag>_<pid><suffix> and returns the path
 * (static buffer per tag index); aborts if it cannot, which is a harness bug. */
static inline const char *fuzz_write_temp(int slot, const char *tag, const char *suffix,
                                   const uint8_t *data, size_t size)
{
    static char paths[4][256];
    char *path = paths[slot & 3];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof paths[0], "%s/bp_fuzz_%s_%ld_%d%s", dir, tag, (long)getpid(), slot,
             suffix);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        abort();
    if (size && fwrite(data, 1, size, fp) != size)
        abort();
    if (fclose(fp) != 0)
        abort();
    return path;
}

/* Every failure must come with a message. */
static inline void fuzz_check_failure(bp_status st)
{
    if (st != BP_OK && bp_errmsg()[0] == '\0')
        abort();
}

#endif
