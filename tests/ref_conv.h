// Plain C reference of the 3x3 'same' convolution (Keras Conv2D semantics), in
// double, written for clarity rather than speed. The device kernels, and the
// whole-network gradient check, are tested against it.
//
// All activations are DENSE (N, C, H, W) row-major arrays (no padding ring).
// w: Keras kernel layout (3, 3, Cin, Cout): w[((ky*3 + kx)*Cin + ci)*Cout + co].
#ifndef PIXLOC_REF_CONV_H
#define PIXLOC_REF_CONV_H

// y[n,co,i,j] = b[co] + sum_{ky,kx,ci} w[ky,kx,ci,co] * x[n,ci,i+ky-1,j+kx-1]
// (zero outside the image), then max(y, 0) when relu. b may be NULL (no bias).
// x: (N,Cin,H,W)  w: (3,3,Cin,Cout)  b: (Cout)  y: (N,Cout,H,W)
void ref_conv3x3_forward(const double *x, const double *w, const double *b, double *y, int N, int Cin, int Cout, int H,
                         int W, int relu);

// Gradients of the linear convolution (no ReLU: dy is the gradient with respect
// to the pre-activation output). All outputs are overwritten, not accumulated.
// x: (N,Cin,H,W)  w: (3,3,Cin,Cout)  dy: (N,Cout,H,W)
// dx: (N,Cin,H,W) or NULL  dw: (3,3,Cin,Cout)  db: (Cout)
void ref_conv3x3_backward(const double *x, const double *w, const double *dy, double *dx, double *dw, double *db, int N,
                          int Cin, int Cout, int H, int W);

#endif
