/*
 * int8_vnni.h — the int8 GEMM on VPDPBUSD (AVX512-VNNI), written once over a
 * few vector operations and compiled twice, as bf16_kernel.h is:
 *   - int8_avx512.c with AVX512-VNNI intrinsics, the fast path;
 *   - int8.c over plain C arrays, so that the loops, the padding and the
 *     unsigned-offset correction below run and are checked against the
 *     portable reference on every machine (tests/test_int8.c).
 * Integer sums are exact, so every compilation gives the same integers.
 *
 * VPDPBUSD multiplies unsigned by signed bytes, four to an int32 lane.  A's
 * bytes (int8 in [−127, 127]) go in as a + 128 ∈ [1, 255] (a ^ 0x80), so
 *   Σ_k (a + 128)·b = Σ_k a·b + 128·Σ_k b,
 * and 128·Σ_k b[j] is taken off each column after.  The unsigned sum can pass
 * 2^31 only by at most a wrap, which the subtraction undoes: int32 arithmetic
 * is modular (done in uint32_t here), and the true result fits (int8.h).
 *
 * The includer defines, then includes this file:
 *   VNNI_GEMM      the function's name (bpk_gemm_s8's signature)
 *   VNNI_ATTR      attributes (a target, or nothing)
 *   ivec           16 int32 lanes;  ivec_zero()
 *   ivec_load(p)   64 bytes at p
 *   ivec_dpbusd(acc, u, s)  lane i: acc + Σ_{t<4} u.u8[4i+t] · s.s8[4i+t] (mod 2^32)
 *   ivec_hsum(v)   Σ of the 16 lanes (mod 2^32), as uint32_t
 */
#include <stdint.h>
#include <stdlib.h>

/* Bytes per step of k: one 64-byte vector of each operand. */
#define VNNI_STEP 64

/* rows × K int8 → rows × Kp bytes (Kp a multiple of 64), each byte XORed with
 * `flip` (0x80: the unsigned offset), zeros after K (they add nothing). */
static void vnni_prepare(const int8_t *X, int ld, int rows, int K, int Kp, unsigned flip,
                         uint8_t *out)
{
    for (int r = 0; r < rows; r++) {
        const int8_t *x = X + (size_t)r * (size_t)ld;
        uint8_t *o = out + (size_t)r * (size_t)Kp;
        for (int k = 0; k < K; k++)
            o[k] = (uint8_t)((uint8_t)x[k] ^ flip);
        for (int k = K; k < Kp; k++)
            o[k] = 0;
    }
}

/* Rows i..i+3 of a (unsigned) against rows j..j+2 of b: unsigned sums. */
VNNI_ATTR
static void vnni_block4x3(int Kp, const uint8_t *a, const uint8_t *b, uint32_t out[4][3])
{
    const size_t s = (size_t)Kp;
    ivec c00 = ivec_zero(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    ivec c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    for (int k = 0; k < Kp; k += VNNI_STEP) {
        ivec w0 = ivec_load(b + k), w1 = ivec_load(b + s + k), w2 = ivec_load(b + 2 * s + k), x;
        x = ivec_load(a + k);
        c00 = ivec_dpbusd(c00, x, w0), c01 = ivec_dpbusd(c01, x, w1), c02 = ivec_dpbusd(c02, x, w2);
        x = ivec_load(a + s + k);
        c10 = ivec_dpbusd(c10, x, w0), c11 = ivec_dpbusd(c11, x, w1), c12 = ivec_dpbusd(c12, x, w2);
        x = ivec_load(a + 2 * s + k);
        c20 = ivec_dpbusd(c20, x, w0), c21 = ivec_dpbusd(c21, x, w1), c22 = ivec_dpbusd(c22, x, w2);
        x = ivec_load(a + 3 * s + k);
        c30 = ivec_dpbusd(c30, x, w0), c31 = ivec_dpbusd(c31, x, w1), c32 = ivec_dpbusd(c32, x, w2);
    }
    out[0][0] = ivec_hsum(c00), out[0][1] = ivec_hsum(c01), out[0][2] = ivec_hsum(c02);
    out[1][0] = ivec_hsum(c10), out[1][1] = ivec_hsum(c11), out[1][2] = ivec_hsum(c12);
    out[2][0] = ivec_hsum(c20), out[2][1] = ivec_hsum(c21), out[2][2] = ivec_hsum(c22);
    out[3][0] = ivec_hsum(c30), out[3][1] = ivec_hsum(c31), out[3][2] = ivec_hsum(c32);
}

VNNI_ATTR
static uint32_t vnni_dot(int Kp, const uint8_t *a, const uint8_t *b)
{
    ivec c = ivec_zero();
    for (int k = 0; k < Kp; k += VNNI_STEP)
        c = ivec_dpbusd(c, ivec_load(a + k), ivec_load(b + k));
    return ivec_hsum(c);
}

/* C[i][j] = Σ_k A[i][k]·B[j][k] (int8.h's bpk_gemm_s8).  Returns 0, or −1
 * when its buffers cannot be allocated (the caller then takes another path). */
VNNI_ATTR
static int VNNI_GEMM(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                     int32_t *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return 0;
    size_t Kp = ((size_t)(K > 0 ? K : 1) + VNNI_STEP - 1) / VNNI_STEP * VNNI_STEP;
    uint8_t *a = aligned_alloc(64, (size_t)M * Kp), *b = aligned_alloc(64, (size_t)N * Kp);
    uint32_t *off = malloc((size_t)N * sizeof *off);
    if (!a || !b || !off) {
        free(a), free(b), free(off);
        return -1;
    }
    vnni_prepare(A, lda, M, K, (int)Kp, 0x80u, a);
    vnni_prepare(B, ldb, N, K, (int)Kp, 0u, b);
    for (int j = 0; j < N; j++) { /* 128 · Σ_k B[j][k], mod 2^32 */
        uint32_t sum = 0;
        for (int k = 0; k < K; k++)
            sum += (uint32_t)(int32_t)B[(size_t)j * (size_t)ldb + (size_t)k];
        off[j] = sum * 128u;
    }
#define VNNI_PUT(i, j, u) \
    C[(size_t)(i) * (size_t)ldc + (size_t)(j)] = (int32_t)((uint32_t)(u) - off[j])
    int j = 0;
    for (; j + 3 <= N; j += 3) {
        const uint8_t *bj = b + (size_t)j * Kp;
        int i = 0;
        for (; i + 4 <= M; i += 4) {
            uint32_t out[4][3];
            vnni_block4x3((int)Kp, a + (size_t)i * Kp, bj, out);
            for (int r = 0; r < 4; r++)
                for (int t = 0; t < 3; t++)
                    VNNI_PUT(i + r, j + t, out[r][t]);
        }
        for (; i < M; i++)
            for (int t = 0; t < 3; t++)
                VNNI_PUT(i, j + t, vnni_dot((int)Kp, a + (size_t)i * Kp, bj + (size_t)t * Kp));
    }
    for (; j < N; j++)
        for (int i = 0; i < M; i++)
            VNNI_PUT(i, j, vnni_dot((int)Kp, a + (size_t)i * Kp, b + (size_t)j * Kp));
#undef VNNI_PUT
    free(a), free(b), free(off);
    return 0;
}
