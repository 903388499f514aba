// The harness `pixloc bench` and `pixloc tune` share for timing one 3x3 layer's
// operations: random buffers in the padded-plane layout, one call per operation,
// and the sort of the timings.
#ifndef PIXLOC_OP_HARNESS_H
#define PIXLOC_OP_HARNESS_H

#include <stddef.h>

#include "conv.h"
#include "ocl.h"
#include "rng.h"

// The three operations of a 3x3 layer: forward, input gradient, weight gradient.
enum { OP_FWD, OP_DX, OP_DW, OP_COUNT };

// The buffers of one layer shape at batch N.
typedef struct {
    int N, cin, cout, H, W;
    size_t nw;     // floats of the kernel (3,3,Cin,Cout); the bias follows it in w and dw
    size_t nx, ny; // floats of the input / output activations (dx / y buffers)
    cl_mem x, dy, w, y, dx, dw;
} op_buffers;

// An activation buffer (N, C) in the padded-plane layout with values lo + (hi - lo) * u
// (u uniform in [0, 1) from g) in the image and zeros in the ring and margins.
cl_mem op_random_activation(ocl_ctx *c, rng_state *g, int N, int C, int H, int W, float lo, float hi, const char *name);
// Allocates the buffers, names them "<prefix> weights", "<prefix> conv input", ...; draws
// the weights and bias uniform in [w_lo, w_hi), then x, then dy uniform in [a_lo, a_hi).
void op_buffers_make(op_buffers *b, ocl_ctx *c, rng_state *g, int N, int cin, int cout, int H, int W, float w_lo,
                     float w_hi, float a_lo, float a_hi, const char *prefix);
void op_buffers_free(op_buffers *b);
// The output buffer of an operation and its size in floats.
cl_mem op_output(const op_buffers *b, int op);
size_t op_output_floats(const op_buffers *b, int op);
// Enqueues one operation (the forward pass with the fused ReLU when relu is set).
void op_run(conv3x3 *k, int op, const op_buffers *b, int relu);
// qsort comparator for doubles, ascending.
int op_cmp_double(const void *a, const void *b);

#endif
