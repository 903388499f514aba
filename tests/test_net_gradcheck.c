// Whole-network gradients. (1) The double reference's analytic gradients
// (ref_net_train) against central finite differences of its loss, for a sample
// of conv weights and biases, BN gamma/beta, head weights and input pixels.
// (2) The OpenCL network (net.h) against that reference: loss, heatmaps, every
// trainable gradient and the input gradient (BN moving statistics: test_batchnorm). Two tiny
// configurations: conv+ReLU+BN blocks (with the MSE and the cross-entropy loss), and a mix
// with a block without BN and a block without ReLU.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "ref_ops.h"
#include "test_util.h"

enum { N = 2, H = 6, W = 5 };

// Central difference of the reference loss w.r.t. *v.
static double fd(const net_config *cfg, double *p, double *x, const double *t, double *v) {
    const double h = 1e-6;
    double keep = *v;
    *v = keep + h;
    double lp = ref_net_train(cfg, N, H, W, p, x, t, NULL, NULL, NULL);
    *v = keep - h;
    double lm = ref_net_train(cfg, N, H, W, p, x, t, NULL, NULL, NULL);
    *v = keep;
    return (lp - lm) / (2 * h);
}

// Every trainable gradient of n, in tensor order, into g (net_trainable_count floats).
static void read_grads(net *n, float *g) {
    for (int i = 0, o = 0; i < net_tensor_count(n); i++)
        if (net_tensor_at(n, i)->trainable) {
            net_get_grad(n, i, g + o);
            o += (int)net_tensor_at(n, i)->count;
        }
}

static void run_config(ocl_ctx *c, const net_config *cfg, const char *label, uint64_t *rs) {
    char name[160];
    size_t np = ref_net_param_count(cfg), HW = (size_t)H * W;
    net *n = net_create(c, cfg, H, W, N + 1);
    CHECK(net_trainable_count(n) == np, "%s: %zu trainable parameters, reference layout has %zu", label,
          net_trainable_count(n), np);

    // Random parameters (kernels a bit larger than Glorot so every path matters).
    float *pf = malloc(np * sizeof(float));
    double *p = malloc(np * sizeof(double));
    for (int i = 0; i < net_tensor_count(n); i++) {
        const net_tensor *t = net_tensor_at(n, i);
        float *buf = malloc(t->count * sizeof(float));
        const char *dot = strrchr(t->name, '.');
        if (!strcmp(dot, ".gamma"))
            t_fill_uniform(buf, t->count, 0.5f, 1.5f, rs);
        else if (!strcmp(dot, ".moving_variance"))
            t_fill_uniform(buf, t->count, 0.5f, 2.0f, rs);
        else
            t_fill_uniform(buf, t->count, -0.5f, 0.5f, rs);
        net_set_tensor(n, i, buf);
        if (t->trainable) memcpy(pf + t->offset, buf, t->count * sizeof(float));
        free(buf);
    }
    for (size_t i = 0; i < np; i++) p[i] = pf[i];
    float xf[N * H * W], tf[N * H * W];
    double x[N * H * W], t[N * H * W];
    t_fill_uniform(xf, N * HW, 0.0f, 1.0f, rs);
    t_fill_uniform(tf, N * HW, 0.0f, 1.0f, rs);
    for (size_t i = 0; i < N * HW; i++) {
        x[i] = xf[i];
        t[i] = tf[i];
    }

    // (1) Reference gradients against finite differences.
    double *g = malloc(np * sizeof(double)), dx[N * H * W], heat[N * H * W];
    double loss = ref_net_train(cfg, N, H, W, p, x, t, heat, g, dx);
    int nsample = 0, bad = 0;
    double worst = 0;
    for (size_t i = 0; i < np; i += 1 + (size_t)(np / 60)) {
        double f = fd(cfg, p, x, t, &p[i]);
        double err = fabs(f - g[i]) / (1e-8 + 1e-5 * fabs(g[i]));
        if (err > worst) worst = err;
        if (err > 1) {
            bad++;
            printf("  param %zu: analytic %.10g finite difference %.10g\n", i, g[i], f);
        }
        nsample++;
    }
    // The last trainable values (head kernel, bias) and the BN parameters are all checked.
    for (size_t i = np - 8; i < np; i++) {
        double f = fd(cfg, p, x, t, &p[i]);
        if (fabs(f - g[i]) > 1e-8 + 1e-5 * fabs(g[i])) bad++;
        nsample++;
    }
    for (int i = 0; i < net_tensor_count(n); i++) {
        const net_tensor *tt = net_tensor_at(n, i);
        if (!tt->trainable || (!strstr(tt->name, ".gamma") && !strstr(tt->name, ".beta"))) continue;
        for (size_t k = 0; k < tt->count; k++) {
            double f = fd(cfg, p, x, t, &p[tt->offset + k]);
            if (fabs(f - g[tt->offset + k]) > 1e-8 + 1e-5 * fabs(g[tt->offset + k])) {
                bad++;
                printf("  %s[%zu]: analytic %.10g finite difference %.10g\n", tt->name, k, g[tt->offset + k], f);
            }
            nsample++;
        }
    }
    for (size_t i = 0; i < N * HW; i += 3) {
        double f = fd(cfg, p, x, t, &x[i]);
        if (fabs(f - dx[i]) > 1e-8 + 1e-5 * fabs(dx[i])) {
            bad++;
            printf("  input %zu: analytic %.10g finite difference %.10g\n", i, dx[i], f);
        }
        nsample++;
    }
    printf("%-6s %s reference vs finite differences: %d values, %d bad\n", bad ? "NOT OK" : "OK", label, nsample, bad);
    CHECK(bad == 0, "%s: %d reference gradients disagree with finite differences", label, bad);

    // (2) The device network against the reference.
    net_want_input_grad(n, 1);
    net_set_batch(n, N, xf, tf);
    net_forward(n, N, 1);
    float dloss, dmae;
    net_loss(n, N, &dloss, &dmae);
    net_backward(n, N);
    snprintf(name, sizeof name, "%s loss", label);
    t_compare(name, &dloss, &loss, 1, 0, 1e-5);
    float hf[N * H * W], dxf[N * H * W];
    net_read_heatmaps(n, N, hf);
    snprintf(name, sizeof name, "%s heatmaps", label);
    t_compare(name, hf, heat, N * HW, 1e-6, 1e-5);
    // A gradient that is mathematically zero (the bias of a conv followed by BN
    // without ReLU) comes out as float rounding noise of its O(gradient) terms:
    // hence an absolute floor relative to the network's largest gradient.
    double gall = 0;
    for (size_t k = 0; k < np; k++) gall = fmax(gall, fabs(g[k]));
    for (int i = 0; i < net_tensor_count(n); i++) {
        const net_tensor *tt = net_tensor_at(n, i);
        if (!tt->trainable) continue;
        float *gf = malloc(tt->count * sizeof(float));
        net_get_grad(n, i, gf);
        double gmax = 0;
        for (size_t k = 0; k < tt->count; k++) gmax = fmax(gmax, fabs(g[tt->offset + k]));
        snprintf(name, sizeof name, "%s grad %s", label, tt->name);
        // float32 forward/backward through BN of 60 values: ~1e-6 relative noise per op.
        t_compare(name, gf, g + tt->offset, tt->count, 1e-4 * gmax + 1e-6 * gall, 1e-3);
        free(gf);
    }
    net_get_input_grad(n, N, dxf);
    double dxmax = 0;
    for (size_t i = 0; i < N * HW; i++) dxmax = fmax(dxmax, fabs(dx[i]));
    snprintf(name, sizeof name, "%s input grad", label);
    t_compare(name, dxf, dx, N * HW, 1e-4 * dxmax, 1e-3);
    // Second backward gives bit-identical gradients.
    float *g1 = malloc(np * sizeof(float)), *g2 = malloc(np * sizeof(float));
    read_grads(n, g1);
    net_backward(n, N);
    read_grads(n, g2);
    CHECK(memcmp(g1, g2, np * sizeof(float)) == 0, "%s: gradients differ between two backward passes", label);
    free(g1);
    free(g2);
    free(pf);
    free(p);
    free(g);
    net_free(n);
}

// Random parameters, a batch, a training forward, the loss and a backward on a fresh net; returns
// the trainable gradients (*np floats) and the heatmaps of an inference-mode forward after them.
static float *grads_of(ocl_ctx *c, const net_config *cfg, uint64_t seed, float *heat, size_t *np_out) {
    net *n = net_create(c, cfg, H, W, N);
    uint64_t rs = seed;
    size_t np = net_trainable_count(n);
    for (int i = 0; i < net_tensor_count(n); i++) {
        const net_tensor *t = net_tensor_at(n, i);
        float *buf = malloc(t->count * sizeof(float));
        t_fill_uniform(buf, t->count, strstr(t->name, "variance") ? 0.5f : -0.5f, 1.5f, &rs);
        net_set_tensor(n, i, buf);
        free(buf);
    }
    float xf[N * H * W], tf[N * H * W], loss, mae;
    t_fill_uniform(xf, N * H * W, 0.0f, 1.0f, &rs);
    t_fill_uniform(tf, N * H * W, 0.0f, 1.0f, &rs);
    net_set_batch(n, N, xf, tf);
    net_forward(n, N, BN_TRAINING);
    net_loss(n, N, &loss, &mae);
    net_backward(n, N);
    float *g = malloc(np * sizeof(float));
    read_grads(n, g);
    *np_out = np;
    net_forward(n, N, BN_INFERENCE);
    net_read_heatmaps(n, N, heat);
    net_free(n);
    return g;
}

// A batch norm applied by the next convolution as it loads its input, with its statistics' sums
// written by the convolution before it (Winograd layers; the sums on CPU-shaped kernels only:
// nn/net.c's plan_bn_fusion), gives the same bits as the batch norm reading its input and writing
// its output (ocl_ctx.bn_separate, PIXLOC_BN_SEPARATE=1), and the net has no buffer for that output.
static void check_bn_applied_by_next(ocl_ctx *c, const net_config *cfg) {
    const char *name;
    size_t fused = 0, separate = 0, np = 0, ng = 0, ngf = 0;
    c->bn_separate = 1;
    CHECK(net_plan_check(c, cfg, H, W, N, &name, &separate), "plan refused (%s)", name);
    float hs[N * H * W], hf[N * H * W];
    float *gs = grads_of(c, cfg, 99, hs, &ng);
    c->bn_separate = 0;
    CHECK(net_plan_check(c, cfg, H, W, N, &name, &fused), "plan refused (%s)", name);
    float *gf = grads_of(c, cfg, 99, hf, &ngf);
    // Each of the first nblocks-1 batch norms' outputs (N planes of its channels) is gone.
    for (int i = 0; i + 1 < cfg->nblocks; i++) np += (size_t)cfg->channels[i];
    CHECK(fused < separate && separate - fused >= np * N * (H + 2) * (W + 2) * sizeof(float),
          "batch norms applied by the next convolution: the plan has %zu bytes, %zu with their outputs", fused,
          separate);
    CHECK(ng == ngf && memcmp(gs, gf, ng * sizeof(float)) == 0,
          "gradients with batch norms applied by the next convolution differ from separate ones");
    CHECK(memcmp(hs, hf, sizeof hs) == 0, "inference heatmaps differ after fused and separate batch norms");
    printf("OK     batch norms applied by the next convolution: %zu gradients and %d heatmap values bit-identical "
           "to separate batch norms; plan %zu bytes (separate %zu)\n",
           ng, N * H * W, fused, separate);
    free(gs);
    free(gf);
}

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    ocl_options_from_env(&o); // the cache directory and settings, as the CLI reads them
    o.quiet = 1;
    ocl_init(&c, &o);
    uint64_t rs = 4242;
    net_config cfg;
    net_config_seed(&cfg);
    char err[128];
    CHECK(net_config_channels(&cfg, "3,4", err, sizeof err) == 0, "%s", err);
    run_config(&c, &cfg, "conv-relu-bn x2", &rs);
    cfg.loss = NET_LOSS_BCE; // the cross-entropy loss: the reference's own finite differences, then the net
    run_config(&c, &cfg, "conv-relu-bn x2, cross-entropy", &rs);

    net_config_seed(&cfg);
    CHECK(net_config_channels(&cfg, "3, 4,2", err, sizeof err) == 0, "%s", err);
    cfg.relu[1] = 0; // BN without the ReLU mask
    cfg.bn[2] = 0;   // ReLU without BN
    run_config(&c, &cfg, "mixed blocks", &rs);

    // Winograd layers: each batch norm but the last applied by the next convolution as it loads.
    snprintf(c.conv_variant, sizeof c.conv_variant, "winograd");
    net_config_seed(&cfg);
    CHECK(net_config_channels(&cfg, "3,4,2", err, sizeof err) == 0, "%s", err);
    run_config(&c, &cfg, "winograd, batch norms applied by the next convolution", &rs);
    check_bn_applied_by_next(&c, &cfg);
    c.conv_variant[0] = '\0';
    net_config_seed(&cfg);
    CHECK(net_config_channels(&cfg, "3,x", err, sizeof err) == -1, "bad channel list accepted");
    ocl_release(&c);
    return t_summary();
}
