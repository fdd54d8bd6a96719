/*
 * Well-known data sets by name: "mnist" and "fashion-mnist".
 *
 * Both come as four IDX files.  We look for them, gzipped or not, in the
 * directory given, then in $BACKPROP_DATA and $BACKPROP_DATA/<name>, then in
 * /usr/share/datasets/<name> (where Debian's dataset-fashion-mnist package
 * installs them), and use the first directory that holds all four.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backprop.h"

#define NAMED_PATH_MAX 4096

static const char *const idx_files[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
};

static const char *const fashion_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static const char *const digit_classes[10] = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
};

/* Finds dir/base.gz or dir/base (also with '.' before "idx", as some mirrors
 * name them); returns 1 and the path in out. */
static int find_file(const char *dir, const char *base, char *out, size_t cap)
{
    char alt[64];
    snprintf(alt, sizeof alt, "%s", base);
    char *dash = strstr(alt, "-idx");
    if (dash)
        *dash = '.';
    const char *names[2] = {base, alt};
    for (int n = 0; n < 2; n++)
        for (int gz = 1; gz >= 0; gz--) {
            int w = snprintf(out, cap, "%s/%s%s", dir, names[n], gz ? ".gz" : "");
            if (w < 0 || (size_t)w >= cap)
                continue;
            if (access(out, R_OK) == 0)
                return 1;
        }
    return 0;
}

static bp_status load_dir(const char *dir, const char *name, bp_dataset **train, bp_dataset **test)
{
    char path[4][NAMED_PATH_MAX];
    for (int i = 0; i < 4; i++)
        if (!find_file(dir, idx_files[i], path[i], sizeof path[i]))
            return bp_error(BP_ERR_IO, "%s: %s vanished from %s", name, idx_files[i], dir);
    bp_status st = bp_dataset_read_idx(train, path[0], path[1]);
    if (st != BP_OK)
        return st;
    st = bp_dataset_read_idx(test, path[2], path[3]);
    if (st == BP_OK && bp_dataset_inputs(*train) != bp_dataset_inputs(*test))
        st = bp_error(BP_ERR_SHAPE, "%s: training images have %d pixels but test images %d",
                      dir, bp_dataset_inputs(*train), bp_dataset_inputs(*test));
    const char *const *names = strcmp(name, "mnist") == 0 ? digit_classes : fashion_classes;
    for (int k = 0; st == BP_OK && k < 2; k++) {
        bp_dataset *ds = k ? *test : *train;
        if (bp_dataset_classes(ds) > 10)
            st = bp_error(BP_ERR_FORMAT, "%s: labels go up to %d, but %s has 10 classes",
                          path[k ? 3 : 1], bp_dataset_classes(ds) - 1, name);
        else if (bp_dataset_classes(ds) == 10)
            st = bp_dataset_set_class_names(ds, 10, names);
    }
    if (st != BP_OK) {
        bp_dataset_free(*train);
        bp_dataset_free(*test);
        *train = *test = NULL;
    }
    return st;
}

bp_status bp_dataset_load_named(const char *name, const char *dir, bp_dataset **train,
                                bp_dataset **test)
{
    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    if (!train || !test)
        return bp_error(BP_ERR_ARG, "bp_dataset_load_named: NULL output");
    if (!name || (strcmp(name, "mnist") != 0 && strcmp(name, "fashion-mnist") != 0))
        return bp_error(BP_ERR_ARG, "unknown data set \"%s\" (known: mnist, fashion-mnist)",
                        name ? name : "(null)");

    char dirs[4][NAMED_PATH_MAX];
    int n = 0;
    if (dir && *dir)
        snprintf(dirs[n++], NAMED_PATH_MAX, "%s", dir);
    const char *env = getenv("BACKPROP_DATA");
    if (env && *env) {
        snprintf(dirs[n++], NAMED_PATH_MAX, "%s", env);
        snprintf(dirs[n++], NAMED_PATH_MAX, "%s/%s", env, name);
    }
    snprintf(dirs[n++], NAMED_PATH_MAX, "/usr/share/datasets/%s", name);

    char looked[700];
    size_t o = 0;
    looked[0] = '\0';
    for (int d = 0; d < n; d++) {
        char tmp[NAMED_PATH_MAX];
        int found = 0;
        const char *missing = NULL;
        for (int i = 0; i < 4; i++) {
            if (find_file(dirs[d], idx_files[i], tmp, sizeof tmp))
                found++;
            else if (!missing)
                missing = idx_files[i];
        }
        if (found == 4)
            return load_dir(dirs[d], name, train, test);
        if (o < sizeof looked) {
            int w;
            if (found)
                w = snprintf(looked + o, sizeof looked - o, "%s%s (%d of 4, no %s)",
                             d ? ", " : "", dirs[d], found, missing);
            else
                w = snprintf(looked + o, sizeof looked - o, "%s%s", d ? ", " : "", dirs[d]);
            if (w > 0)
                o += (size_t)w;
        }
    }
    if (!(env && *env) && o < sizeof looked)
        snprintf(looked + o, sizeof looked - o, " ($BACKPROP_DATA not set)");
    int fashion = strcmp(name, "fashion-mnist") == 0;
    return bp_error(BP_ERR_IO, "%s: the IDX files (train-images-idx3-ubyte, "
                    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, "
                    "each .gz or plain) were not found; looked in: %s. To get them: %sdownload "
                    "the four files into a directory and pass --data-dir DIR (or set "
                    "BACKPROP_DATA=DIR)", name, looked,
                    fashion ? "apt-get install dataset-fashion-mnist (Debian, Ubuntu), or " : "");
}
