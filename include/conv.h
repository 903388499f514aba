// 3x3 convolution, stride 1, 'same' zero padding, on the padded-plane layout of
// layout.h: forward with bias and optional fused ReLU, gradient with respect to
// the input, gradient with respect to weights and bias.
//
// Keras semantics (cross-correlation):
//   y[n,co,i,j] = b[co] + sum_{ky,kx,ci} w[ky,kx,ci,co] * x[n,ci,i+ky-1,j+kx-1]
// Weights use Keras's kernel layout (3, 3, Cin, Cout):
//   w[((ky*3 + kx)*Cin + ci)*Cout + co]
// Weights, biases and their gradients live at float offsets inside larger
// buffers (all parameters of the net are one buffer), hence the (mem, off) pairs.
#ifndef PIXLOC_CONV_H
#define PIXLOC_CONV_H

#include "ocl.h"

typedef struct conv3x3 conv3x3;

// Programs and scratch for one layer shape; max_N is the largest batch used.
conv3x3 *conv3x3_create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W);
void conv3x3_free(conv3x3 *k);

// x: (N, Cin) padded planes -> y: (N, Cout) padded planes (ring written as zeros).
void conv3x3_forward(conv3x3 *k, int N, cl_mem x, cl_mem w, size_t w_off, cl_mem b, size_t b_off,
                     cl_mem y, int relu);
// dy: (N, Cout) padded planes (ring zero) -> dx: (N, Cin) padded planes (overwritten).
void conv3x3_backward_input(conv3x3 *k, int N, cl_mem dy, cl_mem w, size_t w_off, cl_mem dx);
// dw (3,3,Cin,Cout) and db (Cout) are overwritten (not accumulated), reduced over
// the batch and all pixels in a fixed order (bit-identical run to run).
void conv3x3_backward_weights(conv3x3 *k, int N, cl_mem x, cl_mem dy, cl_mem dw, size_t dw_off,
                              cl_mem db, size_t db_off);

// Tuning parameters: which kernel style and its tile sizes. conv3x3_create uses
// conv3x3_default_params; a tuner or a test may pass its own to conv3x3_create_with.
enum { CONV_VARIANT_CPU = 0, CONV_VARIANT_GPU = 1 };
typedef struct {
    int variant;    // CONV_VARIANT_CPU: register tiles in float16 (PoCL, CPUs);
                    // CONV_VARIANT_GPU: one work-item per output value
    int tile_co;    // CPU: output channels per work-item (forward and input gradient)
    int wg;         // work-group size along positions (forward and input gradient)
    int dw_tk;      // CPU weight gradient: rows (tap*Cin + ci) per work-item
    int dw_tc;      // CPU weight gradient: output channels per work-item
    int dw_seg;     // weight gradient: positions per partial sum (multiple of 16)
} conv3x3_params;

// Defaults from the per-device-type table in host/conv.c. The environment
// variable PIXLOC_CONV_VARIANT=cpu|gpu forces the variant (tests exercise both on PoCL).
conv3x3_params conv3x3_default_params(const ocl_ctx *c, int Cin, int Cout, int H, int W);
conv3x3 *conv3x3_create_with(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W,
                             const conv3x3_params *p);

#endif
