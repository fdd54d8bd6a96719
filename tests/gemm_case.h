/*
 * gemm_case.h — random GEMM cases for the kernel tests (test_kernels.c,
 * test_bf16.c): operands uniform in [−1, 1), leading dimensions padded by
 * `pad` so that writes outside C show.
 */
#ifndef BP_TESTS_GEMM_CASE_H
#define BP_TESTS_GEMM_CASE_H

#include "testutil.h"

static uint64_t rng_state = 88172645463325252ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *rand_buf(size_t n)
{
    float *p = malloc(n * sizeof *p + 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

typedef struct gemm_case {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    float *A, *B, *C0;
} gemm_case;

static void case_init(gemm_case *g, int ta, int tb, int M, int N, int K, int pad, float alpha,
                      float beta)
{
    g->ta = ta, g->tb = tb, g->M = M, g->N = N, g->K = K, g->alpha = alpha, g->beta = beta;
    g->lda = (ta ? M : K) + pad;
    g->ldb = (tb ? K : N) + pad;
    g->ldc = N + pad;
    g->A = rand_buf((size_t)(ta ? K : M) * g->lda);
    g->B = rand_buf((size_t)(tb ? N : K) * g->ldb);
    g->C0 = rand_buf((size_t)M * g->ldc);
}
static void case_free(gemm_case *g)
{
    free(g->A);
    free(g->B);
    free(g->C0);
}

/* A fresh C for the case: a copy of C0, or NaN everywhere when beta == 0 (C
 * must then not be read). */
static float *case_new_c(const gemm_case *g)
{
    size_t n = (size_t)g->M * g->ldc;
    float *C = malloc(n * sizeof *C);
    assert_non_null(C);
    for (size_t i = 0; i < n; i++)
        C[i] = g->beta == 0.0f ? NAN : g->C0[i];
    return C;
}

/* C against alpha·op(A)·op(B) + beta·C0 in double, each operand element
 * passed through `operand` first (NULL: as it is; the bf16 tests round it),
 * within float32 summation error; the padding between rows never written.
 * `what` names the path in a failure. */
static void case_check_with(const gemm_case *g, const float *C, float (*operand)(float),
                            const char *what)
{
    for (int i = 0; i < g->M; i++)
        for (int j = 0; j < g->N; j++) {
            double acc = 0, mag = 0;
            for (int k = 0; k < g->K; k++) {
                float x = g->ta ? g->A[(size_t)k * g->lda + i] : g->A[(size_t)i * g->lda + k];
                float y = g->tb ? g->B[(size_t)j * g->ldb + k] : g->B[(size_t)k * g->ldb + j];
                double p = operand ? (double)operand(x) * operand(y) : (double)x * y;
                acc += p;
                mag += fabs(p);
            }
            double c0 = g->C0[(size_t)i * g->ldc + j];
            double want = g->alpha * acc + (g->beta == 0.0f ? 0.0 : g->beta * c0);
            double tol = 2e-6 * (fabs(g->alpha) * mag + fabs(g->beta * c0)) + 1e-6;
            double got = C[(size_t)i * g->ldc + j];
            if (!(fabs(got - want) <= tol))
                fail_msg("%s sgemm ta=%d tb=%d %dx%dx%d alpha=%g beta=%g: C[%d][%d] = %.9g, "
                         "expected %.9g", what, g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->beta,
                         i, j, got, want);
        }
    for (int i = 0; i < g->M; i++)
        for (int j = g->N; j < g->ldc; j++) {
            float got = C[(size_t)i * g->ldc + j], was = g->C0[(size_t)i * g->ldc + j];
            if (g->beta == 0.0f ? !isnan(got) : memcmp(&got, &was, sizeof got) != 0)
                fail_msg("%s sgemm wrote outside C (row %d, column %d)", what, i, j);
        }
}

#endif /* BP_TESTS_GEMM_CASE_H */
