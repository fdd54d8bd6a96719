/* libFuzzer target: the CSV reader (bp_dataset_read_csv).
 * The first input byte picks the options (header, task, target column);
 * the rest is the file. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const targets[] = {NULL, "last", "1", "2", "1,2", "y", "label,x"};
    uint8_t mode = data[0];
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.header = (int)(mode % 3) - 1;
    o.task = (int)((mode / 3) % 3) - 1;
    o.target = targets[(mode / 9) % (sizeof targets / sizeof targets[0])];
    if (mode & 0x80)
        o.delimiter = ';';
    const char *path = fuzz_write_temp(0, "csv", ".csv", data + 1, size - 1);
    bp_dataset *ds = NULL;
    bp_status st = bp_dataset_read_csv(&ds, path, &o);
    fuzz_check_failure(st);
    if (st == BP_OK) {
        /* Whatever was read must be consistent. */
        size_t rows = bp_dataset_rows(ds);
        int in = bp_dataset_inputs(ds), out = bp_dataset_outputs(ds), k = bp_dataset_classes(ds);
        if (rows == 0 || in < 1 || out < 1)
            abort();
        const int32_t *lab = bp_dataset_labels(ds);
        if (k > 0) {
            if (!lab)
                abort();
            for (size_t r = 0; r < rows; r++)
                if (lab[r] < 0 || lab[r] >= k)
                    abort();
        }
        if (bp_dataset_check_finite(ds, "fuzz") != BP_OK)
            abort(); /* the reader rejects NaN and Inf itself */
        bp_dataset_free(ds);
    } else if (ds) {
        abort();
    }
    return 0;
}
