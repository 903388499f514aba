// Winograd F(2x2,3x3) and F(4x4,3x3) forward and input-gradient convolution, and the
// F(2x2,3x3) weight gradient (cl/conv_winograd.cl),
// used by host/conv.c for CONV_VARIANT_WINOGRAD. Internal to the conv module.
#ifndef PIXLOC_CONV_WINOGRAD_H
#define PIXLOC_CONV_WINOGRAD_H

#include "conv.h"
#include "ocl.h"

typedef struct conv_wino conv_wino;

// Programs and scratch (sized for max_N images, or p->wino_nb per chunk) for one shape.
conv_wino *conv_wino_create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p);
// Same; fwd_only: the forward direction alone (no input-gradient program or scratch);
// bn_fused: its output transform applies the folded batch norm (see conv3x3_create_forward).
conv_wino *conv_wino_create_for(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p,
                                int fwd_only, int bn_fused);
void conv_wino_free(conv_wino *k);
// p->bn_in: the batch norm state (cl/batchnorm.cl's st) the input transforms apply.
void conv_wino_set_input_bn(conv_wino *k, cl_mem bn);
// p->bn_stats: where the forward's output transform writes the batch norm's per-plane sums.
void conv_wino_set_output_bn(conv_wino *k, cl_mem mask, cl_mem psum, cl_mem pm2, float inv_hw);
// GEMM tiles per work-item (wino_tn, or its default when 0).
int conv_wino_tn(const conv3x3_params *p);
// Appends the programs conv_wino_create builds on target t (a training layer's: two, or
// three with wino_dw and m = 4).
void conv_wino_programs(const ocl_target *t, const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W,
                        ocl_program_list *out);
// The scratch conv_wino_create allocates (weights, inputs, products; with wino_dw the
// weight-gradient sums), appended to out.
void conv_wino_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out);
// The scratch conv_wino_create_for(..., fwd_only = 1, ...) allocates.
void conv_wino_forward_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out);
// Same contracts as conv3x3_forward and conv3x3_backward_input; transform = 0: the transformed
// weights of the last call are still right (only a forward-only layer's: a training layer's
// input gradient transforms its weights into the same scratch; conv3x3_forward decides).
void conv_wino_forward(conv_wino *k, int N, cl_mem x, cl_mem w, int w_off, cl_mem b, int b_off, cl_mem y, int relu,
                       int transform);
void conv_wino_backward_input(conv_wino *k, int N, cl_mem dy, cl_mem w, int w_off, cl_mem dx);
// The weight and bias gradients by Winograd (p->wino_dw = 1 at create; a training layer),
// with conv3x3_backward_weights's contract.
void conv_wino_backward_weights(conv_wino *k, int N, cl_mem x, cl_mem dy, cl_mem dw, int dw_off, cl_mem db, int db_off);

#endif
