/* Helpers shared by the files of io/ (not installed). */
#ifndef BP_IO_INTERNAL_H
#define BP_IO_INTERNAL_H

#include <stdio.h>

#include "backprop.h"

/* A file written atomically: bytes go to a temporary file in the target's
 * directory, which is fsync'd and renamed over the target only when all went
 * well.  A crash or a failed write never leaves a half-written target and
 * never clobbers the previous one. */
typedef struct bp_atomic_file {
    FILE *fp;
    char *tmp_path;
    char *path;   /* as the caller named it (for messages) */
    char *target; /* the file a symbolic link points to, else NULL */
    int through;  /* a device or FIFO written in place: no temporary, no rename */
    int slot;     /* index in the table of temporaries in flight, or -1 */
} bp_atomic_file;

/* Regular files are replaced; a device or FIFO is written through; a
 * directory is refused; a symbolic link is followed (its target replaced). */
bp_status bp_atomic_begin(bp_atomic_file *f, const char *path);
/* Flush, fsync, close and rename; on any failure the temporary is removed. */
bp_status bp_atomic_commit(bp_atomic_file *f);
/* Drop the temporary (after an error while writing). */
void bp_atomic_abort(bp_atomic_file *f);

/* Reads a whole file into a NUL-terminated buffer (caller frees).  Refuses
 * files over max_bytes with a message naming the file. */
bp_status bp_read_file(const char *path, size_t max_bytes, char **data, size_t *len);

/* Binary model files (model.c, docs/model-format.md) with an optional opaque
 * trainer-state blob, for checkpoints.  bp_model_read sets *blob = NULL,
 * *blob_len = 0 when the file has none; blob may be NULL to ignore it.  The
 * caller frees *net and *blob. */
bp_status bp_model_write(const char *path, const bp_net *net, const unsigned char *blob,
                         size_t blob_len);
bp_status bp_model_read(const char *path, bp_net **net, unsigned char **blob, size_t *blob_len);

#endif
