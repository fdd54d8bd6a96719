/*
 * The CUDA backend's loader (kernels/cuda_loader.c) on any machine: where the
 * backend cannot be had it says why (not built / did not load / no driver /
 * no device) and returns NULL, never crashes.  The GPU path itself is
 * tests/gpu/test_cuda_ops.c's.
 */
#include "testutil.h"

#include "kernels/backend.h"

/* BACKPROP_CUDA_LIB naming a missing file: "not built", with the path. */
static void missing_library_is_not_built(void **state)
{
    (void)state;
    setenv("BACKPROP_CUDA_LIB", "/nonexistent/libbackprop_cuda.so", 1);
    char detail[256];
    bpk_cuda_status why = BPK_CUDA_OK;
    assert_null(bpk_cuda_backend_create(0, &why, detail, sizeof detail));
    assert_int_equal(why, BPK_CUDA_NOT_BUILT);
    assert_non_null(strstr(detail, "/nonexistent/libbackprop_cuda.so"));
    assert_non_null(strstr(bpk_cuda_status_text(why), "not built"));
}

/* A file that is not a library: "did not load", with the loader's words. */
static void broken_library_does_not_load(void **state)
{
    (void)state;
    char path[] = "/tmp/bp_cuda_loader_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
    close(fd);
    setenv("BACKPROP_CUDA_LIB", path, 1);
    char detail[256];
    bpk_cuda_status why = BPK_CUDA_OK;
    assert_null(bpk_cuda_backend_create(0, &why, detail, sizeof detail));
    assert_int_equal(why, BPK_CUDA_LOAD_FAILED);
    assert_true(detail[0] != 0);
    unlink(path);
}

/* NULL why and detail are allowed; the error query is NULL for a CPU backend. */
static void null_arguments_and_cpu_backend(void **state)
{
    (void)state;
    setenv("BACKPROP_CUDA_LIB", "/nonexistent/libbackprop_cuda.so", 1);
    assert_null(bpk_cuda_backend_create(0, NULL, NULL, 0));
    bpk_backend *cpu = bpk_cpu_backend_create(1, NULL);
    assert_non_null(cpu);
    assert_null(bpk_cuda_backend_error(cpu));
    bpk_cuda_backend_free(NULL);
    bpk_backend_free(cpu);
    for (int s = BPK_CUDA_OK; s <= BPK_CUDA_FAILED; s++)
        assert_string_not_equal(bpk_cuda_status_text((bpk_cuda_status)s), "?");
}

/* The library built here (when nvcc was found), on this machine: a backend,
 * or one of the reasons, never a crash.  Skipped when it is not built. */
static void built_library_loads_or_says_why(void **state)
{
    (void)state;
    const char *lib = getenv("BP_TEST_CUDA_LIB");
    if (!lib || access(lib, F_OK) != 0)
        skip();
    setenv("BACKPROP_CUDA_LIB", lib, 1);
    char detail[256];
    bpk_cuda_status why = BPK_CUDA_FAILED;
    bpk_backend *be = bpk_cuda_backend_create(0, &why, detail, sizeof detail);
    if (be) {
        assert_int_equal(why, BPK_CUDA_OK);
        assert_string_equal(be->name, "cuda");
        assert_null(bpk_cuda_backend_error(be));
        bpk_cuda_backend_free(be);
    } else {
        assert_true(why == BPK_CUDA_NO_DRIVER || why == BPK_CUDA_NO_DEVICE);
        assert_true(detail[0] != 0);
    }
}

int main(void)
{
    /* Kept for the last test: the first ones overwrite the variable. */
    const char *lib = getenv("BACKPROP_CUDA_LIB");
    if (lib)
        setenv("BP_TEST_CUDA_LIB", lib, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_library_is_not_built),
        cmocka_unit_test(broken_library_does_not_load),
        cmocka_unit_test(null_arguments_and_cpu_backend),
        cmocka_unit_test(built_library_loads_or_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
