/* libFuzzer target: the IDX reader (bp_dataset_read_idx), plain and gzip.
 * The first byte picks the mode: bit 0 set splits the rest into an images
 * file and a labels file at the offset given by the next two bytes. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    const char *images, *labels = NULL;
    if ((mode & 1) && size >= 2) {
        size_t cut = ((size_t)data[0] << 8 | data[1]);
        data += 2;
        size -= 2;
        if (cut > size)
            cut = size;
        images = fuzz_write_temp(0, "idx", "-images", data, cut);
        labels = fuzz_write_temp(1, "idx", "-labels", data + cut, size - cut);
    } else {
        images = fuzz_write_temp(0, "idx", "-images", data, size);
    }
    bp_dataset *ds = NULL;
    bp_status st = bp_dataset_read_idx(&ds, images, labels);
    fuzz_check_failure(st);
    if (st == BP_OK) {
        size_t rows = bp_dataset_rows(ds);
        if (rows == 0 || bp_dataset_inputs(ds) < 1)
            abort();
        if (bp_dataset_check_finite(ds, "fuzz") != BP_OK)
            abort();
        int k = bp_dataset_classes(ds);
        const int32_t *lab = bp_dataset_labels(ds);
        if (labels && k > 0)
            for (size_t r = 0; r < rows; r++)
                if (lab[r] < 0 || lab[r] >= k)
                    abort();
        bp_dataset_free(ds);
    } else if (ds) {
        abort();
    }
    return 0;
}
