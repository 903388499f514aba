// Memory layout of activations and gradients on the device — the one contract
// every kernel and launcher shares.
//
// An activation tensor of N images, C channels, H x W pixels is stored as
// (N, C, PH, PW) float32 planes with PH = H + 2 and PW = W + 2: each plane has a
// one-pixel ring of zeros around the image, which is exactly the 'same' zero
// padding of a 3x3 convolution. A 3x3 tap at offset (dy, dx) of padded position q
// is then q + dy*PW + dx, so a run of 16 consecutive outputs reads 16 consecutive
// inputs (one vload16) for every tap and input channel: the convolution is a
// GEMM over shifted views, with no im2col buffer.
//
// The buffer has ACT_MARGIN(W) floats of zeros before the first plane and after
// the last one, so vector loads that run past a plane's edge stay inside the
// buffer. Element (n, c, y, x), 0 <= y < H, 0 <= x < W, is at float offset
//   act_index(l, n, c, y, x) = margin + (n*C + c)*plane + (y+1)*PW + (x+1).
//
// Invariant: every kernel that writes an activation or gradient tensor writes
// exact zeros in the padding ring (row 0, row H+1, column 0, column W+1 of every
// plane) and never writes the margins; buffers are zeroed when allocated.
#ifndef PIXLOC_LAYOUT_H
#define PIXLOC_LAYOUT_H

#include <stddef.h>

// Margin (floats) before and after the planes: more than one padded row plus
// one pixel plus a 16-wide vector, rounded to 16 floats (64 bytes).
#define ACT_MARGIN(W) ((((size_t)(W) + 2 + 1 + 32) + 15) / 16 * 16)

typedef struct {
    int N, C, H, W; // N is the capacity (largest batch) the buffer was sized for
    int PH, PW;     // H + 2, W + 2
    size_t plane;   // PH * PW
    size_t margin;  // ACT_MARGIN(W)
} act_layout;

static inline act_layout act_layout_make(int N, int C, int H, int W) {
    act_layout l;
    l.N = N;
    l.C = C;
    l.H = H;
    l.W = W;
    l.PH = H + 2;
    l.PW = W + 2;
    l.plane = (size_t)l.PH * (size_t)l.PW;
    l.margin = ACT_MARGIN(W);
    return l;
}
// Floats the buffer holds (margins included).
static inline size_t act_floats(const act_layout *l) { return 2 * l->margin + (size_t)l->N * (size_t)l->C * l->plane; }
static inline size_t act_index(const act_layout *l, int n, int c, int y, int x) {
    return l->margin + ((size_t)n * (size_t)l->C + (size_t)c) * l->plane + (size_t)(y + 1) * (size_t)l->PW +
           (size_t)(x + 1);
}

#endif
