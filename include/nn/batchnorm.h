// Keras BatchNormalization on the padded-plane layout (layout.h), per layer:
// forward (training, inference, re-estimation) and backward with the ReLU mask
// of the preceding activation fused in. Kernels: cl/batchnorm.cl.
#ifndef PIXLOC_BATCHNORM_H
#define PIXLOC_BATCHNORM_H

#include "ocl.h"

typedef struct batchnorm batchnorm;

// Scratch (partial sums, saved batch statistics) for one layer of C channels of
// H x W images, batches of up to max_N.
batchnorm *batchnorm_create(ocl_ctx *c, int max_N, int C, int H, int W);
void batchnorm_free(batchnorm *b);

// x -> y, both (N, C) padded planes (y's ring written as zeros).
// gamma, beta at float offsets in `params`; moving mean / variance at offsets in `stats`.
// mode 0: moving statistics. mode 1: batch statistics (biased variance) and
//   moving = moving*momentum + batch*(1-momentum). mode 2: batch statistics and
//   moving += (batch - moving) * inv_k. Modes 1 and 2 keep the batch mean and
//   1/sqrt(var+eps) for batchnorm_backward.
void batchnorm_forward(batchnorm *b, int N, cl_mem x, cl_mem y, cl_mem params, size_t gamma_off,
                       size_t beta_off, cl_mem stats, size_t mean_off, size_t var_off, int mode,
                       float momentum, float eps, float inv_k);

// After a mode 1/2 forward on the same x: g holds dY (grad w.r.t. the BN output,
// (N, C) padded planes) and is overwritten in place with dX, multiplied by
// (x > 0) when relu != 0 (x being the ReLU output, so that is the gradient w.r.t.
// the conv's pre-activation); ring = 0. dgamma, dbeta are written (not
// accumulated) at their offsets in `grads`.
void batchnorm_backward(batchnorm *b, int N, cl_mem x, cl_mem g, cl_mem params, size_t gamma_off,
                        cl_mem grads, size_t dgamma_off, size_t dbeta_off, int relu);

// ReLU backward for a block without BN, in place: g *= (x > 0); ring = 0.
void batchnorm_relu_backward(batchnorm *b, int N, cl_mem x, cl_mem g);

#endif
