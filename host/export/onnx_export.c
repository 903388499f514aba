// The network as an ONNX model (see include/export/onnx_export.h): the graph is built as
// protobuf-c messages of proto/onnx_subset.proto (generated at build time by protoc-c) in one
// allocation, packed by protobuf-c, then written atomically.
#include "onnx_export.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_subset.pb-c.h"
#include "pixloc.h"

#define MAX_NODES (3 * NET_MAX_BLOCKS + 2) // conv, relu, bn per block; head conv, sigmoid
#define MAX_INITS (6 * NET_MAX_BLOCKS + 2) // conv w, b, bn gamma, beta, mean, var; head w, b
#define MAX_ATTRS 3
#define MAX_IN    5
#define NAME_LEN  48

typedef struct {
    Onnx__NodeProto node[MAX_NODES];
    Onnx__NodeProto *node_p[MAX_NODES];
    char node_name[MAX_NODES][NAME_LEN];
    char node_op[MAX_NODES][NAME_LEN];
    char *node_in[MAX_NODES][MAX_IN];
    char *node_out[MAX_NODES][1];
    char value[MAX_NODES][NAME_LEN]; // each node's output value name
    Onnx__AttributeProto attr[MAX_NODES][MAX_ATTRS];
    Onnx__AttributeProto *attr_p[MAX_NODES][MAX_ATTRS];
    char attr_name[MAX_NODES][MAX_ATTRS][NAME_LEN];
    int64_t ints[MAX_NODES][MAX_ATTRS][4];
    int nn;
    Onnx__TensorProto init[MAX_INITS];
    Onnx__TensorProto *init_p[MAX_INITS];
    char init_name[MAX_INITS][NAME_LEN];
    int64_t init_dims[MAX_INITS][4];
    float *init_data[MAX_INITS];
    int ni;
    // graph input and output: "image" and "heatmap", N x 1 x H x W
    Onnx__ValueInfoProto io[2];
    Onnx__ValueInfoProto *in_p[1], *out_p[1];
    Onnx__TypeProto type[2];
    Onnx__TypeProto__Tensor ttype[2];
    Onnx__TensorShapeProto shape[2];
    Onnx__TensorShapeProto__Dimension dim[2][4];
    Onnx__TensorShapeProto__Dimension *dim_p[2][4];
    char io_name[2][NAME_LEN];
    char dim_param[3][4]; // "N", "H", "W"
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opset_p[1];
    Onnx__StringStringEntryProto meta[4];
    Onnx__StringStringEntryProto *meta_p[4];
    char meta_kv[4][2][128];
    char strings[4][1024]; // producer name, producer version, doc string, graph name
    char empty[1];
    Onnx__ModelProto model;
} builder;

// The checkpoint tensor st_name, checked against its Keras shape (ndim, shape) and for finite
// values, as the ONNX initializer onnx_name. Kernels (ndim 4, Keras (kh,kw,Cin,Cout)) are
// transposed to ONNX's (Cout,Cin,kh,kw). Returns the initializer's name, or NULL (err set).
static char *add_init(builder *b, const st_file *f, const char *fname, const char *st_name, const char *onnx_name,
                      int ndim, const int64_t *shape, char *err, size_t errlen) {
    char e2[768];
    const st_tensor *t = st_expect(f, st_name, ST_F32, ndim, shape, e2, sizeof e2);
    if (!t) {
        px_errf(err, errlen, "%s (the checkpoint's tensors do not match its architecture)", e2);
        return NULL;
    }
    size_t count = 1;
    for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
    const float *src = t->data;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(src[i])) {
            px_errf_file(err, errlen, fname, "tensor '%s' element %zu is %s: the checkpoint is damaged", st_name, i,
                         isnan(src[i]) ? "NaN" : "infinite");
            return NULL;
        }
    int k = b->ni++;
    float *dst = px_malloc(count * sizeof(float) + 1, "onnx initializer");
    b->init_data[k] = dst;
    Onnx__TensorProto *p = &b->init[k];
    onnx__tensor_proto__init(p);
    if (ndim == 4) { // (kh, kw, ci, co) -> (co, ci, kh, kw)
        int64_t kh = shape[0], kw = shape[1], ci = shape[2], co = shape[3];
        for (int64_t y = 0; y < kh; y++)
            for (int64_t x = 0; x < kw; x++)
                for (int64_t i = 0; i < ci; i++)
                    for (int64_t o = 0; o < co; o++)
                        dst[((o * ci + i) * kh + y) * kw + x] = src[((y * kw + x) * ci + i) * co + o];
        int64_t dims[4] = {co, ci, kh, kw};
        memcpy(b->init_dims[k], dims, sizeof dims);
    } else {
        memcpy(dst, src, count * sizeof(float));
        memcpy(b->init_dims[k], shape, (size_t)ndim * sizeof(int64_t));
    }
    snprintf(b->init_name[k], NAME_LEN, "%s", onnx_name);
    p->name = b->init_name[k];
    p->n_dims = (size_t)ndim;
    p->dims = b->init_dims[k];
    p->has_data_type = 1;
    p->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    p->n_float_data = count;
    p->float_data = dst;
    b->init_p[k] = p;
    return p->name;
}

// A node op_type named `name` reading in[0..nin), writing the value "<name>.out" (or out_name if
// not NULL); returns the node's index.
static int add_node(builder *b, const char *op_type, const char *name, char *const *in, int nin, const char *out_name) {
    int k = b->nn++;
    Onnx__NodeProto *p = &b->node[k];
    onnx__node_proto__init(p);
    snprintf(b->node_name[k], NAME_LEN, "%s", name);
    snprintf(b->node_op[k], NAME_LEN, "%s", op_type);
    if (out_name)
        snprintf(b->value[k], NAME_LEN, "%s", out_name);
    else
        snprintf(b->value[k], NAME_LEN, "%s.out", name);
    for (int i = 0; i < nin; i++) b->node_in[k][i] = in[i];
    b->node_out[k][0] = b->value[k];
    p->name = b->node_name[k];
    p->op_type = b->node_op[k];
    p->n_input = (size_t)nin;
    p->input = b->node_in[k];
    p->n_output = 1;
    p->output = b->node_out[k];
    p->attribute = b->attr_p[k];
    b->node_p[k] = p;
    return k;
}

static Onnx__AttributeProto *add_attr(builder *b, int node, const char *name) {
    Onnx__NodeProto *p = &b->node[node];
    size_t a = p->n_attribute++;
    Onnx__AttributeProto *at = &b->attr[node][a];
    onnx__attribute_proto__init(at);
    snprintf(b->attr_name[node][a], NAME_LEN, "%s", name);
    at->name = b->attr_name[node][a];
    at->has_type = 1;
    b->attr_p[node][a] = at;
    return at;
}

static void attr_ints(builder *b, int node, const char *name, const int64_t *v, int n) {
    size_t a = b->node[node].n_attribute;
    Onnx__AttributeProto *at = add_attr(b, node, name);
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    memcpy(b->ints[node][a], v, (size_t)n * sizeof(int64_t));
    at->n_ints = (size_t)n;
    at->ints = b->ints[node][a];
}

static void attr_float(builder *b, int node, const char *name, float v) {
    Onnx__AttributeProto *at = add_attr(b, node, name);
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    at->has_f = 1;
    at->f = v;
}

// A Conv with a k x k kernel, stride 1 and zero padding k/2 on each side ('same' for odd k).
static int add_conv(builder *b, const char *name, char *x, char *w, char *bias, int k) {
    char *in[3] = {x, w, bias};
    int node = add_node(b, "Conv", name, in, 3, NULL);
    int64_t ks[2] = {k, k}, pads[4] = {k / 2, k / 2, k / 2, k / 2}, strides[2] = {1, 1};
    attr_ints(b, node, "kernel_shape", ks, 2);
    attr_ints(b, node, "pads", pads, 4);
    attr_ints(b, node, "strides", strides, 2);
    return node;
}

// Graph input/output j (0 "image", 1 "heatmap"): float32 N x 1 x H x W with N, H, W symbolic.
static Onnx__ValueInfoProto *io_value(builder *b, int j, const char *name) {
    snprintf(b->io_name[j], NAME_LEN, "%s", name);
    for (int d = 0; d < 4; d++) {
        Onnx__TensorShapeProto__Dimension *dm = &b->dim[j][d];
        onnx__tensor_shape_proto__dimension__init(dm);
        if (d == 1) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = 1;
        } else {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = b->dim_param[d == 0 ? 0 : d - 1];
        }
        b->dim_p[j][d] = dm;
    }
    onnx__tensor_shape_proto__init(&b->shape[j]);
    b->shape[j].n_dim = 4;
    b->shape[j].dim = b->dim_p[j];
    onnx__type_proto__tensor__init(&b->ttype[j]);
    b->ttype[j].has_elem_type = 1;
    b->ttype[j].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    b->ttype[j].shape = &b->shape[j];
    onnx__type_proto__init(&b->type[j]);
    b->type[j].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->type[j].tensor_type = &b->ttype[j];
    onnx__value_info_proto__init(&b->io[j]);
    b->io[j].name = b->io_name[j];
    b->io[j].type = &b->type[j];
    return &b->io[j];
}

// Every node and initializer of the network; 0 or -1 (err set).
static int build_layers(builder *b, const net_config *cfg, const st_file *f, const char *fname, char *err,
                        size_t errlen) {
    char *x = b->io_name[0], nm[NAME_LEN], on[NAME_LEN], node[NAME_LEN];
    int cin = 1;
    for (int i = 0; i < cfg->nblocks; i++) {
        int co = cfg->channels[i];
        int64_t ks[4] = {3, 3, cin, co}, cs[1] = {co};
        snprintf(nm, sizeof nm, "conv%d.kernel", i);
        snprintf(on, sizeof on, "conv%d.weight", i);
        char *w = add_init(b, f, fname, nm, on, 4, ks, err, errlen);
        snprintf(nm, sizeof nm, "conv%d.bias", i);
        char *bias = w ? add_init(b, f, fname, nm, nm, 1, cs, err, errlen) : NULL;
        if (!bias) return -1;
        snprintf(node, sizeof node, "conv%d", i);
        x = b->value[add_conv(b, node, x, w, bias, 3)];
        if (cfg->relu[i]) {
            snprintf(node, sizeof node, "relu%d", i);
            x = b->value[add_node(b, "Relu", node, &x, 1, NULL)];
        }
        if (cfg->bn[i]) {
            static const char *const part[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
            char *in[5] = {x};
            for (int p = 0; p < 4; p++) {
                snprintf(nm, sizeof nm, "bn%d.%s", i, part[p]);
                if (!(in[p + 1] = add_init(b, f, fname, nm, nm, 1, cs, err, errlen))) return -1;
            }
            snprintf(node, sizeof node, "bn%d", i);
            int k = add_node(b, "BatchNormalization", node, in, 5, NULL);
            attr_float(b, k, "epsilon", cfg->bn_eps);
            x = b->value[k];
        }
        cin = co;
    }
    int64_t hs[4] = {1, 1, cin, 1}, bs[1] = {1};
    char *w = add_init(b, f, fname, "head.kernel", "head.weight", 4, hs, err, errlen);
    char *bias = w ? add_init(b, f, fname, "head.bias", "head.bias", 1, bs, err, errlen) : NULL;
    if (!bias) return -1;
    x = b->value[add_conv(b, "head", x, w, bias, 1)];
    add_node(b, "Sigmoid", "sigmoid", &x, 1, b->io_name[1]);
    return 0;
}

static void builder_free(builder *b) {
    for (int i = 0; i < b->ni; i++) free(b->init_data[i]);
    free(b);
}

// The model message around the graph: IR version, opset, producer, doc string, metadata.
static void build_model(builder *b, const net_config *cfg) {
    char ch[256] = "";
    for (int i = 0; i < cfg->nblocks; i++)
        snprintf(ch + strlen(ch), sizeof ch - strlen(ch), "%s%d", i ? "," : "", cfg->channels[i]);
    snprintf(b->strings[0], sizeof b->strings[0], "pixloc");
    snprintf(b->strings[1], sizeof b->strings[1], "%s", PIXLOC_VERSION);
    snprintf(b->strings[2], sizeof b->strings[2],
             "pixloc heatmap CNN (channels %s): input 'image' float32 N x 1 x H x W, pixel values 0..1 "
             "(8-bit / 255); output 'heatmap' float32 N x 1 x H x W (sigmoid); the bright pixel is the "
             "argmax of the heatmap (x = column, y = row)%s",
             ch,
             cfg->input_filter == NET_FILTER_IMPULSE
                 ? ". Trained with pixloc's impulse input filter, which this graph does not contain: before "
                   "the graph, replace the pixels that hold an image's one repeated value (0 and 1 aside) by "
                   "the mean of their other 8-neighbours (pixloc's include/nn/input_filter.h)"
                 : "");
    snprintf(b->strings[3], sizeof b->strings[3], "pixloc_heatmap_cnn");
    onnx__graph_proto__init(&b->graph);
    b->graph.name = b->strings[3];
    b->graph.n_node = (size_t)b->nn;
    b->graph.node = b->node_p;
    b->graph.n_initializer = (size_t)b->ni;
    b->graph.initializer = b->init_p;
    b->in_p[0] = &b->io[0];
    b->out_p[0] = &b->io[1];
    b->graph.n_input = 1;
    b->graph.input = b->in_p;
    b->graph.n_output = 1;
    b->graph.output = b->out_p;
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = b->empty; // "": the default ONNX operator set
    b->opset.has_version = 1;
    b->opset.version = ONNX_EXPORT_OPSET;
    b->opset_p[0] = &b->opset;
    static const char *const keys[4] = {"pixloc_channels", "pixloc_bn_eps", "pixloc_version", "pixloc_input_filter"};
    snprintf(b->meta_kv[0][1], sizeof b->meta_kv[0][1], "%s", ch);
    snprintf(b->meta_kv[1][1], sizeof b->meta_kv[1][1], "%.9g", (double)cfg->bn_eps);
    snprintf(b->meta_kv[2][1], sizeof b->meta_kv[2][1], "%s", PIXLOC_VERSION);
    snprintf(b->meta_kv[3][1], sizeof b->meta_kv[3][1], "%s", input_filter_name(cfg->input_filter));
    for (int i = 0; i < 4; i++) {
        onnx__string_string_entry_proto__init(&b->meta[i]);
        snprintf(b->meta_kv[i][0], sizeof b->meta_kv[i][0], "%s", keys[i]);
        b->meta[i].key = b->meta_kv[i][0];
        b->meta[i].value = b->meta_kv[i][1];
        b->meta_p[i] = &b->meta[i];
    }
    onnx__model_proto__init(&b->model);
    b->model.has_ir_version = 1;
    b->model.ir_version = ONNX_EXPORT_IR_VERSION;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opset_p;
    b->model.producer_name = b->strings[0];
    b->model.producer_version = b->strings[1];
    b->model.doc_string = b->strings[2];
    b->model.graph = &b->graph;
    b->model.n_metadata_props = 4;
    b->model.metadata_props = b->meta_p;
}

int onnx_export_bytes(const net_config *cfg, const st_file *weights, const char *name, uint8_t **out, size_t *len,
                      char *err, size_t errlen) {
    *out = NULL;
    *len = 0;
    if (cfg->nblocks < 1 || cfg->nblocks > NET_MAX_BLOCKS) {
        px_errf_file(err, errlen, name, "%d blocks (expected 1..%d)", cfg->nblocks, NET_MAX_BLOCKS);
        return -1;
    }
    builder *b = px_calloc(1, sizeof *b, "onnx graph");
    snprintf(b->dim_param[0], sizeof b->dim_param[0], "N");
    snprintf(b->dim_param[1], sizeof b->dim_param[1], "H");
    snprintf(b->dim_param[2], sizeof b->dim_param[2], "W");
    io_value(b, 0, "image");
    io_value(b, 1, "heatmap");
    if (build_layers(b, cfg, weights, name, err, errlen) != 0) {
        builder_free(b);
        return -1;
    }
    build_model(b, cfg);
    size_t n = protobuf_c_message_get_packed_size(&b->model.base);
    uint8_t *buf = px_malloc(n + 1, "onnx model");
    size_t packed = protobuf_c_message_pack(&b->model.base, buf);
    builder_free(b);
    if (packed != n) {
        free(buf);
        px_errf(err, errlen, "onnx: protobuf-c packed %zu bytes, expected %zu", packed, n);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

int onnx_export_write(const net_config *cfg, const st_file *weights, const char *name, const char *path, char *err,
                      size_t errlen) {
    uint8_t *buf;
    size_t len;
    if (onnx_export_bytes(cfg, weights, name, &buf, &len, err, errlen) != 0) return -1;
    int rc = px_write_file_atomic(path, buf, len);
    int e = errno;
    free(buf);
    if (rc != 0) {
        px_errf_file(err, errlen, path, "cannot write the ONNX model: %s", strerror(e));
        return -1;
    }
    return 0;
}
