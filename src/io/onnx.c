/*
 * ONNX export and import of dense networks (docs/export.md).
 *
 * Export writes an opset-13 ModelProto through the small protobuf writer in
 * protobuf.c: the input scaling as Sub and Mul nodes, each layer as a Gemm
 * (transB = 1, W kept [units][fan_in] as the library stores it) followed by
 * its activation node, the loss and the model's metadata as metadata_props.
 * The bytes depend only on the net, so export → import → export is
 * byte-identical.
 *
 * Import accepts graphs that are a chain of such layers, as backprop and
 * torch.onnx.export write them: Gemm or MatMul + Add, Relu, LeakyRelu,
 * Sigmoid, Tanh, Softmax, with Sub/Mul/Div input scaling before the first
 * layer and harmless Identity/Flatten/Constant nodes.  Anything else is
 * refused naming the first node that does not fit.  The reader never trusts
 * a length: every field is a slice checked against its enclosing message.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"
#include "io/protobuf.h"
#include "nn/net_io.h"

#define ONNX_OPSET 13
#define ONNX_IR_VERSION 7          /* the IR version that goes with opset 13 */
#define ONNX_FLOAT 1               /* TensorProto.DataType.FLOAT */
#define ONNX_MAX_FILE ((size_t)1 << 30)
#define ONNX_MAX_NODES 4096
#define ONNX_MAX_TENSORS 4096
#define LOSS_KEY "backprop.loss"
#define TASK_KEY "backprop.task"
#define CLASSES_KEY "backprop.classes"

/* ------------------------------------------------------------------ */
/* Export                                                              */
/* ------------------------------------------------------------------ */

/* ValueInfoProto of a float tensor [N][cols] (N symbolic: any batch). */
static void put_value_info(pb_buf *graph, int field, const char *name, int cols)
{
    pb_buf batch = {0}, width = {0}, shape = {0}, tensor = {0}, type = {0}, vi = {0};
    pb_put_string_field(&batch, 2, "N");                 /* Dimension.dim_param */
    pb_put_varint_field(&width, 1, (uint64_t)cols);      /* Dimension.dim_value */
    pb_put_message_field(&shape, 1, &batch);             /* TensorShapeProto.dim */
    pb_put_message_field(&shape, 1, &width);
    pb_put_varint_field(&tensor, 1, ONNX_FLOAT);         /* TypeProto.Tensor.elem_type */
    pb_put_message_field(&tensor, 2, &shape);
    pb_put_message_field(&type, 1, &tensor);             /* TypeProto.tensor_type */
    pb_put_string_field(&vi, 1, name);
    pb_put_message_field(&vi, 2, &type);
    pb_put_message_field(graph, field, &vi);
}

/* TensorProto initializer: dims (rows 0 means 1-D), FLOAT, name, raw_data. */
static void put_initializer(pb_buf *graph, const char *name, const float *v, int rows, int cols)
{
    pb_buf t = {0};
    if (rows)
        pb_put_varint_field(&t, 1, (uint64_t)rows);
    pb_put_varint_field(&t, 1, (uint64_t)cols);
    pb_put_varint_field(&t, 2, ONNX_FLOAT);
    pb_put_string_field(&t, 8, name);
    /* raw_data holds little-endian floats, the same bytes as a packed field. */
    pb_put_packed_floats(&t, 9, v, (size_t)(rows ? rows : 1) * (size_t)cols);
    pb_put_message_field(graph, 5, &t);
}

typedef struct onnx_attr {
    const char *name;
    int type;     /* 1 FLOAT, 2 INT, 0 none */
    float f;
    int64_t i;
} onnx_attr;

static void put_node(pb_buf *graph, const char *op, const char *name, const char *in0,
                     const char *in1, const char *in2, const char *out, onnx_attr a1,
                     onnx_attr a2)
{
    pb_buf n = {0};
    const char *in[3] = {in0, in1, in2};
    for (int i = 0; i < 3; i++)
        if (in[i])
            pb_put_string_field(&n, 1, in[i]);
    pb_put_string_field(&n, 2, out);
    pb_put_string_field(&n, 3, name);
    pb_put_string_field(&n, 4, op);
    onnx_attr as[2] = {a1, a2};
    for (int k = 0; k < 2; k++) {
        if (!as[k].type)
            continue;
        pb_buf a = {0};
        pb_put_string_field(&a, 1, as[k].name);
        if (as[k].type == 1)
            pb_put_float_field(&a, 2, as[k].f);
        else
            pb_put_varint_field(&a, 3, (uint64_t)as[k].i);
        pb_put_varint_field(&a, 20, (uint64_t)as[k].type);
        pb_put_message_field(&n, 5, &a);
    }
    pb_put_message_field(graph, 1, &n);
}

static const onnx_attr no_attr = {NULL, 0, 0.0f, 0};

/* ONNX op of an activation (NULL for linear: no node). */
static const char *act_op(bp_activation act)
{
    switch (act) {
    case BP_ACT_SIGMOID: return "Sigmoid";
    case BP_ACT_TANH: return "Tanh";
    case BP_ACT_RELU: return "Relu";
    case BP_ACT_LEAKY_RELU: return "LeakyRelu";
    case BP_ACT_SOFTMAX: return "Softmax";
    default: return NULL;
    }
}

/* Scaling then the layers: names input → x_shifted → x_scaled → s1 → a1 → … → output. */
static void put_graph_nodes(pb_buf *g, const bp_net *net)
{
    char cur[32] = "input";
    const float *shift, *scale;
    if (bp_net_scaling(net, &shift, &scale)) {
        put_initializer(g, "scaling_shift", shift, 0, bp_net_inputs(net));
        put_initializer(g, "scaling_scale", scale, 0, bp_net_inputs(net));
        put_node(g, "Sub", "scaling_sub", "input", "scaling_shift", NULL, "x_shifted", no_attr,
                 no_attr);
        put_node(g, "Mul", "scaling_mul", "x_shifted", "scaling_scale", NULL, "x_scaled",
                 no_attr, no_attr);
        strcpy(cur, "x_scaled");
    }
    for (int l = 0; l < bp_net_layers(net); l++) {
        const bp_layer_spec spec = bp_net_layer(net, l), *L = &spec;
        int last = l == bp_net_layers(net) - 1;
        char wname[32], bname[32], gname[32], sname[32], aname[32], actname[32];
        snprintf(wname, sizeof wname, "W%d", l + 1);
        snprintf(bname, sizeof bname, "b%d", l + 1);
        snprintf(gname, sizeof gname, "gemm%d", l + 1);
        const char *op = act_op(L->act);
        snprintf(sname, sizeof sname, "%s", last && !op ? "output" : "");
        if (!sname[0])
            snprintf(sname, sizeof sname, "s%d", l + 1);
        put_initializer(g, wname, bp_net_weights_const(net, l), L->units, bp_net_fan_in(net, l));
        if (L->bias)
            put_initializer(g, bname, bp_net_biases_const(net, l), 0, L->units);
        onnx_attr transb = {"transB", 2, 0.0f, 1};
        put_node(g, "Gemm", gname, cur, wname, L->bias ? bname : NULL, sname, transb, no_attr);
        strcpy(cur, sname);
        if (!op)
            continue;
        snprintf(aname, sizeof aname, "%s", last ? "output" : "");
        if (!aname[0])
            snprintf(aname, sizeof aname, "a%d", l + 1);
        snprintf(actname, sizeof actname, "%s%d", op, l + 1);
        onnx_attr a = no_attr;
        if (L->act == BP_ACT_LEAKY_RELU)
            a = (onnx_attr){"alpha", 1, L->slope, 0};
        else if (L->act == BP_ACT_SOFTMAX)
            a = (onnx_attr){"axis", 2, 0.0f, 1};
        put_node(g, op, actname, cur, NULL, NULL, aname, a, no_attr);
        strcpy(cur, aname);
    }
}

static void put_meta_bytes(pb_buf *m, const char *key, const void *value, size_t n)
{
    pb_buf e = {0};
    pb_put_string_field(&e, 1, key);
    pb_put_bytes_field(&e, 2, value, n);
    pb_put_message_field(m, 14, &e);
}

static void put_meta(pb_buf *m, const char *key, const char *value)
{
    put_meta_bytes(m, key, value, strlen(value));
}

/* A list of names as a JSON array of strings (json.loads reads it back). */
static void put_name_list(pb_buf *m, const char *key, const bp_net *net, int n,
                          const char *(*name_at)(const bp_net *, int))
{
    pb_buf j = {0};
    pb_put_raw(&j, "[", 1);
    for (int i = 0; i < n; i++) {
        const char *s = name_at(net, i);
        pb_put_raw(&j, i ? ",\"" : "\"", i ? 2 : 1);
        for (; s && *s; s++) {
            unsigned char c = (unsigned char)*s;
            char esc[8];
            if (c == '"' || c == '\\') {
                esc[0] = '\\', esc[1] = (char)c;
                pb_put_raw(&j, esc, 2);
            } else if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                pb_put_raw(&j, esc, 6);
            } else {
                pb_put_raw(&j, s, 1);
            }
        }
        pb_put_raw(&j, "\"", 1);
    }
    pb_put_raw(&j, "]", 1);
    if (j.failed)
        m->failed = 1;
    put_meta_bytes(m, key, j.data, j.len);
    pb_free(&j);
}

/* The schema (task, feature, target and class names) as metadata_props. */
static void put_schema(pb_buf *m, const bp_net *net)
{
    bp_task task = bp_net_task(net);
    if (task != BP_TASK_UNKNOWN)
        put_meta(m, TASK_KEY, task == BP_TASK_CLASSIFICATION ? "classification" : "regression");
    if (bp_net_input_name(net, 0))
        put_name_list(m, "feature_names", net, bp_net_inputs(net), bp_net_input_name);
    if (bp_net_target_count(net) > 0 && bp_net_target_name(net, 0))
        put_name_list(m, "target_names", net, bp_net_target_count(net), bp_net_target_name);
    if (bp_net_classes(net) > 0) {
        char k[16];
        snprintf(k, sizeof k, "%d", bp_net_classes(net));
        put_meta(m, CLASSES_KEY, k);
        if (bp_net_class_name(net, 0))
            put_name_list(m, "class_names", net, bp_net_classes(net), bp_net_class_name);
    }
}

bp_status bp_net_save_onnx(const bp_net *net, const char *path)
{
    if (!net || !path)
        return bp_error(BP_ERR_ARG, "bp_net_save_onnx: NULL argument");
    pb_buf graph = {0}, model = {0}, opset = {0};
    put_graph_nodes(&graph, net);
    pb_put_string_field(&graph, 2, "backprop");
    put_value_info(&graph, 11, "input", bp_net_inputs(net));
    put_value_info(&graph, 12, "output", bp_net_outputs(net));

    pb_put_varint_field(&model, 1, ONNX_IR_VERSION);
    pb_put_string_field(&model, 2, "backprop");
    pb_put_string_field(&model, 3, BP_VERSION_STRING);
    pb_put_message_field(&model, 7, &graph);
    pb_put_varint_field(&opset, 2, ONNX_OPSET);   /* default domain "" */
    pb_put_message_field(&model, 8, &opset);
    put_meta(&model, LOSS_KEY, bp_loss_name(bp_net_loss(net)));
    put_schema(&model, net);
    for (int i = 0; i < bp_net_meta_count(net); i++) {
        const char *key, *value;
        bp_net_meta_at(net, i, &key, &value);
        put_meta(&model, key, value);
    }
    if (model.failed) {
        pb_free(&model);
        return bp_error(BP_ERR_NOMEM, "%s: out of memory for the ONNX model", path);
    }
    bp_atomic_file f;
    bp_status st = bp_atomic_begin(&f, path);
    if (st == BP_OK) {
        if (fwrite(model.data, 1, model.len, f.fp) != model.len) {
            bp_atomic_abort(&f);
            st = bp_error(BP_ERR_IO, "%s: write failed", path);
        } else {
            st = bp_atomic_commit(&f);
        }
    }
    pb_free(&model);
    return st;
}

/* ------------------------------------------------------------------ */
/* Import: parsing the protobuf into slices                            */
/* ------------------------------------------------------------------ */

typedef struct slice {
    const unsigned char *p;
    size_t n;
} slice;

typedef struct onnx_tensor {
    slice name;
    int64_t dims[8];
    int ndims;
    int64_t dtype;
    slice msg;      /* the whole TensorProto, rescanned for float_data */
    slice raw;
    int has_raw, external;
} onnx_tensor;

typedef struct onnx_node {
    slice name, op, domain;
    slice in[3];
    int n_in, n_out;
    slice out;
    slice msg;      /* for attributes */
} onnx_node;

typedef struct onnx_graph {
    const char *path;
    onnx_node *nodes;
    int n_nodes;
    onnx_tensor *tensors;
    int n_tensors;
    slice inputs[ONNX_MAX_TENSORS > 64 ? 64 : ONNX_MAX_TENSORS];
    int n_inputs;
    slice output;
    int n_outputs;
    int64_t input_dims[8];
    int input_rank;
    int64_t opset;
} onnx_graph;

static int slice_eq(slice s, const char *str)
{
    size_t n = strlen(str);
    return s.n == n && (n == 0 || memcmp(s.p, str, n) == 0);
}

static int slices_eq(slice a, slice b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }

/* A printable copy of a name for messages (cut at 80 bytes). */
static const char *show(slice s, char *buf, size_t cap)
{
    size_t n = s.n < cap - 4 ? s.n : cap - 4;
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        buf[j++] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? (char)s.p[i] : '?';
    if (n < s.n)
        buf[j++] = '.', buf[j++] = '.', buf[j++] = '.';
    buf[j] = '\0';
    return buf;
}

static bp_status malformed(const onnx_graph *g, const char *what)
{
    return bp_error(BP_ERR_FORMAT, "%s: not a valid ONNX file: malformed %s", g->path, what);
}

static bp_status unsupported(const onnx_graph *g, const onnx_node *n, const char *why);

static slice sub(const pb_field *f) { return (slice){f->data, f->len}; }

/* The length-delimited fields numbered n1 and n2 of the message in f (a name
 * and its value: an attribute's tensor, a metadata entry); the last of each
 * wins, {NULL, 0} when absent. */
static void two_strings(const pb_field *f, uint32_t n1, uint32_t n2, slice *a, slice *b)
{
    pb_reader r = {f->data, f->data + f->len};
    pb_field g;
    *a = *b = (slice){NULL, 0};
    while (pb_next(&r, &g) > 0) {
        if (g.number == n1 && g.wire == PB_LEN)
            *a = sub(&g);
        else if (g.number == n2 && g.wire == PB_LEN)
            *b = sub(&g);
    }
}

static bp_status parse_tensor(onnx_graph *g, slice msg, onnx_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->msg = msg;
    t->dtype = 0;
    pb_reader r = {msg.p, msg.p + msg.n};
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.number == 1 && f.wire == PB_VARINT) {
            if (t->ndims >= 8)
                return bp_error(BP_ERR_UNSUPPORTED, "%s: a tensor has more than 8 dimensions",
                                g->path);
            t->dims[t->ndims++] = (int64_t)f.u;
        } else if (f.number == 1 && f.wire == PB_LEN) { /* packed dims */
            pb_reader d = {f.data, f.data + f.len};
            while (d.p < d.end) { /* varints without tags */
                uint64_t x = 0;
                int shift = 0, ok = 0;
                while (d.p < d.end && shift < 64) {
                    unsigned char b = *d.p++;
                    x |= (uint64_t)(b & 0x7f) << shift;
                    shift += 7;
                    if (!(b & 0x80)) {
                        ok = 1;
                        break;
                    }
                }
                if (!ok || t->ndims >= 8)
                    return malformed(g, "tensor dimensions");
                t->dims[t->ndims++] = (int64_t)x;
            }
        } else if (f.number == 2 && f.wire == PB_VARINT) {
            t->dtype = (int64_t)f.u;
        } else if (f.number == 8 && f.wire == PB_LEN) {
            t->name = sub(&f);
        } else if (f.number == 9 && f.wire == PB_LEN) {
            t->raw = sub(&f);
            t->has_raw = 1;
        } else if (f.number == 14 && f.wire == PB_VARINT) {
            t->external = f.u == 1;
        }
    }
    return rc < 0 ? malformed(g, "tensor") : BP_OK;
}

static bp_status parse_node(onnx_graph *g, slice msg, onnx_node *n)
{
    memset(n, 0, sizeof *n);
    n->msg = msg;
    pb_reader r = {msg.p, msg.p + msg.n};
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.wire != PB_LEN)
            continue;
        if (f.number == 1) {
            if (n->n_in < 3)
                n->in[n->n_in] = sub(&f);
            n->n_in++;
        } else if (f.number == 2) {
            if (n->n_out == 0)
                n->out = sub(&f);
            n->n_out++;
        } else if (f.number == 3) {
            n->name = sub(&f);
        } else if (f.number == 4) {
            n->op = sub(&f);
        } else if (f.number == 7) {
            n->domain = sub(&f);
        }
    }
    return rc < 0 ? malformed(g, "node") : BP_OK;
}

/* The shape of a graph input (ValueInfoProto → TypeProto → Tensor → Shape). */
static void parse_input_shape(onnx_graph *g, slice vi)
{
    pb_reader r = {vi.p, vi.p + vi.n};
    pb_field f;
    g->input_rank = -1;
    while (pb_next(&r, &f) > 0) {
        if (f.number != 2 || f.wire != PB_LEN)
            continue;
        pb_reader t = {f.data, f.data + f.len};
        pb_field tf;
        while (pb_next(&t, &tf) > 0) {
            if (tf.number != 1 || tf.wire != PB_LEN)
                continue;
            pb_reader tt = {tf.data, tf.data + tf.len};
            pb_field sf;
            while (pb_next(&tt, &sf) > 0) {
                if (sf.number != 2 || sf.wire != PB_LEN)
                    continue;
                pb_reader sh = {sf.data, sf.data + sf.len};
                pb_field df;
                g->input_rank = 0;
                while (pb_next(&sh, &df) > 0) {
                    if (df.number != 1 || df.wire != PB_LEN || g->input_rank >= 8)
                        continue;
                    int64_t v = -1;
                    pb_reader d = {df.data, df.data + df.len};
                    pb_field vf;
                    while (pb_next(&d, &vf) > 0)
                        if (vf.number == 1 && vf.wire == PB_VARINT)
                            v = (int64_t)vf.u;
                    g->input_dims[g->input_rank++] = v;
                }
            }
        }
    }
}

static slice value_info_name(slice vi)
{
    pb_reader r = {vi.p, vi.p + vi.n};
    pb_field f;
    slice name = {NULL, 0};
    while (pb_next(&r, &f) > 0)
        if (f.number == 1 && f.wire == PB_LEN)
            name = sub(&f);
    return name;
}

static onnx_tensor *find_tensor(onnx_graph *g, slice name)
{
    for (int i = 0; i < g->n_tensors; i++)
        if (slices_eq(g->tensors[i].name, name))
            return &g->tensors[i];
    return NULL;
}

/* A Constant node's "value" tensor, registered as an initializer under its output name. */
static bp_status add_constant(onnx_graph *g, const onnx_node *n)
{
    pb_reader r = {n->msg.p, n->msg.p + n->msg.n};
    pb_field f;
    while (pb_next(&r, &f) > 0) {
        if (f.number != 5 || f.wire != PB_LEN)
            continue;
        slice aname, t;
        two_strings(&f, 1, 5, &aname, &t); /* AttributeProto: name, t */
        if (slice_eq(aname, "value") && t.p) {
            if (g->n_tensors >= ONNX_MAX_TENSORS)
                return bp_error(BP_ERR_UNSUPPORTED, "%s: more than %d tensors", g->path,
                                ONNX_MAX_TENSORS);
            bp_status st = parse_tensor(g, t, &g->tensors[g->n_tensors]);
            if (st != BP_OK)
                return st;
            g->tensors[g->n_tensors++].name = n->out;
            return BP_OK;
        }
    }
    return unsupported(g, n, "a constant that is not a tensor");
}

static bp_status parse_graph(onnx_graph *g, slice msg)
{
    pb_reader r = {msg.p, msg.p + msg.n};
    pb_field f;
    int rc;
    slice input_vi[64];
    int n_vi = 0;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.wire != PB_LEN)
            continue;
        bp_status st = BP_OK;
        if (f.number == 1) {
            if (g->n_nodes >= ONNX_MAX_NODES)
                return bp_error(BP_ERR_UNSUPPORTED, "%s: more than %d nodes", g->path,
                                ONNX_MAX_NODES);
            st = parse_node(g, sub(&f), &g->nodes[g->n_nodes++]);
        } else if (f.number == 5) {
            if (g->n_tensors >= ONNX_MAX_TENSORS)
                return bp_error(BP_ERR_UNSUPPORTED, "%s: more than %d tensors", g->path,
                                ONNX_MAX_TENSORS);
            st = parse_tensor(g, sub(&f), &g->tensors[g->n_tensors++]);
        } else if (f.number == 11) {
            if (n_vi >= 64)
                return bp_error(BP_ERR_UNSUPPORTED, "%s: more than 64 graph inputs", g->path);
            input_vi[n_vi++] = sub(&f);
        } else if (f.number == 12) {
            if (g->n_outputs++ == 0)
                g->output = value_info_name(sub(&f));
        }
        if (st != BP_OK)
            return st;
    }
    if (rc < 0)
        return malformed(g, "graph");
    /* Older exporters list initializers among the inputs too; the data input is the rest. */
    for (int i = 0; i < n_vi; i++) {
        slice name = value_info_name(input_vi[i]);
        if (find_tensor(g, name))
            continue;
        if (g->n_inputs++ == 0) {
            g->inputs[0] = name;
            parse_input_shape(g, input_vi[i]);
        }
    }
    if (g->n_inputs != 1)
        return bp_error(BP_ERR_UNSUPPORTED, "%s: the graph has %d data inputs; backprop imports "
                        "networks with exactly one", g->path, g->n_inputs);
    if (g->n_outputs != 1)
        return bp_error(BP_ERR_UNSUPPORTED, "%s: the graph has %d outputs; backprop imports "
                        "networks with exactly one", g->path, g->n_outputs);
    return BP_OK;
}

/* ------------------------------------------------------------------ */
/* Import: tensors and attributes                                      */
/* ------------------------------------------------------------------ */

/* The float values of an initializer with exactly `count` elements (dims
 * already checked by the caller) into out. */
static bp_status tensor_floats(const onnx_graph *g, const onnx_tensor *t, float *out, size_t count)
{
    char nb[96];
    if (t->external)
        return bp_error(BP_ERR_UNSUPPORTED, "%s: tensor \"%s\" keeps its data in an external "
                        "file, which backprop does not read", g->path, show(t->name, nb, sizeof nb));
    if (t->dtype != ONNX_FLOAT)
        return bp_error(BP_ERR_UNSUPPORTED, "%s: tensor \"%s\" has data type %lld; backprop "
                        "reads float32 (1) only", g->path, show(t->name, nb, sizeof nb),
                        (long long)t->dtype);
    size_t got = 0;
    if (t->has_raw) {
        if (t->raw.n != count * 4)
            return bp_error(BP_ERR_FORMAT, "%s: tensor \"%s\" has %zu bytes of data for %zu "
                            "floats", g->path, show(t->name, nb, sizeof nb), t->raw.n, count);
        for (size_t i = 0; i < count; i++)
            out[i] = pb_float_at(t->raw.p + 4 * i);
        got = count;
    } else {
        pb_reader r = {t->msg.p, t->msg.p + t->msg.n};
        pb_field f;
        while (pb_next(&r, &f) > 0) {
            if (f.number != 4)
                continue;
            if (f.wire == PB_I32) {
                if (got < count)
                    out[got] = pb_float_at(f.data);
                got++;
            } else if (f.wire == PB_LEN) {
                if (f.len % 4)
                    return malformed(g, "float_data");
                for (size_t i = 0; i < f.len / 4; i++, got++)
                    if (got < count)
                        out[got] = pb_float_at(f.data + 4 * i);
            }
        }
        if (got != count)
            return bp_error(BP_ERR_FORMAT, "%s: tensor \"%s\" holds %zu floats, its shape %zu",
                            g->path, show(t->name, nb, sizeof nb), got, count);
    }
    for (size_t i = 0; i < count; i++)
        if (!isfinite(out[i]))
            return bp_error(BP_ERR_NUMERIC, "%s: tensor \"%s\" holds NaN or Inf at element %zu",
                            g->path, show(t->name, nb, sizeof nb), i);
    return BP_OK;
}

/* Attribute `name` of a node as an int (1 found, 0 absent, −1 malformed). */
static int node_attr(const onnx_node *n, const char *name, int64_t *i, float *fl)
{
    pb_reader r = {n->msg.p, n->msg.p + n->msg.n};
    pb_field f;
    while (pb_next(&r, &f) > 0) {
        if (f.number != 5 || f.wire != PB_LEN)
            continue;
        pb_reader a = {f.data, f.data + f.len};
        pb_field af;
        slice aname = {NULL, 0};
        int have_i = 0, have_f = 0;
        int64_t iv = 0;
        float fv = 0.0f;
        int rc;
        while ((rc = pb_next(&a, &af)) > 0) {
            if (af.number == 1 && af.wire == PB_LEN)
                aname = sub(&af);
            else if (af.number == 2 && af.wire == PB_I32)
                fv = pb_float_at(af.data), have_f = 1;
            else if (af.number == 3 && af.wire == PB_VARINT)
                iv = (int64_t)af.u, have_i = 1;
        }
        if (rc < 0)
            return -1;
        if (!slice_eq(aname, name))
            continue;
        if (i && have_i)
            *i = iv;
        else if (fl && have_f)
            *fl = fv;
        else
            return -1;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Import: walking the chain                                           */
/* ------------------------------------------------------------------ */

typedef struct chain {
    int n_layers;
    int fan_in[BP_MAX_LAYERS];
    bp_layer_spec spec[BP_MAX_LAYERS];
    float *W[BP_MAX_LAYERS];   /* [units][fan_in] */
    float *b[BP_MAX_LAYERS];
    int act_done;              /* the last layer has its activation */
    int open_add;              /* the last node was a MatMul: an Add may give its bias */
    float *shift, *scale;      /* input scaling (before the first layer) */
    int scale_n, shift_n;
    int flat_inputs;           /* inputs after a leading Flatten, 0 if none */
} chain;

static void chain_free(chain *c)
{
    for (int l = 0; l < c->n_layers; l++) {
        free(c->W[l]);
        free(c->b[l]);
    }
    free(c->shift);
    free(c->scale);
}

static bp_status unsupported(const onnx_graph *g, const onnx_node *n, const char *why)
{
    char nb[96], ob[96];
    return bp_error(BP_ERR_UNSUPPORTED,
                    "%s: unsupported node \"%s\" (op %s)%s%s; backprop imports dense networks: "
                    "Gemm or MatMul+Add, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, with "
                    "Sub/Mul/Div input scaling, Flatten and Identity", g->path,
                    show(n->name, nb, sizeof nb), show(n->op, ob, sizeof ob), why[0] ? ": " : "",
                    why);
}

/* The initializer among a node's first two inputs that is not `cur`, and
 * whether cur is one of them. */
static onnx_tensor *other_operand(onnx_graph *g, const onnx_node *n, slice cur, int *cur_first)
{
    if (n->n_in != 2)
        return NULL;
    if (slices_eq(n->in[0], cur)) {
        *cur_first = 1;
        return find_tensor(g, n->in[1]);
    }
    if (slices_eq(n->in[1], cur)) {
        *cur_first = 0;
        return find_tensor(g, n->in[0]);
    }
    return NULL;
}

/* Number of elements of a tensor that is a vector of n (shape [n] or [1, n]),
 * or a scalar when allow_scalar; 0 if it is not. */
static size_t vector_len(const onnx_tensor *t, int64_t n, int allow_scalar)
{
    if (t->ndims == 1 && t->dims[0] == n)
        return (size_t)n;
    if (t->ndims == 2 && t->dims[0] == 1 && t->dims[1] == n)
        return (size_t)n;
    if (allow_scalar && (t->ndims == 0 || (t->ndims == 1 && t->dims[0] == 1)))
        return 1;
    return 0;
}

/* Read a vector operand of length `want` (or any length ≤ BP_MAX_UNITS when
 * want is 0), broadcasting a scalar; *len gets the length. */
static bp_status read_vector(onnx_graph *g, const onnx_node *n, const onnx_tensor *t, int want,
                             float **out, int *len)
{
    int64_t n_el = want;
    if (!want) {
        if (t->ndims == 1)
            n_el = t->dims[0];
        else if (t->ndims == 2 && t->dims[0] == 1)
            n_el = t->dims[1];
        else if (t->ndims == 0)
            n_el = 1;
        if (n_el < 1 || n_el > BP_MAX_UNITS)
            return unsupported(g, n, "its constant operand is not a vector");
    }
    size_t k = vector_len(t, n_el, 1);
    if (!k)
        return unsupported(g, n, "its constant operand has the wrong shape");
    float *v = malloc((size_t)n_el * sizeof(float));
    if (!v)
        return bp_error(BP_ERR_NOMEM, "out of memory");
    bp_status st = tensor_floats(g, t, v, k);
    if (st == BP_OK && k == 1)
        for (int64_t i = 1; i < n_el; i++)
            v[i] = v[0];
    if (st != BP_OK) {
        free(v);
        return st;
    }
    *out = v;
    *len = (int)n_el;
    return BP_OK;
}

/* Sub/Mul/Div before the first layer: the input scaling. */
static bp_status take_scaling(onnx_graph *g, chain *c, const onnx_node *n, slice cur)
{
    int first = 0;
    onnx_tensor *t = other_operand(g, n, cur, &first);
    int is_sub = slice_eq(n->op, "Sub"), is_div = slice_eq(n->op, "Div");
    if (!t || c->n_layers > 0 || ((is_sub || is_div) && !first))
        return unsupported(g, n, "only input scaling before the first layer is supported");
    /* backprop's scaling is (x − shift) · scale: a Sub after the Mul/Div is
     * another function, and two of either are not one scaling. */
    if (is_sub && c->scale)
        return unsupported(g, n, "a shift after the scaling");
    if (is_sub ? c->shift != NULL : c->scale != NULL)
        return unsupported(g, n, "the input is scaled twice");
    float *v;
    int len;
    bp_status st = read_vector(g, n, t, 0, &v, &len);
    if (st != BP_OK)
        return st;
    if (is_sub) {
        c->shift = v;
        c->shift_n = len;
        return BP_OK;
    }
    if (is_div)
        for (int i = 0; i < len; i++) {
            if (v[i] == 0.0f) {
                free(v);
                return unsupported(g, n, "division by zero");
            }
            v[i] = 1.0f / v[i];
        }
    c->scale = v;
    c->scale_n = len;
    return BP_OK;
}

/* Width of the data flowing into the next layer, or 0 when not yet known. */
static int current_width(const chain *c)
{
    if (c->n_layers)
        return c->spec[c->n_layers - 1].units;
    return c->flat_inputs;
}

/* Gemm or MatMul: a new layer from weight B (trans_b: B is [units][fan_in]). */
static bp_status take_layer(onnx_graph *g, chain *c, const onnx_node *n, slice cur, int gemm)
{
    if (c->n_layers >= BP_MAX_LAYERS)
        return unsupported(g, n, "too many layers");
    int64_t trans_a = 0, trans_b = 0;
    float alpha = 1.0f, beta = 1.0f;
    if (gemm && (node_attr(n, "transA", &trans_a, NULL) < 0 ||
                 node_attr(n, "transB", &trans_b, NULL) < 0 ||
                 node_attr(n, "alpha", NULL, &alpha) < 0 || node_attr(n, "beta", NULL, &beta) < 0))
        return unsupported(g, n, "malformed attributes");
    if (gemm && (trans_a || alpha != 1.0f || (n->n_in == 3 && beta != 1.0f)))
        return unsupported(g, n, "transA, alpha or beta other than the defaults");
    if ((gemm ? n->n_in < 2 || n->n_in > 3 : n->n_in != 2) || !slices_eq(n->in[0], cur))
        return unsupported(g, n, "its data input is not the previous layer's output");
    onnx_tensor *w = find_tensor(g, n->in[1]);
    if (!w || w->ndims != 2 || w->dims[0] < 1 || w->dims[1] < 1 || w->dims[0] > BP_MAX_UNITS ||
        w->dims[1] > BP_MAX_UNITS)
        return unsupported(g, n, "its weight is not a constant matrix");
    int units = (int)(trans_b ? w->dims[0] : w->dims[1]);
    int fan_in = (int)(trans_b ? w->dims[1] : w->dims[0]);
    int width = current_width(c);
    if (width && width != fan_in)
        return unsupported(g, n, "its weight does not fit the previous layer's width");
    size_t count = (size_t)units * (size_t)fan_in;
    if (count > BP_MAX_PARAMS)
        return unsupported(g, n, "too many weights");
    float *raw = malloc(count * sizeof(float)), *W = malloc(count * sizeof(float));
    bp_status st = raw && W ? tensor_floats(g, w, raw, count)
                            : bp_error(BP_ERR_NOMEM, "%s: out of memory for %zu weights", g->path,
                                       count);
    if (st == BP_OK) {
        if (trans_b)
            memcpy(W, raw, count * sizeof(float));
        else /* B is [fan_in][units]: transpose into the library's [units][fan_in] */
            for (int i = 0; i < fan_in; i++)
                for (int j = 0; j < units; j++)
                    W[(size_t)j * fan_in + i] = raw[(size_t)i * units + j];
    }
    free(raw);
    float *b = NULL;
    if (st == BP_OK && gemm && n->n_in == 3) {
        onnx_tensor *bt = find_tensor(g, n->in[2]);
        int len;
        st = bt ? read_vector(g, n, bt, units, &b, &len)
                : unsupported(g, n, "its bias is not a constant");
    }
    if (st != BP_OK) {
        free(W);
        return st;
    }
    int l = c->n_layers++;
    c->W[l] = W;
    c->b[l] = b;
    c->fan_in[l] = fan_in;
    bp_layer_spec_default(&c->spec[l]);
    c->spec[l].units = units;
    c->spec[l].act = BP_ACT_LINEAR;
    c->spec[l].bias = b != NULL;
    c->act_done = 0;
    c->open_add = !gemm || b == NULL;
    return BP_OK;
}

/* Add after a MatMul (or a bias-less Gemm): the layer's bias. */
static bp_status take_bias(onnx_graph *g, chain *c, const onnx_node *n, slice cur)
{
    int first = 0;
    onnx_tensor *t = other_operand(g, n, cur, &first);
    if (!t || !c->open_add)
        return unsupported(g, n, "only an Add that gives a MatMul its bias is supported");
    int l = c->n_layers - 1, len;
    bp_status st = read_vector(g, n, t, c->spec[l].units, &c->b[l], &len);
    if (st == BP_OK) {
        c->spec[l].bias = 1;
        c->open_add = 0;
    }
    return st;
}

static bp_status take_activation(onnx_graph *g, chain *c, const onnx_node *n, slice cur)
{
    if (n->n_in != 1 || !slices_eq(n->in[0], cur))
        return unsupported(g, n, "its input is not the previous node's output");
    if (!c->n_layers || c->act_done)
        return unsupported(g, n, "an activation must follow a Gemm or MatMul layer");
    bp_layer_spec *L = &c->spec[c->n_layers - 1];
    if (slice_eq(n->op, "Relu")) {
        L->act = BP_ACT_RELU;
    } else if (slice_eq(n->op, "Sigmoid")) {
        L->act = BP_ACT_SIGMOID;
    } else if (slice_eq(n->op, "Tanh")) {
        L->act = BP_ACT_TANH;
    } else if (slice_eq(n->op, "LeakyRelu")) {
        float alpha = 0.01f;
        if (node_attr(n, "alpha", NULL, &alpha) < 0 || !(alpha >= 0.0f && alpha < 1.0f))
            return unsupported(g, n, "alpha outside [0, 1)");
        L->act = BP_ACT_LEAKY_RELU;
        L->slope = alpha;
    } else { /* Softmax: over the units of a [N][units] tensor only */
        int64_t axis = g->opset >= 13 ? -1 : 1;
        if (node_attr(n, "axis", &axis, NULL) < 0 || (axis != 1 && axis != -1))
            return unsupported(g, n, "softmax over an axis other than 1");
        L->act = BP_ACT_SOFTMAX;
    }
    c->act_done = 1;
    c->open_add = 0;
    return BP_OK;
}

static bp_status take_flatten(onnx_graph *g, chain *c, const onnx_node *n)
{
    int64_t axis = 1;
    if (node_attr(n, "axis", &axis, NULL) < 0 || axis != 1)
        return unsupported(g, n, "Flatten with an axis other than 1");
    if (c->n_layers == 0 && g->input_rank > 2) {
        int64_t w = 1;
        for (int i = 1; i < g->input_rank; i++) {
            if (g->input_dims[i] < 1 || g->input_dims[i] > BP_MAX_UNITS / w)
                return unsupported(g, n, "the input's shape is not fixed");
            w *= g->input_dims[i];
        }
        c->flat_inputs = (int)w;
    }
    return BP_OK;
}

static bp_status walk(onnx_graph *g, chain *c)
{
    slice cur = g->inputs[0];
    char nb[96];
    if (g->input_rank == 2 && g->input_dims[1] >= 1 && g->input_dims[1] <= BP_MAX_UNITS)
        c->flat_inputs = (int)g->input_dims[1];
    else if (g->input_rank > 2)
        c->flat_inputs = -1; /* needs a Flatten first */
    for (int i = 0; i < g->n_nodes; i++) {
        const onnx_node *n = &g->nodes[i];
        bp_status st;
        if (n->domain.n && !slice_eq(n->domain, "ai.onnx"))
            return unsupported(g, n, "an operator outside the standard domain");
        if (slice_eq(n->op, "Constant") && n->n_in == 0 && n->n_out == 1) {
            if ((st = add_constant(g, n)) != BP_OK)
                return st;
            continue;
        }
        if (n->n_out != 1)
            return unsupported(g, n, "it has more than one output");
        int uses_cur = 0;
        for (int k = 0; k < n->n_in && k < 3; k++)
            uses_cur |= slices_eq(n->in[k], cur);
        if (!uses_cur)
            return unsupported(g, n, "it is not part of a single chain from the input");
        if (c->flat_inputs < 0 && !slice_eq(n->op, "Flatten") && !slice_eq(n->op, "Identity"))
            return unsupported(g, n, "the input has more than two dimensions; flatten it first");
        if (slice_eq(n->op, "Identity") && n->n_in == 1)
            st = BP_OK;
        else if (slice_eq(n->op, "Flatten") && n->n_in == 1)
            st = take_flatten(g, c, n);
        else if (slice_eq(n->op, "Sub") || slice_eq(n->op, "Mul") || slice_eq(n->op, "Div"))
            st = take_scaling(g, c, n, cur);
        else if (slice_eq(n->op, "Gemm") || slice_eq(n->op, "MatMul"))
            st = take_layer(g, c, n, cur, slice_eq(n->op, "Gemm"));
        else if (slice_eq(n->op, "Add"))
            st = take_bias(g, c, n, cur);
        else if (slice_eq(n->op, "Relu") || slice_eq(n->op, "Sigmoid") ||
                 slice_eq(n->op, "Tanh") || slice_eq(n->op, "LeakyRelu") ||
                 slice_eq(n->op, "Softmax"))
            st = take_activation(g, c, n, cur);
        else
            st = unsupported(g, n, "");
        if (st != BP_OK)
            return st;
        if (!slice_eq(n->op, "Gemm") && !slice_eq(n->op, "MatMul") && !slice_eq(n->op, "Add"))
            c->open_add = 0;
        cur = n->out;
    }
    if (!c->n_layers)
        return bp_error(BP_ERR_UNSUPPORTED, "%s: the graph has no Gemm or MatMul layer", g->path);
    if (!slices_eq(cur, g->output))
        return bp_error(BP_ERR_UNSUPPORTED, "%s: the graph output \"%s\" is not the end of the "
                        "chain of layers", g->path, show(g->output, nb, sizeof nb));
    return BP_OK;
}

/* ------------------------------------------------------------------ */
/* Import: building the net                                            */
/* ------------------------------------------------------------------ */

typedef struct model_info {
    slice graph;
    int64_t opset;
    slice meta_key[BP_META_MAX], meta_value[BP_META_MAX];
    int n_meta;
    slice loss;
    slice task, classes, feature_names, target_names, class_names; /* the schema */
} model_info;

static bp_status parse_model(const char *path, const unsigned char *data, size_t len,
                             model_info *m)
{
    pb_reader r = {data, data + len};
    pb_field f;
    int rc, have_ir = 0;
    memset(m, 0, sizeof *m);
    m->opset = -1;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.number == 1 && f.wire == PB_VARINT) {
            have_ir = 1;
        } else if (f.number == 7 && f.wire == PB_LEN) {
            m->graph = sub(&f);
        } else if (f.number == 8 && f.wire == PB_LEN) {
            pb_reader o = {f.data, f.data + f.len};
            pb_field of;
            slice domain = {NULL, 0};
            int64_t version = -1;
            while (pb_next(&o, &of) > 0) {
                if (of.number == 1 && of.wire == PB_LEN)
                    domain = sub(&of);
                else if (of.number == 2 && of.wire == PB_VARINT)
                    version = (int64_t)of.u;
            }
            if (domain.n == 0 || slice_eq(domain, "ai.onnx"))
                m->opset = version;
        } else if (f.number == 14 && f.wire == PB_LEN) {
            slice k, v;
            two_strings(&f, 1, 2, &k, &v); /* StringStringEntryProto: key, value */
            if (slice_eq(k, LOSS_KEY))
                m->loss = v;
            else if (slice_eq(k, TASK_KEY))
                m->task = v;
            else if (slice_eq(k, CLASSES_KEY))
                m->classes = v;
            else if (slice_eq(k, "feature_names"))
                m->feature_names = v;
            else if (slice_eq(k, "target_names"))
                m->target_names = v;
            else if (slice_eq(k, "class_names"))
                m->class_names = v;
            else if (m->n_meta < BP_META_MAX)
                m->meta_key[m->n_meta] = k, m->meta_value[m->n_meta++] = v;
        }
    }
    if (rc < 0 || !have_ir || !m->graph.p)
        return bp_error(BP_ERR_FORMAT, "%s: not a valid ONNX file (%s)", path,
                        rc < 0 ? "malformed protobuf" : !have_ir ? "no ir_version" : "no graph");
    if (m->opset < 7 || m->opset > 22)
        return bp_error(BP_ERR_UNSUPPORTED, "%s: ONNX opset %lld is not supported (7 to 22 are)",
                        path, (long long)m->opset);
    return BP_OK;
}

/* Copies a metadata string if the net can keep it (as bp_net_set_meta allows). */
static void keep_meta(bp_net *net, slice k, slice v)
{
    char key[BP_META_KEY_MAX], value[BP_META_VALUE_MAX];
    if (!k.n || k.n >= sizeof key || v.n >= sizeof value || memchr(k.p, 0, k.n) ||
        (v.n && memchr(v.p, 0, v.n)))
        return;
    memcpy(key, k.p, k.n);
    key[k.n] = '\0';
    if (v.n)
        memcpy(value, v.p, v.n);
    value[v.n] = '\0';
    /* Metadata the net cannot keep (white space in a key, more than
     * BP_META_MAX entries) is left out: it never changes what the net computes. */
    (void)bp_net_set_meta(net, key, value);
}

/* ---- the schema in metadata_props ---------------------------------------- */

typedef struct name_list {
    char **v;
    int n;
} name_list;

static void names_free(name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* One JSON string at *p (after its opening quote) into a new C string:
 * the escapes put_name_list writes and the usual others (\uXXXX in the BMP). */
static char *json_string(const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
    size_t cap = 16, n = 0;
    char *out = malloc(cap);
    while (out && p < end && *p != '"') {
        unsigned char c = *p++;
        char tmp[4];
        size_t k = 1;
        tmp[0] = (char)c;
        if (c == '\\') {
            if (p >= end)
                break;
            c = *p++;
            const char *simple = strchr("\"\\/bfnrt", c);
            if (c && simple) {
                tmp[0] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            } else if (c == 'u' && end - p >= 4) {
                unsigned u = 0;
                for (int i = 0; i < 4; i++, p++) {
                    int d = *p >= '0' && *p <= '9' ? *p - '0'
                            : (*p | 32) >= 'a' && (*p | 32) <= 'f' ? (*p | 32) - 'a' + 10 : -1;
                    if (d < 0)
                        goto bad;
                    u = u * 16 + (unsigned)d;
                }
                if (u == 0 || (u >= 0xd800 && u <= 0xdfff))
                    goto bad;
                if (u < 0x80) {
                    tmp[0] = (char)u;
                } else if (u < 0x800) {
                    tmp[0] = (char)(0xc0 | u >> 6), tmp[1] = (char)(0x80 | (u & 63)), k = 2;
                } else {
                    tmp[0] = (char)(0xe0 | u >> 12), tmp[1] = (char)(0x80 | ((u >> 6) & 63));
                    tmp[2] = (char)(0x80 | (u & 63)), k = 3;
                }
            } else {
                goto bad;
            }
        } else if (c < 0x20) {
            goto bad;
        }
        if (n + k + 1 > BP_NAME_MAX + 1)
            goto bad;
        if (n + k + 1 > cap) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                goto bad;
            out = bigger;
        }
        memcpy(out + n, tmp, k);
        n += k;
    }
    if (!out || p >= end)
        goto bad;
    out[n] = '\0';
    *pp = p + 1;
    return out;
bad:
    free(out);
    return NULL;
}

/* A JSON array of strings (as put_name_list writes it) with `want` entries. */
static bp_status json_names(const char *path, const char *key, slice v, int want, name_list *l)
{
    const unsigned char *p = v.p, *end = v.p + v.n;
    l->v = calloc((size_t)want, sizeof *l->v);
    l->n = 0;
    if (!l->v)
        return bp_error(BP_ERR_NOMEM, "out of memory");
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p++ != '[')
        goto bad;
    for (;;) {
        while (p < end && *p == ' ')
            p++;
        if (p < end && *p == ']' && l->n == 0) {
            p++;
            break;
        }
        if (p >= end || *p++ != '"' || l->n >= want)
            goto bad;
        if (!(l->v[l->n] = json_string(&p, end)))
            goto bad;
        l->n++;
        while (p < end && *p == ' ')
            p++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == ']') {
            p++;
            break;
        }
        goto bad;
    }
    if (l->n == want)
        return BP_OK;
bad:
    names_free(l);
    return bp_error(BP_ERR_FORMAT, "%s: metadata %s is not a JSON array of %d names", path, key,
                    want);
}

/* Task, class count and names from metadata_props into the net. */
static bp_status apply_schema(const char *path, bp_net *net, const model_info *m)
{
    bp_status st = BP_OK;
    name_list l = {NULL, 0};
    if (m->task.n) {
        bp_task t = slice_eq(m->task, "classification") ? BP_TASK_CLASSIFICATION
                    : slice_eq(m->task, "regression")   ? BP_TASK_REGRESSION
                                                        : BP_TASK_UNKNOWN;
        if (t == BP_TASK_UNKNOWN || (st = bp_net_set_task(net, t)) != BP_OK)
            return bp_error(BP_ERR_FORMAT, "%s: metadata %s: expected classification or "
                            "regression", path, TASK_KEY);
    }
    if (m->feature_names.n) {
        if ((st = json_names(path, "feature_names", m->feature_names, bp_net_inputs(net), &l)) ==
            BP_OK)
            st = bp_net_set_input_names(net, (const char *const *)l.v);
        names_free(&l);
    }
    if (st == BP_OK && m->target_names.n) {
        /* As many as the array holds, up to the outputs (one label column, or one per output). */
        int n = 1;
        for (size_t i = 0; i < m->target_names.n; i++)
            n += m->target_names.p[i] == ',';
        n = n > bp_net_outputs(net) ? bp_net_outputs(net) : n;
        for (; n >= 1; n--) {
            if (json_names(path, "target_names", m->target_names, n, &l) == BP_OK)
                break;
        }
        st = n >= 1 ? bp_net_set_target_names(net, n, (const char *const *)l.v)
                    : bp_error(BP_ERR_FORMAT, "%s: metadata target_names is not a JSON array "
                               "of names", path);
        names_free(&l);
    }
    if (st == BP_OK && m->classes.n) {
        char buf[16];
        long k = 0;
        if (m->classes.n < sizeof buf) {
            memcpy(buf, m->classes.p, m->classes.n);
            buf[m->classes.n] = '\0';
            char *e;
            k = strtol(buf, &e, 10);
            if (*e || k < 1 || k > BP_MAX_UNITS)
                k = 0;
        }
        if (!k)
            return bp_error(BP_ERR_FORMAT, "%s: metadata %s is not a class count", path,
                            CLASSES_KEY);
        if (m->class_names.n &&
            (st = json_names(path, "class_names", m->class_names, (int)k, &l)) != BP_OK)
            return st;
        st = bp_net_set_classes(net, (int)k, l.v ? (const char *const *)l.v : NULL);
        names_free(&l);
    }
    return st == BP_OK ? BP_OK : bp_error(st, "%s: %s", path, bp_errmsg());
}

static bp_status build_net(const char *path, chain *c, const model_info *m, bp_net **out)
{
    int n_in = c->fan_in[0];
    if ((c->shift && c->shift_n != n_in && c->shift_n != 1) ||
        (c->scale && c->scale_n != n_in && c->scale_n != 1))
        return bp_error(BP_ERR_UNSUPPORTED, "%s: the input scaling has %d values for %d inputs",
                        path, c->shift ? c->shift_n : c->scale_n, n_in);
    bp_activation out_act = c->spec[c->n_layers - 1].act;
    bp_loss loss = out_act == BP_ACT_SOFTMAX ? BP_LOSS_XENT : BP_LOSS_MSE;
    if (m->loss.n) {
        char name[32];
        if (m->loss.n >= sizeof name)
            return bp_error(BP_ERR_FORMAT, "%s: metadata %s is too long", path, LOSS_KEY);
        memcpy(name, m->loss.p, m->loss.n);
        name[m->loss.n] = '\0';
        if (bp_loss_parse(name, &loss) != BP_OK)
            return bp_error(BP_ERR_FORMAT, "%s: metadata %s: %s", path, LOSS_KEY, bp_errmsg());
    }
    bp_net *net;
    bp_status st = bp_net_create(&net, n_in, c->n_layers, c->spec, loss);
    if (st != BP_OK)
        return bp_error(st, "%s: %s", path, bp_errmsg());
    for (int l = 0; l < c->n_layers; l++) {
        memcpy(bp_net_weights(net, l), c->W[l],
               (size_t)c->spec[l].units * (size_t)c->fan_in[l] * sizeof(float));
        if (c->b[l])
            memcpy(bp_net_biases(net, l), c->b[l], (size_t)c->spec[l].units * sizeof(float));
    }
    if (c->shift || c->scale) {
        float *shift = calloc((size_t)n_in, sizeof(float)), *scale = malloc((size_t)n_in * sizeof(float));
        if (!shift || !scale)
            st = bp_error(BP_ERR_NOMEM, "out of memory");
        for (int i = 0; st == BP_OK && i < n_in; i++) {
            shift[i] = c->shift ? c->shift[c->shift_n == 1 ? 0 : i] : 0.0f;
            scale[i] = c->scale ? c->scale[c->scale_n == 1 ? 0 : i] : 1.0f;
        }
        if (st == BP_OK && (st = bp_net_set_scaling(net, shift, scale)) != BP_OK)
            st = bp_error(st, "%s: input scaling: %s", path, bp_errmsg());
        free(shift);
        free(scale);
    }
    if (st == BP_OK)
        st = apply_schema(path, net, m);
    for (int i = 0; st == BP_OK && i < m->n_meta; i++)
        keep_meta(net, m->meta_key[i], m->meta_value[i]);
    if (st != BP_OK) {
        bp_net_free(net);
        return st;
    }
    *out = net;
    return BP_OK;
}

bp_status bp_net_parse_onnx(bp_net **out, const void *data, size_t len, const char *name)
{
    if (!out || (!data && len))
        return bp_error(BP_ERR_ARG, "bp_net_parse_onnx: NULL argument");
    *out = NULL;
    const char *path = name ? name : "ONNX data";
    model_info m;
    bp_status st = parse_model(path, data, len, &m);
    if (st != BP_OK)
        return st;
    onnx_graph g;
    memset(&g, 0, sizeof g);
    g.path = path;
    g.opset = m.opset;
    g.nodes = calloc(ONNX_MAX_NODES, sizeof *g.nodes);
    g.tensors = calloc(ONNX_MAX_TENSORS, sizeof *g.tensors);
    chain c;
    memset(&c, 0, sizeof c);
    if (!g.nodes || !g.tensors)
        st = bp_error(BP_ERR_NOMEM, "out of memory");
    if (st == BP_OK)
        st = parse_graph(&g, m.graph);
    if (st == BP_OK)
        st = walk(&g, &c);
    if (st == BP_OK)
        st = build_net(path, &c, &m, out);
    chain_free(&c);
    free(g.nodes);
    free(g.tensors);
    return st;
}

bp_status bp_net_load_onnx(bp_net **out, const char *path)
{
    if (!out || !path)
        return bp_error(BP_ERR_ARG, "bp_net_load_onnx: NULL argument");
    *out = NULL;
    char *data;
    size_t len;
    bp_status st = bp_read_file(path, ONNX_MAX_FILE, &data, &len);
    if (st != BP_OK)
        return st;
    st = bp_net_parse_onnx(out, data, len, path);
    free(data);
    return st;
}
