/* int8 inference kernels: the portable reference and the dispatch (int8.h). */
#include <math.h>
#include <string.h>

#include "int8.h"
#include "kernels.h"

/* The float clamp before the conversion makes NaN the low end (fmaxf
 * returns the number) and keeps lrintf in range; lrintf rounds half to even
 * in the default rounding mode, as cvtps2dq does. */
void bpk_quantize_s8_portable(const float *x, size_t n, float inv_scale, int zero, int8_t *q)
{
    const float lo = zero ? 0.0f : -127.0f, hi = zero ? 254.0f : 127.0f;
    for (size_t i = 0; i < n; i++) {
        float v = fminf(fmaxf(x[i] * inv_scale, lo), hi);
        q[i] = (int8_t)(lrintf(v) - zero);
    }
}

void bpk_gemm_s8_portable(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                          int ldb, int32_t *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        const int8_t *a = A + (size_t)i * (size_t)lda;
        for (int j = 0; j < N; j++) {
            const int8_t *b = B + (size_t)j * (size_t)ldb;
            int32_t sum = 0;
            for (int k = 0; k < K; k++)
                sum += (int32_t)a[k] * (int32_t)b[k];
            C[(size_t)i * (size_t)ldc + (size_t)j] = sum;
        }
    }
}

void bpk_dequantize_s32(const int32_t *C, int ldc, int M, int N, const int32_t *corr,
                        const float *col_scale, float *out, int ldo)
{
    for (int i = 0; i < M; i++) {
        const int32_t *c = C + (size_t)i * (size_t)ldc;
        float *o = out + (size_t)i * (size_t)ldo;
        for (int j = 0; j < N; j++)
            o[j] = (float)(c[j] + (corr ? corr[j] : 0)) * col_scale[j];
    }
}

/* AVX-512 machines run the AVX2 code: no AVX512-VNNI path has been written,
 * and none could be tested on the machines this was built on. */
static int use_avx2(void) { return strcmp(bpk_isa(), "portable") != 0; }

const char *bpk_int8_path(void) { return use_avx2() ? "avx2" : "portable"; }

void bpk_quantize_s8(const float *x, size_t n, float inv_scale, int zero, int8_t *q)
{
    if (use_avx2())
        bpk_quantize_s8_avx2(x, n, inv_scale, zero, q);
    else
        bpk_quantize_s8_portable(x, n, inv_scale, zero, q);
}

void bpk_gemm_s8(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                 int32_t *C, int ldc)
{
    if (use_avx2())
        bpk_gemm_s8_avx2(M, N, K, A, lda, B, ldb, C, ldc);
    else
        bpk_gemm_s8_portable(M, N, K, A, lda, B, ldb, C, ldc);
}
