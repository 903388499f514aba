// ReLU backward on the padded-plane layout (layout.h) for conv blocks without
// batch norm (blocks with BN fuse it into batchnorm_backward). The forward ReLU
// is fused into the convolution. Kernel: cl/relu.cl.
#ifndef PIXLOC_RELU_H
#define PIXLOC_RELU_H

#include "nn_buffers.h"
#include "ocl.h"

typedef struct relu relu;

// For (N, C) padded planes of H x W images, batches of up to max_N.
relu *relu_create(ocl_ctx *c, int max_N, int C, int H, int W);
void relu_free(relu *r);
// Appends the program relu_create builds on target t.
void relu_programs(const ocl_target *t, ocl_program_list *out);
// The buffers relu_create allocates (the interior mask), appended to out.
void relu_buffers(int max_N, int C, int H, int W, nn_buffers *out);

// In place: g *= (x > 0) on the interior, x being the ReLU output; ring = 0;
// margins untouched. x, g: (N, C) padded planes.
void relu_backward(relu *r, int N, cl_mem x, cl_mem g);

#endif
