/*
 * Finds and loads the CUDA backend (libbackprop_cuda.so, src/cuda/) at run
 * time, so that libbackprop itself links nothing of CUDA and runs where
 * there is no CUDA, no driver or no GPU: there, asking for the backend gives
 * NULL and a reason, never a crash (docs/gpu.md).
 *
 * The library stays loaded once loaded: the CUDA runtime and cuBLAS do not
 * support being unloaded while the process lives.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

typedef struct cuda_lib {
    bpk_cuda_open_fn open;
    bpk_cuda_close_fn close;
    bpk_cuda_error_fn error;
} cuda_lib;

static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static cuda_lib lib;

const char *bpk_cuda_status_text(bpk_cuda_status s)
{
    switch (s) {
    case BPK_CUDA_OK: return "ok";
    case BPK_CUDA_NOT_BUILT: return "the CUDA backend is not built (no " BPK_CUDA_LIBRARY ")";
    case BPK_CUDA_LOAD_FAILED: return "the CUDA backend library did not load";
    case BPK_CUDA_NO_DRIVER: return "no usable NVIDIA driver";
    case BPK_CUDA_NO_DEVICE: return "no CUDA GPU";
    case BPK_CUDA_FAILED: return "the GPU could not be set up";
    }
    return "?";
}

/* dir/libbackprop_cuda.so for the directory of `file` (nothing when file
 * has no directory part). */
static int beside(const char *file, char *out, size_t len)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    if (!slash)
        return 0;
    int n = snprintf(out, len, "%.*s/%s", (int)(slash - file), file, BPK_CUDA_LIBRARY);
    return n > 0 && (size_t)n < len;
}

/* Tries one path: 1 loaded, 0 not there, -1 there but would not load. */
static int try_open(const char *path, void **handle, char *detail, size_t len)
{
    if (access(path, F_OK) != 0)
        return 0;
    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (*handle)
        return 1;
    const char *e = dlerror();
    snprintf(detail, len, "%s", e ? e : path);
    return -1;
}

/* The library's path, in the order the header gives; returns the handle or
 * NULL with *why NOT_BUILT (nothing found) or LOAD_FAILED. */
static void *find_library(bpk_cuda_status *why, char *detail, size_t len)
{
    char path[PATH_MAX], exe[PATH_MAX];
    void *h = NULL;
    const char *env = getenv("BACKPROP_CUDA_LIB");
    *why = BPK_CUDA_LOAD_FAILED;
    if (env && *env) {
        int r = try_open(env, &h, detail, len);
        if (r == 0) {
            *why = BPK_CUDA_NOT_BUILT;
            snprintf(detail, len, "BACKPROP_CUDA_LIB=%s: no such file", env);
        }
        return h;
    }
    Dl_info info;
    /* This module's file: the address of its own data (ISO C allows no
     * function pointer as void *). */
    if (dladdr((const void *)&lib_lock, &info) && beside(info.dli_fname, path, sizeof path)) {
        int r = try_open(path, &h, detail, len);
        if (r != 0)
            return h;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        if (beside(exe, path, sizeof path)) {
            int r = try_open(path, &h, detail, len);
            if (r != 0)
                return h;
        }
    }
    if ((h = dlopen(BPK_CUDA_LIBRARY, RTLD_NOW | RTLD_LOCAL)))
        return h;
    *why = BPK_CUDA_NOT_BUILT;
    snprintf(detail, len, "%s not found next to libbackprop or the program", BPK_CUDA_LIBRARY);
    return NULL;
}

/* Loads the library once; 0 with *why set when it cannot be had. */
static int load(bpk_cuda_status *why, char *detail, size_t len)
{
    pthread_mutex_lock(&lib_lock);
    int ok = lib.open != NULL;
    if (!ok) {
        void *h = find_library(why, detail, len);
        if (h) {
            /* Function pointers from dlsym: POSIX guarantees the conversion. */
            *(void **)&lib.open = dlsym(h, "bpk_cuda_backend_open");
            *(void **)&lib.close = dlsym(h, "bpk_cuda_backend_close");
            *(void **)&lib.error = dlsym(h, "bpk_cuda_backend_last_error");
            ok = lib.open && lib.close && lib.error;
            if (!ok) {
                lib.open = NULL;
                *why = BPK_CUDA_LOAD_FAILED;
                snprintf(detail, len, "%s lacks the bpk_cuda_backend_* entry points",
                         BPK_CUDA_LIBRARY);
                dlclose(h);
            }
        }
    }
    pthread_mutex_unlock(&lib_lock);
    return ok;
}

bpk_backend *bpk_cuda_backend_create(int device, bpk_cuda_status *why, char *detail, size_t len)
{
    bpk_cuda_status dummy;
    char none[1];
    if (!why)
        why = &dummy;
    if (!detail || len == 0) {
        detail = none;
        len = sizeof none;
    }
    detail[0] = 0;
    if (!load(why, detail, len))
        return NULL;
    int w = BPK_CUDA_FAILED;
    bpk_backend *be = lib.open(device, &w, detail, len);
    *why = be ? BPK_CUDA_OK : (bpk_cuda_status)w;
    return be;
}

void bpk_cuda_backend_free(bpk_backend *be)
{
    if (be && lib.close)
        lib.close(be);
}

const char *bpk_cuda_backend_error(bpk_backend *be)
{
    if (!be || !lib.error || !be->name || strcmp(be->name, "cuda") != 0)
        return NULL;
    return lib.error(be);
}
