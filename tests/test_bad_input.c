/* Bad input through the API, table-driven: each case is a file's bytes, the
 * reader to give it to, the status expected and a fragment the message must
 * hold (file name, line and field where they apply).  Every failing call must
 * leave its output NULL.  Also: saving over an existing model where the write
 * cannot succeed (missing directory, file-size limit) keeps the old file
 * byte-identical and leaves no temporary behind.  Inputs found by the fuzzers
 * (tests/fuzz) are added here as regression cases. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <zlib.h>

#include "testutil.h"

enum reader { CSV, CSV_REGRESSION, CSV_CLASSES, FANN, IDX, IDX_GZ, IDX_PAIR, NET, MODEL, CHECKPOINT };

/* How a MODEL case damages a valid model file. */
enum damage { NONE, MAGIC, VERSION, CRC, CUT, CUT_HEADER, TRAILING, LENGTH };

typedef struct bad_case {
    const char *name;
    enum reader reader;
    const char *data; /* file contents (NULL for MODEL cases) */
    size_t len;       /* 0: strlen(data) */
    bp_status want;
    const char *frag; /* message fragment; "%F" at the start means "the file name, then" */
    enum damage damage;
} bad_case;

#define S(lit) lit, sizeof(lit) - 1

static const bad_case cases[] = {
    /* CSV */
    {"csv empty file", CSV, S(""), BP_ERR_PARSE, "%F: no data: the file is empty", NONE},
    {"csv comments only", CSV, S("# nothing\n\n  \n"), BP_ERR_PARSE, "%F: no data", NONE},
    {"csv header only", CSV, S("a,b,y\n"), BP_ERR_PARSE, "%F:1: has a header line but no data rows", NONE},
    {"csv ragged row", CSV, S("a,b,y\n1,2,0\n3,4\n"), BP_ERR_PARSE, "%F:3: row has 2 fields, expected 3 (as in line 1)", NONE},
    {"csv long row", CSV, S("a,b,y\n1,2,0\n3,4,5,6\n"), BP_ERR_PARSE, "%F:3: row has 4 fields, expected 3", NONE},
    {"csv non-numeric", CSV, S("a,b,y\n1,2,0\n1,two,1\n"), BP_ERR_PARSE, "%F:3:2: expected a number, found \"two\"", NONE},
    {"csv empty field", CSV, S("a,b,y\n1,,0\n"), BP_ERR_PARSE, "%F:2:2: expected a number, found an empty field", NONE},
    {"csv NaN feature", CSV, S("a,b,y\n1,2,0\nNaN,2,1\n"), BP_ERR_PARSE, "%F:3:1: expected a number, found NaN", NONE},
    {"csv Inf feature", CSV, S("a,b,y\n1,-inf,0\n"), BP_ERR_PARSE, "%F:2:2: expected a number, found an infinite value", NONE},
    {"csv NaN target", CSV_REGRESSION, S("a,b,y\n1,2,0.5\n1,2,nan\n"), BP_ERR_PARSE, "%F:3:3: expected a number, found NaN", NONE},
    {"csv Inf target", CSV_REGRESSION, S("a,b,y\n1,2,inf\n"), BP_ERR_PARSE, "%F:2:3: expected a number, found an infinite value", NONE},
    {"csv out of float range", CSV, S("a,b,y\n1,3e40,0\n"), BP_ERR_PARSE, "%F:2:2: expected a number, found \"3e40\", outside the float32 range", NONE},
    {"csv empty label", CSV_CLASSES, S("a,b,y\n1,2,x\n1,2,\n"), BP_ERR_PARSE, "%F:3:3: expected a class label, found an empty field", NONE},
    {"csv unclosed quote", CSV, S("a,b,y\n1,\"2,0\n"), BP_ERR_PARSE, "%F:2:2: quoted field is not closed", NONE},
    {"csv junk after quote", CSV, S("a,b,y\n1,\"2\"x,0\n"), BP_ERR_PARSE, "%F:2:2: expected a delimiter or the end of the line after a closing quote, found 'x'", NONE},
    {"csv NUL byte", CSV, S("a,b,y\n1,2,0\n\0"), BP_ERR_PARSE, "%F:3: contains a NUL byte", NONE},
    {"csv one column", CSV, S("x\n1\n2\n"), BP_ERR_PARSE, "%F:1: found 1 column", NONE},
    {"csv BOM accepted", CSV, S("\xEF\xBB\xBF" "a,b,y\n1,2,0\n3,4,1\n"), BP_OK, NULL, NONE},
    {"csv CRLF accepted", CSV, S("a,b,y\r\n1,2,0\r\n3,4,1\r\n"), BP_OK, NULL, NONE},
    {"csv BOM+CRLF+comments accepted", CSV, S("\xEF\xBB\xBF# c\r\na,b,y\r\n\r\n1,2,0\r\n"), BP_OK, NULL, NONE},
    /* FANN */
    {"fann empty", FANN, S("  \n"), BP_ERR_PARSE, "%F: empty file", NONE},
    {"fann bad header", FANN, S("2 x 1\n"), BP_ERR_PARSE, "%F:1:3: expected the number of inputs", NONE},
    {"fann header claims too much", FANN, S("1000000 2 1\n0 0\n1\n"), BP_ERR_PARSE, "%F:1: the header announces 1000000 rows", NONE},
    {"fann NaN", FANN, S("1 2 1\n0 nan\n1\n"), BP_ERR_PARSE, "%F:2:3: expected a number (row 1, input 2 of 2), found \"nan\" (NaN is not allowed)", NONE},
    {"fann trailing data", FANN, S("1 1 1\n0\n1\n7\n"), BP_ERR_PARSE, "%F:4:1: unexpected \"7\" after the 1 rows", NONE},
    /* IDX */
    {"idx empty", IDX, S(""), BP_ERR_FORMAT, "%F: too short to be an IDX file (0 bytes)", NONE},
    {"idx bad magic", IDX, S("\1\0\x08\1\0\0\0\1x"), BP_ERR_FORMAT, "%F: not an IDX file: bad magic", NONE},
    {"idx bad type", IDX, S("\0\0\x07\1\0\0\0\1x"), BP_ERR_FORMAT, "%F: unknown IDX data type 0x07", NONE},
    {"idx zero dims", IDX, S("\0\0\x08\0"), BP_ERR_FORMAT, "%F: IDX header has 0 dimensions", NONE},
    {"idx zero dimension", IDX, S("\0\0\x08\1\0\0\0\0"), BP_ERR_FORMAT, "%F: IDX dimension 1 is 0", NONE},
    {"idx 1 GiB claim", IDX, S("\0\0\x08\2\x40\0\0\1\0\0\0\1abcd"), BP_ERR_FORMAT, "%F: truncated: the header claims 1073741825 elements", NONE},
    {"idx over 2^31 elements", IDX, S("\0\0\x08\3\x40\0\0\0\0\0\0\x1c\0\0\0\x1c"), BP_ERR_FORMAT, "%F: IDX header claims more than 2^31 elements", NONE},
    {"idx trailing bytes", IDX, S("\0\0\x08\1\0\0\0\1ab"), BP_ERR_FORMAT, "%F: 1 bytes after the 1 elements", NONE},
    {"idx NaN float", IDX, S("\0\0\x0d\1\0\0\0\1\x7f\xc0\0\0"), BP_ERR_FORMAT, "%F: element 1 (row 1, column 1) is NaN", NONE},
    {"idx header cut", IDX, S("\0\0\x08\3\0\0\0\1"), BP_ERR_FORMAT, "%F: truncated IDX header (3 dimensions announced)", NONE},
    {"idx gzip cut short", IDX_GZ, S("\0\0\x08\2\0\0\0\3\0\0\0\2abcdef"), BP_ERR_FORMAT, "%F: truncated or corrupt", NONE},
    {"idx labels not 1-D", IDX_PAIR, S("\0\0\x08\2\0\0\0\1\0\0\0\1\0"), BP_ERR_FORMAT, "a labels file must be 1-D unsigned bytes", NONE},
    /* .net */
    {"net empty", NET, S(""), BP_ERR_PARSE, "%F: empty file; expected the header \"backprop-net 1\"", NONE},
    {"net future version", NET, S("backprop-net 7\n"), BP_ERR_PARSE, "%F:1: format version 7 is not supported", NONE},
    {"net missing weight", NET, S("backprop-net 1\ninputs 2\nlayer 1 sigmoid nobias\nweights\n0.5\n"), BP_ERR_PARSE, "%F:5: layer 1, neuron 1: expected 2 weights (one per input to the layer), found 1", NONE},
    {"net extra weight", NET, S("backprop-net 1\ninputs 2\nlayer 1 sigmoid nobias\nweights\n0.5 1 2\n"), BP_ERR_PARSE, "%F:5: layer 1, neuron 1: expected 2 weights (one per input to the layer), found 3", NONE},
    {"net missing row", NET, S("backprop-net 1\ninputs 2\nlayer 2 sigmoid nobias\nweights\n0.5 1\n"), BP_ERR_PARSE, "%F: end of file inside the weights of layer 1 (line 4): 1 of 2 neuron rows missing", NONE},
    {"net NaN weight", NET, S("backprop-net 1\ninputs 1\nlayer 1 linear nobias\nweights\nnan\n"), BP_ERR_PARSE, "%F:5: a weight is \"nan\"; only finite numbers are allowed", NONE},
    {"net unknown activation", NET, S("backprop-net 1\ninputs 1\nlayer 1 swish\n"), BP_ERR_PARSE, "%F:3: unknown activation \"swish\"", NONE},
    {"net missing biases", NET, S("backprop-net 1\ninputs 1\nlayer 1 linear\nweights\n1\n"), BP_ERR_PARSE, "%F: layer 1 has a bias but no \"biases\" line", NONE},
    {"net target count", NET, S("backprop-net 1\ninputs 1\nlayer 1 linear nobias\nweights\n1\ntarget 1 2\n"), BP_ERR_PARSE, "%F:6: target has 2 values but the net has 1 outputs", NONE},
    /* binary models, made by damaging a valid one */
    {"model wrong magic", MODEL, NULL, 0, BP_ERR_FORMAT, "%F: not a backprop model file (bad magic)", MAGIC},
    {"model future version", MODEL, NULL, 0, BP_ERR_FORMAT, "%F: model format version 3 is newer than this build reads (2)", VERSION},
    {"model bad CRC", MODEL, NULL, 0, BP_ERR_FORMAT, "%F: checksum mismatch: file is corrupt", CRC},
    {"model cut short", MODEL, NULL, 0, BP_ERR_FORMAT, "%F: truncated: the file has", CUT},
    {"model cut in the header", MODEL, NULL, 0, BP_ERR_FORMAT, "%F: truncated: the file has 12 bytes, less than a model header", CUT_HEADER},
    {"model trailing bytes", MODEL, NULL, 0, BP_ERR_FORMAT, "%F: 3 unexpected bytes after the end of the model", TRAILING},
    {"model impossible length", MODEL, NULL, 0, BP_ERR_FORMAT, "%F: header gives an impossible file length", LENGTH},
    {"model is not a checkpoint", CHECKPOINT, NULL, 0, BP_ERR_FORMAT, "%F: not a checkpoint: a model file without trainer state", NONE},
};

static char tmpdir[] = "/tmp/bp_bad_input_XXXXXX";

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        fail_msg("cannot create %s", path);
    if (len && fwrite(data, 1, len, fp) != len)
        fail_msg("cannot write %s", path);
    fclose(fp);
}

static unsigned char *read_bytes(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, fp);
    fclose(fp);
    return buf;
}

/* A small valid model, saved to path. */
static void save_reference_model(const char *path)
{
    bp_layer_spec L[2] = {BP_LAYER(3, BP_ACT_TANH, 1, 0), BP_LAYER(2, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 2, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, 7));
    assert_ok(bp_net_set_meta(net, "note", "reference"));
    assert_ok(bp_net_save(net, path));
    bp_net_free(net);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes the case's file(s); returns the path given to the reader. */
static const char *make_input(const bad_case *c, char *path, size_t cap, char *path2, size_t cap2)
{
    static const char *const ext[] = {".csv", ".csv", ".csv", ".data", "-images.idx",
                                      "-images.idx.gz", "-images.idx", ".net", ".bpm", ".bpm"};
    snprintf(path, cap, "%s/case%s", tmpdir, ext[c->reader]);
    size_t len = c->len ? c->len : (c->data ? strlen(c->data) : 0);
    if (c->reader == IDX_GZ) {
        /* gzip the bytes, then cut the trailer off */
        gzFile gz = gzopen(path, "wb");
        assert_non_null(gz);
        assert_int_equal(gzwrite(gz, c->data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(gz), Z_OK);
        size_t n;
        unsigned char *b = read_bytes(path, &n);
        write_bytes(path, b, n - 6);
        free(b);
    } else if (c->reader == IDX_PAIR) {
        static const char images[] = "\0\0\x08\2\0\0\0\1\0\0\0\1z";
        write_bytes(path, images, sizeof images - 1);
        snprintf(path2, cap2, "%s/case-labels.idx", tmpdir);
        write_bytes(path2, c->data, len);
    } else if (c->reader == MODEL || c->reader == CHECKPOINT) {
        save_reference_model(path);
        size_t n;
        unsigned char *b = read_bytes(path, &n);
        switch (c->damage) {
        case MAGIC: b[0] = 'X'; break;
        case VERSION: put_u32(b + 8, 3); break;
        case CRC: b[40] ^= 0x10; break;
        case CUT: n = n / 2; break;
        case CUT_HEADER: n = 12; break;
        case TRAILING: memcpy(b + n, "abc", 3); n += 3; break;
        case LENGTH: put_u32(b + 12, 3); put_u32(b + 16, 0); break;
        case NONE: break;
        }
        write_bytes(path, b, n);
        free(b);
    } else {
        write_bytes(path, c->data, len);
    }
    return path;
}

static void test_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        char path[512], path2[512];
        make_input(c, path, sizeof path, path2, sizeof path2);
        bp_status st = BP_ERR_ARG;
        void *out = (void *)1;
        bp_error(BP_OK, "%s", ""); /* clear the message */
        switch (c->reader) {
        case CSV:
        case CSV_REGRESSION:
        case CSV_CLASSES: {
            bp_csv_options o;
            bp_csv_options_default(&o);
            o.task = c->reader == CSV_REGRESSION ? 0 : c->reader == CSV_CLASSES ? 1 : -1;
            if (c->reader == CSV_CLASSES && strstr(c->name, "out of range"))
                o.n_classes = 2;
            bp_dataset *ds = (bp_dataset *)out;
            st = bp_dataset_read_csv(&ds, path, &o);
            out = ds;
            bp_dataset_free(ds);
            break;
        }
        case FANN: {
            bp_dataset *ds = (bp_dataset *)out;
            st = bp_dataset_read_fann(&ds, path);
            out = ds;
            bp_dataset_free(ds);
            break;
        }
        case IDX:
        case IDX_GZ:
        case IDX_PAIR: {
            bp_dataset *ds = (bp_dataset *)out;
            st = bp_dataset_read_idx(&ds, path, c->reader == IDX_PAIR ? path2 : NULL);
            out = ds;
            bp_dataset_free(ds);
            break;
        }
        case NET: {
            bp_net *net = (bp_net *)out;
            bp_sample sample;
            st = bp_net_read_text(&net, &sample, path);
            out = net;
            if (st == BP_OK)
                bp_sample_clear(&sample);
            else if (sample.input || sample.target)
                out = (void *)2; /* a failed read must not hand out sample arrays */
            bp_net_free(net);
            break;
        }
        case MODEL: {
            bp_net *net = (bp_net *)out;
            st = bp_net_load(&net, path);
            out = net;
            bp_net_free(net);
            if (st == c->want && st != BP_OK) { /* load_any must say the same */
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", bp_errmsg());
                bp_net *any = (bp_net *)1;
                if (bp_net_load_any(&any, path) != c->want || any || strcmp(msg, bp_errmsg())) {
                    print_error("case \"%s\": bp_net_load_any differs: %s\n", c->name, bp_errmsg());
                    failures++;
                }
                bp_error(c->want, "%s", msg);
            }
            break;
        }
        case CHECKPOINT: {
            bp_net *net = (bp_net *)out;
            bp_trainer *tr = (bp_trainer *)1;
            st = bp_checkpoint_load(path, &net, &tr);
            out = net ? (void *)net : (void *)tr;
            bp_trainer_free(tr);
            bp_net_free(net);
            break;
        }
        default:
            fail();
        }
        if (st != c->want) {
            print_error("case \"%s\": %s (%s), expected %s\n", c->name, bp_status_string(st),
                        bp_errmsg(), bp_status_string(c->want));
            failures++;
            continue;
        }
        if (st != BP_OK) {
            if (out) {
                print_error("case \"%s\": output not NULL after a failure\n", c->name);
                failures++;
            }
            char want[512];
            if (!strncmp(c->frag, "%F", 2))
                snprintf(want, sizeof want, "%s%s", path, c->frag + 2);
            else
                snprintf(want, sizeof want, "%s", c->frag);
            if (!strstr(bp_errmsg(), want)) {
                print_error("case \"%s\": message \"%s\" lacks \"%s\"\n", c->name, bp_errmsg(),
                            want);
                failures++;
            }
        }
    }
    print_message("bad-input table: %zu cases\n", sizeof cases / sizeof cases[0]);
    assert_int_equal(failures, 0);
}

/* No "*.tmp.*" file in the directory. */
static void assert_no_temporaries(void)
{
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp."))
            fail_msg("temporary file %s/%s left behind", tmpdir, e->d_name);
    closedir(d);
}

static void test_save_failures_keep_the_old_file(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/keep.bpm", tmpdir);
    save_reference_model(path);
    size_t n0;
    unsigned char *before = read_bytes(path, &n0);

    /* A bigger net whose file cannot fit under a 4 KiB file-size limit. */
    bp_layer_spec L[2] = {BP_LAYER(64, BP_ACT_RELU, 1, 0), BP_LAYER(8, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *big;
    assert_ok(bp_net_create(&big, 32, 2, L, BP_LOSS_XENT));
    assert_ok(bp_net_init(big, BP_INIT_HE, 1));

    /* Missing directory. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.bpm", tmpdir);
    assert_int_equal(bp_net_save(big, bad), BP_ERR_IO);
    assert_errmsg_contains(bad);
    assert_errmsg_contains("No such file or directory");

    /* "Disk full": writes past the limit fail with EFBIG once SIGXFSZ is ignored. */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    bp_status st = bp_net_save(big, path);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", bp_errmsg());
    bp_sample sample = {0};
    bp_status st_text = bp_net_write_text(big, &sample, path);
    char msg_text[1024];
    snprintf(msg_text, sizeof msg_text, "%s", bp_errmsg());
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, BP_ERR_IO);
    if (!strstr(msg, "File too large") || !strstr(msg, "previous file left unchanged") ||
        !strstr(msg, path))
        fail_msg("save message: %s", msg);
    assert_int_equal(st_text, BP_ERR_IO);
    if (!strstr(msg_text, path) || !strstr(msg_text, "previous file left unchanged"))
        fail_msg("text save message: %s", msg_text);

    size_t n1;
    unsigned char *after = read_bytes(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    assert_no_temporaries();
    /* And the old file still loads. */
    bp_net *back;
    assert_ok(bp_net_load(&back, path));
    bp_net_free(back);
    free(before);
    free(after);
    bp_net_free(big);
}

static void test_null_arguments(void **state)
{
    (void)state;
    bp_dataset *ds = (bp_dataset *)1;
    assert_int_equal(bp_dataset_read_csv(&ds, NULL, NULL), BP_ERR_ARG);
    assert_null(ds);
    assert_int_equal(bp_dataset_read_csv(NULL, "x.csv", NULL), BP_ERR_ARG);
    assert_errmsg_contains("bp_dataset_read_csv");
    ds = (bp_dataset *)1;
    assert_int_equal(bp_dataset_read_idx(&ds, NULL, NULL), BP_ERR_ARG);
    assert_null(ds);
    bp_net *net = (bp_net *)1;
    assert_int_equal(bp_net_parse_text(&net, NULL, NULL, 0, "x"), BP_ERR_ARG);
    assert_int_equal(bp_net_load(NULL, "x"), BP_ERR_ARG);
    assert_int_equal(bp_net_save(NULL, "x"), BP_ERR_ARG);
    bp_csv_options o;
    bp_csv_options_default(&o);
    o.header = 5;
    char path[256];
    write_temp_file(path, sizeof path, ".csv", "a,b\n1,2\n", 8);
    assert_int_equal(bp_dataset_read_csv(&ds, path, &o), BP_ERR_ARG);
    assert_null(ds);
    unlink(path);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_save_failures_keep_the_old_file),
        cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
