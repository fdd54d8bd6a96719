/*
 * peak — the machine's fp32 FMA peak, the yardstick for the "% of peak" columns of
 * bench/results.md (bench/run.sh builds and runs it in every round).
 *
 *   peak [THREADS...]      default: 1 and every online core
 *
 * Uses the widest FMA the CPU has, chosen at run time from cpuid: 512-bit (16 floats) where
 * AVX-512F is there, else 256-bit (8 floats, AVX + FMA3).  Each function is compiled for its
 * own ISA with a target attribute, so the file builds with plain -O2 and runs on any x86-64.
 * Each thread keeps ACC independent accumulators in registers: an FMA's latency (4–5 cycles)
 * times the FMA ports (2) is 8–10 in flight, so 12 chains keep every port busy.  Nothing is
 * loaded or stored inside the loop, so this is the arithmetic ceiling, not a GEMM.
 * Each thread count is measured PEAK_RUNS times (default 7); the median is the figure, the
 * min and max show the noise (a shared machine only ever makes the numbers lower).
 * PEAK_ISA=avx2 measures the 256-bit path on an AVX-512 machine.
 *
 * Prints, per thread count:
 *   peak isa=avx512 width=16 threads=2 gflops=… min=… max=… runs=7 per_core=…
 * or, where there is no FMA:  peak isa=none reason=…
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PEAK_X86 1
#endif

enum { ACC = 12, MAX_THREADS = 1024 }; /* ACC: the accumulators of PEAK_12 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A kernel runs `iters` rounds of ACC independent FMAs and returns a value that depends on
   all of them, so the compiler cannot drop any.  acc = acc·a + b with a just below 1 stays
   near b/(1−a): no overflow, no denormals, whatever the iteration count. */
typedef float (*kernel_fn)(long iters);

#ifdef PEAK_X86
/* Twelve named accumulators (an array indexed in a loop would live in memory at -O2). */
#define PEAK_12(OP)                                                                          \
    OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)

#define DECL256(k) __m256 c##k = _mm256_set1_ps((float)k);
#define STEP256(k) c##k = _mm256_fmadd_ps(c##k, a, b);
#define SUM256(k) s = _mm256_add_ps(s, c##k);
__attribute__((target("avx,fma"))) static float fma256(long iters)
{
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
    PEAK_12(DECL256)
    for (long i = 0; i < iters; ++i) {
        PEAK_12(STEP256)
    }
    __m256 s = _mm256_setzero_ps();
    PEAK_12(SUM256)
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

#define DECL512(k) __m512 c##k = _mm512_set1_ps((float)k);
#define STEP512(k) c##k = _mm512_fmadd_ps(c##k, a, b);
#define SUM512(k) s = _mm512_add_ps(s, c##k);
__attribute__((target("avx512f"))) static float fma512(long iters)
{
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
    PEAK_12(DECL512)
    for (long i = 0; i < iters; ++i) {
        PEAK_12(STEP512)
    }
    __m512 s = _mm512_setzero_ps();
    PEAK_12(SUM512)
    return _mm512_reduce_add_ps(s);
}
#endif

/* The widest FMA this CPU runs (or the one PEAK_ISA asks for, if the CPU has it). */
static kernel_fn pick(const char **isa, int *width)
{
#ifdef PEAK_X86
    const char *want = getenv("PEAK_ISA");
    __builtin_cpu_init();
    int has512 = __builtin_cpu_supports("avx512f");
    int has256 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("fma");
    if (has512 && !(want && strcmp(want, "avx2") == 0)) {
        *isa = "avx512";
        *width = 16;
        return fma512;
    }
    if (has256) {
        *isa = "avx2";
        *width = 8;
        return fma256;
    }
    *isa = "none (this CPU has no FMA3)";
#else
    *isa = "none (peak.c measures x86 FMA only)";
#endif
    *width = 0;
    return NULL;
}

typedef struct {
    kernel_fn fn;
    long iters;
    int runs;
    pthread_barrier_t *bar;
    volatile float sink;
} job;

/* Every thread (the caller included) runs the kernel between two barriers, once per run. */
static void *worker(void *p)
{
    job *j = p;
    for (int r = 0; r < j->runs; ++r) {
        pthread_barrier_wait(j->bar);
        j->sink = j->fn(j->iters);
        pthread_barrier_wait(j->bar);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* GFLOP/s of `threads` threads, each of `runs` runs timed from the first barrier to the
   second (so the slowest thread sets the time); sorted into g[0..runs). */
static int measure(kernel_fn fn, int width, int threads, int runs, long iters, double *g)
{
    pthread_barrier_t bar;
    pthread_t tid[MAX_THREADS];
    job *jobs = calloc((size_t)threads, sizeof *jobs);
    if (!jobs || pthread_barrier_init(&bar, NULL, (unsigned)threads) != 0) {
        free(jobs);
        return -1;
    }
    int started = 1;
    for (int t = 0; t < threads; ++t)
        jobs[t] = (job){ .fn = fn, .iters = iters, .runs = runs, .bar = &bar };
    for (; started < threads; ++started)
        if (pthread_create(&tid[started], NULL, worker, &jobs[started]) != 0)
            break;
    if (started < threads) { /* a barrier for `threads` would never open: give up cleanly */
        fprintf(stderr, "peak: could not start %d threads\n", threads);
        exit(1);
    }
    for (int r = 0; r < runs; ++r) {
        pthread_barrier_wait(&bar);
        double t0 = now_s();
        jobs[0].sink = fn(iters);
        pthread_barrier_wait(&bar);
        g[r] = (double)threads * (double)iters * ACC * width * 2.0 / (now_s() - t0) / 1e9;
    }
    for (int t = 1; t < threads; ++t)
        pthread_join(tid[t], NULL);
    pthread_barrier_destroy(&bar);
    free(jobs);
    qsort(g, (size_t)runs, sizeof *g, cmp_double);
    return 0;
}

int main(int argc, char **argv)
{
    const char *isa;
    int width;
    kernel_fn fn = pick(&isa, &width);
    if (!fn) {
        printf("peak isa=none reason=\"%s\"\n", isa);
        return 0;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *re = getenv("PEAK_RUNS");
    int runs = re ? atoi(re) : 7;
    if (runs < 1 || runs > 1000)
        runs = 7;
    /* ≈ 0.1 s a run at 3 GHz with 2 FMAs a cycle: long enough to dwarf the barriers. */
    long iters = 25000000L * 8 / width;
    int counts[64], n = 0;
    for (int i = 1; i < argc && n < 64; ++i)
        counts[n++] = atoi(argv[i]);
    if (n == 0) {
        counts[n++] = 1;
        if (ncpu > 1)
            counts[n++] = (int)ncpu;
    }
    double *g = malloc((size_t)runs * sizeof *g);
    if (!g)
        return 1;
    for (int i = 0; i < n; ++i) {
        int t = counts[i];
        if (t < 1 || t > MAX_THREADS) {
            fprintf(stderr, "peak: thread count '%d' out of range 1..%d\n", t, MAX_THREADS);
            return 2;
        }
        if (measure(fn, width, t, runs, iters, g) != 0)
            return 1;
        double med = runs % 2 ? g[runs / 2] : (g[runs / 2 - 1] + g[runs / 2]) / 2;
        printf("peak isa=%s width=%d threads=%d gflops=%.1f min=%.1f max=%.1f runs=%d per_core=%.1f\n",
               isa, width, t, med, g[0], g[runs - 1], runs, med / t);
    }
    free(g);
    return 0;
}
