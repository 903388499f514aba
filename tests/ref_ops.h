// Plain C double references of the non-convolution ops and of the whole network
// (Keras semantics, see shared/seed/REFERENCE.md). All activations are DENSE
// (N, C, H, W) row-major arrays, no padding ring.
#ifndef PIXLOC_REF_OPS_H
#define PIXLOC_REF_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "net_config.h" // plain C: no OpenCL in the references

// BatchNormalization forward. mode 0: moving statistics; 1: batch statistics
// (biased variance), moving = momentum*moving + (1-momentum)*batch; 2: batch
// statistics, moving += (batch - moving)/k. mean/var (C) receive the statistics
// used (may be NULL). moving_mean/var are updated in place in modes 1, 2.
void ref_bn_forward(const double *x, double *y, int N, int C, int H, int W, const double *gamma, const double *beta,
                    double *moving_mean, double *moving_var, int mode, double momentum, double eps, int k, double *mean,
                    double *var);
// Backward of the training-mode BN with batch statistics mean/var: dx (gradient
// w.r.t. the BN input), times (x > 0) when relu; dgamma, dbeta (C).
void ref_bn_backward(const double *x, const double *dy, int N, int C, int H, int W, const double *gamma,
                     const double *mean, const double *var, double eps, int relu, double *dx, double *dgamma,
                     double *dbeta);

// Head: s[n,y,x] = sigmoid(b + sum_c w[c]*x[n,c,y,x]); x (N,Cin,H,W), s (N,H,W).
void ref_head_forward(const double *x, const double *w, double b, int N, int Cin, int H, int W, double *s);
// The mean loss (NET_LOSS_MSE: (s-t)^2; NET_LOSS_BCE: -(t log s + (1-t) log(1-s))) and MAE over n values.
void ref_loss_mae(int loss, const double *s, const double *t, size_t n, double *value, double *mae);
// Backward of that mean loss through the sigmoid and the 1x1 conv by the chain rule (dL/ds * s(1-s)):
// dw (Cin), db, dx (N,Cin,H,W) (may be NULL).
void ref_head_backward(int loss, const double *x, const double *w, const double *s, const double *t, int N, int Cin,
                       int H, int W, double *dw, double *db, double *dx);

// One Keras Adam step (t = step + 1, epsilon-hat form) on n parameters, in place.
void ref_adam(double *w, const double *g, double *m, double *v, size_t n, int64_t step, double lr, double beta1,
              double beta2, double eps);

// Trainable-parameter layout of net.h for cfg and 1-channel input: per block
// kernel (3,3,Cin,Cout), bias, [gamma, beta if BN]; head kernel (Cin), bias.
size_t ref_net_param_count(const net_config *cfg);

// Whole network in training mode (BN with batch statistics): forward on x
// (N,1,H,W) with trainable params p (layout above), MSE loss against t (N,H,W).
// Returns the loss; fills heat (N,H,W) if non-NULL, grads (same layout as p) if
// non-NULL and dx (N,H,W) if non-NULL.
double ref_net_train(const net_config *cfg, int N, int H, int W, const double *p, const double *x, const double *t,
                     double *heat, double *grads, double *dx);

#endif

// ---- padded-plane helpers for the device tests (include/layout.h) ----
// A host image of an activation buffer for dense x (N,C,H,W): interior = x,
// ring = `ring`, margins = `margin` (NaN in tests: kernels must not read or
// write either). Returns act_floats floats, malloc'd.
float *ref_pad(const double *x, int N, int C, int H, int W, float ring, float margin);
// Interior of a padded buffer as dense (N,C,H,W) floats.
void ref_unpad(const float *buf, int N, int C, int H, int W, float *dense);
// Number of ring values that are not exactly 0 plus margin values that are not
// NaN (margins are pre-filled with NaN and must never be written).
long ref_ring_margin_errors(const float *buf, int N, int C, int H, int W);
