// Keras BatchNormalization on padded planes (include/layout.h): x is (N, C, PH, PW)
// at float offset `margin`; statistics are over the N*H*W interior pixels of each
// channel (never the ring: kernels mask it and never trust its contents).
//
// Two shapes, chosen by the host's PX_GPU (the kernels' arguments are the same),
// both deterministic (fixed orders, no atomics):
//
// PX_GPU=0, CPU-friendly (no barriers, no local memory):
// every kernel walks one (n, c) plane as nv = ceil(plane/16) contiguous chunks of
// 16 floats with vload16 / vstore16. `mask` (nv*16 ints, built by the host) is -1
// at interior positions of a plane and 0 on the ring and past the plane's end, so
// ring values are excluded with select() (never multiplied: they may be NaN).
//
// PX_GPU=1: the reductions (bn_stats, bn_bwd_stats) run one work-group of BN_WG
// work-items per (n, c) plane: work-item l takes positions l, l + BN_WG, ... (loads
// coalesced across the group), then the group adds its BN_WG values by a fixed tree
// in local memory. BN_WG is a constant, not the device's choice, so the order of
// every sum is the same on every device and run. The element-wise kernels (bn_apply,
// bn_bwd_apply) take one position per work-item, in groups of the host's choosing.
//
// Statistics: each plane is summed, then a second pass over the same plane (in
// cache) makes the sum of squares centred on the plane's own mean. A per-channel kernel
// combines the N plane results in index order (Chan et al.'s pairwise formula with
// equal counts: M2 = sum M2_n + HW * sum (mean_n - mean)^2).
//
// Per-channel state `st` (6*C floats, one buffer per layer):
//   st[c] = batch (or moving) mean, st[C+c] = 1/sqrt(var+eps),
//   st[2C+c] = scale = gamma*invstd, st[3C+c] = shift = beta - mean*scale,
//   st[4C+c] = dbeta/M, st[5C+c] = dgamma/M (backward; gamma itself is read from params).

#if !PX_GPU
#include "bn_plane.h" // bn_hsum16, bn_plane_sums (shared with the Winograd output transform)
#include "vec16.h"    // STORE16

// psum[nc] = sum of plane nc's interior, pm2[nc] = sum of (x - plane mean)^2 there.
// global (>= NC), any local size.
__kernel void bn_stats(__global const float *x, __global const int *mask, __global float *psum,
                       __global float *pm2, int NC, int plane, int nv, int margin, float inv_hw) {
    int nc = get_global_id(0);
    if (nc >= NC) return;
    float sum, m2;
    bn_plane_sums(x + (size_t)margin + (size_t)nc * (size_t)plane, mask, plane, nv, inv_hw, &sum, &m2);
    psum[nc] = sum;
    pm2[nc] = m2;
}

// y = x*scale + shift on the interior, 0 on the ring: a work-item per plane (c, n), its nv
// chunks in order (a work-item per chunk cost 1.5-2x the time: PoCL's cost per work-group and
// the per-item set-up).  global (>= C, N)
__kernel void bn_apply(__global const float *x, __global float *y, __global const int *mask,
                       __global const float *st, int C, int plane, int nv, int margin) {
    int c = get_global_id(0), n = get_global_id(1);
    if (c >= C) return;
    size_t base = (size_t)margin + ((size_t)n * (size_t)C + (size_t)c) * (size_t)plane;
    __global const float *xp = x + base;
    __global float *yp = y + base;
    float scale = st[2 * C + c], shift = st[3 * C + c];
    for (int k = 0; k < nv; k++) {
        if ((k + 1) * 16 <= plane) {
            float16 v = vload16(k, xp) * scale + shift;
            STORE16(select((float16)(0.0f), v, vload16(k, mask)), yp + 16 * k);
        } else { // the plane's partial last chunk
            for (int j = k * 16; j < plane; j++) yp[j] = mask[j] ? xp[j] * scale + shift : 0.0f;
        }
    }
}

// Backward partials of plane (n, c), dy = g (grad of the BN output):
//   part[nc] = sum dy,  part[NC + nc] = sum dy * (x - mean).  global (>= C, N)
__kernel void bn_bwd_stats(__global const float *x, __global const float *g,
                           __global const int *mask, __global const float *st,
                           __global float *part, int C, int NC, int plane, int nv, int margin) {
    int c = get_global_id(0), n = get_global_id(1);
    if (c >= C) return;
    int nc = n * C + c;
    size_t base = (size_t)margin + (size_t)nc * (size_t)plane;
    __global const float *xp = x + base;
    __global const float *gp = g + base;
    float mean = st[c];
    float16 sb = (float16)(0.0f), sg = (float16)(0.0f);
    for (int k = 0; k < nv; k++) {
        int16 m = vload16(k, mask);
        float16 dy = select((float16)(0.0f), vload16(k, gp), m);
        float16 d = select((float16)(0.0f), vload16(k, xp) - mean, m);
        sb += dy;
        sg += dy * d;
    }
    part[nc] = bn_hsum16(sb);
    part[NC + nc] = bn_hsum16(sg);
}

// In place: g (dY) becomes dX = gamma*invstd*(dy - dbeta/M - xhat*dgamma/M), times
// the ReLU mask (x > 0, x being the ReLU output) when relu != 0; ring = 0. A work-item per plane
// (c, n), its nv chunks in order (as bn_apply).  global (>= C, N)
__kernel void bn_bwd_apply(__global const float *x, __global float *g, __global const int *mask,
                           __global const float *st, __global const float *params, int gamma_off,
                           int C, int plane, int nv, int margin, int relu) {
    int c = get_global_id(0), n = get_global_id(1);
    if (c >= C) return;
    size_t base = (size_t)margin + ((size_t)n * (size_t)C + (size_t)c) * (size_t)plane;
    __global const float *xp = x + base;
    __global float *gp = g + base;
    float mean = st[c], invstd = st[C + c], scale = params[gamma_off + c] * invstd;
    float kb = st[4 * C + c], kg = st[5 * C + c];
    for (int k = 0; k < nv; k++) {
        if ((k + 1) * 16 <= plane) {
            float16 xv = vload16(k, xp);
            float16 dx = scale * (vload16(k, gp) - kb - (xv - mean) * invstd * kg);
            int16 m = vload16(k, mask);
            if (relu) m &= isgreater(xv, (float16)(0.0f));
            STORE16(select((float16)(0.0f), dx, m), gp + 16 * k);
        } else { // the plane's partial last chunk: no access past the plane (g is in place)
            for (int j = k * 16; j < plane; j++) {
                float xv = xp[j];
                float dx = scale * (gp[j] - kb - (xv - mean) * invstd * kg);
                gp[j] = (mask[j] && !(relu && !(xv > 0.0f))) ? dx : 0.0f;
            }
        }
    }
}
#endif

#if PX_GPU
#define BN_WG 256 // work-items per plane in the reductions (host/nn/batchnorm.c: BN_GPU_WG)

// The sum of v over the work-group by a fixed tree in red[BN_WG]; every work-item gets it.
float bn_tree(__local float *red, float v) {
    const int l = get_local_id(0);
    red[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = BN_WG / 2; w > 0; w >>= 1) {
        if (l < w) red[l] += red[l + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float s = red[0];
    barrier(CLK_LOCAL_MEM_FENCE); // red is reused by the next call
    return s;
}

// psum[nc] = sum of plane nc's interior, pm2[nc] = sum of (x - plane mean)^2 there.
// global (NC*BN_WG), local (BN_WG); nv unused.
__kernel __attribute__((reqd_work_group_size(BN_WG, 1, 1))) void
bn_stats(__global const float *x, __global const int *mask, __global float *psum, __global float *pm2, int NC,
         int plane, int nv, int margin, float inv_hw) {
    __local float red[BN_WG];
    const int nc = get_group_id(0), l = get_local_id(0);
    __global const float *p = x + (size_t)margin + (size_t)nc * (size_t)plane;
    float s = 0.0f;
    for (int q = l; q < plane; q += BN_WG) s += mask[q] ? p[q] : 0.0f;
    const float sum = bn_tree(red, s);
    const float mu = sum * inv_hw;
    float m2 = 0.0f;
    for (int q = l; q < plane; q += BN_WG) {
        const float d = mask[q] ? p[q] - mu : 0.0f;
        m2 += d * d;
    }
    const float m = bn_tree(red, m2);
    if (l == 0) {
        psum[nc] = sum;
        pm2[nc] = m;
    }
}

// y = x*scale + shift on the interior, 0 on the ring.  global (>= plane, C, N); nv unused.
__kernel void bn_apply(__global const float *x, __global float *y, __global const int *mask,
                       __global const float *st, int C, int plane, int nv, int margin) {
    const int q = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (q >= plane) return;
    const size_t i = (size_t)margin + ((size_t)n * (size_t)C + (size_t)c) * (size_t)plane + (size_t)q;
    y[i] = mask[q] ? x[i] * st[2 * C + c] + st[3 * C + c] : 0.0f;
}

// Backward partials of plane (n, c): part[nc] = sum dy, part[NC + nc] = sum dy * (x - mean).
// global (C*BN_WG, N), local (BN_WG, 1); nv unused.
__kernel __attribute__((reqd_work_group_size(BN_WG, 1, 1))) void
bn_bwd_stats(__global const float *x, __global const float *g, __global const int *mask, __global const float *st,
             __global float *part, int C, int NC, int plane, int nv, int margin) {
    __local float red[BN_WG];
    const int c = get_group_id(0), n = get_global_id(1), l = get_local_id(0), nc = n * C + c;
    const size_t base = (size_t)margin + (size_t)nc * (size_t)plane;
    __global const float *xp = x + base;
    __global const float *gp = g + base;
    const float mean = st[c];
    float sb = 0.0f, sg = 0.0f;
    for (int q = l; q < plane; q += BN_WG) {
        if (mask[q]) {
            const float dy = gp[q];
            sb += dy;
            sg += dy * (xp[q] - mean);
        }
    }
    sb = bn_tree(red, sb);
    sg = bn_tree(red, sg);
    if (l == 0) {
        part[nc] = sb;
        part[NC + nc] = sg;
    }
}

// In place: g (dY) becomes dX (as the CPU kernel above).  global (>= plane, C, N); nv unused.
__kernel void bn_bwd_apply(__global const float *x, __global float *g, __global const int *mask,
                           __global const float *st, __global const float *params, int gamma_off,
                           int C, int plane, int nv, int margin, int relu) {
    const int q = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (q >= plane) return;
    const size_t i = (size_t)margin + ((size_t)n * (size_t)C + (size_t)c) * (size_t)plane + (size_t)q;
    const float mean = st[c], invstd = st[C + c], scale = params[gamma_off + c] * invstd;
    const float xv = x[i];
    const float dx = scale * (g[i] - st[4 * C + c] - (xv - mean) * invstd * st[5 * C + c]);
    g[i] = (mask[q] && !(relu && !(xv > 0.0f))) ? dx : 0.0f;
}
#endif

// Per channel: batch statistics (mode 1, 2) or moving ones (mode 0), the moving
// update, and the affine coefficients.  global (C)
//   mode 1: moving = moving*momentum + batch*one_minus_momentum (biased variance)
//   mode 2: moving += (batch - moving) * inv_k  (equal-weight average of k batches)
__kernel void bn_finalize(__global const float *psum, __global const float *pm2,
                          __global const float *params, int gamma_off, int beta_off,
                          __global float *stats, int mean_off, int var_off, __global float *st,
                          int N, int C, int H, int W, int mode, float momentum,
                          float one_minus_momentum, float inv_k, float eps) {
    int c = get_global_id(0);
    if (c >= C) return;
    float mean, var;
    if (mode == 0) {
        mean = stats[mean_off + c];
        var = stats[var_off + c];
    } else {
        float hw = (float)(H * W), inv_hw = 1.0f / hw;
        float s = 0.0f;
        for (int n = 0; n < N; n++) s += psum[n * C + c];
        mean = s / ((float)N * hw);
        float m2 = 0.0f, dev = 0.0f;
        for (int n = 0; n < N; n++) {
            float d = psum[n * C + c] * inv_hw - mean; // the plane mean bn_stats centred on
            m2 += pm2[n * C + c];
            dev += d * d;
        }
        var = (m2 + dev * hw) / ((float)N * hw);
        float mm = stats[mean_off + c], mv = stats[var_off + c];
        if (mode == 1) {
            stats[mean_off + c] = mm * momentum + mean * one_minus_momentum;
            stats[var_off + c] = mv * momentum + var * one_minus_momentum;
        } else {
            stats[mean_off + c] = mm + (mean - mm) * inv_k;
            stats[var_off + c] = mv + (var - mv) * inv_k;
        }
    }
    float invstd = 1.0f / sqrt(var + eps);
    float scale = params[gamma_off + c] * invstd;
    st[c] = mean;
    st[C + c] = invstd;
    st[2 * C + c] = scale;
    st[3 * C + c] = params[beta_off + c] - mean * scale;
}

// dbeta, dgamma of channel c into the gradient buffer, and dbeta/M, dgamma/M into
// st for bn_bwd_apply.  global (C)
__kernel void bn_bwd_finalize(__global const float *part, __global float *st,
                              __global float *grads, int dgamma_off, int dbeta_off, int N, int C,
                              int H, int W) {
    int c = get_global_id(0);
    if (c >= C) return;
    int NC = N * C;
    float sb = 0.0f, sg = 0.0f;
    for (int n = 0; n < N; n++) {
        sb += part[n * C + c];
        sg += part[NC + n * C + c];
    }
    float dgamma = sg * st[C + c], invM = 1.0f / (float)(N * H * W);
    grads[dbeta_off + c] = sb;
    grads[dgamma_off + c] = dgamma;
    st[4 * C + c] = sb * invM;
    st[5 * C + c] = dgamma * invM;
}
