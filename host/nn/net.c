// The heatmap network on the device (see include/net.h): parameters, Adam state
// and BN statistics in flat buffers, activations in the padded-plane layout of
// layout.h, and forward / backward / update as sequences of kernel launches.
#include "net.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"
#include "batchnorm.h"
#include "conv.h"
#include "head.h"
#include "layout.h"
#include "parse.h"
#include "pixloc.h"
#include "relu.h"

#define NET_MAX_TENSORS (6 * NET_MAX_BLOCKS + 2)
#define NET_MAX_PROF    128
#define NET_GATHER_WG   256 // gather kernels: positions per work-group

typedef struct {
    int cin, cout;
    int kw, kb, gamma, beta, mean, var; // tensor indices (-1 when the block has no BN)
    conv3x3 *conv;
    batchnorm *bn; // NULL when the block has no BN
    relu *relu;    // blocks with ReLU and no BN (BN's backward fuses the ReLU mask)
    cl_mem act;    // (N, cout) padded: conv (+ReLU) output = BN input
    cl_mem out;    // (N, cout) padded: BN output; == act when the block has no BN, or when the next
                   // convolution applies the BN as it loads act (its bn_in: plan_bn_fusion)
} net_block;

struct net {
    ocl_ctx *c;
    net_config cfg;
    int H, W, max_N;
    int nt;
    conv3x3_params prm[NET_MAX_BLOCKS]; // each conv's parameters: its plan and its creation
    net_tensor t[NET_MAX_TENSORS];
    size_t n_train, n_stats;
    net_block b[NET_MAX_BLOCKS];
    int head_w, head_b; // tensor indices
    // An inference network (NET_KIND_INFERENCE) has no gradient, Adam, BN-scratch, target
    // or per-layer activation buffers: block outputs alternate between pp[0] (which also
    // holds the input planes, x0 == pp[0]) and pp[1], and each block's batch norm is
    // folded into its convolution's epilogue with per-channel (bias, scale, shift) in `fused`.
    int infer;
    int fold_dirty;                   // parameters changed since the last fold
    cl_mem pp[2], fused;              // ping-pong activations; folded bias, scale, shift
    size_t fused_off[NET_MAX_BLOCKS]; // float offset of block i's (bias, scale, shift) in fused
    head *hd;
    adam *opt;
    cl_mem params, grads, m, v, stats;
    cl_mem x0;                        // (N, 1) padded input planes
    cl_mem heat;                      // (N, H, W) dense sigmoid outputs
    cl_mem target;                    // (N, H, W) dense target heatmaps
    cl_mem g[2];                      // (N, widest) padded gradient ping-pong
    cl_mem staging_img, staging_heat; // (N, H, W) dense, for net_set_batch
    float *filtered;                  // host copy of net_set_batch's images, filtered (input_filter)
    int filter_warned;                // said once that the filter found nothing to replace
    cl_mem idx, idx_identity;         // (N) int64 row indices for the gather kernels
    cl_kernel k_gather_img, k_gather_tgt;
    int64_t step;
    int reest_k;
    batch_split *split;     // net_set_split (NULL: this net's batch is the whole)
    float *g_local, *g_all; // (n_train), (nprocs, n_train) host staging for the gradient sum
    int want_input_grad;
    int input_grad_buf; // index into g[] holding the input gradient, -1 if none
    // per-op timing (net_profile)
    int profile;
    double prof_mark;
    int nprof;
    char prof_name[NET_MAX_PROF][32];
    double prof_time[NET_MAX_PROF];
    long prof_calls[NET_MAX_PROF];
};

void net_config_seed(net_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    static const int ch[5] = {32, 64, 128, 64, 32};
    cfg->nblocks = 5;
    for (int i = 0; i < NET_MAX_BLOCKS; i++) {
        cfg->channels[i] = i < 5 ? ch[i] : 0;
        cfg->relu[i] = 1;
        cfg->bn[i] = 1;
    }
    cfg->bn_momentum = 0.99f;
    cfg->bn_eps = 1e-3f;
    cfg->head_bias_init = 0.0f;
    cfg->loss = NET_LOSS_MSE;
    cfg->input_filter = NET_FILTER_NONE;
    cfg->filter_fraction = 1.0f;
}

const char *net_loss_name(int loss) { return loss == NET_LOSS_BCE ? "bce" : "mse"; }
int net_loss_parse(const char *name) {
    if (strcmp(name, "mse") == 0) return NET_LOSS_MSE;
    if (strcmp(name, "bce") == 0) return NET_LOSS_BCE;
    return -1;
}

int net_config_channels(net_config *cfg, const char *list, char *err, size_t errlen) {
    int ch[NET_MAX_BLOCKS];
    int n = px_parse_int_list(list, ch, NET_MAX_BLOCKS, 1, 4096, err, errlen);
    if (n < 0) return -1;
    cfg->nblocks = n;
    for (int i = 0; i < n; i++) cfg->channels[i] = ch[i];
    return 0;
}

// ---- tensors ----

static int add_tensor(net *n, const char *name, int ndim, const int64_t *shape, int trainable) {
    net_tensor *t = &n->t[n->nt];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->count = 1;
    for (int d = 0; d < ndim; d++) {
        t->shape[d] = shape[d];
        t->count *= (size_t)shape[d];
    }
    t->trainable = trainable;
    if (trainable) {
        t->offset = n->n_train;
        n->n_train += t->count;
    } else {
        t->offset = n->n_stats;
        n->n_stats += t->count;
    }
    return n->nt++;
}

static void build_tensors(net *n) {
    char name[48];
    int cin = 1;
    for (int i = 0; i < n->cfg.nblocks; i++) {
        net_block *b = &n->b[i];
        int co = n->cfg.channels[i];
        b->cin = cin;
        b->cout = co;
        int64_t ks[4] = {3, 3, cin, co}, cs[1] = {co};
        snprintf(name, sizeof name, "conv%d.kernel", i);
        b->kw = add_tensor(n, name, 4, ks, 1);
        snprintf(name, sizeof name, "conv%d.bias", i);
        b->kb = add_tensor(n, name, 1, cs, 1);
        b->gamma = b->beta = b->mean = b->var = -1;
        if (n->cfg.bn[i]) {
            snprintf(name, sizeof name, "bn%d.gamma", i);
            b->gamma = add_tensor(n, name, 1, cs, 1);
            snprintf(name, sizeof name, "bn%d.beta", i);
            b->beta = add_tensor(n, name, 1, cs, 1);
            snprintf(name, sizeof name, "bn%d.moving_mean", i);
            b->mean = add_tensor(n, name, 1, cs, 0);
            snprintf(name, sizeof name, "bn%d.moving_variance", i);
            b->var = add_tensor(n, name, 1, cs, 0);
        }
        cin = co;
    }
    int64_t hs[4] = {1, 1, cin, 1}, bs[1] = {1};
    n->head_w = add_tensor(n, "head.kernel", 4, hs, 1);
    n->head_b = add_tensor(n, "head.bias", 1, bs, 1);
}

int net_tensor_count(const net *n) { return n->nt; }
const net_tensor *net_tensor_at(const net *n, int i) {
    if (i < 0 || i >= n->nt) px_die(PX_EXIT_FAIL, "net: tensor index %d outside 0..%d", i, n->nt - 1);
    return &n->t[i];
}
size_t net_trainable_count(const net *n) { return n->n_train; }
size_t net_nontrainable_count(const net *n) { return n->n_stats; }
static size_t off(const net *n, int i) { return n->t[i].offset; }

// ---- allocation ----

// Where a training net's batch norm output is never written: block i's, when the next block's
// convolution can apply the batch norm as it loads block i's conv output (conv3x3_bn_in_ok),
// which saves the apply pass (a read and a write of the activations) and the output's buffer.
// The last block's output feeds the head, which cannot. separate != 0: nowhere (every batch
// norm writes its output; the same numbers, for comparison: PIXLOC_BN_SEPARATE=1).
// Likewise a batch norm's per-plane sums are written by the convolution before it where that
// can (conv3x3_bn_stats_ok: it writes each plane whole, and sums it from cache), which saves
// the statistics' read of the activations.
static void plan_bn_fusion(const ocl_target *t, const net_config *cfg, conv3x3_params *prm, int separate) {
    for (int i = 0; i < cfg->nblocks; i++) {
        prm[i].bn_in = !separate && i > 0 && cfg->bn[i - 1] && conv3x3_bn_in_ok(&prm[i]);
        prm[i].bn_stats = !separate && cfg->bn[i] && conv3x3_bn_stats_ok(t, &prm[i]);
    }
}
// 1 if block i's batch norm output is applied by the next convolution (plan_bn_fusion).
static int bn_applied_next(const net *n, int i) { return i + 1 < n->cfg.nblocks && n->prm[i + 1].bn_in; }

static const char *const ACT_NAMES[NET_MAX_BLOCKS] = {
    "conv0 output",  "conv1 output",  "conv2 output",  "conv3 output", "conv4 output",  "conv5 output",
    "conv6 output",  "conv7 output",  "conv8 output",  "conv9 output", "conv10 output", "conv11 output",
    "conv12 output", "conv13 output", "conv14 output", "conv15 output"};
static const char *const BN_NAMES[NET_MAX_BLOCKS] = {"bn0 output",  "bn1 output",  "bn2 output",  "bn3 output",
                                                     "bn4 output",  "bn5 output",  "bn6 output",  "bn7 output",
                                                     "bn8 output",  "bn9 output",  "bn10 output", "bn11 output",
                                                     "bn12 output", "bn13 output", "bn14 output", "bn15 output"};

// Every device buffer net_create allocates for batches of N, the net's own and
// (from their own size functions) its modules', in allocation order.
static void net_buffers(const net *n, int N, nn_buffers *l) {
    int H = n->H, W = n->W, widest = 1;
    for (int i = 0; i < n->cfg.nblocks; i++)
        if (n->cfg.channels[i] > widest) widest = n->cfg.channels[i];
    size_t dense = (size_t)N * H * W * sizeof(float);
    size_t tb = n->n_train * sizeof(float);
    l->n = 0;
    nn_buffers_add(l, "parameters", tb, 0);
    nn_buffers_add(l, "gradients", tb, 0);
    nn_buffers_add(l, "adam m", tb, 0);
    nn_buffers_add(l, "adam v", tb, 0);
    nn_buffers_add(l, "bn moving statistics", (n->n_stats ? n->n_stats : 1) * sizeof(float), 0);
    act_layout x0 = act_layout_make(N, 1, H, W);
    nn_buffers_add(l, "input planes", act_floats(&x0) * sizeof(float), 0);
    for (int i = 0; i < n->cfg.nblocks; i++) {
        const net_block *b = &n->b[i];
        act_layout a = act_layout_make(N, b->cout, H, W);
        nn_buffers_add(l, ACT_NAMES[i], act_floats(&a) * sizeof(float), 0);
        if (n->cfg.bn[i] && !bn_applied_next(n, i)) nn_buffers_add(l, BN_NAMES[i], act_floats(&a) * sizeof(float), 0);
        conv3x3_buffers(&n->prm[i], N, b->cin, b->cout, H, W, l);
        if (n->cfg.bn[i])
            batchnorm_buffers(N, b->cout, H, W, l);
        else if (n->cfg.relu[i])
            relu_buffers(N, b->cout, H, W, l);
    }
    act_layout g = act_layout_make(N, widest, H, W);
    nn_buffers_add(l, "heatmaps", dense, 0);
    nn_buffers_add(l, "targets", dense, 0);
    nn_buffers_add(l, "gradient A", act_floats(&g) * sizeof(float), 0);
    nn_buffers_add(l, "gradient B", act_floats(&g) * sizeof(float), 0);
    nn_buffers_add(l, "staging images", dense, 0);
    nn_buffers_add(l, "staging heatmaps", dense, 0);
    head_buffers(N, n->b[n->cfg.nblocks - 1].cout, H, W, l);
    nn_buffers_add(l, "batch indices", (size_t)N * sizeof(int64_t), 0);
    nn_buffers_add(l, "batch identity indices", (size_t)N * sizeof(int64_t), 0);
}

// Channels of the widest tensor each ping-pong buffer of an inference net holds:
// pp[0] the input (1 channel) and the outputs of blocks 1, 3, ..., pp[1] those of blocks 0, 2, ...
static void pingpong_channels(const net *n, int ch[2]) {
    ch[0] = 1;
    ch[1] = 1;
    for (int i = 0; i < n->cfg.nblocks; i++) {
        int k = (i + 1) & 1;
        if (n->cfg.channels[i] > ch[k]) ch[k] = n->cfg.channels[i];
    }
}

// Floats of `fused`: (bias, scale, shift) per block with BN; fills n->fused_off when out != NULL.
static size_t fused_floats(const net *n, size_t *out) {
    size_t t = 0;
    for (int i = 0; i < n->cfg.nblocks; i++) {
        if (out) out[i] = t;
        if (n->cfg.bn[i]) t += 3 * (size_t)n->cfg.channels[i];
    }
    return t ? t : 1;
}

// An inference net's buffers for batches of N, in allocation order.
static void net_buffers_inference(const net *n, int N, nn_buffers *l) {
    int H = n->H, W = n->W, ch[2];
    pingpong_channels(n, ch);
    size_t dense = (size_t)N * H * W * sizeof(float);
    l->n = 0;
    nn_buffers_add(l, "parameters", n->n_train * sizeof(float), 0);
    nn_buffers_add(l, "bn moving statistics", (n->n_stats ? n->n_stats : 1) * sizeof(float), 0);
    nn_buffers_add(l, "folded bias and batch norm", fused_floats(n, NULL) * sizeof(float), 0);
    act_layout a = act_layout_make(N, ch[0], H, W), b = act_layout_make(N, ch[1], H, W);
    nn_buffers_add(l, "activations A", act_floats(&a) * sizeof(float), 0);
    nn_buffers_add(l, "activations B", act_floats(&b) * sizeof(float), 0);
    for (int i = 0; i < n->cfg.nblocks; i++) conv3x3_forward_buffers(&n->prm[i], N, n->b[i].cin, n->b[i].cout, H, W, l);
    nn_buffers_add(l, "heatmaps", dense, 0);
    nn_buffers_add(l, "staging images", dense, 0);
    nn_buffers_add(l, "batch indices", (size_t)N * sizeof(int64_t), 0);
    nn_buffers_add(l, "batch identity indices", (size_t)N * sizeof(int64_t), 0);
}

// 1 if every buffer of batch N fits the allocation cap (and its module's own
// limit) and all of them together fit global memory; else 0 and the first that
// does not (the index, or -1 for the total), with the list in *l.
static int plan_fits(const net *n, int N, nn_buffers *l, int *bad, size_t *total) {
    if (n->infer)
        net_buffers_inference(n, N, l);
    else
        net_buffers(n, N, l);
    size_t cap = ocl_alloc_cap(n->c);
    *total = 0;
    for (int i = 0; i < l->n; i++) {
        size_t lim = l->b[i].limit && l->b[i].limit < cap ? l->b[i].limit : cap;
        size_t bytes = l->b[i].bytes ? l->b[i].bytes : 4; // ocl_buffer_try allocates 4 bytes for 0
        *total += bytes;
        if (bytes > lim) {
            *bad = i;
            return 0;
        }
    }
    *bad = -1;
    return *total <= n->c->global_mem;
}

// The largest batch whose plan fits (0 if not even one image does). Every
// buffer grows with the batch, so the fitting batches are 1..answer.
static long largest_batch(const net *n) {
    nn_buffers l; // ~8 KiB
    int bad;
    size_t total;
    long lo = 0, hi = INT_MAX / ((long)n->H * n->W) + 1; // lo fits (or is 0), hi does not (int indexing)
    if (hi > (1L << 30)) hi = 1L << 30;
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        if (plan_fits(n, (int)mid, &l, &bad, &total))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static void __attribute__((noreturn)) no_fit(const net *n, const char *name, size_t bytes) {
    long fit = largest_batch(n);
    px_die(PX_EXIT_FAIL,
           "network buffer '%s' (%.1f MiB) does not fit on %s at batch %d for %dx%d images: "
           "largest allocation %.1f MiB, global memory %.1f MiB; the largest batch that fits is %ld",
           name, (double)bytes / (1 << 20), n->c->device_name, n->max_N, n->H, n->W,
           (double)ocl_alloc_cap(n->c) / (1 << 20), (double)n->c->global_mem / (1 << 20), fit);
}

// Allocates the net's own buffer `name` from the plan.
static cl_mem plan_alloc(net *n, const nn_buffers *l, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->b[i].name, name) == 0) {
            cl_mem m = ocl_buffer_try(n->c, name, l->b[i].bytes);
            if (!m) no_fit(n, name, l->b[i].bytes);
            return m;
        }
    px_die(PX_EXIT_FAIL, "net: buffer '%s' is not in the plan", name);
}

// A net with its tensors and each conv's parameters, but no device state: what
// the plan needs.
static net *net_shell(ocl_ctx *c, const net_config *cfg, int H, int W, int max_batch, net_kind kind) {
    if (cfg->nblocks < 1 || cfg->nblocks > NET_MAX_BLOCKS)
        px_die(PX_EXIT_USAGE, "net: %d blocks (want 1..%d)", cfg->nblocks, NET_MAX_BLOCKS);
    if (H < 1 || W < 1 || max_batch < 1) px_die(PX_EXIT_USAGE, "net: bad shape %dx%d, batch %d", H, W, max_batch);
    net *n = px_calloc(1, sizeof *n, "net");
    n->c = c;
    n->cfg = *cfg;
    n->H = H;
    n->W = W;
    n->max_N = max_batch;
    n->input_grad_buf = -1;
    n->infer = kind == NET_KIND_INFERENCE;
    n->fold_dirty = 1;
    build_tensors(n);
    for (int i = 0; i < cfg->nblocks; i++) {
        n->prm[i] = conv3x3_default_params(c, n->b[i].cin, n->b[i].cout, H, W);
        if (n->infer) n->prm[i] = conv3x3_forward_params(&c->target, &n->prm[i]);
    }
    if (!n->infer) plan_bn_fusion(&c->target, cfg, n->prm, c->bn_separate);
    return n;
}

long net_largest_batch(ocl_ctx *c, const net_config *cfg, int H, int W) {
    return net_largest_batch_kind(c, cfg, H, W, NET_KIND_TRAINING);
}

long net_largest_batch_kind(ocl_ctx *c, const net_config *cfg, int H, int W, net_kind kind) {
    net *n = net_shell(c, cfg, H, W, 1, kind);
    long b = largest_batch(n);
    free(n);
    return b;
}

int net_plan_check(ocl_ctx *c, const net_config *cfg, int H, int W, int batch, const char **name, size_t *bytes) {
    return net_plan_check_kind(c, cfg, H, W, batch, NET_KIND_TRAINING, name, bytes);
}

int net_plan_check_kind(ocl_ctx *c, const net_config *cfg, int H, int W, int batch, net_kind kind, const char **name,
                        size_t *bytes) {
    net *n = net_shell(c, cfg, H, W, batch, kind);
    nn_buffers l; // ~8 KiB
    int bad;
    size_t total;
    int ok = plan_fits(n, batch, &l, &bad, &total);
    if (name) *name = ok ? NULL : bad >= 0 ? l.b[bad].name : "all buffers together";
    if (bytes) *bytes = ok ? total : bad >= 0 ? l.b[bad].bytes : total;
    free(n);
    return ok;
}

// The buffers and modules of batch index rows and the gather kernels, both kinds.
static void create_batch_indices(net *n, const nn_buffers *l) {
    int max_batch = n->max_N;
    n->idx = plan_alloc(n, l, "batch indices");
    n->idx_identity = plan_alloc(n, l, "batch identity indices");
    int64_t *id = px_malloc((size_t)max_batch * sizeof(int64_t), "identity indices");
    for (int i = 0; i < max_batch; i++) id[i] = i;
    ocl_write(n->c, n->idx_identity, 0, id, (size_t)max_batch * sizeof(int64_t));
    free(id);
    cl_program bp = ocl_program(n->c, "batch.cl", "");
    n->k_gather_img = ocl_kernel(n->c, bp, "gather_images");
    n->k_gather_tgt = ocl_kernel(n->c, bp, "gather_targets");
}

static void create_inference(net *n, const nn_buffers *l) {
    ocl_ctx *c = n->c;
    const net_config *cfg = &n->cfg;
    n->params = plan_alloc(n, l, "parameters");
    n->stats = plan_alloc(n, l, "bn moving statistics");
    n->fused = plan_alloc(n, l, "folded bias and batch norm");
    fused_floats(n, n->fused_off);
    n->pp[0] = plan_alloc(n, l, "activations A");
    n->pp[1] = plan_alloc(n, l, "activations B");
    n->x0 = n->pp[0];
    for (int i = 0; i < cfg->nblocks; i++) {
        net_block *b = &n->b[i];
        b->act = b->out = n->pp[(i + 1) & 1];
        b->conv = conv3x3_create_forward(c, n->max_N, b->cin, b->cout, n->H, n->W, &n->prm[i], cfg->bn[i]);
    }
    n->heat = plan_alloc(n, l, "heatmaps");
    n->staging_img = plan_alloc(n, l, "staging images");
    n->hd = head_create_forward(c, n->max_N, n->b[cfg->nblocks - 1].cout, n->H, n->W);
    create_batch_indices(n, l);
}

// Every program the layers below will build, announced in the order they are built,
// so helper threads (where they run) compile them in parallel with the main thread.
// The list is made as net_programs makes it, with this net's own parameters (tuned or forced).
static void prefetch_programs(net *n, int max_batch) {
    if (!ocl_prefetches(n->c)) return;
    const ocl_target *t = &n->c->target;
    ocl_program_list *l = px_calloc(1, sizeof *l, "program list");
    for (int i = 0; i < n->cfg.nblocks; i++) {
        const net_block *b = &n->b[i];
        conv3x3_programs(t, &n->prm[i], max_batch, b->cin, b->cout, n->H, n->W, i > 0, l);
        if (n->cfg.bn[i])
            batchnorm_programs(t, l);
        else if (n->cfg.relu[i])
            relu_programs(t, l);
    }
    head_programs(t, l);
    adam_programs(t, l);
    ocl_program_list_add(l, t, "batch.cl", "");
    ocl_program_prefetch_list(n->c, l);
    free(l);
}

net *net_create(ocl_ctx *c, const net_config *cfg, int H, int W, int max_batch) {
    return net_create_kind(c, cfg, H, W, max_batch, NET_KIND_TRAINING);
}

net *net_create_kind(ocl_ctx *c, const net_config *cfg, int H, int W, int max_batch, net_kind kind) {
    net *n = net_shell(c, cfg, H, W, max_batch, kind);
    // Plan every buffer first (the modules' from their own size functions), so a
    // batch that cannot fit is reported with the largest one that would.
    nn_buffers l; // ~8 KiB
    int bad;
    size_t total;
    if (!plan_fits(n, max_batch, &l, &bad, &total)) {
        if (bad >= 0) no_fit(n, l.b[bad].name, l.b[bad].bytes);
        no_fit(n, "all activations together", total);
    }
    if (n->infer) {
        create_inference(n, &l);
        return n;
    }

    prefetch_programs(n, max_batch);
    n->params = plan_alloc(n, &l, "parameters");
    n->grads = plan_alloc(n, &l, "gradients");
    n->m = plan_alloc(n, &l, "adam m");
    n->v = plan_alloc(n, &l, "adam v");
    n->stats = plan_alloc(n, &l, "bn moving statistics");
    n->x0 = plan_alloc(n, &l, "input planes");
    for (int i = 0; i < cfg->nblocks; i++) {
        net_block *b = &n->b[i];
        b->act = plan_alloc(n, &l, ACT_NAMES[i]);
        b->out = cfg->bn[i] && !bn_applied_next(n, i) ? plan_alloc(n, &l, BN_NAMES[i]) : b->act;
        b->conv = i ? conv3x3_create_with(c, max_batch, b->cin, b->cout, H, W, &n->prm[i])
                    : conv3x3_create_input_layer(c, max_batch, b->cin, b->cout, H, W, &n->prm[i]);
        const conv3x3_params *made = conv3x3_params_of(b->conv);
        if (made->bn_in != n->prm[i].bn_in || made->bn_stats != n->prm[i].bn_stats)
            px_die(PX_EXIT_FAIL,
                   "net: conv%d was planned with batch-norm fusion (in %d, sums %d) but created with "
                   "(in %d, sums %d)",
                   i, n->prm[i].bn_in, n->prm[i].bn_stats, made->bn_in, made->bn_stats);
        if (n->prm[i].bn_in) conv3x3_set_input_bn(b->conv, batchnorm_state(n->b[i - 1].bn));
        if (cfg->bn[i])
            b->bn = batchnorm_create(c, max_batch, b->cout, H, W);
        else if (cfg->relu[i])
            b->relu = relu_create(c, max_batch, b->cout, H, W);
        if (n->prm[i].bn_stats) {
            cl_mem mask, psum, pm2;
            float inv_hw;
            batchnorm_output_sums(b->bn, &mask, &psum, &pm2, &inv_hw);
            conv3x3_set_output_bn(b->conv, mask, psum, pm2, inv_hw);
            batchnorm_set_sums_given(b->bn, 1);
        }
    }
    n->heat = plan_alloc(n, &l, "heatmaps");
    n->target = plan_alloc(n, &l, "targets");
    n->g[0] = plan_alloc(n, &l, "gradient A");
    n->g[1] = plan_alloc(n, &l, "gradient B");
    n->staging_img = plan_alloc(n, &l, "staging images");
    n->staging_heat = plan_alloc(n, &l, "staging heatmaps");
    n->hd = head_create(c, max_batch, n->b[cfg->nblocks - 1].cout, H, W);
    head_set_loss(n->hd, cfg->loss);
    n->opt = adam_create(c);
    create_batch_indices(n, &l);
    return n;
}

void net_programs(const ocl_target *t, const net_config *cfg, int H, int W, int max_batch, ocl_program_list *out) {
    net_programs_variant(t, cfg, H, W, max_batch, -1, 0, out);
}

void net_programs_variant(const ocl_target *t, const net_config *cfg, int H, int W, int max_batch, int variant,
                          int wino_m, ocl_program_list *out) {
    if (cfg->nblocks < 1 || cfg->nblocks > NET_MAX_BLOCKS)
        px_die(PX_EXIT_USAGE, "net: %d blocks (want 1..%d)", cfg->nblocks, NET_MAX_BLOCKS);
    conv3x3_params prm[NET_MAX_BLOCKS];
    for (int i = 0; i < cfg->nblocks; i++) {
        int cin = i ? cfg->channels[i - 1] : 1, cout = cfg->channels[i];
        prm[i] = variant < 0 ? conv3x3_target_params(t, cin, cout) : conv3x3_target_variant_defaults(t, variant);
        conv3x3_force_wino_m(&prm[i], wino_m);
    }
    plan_bn_fusion(t, cfg, prm, 0);
    for (int i = 0; i < cfg->nblocks; i++) { // in net_create's order
        int cin = i ? cfg->channels[i - 1] : 1, cout = cfg->channels[i];
        conv3x3_programs(t, &prm[i], max_batch, cin, cout, H, W, i > 0, out); // (the first: create_input_layer)
        if (cfg->bn[i])
            batchnorm_programs(t, out);
        else if (cfg->relu[i])
            relu_programs(t, out);
    }
    head_programs(t, out);
    adam_programs(t, out);
    ocl_program_list_add(out, t, "batch.cl", "");
}

void net_free(net *n) {
    if (!n) return;
    for (int i = 0; i < n->cfg.nblocks; i++) {
        net_block *b = &n->b[i];
        if (!n->infer) { // an inference net's blocks write into pp[], freed below
            if (b->out != b->act) ocl_free(&b->out);
            ocl_free(&b->act);
        }
        conv3x3_free(b->conv);
        batchnorm_free(b->bn);
        relu_free(b->relu);
    }
    head_free(n->hd);
    adam_free(n->opt);
    if (n->infer) n->x0 = NULL; // == pp[0]
    cl_mem *bufs[] = {&n->params, &n->grads,        &n->m,     &n->v,     &n->stats,       &n->x0,
                      &n->heat,   &n->target,       &n->g[0],  &n->g[1],  &n->staging_img, &n->staging_heat,
                      &n->idx,    &n->idx_identity, &n->pp[0], &n->pp[1], &n->fused};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ocl_free(bufs[i]);
    ocl_kernel_program_release(n->c, n->k_gather_img); // batch.cl, given back with the net
    clReleaseKernel(n->k_gather_img);
    clReleaseKernel(n->k_gather_tgt);
    free(n->g_local);
    free(n->g_all);
    free(n->filtered);
    free(n);
}

// ---- state ----

void net_init(net *n, rng_state *g) {
    float *p = px_calloc(n->n_train ? n->n_train : 1, sizeof(float), "initial parameters");
    float *s = px_calloc(n->n_stats ? n->n_stats : 1, sizeof(float), "initial statistics");
    for (int i = 0; i < n->nt; i++) {
        const net_tensor *t = &n->t[i];
        const char *dot = strrchr(t->name, '.');
        if (strcmp(dot, ".kernel") == 0) {
            // (k, k, Cin, Cout): fan_in = k*k*Cin, fan_out = k*k*Cout.
            double rf = (double)(t->shape[0] * t->shape[1]);
            double lim = sqrt(6.0 / (rf * (double)t->shape[2] + rf * (double)t->shape[3]));
            for (size_t k = 0; k < t->count; k++) p[t->offset + k] = (float)rng_uniform(g, -lim, lim);
        } else if (i == n->head_b) {
            p[t->offset] = n->cfg.head_bias_init;
        } else if (strcmp(dot, ".gamma") == 0) {
            for (size_t k = 0; k < t->count; k++) p[t->offset + k] = 1.0f;
        } else if (strcmp(dot, ".moving_variance") == 0) {
            for (size_t k = 0; k < t->count; k++) s[t->offset + k] = 1.0f;
        } // biases, beta, moving mean: 0
    }
    ocl_write(n->c, n->params, 0, p, n->n_train * sizeof(float));
    if (n->n_stats) ocl_write(n->c, n->stats, 0, s, n->n_stats * sizeof(float));
    n->fold_dirty = 1;
    if (!n->infer) {
        ocl_fill_float(n->c, n->m, 0.0f, n->n_train);
        ocl_fill_float(n->c, n->v, 0.0f, n->n_train);
        ocl_fill_float(n->c, n->grads, 0.0f, n->n_train);
    }
    n->step = 0;
    n->reest_k = 0;
    free(p);
    free(s);
}

void net_get_tensor(net *n, int i, float *out) {
    const net_tensor *t = net_tensor_at(n, i);
    ocl_read(n->c, t->trainable ? n->params : n->stats, t->offset * sizeof(float), out, t->count * sizeof(float));
}

// Exits 1 when an inference-only net is asked for training state.
static void need_training(const net *n, const char *what) {
    if (n->infer)
        px_die(PX_EXIT_FAIL, "net: %s needs a training network (net_create); this one is inference-only", what);
}

void net_set_tensor(net *n, int i, const float *in) {
    const net_tensor *t = net_tensor_at(n, i);
    n->fold_dirty = 1;
    ocl_write(n->c, t->trainable ? n->params : n->stats, t->offset * sizeof(float), in, t->count * sizeof(float));
}

void net_get_grad(net *n, int i, float *out) {
    const net_tensor *t = net_tensor_at(n, i);
    if (!t->trainable) px_die(PX_EXIT_FAIL, "net: tensor '%s' has no gradient", t->name);
    need_training(n, "a gradient");
    ocl_read(n->c, n->grads, t->offset * sizeof(float), out, t->count * sizeof(float));
}

void net_get_adam(net *n, float *m, float *v, int64_t *step) {
    need_training(n, "the Adam state");
    if (m) ocl_read(n->c, n->m, 0, m, n->n_train * sizeof(float));
    if (v) ocl_read(n->c, n->v, 0, v, n->n_train * sizeof(float));
    if (step) *step = n->step;
}

void net_set_adam(net *n, const float *m, const float *v, int64_t step) {
    need_training(n, "the Adam state");
    ocl_write(n->c, n->m, 0, m, n->n_train * sizeof(float));
    ocl_write(n->c, n->v, 0, v, n->n_train * sizeof(float));
    n->step = step;
}

void net_set_split(net *n, batch_split *s) {
    need_training(n, "a batch split across processes");
    if (s && (s->nprocs < 1 || s->max_rows < n->max_N || n->n_train > (size_t)INT_MAX))
        px_die(PX_EXIT_FAIL, "net: a batch split over %d processes with a whole batch of %d for a net of batch %d",
               s ? s->nprocs : 0, s ? s->max_rows : 0, n->max_N);
    n->split = s;
    for (int i = 0; i < n->cfg.nblocks; i++)
        if (n->b[i].bn) batchnorm_set_split(n->b[i].bn, s);
    head_set_loss_batch(n->hd, 0);
    free(n->g_local);
    free(n->g_all);
    n->g_local = n->g_all = NULL;
    if (!s) return;
    n->g_local = px_malloc(n->n_train * sizeof(float), "gradients to gather");
    n->g_all = px_malloc((size_t)s->nprocs * n->n_train * sizeof(float), "gathered gradients");
}

// Every process's gradients, summed in process order 0, 1, ... (one fixed order: the same floats
// on every process and in every run). The BN gamma and beta gradients come from the whole batch's
// sums already (batchnorm_set_split) and are the same on every process: they are kept.
static void sum_split_grads(net *n) {
    const batch_split *s = n->split;
    size_t T = n->n_train;
    ocl_read(n->c, n->grads, 0, n->g_local, T * sizeof(float));
    int k = s->gather(s, n->g_local, 1, (int)T, n->g_all);
    if (k != s->nprocs) px_die(PX_EXIT_FAIL, "net: gradients from %d processes, expected %d", k, s->nprocs);
    for (int i = 0; i < n->nt; i++) {
        const net_tensor *t = &n->t[i];
        if (!t->trainable || strncmp(t->name, "bn", 2) == 0) continue;
        for (size_t j = t->offset; j < t->offset + t->count; j++) {
            float g = n->g_all[j];
            for (int r = 1; r < k; r++) g += n->g_all[(size_t)r * T + j];
            n->g_local[j] = g;
        }
    }
    ocl_write(n->c, n->grads, 0, n->g_local, T * sizeof(float));
}

void net_want_input_grad(net *n, int on) {
    if (on) need_training(n, "an input gradient");
    n->want_input_grad = on;
}

// ---- profiling ----

void net_profile(net *n, int on) {
    if (on) ocl_finish(n->c);
    n->profile = on;
    n->prof_mark = px_now();
}

// Ends the op `name` that began at the last mark (only when profiling).
static void prof(net *n, const char *name) {
    if (!n->profile) return;
    ocl_finish(n->c);
    double now = px_now();
    int i = 0;
    while (i < n->nprof && strcmp(n->prof_name[i], name) != 0) i++;
    if (i == n->nprof) {
        if (n->nprof == NET_MAX_PROF)
            i = NET_MAX_PROF - 1; // lump overflow into the last slot
        else
            snprintf(n->prof_name[n->nprof++], sizeof n->prof_name[0], "%s", name);
    }
    n->prof_time[i] += now - n->prof_mark;
    n->prof_calls[i]++;
    n->prof_mark = px_now();
}

void net_profile_report(net *n, FILE *f) {
    double total = 0;
    for (int i = 0; i < n->nprof; i++) total += n->prof_time[i];
    for (int i = 0; i < n->nprof; i++)
        fprintf(f, "  %-16s %9.2f ms/call  %5.1f%%  (%ld calls)\n", n->prof_name[i],
                1e3 * n->prof_time[i] / (double)n->prof_calls[i], total > 0 ? 100.0 * n->prof_time[i] / total : 0.0,
                n->prof_calls[i]);
    n->nprof = 0;
    memset(n->prof_time, 0, sizeof n->prof_time);
    memset(n->prof_calls, 0, sizeof n->prof_calls);
}

// ---- batches ----

static void check_batch(const net *n, int N) {
    if (N < 1 || N > n->max_N) px_die(PX_EXIT_FAIL, "net: batch %d outside 1..%d", N, n->max_N);
}

// Rows rows[first..first+N) (int64, on the device) of images (and heatmaps, if not NULL).
static void gather(net *n, int N, cl_mem images, cl_mem heatmaps, cl_mem rows, size_t first) {
    int H = n->H, W = n->W, margin = (int)ACT_MARGIN(W);
    if (first > (size_t)INT_MAX - (size_t)N) px_die(PX_EXIT_FAIL, "net: batch rows from %zu exceed INT_MAX", first);
    int f = (int)first;
    cl_kernel k = n->k_gather_img;
    KARG(k, 0, images);
    KARG(k, 1, rows);
    KARG(k, 2, n->x0);
    KARG(k, 3, H);
    KARG(k, 4, W);
    KARG(k, 5, margin);
    KARG(k, 6, f);
    size_t l[2] = {NET_GATHER_WG, 1}; // one position per work-item (the kernels check the bound)
    size_t g3[2] = {ocl_round_up((size_t)(W + 2) * (H + 2), l[0]), (size_t)N};
    ocl_run(n->c, k, 2, g3, l);
    if (heatmaps) {
        k = n->k_gather_tgt;
        KARG(k, 0, heatmaps);
        KARG(k, 1, rows);
        KARG(k, 2, n->target);
        KARG(k, 3, H);
        KARG(k, 4, W);
        KARG(k, 5, f);
        size_t gt[2] = {ocl_round_up((size_t)W * H, l[0]), (size_t)N};
        ocl_run(n->c, k, 2, gt, l);
    }
}

void net_gather(net *n, int N, cl_mem images, cl_mem heatmaps, const int64_t *idx) {
    check_batch(n, N);
    if (heatmaps) need_training(n, "targets");
    ocl_write(n->c, n->idx, 0, idx, (size_t)N * sizeof(int64_t));
    gather(n, N, images, heatmaps, n->idx, 0);
    prof(n, "gather");
}

void net_gather_rows(net *n, int N, cl_mem images, cl_mem heatmaps, cl_mem rows, size_t first) {
    check_batch(n, N);
    gather(n, N, images, heatmaps, rows, first);
    prof(n, "gather");
}

void net_set_batch(net *n, int N, const float *images, const float *heatmaps) {
    check_batch(n, N);
    if (heatmaps) need_training(n, "targets");
    size_t bytes = (size_t)N * n->H * n->W * sizeof(float);
    if (n->cfg.input_filter != NET_FILTER_NONE) { // the model's input filter, on a copy
        if (!n->filtered) n->filtered = px_malloc((size_t)n->max_N * n->H * n->W * sizeof(float), "filtered images");
        memcpy(n->filtered, images, bytes);
        size_t left = 0;
        input_filter_apply(n->cfg.input_filter, n->filtered, (size_t)N, n->H, n->W, &left);
        // A model trained with some images raw (--filter-fraction below 1) knows unfiltered ones.
        if (left && !n->filter_warned && n->cfg.filter_fraction >= 1.0f) {
            n->filter_warned = 1;
            px_warn("input filter '%s': %zu of %d images of a batch had no single repeated value to replace (8-bit "
                    "images never do: their levels all repeat); this model was trained on filtered images and is "
                    "less accurate on unfiltered ones, where a model trained without --input-filter (or with "
                    "--filter-fraction 0.5) serves better",
                    input_filter_name(n->cfg.input_filter), left, N);
        }
        images = n->filtered;
    }
    ocl_write(n->c, n->staging_img, 0, images, bytes);
    if (heatmaps) ocl_write(n->c, n->staging_heat, 0, heatmaps, bytes);
    gather(n, N, n->staging_img, heatmaps ? n->staging_heat : NULL, n->idx_identity, 0);
    prof(n, "gather");
}

// ---- forward / backward / update ----

static const char *opname(char *buf, size_t len, const char *kind, int i, const char *what) {
    snprintf(buf, len, "%s%d.%s", kind, i, what);
    return buf;
}

void net_bn_reestimate_begin(net *n) { n->reest_k = 0; }

// An inference net's (bias, scale, shift) per BN block from the current parameters and
// moving statistics, by batchnorm's own BN_INFERENCE arithmetic (batchnorm_fold).
static void fold(net *n) {
    for (int i = 0; i < n->cfg.nblocks; i++) {
        const net_block *b = &n->b[i];
        if (!n->cfg.bn[i]) continue;
        size_t C = (size_t)b->cout;
        CL_CHECK(clEnqueueCopyBuffer(n->c->queue, n->params, n->fused, off(n, b->kb) * sizeof(float),
                                     n->fused_off[i] * sizeof(float), C * sizeof(float), 0, NULL, NULL));
        batchnorm_fold(n->c, b->cout, n->params, off(n, b->gamma), off(n, b->beta), n->stats, off(n, b->mean),
                       off(n, b->var), n->cfg.bn_eps, n->fused, n->fused_off[i] + C);
    }
    // The same changes reach the convolutions' packed and transformed weights.
    for (int i = 0; i < n->cfg.nblocks; i++) conv3x3_weights_changed(n->b[i].conv);
    n->fold_dirty = 0;
}

// The inference net's forward: conv (+ReLU, + folded BN) per block, ping-ponging.
static void forward_inference(net *n, int N) {
    char nm[32];
    if (n->fold_dirty) fold(n);
    cl_mem in = n->x0;
    for (int i = 0; i < n->cfg.nblocks; i++) {
        net_block *b = &n->b[i];
        int bn = n->cfg.bn[i];
        conv3x3_forward(b->conv, N, in, n->params, off(n, b->kw), bn ? n->fused : n->params,
                        bn ? n->fused_off[i] : off(n, b->kb), b->out, n->cfg.relu[i]);
        prof(n, opname(nm, sizeof nm, "conv", i, "fwd"));
        in = b->out;
    }
    head_forward(n->hd, N, in, n->params, off(n, n->head_w), off(n, n->head_b), n->heat);
    prof(n, "head.fwd");
}

void net_forward(net *n, int N, bn_mode mode) {
    check_batch(n, N);
    if (mode < BN_INFERENCE || mode > BN_REESTIMATE)
        px_die(PX_EXIT_FAIL, "net: forward mode %d (want 0, 1, 2)", (int)mode);
    if (n->infer) {
        if (mode != BN_INFERENCE) need_training(n, "a batch-statistics forward");
        forward_inference(n, N);
        return;
    }
    char nm[32];
    float inv_k = 0.0f;
    if (mode == BN_REESTIMATE) inv_k = (float)(1.0 / (double)(++n->reest_k));
    cl_mem in = n->x0;
    for (int i = 0; i < n->cfg.nblocks; i++) {
        net_block *b = &n->b[i];
        conv3x3_forward(b->conv, N, in, n->params, off(n, b->kw), n->params, off(n, b->kb), b->act, n->cfg.relu[i]);
        prof(n, opname(nm, sizeof nm, "conv", i, "fwd"));
        if (n->cfg.bn[i]) {
            batchnorm_forward(b->bn, N, b->act, b->out != b->act ? b->out : NULL, n->params, off(n, b->gamma),
                              off(n, b->beta), n->stats, off(n, b->mean), off(n, b->var), mode, n->cfg.bn_momentum,
                              n->cfg.bn_eps, inv_k);
            prof(n, opname(nm, sizeof nm, "bn", i, "fwd"));
        }
        in = b->out;
    }
    head_forward(n->hd, N, in, n->params, off(n, n->head_w), off(n, n->head_b), n->heat);
    prof(n, "head.fwd");
}

void net_loss(net *n, int N, float *loss, float *mae) {
    check_batch(n, N);
    need_training(n, "the loss");
    head_loss(n->hd, N, n->heat, n->target, loss, mae);
    prof(n, "loss");
}

void net_loss_enqueue(net *n, int N, float out[2], cl_event *done) {
    check_batch(n, N);
    head_loss_enqueue(n->hd, N, n->heat, n->target, out, done);
    prof(n, "loss");
}

void net_backward(net *n, int N) {
    check_batch(n, N);
    need_training(n, "a backward pass");
    char nm[32];
    int L = n->cfg.nblocks, cur = 0;
    if (n->split) head_set_loss_batch(n->hd, n->split->global_rows);
    head_backward(n->hd, N, n->b[L - 1].out, n->heat, n->target, n->params, off(n, n->head_w), n->grads,
                  off(n, n->head_w), off(n, n->head_b), n->g[cur]);
    prof(n, "head.bwd");
    n->input_grad_buf = -1;
    for (int i = L - 1; i >= 0; i--) {
        net_block *b = &n->b[i];
        // g[cur]: gradient w.r.t. the block output -> w.r.t. the conv pre-activation.
        if (n->cfg.bn[i]) {
            batchnorm_backward(b->bn, N, b->act, n->g[cur], n->params, off(n, b->gamma), n->grads, off(n, b->gamma),
                               off(n, b->beta), n->cfg.relu[i]);
            prof(n, opname(nm, sizeof nm, "bn", i, "bwd"));
        } else if (n->cfg.relu[i]) {
            relu_backward(b->relu, N, b->act, n->g[cur]);
            prof(n, opname(nm, sizeof nm, "relu", i, "bwd"));
        }
        cl_mem in = i > 0 ? n->b[i - 1].out : n->x0;
        conv3x3_backward_weights(b->conv, N, in, n->g[cur], n->grads, off(n, b->kw), n->grads, off(n, b->kb));
        prof(n, opname(nm, sizeof nm, "conv", i, "bwd_w"));
        if (i > 0 || n->want_input_grad) {
            conv3x3_backward_input(b->conv, N, n->g[cur], n->params, off(n, b->kw), n->g[1 - cur]);
            prof(n, opname(nm, sizeof nm, "conv", i, "bwd_x"));
            cur = 1 - cur;
        }
    }
    if (n->want_input_grad) n->input_grad_buf = cur;
    if (n->split) sum_split_grads(n);
}

void net_get_input_grad(net *n, int N, float *out) {
    check_batch(n, N);
    if (n->input_grad_buf < 0)
        px_die(PX_EXIT_FAIL, "net: no input gradient (call net_want_input_grad(n, 1) before net_backward)");
    act_layout l = act_layout_make(N, 1, n->H, n->W);
    size_t cnt = (size_t)N * l.plane;
    float *tmp = px_malloc(cnt * sizeof(float), "input gradient");
    ocl_read(n->c, n->g[n->input_grad_buf], l.margin * sizeof(float), tmp, cnt * sizeof(float));
    for (int s = 0; s < N; s++)
        for (int y = 0; y < n->H; y++)
            for (int x = 0; x < n->W; x++)
                out[((size_t)s * n->H + y) * n->W + x] = tmp[act_index(&l, s, 0, y, x) - l.margin];
    free(tmp);
}

void net_adam_step(net *n, float lr) {
    need_training(n, "an Adam step");
    adam_update(n->opt, n->n_train, n->params, n->grads, n->m, n->v, n->step, (double)lr, 0.9, 0.999, 1e-7);
    n->step++;
    prof(n, "adam");
}

void net_read_heatmaps(net *n, int N, float *out) {
    check_batch(n, N);
    ocl_read(n->c, n->heat, 0, out, (size_t)N * n->H * n->W * sizeof(float));
}

void net_kernels_describe(const net *n, char *out, size_t len) {
    size_t o = 0;
    if (len) out[0] = 0;
    for (int i = 0; i < n->cfg.nblocks && o < len; i++) {
        const conv3x3_params *p = conv3x3_params_of(n->b[i].conv);
        char prm[512];
        double none[3] = {0, 0, 0};
        conv3x3_tuning_format(prm, sizeof prm, p, none);
        char *ms = strstr(prm, " fwd_ms="); // the tuning format's times: not a kernel choice
        if (ms) *ms = 0;
        int w = snprintf(out + o, len - o, "%s%d->%d %s", i ? "; " : "", n->b[i].cin, n->b[i].cout, prm);
        if (w < 0) break;
        o += (size_t)w;
    }
}

const ocl_ctx *net_ctx(const net *n) { return n->c; }
