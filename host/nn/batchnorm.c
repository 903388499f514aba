// Launchers for cl/batchnorm.cl (see include/batchnorm.h).
#include "batchnorm.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "pixloc.h"

// Explicit work-group sizes (PoCL runs a work-group as a loop over its work-items,
// so a fixed, modest size keeps launches cheap and compiles each kernel once).
#define BN_LOCAL_PLANES 8 // planes per group (CPU: a work-item per plane)
// GPU kernels (PX_GPU=1): a reduction's work-group per plane (BN_WG in cl/batchnorm.cl),
// element-wise groups of positions, per-channel kernels' groups.
#define BN_GPU_WG     256
#define BN_GPU_EW     256
#define BN_CHANNEL_WG 64

struct batchnorm {
    ocl_ctx *c;
    int gpu; // the GPU-shaped kernels (c->target.gpu when built)
    int max_N, C, H, W, margin;
    int plane, nv;    // floats per padded plane, 16-float chunks per plane
    cl_mem mask;      // (nv*16) ints: -1 at interior positions of a plane, else 0
    cl_mem psum, pm2; // (N, C) per-plane sums and centred sums of squares
    cl_mem pbwd;      // (2, N, C) backward per-plane sums: dy, dy*(x - mean)
    cl_mem st;        // (6, C): mean, invstd, scale, shift, dbeta/M, dgamma/M
    cl_kernel k_stats, k_final, k_apply, k_bwd_stats, k_bwd_final, k_bwd_apply;
    int sums_given; // batchnorm_set_sums_given: x's producer writes psum and pm2
    // A batch split across processes (batchnorm_set_split): the whole batch's per-plane sums,
    // (2, max_rows, C) in g1 (forward: the sums; backward: both halves) and (max_rows, C) in g2
    // (forward: the centred squares); host staging for this process's rows and everyone's.
    const batch_split *split;
    cl_mem g1, g2;
    float *h_local, *h_all;
};

// 1/(H*W), the statistics' scale (bn_stats's inv_hw argument).
static float inv_hw_of(const batchnorm *b) { return 1.0f / (float)(b->H * b->W); }

static int as_int(size_t v, const char *what) {
    if (v > (size_t)INT_MAX) px_die(PX_EXIT_FAIL, "batchnorm: %s offset %zu exceeds INT_MAX", what, v);
    return (int)v;
}

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

void batchnorm_buffers(int max_N, int C, int H, int W, nn_buffers *out) {
    act_layout l = act_layout_make(max_N, C, H, W);
    size_t nm = (l.plane + 15) / 16 * 16, NC = (size_t)max_N * C;
    nn_buffers_add(out, "batchnorm interior mask", nm * sizeof(int), 0);
    nn_buffers_add(out, "batchnorm plane sums", NC * sizeof(float), 0);
    nn_buffers_add(out, "batchnorm plane squares", NC * sizeof(float), 0);
    nn_buffers_add(out, "batchnorm backward partials", 2 * NC * sizeof(float), 0);
    nn_buffers_add(out, "batchnorm batch statistics", 6 * (size_t)C * sizeof(float), 0);
}

void batchnorm_programs(const ocl_target *t, ocl_program_list *out) {
    ocl_program_list_add(out, t, "batchnorm.cl", "");
}

batchnorm *batchnorm_create(ocl_ctx *c, int max_N, int C, int H, int W) {
    batchnorm *b = px_calloc(1, sizeof *b, "batchnorm");
    b->c = c;
    b->gpu = c->target.gpu;
    if (b->gpu && c->target.max_wg < BN_GPU_WG)
        px_die(PX_EXIT_FAIL, "batchnorm: the GPU kernels need work-groups of %d, %s allows %zu", BN_GPU_WG,
               c->device_name, c->target.max_wg);
    b->max_N = max_N;
    b->C = C;
    b->H = H;
    b->W = W;
    b->margin = (int)ACT_MARGIN(W);
    act_layout l = act_layout_make(max_N, C, H, W);
    b->plane = as_int(l.plane, "plane");
    b->nv = (b->plane + 15) / 16;
    nn_buffers bl = {0};
    batchnorm_buffers(max_N, C, H, W, &bl);
    size_t nm = (size_t)b->nv * 16;
    int *m = px_calloc(nm, sizeof *m, "batchnorm mask");
    for (int y = 1; y <= H; y++)
        for (int x = 1; x <= W; x++) m[(size_t)y * l.PW + x] = -1;
    b->mask = ocl_buffer(c, bl.b[0].name, bl.b[0].bytes);
    ocl_write(c, b->mask, 0, m, nm * sizeof *m);
    free(m);
    b->psum = ocl_buffer(c, bl.b[1].name, bl.b[1].bytes);
    b->pm2 = ocl_buffer(c, bl.b[2].name, bl.b[2].bytes);
    b->pbwd = ocl_buffer(c, bl.b[3].name, bl.b[3].bytes);
    b->st = ocl_buffer(c, bl.b[4].name, bl.b[4].bytes);
    cl_program p = ocl_program(c, "batchnorm.cl", "");
    b->k_stats = ocl_kernel(c, p, "bn_stats");
    b->k_final = ocl_kernel(c, p, "bn_finalize");
    b->k_apply = ocl_kernel(c, p, "bn_apply");
    b->k_bwd_stats = ocl_kernel(c, p, "bn_bwd_stats");
    b->k_bwd_final = ocl_kernel(c, p, "bn_bwd_finalize");
    b->k_bwd_apply = ocl_kernel(c, p, "bn_bwd_apply");
    return b;
}

void batchnorm_set_split(batchnorm *b, const batch_split *s) {
    ocl_free(&b->g1);
    ocl_free(&b->g2);
    free(b->h_local);
    free(b->h_all);
    b->h_local = b->h_all = NULL;
    b->split = s;
    if (!s) return;
    size_t C = (size_t)b->C, R = (size_t)s->max_rows;
    b->g1 = ocl_buffer(b->c, "batchnorm gathered sums", 2 * R * C * sizeof(float));
    b->g2 = ocl_buffer(b->c, "batchnorm gathered squares", R * C * sizeof(float));
    b->h_local = px_malloc(2 * (size_t)b->max_N * C * sizeof(float), "batchnorm partial sums");
    b->h_all = px_malloc(2 * R * C * sizeof(float), "batchnorm gathered sums");
}

// This process's per-plane sums, two (N, C) arrays (A at float 0 of a, B at float b_off of b2),
// become the whole batch's: every process's rows (a row per sample: its C values of A, then of B)
// in process order, written back as A (Ng, C) at float 0 of ga and B (Ng, C) at float 0 of gb,
// or at float Ng*C when b_after (the backward's (2, Ng, C) layout). Returns Ng.
static int gather_sums(batchnorm *b, int N, cl_mem a, cl_mem b2, size_t b_off, cl_mem ga, cl_mem gb, int b_after) {
    size_t C = (size_t)b->C, NC = (size_t)N * C;
    float *loc = b->h_local, *all = b->h_all; // all (>= 2*NC floats) stages the reads
    ocl_read(b->c, a, 0, all, NC * sizeof(float));
    ocl_read(b->c, b2, b_off * sizeof(float), all + NC, NC * sizeof(float));
    for (size_t n = 0; n < (size_t)N; n++) {
        memcpy(loc + 2 * n * C, all + n * C, C * sizeof(float));
        memcpy(loc + (2 * n + 1) * C, all + NC + n * C, C * sizeof(float));
    }
    const batch_split *s = b->split;
    int ng = s->gather(s, loc, N, 2 * b->C, all);
    if (ng > s->max_rows) px_die(PX_EXIT_FAIL, "batchnorm: the gathered batch of %d exceeds %d", ng, s->max_rows);
    size_t NG = (size_t)ng * C;
    float *ua = px_malloc(2 * NG * sizeof(float), "batchnorm unpacked sums"), *ub = ua + NG;
    for (size_t n = 0; n < (size_t)ng; n++) {
        memcpy(ua + n * C, all + 2 * n * C, C * sizeof(float));
        memcpy(ub + n * C, all + (2 * n + 1) * C, C * sizeof(float));
    }
    ocl_write(b->c, ga, 0, ua, NG * sizeof(float));
    ocl_write(b->c, gb, b_after ? NG * sizeof(float) : 0, ub, NG * sizeof(float));
    free(ua);
    return ng;
}

void batchnorm_free(batchnorm *b) {
    if (!b) return;
    batchnorm_set_split(b, NULL);
    ocl_free(&b->mask);
    ocl_free(&b->psum);
    ocl_free(&b->pm2);
    ocl_free(&b->pbwd);
    ocl_free(&b->st);
    ocl_kernel_program_release(b->c, b->k_stats); // the program its kernels come from
    clReleaseKernel(b->k_stats);
    clReleaseKernel(b->k_final);
    clReleaseKernel(b->k_apply);
    clReleaseKernel(b->k_bwd_stats);
    clReleaseKernel(b->k_bwd_final);
    clReleaseKernel(b->k_bwd_apply);
    free(b);
}

static void check_batch(const batchnorm *b, int N) {
    if (N < 1 || N > b->max_N) px_die(PX_EXIT_FAIL, "batchnorm: batch %d outside 1..%d", N, b->max_N);
}

// Elementwise launch: GPU, over (positions, C, N); CPU, over (C, N), a work-item per plane
// walking its 16-float chunks.
static void run_elementwise(batchnorm *b, cl_kernel k, size_t C, size_t N) {
    if (b->gpu) {
        size_t g[3] = {round_up((size_t)b->plane, BN_GPU_EW), C, N}, l[3] = {BN_GPU_EW, 1, 1};
        ocl_run(b->c, k, 3, g, l);
    } else {
        size_t g[2] = {round_up(C, BN_LOCAL_PLANES), N}, l[2] = {BN_LOCAL_PLANES, 1};
        ocl_run(b->c, k, 2, g, l);
    }
}

// Per-channel launch (bn_finalize, bn_bwd_finalize: they check c < C).
static void run_channels(batchnorm *b, cl_kernel k) {
    size_t l = BN_CHANNEL_WG, g = round_up((size_t)b->C, l);
    ocl_run(b->c, k, 1, &g, &l);
}

void batchnorm_forward(batchnorm *b, int N, cl_mem x, cl_mem y, cl_mem params, size_t gamma_off, size_t beta_off,
                       cl_mem stats, size_t mean_off, size_t var_off, bn_mode mode, float momentum, float eps,
                       float inv_k) {
    check_batch(b, N);
    int C = b->C, H = b->H, W = b->W, margin = b->margin, plane = b->plane, nv = b->nv;
    int go = as_int(gamma_off, "gamma"), bo = as_int(beta_off, "beta");
    int mo = as_int(mean_off, "moving mean"), vo = as_int(var_off, "moving variance");
    float omm = (float)(1.0 - (double)momentum);
    cl_kernel k;
    if (mode != BN_INFERENCE && !b->sums_given) {
        int NC = N * C;
        float inv_hw = inv_hw_of(b);
        k = b->k_stats;
        KARG(k, 0, x);
        KARG(k, 1, b->mask);
        KARG(k, 2, b->psum);
        KARG(k, 3, b->pm2);
        KARG(k, 4, NC);
        KARG(k, 5, plane);
        KARG(k, 6, nv);
        KARG(k, 7, margin);
        KARG(k, 8, inv_hw);
        size_t l1 = b->gpu ? BN_GPU_WG : BN_LOCAL_PLANES; // GPU: a work-group per plane
        size_t g1 = b->gpu ? (size_t)NC * l1 : round_up((size_t)NC, l1);
        ocl_run(b->c, k, 1, &g1, &l1);
    }
    // Split across processes: the whole batch's plane sums, reduced below in sample order.
    cl_mem ps = b->psum, pm = b->pm2;
    int NB = N;
    if (b->split && mode != BN_INFERENCE) {
        NB = gather_sums(b, N, b->psum, b->pm2, 0, b->g1, b->g2, 0);
        ps = b->g1;
        pm = b->g2;
    }
    k = b->k_final;
    KARG(k, 0, ps);
    KARG(k, 1, pm);
    KARG(k, 2, params);
    KARG(k, 3, go);
    KARG(k, 4, bo);
    KARG(k, 5, stats);
    KARG(k, 6, mo);
    KARG(k, 7, vo);
    KARG(k, 8, b->st);
    KARG(k, 9, NB);
    KARG(k, 10, C);
    KARG(k, 11, H);
    KARG(k, 12, W);
    int mode_arg = (int)mode;
    KARG(k, 13, mode_arg);
    KARG(k, 14, momentum);
    KARG(k, 15, omm);
    KARG(k, 16, inv_k);
    KARG(k, 17, eps);
    run_channels(b, k);
    if (!y) return; // the next convolution applies scale and shift as it loads x (batchnorm_state)
    k = b->k_apply;
    KARG(k, 0, x);
    KARG(k, 1, y);
    KARG(k, 2, b->mask);
    KARG(k, 3, b->st);
    KARG(k, 4, C);
    KARG(k, 5, plane);
    KARG(k, 6, nv);
    KARG(k, 7, margin);
    run_elementwise(b, k, (size_t)C, (size_t)N);
}

cl_mem batchnorm_state(const batchnorm *b) { return b->st; }

void batchnorm_output_sums(const batchnorm *b, cl_mem *mask, cl_mem *psum, cl_mem *pm2, float *inv_hw) {
    if (b->gpu) px_die(PX_EXIT_FAIL, "batchnorm: per-plane sums from the producer need the CPU-shaped kernels");
    *mask = b->mask;
    *psum = b->psum;
    *pm2 = b->pm2;
    *inv_hw = inv_hw_of(b);
}

void batchnorm_set_sums_given(batchnorm *b, int given) { b->sums_given = given != 0; }

void batchnorm_backward(batchnorm *b, int N, cl_mem x, cl_mem g, cl_mem params, size_t gamma_off, cl_mem grads,
                        size_t dgamma_off, size_t dbeta_off, int relu) {
    check_batch(b, N);
    int C = b->C, H = b->H, W = b->W, margin = b->margin, plane = b->plane, nv = b->nv;
    int NC = N * C;
    int go = as_int(gamma_off, "gamma"), dgo = as_int(dgamma_off, "dgamma"), dbo = as_int(dbeta_off, "dbeta");
    cl_kernel k = b->k_bwd_stats;
    KARG(k, 0, x);
    KARG(k, 1, g);
    KARG(k, 2, b->mask);
    KARG(k, 3, b->st);
    KARG(k, 4, b->pbwd);
    KARG(k, 5, C);
    KARG(k, 6, NC);
    KARG(k, 7, plane);
    KARG(k, 8, nv);
    KARG(k, 9, margin);
    size_t l2[2] = {b->gpu ? BN_GPU_WG : BN_LOCAL_PLANES, 1}; // GPU: a work-group per plane
    size_t g2[2] = {b->gpu ? (size_t)C * l2[0] : round_up((size_t)C, l2[0]), (size_t)N};
    ocl_run(b->c, k, 2, g2, l2);
    cl_mem part = b->pbwd;
    int NB = N;
    if (b->split) { // the whole batch's (2, Ng, C) partials in g1
        NB = gather_sums(b, N, b->pbwd, b->pbwd, (size_t)NC, b->g1, b->g1, 1);
        part = b->g1;
    }
    k = b->k_bwd_final;
    KARG(k, 0, part);
    KARG(k, 1, b->st);
    KARG(k, 2, grads);
    KARG(k, 3, dgo);
    KARG(k, 4, dbo);
    KARG(k, 5, NB);
    KARG(k, 6, C);
    KARG(k, 7, H);
    KARG(k, 8, W);
    run_channels(b, k);
    k = b->k_bwd_apply;
    KARG(k, 0, x);
    KARG(k, 1, g);
    KARG(k, 2, b->mask);
    KARG(k, 3, b->st);
    KARG(k, 4, params);
    KARG(k, 5, go);
    KARG(k, 6, C);
    KARG(k, 7, plane);
    KARG(k, 8, nv);
    KARG(k, 9, margin);
    KARG(k, 10, relu);
    run_elementwise(b, k, (size_t)C, (size_t)N);
}

void batchnorm_fold(ocl_ctx *c, int C, cl_mem params, size_t gamma_off, size_t beta_off, cl_mem stats, size_t mean_off,
                    size_t var_off, float eps, cl_mem out, size_t out_off) {
    int go = as_int(gamma_off, "gamma"), bo = as_int(beta_off, "beta");
    int mo = as_int(mean_off, "moving mean"), vo = as_int(var_off, "moving variance");
    cl_mem st = ocl_buffer(c, "batchnorm fold statistics", 6 * (size_t)C * sizeof(float));
    cl_program p = ocl_program(c, "batchnorm.cl", "");
    cl_kernel k = ocl_kernel(c, p, "bn_finalize");
    // BN_INFERENCE reads neither the plane sums nor the batch shape: st stands in for the sums.
    int one = 1, mode = (int)BN_INFERENCE;
    float fzero = 0.0f, fone = 1.0f;
    KARG(k, 0, st);
    KARG(k, 1, st);
    KARG(k, 2, params);
    KARG(k, 3, go);
    KARG(k, 4, bo);
    KARG(k, 5, stats);
    KARG(k, 6, mo);
    KARG(k, 7, vo);
    KARG(k, 8, st);
    KARG(k, 9, one);
    KARG(k, 10, C);
    KARG(k, 11, one);
    KARG(k, 12, one);
    KARG(k, 13, mode);
    KARG(k, 14, fzero);
    KARG(k, 15, fone);
    KARG(k, 16, fzero);
    KARG(k, 17, eps);
    size_t gc = (size_t)C;
    ocl_run(c, k, 1, &gc, NULL);
    // st holds (mean, invstd, scale, shift, ...) per channel: scale and shift are contiguous.
    CL_CHECK(clEnqueueCopyBuffer(c->queue, st, out, 2 * (size_t)C * sizeof(float), out_off * sizeof(float),
                                 2 * (size_t)C * sizeof(float), 0, NULL, NULL));
    ocl_finish(c);
    clReleaseKernel(k);
    ocl_program_release(c, &p);
    ocl_free(&st);
}
