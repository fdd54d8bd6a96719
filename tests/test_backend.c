/*
 * The backend object (kernels/backend.h): the CPU backend's table is
 * complete, its memory is zeroed and aligned, and the ops that moved out of
 * nn/ keep their contracts (order of sums, masks, iRPROP−, gathers).  A new
 * backend's tests start from these.
 */
#include <errno.h>
#include <stdatomic.h>

#include "testutil.h"

#include "kernels/backend.h"
#include "kernels/pool_test.h"

static bpk_backend *cpu(int threads)
{
    bpk_backend *be = bpk_cpu_backend_create(threads, NULL);
    assert_non_null(be);
    return be;
}

static void test_table_is_complete(void **state)
{
    (void)state;
    bpk_backend *be = cpu(2);
    const bpk_ops *o = be->ops;
    typedef void (*any_fn)(void); /* any function pointer converts to another */
    const any_fn entries[] = {
        (any_fn)o->alloc,           (any_fn)o->release,
        (any_fn)o->upload,          (any_fn)o->download,
        (any_fn)o->copy,            (any_fn)o->fill,
        (any_fn)o->sgemm,           (any_fn)o->bias_act_forward,
        (any_fn)o->act_backward,    (any_fn)o->col_sum,
        (any_fn)o->sgemv,           (any_fn)o->sgemv_t,
        (any_fn)o->sger,            (any_fn)o->sger_sgemv,
        (any_fn)o->loss_sum,        (any_fn)o->output_delta,
        (any_fn)o->count_correct,   (any_fn)o->dropout_forward,
        (any_fn)o->mul,             (any_fn)o->sum_vectors,
        (any_fn)o->axpy,            (any_fn)o->scale,
        (any_fn)o->sumsq,           (any_fn)o->find_nonfinite,
        (any_fn)o->update,          (any_fn)o->gather_rows,
        (any_fn)o->freeze, /* optional, but the CPU packs weights while frozen */
    };
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        assert_non_null(entries[i]);
    assert_string_equal(be->name, "cpu");
    assert_int_equal(be->threads, 2);
    bpk_backend_free(be);
    errno = 0;
    assert_null(bpk_cpu_backend_create(0, NULL));
    assert_int_equal(errno, EINVAL);
}

static void test_memory(void **state)
{
    (void)state;
    bpk_backend *be = cpu(1);
    float *p = bpk_alloc(be, 37);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    for (int i = 0; i < 37; i++)
        assert_true(p[i] == 0.0f);
    bpk_fill(be, p, 37, 2.5f);
    float host[37];
    bpk_download(be, host, p, 37);
    assert_true(host[36] == 2.5f);
    bpk_release(be, p);
    bpk_backend_free(be);
}

/* The reduce's order: ((v0 + v1) + v2), not v0 + (v1 + v2). */
static void test_sum_vectors_order(void **state)
{
    (void)state;
    bpk_backend *be = cpu(1);
    float v[3] = {1e8f, -1e8f, 1.0f}, out;
    bpk_sum_vectors(be, v, 3, 1, &out);
    assert_true(out == 1.0f); /* (1e8 − 1e8) + 1; the other order gives 0 */
    float host;
    bpk_sum_vectors_host(v, 3, 1, &host);
    assert_true(host == out);
    bpk_backend_free(be);
}

/* update_summed = sum_vectors into g, then update: the same bits for every
 * optimizer it serves, over the whole vector and over a part that starts on
 * a BPK_UPDATE_CHUNK boundary (as one rank of several updates it), on 1 and
 * 3 threads; g holds the sum after it. */
static void test_update_summed(void **state)
{
    (void)state;
    enum { COUNT = 3 };
    const size_t n = 2 * BPK_UPDATE_CHUNK + 1234, first = BPK_UPDATE_CHUNK;
    static const bp_optimizer opts[] = {BP_OPT_SGD,   BP_OPT_MOMENTUM, BP_OPT_NESTEROV,
                                        BP_OPT_ADAM,  BP_OPT_ADAMW,    BP_OPT_RMSPROP};
    float *vec = malloc(COUNT * n * sizeof(float));
    float *buf[2][4]; /* [reference, summed][w, g, m, v] */
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < 4; b++)
            buf[k][b] = malloc(n * sizeof(float));
    uint32_t h = 99;
    for (size_t i = 0; i < COUNT * n; i++) {
        h = h * 1103515245u + 12345u;
        vec[i] = (float)((int)(h >> 9) % 20001 - 10000) * 1e-4f;
    }
    const float *ptr[COUNT];
    for (int t = 1; t <= 3; t += 2) {
        bpk_backend *be = cpu(t);
        for (size_t o = 0; o < sizeof opts / sizeof opts[0]; o++)
            for (int part = 0; part < 2; part++) {
                size_t lo = part ? first : 0, len = n - lo;
                for (int k = 0; k < 2; k++)
                    for (size_t i = 0; i < n; i++) {
                        buf[k][0][i] = 0.5f - (float)(i % 7) * 0.1f;
                        buf[k][1][i] = 0;
                        buf[k][2][i] = (float)(i % 5) * 0.01f;
                        buf[k][3][i] = (float)(i % 3) * 0.02f;
                    }
                bpk_update u = {.optimizer = opts[o], .lr = 0.01f, .momentum = 0.9f,
                                .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .rho = 0.9f,
                                .c1 = 0.1f, .c2 = 0.001f,
                                .decoupled_wd = opts[o] == BP_OPT_ADAMW ? 0.01f : 0.0f};
                float **r = buf[0], **f = buf[1];
                bpk_sum_vectors(be, vec, COUNT, n, r[1]);
                bpk_update_params(be, &u, r[0] + lo, r[1] + lo, r[2] + lo, r[3] + lo, len);
                for (int c = 0; c < COUNT; c++)
                    ptr[c] = vec + (size_t)c * n + lo;
                assert_true(bpk_update_summed(be, &u, f[0] + lo, f[1] + lo, f[2] + lo, f[3] + lo,
                                              ptr, COUNT, len));
                for (int b = 0; b < 4; b++)
                    assert_memory_equal(r[b] + lo, f[b] + lo, len * sizeof(float));
            }
        bpk_backend_free(be);
    }
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < 4; b++)
            free(buf[k][b]);
    free(vec);
}

/* Per-sample masks depend on the row's position in the epoch, not on the
 * batch it falls in: rows 2..3 of a 4-row batch get the masks of a 2-row
 * batch that starts at position 2. */
static void test_per_sample_masks(void **state)
{
    (void)state;
    bpk_backend *be = cpu(1);
    enum { COLS = 9 };
    float a[4 * COLS], mask4[4 * COLS], drop4[4 * COLS], mask2[2 * COLS], drop2[2 * COLS];
    for (int i = 0; i < 4 * COLS; i++)
        a[i] = (float)i;
    bpk_mask_source all = {NULL, 5, 3, 10}, tail = {NULL, 5, 3, 12};
    bpk_dropout_forward(be, a, mask4, drop4, 4, COLS, 0.5f, 1, &all);
    bpk_dropout_forward(be, a + 2 * COLS, mask2, drop2, 2, COLS, 0.5f, 1, &tail);
    assert_memory_equal(mask4 + 2 * COLS, mask2, sizeof mask2);
    assert_memory_equal(drop4 + 2 * COLS, drop2, sizeof drop2);
    int kept = 0;
    for (int i = 0; i < 4 * COLS; i++) {
        assert_true(mask4[i] == 0.0f || mask4[i] == 2.0f);
        kept += mask4[i] != 0.0f;
    }
    assert_true(kept > 0 && kept < 4 * COLS);
    /* Another layer or epoch draws other masks. */
    bpk_dropout_forward(be, a, mask2, drop2, 2, COLS, 0.5f, 2, &all);
    assert_memory_not_equal(mask4, mask2, sizeof mask2);
    bpk_backend_free(be);
}

static void test_rprop_update(void **state)
{
    (void)state;
    bpk_backend *be = cpu(1);
    bpk_update u = {.optimizer = BP_OPT_RPROP, .rprop_increase = 1.2f, .rprop_decrease = 0.5f,
                    .rprop_delta_min = 0.0f, .rprop_delta_max = 1.0f};
    float w[3] = {0, 0, 0}, g[3] = {1, -1, 1}, step[3] = {0.1f, 0.1f, 0.1f},
          prev[3] = {1, 1, 0};
    bpk_update_params(be, &u, w, g, step, prev, 3);
    /* same sign: grow and step against g; flipped: shrink, skip, forget g;
     * no previous: keep the step. */
    assert_true(step[0] == 0.1f * 1.2f && w[0] == -step[0] && prev[0] == 1);
    assert_true(step[1] == 0.1f * 0.5f && w[1] == 0 && prev[1] == 0);
    assert_true(step[2] == 0.1f && w[2] == -0.1f);
    bpk_backend_free(be);
}

static void test_gather_rows_scales(void **state)
{
    (void)state;
    bpk_backend *be = cpu(1);
    float src[6] = {1, 2, 3, 4, 5, 6}, dst[4];
    size_t idx[2] = {2, 0};
    float shift[2] = {1, 2}, factor[2] = {2, 0.5f};
    bpk_gather_rows(be, dst, src, idx, 2, 2, shift, factor);
    float want[4] = {(5 - 1) * 2.0f, (6 - 2) * 0.5f, 0, 0};
    assert_memory_equal(dst, want, sizeof want);
    bpk_gather_rows(be, dst, src, NULL, 2, 2, NULL, NULL);
    assert_memory_equal(dst, src, 4 * sizeof(float));
    bpk_backend_free(be);
}

static atomic_int gather_tasks;
static void count_gather_task(int task)
{
    (void)task;
    atomic_fetch_add(&gather_tasks, 1);
}

/* A gather large enough to be split over the threads (cpu_backend.c's
 * GATHER_MIN_SPLIT) gives what one thread gives: rows by index, a plain copy
 * and scaling in place, each with the inputs' shift and factor. */
static void test_gather_rows_split(void **state)
{
    (void)state;
    enum { ROWS = 1000, SRC_ROWS = 1500, W = 100 };
    float *src = malloc(sizeof(float) * SRC_ROWS * W), shift[W], factor[W];
    float *want = malloc(sizeof(float) * ROWS * W), *got = malloc(sizeof(float) * ROWS * W);
    size_t *idx = malloc(sizeof(size_t) * ROWS);
    assert_true(src && want && got && idx);
    for (int i = 0; i < SRC_ROWS * W; i++)
        src[i] = (float)((i * 7919) % 1009) / 37.0f - 13.0f;
    for (int j = 0; j < W; j++) {
        shift[j] = 0.25f * (float)j;
        factor[j] = 1.0f / (1.0f + (float)j);
    }
    for (int r = 0; r < ROWS; r++)
        idx[r] = (size_t)((r * 613) % SRC_ROWS);
    bpk_backend *one = cpu(1);
    for (int threads = 2; threads <= 3; threads++) {
        bpk_backend *many = cpu(threads);
        for (int mode = 0; mode < 3; mode++) {
            const size_t *ix = mode == 0 ? idx : NULL;
            /* mode 2 scales in place: dst is src's copy */
            if (mode == 2) {
                memcpy(want, src, sizeof(float) * ROWS * W);
                memcpy(got, src, sizeof(float) * ROWS * W);
            }
            bpk_gather_rows(one, want, mode == 2 ? want : src, ix, ROWS, W, shift, factor);
            atomic_store(&gather_tasks, 0);
            bpk_pool_task_hook = count_gather_task;
            bpk_gather_rows(many, got, mode == 2 ? got : src, ix, ROWS, W, shift, factor);
            bpk_pool_task_hook = NULL;
            if (atomic_load(&gather_tasks) < 2)
                fail_msg("a gather of %d rows was not split over %d threads", ROWS, threads);
            if (memcmp(want, got, sizeof(float) * ROWS * W) != 0)
                fail_msg("gather mode %d on %d threads differs from 1 thread", mode, threads);
        }
        bpk_backend_free(many);
    }
    /* The rows are the indexed ones. */
    bpk_gather_rows(one, got, src, idx, ROWS, W, NULL, NULL);
    for (int r = 0; r < ROWS; r++)
        assert_memory_equal(got + (size_t)r * W, src + idx[r] * W, sizeof(float) * W);
    bpk_backend_free(one);
    free(src), free(want), free(got), free(idx);
}

static void test_find_nonfinite_and_count_correct(void **state)
{
    (void)state;
    bpk_backend *be = cpu(1);
    float x[4] = {1, 2, NAN, INFINITY};
    assert_int_equal(bpk_find_nonfinite(be, x, 4), 2);
    assert_int_equal(bpk_find_nonfinite(be, x, 2), 2);
    float out[6] = {0.1f, 0.9f, 0.7f, 0.3f, 0.5f, 0.5f};
    int32_t labels[3] = {1, 1, 0};
    size_t idx[3] = {0, 1, 2};
    /* argmax; a tie goes to the first */
    assert_int_equal(bpk_count_correct(be, out, 3, 2, labels, idx), 2);
    assert_int_equal(bpk_predicted_class((float[]){0.6f}, 1), 1);
    bpk_backend_free(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_complete),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_sum_vectors_order),
        cmocka_unit_test(test_update_summed),
        cmocka_unit_test(test_per_sample_masks),
        cmocka_unit_test(test_rprop_update),
        cmocka_unit_test(test_gather_rows_scales),
        cmocka_unit_test(test_gather_rows_split),
        cmocka_unit_test(test_find_nonfinite_and_count_correct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
