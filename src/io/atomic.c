/*
 * Atomic file replacement: write to a temporary beside the target, fsync,
 * rename.  rename() within one directory is atomic on POSIX file systems, so
 * readers see either the old file or the complete new one.
 *
 * Only regular files are replaced that way.  A character device, FIFO or
 * socket named as the output (/dev/null, /dev/stdout, a pipe) is written
 * through, never renamed over; a directory is refused; a symbolic link is
 * followed and its target replaced (the link stays).
 *
 * The temporaries of saves in progress are listed in a fixed table that a
 * signal handler may walk (bp_remove_temp_files), so a program killed by a
 * signal can leave no temporary behind.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io_internal.h"

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* ---- the table of temporaries in flight ----------------------------------- */

#define TMP_SLOTS 32
#define TMP_PATH_CAP 4352 /* PATH_MAX plus the suffix; longer names are not listed */

static char tmp_slot_path[TMP_SLOTS][TMP_PATH_CAP];
static volatile sig_atomic_t tmp_slot_used[TMP_SLOTS];
static pthread_mutex_t tmp_slot_lock = PTHREAD_MUTEX_INITIALIZER;

static int tmp_register(const char *tmp)
{
    size_t n = strlen(tmp);
    if (n >= TMP_PATH_CAP)
        return -1;
    int slot = -1;
    pthread_mutex_lock(&tmp_slot_lock);
    for (int i = 0; i < TMP_SLOTS && slot < 0; i++)
        if (!tmp_slot_used[i]) {
            memcpy(tmp_slot_path[i], tmp, n + 1);
            /* The handler must see the whole path before the flag. */
            atomic_signal_fence(memory_order_seq_cst);
            tmp_slot_used[i] = 1;
            slot = i;
        }
    pthread_mutex_unlock(&tmp_slot_lock);
    return slot;
}

static void tmp_unregister(int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&tmp_slot_lock);
    tmp_slot_used[slot] = 0;
    atomic_signal_fence(memory_order_seq_cst);
    pthread_mutex_unlock(&tmp_slot_lock);
}

/* Async-signal-safe: only reads the table and calls unlink(). */
void bp_remove_temp_files(void)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (tmp_slot_used[i]) {
            atomic_signal_fence(memory_order_seq_cst);
            unlink(tmp_slot_path[i]);
        }
}

/* ---- creating the temporary ------------------------------------------------ */

/* "DIR/NAME.tmp.XXXXXX" beside `target`, created with O_EXCL and mode 0666
 * so that open() applies the umask (never changing the process's umask, which
 * other threads may rely on).  NAME is shortened when the suffix would make
 * the name longer than NAME_MAX, so any name that fits can be replaced. */
static int create_temp(const char *target, char **tmp_out)
{
    static atomic_uint counter;
    static const char digits[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const char *slash = strrchr(target, '/');
    size_t dir_len = slash ? (size_t)(slash - target) + 1 : 0;
    size_t base_len = strlen(target) - dir_len;
    if (base_len > NAME_MAX - 11)
        base_len = NAME_MAX - 11;
    char *tmp = malloc(dir_len + base_len + 12);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, target, dir_len + base_len);
    memcpy(tmp + dir_len + base_len, ".tmp.", 5);
    char *x = tmp + dir_len + base_len + 5;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t r = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15u ^ (uint64_t)getpid() << 32 ^
                 (uint64_t)ts.tv_sec;
    for (int attempt = 0; attempt < 100; attempt++) {
        r ^= (uint64_t)atomic_fetch_add(&counter, 1) * 0xBF58476D1CE4E5B9u;
        r = (r ^ (r >> 31)) * 0x94D049BB133111EBu;
        uint64_t v = r;
        for (int i = 0; i < 6; i++, v /= 62)
            x[i] = digits[v % 62];
        x[6] = '\0';
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, 0666);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(tmp);
    errno = e;
    return -1;
}

/* ---- begin, commit, abort ----------------------------------------------- */

static bp_status begin_fail(bp_atomic_file *f, const char *path, const char *why, int e)
{
    bp_status st = bp_error(BP_ERR_IO, "%s: cannot write: %s", path, why ? why : strerror(e));
    bp_atomic_abort(f);
    return st;
}

/* /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: a stream this process
 * already has open.  When it leads to a regular file (`> out.txt`), renaming
 * a new file over that name would leave the open stream writing to the
 * unlinked old file: write into the stream's file instead. */
static int names_open_stream(const char *path)
{
    return !strcmp(path, "/dev/stdout") || !strcmp(path, "/dev/stderr") ||
           !strncmp(path, "/dev/fd/", 8) || !strncmp(path, "/proc/self/fd/", 14);
}

static bp_status write_through(bp_atomic_file *f, const char *path, int flags)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | flags);
    if (fd < 0 || !(f->fp = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return begin_fail(f, path, NULL, e);
    }
    f->through = 1;
    return BP_OK;
}

bp_status bp_atomic_begin(bp_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->slot = -1;
    if (!path || !*path)
        return bp_error(BP_ERR_ARG, "output path is empty");
    size_t n = strlen(path);
    if (!(f->path = malloc(n + 1)))
        return begin_fail(f, path, NULL, ENOMEM);
    memcpy(f->path, path, n + 1);
    struct stat sb;
    int have_mode = 0;
    if (names_open_stream(path))
        return write_through(f, path, O_APPEND); /* after what the stream holds */
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        /* Replace the file the link points to, not the link. */
        if (!(f->target = realpath(path, NULL)))
            return begin_fail(f, path, errno == ENOENT ? "symbolic link to a missing file" : NULL,
                              errno);
    }
    const char *target = f->target ? f->target : path;
    if (stat(target, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return begin_fail(f, path, "it is a directory", 0);
        if (!S_ISREG(sb.st_mode)) {
            /* A device or FIFO: write through it; renaming would replace it. */
            return write_through(f, target, 0);
        }
        have_mode = 1;
    } else if (errno != ENOENT) {
        return begin_fail(f, path, NULL, errno);
    }
    int fd = create_temp(target, &f->tmp_path);
    if (fd < 0)
        return begin_fail(f, path, NULL, errno);
    f->slot = tmp_register(f->tmp_path);
    /* Replacing a file keeps its permissions (a new one gets 0666 less the
     * umask, as open() made it). */
    if (have_mode)
        (void)fchmod(fd, sb.st_mode & 0777); /* not set-id bits */
    if (!(f->fp = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        return begin_fail(f, path, NULL, e);
    }
    return BP_OK;
}

/* Forgets the temporary file (committed or removed by now) and frees the
 * names, leaving f as bp_atomic_begin found it. */
static void release(bp_atomic_file *f)
{
    tmp_unregister(f->slot);
    free(f->tmp_path);
    free(f->target);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->slot = -1;
}

bp_status bp_atomic_commit(bp_atomic_file *f)
{
    int e = 0;
    errno = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp))
        e = errno ? errno : EIO;
    else if (!f->through && fsync(fileno(f->fp)) != 0)
        e = errno;
    if (fclose(f->fp) != 0 && !e)
        e = errno ? errno : EIO;
    f->fp = NULL;
    if (!e && !f->through && rename(f->tmp_path, f->target ? f->target : f->path) != 0)
        e = errno;
    if (e) {
        bp_status st = bp_error(BP_ERR_IO, "%s: write failed: %s%s", f->path, strerror(e),
                                f->through ? "" : " (previous file left unchanged)");
        bp_atomic_abort(f);
        return st;
    }
    release(f);
    return BP_OK;
}

void bp_atomic_abort(bp_atomic_file *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    release(f);
}

/* ---- the public writer ----------------------------------------------------- */

struct bp_output {
    bp_atomic_file f;
};

bp_status bp_output_open(bp_output **out, const char *path)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_output_open: NULL argument");
    *out = NULL;
    bp_output *o = malloc(sizeof *o);
    if (!o)
        return bp_error(BP_ERR_NOMEM, "out of memory");
    bp_status st = bp_atomic_begin(&o->f, path);
    if (st != BP_OK) {
        free(o);
        return st;
    }
    *out = o;
    return BP_OK;
}

FILE *bp_output_file(bp_output *out) { return out ? out->f.fp : NULL; }

bp_status bp_output_commit(bp_output *out)
{
    if (!out)
        return bp_error(BP_ERR_ARG, "bp_output_commit: NULL argument");
    bp_status st = bp_atomic_commit(&out->f);
    free(out);
    return st;
}

void bp_output_abort(bp_output *out)
{
    if (!out)
        return;
    bp_atomic_abort(&out->f);
    free(out);
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
