// Winograd F(2x2,3x3) forward and input-gradient convolution (cl/conv_winograd.cl),
// used by host/conv.c for CONV_VARIANT_WINOGRAD. Internal to the conv module.
#ifndef PIXLOC_CONV_WINOGRAD_H
#define PIXLOC_CONV_WINOGRAD_H

#include "conv.h"
#include "ocl.h"

typedef struct conv_wino conv_wino;

// Programs and scratch (sized for max_N images, or p->wino_nb per chunk) for one shape.
conv_wino *conv_wino_create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p);
// Announces conv_wino_create's two programs (ocl_program_prefetch).
void conv_wino_prefetch(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p);
void conv_wino_free(conv_wino *k);
// The scratch conv_wino_create allocates (weights, inputs, products), appended to out.
void conv_wino_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out);
// Same contracts as conv3x3_forward and conv3x3_backward_input.
void conv_wino_forward(conv_wino *k, int N, cl_mem x, cl_mem w, int w_off, cl_mem b, int b_off, cl_mem y, int relu);
void conv_wino_backward_input(conv_wino *k, int N, cl_mem dy, cl_mem w, int w_off, cl_mem dx);

#endif
