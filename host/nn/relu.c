// Launcher for cl/relu.cl (see include/relu.h).
#include "relu.h"

#include <limits.h>
#include <stdlib.h>

#include "layout.h"
#include "pixloc.h"

#define RELU_LOCAL_CHUNKS 16  // CPU kernel: 16-float chunks of a plane per work-group (as batchnorm's)
#define RELU_GPU_EW       256 // GPU kernel: positions per work-group

struct relu {
    ocl_ctx *c;
    int max_N, C, margin;
    int plane, nv; // floats per padded plane, 16-float chunks per plane
    cl_mem mask;   // (nv*16) ints: -1 at interior positions of a plane, else 0
    cl_kernel k_bwd;
};

void relu_buffers(int max_N, int C, int H, int W, nn_buffers *out) {
    act_layout l = act_layout_make(max_N, C, H, W);
    nn_buffers_add(out, "relu interior mask", (l.plane + 15) / 16 * 16 * sizeof(int), 0);
}

void relu_programs(const ocl_target *t, ocl_program_list *out) { ocl_program_list_add(out, t, "relu.cl", ""); }

relu *relu_create(ocl_ctx *c, int max_N, int C, int H, int W) {
    act_layout l = act_layout_make(max_N, C, H, W);
    if (l.plane > (size_t)INT_MAX / 2) px_die(PX_EXIT_FAIL, "relu: %dx%d planes are too large", H, W);
    relu *r = px_calloc(1, sizeof *r, "relu");
    r->c = c;
    r->max_N = max_N;
    r->C = C;
    r->margin = (int)l.margin;
    r->plane = (int)l.plane;
    r->nv = (r->plane + 15) / 16;
    nn_buffers bl = {0};
    relu_buffers(max_N, C, H, W, &bl);
    size_t nm = (size_t)r->nv * 16;
    int *m = px_calloc(nm, sizeof *m, "relu mask");
    for (int y = 1; y <= H; y++)
        for (int x = 1; x <= W; x++) m[(size_t)y * l.PW + x] = -1;
    r->mask = ocl_buffer(c, bl.b[0].name, bl.b[0].bytes);
    ocl_write(c, r->mask, 0, m, nm * sizeof *m);
    free(m);
    r->k_bwd = ocl_kernel(c, ocl_program(c, "relu.cl", ""), "relu_bwd");
    return r;
}

void relu_free(relu *r) {
    if (!r) return;
    ocl_free(&r->mask);
    ocl_kernel_program_release(r->c, r->k_bwd); // the program it built, given back with it
    clReleaseKernel(r->k_bwd);
    free(r);
}

void relu_backward(relu *r, int N, cl_mem x, cl_mem g) {
    if (N < 1 || N > r->max_N) px_die(PX_EXIT_FAIL, "relu: batch %d outside 1..%d", N, r->max_N);
    cl_kernel k = r->k_bwd;
    KARG(k, 0, x);
    KARG(k, 1, g);
    KARG(k, 2, r->mask);
    KARG(k, 3, r->plane);
    KARG(k, 4, r->nv);
    KARG(k, 5, r->margin);
    size_t per = r->c->target.gpu ? RELU_GPU_EW : RELU_LOCAL_CHUNKS;
    size_t gs[2] = {ocl_round_up(r->c->target.gpu ? (size_t)r->plane : (size_t)r->nv, per), (size_t)N * r->C};
    size_t ls[2] = {per, 1};
    ocl_run(r->c, k, 2, gs, ls);
}
