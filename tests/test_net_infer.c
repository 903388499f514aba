// The inference network (net_create_kind(..., NET_KIND_INFERENCE): two ping-pong
// activation buffers, forward-only convolutions, batch norm folded into each
// convolution's epilogue) against the training network's BN_INFERENCE forward, which
// runs the convolution, then batch norm as its own pass (cl/batchnorm.cl's bn_apply).
//
// Tolerance: the two compute the same float operations in the same order: the conv's
// accumulation, + bias, ReLU, then x*scale + shift with scale and shift from the same
// kernel (bn_finalize, through batchnorm_fold). The one thing a compiler may do
// differently is contract x*scale + shift into an fma in one kernel and not in the
// other: one rounding of the BN output (at most 2^-24 relative), which the following
// layers carry forward. TOL = 1e-5 on the sigmoid outputs (in [0, 1]) is ~100 such
// roundings at 0.5 and far below any real mistake (a lost shift or scale moves outputs
// by 1e-2 and more). On PoCL the two are bit-identical, which the test prints, except
// where their Winograd layers differ: on CPUs the inference network's are F(4x4,3x3)
// and the training network's F(2x2) (host/nn/conv.c), two roundings of the same sums
// (measured: 1.8e-7 at most, inside TOL). The "winograd4" runs force F(4x4) on both
// (the context's conv_wino_m, PIXLOC_WINO_M=4): the same operations again, bit-identical on PoCL.
// Argmax (the predicted coordinate) must be identical.
//
// Awkward shapes: odd sizes (13x29, 7x5, 1x1), batch 3 then a partial batch of 2 (the
// ping-pong buffers then hold a larger batch's stale planes past the tensor), blocks
// with BN and no ReLU and with neither, channel counts that are not multiples of the
// channel tiles, and every conv variant forced (each has its own BN_FUSED epilogue).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "rng.h"
#include "test_util.h"

#define TOL 1e-5

// Random parameters with nontrivial batch norms: gamma of both signs, any beta, moving
// means around 0 and variances in (0.05, 2).
static void random_params(net *n, uint64_t *st) {
    for (int i = 0; i < net_tensor_count(n); i++) {
        const net_tensor *t = net_tensor_at(n, i);
        float *v = malloc(t->count * sizeof(float));
        const char *dot = strrchr(t->name, '.');
        if (!strcmp(dot, ".kernel")) {
            double lim = sqrt(6.0 / (double)(t->shape[0] * t->shape[1] * (t->shape[2] + t->shape[3])));
            t_fill_uniform(v, t->count, (float)-lim, (float)lim, st);
        } else if (!strcmp(dot, ".gamma")) {
            t_fill_uniform(v, t->count, -1.5f, 1.5f, st);
        } else if (!strcmp(dot, ".moving_variance")) {
            t_fill_uniform(v, t->count, 0.05f, 2.0f, st);
        } else { // biases, beta, moving mean
            t_fill_uniform(v, t->count, -0.5f, 0.5f, st);
        }
        net_set_tensor(n, i, v);
        free(v);
    }
}

// Copies every tensor of a into b.
static void copy_params(net *a, net *b) {
    for (int i = 0; i < net_tensor_count(a); i++) {
        const net_tensor *t = net_tensor_at(a, i);
        float *v = malloc(t->count * sizeof(float));
        net_get_tensor(a, i, v);
        net_set_tensor(b, i, v);
        free(v);
    }
}

static void heatmaps(net *n, int N, const float *img, float *out) {
    net_set_batch(n, N, img, NULL);
    net_forward(n, N, BN_INFERENCE);
    net_read_heatmaps(n, N, out);
}

// One comparison: both nets on the same N images; returns the max |difference|.
static double compare(const char *what, net *tr, net *inf, int N, int H, int W, const float *img) {
    size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
    float *a = malloc(cnt * sizeof(float)), *b = malloc(cnt * sizeof(float));
    heatmaps(tr, N, img, a);
    heatmaps(inf, N, img, b);
    double md = 0;
    size_t bits = 0;
    for (size_t k = 0; k < cnt; k++) {
        double d = fabs((double)a[k] - (double)b[k]);
        if (!(d <= md)) md = d; // NaN propagates as a failure below
        if (memcmp(&a[k], &b[k], sizeof(float)) != 0) bits++;
    }
    int argmax_diff = 0;
    for (int s = 0; s < N; s++) {
        int xa, ya, xb, yb;
        heatmap_argmax(a + s * hw, H, W, &xa, &ya);
        heatmap_argmax(b + s * hw, H, W, &xb, &yb);
        argmax_diff += xa != xb || ya != yb;
    }
    printf("  %-34s N=%d: max |diff| %.3g, %zu of %zu values differ in any bit, %d argmax differ\n", what, N, md, bits,
           cnt, argmax_diff);
    CHECK(md <= TOL, "%s: max |diff| %g > %g", what, md, TOL);
    CHECK(argmax_diff == 0, "%s: %d argmax differ", what, argmax_diff);
    free(a);
    free(b);
    return md;
}

typedef struct {
    const char *channels;
    const char *relu; // per block, "1" or "0"
    const char *bn;
    int H, W;
} net_case;

static void run_case(ocl_ctx *c, const net_case *k, const char *variant, uint64_t *st) {
    net_config cfg;
    net_config_seed(&cfg);
    char e[256];
    CHECK(net_config_channels(&cfg, k->channels, e, sizeof e) == 0, "%s", e);
    for (int i = 0; i < cfg.nblocks; i++) {
        cfg.relu[i] = k->relu[i] == '1';
        cfg.bn[i] = k->bn[i] == '1';
    }
    int wm4 = strcmp(variant, "winograd4") == 0;
    snprintf(c->conv_wino_m, sizeof c->conv_wino_m, "%s", wm4 ? "4" : "");
    snprintf(c->conv_variant, sizeof c->conv_variant, "%s", wm4 ? "winograd" : variant);
    int N = 3, H = k->H, W = k->W;
    net *tr = net_create(c, &cfg, H, W, N);
    net *inf = net_create_kind(c, &cfg, H, W, N, NET_KIND_INFERENCE);
    random_params(tr, st);
    copy_params(tr, inf);
    size_t cnt = (size_t)N * H * W;
    float *img = malloc(cnt * sizeof(float));
    t_fill_uniform(img, cnt, 0.0f, 1.0f, st);
    char what[160];
    snprintf(what, sizeof what, "%s relu %s bn %s %dx%d %s", k->channels, k->relu, k->bn, H, W,
             *variant ? variant : "default");
    compare(what, tr, inf, N, H, W, img);
    // A partial batch after a full one, then other images: stale planes in the ping-pong buffers.
    compare(what, tr, inf, 2, H, W, img + (size_t)H * W);
    t_fill_uniform(img, cnt, 0.0f, 1.0f, st);
    compare(what, tr, inf, N, H, W, img);
    // New parameters after a forward: the fold is recomputed.
    random_params(tr, st);
    copy_params(tr, inf);
    compare(what, tr, inf, N, H, W, img);
    free(img);
    net_free(tr);
    net_free(inf);
    c->conv_variant[0] = '\0';
    c->conv_wino_m[0] = '\0';
}

// An inference net refuses training calls: exit status 1 in a child.
static void check_refuses_training(ocl_ctx *c) {
    net_config cfg;
    net_config_seed(&cfg);
    char e[256];
    net_config_channels(&cfg, "4,4", e, sizeof e);
    // Created here, not in the child: a forked child must not build programs (PoCL's threads do not fork).
    net *n = net_create_kind(c, &cfg, 5, 5, 2, NET_KIND_INFERENCE);
    for (int what = 0; what < 3; what++) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            if (freopen("/dev/null", "w", stderr) == NULL) _exit(3);
            if (what == 0) net_backward(n, 1);
            if (what == 1) net_forward(n, 1, BN_TRAINING);
            if (what == 2) net_adam_step(n, 1e-3f);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "training call %d on an inference net: status %d", what,
              status);
    }
    net_free(n);
}

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    ocl_options_from_env(&o); // the cache directory and settings (and the kernel profile), as the CLI reads them
    o.quiet = 1;
    ocl_init(&c, &o);
    uint64_t st = 12345;
    // Each case with the variants listed ("" = the device's defaults); every variant is
    // forced on the small case (program builds dominate the test's time).
    static const struct {
        net_case k;
        const char *variants[6];
    } cases[] = {
        {{"32,64,128,64,32", "11111", "11111", 13, 29}, {""}}, // the seed's network (Winograd inside)
        {{"5,7,3", "101", "110", 7, 5},
         {"", "cpu", "gpu", "winograd", "winograd4", "gpu_tiled"}},          // BN, no ReLU; neither
        {{"33,40,17", "111", "101", 13, 29}, {"", "winograd", "winograd4"}}, // channels off the tiles, Winograd 33->40
        {{"6,9", "11", "11", 1, 1}, {""}},                                   // a single pixel
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int v = 0; v < 6 && (v == 0 || cases[k].variants[v]); v++)
            run_case(&c, &cases[k].k, cases[k].variants[v], &st);
    check_refuses_training(&c);
    ocl_release(&c);
    return t_summary();
}
