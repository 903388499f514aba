// Keras BatchNormalization on padded planes (include/layout.h): x is (N, C, PH, PW)
// at float offset `margin`; statistics are over the N*H interior rows of W pixels
// of each channel (never the zero ring).
//
// Reductions are deterministic and barrier-free (barriers are slow on PoCL):
// work-item (p, c) of a partial kernel sums a fixed contiguous block of rows of
// channel c, and a per-channel kernel adds the P partials in index order.
//
// Per-channel state `st` (4*C floats, one buffer per layer):
//   st[c] = batch (or moving) mean, st[C+c] = 1/sqrt(var+eps),
//   st[2C+c] = scale = gamma*invstd, st[3C+c] = shift = beta - mean*scale.

// Rows [r0, r1) of the N*H rows of one channel that chunk p of P owns.
#define BN_CHUNK(p, P, rows, r0, r1)                                           \
    int r0 = (int)(((long)(rows) * (p)) / (P));                                \
    int r1 = (int)(((long)(rows) * ((p) + 1)) / (P))

// Start of interior row y of image n, channel c.
#define BN_ROW(base, n, y, c, C, H, W, margin)                                 \
    ((base) + (margin) + ((size_t)(n) * (C) + (c)) * (size_t)(((H) + 2) * ((W) + 2)) + \
     (size_t)((y) + 1) * ((W) + 2) + 1)

// Loop over rows [r0, r1) keeping (n, y) = (r / H, r % H) incrementally and
// without a division: LLVM turns a paired / and % into a `freeze`, which
// oclgrind's uninitialized-value checker cannot execute. (At most N steps.)
#define BN_FOR_ROWS(r0, r1, H, n, y)                                           \
    int n = 0, y = (r0);                                                       \
    while (y >= (H)) { y -= (H); n++; }                                        \
    for (int r_ = (r0); r_ < (r1); r_++, n += (y + 1 == (H)), y = (y + 1 == (H)) ? 0 : y + 1)

// Sum of channel c's partials in index order: the same float result wherever used.
float bn_sum_parts(__global const float *part, int c, int P) {
    float s = 0.0f;
    for (int p = 0; p < P; p++) s += part[c * P + p];
    return s;
}

// part[c*P + p] = sum of x over chunk p of channel c.  global (P, C)
__kernel void bn_partial_sum(__global const float *x, __global float *part, int N, int C, int H, int W,
                             int margin, int P) {
    int p = get_global_id(0), c = get_global_id(1);
    if (p >= P || c >= C) return;
    BN_CHUNK(p, P, N * H, r0, r1);
    float s = 0.0f;
    BN_FOR_ROWS(r0, r1, H, n, y) {
        __global const float *row = BN_ROW(x, n, y, c, C, H, W, margin);
        for (int j = 0; j < W; j++) s += row[j];
    }
    part[c * P + p] = s;
}

// psq[c*P + p] = sum over chunk p of (x - mean)^2, mean from the sum partials.  global (P, C)
__kernel void bn_partial_sq(__global const float *x, __global const float *psum, __global float *psq,
                            int N, int C, int H, int W, int margin, int P) {
    int p = get_global_id(0), c = get_global_id(1);
    if (p >= P || c >= C) return;
    float mean = bn_sum_parts(psum, c, P) / (float)(N * H * W);
    BN_CHUNK(p, P, N * H, r0, r1);
    float s = 0.0f;
    BN_FOR_ROWS(r0, r1, H, n, y) {
        __global const float *row = BN_ROW(x, n, y, c, C, H, W, margin);
        for (int j = 0; j < W; j++) {
            float d = row[j] - mean;
            s += d * d;
        }
    }
    psq[c * P + p] = s;
}

// Per channel: batch statistics (mode 1, 2) or moving ones (mode 0), the moving
// update, and the affine coefficients.  global (C)
//   mode 1: moving = moving*momentum + batch*one_minus_momentum (biased variance)
//   mode 2: moving += (batch - moving) * inv_k  (equal-weight average of k batches)
__kernel void bn_finalize(__global const float *psum, __global const float *psq,
                          __global const float *params, int gamma_off, int beta_off,
                          __global float *stats, int mean_off, int var_off, __global float *st,
                          int N, int C, int H, int W, int P, int mode, float momentum,
                          float one_minus_momentum, float inv_k, float eps) {
    int c = get_global_id(0);
    if (c >= C) return;
    float mean, var;
    if (mode == 0) {
        mean = stats[mean_off + c];
        var = stats[var_off + c];
    } else {
        float M = (float)(N * H * W);
        mean = bn_sum_parts(psum, c, P) / M;
        var = bn_sum_parts(psq, c, P) / M;
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

// y = x*scale + shift on the interior, 0 on the ring.  global (PW, PH, N*C)
__kernel void bn_apply(__global const float *x, __global float *y, __global const float *st, int C,
                       int H, int W, int margin) {
    int px = get_global_id(0), py = get_global_id(1), nc = get_global_id(2);
    int PW = W + 2, PH = H + 2;
    if (px >= PW || py >= PH) return;
    int c = nc % C;
    size_t i = (size_t)margin + (size_t)nc * (size_t)(PH * PW) + (size_t)(py * PW + px);
    int inside = px >= 1 && px <= W && py >= 1 && py <= H;
    y[i] = inside ? x[i] * st[2 * C + c] + st[3 * C + c] : 0.0f;
}

// Backward partials over chunk p of channel c, dy = g (grad of the BN output):
//   part[c*P+p] = sum dy,  part[C*P + c*P+p] = sum dy * xhat.  global (P, C)
__kernel void bn_bwd_partial(__global const float *x, __global const float *g,
                             __global const float *st, __global float *part, int N, int C, int H,
                             int W, int margin, int P) {
    int p = get_global_id(0), c = get_global_id(1);
    if (p >= P || c >= C) return;
    float mean = st[c], invstd = st[C + c];
    BN_CHUNK(p, P, N * H, r0, r1);
    float sb = 0.0f, sg = 0.0f;
    BN_FOR_ROWS(r0, r1, H, n, y) {
        __global const float *xr = BN_ROW(x, n, y, c, C, H, W, margin);
        __global const float *gr = BN_ROW(g, n, y, c, C, H, W, margin);
        for (int j = 0; j < W; j++) {
            float dy = gr[j];
            sb += dy;
            sg += dy * ((xr[j] - mean) * invstd);
        }
    }
    part[c * P + p] = sb;
    part[C * P + c * P + p] = sg;
}

// dbeta, dgamma of channel c into the gradient buffer.  global (C)
__kernel void bn_bwd_finalize(__global const float *part, __global float *grads, int dgamma_off,
                              int dbeta_off, int C, int P) {
    int c = get_global_id(0);
    if (c >= C) return;
    grads[dbeta_off + c] = bn_sum_parts(part, c, P);
    grads[dgamma_off + c] = bn_sum_parts(part + C * P, c, P);
}

// In place: g (dY) becomes dX = gamma*invstd*(dy - dbeta/M - xhat*dgamma/M), times
// the ReLU mask (x > 0, x being the ReLU output) when relu != 0; ring = 0.
// global (PW, PH, N*C)
__kernel void bn_bwd_apply(__global const float *x, __global float *g, __global const float *st,
                           __global const float *params, int gamma_off,
                           __global const float *grads, int dgamma_off, int dbeta_off, int N,
                           int C, int H, int W, int margin, int relu) {
    int px = get_global_id(0), py = get_global_id(1), nc = get_global_id(2);
    int PW = W + 2, PH = H + 2;
    if (px >= PW || py >= PH) return;
    int c = nc % C;
    size_t i = (size_t)margin + (size_t)nc * (size_t)(PH * PW) + (size_t)(py * PW + px);
    int inside = px >= 1 && px <= W && py >= 1 && py <= H;
    float out = 0.0f;
    if (inside) {
        float invM = 1.0f / (float)(N * H * W);
        float mean = st[c], invstd = st[C + c];
        float xv = x[i];
        float xhat = (xv - mean) * invstd;
        float dx = params[gamma_off + c] * invstd *
                   (g[i] - grads[dbeta_off + c] * invM - xhat * (grads[dgamma_off + c] * invM));
        out = (relu && !(xv > 0.0f)) ? 0.0f : dx;
    }
    g[i] = out;
}

// In place ReLU backward for blocks without BN: g *= (x > 0); ring = 0.
// global (PW, PH, N*C)
__kernel void relu_bwd(__global const float *x, __global float *g, int H, int W, int margin) {
    int px = get_global_id(0), py = get_global_id(1), nc = get_global_id(2);
    int PW = W + 2, PH = H + 2;
    if (px >= PW || py >= PH) return;
    size_t i = (size_t)margin + (size_t)nc * (size_t)(PH * PW) + (size_t)(py * PW + px);
    int inside = px >= 1 && px <= W && py >= 1 && py <= H;
    g[i] = (inside && x[i] > 0.0f) ? g[i] : 0.0f;
}
