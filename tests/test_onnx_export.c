// ONNX export without any runtime: exports a small network with every block variant (ReLU and
// batch norm each on or off), decodes the bytes again with protobuf-c, and checks the model
// (IR version, opset, graph input/output N x 1 x H x W with symbolic N, H, W), the node order and
// wiring, the Conv and BatchNormalization attributes, and every initializer value against the
// checkpoint tensors (kernels moved from Keras (kh,kw,Cin,Cout) to ONNX (Cout,Cin,kh,kw)); then the
// refusals: a missing tensor, a wrong shape, a NaN. tests/cli_onnx.sh runs exported models in
// onnxruntime and OpenCV.
#include "onnx_export.h"
#include "onnx_subset.pb-c.h"
#include "pixloc.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NB 3
static const int CH[NB] = {3, 4, 2}, RELU[NB] = {1, 0, 1}, BN[NB] = {1, 1, 0};

typedef struct {
    char name[48];
    int ndim;
    int64_t shape[4];
    float *data;
} tensor;

static tensor T[6 * NB + 2];
static int nt;

static void add(const char *name, int ndim, int64_t a, int64_t b, int64_t c, int64_t d, uint64_t *rng) {
    tensor *t = &T[nt++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    int64_t s[4] = {a, b, c, d};
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)(t->shape[i] = s[i]);
    t->data = calloc(n + 1, sizeof(float));      // + 1: write_open may poison element 1 of any tensor
    t_fill_uniform(t->data, n, 0.1f, 2.0f, rng); // positive: a usable moving variance
}

static const tensor *find(const char *name) {
    for (int i = 0; i < nt; i++)
        if (strcmp(T[i].name, name) == 0) return &T[i];
    return NULL;
}

static void make_tensors(void) {
    uint64_t rng = 12345;
    char nm[48];
    int cin = 1;
    for (int i = 0; i < NB; i++) {
        snprintf(nm, sizeof nm, "conv%d.kernel", i);
        add(nm, 4, 3, 3, cin, CH[i], &rng);
        snprintf(nm, sizeof nm, "conv%d.bias", i);
        add(nm, 1, CH[i], 0, 0, 0, &rng);
        if (BN[i]) {
            static const char *const part[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
            for (int p = 0; p < 4; p++) {
                snprintf(nm, sizeof nm, "bn%d.%s", i, part[p]);
                add(nm, 1, CH[i], 0, 0, 0, &rng);
            }
        }
        cin = CH[i];
    }
    add("head.kernel", 4, 1, 1, cin, 1, &rng);
    add("head.bias", 1, 1, 0, 0, 0, &rng);
}

// The tensors as a safetensors file in dir (leaving out `skip`, giving `reshape` a wrong shape,
// or a NaN at element 1 of `nan`), opened again.
static st_file *write_open(const char *dir, const char *skip, const char *reshape, const char *nan) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    st_writer *w = st_writer_new();
    for (int i = 0; i < nt; i++) {
        if (skip && strcmp(T[i].name, skip) == 0) continue;
        int64_t s[4];
        memcpy(s, T[i].shape, sizeof s);
        if (reshape && strcmp(T[i].name, reshape) == 0) s[T[i].ndim - 1] -= 1;
        float keep = T[i].data[1];
        if (nan && strcmp(T[i].name, nan) == 0) T[i].data[1] = NAN;
        st_writer_add(w, T[i].name, ST_F32, T[i].ndim, s, T[i].data); // (copies the data)
        T[i].data[1] = keep;
    }
    int rc = st_writer_save(w, path, err, sizeof err);
    st_writer_free(w);
    CHECK(rc == 0, "save: %s", err);
    st_file *f = st_open(path, err, sizeof err);
    CHECK(f != NULL, "open: %s", err);
    unlink(path);
    return f;
}

static net_config config(void) {
    net_config c;
    memset(&c, 0, sizeof c);
    c.nblocks = NB;
    for (int i = 0; i < NB; i++) {
        c.channels[i] = CH[i];
        c.relu[i] = RELU[i];
        c.bn[i] = BN[i];
    }
    c.bn_eps = 1e-3f;
    c.bn_momentum = 0.99f;
    return c;
}

static const Onnx__TensorProto *init_of(const Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_initializer; i++)
        if (strcmp(g->initializer[i]->name, name) == 0) return g->initializer[i];
    return NULL;
}

static const Onnx__AttributeProto *attr_of(const Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(n->attribute[i]->name, name) == 0) return n->attribute[i];
    return NULL;
}

static int ints_are(const Onnx__AttributeProto *a, int n, int64_t v) {
    if (!a || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS || (int)a->n_ints != n) return 0;
    for (int i = 0; i < n; i++)
        if (a->ints[i] != v) return 0;
    return 1;
}

// Initializer `oname` holds checkpoint tensor `cname`: same values, a kernel transposed.
static void check_init(const Onnx__GraphProto *g, const char *oname, const char *cname) {
    const Onnx__TensorProto *p = init_of(g, oname);
    const tensor *t = find(cname);
    CHECK(p != NULL, "no initializer %s", oname);
    if (!p) return;
    CHECK(p->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "%s: data_type %d", oname, p->data_type);
    CHECK((int)p->n_dims == t->ndim, "%s: %zu dims", oname, p->n_dims);
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    CHECK(p->n_float_data == n, "%s: %zu values, want %zu", oname, p->n_float_data, n);
    if (p->n_float_data != n || (int)p->n_dims != t->ndim) return;
    int bad = 0;
    if (t->ndim == 4) {
        int64_t kh = t->shape[0], kw = t->shape[1], ci = t->shape[2], co = t->shape[3];
        CHECK(p->dims[0] == co && p->dims[1] == ci && p->dims[2] == kh && p->dims[3] == kw, "%s: dims", oname);
        // Walk the ONNX layout (o, i, y, x) and look each value up in the Keras one.
        size_t k = 0;
        for (int64_t o = 0; o < co; o++)
            for (int64_t i = 0; i < ci; i++)
                for (int64_t y = 0; y < kh; y++)
                    for (int64_t x = 0; x < kw; x++, k++) {
                        size_t src = (size_t)(((y * kw + x) * ci + i) * co + o);
                        bad += p->float_data[k] != t->data[src];
                    }
    } else {
        CHECK(p->dims[0] == t->shape[0], "%s: dims", oname);
        for (size_t k = 0; k < n; k++) bad += p->float_data[k] != t->data[k];
    }
    CHECK(bad == 0, "%s: %d values differ from %s", oname, bad, cname);
}

static void check_io(const Onnx__ValueInfoProto *v, const char *name) {
    CHECK(strcmp(v->name, name) == 0, "graph io '%s', want '%s'", v->name, name);
    const Onnx__TypeProto__Tensor *t =
        v->type && v->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? v->type->tensor_type : NULL;
    CHECK(t && t->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && t->shape && t->shape->n_dim == 4,
          "%s: not a float32 4-d tensor", name);
    if (!t || !t->shape || t->shape->n_dim != 4) return;
    static const char *const want[4] = {"N", NULL, "H", "W"};
    for (int d = 0; d < 4; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = t->shape->dim[d];
        if (want[d])
            CHECK(dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                      strcmp(dm->dim_param, want[d]) == 0,
                  "%s dim %d not '%s'", name, d, want[d]);
        else
            CHECK(dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dm->dim_value == 1,
                  "%s dim 1 not 1", name);
    }
}

static void check_graph(const Onnx__GraphProto *g) {
    static const char *const ops[] = {
        "Conv", "Relu", "BatchNormalization", "Conv", "BatchNormalization", "Conv", "Relu", "Conv", "Sigmoid"};
    int nops = (int)(sizeof ops / sizeof *ops);
    CHECK((int)g->n_node == nops, "%zu nodes, want %d", g->n_node, nops);
    CHECK(g->n_input == 1 && g->n_output == 1, "%zu inputs, %zu outputs", g->n_input, g->n_output);
    if ((int)g->n_node != nops || g->n_input != 1 || g->n_output != 1) return;
    check_io(g->input[0], "image");
    check_io(g->output[0], "heatmap");
    const char *prev = "image";
    int block = 0, bn_seen = 0;
    char nm[64], nm2[64];
    for (int k = 0; k < nops; k++) {
        const Onnx__NodeProto *n = g->node[k];
        CHECK(strcmp(n->op_type, ops[k]) == 0, "node %d is %s, want %s", k, n->op_type, ops[k]);
        CHECK(n->n_input >= 1 && strcmp(n->input[0], prev) == 0, "node %d reads %s, want %s", k,
              n->n_input ? n->input[0] : "nothing", prev);
        CHECK(n->n_output == 1, "node %d: %zu outputs", k, n->n_output);
        prev = n->output[0];
        if (strcmp(ops[k], "Conv") == 0) {
            int head = k == nops - 2, ks = head ? 1 : 3;
            CHECK(n->n_input == 3, "conv %d: %zu inputs", k, n->n_input);
            CHECK(ints_are(attr_of(n, "kernel_shape"), 2, ks), "conv %d kernel_shape", k);
            CHECK(ints_are(attr_of(n, "pads"), 4, ks / 2), "conv %d pads", k);
            CHECK(ints_are(attr_of(n, "strides"), 2, 1), "conv %d strides", k);
            if (n->n_input == 3) {
                snprintf(nm, sizeof nm, head ? "head.kernel" : "conv%d.kernel", block);
                snprintf(nm2, sizeof nm2, head ? "head.bias" : "conv%d.bias", block);
                check_init(g, n->input[1], nm);
                check_init(g, n->input[2], nm2);
            }
            block += !head;
        }
        if (strcmp(ops[k], "BatchNormalization") == 0) {
            const Onnx__AttributeProto *e = attr_of(n, "epsilon");
            CHECK(e && e->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT && e->f == 1e-3f, "bn epsilon");
            static const char *const part[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
            CHECK(n->n_input == 5, "bn: %zu inputs", n->n_input);
            for (int p = 0; p < 4 && n->n_input == 5; p++) {
                snprintf(nm, sizeof nm, "bn%d.%s", block - 1, part[p]);
                check_init(g, n->input[p + 1], nm);
            }
            bn_seen++;
        }
    }
    CHECK(bn_seen == 2 && block == NB, "%d bn nodes, %d blocks", bn_seen, block);
    CHECK(strcmp(prev, "heatmap") == 0, "last output %s", prev);
    CHECK(g->n_initializer == (size_t)nt, "%zu initializers, want %d", g->n_initializer, nt);
}

static void expect_refusal(const char *what, const char *dir, const char *skip, const char *reshape, const char *nan,
                           const char *frag) {
    net_config c = config();
    st_file *f = write_open(dir, skip, reshape, nan);
    if (!f) return;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[1024] = "";
    int rc = onnx_export_bytes(&c, f, "ck.safetensors", &buf, &len, err, sizeof err);
    CHECK(rc == -1 && buf == NULL, "%s: accepted", what);
    CHECK(strstr(err, frag) != NULL, "%s: message '%s' lacks '%s'", what, err, frag);
    free(buf);
    st_close(f);
}

int main(void) {
    make_tensors();
    char *dir = t_tmpdir();
    net_config c = config();
    st_file *f = write_open(dir, NULL, NULL, NULL);
    uint8_t *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    char err[1024] = "";
    CHECK(onnx_export_bytes(&c, f, "ck", &buf, &len, err, sizeof err) == 0, "export: %s", err);
    CHECK(onnx_export_bytes(&c, f, "ck", &buf2, &len2, err, sizeof err) == 0, "export again: %s", err);
    CHECK(len == len2 && buf && buf2 && memcmp(buf, buf2, len) == 0, "two exports differ");
    Onnx__ModelProto *m = buf ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
    CHECK(m != NULL, "protobuf-c cannot decode the model");
    if (m) {
        CHECK(m->has_ir_version && m->ir_version == 7, "ir_version %lld", (long long)m->ir_version);
        CHECK(m->n_opset_import == 1 && strcmp(m->opset_import[0]->domain, "") == 0 &&
                  m->opset_import[0]->version == 13,
              "opset");
        CHECK(m->producer_name && strcmp(m->producer_name, "pixloc") == 0, "producer");
        CHECK(m->graph != NULL, "no graph");
        if (m->graph) check_graph(m->graph);
        onnx__model_proto__free_unpacked(m, NULL);
    }
    free(buf);
    free(buf2);
    st_close(f);

    // The written file is the same bytes.
    char path[1024];
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    f = write_open(dir, NULL, NULL, NULL);
    CHECK(onnx_export_write(&c, f, "ck", path, err, sizeof err) == 0, "write: %s", err);
    CHECK(onnx_export_bytes(&c, f, "ck", &buf, &len, err, sizeof err) == 0, "export: %s", err);
    size_t flen = 0;
    char *file = px_read_file(path, &flen);
    CHECK(file && flen == len && memcmp(file, buf, len) == 0, "file differs from the bytes");
    free(file);
    free(buf);
    snprintf(path, sizeof path, "%s/no/such/dir/m.onnx", dir);
    CHECK(onnx_export_write(&c, f, "ck", path, err, sizeof err) == -1 && strstr(err, "cannot write the ONNX model"),
          "unwritable path: '%s'", err);
    st_close(f);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    unlink(path);

    expect_refusal("missing tensor", dir, "bn1.moving_variance", NULL, NULL, "bn1.moving_variance");
    expect_refusal("wrong shape", dir, NULL, "conv1.kernel", NULL, "conv1.kernel");
    expect_refusal("NaN", dir, NULL, NULL, "conv2.bias", "tensor 'conv2.bias' element 1 is NaN");
    rmdir(dir);
    free(dir);
    for (int i = 0; i < nt; i++) free(T[i].data);
    return t_summary();
}
