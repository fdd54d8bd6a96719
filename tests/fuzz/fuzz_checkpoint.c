/* libFuzzer target: the checkpoint loader's field checks.  The input is the
 * trainer-state blob; the harness wraps it in a valid model file (fixed
 * 2-3-1 net, correct length and CRC-32, written by the library's own writer)
 * so every input gets past the checksum to bp_trainer_state_import's checks
 * of options, counters and optimizer arrays.  A state that loads must run an
 * epoch without undefined behaviour and save again. */
#include "fuzz_util.h"

#include "io/io_internal.h"

static bp_net *fixed_net(void)
{
    static bp_net *net;
    if (!net) {
        bp_layer_spec L[2] = {BP_LAYER(2, BP_ACT_TANH, 1, 0), BP_LAYER(1, BP_ACT_SIGMOID, 1, 0)};
        if (bp_net_create(&net, 2, 2, L, BP_LOSS_MSE) != BP_OK ||
            bp_net_init(net, BP_INIT_XAVIER, 1) != BP_OK)
            abort();
    }
    return net;
}

static bp_dataset *tiny_data(void)
{
    static bp_dataset *ds;
    if (!ds) {
        if (bp_dataset_create(&ds, 4, 2, 1) != BP_OK)
            abort();
        const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
        memcpy(bp_dataset_x(ds), x, sizeof x);
        memcpy(bp_dataset_y(ds), y, sizeof y);
    }
    return ds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    const char *path = fuzz_write_temp(0, "ckpt", ".bpc", NULL, 0);
    if (bp_model_write(path, fixed_net(), size ? data : (const uint8_t *)"", size) != BP_OK)
        abort();
    bp_net *net = NULL;
    bp_trainer *tr = NULL;
    bp_status st = bp_checkpoint_load(path, &net, &tr);
    fuzz_check_failure(st);
    if (st != BP_OK) {
        if (net || tr)
            abort();
        return 0;
    }
    /* Loaded: one more epoch (few enough to stay fast) must be defined behaviour. */
    if (bp_trainer_options(tr)->threads <= 4 && bp_trainer_options(tr)->batch_size <= 64) {
        bp_trainer_set_epochs(tr, bp_trainer_epoch(tr) + 1);
        fuzz_check_failure(bp_trainer_run(tr, tiny_data(), NULL));
    }
    const char *again = fuzz_write_temp(1, "ckpt", "-again.bpc", NULL, 0);
    if (bp_checkpoint_save(tr, again) != BP_OK)
        abort();
    bp_trainer_free(tr);
    bp_net_free(net);
    return 0;
}
