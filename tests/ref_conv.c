// Plain C reference of the 3x3 convolution; see ref_conv.h.
#include "ref_conv.h"

#include <string.h>

// Dense (N, C, H, W) index.
static size_t at(int n, int c, int i, int j, int C, int H, int W) { return (((size_t)n * C + c) * H + i) * W + j; }
// Keras kernel index (ky, kx, ci, co).
static size_t wat(int ky, int kx, int ci, int co, int Cin, int Cout) {
    return ((size_t)(ky * 3 + kx) * Cin + ci) * Cout + co;
}

void ref_conv3x3_forward(const double *x, const double *w, const double *b, double *y, int N, int Cin, int Cout, int H,
                         int W, int relu) {
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Cout; co++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double s = b ? b[co] : 0.0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int ii = i + ky - 1, jj = j + kx - 1;
                            if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue; // zero padding
                            for (int ci = 0; ci < Cin; ci++)
                                s += w[wat(ky, kx, ci, co, Cin, Cout)] * x[at(n, ci, ii, jj, Cin, H, W)];
                        }
                    y[at(n, co, i, j, Cout, H, W)] = relu && s < 0.0 ? 0.0 : s;
                }
}

void ref_conv3x3_backward(const double *x, const double *w, const double *dy, double *dx, double *dw, double *db, int N,
                          int Cin, int Cout, int H, int W) {
    if (dx) memset(dx, 0, sizeof(double) * (size_t)N * Cin * H * W);
    memset(dw, 0, sizeof(double) * 9 * (size_t)Cin * Cout);
    memset(db, 0, sizeof(double) * (size_t)Cout);
    // Scatter each output gradient back along the same taps the forward pass used.
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Cout; co++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double g = dy[at(n, co, i, j, Cout, H, W)];
                    db[co] += g;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int ii = i + ky - 1, jj = j + kx - 1;
                            if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                            for (int ci = 0; ci < Cin; ci++) {
                                size_t xi = at(n, ci, ii, jj, Cin, H, W), wi = wat(ky, kx, ci, co, Cin, Cout);
                                dw[wi] += g * x[xi];
                                if (dx) dx[xi] += g * w[wi];
                            }
                        }
                }
}
