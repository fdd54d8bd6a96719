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

#endif /* BP_TESTS_GEMM_CASE_H */
