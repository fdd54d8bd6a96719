/*
 * The size checks of the caller-allocated structs (backprop.h, "Extensible
 * structs").  A struct's `size` is the sizeof of the header its caller was
 * built with: smaller than the first versioned layout (or 0: never
 * initialised) is refused, larger (a newer header) is read up to the fields
 * this library knows.
 */
#include <string.h>

#include "nn_internal.h"

bp_status bp_abi_check(const void *s, size_t v1_size, const char *fn, const char *type,
                       const char *init)
{
    if (!s)
        return bp_error(BP_ERR_ARG, "%s: %s is NULL", fn, type);
    size_t size;
    memcpy(&size, s, sizeof size);
    if (size < v1_size)
        return bp_error(BP_ERR_ARG,
                        "%s: %s.size is %zu, expected at least %zu: initialise the struct with "
                        "%s() (it sets size) before filling it in",
                        fn, type, size, v1_size, init);
    return BP_OK;
}

void bp_abi_copy(void *dst, size_t dst_size, const void *src)
{
    size_t size;
    memcpy(&size, src, sizeof size);
    memcpy(dst, src, size < dst_size ? size : dst_size);
    memcpy(dst, &dst_size, sizeof dst_size); /* the copy is of this library's layout */
}

void bp_abi_fill(void *dst, size_t size, const void *defaults, size_t known)
{
    if (!dst || size < sizeof(size_t))
        return;
    memset(dst, 0, size);
    memcpy(dst, defaults, size < known ? size : known);
    memcpy(dst, &size, sizeof size);
}

void bp_layer_spec_init(bp_layer_spec *spec, size_t size)
{
    bp_layer_spec d;
    memset(&d, 0, sizeof d);
    d.units = 1;
    d.act = BP_ACT_LINEAR;
    d.bias = 1;
    d.slope = BP_SLOPE_DEFAULT;
    bp_abi_fill(spec, size, &d, sizeof d);
}
