// Keras BatchNormalization on the padded-plane layout (layout.h), per layer:
// forward (training, inference, re-estimation) and backward with the ReLU mask
// of the preceding activation fused in (ReLU backward alone: relu.h). Kernels: cl/batchnorm.cl.
#ifndef PIXLOC_BATCHNORM_H
#define PIXLOC_BATCHNORM_H

#include "batch_split.h"
#include "nn_buffers.h"
#include "ocl.h"

typedef struct batchnorm batchnorm;

// Forward modes (the values are those of net_forward's mode and bn_finalize's).
typedef enum {
    BN_INFERENCE = 0,  // moving statistics
    BN_TRAINING = 1,   // batch statistics; moving ones updated with momentum
    BN_REESTIMATE = 2, // batch statistics; moving ones the equal-weight average of the batches
} bn_mode;

// Scratch (partial sums, saved batch statistics) for one layer of C channels of
// H x W images, batches of up to max_N.
batchnorm *batchnorm_create(ocl_ctx *c, int max_N, int C, int H, int W);
void batchnorm_free(batchnorm *b);
// The buffers batchnorm_create allocates, appended to out in allocation order.
void batchnorm_buffers(int max_N, int C, int H, int W, nn_buffers *out);
// Appends the program batchnorm_create builds on target t.
void batchnorm_programs(const ocl_target *t, ocl_program_list *out);

// Synchronised batch norm over a batch split across processes (NULL: this process's batch is
// the whole; the default): the batch statistics and the backward's per-channel sums become the
// whole batch's. Each process's per-sample partial sums are gathered in process order and
// reduced by the same kernels as one process's, so the statistics are those of one process
// holding the whole batch, to the bit. Allocates the gathered sums' scratch (s->max_rows
// samples); s must outlive b.
void batchnorm_set_split(batchnorm *b, const batch_split *s);

// x -> y, both (N, C) padded planes (y's ring written as zeros). y = NULL: the statistics and
// the per-channel scale and shift alone (batchnorm_state), for a consumer that applies them as
// it reads x (conv3x3_set_input_bn); y is then never written.
// gamma, beta at float offsets in `params`; moving mean / variance at offsets in `stats`.
// BN_INFERENCE: moving statistics. BN_TRAINING: batch statistics (biased variance) and
//   moving = moving*momentum + batch*(1-momentum). BN_REESTIMATE: batch statistics and
//   moving += (batch - moving) * inv_k. Training and re-estimation keep the batch mean and
//   1/sqrt(var+eps) for batchnorm_backward.
void batchnorm_forward(batchnorm *b, int N, cl_mem x, cl_mem y, cl_mem params, size_t gamma_off, size_t beta_off,
                       cl_mem stats, size_t mean_off, size_t var_off, bn_mode mode, float momentum, float eps,
                       float inv_k);

// The per-channel state the last batchnorm_forward left (cl/batchnorm.cl's st: 6*C floats, the
// scale at float 2*C and the shift at 3*C), valid until the next batchnorm_forward.
cl_mem batchnorm_state(const batchnorm *b);

// The buffers bn_stats writes (CPU-shaped kernels only) and its 1/(H*W), for a producer of x that
// writes the per-plane sums itself as it finishes each plane (conv3x3_set_output_bn, with
// cl/bn_plane.h's code: the same bits): the interior mask, the (N, C) sums and centred squares.
void batchnorm_output_sums(const batchnorm *b, cl_mem *mask, cl_mem *psum, cl_mem *pm2, float *inv_hw);
// given != 0: batchnorm_forward takes those sums as x's producer wrote them (it does not compute
// them); for a producer that writes them at every call before batchnorm_forward.
void batchnorm_set_sums_given(batchnorm *b, int given);

// After a BN_TRAINING / BN_REESTIMATE forward on the same x: g holds dY (grad w.r.t. the BN output,
// (N, C) padded planes) and is overwritten in place with dX, multiplied by
// (x > 0) when relu != 0 (x being the ReLU output, so that is the gradient w.r.t.
// the conv's pre-activation); ring = 0. dgamma, dbeta are written (not
// accumulated) at their offsets in `grads`.
void batchnorm_backward(batchnorm *b, int N, cl_mem x, cl_mem g, cl_mem params, size_t gamma_off, cl_mem grads,
                        size_t dgamma_off, size_t dbeta_off, int relu);

// Folding for inference: the per-channel scale gamma/sqrt(moving_var + eps) and shift
// beta - moving_mean*scale that BN_INFERENCE applies (computed by the same kernel, so
// they are the same floats on every device), written to `out` at float offset out_off
// as C scales then C shifts. Synchronous; allocates only a 6*C-float scratch.
void batchnorm_fold(ocl_ctx *c, int C, cl_mem params, size_t gamma_off, size_t beta_off, cl_mem stats, size_t mean_off,
                    size_t var_off, float eps, cl_mem out, size_t out_off);

#endif
