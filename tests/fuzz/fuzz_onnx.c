/* libFuzzer target: the ONNX reader (bp_net_parse_onnx, io/onnx.c), which
 * takes files from anywhere (torch.onnx.export, other tools).  Whatever the
 * bytes, it must fail with a message and no net, or give a net whose own
 * export reads back to the same parameters and exports to the same bytes. */
#include "fuzz_util.h"

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        abort();
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        if (!got)
            break;
        n += got;
    }
    fclose(fp);
    *len = n;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    bp_net *net = (bp_net *)&size;
    bp_status st = bp_net_parse_onnx(&net, data, size, "fuzz.onnx");
    fuzz_check_failure(st);
    if (st != BP_OK) {
        if (net)
            abort();
        return 0;
    }
    const char *a = fuzz_write_temp(0, "onnx", "-a.onnx", NULL, 0);
    const char *b = fuzz_write_temp(1, "onnx", "-b.onnx", NULL, 0);
    bp_net *back = NULL;
    if (bp_net_save_onnx(net, a) != BP_OK || bp_net_load_onnx(&back, a) != BP_OK ||
        bp_net_param_count(back) != bp_net_param_count(net) ||
        memcmp(bp_net_params_const(back), bp_net_params_const(net),
               bp_net_param_count(net) * sizeof(float)) != 0 ||
        bp_net_save_onnx(back, b) != BP_OK)
        abort();
    size_t na, nb;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    if (na != nb || memcmp(x, y, na) != 0)
        abort();
    free(x);
    free(y);
    bp_net_free(back);
    bp_net_free(net);
    return 0;
}
