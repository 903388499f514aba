// The heatmap network as data: a list of conv blocks (Conv3x3 + bias -> ReLU ->
// BatchNorm, each part switchable) and a 1x1 sigmoid head, with forward, backward
// and Adam update on the device. All trainable parameters live in one device
// buffer (gradients, Adam m and v in buffers of the same layout); BN moving
// statistics in another.
#ifndef PIXLOC_NET_H
#define PIXLOC_NET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "batch_split.h"
#include "batchnorm.h"
#include "net_config.h"
#include "ocl.h"
#include "rng.h"

// One named parameter tensor, for checkpoints and the Keras comparison.
// Names: "conv{i}.kernel" (3,3,Cin,Cout), "conv{i}.bias" (Cout), "bn{i}.gamma",
// "bn{i}.beta", "bn{i}.moving_mean", "bn{i}.moving_variance" (C),
// "head.kernel" (1,1,Cin,1), "head.bias" (1).
typedef struct {
    char name[48];
    int ndim;
    int64_t shape[4];
    size_t count;
    size_t offset; // float offset in the params buffer (trainable) or the stats buffer
    int trainable; // 0 for BN moving statistics
} net_tensor;

typedef struct net net;

// What a net is allocated for.
// NET_KIND_TRAINING: everything training needs (gradients, Adam moments, BN batch
//   statistics scratch, one activation buffer per layer output, targets).
// NET_KIND_INFERENCE: what net_forward(BN_INFERENCE) needs and no more: the
//   parameters and moving statistics, two ping-pong activation buffers (block
//   outputs alternate between them; each sized for the widest tensor it holds),
//   forward-only convolutions, and each block's batch norm folded into its
//   convolution's epilogue as a per-channel "ReLU, then y*scale + shift" (scale and
//   shift computed once, by batchnorm_fold, at the first forward after the tensors
//   are set). Heatmaps equal the training net's BN_INFERENCE forward to the bit on
//   PoCL (tests/test_net_infer.c). Training calls (net_backward, net_loss,
//   net_adam_step, Adam state, gradients, targets, BN_TRAINING / BN_REESTIMATE
//   forwards) exit 1 with a message.
typedef enum { NET_KIND_TRAINING = 0, NET_KIND_INFERENCE = 1 } net_kind;

// Allocates everything for batches of up to max_batch images of H x W. If the
// device cannot hold it, exits 1 with a message naming the buffer, its size, the
// device limit and the largest batch that would fit.
net *net_create(ocl_ctx *c, const net_config *cfg, int H, int W, int max_batch); // NET_KIND_TRAINING
net *net_create_kind(ocl_ctx *c, const net_config *cfg, int H, int W, int max_batch, net_kind kind);
void net_free(net *n);
// Appends every program net_create(c, cfg, H, W, max_batch) builds when c's target is
// t and nothing is tuned or forced (each layer's default parameters for t): what
// `pixloc kernels` writes out for a device that need not exist.
void net_programs(const ocl_target *t, const net_config *cfg, int H, int W, int max_batch, ocl_program_list *out);
// The same with every conv layer's variant forced (conv3x3_target_variant_defaults), as
// PIXLOC_CONV_VARIANT does; variant < 0: net_programs. wino_m (2 or 4; 0: the table's) sets
// the output tile side of the Winograd layers (forward and input gradient).
void net_programs_variant(const ocl_target *t, const net_config *cfg, int H, int W, int max_batch, int variant,
                          int wino_m, ocl_program_list *out);
// The memory plan without allocating: net_create's list of every device buffer
// (each module's from its own size function) for batches of `batch`. Returns 1
// if each fits the device's allocation cap (ocl_alloc_cap) and all together fit
// global memory; else 0, with the first buffer that does not fit (or "all
// buffers together") in *name and its bytes in *bytes (either may be NULL).
int net_plan_check(ocl_ctx *c, const net_config *cfg, int H, int W, int batch, const char **name, size_t *bytes);
int net_plan_check_kind(ocl_ctx *c, const net_config *cfg, int H, int W, int batch, net_kind kind, const char **name,
                        size_t *bytes);
// The largest batch whose plan fits (0 if none): the one net_create's message reports.
long net_largest_batch(ocl_ctx *c, const net_config *cfg, int H, int W);
long net_largest_batch_kind(ocl_ctx *c, const net_config *cfg, int H, int W, net_kind kind);
int net_tensor_count(const net *n);
const net_tensor *net_tensor_at(const net *n, int i);
size_t net_trainable_count(const net *n);
size_t net_nontrainable_count(const net *n);

// Keras initialisation from g: Glorot uniform kernels (fan_in = k*k*Cin,
// fan_out = k*k*Cout), zero biases (head bias = cfg.head_bias_init), gamma 1,
// beta 0, moving mean 0, moving variance 1; Adam state zeroed.
void net_init(net *n, rng_state *g);

// Host <-> device copies of one tensor by index, or of whole state.
void net_get_tensor(net *n, int i, float *out);
void net_set_tensor(net *n, int i, const float *in);
// Adam state: m and v in the trainable layout (net_trainable_count floats), step count.
void net_get_adam(net *n, float *m, float *v, int64_t *step);
void net_set_adam(net *n, const float *m, const float *v, int64_t step);
// Gradient of the trainable tensor i after net_backward (for tests).
void net_get_grad(net *n, int i, float *out);

// Fills the input (and target, if heatmaps != NULL) of a batch of N images from
// device-resident dense arrays images (Ntot,H,W) and heatmaps (Ntot,H,W), picking
// rows idx[0..N).
void net_gather(net *n, int N, cl_mem images, cl_mem heatmaps, const int64_t *idx);
// Same, picking rows rows[first..first+N) of a device buffer of int64 row indices (an
// epoch's order, uploaded once): nothing is written from the host, nothing waits.
void net_gather_rows(net *n, int N, cl_mem images, cl_mem heatmaps, cl_mem rows, size_t first);
// Same from host arrays (N,H,W) (targets may be NULL).
void net_set_batch(net *n, int N, const float *images, const float *heatmaps);

// mode (batchnorm.h's bn_mode; the values 0, 1, 2 are part of the API):
// BN_INFERENCE (0): BN uses moving statistics.
// BN_TRAINING (1): BN uses batch statistics and updates moving ones with momentum.
// BN_REESTIMATE (2): "precise BN": batch statistics as in training, and the
//         moving statistics become the equal-weight average of the batches seen
//         since net_bn_reestimate_begin (k-th batch: moving += (batch - moving)/k).
void net_forward(net *n, int N, bn_mode mode);
void net_bn_reestimate_begin(net *n);
// MSE loss and MAE of the last forward against the batch targets (reads back 2 floats).
void net_loss(net *n, int N, float *loss, float *mae);
// Same without waiting: out[0] (MSE) and out[1] (MAE) hold them once *done completes
// (ocl_wait); out must stay valid until then.
void net_loss_enqueue(net *n, int N, float out[2], cl_event *done);
// Gradients of the MSE loss of the last forward w.r.t. every trainable parameter
// (and the input, for tests: net_get_input_grad).
void net_backward(net *n, int N);
void net_get_input_grad(net *n, int N, float *out); // (N,H,W)
// One Keras Adam step with learning rate lr (beta1 0.9, beta2 0.999, eps 1e-7).
void net_adam_step(net *n, float lr);
// Predicted heatmaps of the last forward, (N,H,W) dense.
void net_read_heatmaps(net *n, int N, float *out);

// --- additions (net engineer) ---
// Block indices i in tensor names count from 0 ("conv0.kernel" is the first layer).
// Tensors are listed in Keras's model.weights order: per block conv kernel, bias,
// then (if BN) gamma, beta, moving_mean, moving_variance; then head kernel, bias.

// Data-parallel training (batch_split.h; NULL, the default, undoes it): this net holds one
// process's share of each batch (s->global_rows samples in all, set before each forward). Batch
// norm's statistics (training and re-estimation forwards) and its backward sums become the whole
// batch's; net_backward's gradients become those of the whole batch's mean loss, identical on
// every process: each process's gradients are gathered and summed in process order (batch
// norm's gamma and beta gradients, already the whole batch's, are kept). s must outlive n.
void net_set_split(net *n, batch_split *s);

// on != 0: net_backward also computes the gradient w.r.t. the input images (one
// more convolution; off by default, training does not need it).
void net_want_input_grad(net *n, int on);
// Per-op timing for benchmarks: while on, every op (conv/bn/head/adam/...) is
// followed by clFinish and its wall time added to a counter named after it.
void net_profile(net *n, int on);
// Prints each op's mean time per call and share of the total, then resets the counters.
void net_profile_report(net *n, FILE *f);
// The kernel variants the net's layers run with, for the record (a checkpoint's
// "device" metadata): "CIN->COUT variant=... tile_co=... ; ..." per conv layer.
void net_kernels_describe(const net *n, char *out, size_t len);
// The context the net runs in.
const ocl_ctx *net_ctx(const net *n);

#endif
