// The heatmap head: 1x1 convolution Cin -> 1 with bias and sigmoid, the loss (MSE, or the
// binary cross-entropy) and MAE metric against target heatmaps, and its backward pass.
// Kernels: cl/head.cl.
#ifndef PIXLOC_HEAD_H
#define PIXLOC_HEAD_H

#include "net_config.h"
#include "nn_buffers.h"
#include "ocl.h"

typedef struct head head;

head *head_create(ocl_ctx *c, int max_N, int Cin, int H, int W);
// Forward only (inference): no gradient or loss buffers; head_loss and head_backward exit 1.
head *head_create_forward(ocl_ctx *c, int max_N, int Cin, int H, int W);
void head_free(head *h);
// The loss head_loss and head_backward use: NET_LOSS_MSE (the default, the seed's) or NET_LOSS_BCE,
// -mean(t log s + (1-t) log(1-s)) over N*H*W with s clipped to [1e-7, 1-1e-7] for its value, and
// the exact gradient of the logit, (s-t)/(N*H*W).
void head_set_loss(head *h, int loss);
// Appends the program head_create builds on target t.
void head_programs(const ocl_target *t, ocl_program_list *out);
// The buffers head_create allocates, appended to out in allocation order.
void head_buffers(int max_N, int Cin, int H, int W, nn_buffers *out);

// x: (N, Cin) padded planes -> s: (N, H, W) dense sigmoid outputs.
// Kernel (Cin floats) and bias at float offsets in params.
void head_forward(head *h, int N, cl_mem x, cl_mem params, size_t w_off, size_t b_off, cl_mem s);
// The loss (MSE or cross-entropy) and MAE of s against t (both (N, H, W) dense), averaged over N*H*W (reads back 2 floats).
void head_loss(head *h, int N, cl_mem s, cl_mem t, float *loss, float *mae);
// Same without waiting: out[0] (MSE) and out[1] (MAE) hold them once *done completes
// (ocl_wait); out must stay valid until then.
void head_loss_enqueue(head *h, int N, cl_mem s, cl_mem t, float out[2], cl_event *done);
// The batch the loss is a mean over, when it is larger than the batch this head sees (a batch
// split across processes, batch_split.h): head_backward's gradients are then those of the mean
// over N samples (0, the default: over the batch given to head_backward).
void head_set_loss_batch(head *h, int N);
// Backward of the loss through the sigmoid and the 1x1 conv: dW (Cin) and db
// written at offsets in grads, dx: (N, Cin) padded planes (ring written as zeros).
void head_backward(head *h, int N, cl_mem x, cl_mem s, cl_mem t, cl_mem params, size_t w_off, cl_mem grads,
                   size_t dw_off, size_t db_off, cl_mem dx);

#endif
