// The op harness bench and tune share; see include/cli/op_harness.h.
#include "op_harness.h"

#include <stdio.h>
#include <stdlib.h>

#include "layout.h"
#include "pixloc.h"

cl_mem op_random_activation(ocl_ctx *c, rng_state *g, int N, int C, int H, int W, float lo, float hi,
                            const char *name) {
    act_layout l = act_layout_make(N, C, H, W);
    float *h = px_calloc(act_floats(&l), sizeof(float), name);
    for (int n = 0; n < N; n++)
        for (int ch = 0; ch < C; ch++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) h[act_index(&l, n, ch, y, x)] = lo + (hi - lo) * (float)rng_double(g);
    cl_mem m = ocl_buffer(c, name, act_floats(&l) * sizeof(float));
    ocl_write(c, m, 0, h, act_floats(&l) * sizeof(float));
    free(h);
    return m;
}

void op_buffers_make(op_buffers *b, ocl_ctx *c, rng_state *g, int N, int cin, int cout, int H, int W, float w_lo,
                     float w_hi, float a_lo, float a_hi, const char *prefix) {
    char name[128];
    b->N = N;
    b->cin = cin;
    b->cout = cout;
    b->H = H;
    b->W = W;
    b->nw = 9 * (size_t)cin * cout;
    act_layout lx = act_layout_make(N, cin, H, W), ly = act_layout_make(N, cout, H, W);
    b->nx = act_floats(&lx);
    b->ny = act_floats(&ly);
    size_t nwb = b->nw + (size_t)cout; // kernel, then the bias
    float *hw = px_malloc(nwb * sizeof(float), "weights");
    for (size_t i = 0; i < nwb; i++) hw[i] = w_lo + (w_hi - w_lo) * (float)rng_double(g);
    snprintf(name, sizeof name, "%s weights", prefix);
    b->w = ocl_buffer(c, name, nwb * sizeof(float));
    ocl_write(c, b->w, 0, hw, nwb * sizeof(float));
    free(hw);
    snprintf(name, sizeof name, "%s weight gradient", prefix);
    b->dw = ocl_buffer(c, name, nwb * sizeof(float));
    snprintf(name, sizeof name, "%s conv input", prefix);
    b->x = op_random_activation(c, g, N, cin, H, W, a_lo, a_hi, name);
    snprintf(name, sizeof name, "%s conv output gradient", prefix);
    b->dy = op_random_activation(c, g, N, cout, H, W, a_lo, a_hi, name);
    snprintf(name, sizeof name, "%s conv output", prefix);
    b->y = ocl_buffer(c, name, b->ny * sizeof(float));
    snprintf(name, sizeof name, "%s conv input gradient", prefix);
    b->dx = ocl_buffer(c, name, b->nx * sizeof(float));
}

void op_buffers_free(op_buffers *b) {
    cl_mem *bufs[] = {&b->w, &b->dw, &b->x, &b->dy, &b->y, &b->dx};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) ocl_free(bufs[i]);
}

cl_mem op_output(const op_buffers *b, int op) { return op == OP_FWD ? b->y : op == OP_DX ? b->dx : b->dw; }

size_t op_output_floats(const op_buffers *b, int op) {
    return op == OP_FWD ? b->ny : op == OP_DX ? b->nx : b->nw + (size_t)b->cout;
}

void op_run(conv3x3 *k, int op, const op_buffers *b, int relu) {
    switch (op) {
    case OP_FWD: conv3x3_forward(k, b->N, b->x, b->w, 0, b->w, b->nw, b->y, relu); break;
    case OP_DX: conv3x3_backward_input(k, b->N, b->dy, b->w, 0, b->dx); break;
    default: conv3x3_backward_weights(k, b->N, b->x, b->dy, b->dw, 0, b->dw, b->nw); break;
    }
}

int op_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
