/*
 * Atomic file replacement: write to a temporary beside the target, fsync,
 * rename.  rename() within one directory is atomic on POSIX file systems, so
 * readers see either the old file or the complete new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_internal.h"

bp_status bp_atomic_begin(bp_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return bp_error(BP_ERR_ARG, "output path is empty");
    size_t n = strlen(path);
    f->path = malloc(n + 1);
    f->tmp_path = malloc(n + 16);
    if (!f->path || !f->tmp_path) {
        bp_atomic_abort(f);
        return bp_error(BP_ERR_NOMEM, "out of memory");
    }
    memcpy(f->path, path, n + 1);
    snprintf(f->tmp_path, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(f->tmp_path);
    if (fd < 0) {
        int e = errno;
        free(f->tmp_path);
        f->tmp_path = NULL;
        bp_atomic_abort(f);
        return bp_error(BP_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    /* mkstemp makes the file 0600; a model file is no secret, so use the
     * permissions a plain fopen would give (0666 less the umask). */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        bp_atomic_abort(f);
        return bp_error(BP_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return BP_OK;
}

bp_status bp_atomic_commit(bp_atomic_file *f)
{
    int e = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp))
        e = errno ? errno : EIO;
    else if (fsync(fileno(f->fp)) != 0)
        e = errno;
    if (fclose(f->fp) != 0 && !e)
        e = errno ? errno : EIO;
    f->fp = NULL;
    if (!e && rename(f->tmp_path, f->path) != 0)
        e = errno;
    if (e) {
        bp_status st = bp_error(BP_ERR_IO, "%s: write failed: %s (previous file left unchanged)",
                                f->path, strerror(e));
        bp_atomic_abort(f);
        return st;
    }
    free(f->tmp_path);
    free(f->path);
    f->tmp_path = f->path = NULL;
    return BP_OK;
}

void bp_atomic_abort(bp_atomic_file *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    memset(f, 0, sizeof *f);
}

bp_status bp_read_file(const char *path, size_t max_bytes, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return bp_error(BP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* A regular file's size is known: refuse a too-big one before reading it. */
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > max_bytes) {
        fclose(fp);
        return bp_error(BP_ERR_FORMAT, "%s: file is larger than the limit of %zu bytes", path,
                        max_bytes);
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
        if (n > max_bytes) {
            free(buf);
            fclose(fp);
            return bp_error(BP_ERR_FORMAT, "%s: file is larger than the limit of %zu bytes", path,
                            max_bytes);
        }
        if (cap - n - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (!buf) {
        fclose(fp);
        return bp_error(BP_ERR_NOMEM, "%s: out of memory reading the file", path);
    }
    if (ferror(fp)) {
        int e = errno;
        free(buf);
        fclose(fp);
        return bp_error(BP_ERR_IO, "%s: read error: %s", path, strerror(e));
    }
    fclose(fp);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return BP_OK;
}
