/*
 * Choice of the CPU path: AVX-512, else AVX2, as the CPU has them (cpuid, at first use),
 * or the one named by BACKPROP_ISA=avx512|avx2|portable, falling back to
 * what the CPU supports (never to an instruction set it lacks).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

static _Atomic(const bpk_impl *) current;

#if defined(__x86_64__)
static bpk_impl impl_avx512;
static pthread_once_t avx512_once = PTHREAD_ONCE_INIT;
static int cpu_has_avx512_bf16(void);
static void make_avx512(void)
{
    impl_avx512 = bpk_impl_avx2;
    bpk_avx512_gemm(&impl_avx512);
    /* The bf16 kernel is used only for --precision bf16, which is opt-in. */
    impl_avx512.kernel_bf16 = cpu_has_avx512_bf16() ? bpk_bf16_kernel_avx512 : NULL;
    impl_avx512.bf16_pack = cpu_has_avx512_bf16() ? bpk_bf16_pack_avx512 : NULL;
}
#endif

static int cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int cpu_has_avx512_bf16(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

static int cpu_has_avx2(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* The best path not above `want` that this CPU runs: 2 avx512, 1 avx2, 0 portable. */
static const bpk_impl *choose(int want)
{
#if defined(__x86_64__)
    if (want >= 2 && cpu_has_avx512()) {
        pthread_once(&avx512_once, make_avx512);
        return &impl_avx512;
    }
    if (want >= 1 && cpu_has_avx2())
        return &bpk_impl_avx2;
#else
    (void)want;
#endif
    return &bpk_impl_portable;
}

/* Without BACKPROP_ISA the best path the CPU runs is chosen, AVX-512
 * included: its GEMM kernel passed tests/test_kernels and the whole of
 * `make check` under BACKPROP_ISA=avx512 on an Intel Xeon (Sapphire Rapids,
 * AVX-512 F/VL/BW/DQ) and is the fastest path there (docs/performance.md). */
#define AUTOMATIC_LEVEL 2

static int level_of(const char *name)
{
    if (!name || !*name)
        return AUTOMATIC_LEVEL;
    if (!strcmp(name, "avx512"))
        return 2;
    if (!strcmp(name, "avx2"))
        return 1;
    if (!strcmp(name, "portable") || !strcmp(name, "generic") || !strcmp(name, "c"))
        return 0;
    return -1; /* unknown */
}

/* An unknown BACKPROP_ISA is the one thing the library prints (once per
 * process, on stderr): the variable is set by the user, not by the program
 * embedding the library, which has no other way to tell them it was
 * misspelt; silently ignoring it made benchmarks compare the same path.
 * The choice is then automatic.  Documented in backprop.h. */
static int level_of_env(const char *name)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    int lvl = level_of(name);
    if (lvl >= 0)
        return lvl;
    if (!atomic_flag_test_and_set(&warned)) {
        char shown[41];
        size_t i = 0;
        for (; name[i] && i < sizeof shown - 1; i++)
            shown[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
        shown[i] = '\0';
        fprintf(stderr, "backprop: warning: BACKPROP_ISA=%s is not avx512, avx2 or portable; "
                        "ignored (choosing the CPU's best path)\n", shown);
    }
    return AUTOMATIC_LEVEL;
}

const bpk_impl *bpk_impl_get(void)
{
    const bpk_impl *impl = atomic_load_explicit(&current, memory_order_acquire);
    if (!impl) {
        impl = choose(level_of_env(getenv("BACKPROP_ISA")));
        atomic_store_explicit(&current, impl, memory_order_release);
    }
    return impl;
}

const char *bpk_set_isa(const char *name)
{
    int lvl = name ? level_of(name) : level_of_env(getenv("BACKPROP_ISA"));
    const bpk_impl *impl = choose(lvl < 0 ? AUTOMATIC_LEVEL : lvl);
    atomic_store_explicit(&current, impl, memory_order_release);
    return impl->name;
}

int bpk_isa_supported(const char *name)
{
    int lvl = level_of(name);
    return lvl < 0 ? 0 : lvl == 2 ? cpu_has_avx512() : lvl == 1 ? cpu_has_avx2() : 1;
}

const char *bpk_isa(void) { return bpk_impl_get()->name; }

const char *bp_isa(void) { return bpk_isa(); }
