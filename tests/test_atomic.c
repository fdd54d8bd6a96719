/* The atomic writer (src/io/atomic.c) through the public API: a save never
 * touches the process's umask (another thread's files keep their mode), a
 * replaced file keeps its permissions, a symbolic link's target is replaced,
 * a name of 250 bytes can be saved, a device is written through, a directory
 * is refused, and bp_remove_temp_files removes the temporaries in flight. */
#define _DEFAULT_SOURCE /* syscall() */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "testutil.h"

/* Every umask() call of the process lands here (the test binary's symbol
 * wins over libc's), so a save that changes the umask is caught for sure,
 * not only when another thread happens to create a file at that moment. */
static volatile int umask_calls;
mode_t umask(mode_t mask)
{
    umask_calls++;
    return (mode_t)syscall(SYS_umask, mask);
}

static char dir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bp_atomic_%ld", (long)getpid());
    return mkdir(dir, 0755);
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static bp_net *tiny_net(void)
{
    char path[256];
    static const char text[] = "backprop-net 1\ninputs 2\nlayer 1 sigmoid nobias\nweights\n"
                               "0.5 0.25\n";
    write_temp_file(path, sizeof path, ".net", text, sizeof text - 1);
    bp_net *net = NULL;
    assert_ok(bp_net_load_any(&net, path));
    unlink(path);
    return net;
}

static int count_temporaries(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static mode_t mode_of(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_mode & 07777;
}

/* ---- umask ------------------------------------------------------------------ */

static void test_save_leaves_umask_alone(void **state)
{
    (void)state;
    bp_net *net = tiny_net();
    char path[128];
    snprintf(path, sizeof path, "%s/u.bpm", dir);
    mode_t old = umask(027);
    umask_calls = 0;
    assert_ok(bp_net_save(net, path));
    assert_ok(bp_net_save(net, path)); /* replacing, too */
    assert_int_equal(umask_calls, 0);
    assert_int_equal(umask(027), 027);
    umask(old);
    bp_net_free(net);
}

typedef struct {
    volatile int stop;
    int bad, made;
} creator_state;

/* Creates files with mode 0666 and checks that the umask (022) applied. */
static void *creator(void *arg)
{
    creator_state *c = arg;
    char path[128];
    snprintf(path, sizeof path, "%s/other", dir);
    while (!c->stop) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0)
            continue;
        struct stat sb;
        if (fstat(fd, &sb) == 0 && (sb.st_mode & 0777) != 0644)
            c->bad++;
        c->made++;
        close(fd);
        unlink(path);
    }
    return NULL;
}

static void test_other_threads_files_keep_their_mode(void **state)
{
    (void)state;
    bp_net *net = tiny_net();
    char path[128];
    snprintf(path, sizeof path, "%s/t.bpm", dir);
    mode_t old = umask(022);
    creator_state c = {0, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, creator, &c), 0);
    for (int i = 0; i < 300; i++)
        assert_ok(bp_net_save(net, path));
    c.stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(c.bad, 0);
    assert_int_equal(mode_of(path), 0644);
    umask(old);
    bp_net_free(net);
}

/* ---- permissions, links, names --------------------------------------------- */

static void test_replacing_keeps_the_mode(void **state)
{
    (void)state;
    bp_net *net = tiny_net();
    char path[128];
    snprintf(path, sizeof path, "%s/m.bpm", dir);
    mode_t old = umask(077);
    assert_ok(bp_net_save(net, path));
    assert_int_equal(mode_of(path), 0600); /* new: 0666 less the umask */
    assert_int_equal(chmod(path, 0640), 0);
    assert_ok(bp_net_save(net, path));
    assert_int_equal(mode_of(path), 0640); /* replaced: the old file's mode */
    umask(old);
    bp_net_free(net);
}

static void test_symlink_target_replaced(void **state)
{
    (void)state;
    bp_net *net = tiny_net();
    char target[128], link[128];
    snprintf(target, sizeof target, "%s/target.bpm", dir);
    snprintf(link, sizeof link, "%s/link.bpm", dir);
    assert_ok(bp_net_save(net, target));
    assert_int_equal(symlink("target.bpm", link), 0);
    assert_ok(bp_net_save(net, link));
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(count_temporaries(), 0);
    bp_net_free(net);
}

static void test_long_name(void **state)
{
    (void)state;
    bp_net *net = tiny_net();
    char path[512];
    int n = snprintf(path, sizeof path, "%s/", dir);
    memset(path + n, 'x', 246);
    strcpy(path + n + 246, ".bpm"); /* 250 bytes: the temporary's name is shortened */
    assert_ok(bp_net_save(net, path));
    bp_net *back = NULL;
    assert_ok(bp_net_load(&back, path));
    bp_net_free(back);
    assert_int_equal(count_temporaries(), 0);
    unlink(path);
    bp_net_free(net);
}

static void test_directory_refused(void **state)
{
    (void)state;
    bp_net *net = tiny_net();
    assert_int_equal(bp_net_save(net, dir), BP_ERR_IO);
    assert_errmsg_contains("is a directory");
    bp_net_free(net);
}

/* A character device (a copy of /dev/null or /dev/full where mknod is
 * allowed, else /dev/null itself, which only root could replace) is written
 * through and stays a device; /dev/full's error is reported. */
static void test_device_written_through(void **state)
{
    (void)state;
    bp_net *net = tiny_net();
    char null_path[128], full_path[128];
    snprintf(null_path, sizeof null_path, "%s/null", dir);
    snprintf(full_path, sizeof full_path, "%s/full", dir);
    if (mknod(null_path, S_IFCHR | 0666, makedev(1, 3)) != 0 ||
        mknod(full_path, S_IFCHR | 0666, makedev(1, 7)) != 0) {
        if (getuid() == 0)
            skip();
        snprintf(null_path, sizeof null_path, "/dev/null");
        snprintf(full_path, sizeof full_path, "/dev/full");
    }
    struct stat sb;
    assert_ok(bp_net_save(net, null_path));
    assert_int_equal(stat(null_path, &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    assert_int_equal(bp_net_save(net, full_path), BP_ERR_IO);
    assert_errmsg_contains("No space left on device");
    assert_int_equal(stat(full_path, &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    assert_int_equal(count_temporaries(), 0);
    bp_net_free(net);
}

/* ---- the public writer and the signal-time cleanup ------------------------- */

static void test_output_and_remove_temp_files(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    bp_output *out = NULL;
    assert_ok(bp_output_open(&out, path));
    fputs("a,b\n1,2\n", bp_output_file(out));
    assert_int_equal(count_temporaries(), 1);
    assert_ok(bp_output_commit(out));
    assert_int_equal(count_temporaries(), 0);
    assert_int_equal(access(path, R_OK), 0);

    /* What a signal handler does before _exit: the temporary goes. */
    assert_ok(bp_output_open(&out, path));
    fputs("c\n", bp_output_file(out));
    assert_int_equal(count_temporaries(), 1);
    bp_remove_temp_files();
    assert_int_equal(count_temporaries(), 0);
    assert_int_equal(bp_output_commit(out), BP_ERR_IO);
    assert_errmsg_contains("previous file left unchanged");
    FILE *fp = fopen(path, "r");
    char line[16] = "";
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    fclose(fp);
    assert_string_equal(line, "a,b\n");

    out = (bp_output *)1;
    assert_int_equal(bp_output_open(&out, ""), BP_ERR_ARG);
    assert_null(out);
    bp_output_abort(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_leaves_umask_alone),
        cmocka_unit_test(test_other_threads_files_keep_their_mode),
        cmocka_unit_test(test_replacing_keeps_the_mode),
        cmocka_unit_test(test_symlink_target_replaced),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_directory_refused),
        cmocka_unit_test(test_device_written_through),
        cmocka_unit_test(test_output_and_remove_temp_files),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
