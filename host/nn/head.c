// Launchers for cl/head.cl (see include/head.h).
#include "head.h"

#include <limits.h>
#include <stdlib.h>

#include "layout.h"
#include "pixloc.h"

struct head {
    ocl_ctx *c;
    int max_N, Cin, H, W, margin;
    int bce;          // the loss: 0 MSE, 1 binary cross-entropy (head_set_loss)
    cl_mem dz;        // (max_N, H, W) gradient w.r.t. the pre-sigmoid value
    cl_mem loss_part; // (Q, 2) loss partials
    cl_mem loss_out;  // 2 floats: MSE, MAE
    cl_mem wpart;     // (Cin + 1, P) partials of dW and db
    cl_kernel k_fwd, k_loss_partial, k_loss_final, k_grad, k_bwd_partial, k_bwd_final, k_bwd_input;
    int loss_N; // head_set_loss_batch (0: the backward's own batch)
};

// Work-groups: element-wise kernels take HEAD_EW pixels per group; a GPU partial is a
// group of HEAD_GPU_WG (HEAD_WG in cl/head.cl); CPU partials and per-channel sums small groups.
#define HEAD_EW     256
#define HEAD_GPU_WG 256
#define HEAD_CPU_WG 16

// Fixed, shape-only reduction splits (results do not depend on the device).
static int loss_chunks(int T) { return T < 256 ? T : 256; }
static int row_chunks(int N, int H) { return N * H < 64 ? N * H : 64; }

static int as_int(size_t v, const char *what) {
    if (v > (size_t)INT_MAX) px_die(PX_EXIT_FAIL, "head: %s offset %zu exceeds INT_MAX", what, v);
    return (int)v;
}

void head_buffers(int max_N, int Cin, int H, int W, nn_buffers *out) {
    size_t T = (size_t)max_N * H * W;
    nn_buffers_add(out, "head dz", T * sizeof(float), 0);
    // loss_chunks(T) and row_chunks(max_N, H), in size_t (a plan may ask about any max_N)
    size_t Q = T < 256 ? T : 256, NH = (size_t)max_N * H, P = NH < 64 ? NH : 64;
    nn_buffers_add(out, "loss partials", 2 * Q * sizeof(float), 0);
    nn_buffers_add(out, "loss", 2 * sizeof(float), 0);
    nn_buffers_add(out, "head weight-gradient partials", (size_t)(Cin + 1) * P * sizeof(float), 0);
}

void head_programs(const ocl_target *t, ocl_program_list *out) { ocl_program_list_add(out, t, "head.cl", ""); }

static head *create(ocl_ctx *c, int max_N, int Cin, int H, int W, int fwd_only) {
    head *h = px_calloc(1, sizeof *h, "head");
    h->c = c;
    h->max_N = max_N;
    h->Cin = Cin;
    h->H = H;
    h->W = W;
    h->margin = (int)ACT_MARGIN(W);
    if (!fwd_only) {
        nn_buffers bl = {0};
        head_buffers(max_N, Cin, H, W, &bl);
        h->dz = ocl_buffer(c, bl.b[0].name, bl.b[0].bytes);
        h->loss_part = ocl_buffer(c, bl.b[1].name, bl.b[1].bytes);
        h->loss_out = ocl_buffer(c, bl.b[2].name, bl.b[2].bytes);
        h->wpart = ocl_buffer(c, bl.b[3].name, bl.b[3].bytes);
    }
    cl_program p = ocl_program(c, "head.cl", "");
    h->k_fwd = ocl_kernel(c, p, "head_forward");
    h->k_loss_partial = ocl_kernel(c, p, "head_loss_partial");
    h->k_loss_final = ocl_kernel(c, p, "head_loss_final");
    h->k_grad = ocl_kernel(c, p, "head_loss_grad");
    h->k_bwd_partial = ocl_kernel(c, p, "head_bwd_partial");
    h->k_bwd_final = ocl_kernel(c, p, "head_bwd_final");
    h->k_bwd_input = ocl_kernel(c, p, "head_bwd_input");
    return h;
}

head *head_create(ocl_ctx *c, int max_N, int Cin, int H, int W) { return create(c, max_N, Cin, H, W, 0); }
head *head_create_forward(ocl_ctx *c, int max_N, int Cin, int H, int W) { return create(c, max_N, Cin, H, W, 1); }

void head_set_loss(head *h, int loss) { h->bce = loss == NET_LOSS_BCE; }

static void check_training(const head *h) {
    if (!h->dz) px_die(PX_EXIT_FAIL, "head: loss or backward on a forward-only head (head_create_forward)");
}

void head_free(head *h) {
    if (!h) return;
    ocl_free(&h->dz);
    ocl_free(&h->loss_part);
    ocl_free(&h->loss_out);
    ocl_free(&h->wpart);
    ocl_kernel_program_release(h->c, h->k_fwd); // the program its kernels come from
    clReleaseKernel(h->k_fwd);
    clReleaseKernel(h->k_loss_partial);
    clReleaseKernel(h->k_loss_final);
    clReleaseKernel(h->k_grad);
    clReleaseKernel(h->k_bwd_partial);
    clReleaseKernel(h->k_bwd_final);
    clReleaseKernel(h->k_bwd_input);
    free(h);
}

static void check_batch(const head *h, int N) {
    if (N < 1 || N > h->max_N) px_die(PX_EXIT_FAIL, "head: batch %d outside 1..%d", N, h->max_N);
}

void head_forward(head *h, int N, cl_mem x, cl_mem params, size_t w_off, size_t b_off, cl_mem s) {
    check_batch(h, N);
    int wo = as_int(w_off, "kernel"), bo = as_int(b_off, "bias");
    cl_kernel k = h->k_fwd;
    KARG(k, 0, x);
    KARG(k, 1, params);
    KARG(k, 2, wo);
    KARG(k, 3, bo);
    KARG(k, 4, s);
    KARG(k, 5, h->Cin);
    KARG(k, 6, h->H);
    KARG(k, 7, h->W);
    KARG(k, 8, h->margin);
    // GPU: a work-item per pixel, groups of HEAD_EW; CPU: a work-item per image row, groups of one.
    size_t g[2] = {ocl_round_up((size_t)h->H * h->W, HEAD_EW), (size_t)N}, l[2] = {HEAD_EW, 1};
    if (!h->c->target.gpu) {
        g[0] = (size_t)h->H;
        l[0] = 1;
    }
    ocl_run(h->c, k, 2, g, l);
}

void head_loss_enqueue(head *h, int N, cl_mem s, cl_mem t, float out[2], cl_event *done) {
    check_batch(h, N);
    check_training(h);
    int T = N * h->H * h->W, Q = loss_chunks(T);
    cl_kernel k = h->k_loss_partial;
    KARG(k, 0, s);
    KARG(k, 1, t);
    KARG(k, 2, h->loss_part);
    KARG(k, 3, T);
    KARG(k, 4, Q);
    KARG(k, 5, h->bce);
    size_t one = 1, lq = h->c->target.gpu ? HEAD_GPU_WG : HEAD_CPU_WG;
    size_t gq = h->c->target.gpu ? (size_t)Q * lq : ocl_round_up((size_t)Q, lq); // GPU: a group per partial
    ocl_run(h->c, k, 1, &gq, &lq);
    k = h->k_loss_final;
    KARG(k, 0, h->loss_part);
    KARG(k, 1, h->loss_out);
    KARG(k, 2, T);
    KARG(k, 3, Q);
    ocl_run(h->c, k, 1, &one, &one);
    ocl_read_async(h->c, h->loss_out, 0, out, 2 * sizeof(float), done);
}

void head_loss(head *h, int N, cl_mem s, cl_mem t, float *loss, float *mae) {
    float out[2];
    cl_event done;
    head_loss_enqueue(h, N, s, t, out, &done);
    ocl_wait(h->c, &done);
    if (loss) *loss = out[0];
    if (mae) *mae = out[1];
}

void head_set_loss_batch(head *h, int N) { h->loss_N = N; }

void head_backward(head *h, int N, cl_mem x, cl_mem s, cl_mem t, cl_mem params, size_t w_off, cl_mem grads,
                   size_t dw_off, size_t db_off, cl_mem dx) {
    check_batch(h, N);
    check_training(h);
    int T = N * h->H * h->W, P = row_chunks(N, h->H), Cin = h->Cin;
    int wo = as_int(w_off, "kernel"), dwo = as_int(dw_off, "kernel gradient"), dbo = as_int(db_off, "bias gradient");
    double loss_T = (double)(h->loss_N > 0 ? h->loss_N : N) * h->H * h->W; // the mean's count
    float scale = (float)((h->bce ? 1.0 : 2.0) / loss_T);
    cl_kernel k = h->k_grad;
    KARG(k, 0, s);
    KARG(k, 1, t);
    KARG(k, 2, h->dz);
    KARG(k, 3, T);
    KARG(k, 4, scale);
    KARG(k, 5, h->bce);
    size_t lt = HEAD_EW, gt = ocl_round_up((size_t)T, lt);
    ocl_run(h->c, k, 1, &gt, &lt);
    k = h->k_bwd_partial;
    KARG(k, 0, x);
    KARG(k, 1, h->dz);
    KARG(k, 2, h->wpart);
    KARG(k, 3, N);
    KARG(k, 4, Cin);
    KARG(k, 5, h->H);
    KARG(k, 6, h->W);
    KARG(k, 7, h->margin);
    KARG(k, 8, P);
    size_t l2[2] = {h->c->target.gpu ? HEAD_GPU_WG : HEAD_CPU_WG, 1}; // GPU: a group per partial
    size_t g2[2] = {h->c->target.gpu ? (size_t)P * l2[0] : ocl_round_up((size_t)P, l2[0]), (size_t)Cin + 1};
    ocl_run(h->c, k, 2, g2, l2);
    k = h->k_bwd_final;
    KARG(k, 0, h->wpart);
    KARG(k, 1, grads);
    KARG(k, 2, dwo);
    KARG(k, 3, dbo);
    KARG(k, 4, Cin);
    KARG(k, 5, P);
    size_t l1 = HEAD_CPU_WG, g1 = ocl_round_up((size_t)Cin + 1, l1);
    ocl_run(h->c, k, 1, &g1, &l1);
    k = h->k_bwd_input;
    KARG(k, 0, h->dz);
    KARG(k, 1, params);
    KARG(k, 2, wo);
    KARG(k, 3, dx);
    KARG(k, 4, Cin);
    KARG(k, 5, h->H);
    KARG(k, 6, h->W);
    KARG(k, 7, h->margin);
    // GPU: a work-item per padded position, groups of HEAD_EW; CPU: a work-item per plane, groups of one.
    size_t g3[2] = {ocl_round_up((size_t)(h->W + 2) * (h->H + 2), HEAD_EW), (size_t)N}, l3[2] = {HEAD_EW, 1};
    if (!h->c->target.gpu) {
        g3[0] = (size_t)Cin;
        l3[0] = 1;
    }
    ocl_run(h->c, k, 2, g3, l3);
}
