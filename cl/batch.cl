// Batch assembly: copies rows idx[first..first+N) of dense (Ntot, H, W) arrays into the
// network's padded input planes (include/layout.h) and a dense target buffer. idx is
// a whole epoch's order on the device (the batch reads its slice from `first`), so a
// training step writes nothing from the host.

#include "layout.h" // PAD_PW, PAD_PH

// x: (N, 1) padded planes, ring written as zeros.  global (PW, PH, N)
__kernel void gather_images(__global const float *images, __global const long *idx,
                            __global float *x, int H, int W, int margin, int first) {
    int px = get_global_id(0), py = get_global_id(1), n = get_global_id(2);
    int pw = PAD_PW(W), ph = PAD_PH(H);
    if (px >= pw || py >= ph) return;
    size_t i = (size_t)margin + (size_t)n * (size_t)(ph * pw) + (size_t)(py * pw + px);
    int inside = px >= 1 && px <= W && py >= 1 && py <= H;
    x[i] = inside ? images[((size_t)idx[first + n] * H + (py - 1)) * W + (px - 1)] : 0.0f;
}

// t: (N, H, W) dense.  global (W, H, N)
__kernel void gather_targets(__global const float *heatmaps, __global const long *idx,
                             __global float *t, int H, int W, int first) {
    int j = get_global_id(0), y = get_global_id(1), n = get_global_id(2);
    if (j >= W || y >= H) return;
    t[((size_t)n * H + y) * W + j] = heatmaps[((size_t)idx[first + n] * H + y) * W + j];
}
