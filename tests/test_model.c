/* Binary model files: round trips, the documented byte layout, and rejection
 * of every corrupt, truncated, hostile or future file; atomic saves. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <zlib.h>

#include "testutil.h"
#include "io/io_internal.h"
#include "nn/nn_internal.h"

static const unsigned char MAGIC[8] = {0x89, 'B', 'P', 'M', '\r', '\n', 0x1a, '\n'};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static char tmp_paths[256][256];
static int n_tmp_paths;

/* A fresh path under /tmp (not created), removed at the end of the test. */
static const char *tmp_path(const char *suffix)
{
    static unsigned counter;
    if (n_tmp_paths == 256)
        fail_msg("%s", "too many temporary paths");
    char *p = tmp_paths[n_tmp_paths++];
    snprintf(p, 256, "/tmp/bp_model_test_%ld_%u%s", (long)getpid(), counter++, suffix);
    unlink(p);
    return p;
}

static int teardown_tmp(void **state)
{
    (void)state;
    for (int i = 0; i < n_tmp_paths; i++)
        unlink(tmp_paths[i]);
    n_tmp_paths = 0;
    return 0;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    *len = n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        fail_msg("cannot create %s", path);
    if (len && fwrite(data, 1, len, fp) != len)
        fail_msg("cannot write %s", path);
    fclose(fp);
}

static void assert_msg_starts_with_path(const char *path)
{
    size_t n = strlen(path);
    if (strncmp(bp_errmsg(), path, n) != 0 || bp_errmsg()[n] != ':')
        fail_msg("message \"%s\" does not start with \"%s:\"", bp_errmsg(), path);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Recomputes the CRC trailer after a deliberate edit. */
static void fix_crc(unsigned char *data, size_t len)
{
    uLong c = crc32(crc32(0L, Z_NULL, 0), data, (uInt)(len - 4));
    wr32(data + len - 4, (uint32_t)c);
}

static bp_net *make_net(int n_inputs, int n_layers, const bp_layer_spec *spec, bp_loss loss,
                        uint64_t seed)
{
    bp_net *net;
    assert_ok(bp_net_create(&net, n_inputs, n_layers, spec, loss));
    assert_ok(bp_net_init(net, BP_INIT_XAVIER, seed));
    /* Non-zero biases so they are checked too. */
    for (int l = 0; l < n_layers; l++) {
        float *b = bp_net_biases(net, l);
        if (b)
            for (int j = 0; j < spec[l].units; j++)
                b[j] = 0.125f * (float)(j + 1) - 0.3f * (float)l;
    }
    return net;
}

/* A small net with scaling and metadata, for the corruption loops. */
static bp_net *small_net(void)
{
    bp_layer_spec spec[2] = {BP_LAYER(3, BP_ACT_TANH, 1, 0), BP_LAYER(2, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net = make_net(2, 2, spec, BP_LOSS_XENT, 7);
    float shift[2] = {0.5f, -1.0f}, scale[2] = {2.0f, 0.25f};
    assert_ok(bp_net_set_scaling(net, shift, scale));
    assert_ok(bp_net_set_meta(net, "dataset", "xor"));
    assert_ok(bp_net_set_meta(net, "epochs", "12"));
    return net;
}

static void assert_same_net(const bp_net *a, const bp_net *b)
{
    assert_int_equal(bp_net_inputs(a), bp_net_inputs(b));
    assert_int_equal(bp_net_layers(a), bp_net_layers(b));
    assert_int_equal(bp_net_loss(a), bp_net_loss(b));
    for (int l = 0; l < bp_net_layers(a); l++) {
        bp_layer_spec x = bp_net_layer(a, l), y = bp_net_layer(b, l);
        assert_int_equal(x.units, y.units);
        assert_int_equal(x.act, y.act);
        assert_int_equal(x.bias, y.bias);
        assert_memory_equal(&x.slope, &y.slope, sizeof(float));
    }
    assert_int_equal(bp_net_param_count(a), bp_net_param_count(b));
    assert_memory_equal(bp_net_params_const(a), bp_net_params_const(b),
                        bp_net_param_count(a) * sizeof(float));
    const float *sa, *ka, *sb, *kb;
    int ha = bp_net_scaling(a, &sa, &ka), hb = bp_net_scaling(b, &sb, &kb);
    assert_int_equal(ha, hb);
    if (ha) {
        assert_memory_equal(sa, sb, (size_t)bp_net_inputs(a) * sizeof(float));
        assert_memory_equal(ka, kb, (size_t)bp_net_inputs(a) * sizeof(float));
    }
    assert_int_equal(bp_net_meta_count(a), bp_net_meta_count(b));
    for (int i = 0; i < bp_net_meta_count(a); i++) {
        const char *k1, *v1, *k2, *v2;
        bp_net_meta_at(a, i, &k1, &v1);
        bp_net_meta_at(b, i, &k2, &v2);
        assert_string_equal(k1, k2);
        assert_string_equal(v1, v2);
    }
}

/* bp_predict on a few rows gives the same bits for both nets. */
static void assert_same_predictions(const bp_net *a, const bp_net *b)
{
    enum { ROWS = 5 };
    int in = bp_net_inputs(a), out = bp_net_outputs(a);
    float *x = malloc(sizeof(float) * ROWS * (size_t)in);
    float *ya = malloc(sizeof(float) * ROWS * (size_t)out);
    float *yb = malloc(sizeof(float) * ROWS * (size_t)out);
    for (int i = 0; i < ROWS * in; i++)
        x[i] = (float)((i * 37) % 11) / 5.0f - 1.0f;
    bp_workspace *ws;
    assert_ok(bp_workspace_create(&ws, a, 4, 1));
    assert_ok(bp_predict(a, ws, x, ROWS, ya));
    bp_workspace_free(ws);
    assert_ok(bp_workspace_create(&ws, b, 4, 1));
    assert_ok(bp_predict(b, ws, x, ROWS, yb));
    bp_workspace_free(ws);
    assert_memory_equal(ya, yb, sizeof(float) * ROWS * (size_t)out);
    free(x);
    free(ya);
    free(yb);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */
/* ------------------------------------------------------------------ */

static void roundtrip(const bp_net *net)
{
    const char *path = tmp_path(".bpm");
    assert_ok(bp_net_save(net, path));
    bp_net *back = NULL;
    assert_ok(bp_net_load(&back, path));
    assert_same_net(net, back);
    assert_same_predictions(net, back);
    bp_net_free(back);
    /* Saving the loaded net gives the same bytes. */
    size_t n1, n2;
    unsigned char *d1 = slurp(path, &n1);
    assert_ok(bp_net_load(&back, path));
    const char *path2 = tmp_path(".bpm");
    assert_ok(bp_net_save(back, path2));
    unsigned char *d2 = slurp(path2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(d1, d2, n1);
    free(d1);
    free(d2);
    bp_net_free(back);
}

static void test_roundtrip_every_activation(void **state)
{
    (void)state;
    const bp_activation hidden[] = {BP_ACT_LINEAR, BP_ACT_SIGMOID, BP_ACT_TANH, BP_ACT_RELU,
                                    BP_ACT_LEAKY_RELU};
    for (size_t h = 0; h < sizeof hidden / sizeof hidden[0]; h++)
        for (int bias = 0; bias < 2; bias++) {
            bp_layer_spec spec[3] = {BP_LAYER(4, hidden[h], bias, hidden[h] == BP_ACT_LEAKY_RELU ? 0.2f : 0),
                                     BP_LAYER(3, BP_ACT_LEAKY_RELU, !bias, BP_SLOPE_DEFAULT),
                                     BP_LAYER(2, hidden[h], 1, 0.05f)};
            bp_net *net = make_net(3, 3, spec, BP_LOSS_MSE, 100 + h * 2 + (size_t)bias);
            roundtrip(net);
            bp_net_free(net);
        }
    /* Output activations with their losses. */
    bp_layer_spec soft[2] = {BP_LAYER(5, BP_ACT_RELU, 1, 0), BP_LAYER(3, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net = make_net(4, 2, soft, BP_LOSS_XENT, 1);
    roundtrip(net);
    bp_net_free(net);
    bp_layer_spec sig[1] = {BP_LAYER(1, BP_ACT_SIGMOID, 0, 0)};
    net = make_net(6, 1, sig, BP_LOSS_BCE, 2);
    roundtrip(net);
    bp_net_free(net);
}

static void test_roundtrip_scaling_and_metadata(void **state)
{
    (void)state;
    bp_net *net = small_net();
    roundtrip(net);
    /* Awkward floats: negative zero, denormals, extremes. */
    float *p = bp_net_params(net);
    p[0] = -0.0f;
    p[1] = 1e-40f;
    p[2] = 3.4028235e38f;
    p[3] = -1.17549435e-38f;
    char key[BP_META_KEY_MAX], value[BP_META_VALUE_MAX];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    assert_ok(bp_net_set_meta(net, key, value));
    assert_ok(bp_net_set_meta(net, "empty", ""));
    assert_ok(bp_net_set_meta(net, "utf8", "caf\xc3\xa9 \xe2\x86\x92 ok"));
    roundtrip(net);
    /* Removing the scaling round-trips too. */
    assert_ok(bp_net_set_scaling(net, NULL, NULL));
    roundtrip(net);
    bp_net_free(net);
}

static void test_roundtrip_max_metadata(void **state)
{
    (void)state;
    bp_net *net = small_net();
    for (int i = bp_net_meta_count(net); i < BP_META_MAX; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "value %d", i * i);
        assert_ok(bp_net_set_meta(net, k, v));
    }
    assert_int_equal(bp_net_meta_count(net), BP_META_MAX);
    roundtrip(net);
    bp_net_free(net);
}

static void test_roundtrip_wide_net(void **state)
{
    (void)state;
    /* Larger than the writer's 64 KiB staging buffer. */
    bp_layer_spec spec[2] = {BP_LAYER(300, BP_ACT_RELU, 1, 0), BP_LAYER(10, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *net = make_net(200, 2, spec, BP_LOSS_XENT, 99);
    roundtrip(net);
    bp_net_free(net);
}

static void test_blob_roundtrip(void **state)
{
    (void)state;
    bp_net *net = small_net();
    const char *path = tmp_path(".bpm");
    unsigned char blob[1000];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (unsigned char)(i * 131 + 7);
    assert_ok(bp_model_write(path, net, blob, sizeof blob));

    bp_net *back = NULL;
    unsigned char *got = NULL;
    size_t got_len = 0;
    assert_ok(bp_model_read(path, &back, &got, &got_len));
    assert_non_null(got);
    assert_int_equal(got_len, sizeof blob);
    assert_memory_equal(got, blob, sizeof blob);
    assert_same_net(net, back);
    free(got);
    bp_net_free(back);

    /* A plain load ignores the blob. */
    assert_ok(bp_net_load(&back, path));
    assert_same_net(net, back);
    bp_net_free(back);

    /* An empty blob is still present. */
    assert_ok(bp_model_write(path, net, blob, 0));
    assert_ok(bp_model_read(path, &back, &got, &got_len));
    assert_non_null(got);
    assert_int_equal(got_len, 0);
    free(got);
    bp_net_free(back);

    /* No blob: NULL, 0. */
    assert_ok(bp_model_write(path, net, NULL, 0));
    got = (unsigned char *)"x";
    got_len = 5;
    assert_ok(bp_model_read(path, &back, &got, &got_len));
    assert_null(got);
    assert_int_equal(got_len, 0);
    bp_net_free(back);

    /* The blob may be ignored by passing NULL. */
    assert_ok(bp_model_write(path, net, blob, sizeof blob));
    assert_ok(bp_model_read(path, &back, NULL, NULL));
    bp_net_free(back);
    bp_net_free(net);
}

/* ------------------------------------------------------------------ */
/* The documented layout, written independently of model.c            */
/* ------------------------------------------------------------------ */

typedef struct {
    unsigned char *d;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void put32(buf *b, uint32_t v)
{
    unsigned char t[4];
    wr32(t, v);
    put(b, t, 4);
}
static void put64(buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}
static void putf(buf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put32(b, u);
}
static void put_section(buf *b, const char *tag, uint32_t flags, const buf *payload)
{
    put(b, tag, 4);
    put32(b, flags);
    put64(b, payload->n);
    put(b, payload->d, payload->n);
}
/* Header with a placeholder length, sections, then length and CRC fixed up. */
static void begin_file(buf *b, uint32_t version)
{
    b->n = 0;
    put(b, MAGIC, 8);
    put32(b, version);
    put64(b, 0);
}
static void end_file(buf *b)
{
    put32(b, 0);
    uint64_t total = b->n;
    for (int i = 0; i < 8; i++)
        b->d[12 + i] = (unsigned char)(total >> (8 * i));
    fix_crc(b->d, b->n);
}

/* The parts of a 2-2-1 net (sigmoid, sigmoid, mse; bias on layer 1 only). */
typedef struct {
    buf arch, parm, scal, meta, schm;
} parts;

static void make_parts(parts *p)
{
    memset(p, 0, sizeof *p);
    put32(&p->arch, 2); /* inputs */
    put32(&p->arch, 2); /* layers */
    put32(&p->arch, 0); /* mse */
    put32(&p->arch, 2); /* layer 1: 2 units, sigmoid, bias, slope */
    put32(&p->arch, 1);
    put32(&p->arch, 1);
    putf(&p->arch, 0.01f);
    put32(&p->arch, 1); /* layer 2: 1 unit, sigmoid, no bias */
    put32(&p->arch, 1);
    put32(&p->arch, 0);
    putf(&p->arch, 0.01f);
    const float params[] = {0.15f, 0.2f, 0.25f, 0.3f, 0.35f, 0.35f, 0.4f, 0.45f};
    put64(&p->parm, 8);
    for (int i = 0; i < 8; i++)
        putf(&p->parm, params[i]);
    put32(&p->scal, 0);
    put32(&p->scal, 0);
    put32(&p->meta, 1);
    put32(&p->meta, 4);
    put(&p->meta, "name", 4);
    put32(&p->meta, 7);
    put(&p->meta, "article", 7);
    /* SCHM (version 2): task unknown, no input, target or class names. */
    for (int i = 0; i < 5; i++)
        put32(&p->schm, 0);
}

static void free_parts(parts *p)
{
    free(p->arch.d);
    free(p->parm.d);
    free(p->scal.d);
    free(p->meta.d);
    free(p->schm.d);
}

static void build(buf *b, const parts *p)
{
    begin_file(b, 2);
    put_section(b, "ARCH", 1, &p->arch);
    put_section(b, "PARM", 1, &p->parm);
    put_section(b, "SCAL", 1, &p->scal);
    put_section(b, "META", 0, &p->meta);
    put_section(b, "SCHM", 0, &p->schm);
    end_file(b);
}

static void test_layout_matches_documentation(void **state)
{
    (void)state;
    parts p;
    make_parts(&p);
    buf expect = {0};
    build(&expect, &p);

    bp_layer_spec spec[2] = {BP_LAYER(2, BP_ACT_SIGMOID, 1, BP_SLOPE_DEFAULT), BP_LAYER(1, BP_ACT_SIGMOID, 0, BP_SLOPE_DEFAULT)};
    bp_net *net;
    assert_ok(bp_net_create(&net, 2, 2, spec, BP_LOSS_MSE));
    const float params[] = {0.15f, 0.2f, 0.25f, 0.3f, 0.35f, 0.35f, 0.4f, 0.45f};
    memcpy(bp_net_params(net), params, sizeof params);
    assert_ok(bp_net_set_meta(net, "name", "article"));
    const char *path = tmp_path(".bpm");
    assert_ok(bp_net_save(net, path));
    size_t n;
    unsigned char *got = slurp(path, &n);
    assert_int_equal(n, expect.n);
    assert_memory_equal(got, expect.d, n);
    /* Spot checks of the table in docs/model-format.md. */
    assert_memory_equal(got, "\x89" "BPM\r\n\x1a\n", 8);
    assert_int_equal(rd32(got + 8), 2);
    assert_int_equal(rd32(got + 12), n);
    assert_memory_equal(got + 20, "ARCH", 4);
    free(got);
    bp_net_free(net);
    free(expect.d);
    free_parts(&p);
}

/* Writes b to a fresh file and expects loading it to fail with `status`
 * and a message holding `needle` (after the path). */
static void expect_reject(const buf *b, bp_status status, const char *needle)
{
    const char *path = tmp_path(".bpm");
    spit(path, b->d, b->n);
    bp_net *net = (bp_net *)1;
    bp_status st = bp_net_load(&net, path);
    if (st == BP_OK)
        fail_msg("loading succeeded; expected \"%s\"", needle);
    assert_null(net);
    if (st != status)
        fail_msg("status %s (%s), expected %s", bp_status_string(st), bp_errmsg(),
                 bp_status_string(status));
    assert_msg_starts_with_path(path);
    assert_errmsg_contains(needle);
}

static void test_handmade_file_loads(void **state)
{
    (void)state;
    parts p;
    make_parts(&p);
    buf b = {0};
    build(&b, &p);
    const char *path = tmp_path(".bpm");
    spit(path, b.d, b.n);
    bp_net *net;
    assert_ok(bp_net_load(&net, path));
    assert_int_equal(bp_net_param_count(net), 8);
    assert_true(bp_net_params(net)[7] == 0.45f);
    assert_string_equal(bp_net_get_meta(net, "name"), "article");
    bp_net_free(net);

    /* Sections in another order, an unknown optional section, and no SCAL/META. */
    begin_file(&b, 1);
    buf extra = {0};
    put(&extra, "future", 6);
    put_section(&b, "PARM", 1, &p.parm);
    put_section(&b, "XTRA", 0, &extra);
    put_section(&b, "ARCH", 1, &p.arch);
    end_file(&b);
    spit(path, b.d, b.n);
    assert_ok(bp_net_load(&net, path));
    assert_int_equal(bp_net_meta_count(net), 0);
    assert_int_equal(bp_net_scaling(net, NULL, NULL), 0);
    bp_net_free(net);
    free(extra.d);
    free(b.d);
    free_parts(&p);
}

static void test_hostile_files(void **state)
{
    (void)state;
    parts p;
    buf b = {0}, s = {0};

    /* Unknown required section. */
    make_parts(&p);
    begin_file(&b, 1);
    put_section(&b, "ARCH", 1, &p.arch);
    put_section(&b, "PARM", 1, &p.parm);
    put_section(&b, "NEW!", 1, &p.meta);
    end_file(&b);
    expect_reject(&b, BP_ERR_FORMAT, "\"NEW!\" at byte");

    /* Missing ARCH, duplicate PARM. */
    begin_file(&b, 1);
    put_section(&b, "PARM", 1, &p.parm);
    end_file(&b);
    expect_reject(&b, BP_ERR_FORMAT, "required section ARCH is missing");
    begin_file(&b, 1);
    put_section(&b, "ARCH", 1, &p.arch);
    put_section(&b, "PARM", 1, &p.parm);
    put_section(&b, "PARM", 1, &p.parm);
    end_file(&b);
    expect_reject(&b, BP_ERR_FORMAT, "appears twice");

    /* A section length past the end of the file. */
    begin_file(&b, 1);
    put_section(&b, "ARCH", 1, &p.arch);
    put_section(&b, "PARM", 1, &p.parm);
    wr32(b.d + b.n - p.parm.n - 8, 0xffffffffu);
    wr32(b.d + b.n - p.parm.n - 4, 0xffffffffu);
    end_file(&b);
    expect_reject(&b, BP_ERR_FORMAT, "claims 18446744073709551615 bytes");
    free_parts(&p);

    /* Too many layers, too many units, bad codes. */
    struct {
        size_t off;
        uint32_t value;
        const char *needle;
    } arch_edits[] = {
        {0, 0, "0 inputs"},
        {0, BP_MAX_UNITS + 1, "inputs is outside"},
        {4, BP_MAX_LAYERS + 1, "65 layers"},
        {4, 0xffffffffu, "layers is outside"},
        {8, 3, "unknown loss code 3"},
        {12, BP_MAX_UNITS + 1, "layer 1: 1048577 units"},
        {12, 0, "layer 1: 0 units"},
        {16, 6, "layer 1: unknown activation code 6"},
        {20, 2, "bias flag is 2"},
        {24, 0x7fc00000u, "slope"},       /* NaN */
        {24, 0x3f800000u, "slope"},       /* 1.0 */
        {16, 5, "softmax is only allowed"}, /* softmax on a hidden layer */
        {8, 1, "xent needs a softmax"},
    };
    for (size_t i = 0; i < sizeof arch_edits / sizeof arch_edits[0]; i++) {
        make_parts(&p);
        wr32(p.arch.d + arch_edits[i].off, arch_edits[i].value);
        build(&b, &p);
        expect_reject(&b, BP_ERR_FORMAT, arch_edits[i].needle);
        free_parts(&p);
    }

    /* A huge net claimed by a tiny file: caught before any allocation. */
    make_parts(&p);
    wr32(p.arch.d + 12, BP_MAX_UNITS);
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "holds 8 parameters but its architecture has 4194304");
    free_parts(&p);
    /* 64 layers of 2^20 units would overflow 32 bits many times over. */
    s.n = 0;
    put32(&s, BP_MAX_UNITS);
    put32(&s, BP_MAX_LAYERS);
    put32(&s, 0);
    for (int l = 0; l < BP_MAX_LAYERS; l++) {
        put32(&s, BP_MAX_UNITS);
        put32(&s, 1);
        put32(&s, 1);
        putf(&s, 0.01f);
    }
    make_parts(&p);
    begin_file(&b, 1);
    put_section(&b, "ARCH", 1, &s);
    put_section(&b, "PARM", 1, &p.parm);
    end_file(&b);
    expect_reject(&b, BP_ERR_FORMAT, "more than");
    free_parts(&p);

    /* ARCH shorter or longer than its layer table. */
    make_parts(&p);
    p.arch.n -= 4;
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "too short for the layer table");
    p.arch.n += 8;
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "unexpected bytes");
    free_parts(&p);

    /* Parameter count disagreeing with the architecture, or with its bytes. */
    make_parts(&p);
    p.parm.d[0] = 9;
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "holds 9 parameters but its architecture has 8");
    p.parm.d[0] = 8;
    p.parm.n -= 1;
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "too short for the parameters");
    p.parm.n += 2;
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "unexpected bytes");
    free_parts(&p);

    /* Non-finite parameters, named by layer. */
    make_parts(&p);
    wr32(p.parm.d + 8 + 4 * 7, 0x7fc00000u); /* second weight of the output neuron */
    build(&b, &p);
    expect_reject(&b, BP_ERR_NUMERIC, "layer 2: weight of neuron 1 from input 2 is not finite");
    free_parts(&p);
    make_parts(&p);
    wr32(p.parm.d + 8 + 4 * 5, 0xff800000u); /* bias of hidden neuron 2 = -inf */
    build(&b, &p);
    expect_reject(&b, BP_ERR_NUMERIC, "layer 1: bias of neuron 2 is not finite");
    free_parts(&p);

    /* Scaling: wrong count, bad flag, non-finite entry. */
    make_parts(&p);
    wr32(p.scal.d, 1);
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "scaling covers 0 inputs, the net has 2");
    wr32(p.scal.d, 2);
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "scaling flag is 2");
    p.scal.n = 0;
    put32(&p.scal, 1);
    put32(&p.scal, 2);
    putf(&p.scal, 0);
    putf(&p.scal, 0);
    putf(&p.scal, 1);
    putf(&p.scal, INFINITY);
    build(&b, &p);
    expect_reject(&b, BP_ERR_NUMERIC, "scaling of input 2 is not finite");
    free_parts(&p);

    /* Metadata: huge lengths, too many entries, NUL bytes, duplicates, bad keys. */
    struct {
        size_t off;
        uint32_t value;
        const char *needle;
    } meta_edits[] = {
        {0, 65, "65 metadata entries"},
        {0, 2, "too short for a metadata key length"},
        {4, 0xfffffff0u, "key length 4294967280 is outside 1..63"},
        {4, 0, "key length 0"},
        {12, 0xffffffffu, "value length 4294967295 is outside 0..255"},
        {12, 200, "too short for a metadata value"},
        {8, 0x00656d61u, "key contains a NUL byte"}, /* "ame\0" */
        {8, 0x656d6120u, "white space"},             /* " ame" */
    };
    for (size_t i = 0; i < sizeof meta_edits / sizeof meta_edits[0]; i++) {
        make_parts(&p);
        wr32(p.meta.d + meta_edits[i].off, meta_edits[i].value);
        build(&b, &p);
        expect_reject(&b, BP_ERR_FORMAT, meta_edits[i].needle);
        free_parts(&p);
    }
    make_parts(&p);
    wr32(p.meta.d, 2);
    put32(&p.meta, 4);
    put(&p.meta, "name", 4);
    put32(&p.meta, 0);
    build(&b, &p);
    expect_reject(&b, BP_ERR_FORMAT, "\"name\" appears twice");
    free_parts(&p);

    /* Header: impossible length; version 0. */
    make_parts(&p);
    build(&b, &p);
    b.d[12] = 3;
    memset(b.d + 13, 0, 7);
    expect_reject(&b, BP_ERR_FORMAT, "impossible file length");
    build(&b, &p);
    wr32(b.d + 8, 0);
    fix_crc(b.d, b.n);
    expect_reject(&b, BP_ERR_FORMAT, "version 0 is not valid");
    free_parts(&p);

    free(b.d);
    free(s.d);
}

/* ------------------------------------------------------------------ */
/* Corruption, truncation, wrong files                                */
/* ------------------------------------------------------------------ */

static void test_bad_magic(void **state)
{
    (void)state;
    char path[256];
    const char text[] = "backprop-net 1\ninputs 2\n";
    write_temp_file(path, sizeof path, ".bpm", text, sizeof text - 1);
    bp_net *net = (bp_net *)1;
    assert_int_equal(bp_net_load(&net, path), BP_ERR_FORMAT);
    assert_null(net);
    char expect[320];
    snprintf(expect, sizeof expect, "%s: not a backprop model file (bad magic)", path);
    assert_string_equal(bp_errmsg(), expect);
    unlink(path);
}

static void test_future_version(void **state)
{
    (void)state;
    bp_net *net = small_net();
    const char *path = tmp_path(".bpm");
    assert_ok(bp_net_save(net, path));
    bp_net_free(net);
    size_t n;
    unsigned char *d = slurp(path, &n);
    wr32(d + 8, 7);
    fix_crc(d, n); /* a real future file would have a valid checksum */
    spit(path, d, n);
    net = (bp_net *)1;
    assert_int_equal(bp_net_load(&net, path), BP_ERR_FORMAT);
    assert_null(net);
    char expect[320];
    snprintf(expect, sizeof expect,
             "%s: model format version 7 is newer than this build reads (2)", path);
    assert_string_equal(bp_errmsg(), expect);
    /* Even with the rest of the file not in a layout we know. */
    wr32(d + 8, 3);
    memset(d + 12, 0xee, n - 12);
    spit(path, d, n);
    assert_int_equal(bp_net_load(&net, path), BP_ERR_FORMAT);
    assert_errmsg_contains("version 3 is newer");
    free(d);
}

static void test_every_flipped_byte_rejected(void **state)
{
    (void)state;
    bp_net *net = small_net();
    const char *path = tmp_path(".bpm"), *bad = tmp_path(".bpm");
    assert_ok(bp_net_save(net, path));
    bp_net_free(net);
    size_t n;
    unsigned char *d = slurp(path, &n);
    assert_true(n > 100);
    const unsigned char masks[] = {0x01, 0x80, 0xff, 0x5a};
    for (size_t off = 0; off < n; off++)
        for (size_t m = 0; m < sizeof masks; m++) {
            d[off] ^= masks[m];
            spit(bad, d, n);
            d[off] ^= masks[m];
            bp_net *got = (bp_net *)1;
            bp_status st = bp_net_load(&got, bad);
            if (st == BP_OK)
                fail_msg("flipping byte %zu with 0x%02x was not detected", off, masks[m]);
            assert_null(got);
            assert_int_equal(st, BP_ERR_FORMAT);
            assert_msg_starts_with_path(bad);
            if (off >= 20 && !strstr(bp_errmsg(), "checksum mismatch: file is corrupt"))
                fail_msg("byte %zu: \"%s\"", off, bp_errmsg());
        }
    /* And the untouched file still loads. */
    assert_ok(bp_net_load(&net, path));
    bp_net_free(net);
    free(d);
}

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    bp_net *net = small_net();
    const char *path = tmp_path(".bpm"), *bad = tmp_path(".bpm");
    unsigned char blob[40] = {1, 2, 3};
    assert_ok(bp_model_write(path, net, blob, sizeof blob));
    bp_net_free(net);
    size_t n;
    unsigned char *d = slurp(path, &n);
    for (size_t len = 0; len < n; len++) {
        spit(bad, d, len);
        bp_net *got = (bp_net *)1;
        bp_status st = bp_net_load(&got, bad);
        if (st == BP_OK)
            fail_msg("truncation to %zu of %zu bytes was not detected", len, n);
        assert_null(got);
        assert_int_equal(st, BP_ERR_FORMAT);
        assert_msg_starts_with_path(bad);
        assert_errmsg_contains(": truncated: ");
        char more[64];
        snprintf(more, sizeof more, "expected %zu more bytes", (len < 20 ? 20 : n) - len);
        assert_errmsg_contains(more);
    }
    /* One byte too many is refused as well. */
    d = realloc(d, n + 1);
    d[n] = 0;
    spit(bad, d, n + 1);
    assert_int_equal(bp_net_load(&net, bad), BP_ERR_FORMAT);
    assert_errmsg_contains("1 unexpected bytes after the end");
    free(d);
}

static void test_empty_file_and_directory(void **state)
{
    (void)state;
    const char *path = tmp_path(".bpm");
    spit(path, "", 0);
    bp_net *net = (bp_net *)1;
    assert_int_equal(bp_net_load(&net, path), BP_ERR_FORMAT);
    assert_null(net);
    assert_msg_starts_with_path(path);
    assert_errmsg_contains("truncated");

    net = (bp_net *)1;
    assert_int_equal(bp_net_load(&net, "/tmp"), BP_ERR_IO);
    assert_null(net);
    assert_msg_starts_with_path("/tmp");

    net = (bp_net *)1;
    assert_int_equal(bp_net_load(&net, "/nonexistent/m.bpm"), BP_ERR_IO);
    assert_null(net);
    assert_msg_starts_with_path("/nonexistent/m.bpm");

    assert_int_equal(bp_net_load(NULL, path), BP_ERR_ARG);
    assert_int_equal(bp_net_load(&net, NULL), BP_ERR_ARG);
}

/* ------------------------------------------------------------------ */
/* Atomic saves                                                        */
/* ------------------------------------------------------------------ */

/* Counts directory entries of /tmp that start with `prefix` (temporaries). */
static int count_with_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot list %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static void assert_file_is(const char *path, const void *data, size_t len)
{
    size_t n;
    unsigned char *got = slurp(path, &n);
    assert_int_equal(n, len);
    assert_memory_equal(got, data, len);
    free(got);
}

static void test_failed_saves_leave_target_untouched(void **state)
{
    (void)state;
    const char old[] = "previous contents, not a model\n";
    const char *path = tmp_path(".bpm");
    spit(path, old, sizeof old - 1);
    const char *base = strrchr(path, '/') + 1;
    char tmp_prefix[256];
    snprintf(tmp_prefix, sizeof tmp_prefix, "%s.tmp.", base);

    /* NULL net. */
    assert_int_equal(bp_net_save(NULL, path), BP_ERR_ARG);
    assert_file_is(path, old, sizeof old - 1);

    /* A net with a NaN parameter: refused before the file is touched. */
    bp_net *net = small_net();
    float keep = bp_net_params(net)[4];
    bp_net_params(net)[4] = NAN;
    assert_int_equal(bp_net_save(net, path), BP_ERR_NUMERIC);
    assert_msg_starts_with_path(path);
    assert_errmsg_contains("layer 1: weight of neuron 3 from input 1 is not finite");
    assert_file_is(path, old, sizeof old - 1);
    bp_net_params(net)[4] = keep;

    /* A directory that does not exist. */
    assert_int_equal(bp_net_save(net, "/nonexistent/dir/m.bpm"), BP_ERR_IO);
    assert_msg_starts_with_path("/nonexistent/dir/m.bpm");

    /* The target is a directory: the rename fails, the directory stays and
     * no temporary is left behind. */
    const char *dir = tmp_path(".d");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(bp_net_save(net, dir), BP_ERR_IO);
    assert_msg_starts_with_path(dir);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    char dprefix[256];
    snprintf(dprefix, sizeof dprefix, "%s.tmp.", strrchr(dir, '/') + 1);
    assert_int_equal(count_with_prefix("/tmp", dprefix), 0);
    rmdir(dir);

    /* A write that fails half way (file size limit): the old file survives. */
    bp_layer_spec spec[2] = {BP_LAYER(200, BP_ACT_RELU, 1, 0), BP_LAYER(10, BP_ACT_SOFTMAX, 1, 0)};
    bp_net *big = make_net(300, 2, spec, BP_LOSS_XENT, 5);
    struct rlimit saved, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    small = saved;
    small.rlim_cur = 10000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    bp_status st = bp_net_save(big, path);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", bp_errmsg());
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_handler);
    if (st != BP_ERR_IO)
        fail_msg("save under a 10000-byte limit gave %s: %s", bp_status_string(st), msg);
    if (strncmp(msg, path, strlen(path)) != 0)
        fail_msg("message \"%s\" lacks the path", msg);
    if (!strstr(msg, "write failed: File too large (previous file left unchanged)"))
        fail_msg("unexpected message \"%s\"", msg);
    assert_file_is(path, old, sizeof old - 1);
    assert_int_equal(count_with_prefix("/tmp", tmp_prefix), 0);

    /* And a good save replaces it. */
    assert_ok(bp_net_save(big, path));
    bp_net *back;
    assert_ok(bp_net_load(&back, path));
    assert_same_net(big, back);
    assert_int_equal(count_with_prefix("/tmp", tmp_prefix), 0);
    bp_net_free(back);
    bp_net_free(big);
    bp_net_free(net);
}

/* ------------------------------------------------------------------ */
/* bp_net_load_any                                                     */
/* ------------------------------------------------------------------ */

static void test_load_any(void **state)
{
    (void)state;
    bp_net *net = small_net();
    const char *bin = tmp_path(".bpm"), *txt = tmp_path(".net");
    assert_ok(bp_net_save(net, bin));
    assert_ok(bp_net_write_text(net, NULL, txt));
    bp_net *a = NULL, *b = NULL;
    assert_ok(bp_net_load_any(&a, bin));
    assert_same_net(net, a);
    assert_ok(bp_net_load_any(&b, txt));
    assert_memory_equal(bp_net_params_const(net), bp_net_params_const(b),
                        bp_net_param_count(net) * sizeof(float));
    assert_same_predictions(net, b);
    bp_net_free(a);
    bp_net_free(b);

    /* A text file is not a binary model ... */
    assert_int_equal(bp_net_load(&a, txt), BP_ERR_FORMAT);
    assert_errmsg_contains("bad magic");
    /* ... a corrupt binary one is reported as such, not as bad text ... */
    size_t n;
    unsigned char *d = slurp(bin, &n);
    d[n / 2] ^= 1;
    spit(bin, d, n);
    free(d);
    assert_int_equal(bp_net_load_any(&a, bin), BP_ERR_FORMAT);
    assert_errmsg_contains("checksum mismatch");
    /* ... and a missing file is an I/O error naming it. */
    assert_int_equal(bp_net_load_any(&a, "/nonexistent/x.net"), BP_ERR_IO);
    assert_msg_starts_with_path("/nonexistent/x.net");
    bp_net_free(net);
}

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */
/* ------------------------------------------------------------------ */

static bp_dataset *xor_data(void)
{
    bp_dataset *ds;
    assert_ok(bp_dataset_create(&ds, 4, 2, 1));
    const float x[] = {0, 0, 0, 1, 1, 0, 1, 1}, y[] = {0, 1, 1, 0};
    memcpy(bp_dataset_x(ds), x, sizeof x);
    memcpy(bp_dataset_y(ds), y, sizeof y);
    return ds;
}

static void test_checkpoint_resume_bit_identical(void **state)
{
    (void)state;
    bp_layer_spec spec[2] = {BP_LAYER(4, BP_ACT_TANH, 1, 0), BP_LAYER(1, BP_ACT_SIGMOID, 1, 0)};
    bp_net *ref = make_net(2, 2, spec, BP_LOSS_MSE, 3);
    bp_net *net;
    assert_ok(bp_net_clone(ref, &net));
    bp_dataset *ds = xor_data();
    bp_train_options o;
    bp_train_options_default(&o);
    o.epochs = 6;
    o.batch_size = 2;
    o.learning_rate = 0.1f;
    o.seed = 11;

    /* Uninterrupted run. */
    bp_trainer *tr;
    assert_ok(bp_trainer_create(&tr, ref, &o));
    assert_ok(bp_trainer_run(tr, ds, NULL));
    bp_trainer_free(tr);

    /* Three epochs, checkpoint, resume from the file, three more. */
    o.epochs = 3;
    assert_ok(bp_trainer_create(&tr, net, &o));
    assert_ok(bp_trainer_run(tr, ds, NULL));
    const char *path = tmp_path(".ckpt");
    assert_ok(bp_checkpoint_save(tr, path));
    bp_trainer_free(tr);
    bp_net_free(net);

    bp_net *rnet = NULL;
    bp_trainer *rtr = NULL;
    assert_ok(bp_checkpoint_load(path, &rnet, &rtr));
    assert_int_equal(bp_trainer_epoch(rtr), 3);
    assert_ptr_equal(bp_trainer_net(rtr), rnet);
    bp_trainer_set_epochs(rtr, 6);
    assert_ok(bp_trainer_run(rtr, ds, NULL));
    assert_memory_equal(bp_net_params_const(ref), bp_net_params_const(rnet),
                        bp_net_param_count(ref) * sizeof(float));
    bp_trainer_free(rtr);
    bp_net_free(rnet);

    /* A checkpoint is also a model file. */
    assert_ok(bp_net_load(&rnet, path));
    bp_net_free(rnet);

    /* A plain model is not a checkpoint. */
    const char *model = tmp_path(".bpm");
    assert_ok(bp_net_save(ref, model));
    rnet = (bp_net *)1;
    rtr = (bp_trainer *)1;
    assert_int_equal(bp_checkpoint_load(model, &rnet, &rtr), BP_ERR_FORMAT);
    assert_null(rnet);
    assert_null(rtr);
    assert_errmsg_contains("not a checkpoint");

    /* A corrupt trainer state is rejected by the importer, with the path. */
    unsigned char junk[16] = {0xde, 0xad};
    assert_ok(bp_model_write(model, ref, junk, sizeof junk));
    assert_true(bp_checkpoint_load(model, &rnet, &rtr) != BP_OK);
    assert_null(rnet);
    assert_null(rtr);
    assert_msg_starts_with_path(model);

    bp_net_free(ref);
    bp_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_roundtrip_every_activation, teardown_tmp),
        cmocka_unit_test_teardown(test_roundtrip_scaling_and_metadata, teardown_tmp),
        cmocka_unit_test_teardown(test_roundtrip_max_metadata, teardown_tmp),
        cmocka_unit_test_teardown(test_roundtrip_wide_net, teardown_tmp),
        cmocka_unit_test_teardown(test_blob_roundtrip, teardown_tmp),
        cmocka_unit_test_teardown(test_layout_matches_documentation, teardown_tmp),
        cmocka_unit_test_teardown(test_handmade_file_loads, teardown_tmp),
        cmocka_unit_test_teardown(test_hostile_files, teardown_tmp),
        cmocka_unit_test_teardown(test_bad_magic, teardown_tmp),
        cmocka_unit_test_teardown(test_future_version, teardown_tmp),
        cmocka_unit_test_teardown(test_every_flipped_byte_rejected, teardown_tmp),
        cmocka_unit_test_teardown(test_every_truncation_rejected, teardown_tmp),
        cmocka_unit_test_teardown(test_empty_file_and_directory, teardown_tmp),
        cmocka_unit_test_teardown(test_failed_saves_leave_target_untouched, teardown_tmp),
        cmocka_unit_test_teardown(test_load_any, teardown_tmp),
        cmocka_unit_test_teardown(test_checkpoint_resume_bit_identical, teardown_tmp),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
