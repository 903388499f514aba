// The 1x1 convolution head (Cin -> 1) with bias and sigmoid, the loss (MSE, or with bce != 0
// the binary cross-entropy of the sigmoid against the soft targets) and MAE metric against the
// target heatmaps, and the head's backward pass.
// x: (N, Cin) padded planes (include/layout.h); s, t, dz: (N, H, W) dense.
// Reductions are deterministic: partials over fixed, shape-only ranges, then one
// work-item adding them in index order. A partial is one work-item's loop on CPUs
// (PX_GPU=0: no barriers) and, on GPUs (PX_GPU=1), one work-group of HEAD_WG
// work-items striding over the range (coalesced) and a fixed tree in local memory:
// the same order on every device and run.

#include "layout.h" // PAD_PLANE
#include "vec16.h"  // STORE16, store_lanes

#if PX_GPU
#define HEAD_WG 256 // work-items per partial (host/nn/head.c: HEAD_GPU_WG)

// The sum of v over the work-group by a fixed tree in red[HEAD_WG].
float head_tree(__local float *red, float v) {
    const int l = get_local_id(0);
    red[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = HEAD_WG / 2; w > 0; w >>= 1) {
        if (l < w) red[l] += red[l + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float s = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return s;
}
#endif

// s = sigmoid(b + sum_c w[c] * x[n, c]). GPU: one pixel per work-item, global (>= H*W, N).
#if PX_GPU
__kernel void head_forward(__global const float *x, __global const float *params, int w_off,
                           int b_off, __global float *s, int Cin, int H, int W, int margin) {
    const int i = get_global_id(0), n = get_global_id(1);
    if (i >= H * W) return;
    const int y = i / W, j = i - y * W;
    size_t plane = PAD_PLANE(H, W);
    __global const float *xp = x + margin + (size_t)n * Cin * plane + (size_t)(y + 1) * PAD_PW(W) + j + 1;
    float z = params[b_off];
    for (int c = 0; c < Cin; c++) z += params[w_off + c] * xp[c * plane];
    s[((size_t)n * H + y) * W + j] = 1.0f / (1.0f + exp(-z));
}
#else
// CPU: one image row (y, n) per work-item, 16 pixels at a time in float16 (the same sums in the
// same order); the last chunk's loads run up to 15 floats past the row, into the ring row below
// it (inside the plane), and only the row's pixels are stored. global (>= H, N)
__kernel void head_forward(__global const float *x, __global const float *params, int w_off,
                           int b_off, __global float *s, int Cin, int H, int W, int margin) {
    const int y = get_global_id(0), n = get_global_id(1);
    if (y >= H) return;
    size_t plane = PAD_PLANE(H, W);
    __global const float *xr = x + margin + (size_t)n * Cin * plane + (size_t)(y + 1) * PAD_PW(W) + 1;
    __global float *sr = s + ((size_t)n * H + y) * W;
    for (int j0 = 0; j0 < W; j0 += 16) {
        float16 z = (float16)(params[b_off]);
        for (int c = 0; c < Cin; c++) z += params[w_off + c] * vload16(0, xr + c * plane + j0);
        float t[16]; // the sigmoid lane by lane: scalar exp, whose bits the vector one does not keep
        vstore16(z, 0, t);
        for (int l = 0; l < 16; l++) t[l] = 1.0f / (1.0f + exp(-t[l]));
        store_lanes(vload16(0, t), sr + j0, min(16, W - j0));
    }
}
#endif

// The loss of one output: (s-t)^2, or the cross-entropy -(t log s + (1-t) log(1-s)) with s
// clipped to [1e-7, 1-1e-7] as Keras's binary_crossentropy clips it (a value only: the gradient
// below is the exact one of the sigmoid's logit, which Keras also uses).
float head_elem_loss(float sv, float tv, int bce) {
    if (!bce) {
        const float d = sv - tv;
        return d * d;
    }
    const float sc = fmin(fmax(sv, 1e-7f), 1.0f - 1e-7f);
    return -(tv * log(sc) + (1.0f - tv) * log(1.0f - sc));
}

// part[2q] = sum of the loss, part[2q+1] = sum |s-t| over range q of Q of the T outputs.
// CPU: global (>= Q); GPU: global (Q*HEAD_WG), local (HEAD_WG).
#if PX_GPU
__kernel __attribute__((reqd_work_group_size(HEAD_WG, 1, 1))) void
head_loss_partial(__global const float *s, __global const float *t, __global float *part, int T, int Q, int bce) {
    __local float red[HEAD_WG];
    const int q = get_group_id(0), l = get_local_id(0);
    const int i0 = (int)(((long)T * q) / Q), i1 = (int)(((long)T * (q + 1)) / Q);
    float se = 0.0f, ae = 0.0f;
    for (int i = i0 + l; i < i1; i += HEAD_WG) {
        se += head_elem_loss(s[i], t[i], bce);
        ae += fabs(s[i] - t[i]);
    }
    se = head_tree(red, se);
    ae = head_tree(red, ae);
    if (l == 0) {
        part[2 * q] = se;
        part[2 * q + 1] = ae;
    }
}
#else
__kernel void head_loss_partial(__global const float *s, __global const float *t,
                                __global float *part, int T, int Q, int bce) {
    int q = get_global_id(0);
    if (q >= Q) return;
    int i0 = (int)(((long)T * q) / Q), i1 = (int)(((long)T * (q + 1)) / Q);
    float se = 0.0f, ae = 0.0f;
    for (int i = i0; i < i1; i++) {
        se += head_elem_loss(s[i], t[i], bce);
        ae += fabs(s[i] - t[i]);
    }
    part[2 * q] = se;
    part[2 * q + 1] = ae;
}
#endif

// out[0] = the mean loss, out[1] = MAE.  global (1)
__kernel void head_loss_final(__global const float *part, __global float *out, int T, int Q) {
    if (get_global_id(0) != 0) return;
    float se = 0.0f, ae = 0.0f;
    for (int q = 0; q < Q; q++) {
        se += part[2 * q];
        ae += part[2 * q + 1];
    }
    out[0] = se / (float)T;
    out[1] = ae / (float)T;
}

// Gradient of the mean loss w.r.t. the head's pre-sigmoid value: MSE: dz = 2*(s-t)/T * s*(1-s)
// (scale = 2/T); cross-entropy (bce != 0): dz = (s-t)/T (scale = 1/T).  global (>= T)
__kernel void head_loss_grad(__global const float *s, __global const float *t, __global float *dz,
                             int T, float scale, int bce) {
    int i = get_global_id(0);
    if (i >= T) return;
    float sv = s[i];
    dz[i] = bce ? (sv - t[i]) * scale : (sv - t[i]) * scale * (sv * (1.0f - sv));
}

// part[c*P + p] = sum over rows chunk p of dz * x[n, c] (c < Cin), or of dz (c == Cin).
// Rows are the N*H image rows. CPU: global (>= P, Cin + 1); GPU: global (P*HEAD_WG, Cin + 1),
// local (HEAD_WG, 1), the range's r1-r0 rows x W pixels strided over the group.
#if PX_GPU
__kernel __attribute__((reqd_work_group_size(HEAD_WG, 1, 1))) void
head_bwd_partial(__global const float *x, __global const float *dz, __global float *part, int N, int Cin, int H,
                 int W, int margin, int P) {
    __local float red[HEAD_WG];
    const int p = get_group_id(0), c = get_global_id(1), l = get_local_id(0);
    const int rows = N * H;
    const int r0 = (int)(((long)rows * p) / P), r1 = (int)(((long)rows * (p + 1)) / P);
    const size_t plane = PAD_PLANE(H, W);
    float s = 0.0f;
    for (int e = l; e < (r1 - r0) * W; e += HEAD_WG) {
        const int rr = e / W, j = e - rr * W, r = r0 + rr, n = r / H, y = r - n * H;
        const float d = dz[(size_t)r * W + j];
        s += c == Cin ? d
                      : d * x[margin + ((size_t)n * Cin + c) * plane + (size_t)(y + 1) * PAD_PW(W) + 1 + j];
    }
    s = head_tree(red, s);
    if (l == 0) part[c * P + p] = s;
}
#else
__kernel void head_bwd_partial(__global const float *x, __global const float *dz,
                               __global float *part, int N, int Cin, int H, int W, int margin,
                               int P) {
    int p = get_global_id(0), c = get_global_id(1);
    if (p >= P || c > Cin) return;
    int rows = N * H;
    int r0 = (int)(((long)rows * p) / P), r1 = (int)(((long)rows * (p + 1)) / P);
    size_t plane = PAD_PLANE(H, W);
    float s = 0.0f;
    // (n, y) = (r / H, r % H) kept incrementally and without a division: LLVM
    // turns a paired / and % into a `freeze`, which oclgrind's uninitialized-value
    // checker cannot execute.
    int n = 0, y = r0;
    while (y >= H) { y -= H; n++; }
    for (int r = r0; r < r1; r++, n += (y + 1 == H), y = (y + 1 == H) ? 0 : y + 1) {
        __global const float *d = dz + (size_t)r * W;
        if (c == Cin) {
            for (int j = 0; j < W; j++) s += d[j];
        } else {
            __global const float *xr =
                x + margin + ((size_t)n * Cin + c) * plane + (size_t)(y + 1) * PAD_PW(W) + 1;
            for (int j = 0; j < W; j++) s += d[j] * xr[j];
        }
    }
    part[c * P + p] = s;
}
#endif

// dW[c] (c < Cin) and db (c == Cin) from the partials, in index order.  global (>= Cin + 1)
__kernel void head_bwd_final(__global const float *part, __global float *grads, int dw_off,
                             int db_off, int Cin, int P) {
    int c = get_global_id(0);
    if (c > Cin) return;
    float s = 0.0f;
    for (int p = 0; p < P; p++) s += part[c * P + p];
    grads[c == Cin ? db_off : dw_off + c] = s;
}

// dx[n, c] = dz[n] * w[c] on the interior, 0 * w[c] on the ring. GPU: one padded position per
// work-item, global (>= PW*PH, N).
#if PX_GPU
__kernel void head_bwd_input(__global const float *dz, __global const float *params, int w_off,
                             __global float *dx, int Cin, int H, int W, int margin) {
    const int i0 = get_global_id(0), n = get_global_id(1);
    const int pw = PAD_PW(W), ph = PAD_PH(H);
    if (i0 >= pw * ph) return;
    const int py = i0 / pw, px = i0 - py * pw;
    size_t plane = (size_t)(ph * pw);
    size_t i = (size_t)margin + (size_t)n * Cin * plane + (size_t)(py * pw + px);
    int inside = px >= 1 && px <= W && py >= 1 && py <= H;
    float d = inside ? dz[((size_t)n * H + (py - 1)) * W + (px - 1)] : 0.0f;
    for (int c = 0; c < Cin; c++) dx[i + c * plane] = d * params[w_off + c];
}
#else
// CPU: a work-item per plane (c, n), row by row, the image's pixels 16 at a time (the row's tail
// one by one: no access past the row), the same products. global (>= Cin, N)
__kernel void head_bwd_input(__global const float *dz, __global const float *params, int w_off,
                             __global float *dx, int Cin, int H, int W, int margin) {
    const int c = get_global_id(0), n = get_global_id(1);
    if (c >= Cin) return;
    const int pw = PAD_PW(W), ph = PAD_PH(H);
    const float w = params[w_off + c], ring = 0.0f * w; // (-0 for a negative weight, as on GPUs)
    __global float *dp = dx + (size_t)margin + ((size_t)n * Cin + c) * (size_t)(pw * ph);
    for (int q = 0; q < pw; q++) dp[q] = ring;
    for (int y = 0; y < H; y++) {
        __global const float *dr = dz + ((size_t)n * H + y) * W;
        __global float *row = dp + (size_t)(y + 1) * pw;
        int j = 0;
        for (; j + 16 <= W; j += 16) STORE16(vload16(0, dr + j) * w, row + 1 + j);
        for (; j < W; j++) row[1 + j] = dr[j] * w;
        row[0] = ring;
        row[W + 1] = ring;
    }
    for (int q = (H + 1) * pw; q < ph * pw; q++) dp[q] = ring;
}
#endif
