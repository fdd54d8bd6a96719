/* One scalar definition of each activation and its derivative
 * (kernels/act_scalar.h): the public bp_activation_apply/derivative (which
 * the trace and the finite-difference tests use) and the portable kernel
 * give exactly its bits, so the formulas cannot drift apart again. */
#include "testutil.h"

#include "kernels/act_scalar.h"
#include "kernels/backend.h"
#include "kernels/kernels.h"

enum { N = 64 };
static const float slope = 0.02f;

/* s over the interesting range: 0, ±0, tiny, the exp tails, plain values. */
static void sweep(float s[N])
{
    static const float fixed[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 88.0f, -88.0f, 20.0f, -20.0f};
    size_t nf = sizeof fixed / sizeof fixed[0];
    for (size_t i = 0; i < N; i++)
        s[i] = i < nf ? fixed[i] : (float)((double)i - N / 2) * 0.37f;
}

static void assert_same_bits(const char *what, int act, size_t i, float got, float want)
{
    if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("%s, activation %s, element %zu: %.9g, the definition gives %.9g", what,
                 bp_activation_name((bp_activation)act), i, (double)got, (double)want);
}

static void test_public_calls_are_the_definition(void **state)
{
    (void)state;
    float s[N];
    sweep(s);
    for (int act = 0; act < BP_ACT_COUNT_; act++)
        for (size_t i = 0; i < N; i++) {
            float a = bpk_act_scalar((bp_activation)act, s[i], slope);
            assert_same_bits("bp_activation_apply", act, i,
                             bp_activation_apply((bp_activation)act, s[i], slope), a);
            assert_same_bits("bp_activation_derivative", act, i,
                             bp_activation_derivative((bp_activation)act, s[i], slope),
                             bpk_act_deriv_scalar((bp_activation)act, s[i], a, slope));
        }
}

static void test_portable_kernel_is_the_definition(void **state)
{
    (void)state;
    assert_string_equal(bpk_set_isa("portable"), "portable");
    bpk_backend *be = bpk_cpu_backend_create(1, NULL);
    assert_non_null(be);
    float s0[N], s[N], a[N], d[N];
    sweep(s0);
    for (int act = 0; act < BP_ACT_COUNT_; act++) {
        if (act == BP_ACT_SOFTMAX) /* a row operation, not a scalar one */
            continue;
        memcpy(s, s0, sizeof s);
        bpk_bias_act_forward(be, s, a, 1, N, NULL, (bp_activation)act, slope);
        for (size_t i = 0; i < N; i++)
            assert_same_bits("forward", act, i, a[i],
                             bpk_act_scalar((bp_activation)act, s0[i], slope));
        for (size_t i = 0; i < N; i++)
            d[i] = 0.5f + (float)i;
        bpk_act_backward(be, d, s, a, N, (bp_activation)act, slope, 0.0f);
        for (size_t i = 0; i < N; i++)
            assert_same_bits("backward", act, i, d[i],
                             (0.5f + (float)i) *
                                 bpk_act_deriv_scalar((bp_activation)act, s[i], a[i], slope));
    }
    bpk_backend_free(be);
    bpk_set_isa(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_calls_are_the_definition),
        cmocka_unit_test(test_portable_kernel_is_the_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
