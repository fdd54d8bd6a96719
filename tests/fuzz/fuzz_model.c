/* libFuzzer target: the binary model loader (bp_net_load) and the checkpoint
 * loader (bp_checkpoint_load).  The first byte is a mode: bit 0 patches the
 * header's file length and bit 1 the trailing CRC-32 to match the input, so
 * the fuzzer gets past the checksum into the sections; without them it
 * exercises the header checks.  A model that loads must save and load back. */
#include <zlib.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    if ((mode & 1) && size >= 20)
        for (int i = 0; i < 8; i++)
            buf[12 + i] = (uint8_t)((uint64_t)size >> (8 * i));
    if ((mode & 2) && size >= 24) {
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(size - 4));
        for (int i = 0; i < 4; i++)
            buf[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    const char *path = fuzz_write_temp(0, "model", ".bpm", buf, size);
    free(buf);

    bp_net *net = NULL;
    bp_status st = bp_net_load(&net, path);
    fuzz_check_failure(st);
    if (st == BP_OK) {
        const char *again = fuzz_write_temp(1, "model", "-again.bpm", NULL, 0);
        if (bp_net_save(net, again) != BP_OK)
            abort();
        bp_net *back = NULL;
        if (bp_net_load(&back, again) != BP_OK ||
            bp_net_param_count(back) != bp_net_param_count(net) ||
            memcmp(bp_net_params_const(back), bp_net_params_const(net),
                   bp_net_param_count(net) * sizeof(float)) != 0)
            abort();
        bp_net_free(back);
        bp_net_free(net);
    } else if (net) {
        abort();
    }

    bp_trainer *tr = NULL;
    st = bp_checkpoint_load(path, &net, &tr);
    fuzz_check_failure(st);
    if (st == BP_OK) {
        if (!tr || !net || bp_trainer_net(tr) != net)
            abort();
        bp_trainer_free(tr);
        bp_net_free(net);
    } else if (net || tr) {
        abort();
    }
    return 0;
}
