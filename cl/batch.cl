// Batch assembly: copies rows idx[first..first+N) of dense (Ntot, H, W) arrays into the
// network's padded input planes (include/layout.h) and a dense target buffer. idx is
// a whole epoch's order on the device (the batch reads its slice from `first`), so a
// training step writes nothing from the host.

#include "layout.h" // PAD_PW, PAD_PH

// x: (N, 1) padded planes, ring written as zeros; one padded position per work-item.
// global (>= PW*PH, N)
__kernel void gather_images(__global const float *images, __global const long *idx,
                            __global float *x, int H, int W, int margin, int first) {
    const int i0 = get_global_id(0), n = get_global_id(1);
    const int pw = PAD_PW(W), ph = PAD_PH(H);
    if (i0 >= pw * ph) return;
    const int py = i0 / pw, px = i0 - py * pw;
    size_t i = (size_t)margin + (size_t)n * (size_t)(ph * pw) + (size_t)(py * pw + px);
    int inside = px >= 1 && px <= W && py >= 1 && py <= H;
    x[i] = inside ? images[((size_t)idx[first + n] * H + (py - 1)) * W + (px - 1)] : 0.0f;
}

// t: (N, H, W) dense, one pixel per work-item.  global (>= H*W, N)
__kernel void gather_targets(__global const float *heatmaps, __global const long *idx,
                             __global float *t, int H, int W, int first) {
    const int i = get_global_id(0), n = get_global_id(1);
    if (i >= H * W) return;
    t[(size_t)n * H * W + i] = heatmaps[(size_t)idx[first + n] * H * W + i];
}
