// Winograd F(4x4, 3x3): the weight, input and output transforms of cl/conv_winograd.cl
// for WM=4 (its GEMM, defines and layout are shared: NXI = 36 matrices, tiles of 4x4
// outputs, TH x TW of them per image). Lavin and Gray's points 0, 1, -1, 2, -2:
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Tile (ty, tx) reads the 6x6 input patch at padded rows 4ty..4ty+5, columns 4tx..4tx+5.
// Unlike F(2x2), a patch entry outside the image's padded plane would reach outputs that
// are written (its share cancels only in exact arithmetic), so the transforms read zeros
// there: rows past the plane are skipped, columns past it masked. Each transform is one
// macro, applied to float (GPU-shaped kernels) and float16 (CPU-shaped ones) alike: the
// same sums in the same order. Accuracy: the coefficients (up to 8 in A^T, 5 in B^T, 1/24
// in G) make each output's float32 error several times the F(2x2) one's (tests/test_conv.c
// measures both against a double-precision reference); host/nn/conv.c chooses the layers.

// u0..u5 = G (g0, g1, g2)
#define WINO4_G(g0, g1, g2, u0, u1, u2, u3, u4, u5)                                                      \
    do {                                                                                                 \
        u0 = 0.25f * (g0);                                                                               \
        u1 = -((g0) + (g1) + (g2)) * (1.0f / 6.0f);                                                      \
        u2 = -((g0) - (g1) + (g2)) * (1.0f / 6.0f);                                                      \
        u3 = (g0) * (1.0f / 24.0f) + (g1) * (1.0f / 12.0f) + (g2) * (1.0f / 6.0f);                       \
        u4 = (g0) * (1.0f / 24.0f) - (g1) * (1.0f / 12.0f) + (g2) * (1.0f / 6.0f);                       \
        u5 = (g2);                                                                                       \
    } while (0)
// e0..e5 = B^T (d0 .. d5); T is the type of the temporaries (float or float16)
#define WINO4_B(T, d0, d1, d2, d3, d4, d5, e0, e1, e2, e3, e4, e5)                                       \
    do {                                                                                                 \
        const T t1_ = (d4) - 4.0f * (d2), t2_ = (d3) - 4.0f * (d1);                                      \
        const T t3_ = (d4) - (d2), t4_ = 2.0f * ((d3) - (d1));                                           \
        e0 = 4.0f * (d0) - 5.0f * (d2) + (d4);                                                           \
        e1 = t1_ + t2_;                                                                                  \
        e2 = t1_ - t2_;                                                                                  \
        e3 = t3_ + t4_;                                                                                  \
        e4 = t3_ - t4_;                                                                                  \
        e5 = 4.0f * (d1) - 5.0f * (d3) + (d5);                                                           \
    } while (0)
// y0..y3 = A^T (m0 .. m5)
#define WINO4_A(T, m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                               \
    do {                                                                                                 \
        const T s12_ = (m1) + (m2), d12_ = (m1) - (m2), s34_ = (m3) + (m4), d34_ = (m3) - (m4);          \
        y0 = (m0) + s12_ + s34_;                                                                         \
        y1 = d12_ + 2.0f * d34_;                                                                         \
        y2 = s12_ + 4.0f * s34_;                                                                         \
        y3 = d12_ + 8.0f * d34_ + (m5);                                                                  \
    } while (0)

// Transformed weights U = G g G^T (36 x CIN x COUTP), as the F(2x2) kernel otherwise.
// global (COUTP rounded up, CIN).
#if !WD_ONLY
__kernel void wino_weights(__global const float *w, int w_off, __global float *u) {
    const int co = get_global_id(0), ci = get_global_id(1);
    if (co >= COUTP) return;
    float g[9];
    wino_filter(w, w_off, co, ci, g);
    float h[6][3]; // G g
    for (int j = 0; j < 3; j++)
        WINO4_G(g[j], g[3 + j], g[6 + j], h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j]);
    for (int i = 0; i < 6; i++) { // (G g) G^T
        float r[6];
        WINO4_G(h[i][0], h[i][1], h[i][2], r[0], r[1], r[2], r[3], r[4], r[5]);
        __global float *ur = u + (i * 6 * CIN + ci) * COUTP + co;
        for (int k = 0; k < 6; k++) ur[k * CIN * COUTP] = r[k];
    }
}
#endif


#if PX_GPU
// GPU shape: one work-item per (tile, input channel). global (>= ntiles, CIN).
__kernel void wino_input(__global const float *restrict x, int n0, int ntiles, __global float *restrict v,
                         __global const float *restrict bn) {
    const int t = get_global_id(0), ci = get_global_id(1);
    if (t >= ntiles) return;
    const int nl = t / TT, r = t - nl * TT, ty = r / TW, tx = r - ty * TW;
    __global const float *xp = x + MARGIN + ((n0 + nl) * CIN + ci) * PLANE + 4 * ty * PW + 4 * tx;
    const float2 bna = bn_in_affine(bn, ci); // BN_IN's (scale, shift)
    float e[6][6]; // d B, row by row
#pragma unroll
    for (int i = 0; i < 6; i++) {
        float d[6];
#pragma unroll
        for (int j = 0; j < 6; j++) {
            d[j] = 4 * ty + i < PH && 4 * tx + j < PW ? xp[i * PW + j] : 0.0f;
            d[j] = BN_IN_LOAD(d[j], PAD_IN(4 * ty + i, IMG_H) && PAD_IN(4 * tx + j, IMG_W), bna);
        }
        WINO4_B(float, d[0], d[1], d[2], d[3], d[4], d[5], e[i][0], e[i][1], e[i][2], e[i][3], e[i][4], e[i][5]);
    }
    __global float *vp = v + ci * TSTRIDE + t;
#pragma unroll
    for (int j = 0; j < 6; j++) {
        float o[6];
        WINO4_B(float, e[0][j], e[1][j], e[2][j], e[3][j], e[4][j], e[5][j], o[0], o[1], o[2], o[3], o[4], o[5]);
#pragma unroll
        for (int i = 0; i < 6; i++) vp[(i * 6 + j) * VXS] = o[i];
    }
}
#else
// Patch columns of 16 tiles (lane l: tile tx0 + l) from one row's loads: lo[g] holds the
// chunk's columns 16g..16g+15 (in[16g ..]) for the groups g <= gmax that hold one of the row's
// tiles (the others: anything), xn columns 16 gmax + 4 .. 16 gmax + 19. c[j] lane l = in[4l + j]
// for j = 0..3 (a stride-4 de-interleave: two rounds of two-source shuffles, 8 in all), and
// WINO4_COLS6's c[4], c[5] = in[4l + 4], in[4l + 5] (the next tile's first two columns: c[0],
// c[1] one lane on, except for the last tile of group gmax, whose next tile's columns are xn's
// lanes 12 and 13), one shuffle each. The first round goes through `volatile` private memory,
// an optimization barrier as in wino_out_chunk: without it LLVM 15 merges the rounds into
// 4-source shuffles and narrows the loads to 8-byte pieces (as it did with the former
// (float16)(lo[0].s048c, ...) swizzles).
#define DIL4_A ((uint16)(0, 4, 8, 12, 16, 20, 24, 28, 2, 6, 10, 14, 18, 22, 26, 30))
#define DIL4_B ((uint16)(1, 5, 9, 13, 17, 21, 25, 29, 3, 7, 11, 15, 19, 23, 27, 31))
#define DIL4_NEXT(gmax, k) as_uint16(select(LANES + 1, (int16)(28 + (k)), LANES == 4 * (gmax) + 3))
#define WINO4_COLS4(lo, c)                                                                              \
    do {                                                                                                \
        volatile float16 l_[4];                                                                         \
        _Pragma("unroll") for (int g_ = 0; g_ < 4; g_++) l_[g_] = (lo)[g_];                             \
        const float16 l0_ = l_[0], l1_ = l_[1], l2_ = l_[2], l3_ = l_[3];                               \
        volatile float16 r1_[4];                                                                        \
        r1_[0] = shuffle2(l0_, l1_, DIL4_A);                                                            \
        r1_[1] = shuffle2(l2_, l3_, DIL4_A);                                                            \
        r1_[2] = shuffle2(l0_, l1_, DIL4_B);                                                            \
        r1_[3] = shuffle2(l2_, l3_, DIL4_B);                                                            \
        const float16 p01_ = r1_[0], p23_ = r1_[1], q01_ = r1_[2], q23_ = r1_[3];                       \
        (c)[0] = shuffle2(p01_, p23_, HSUM16X16_L1); /* lanes 0-7 of each: (0..7, 16..23) */           \
        (c)[2] = shuffle2(p01_, p23_, HSUM16X16_H1);                                                    \
        (c)[1] = shuffle2(q01_, q23_, HSUM16X16_L1);                                                    \
        (c)[3] = shuffle2(q01_, q23_, HSUM16X16_H1);                                                    \
    } while (0)
#define WINO4_COLS6(lo, xn, gmax, c)                                                                    \
    do {                                                                                                \
        WINO4_COLS4(lo, c);                                                                             \
        (c)[4] = shuffle2((c)[0], (xn), DIL4_NEXT(gmax, 0));                                            \
        (c)[5] = shuffle2((c)[1], (xn), DIL4_NEXT(gmax, 1));                                            \
    } while (0)

// CPU shape: a work-item owns one input plane (image, channel) and walks its tiles 16 at a
// time along a tile row, as the F(2x2) kernel (the same store rule). Loads: only the
// 4-lane groups that hold one of the row's tiles (at most 17 floats past a row's end,
// inside the next row, plane or the buffer's margin); patch rows past the plane are zero
// (loaded from its last row, then masked), and so are columns past it.
// Input plane p (wino_plane) of the chunk from image n0 (wino_input and wino_output_input).
void wino_input_plane(__global const float *restrict x, int n0, __global float *restrict v,
                      __global const float *restrict bn, int p) {
    __global const float *xplane = wino_plane(x, n0, CIN, p);
    __global float *vplane = wino_plane_tiles(v, CIN, p);
    const float2 bna = bn_in_affine(bn, p % CIN); // BN_IN's (scale, shift)
    for (int ty = 0; ty < TH; ty++) {
        for (int tx0 = 0; tx0 < TW; tx0 += 16) {
            const int ntx = min(16, TW - tx0); // lanes holding a tile of this row
            float16 e[6][6];                   // d B of each patch row
#if BN_IN
            int16 cin[6]; // lanes whose patch column j is inside the image
#pragma unroll
            for (int j = 0; j < 6; j++) cin[j] = PAD_IN16(4 * (tx0 + LANES) + j, IMG_W);
#endif
            const int gmax = (ntx - 1) / 4; // the last 4-lane group holding one of the row's tiles
#pragma unroll
            for (int i = 0; i < 6; i++) {
                // BN_IN: the ring's rows read as zeros (the batch norm's output is 0 there). Rows
                // read as zeros are loaded from the plane's last row (unconditional loads), then
                // zeroed; groups past gmax repeat gmax's (their lanes are not the row's tiles).
                const int load = BN_IN ? PAD_IN(4 * ty + i, IMG_H) : 4 * ty + i < PH;
                __global const float *rp = xplane + min(4 * ty + i, PH - 1) * PW + 4 * tx0;
                float16 lo[4];
#pragma unroll
                for (int g = 0; g < 4; g++) lo[g] = vload16(0, rp + 16 * min(g, gmax));
                const float16 xn = vload16(0, rp + 16 * gmax + 4);
                float16 d[6];
                WINO4_COLS6(lo, xn, gmax, d);
#if BN_IN // columns outside the image (the ring, or past the padded row) read as zeros too
#pragma unroll
                for (int j = 0; j < 6; j++) d[j] = BN_IN_LOAD16(d[j], cin[j] & (int16)(-load), bna);
#else // (and columns past the padded row, where the last tile column's patch overhangs it)
#pragma unroll
                for (int j = 0; j < 6; j++)
                    d[j] = select((float16)(0.0f), d[j], (int16)(-load) & (4 * (tx0 + LANES) + j < PW));
#endif
                WINO4_B(float16, d[0], d[1], d[2], d[3], d[4], d[5], e[i][0], e[i][1], e[i][2], e[i][3], e[i][4],
                        e[i][5]);
            }
            __global float *vp = vplane + ty * TW + tx0;
            const int nvalid = ty * TW + tx0 + 16 <= TT ? 16 : ntx;
#pragma unroll
            for (int j = 0; j < 6; j++) {
                float16 o[6];
                WINO4_B(float16, e[0][j], e[1][j], e[2][j], e[3][j], e[4][j], e[5][j], o[0], o[1], o[2], o[3], o[4],
                        o[5]);
#pragma unroll
                for (int i = 0; i < 6; i++) store_lanes(o[i], vp + (i * 6 + j) * VXS, nvalid);
            }
        }
    }
}
#endif

#if PX_GPU
#define WINO4_PICK(y0, y1, y2, y3, k) ((k) == 0 ? (y0) : (k) == 1 ? (y1) : (k) == 2 ? (y2) : (y3))
// Output (i, j) of the tile whose first product of this output channel is at mp: the CPU
// kernel's sums in its order (cl/conv_winograd.cl's wino_output, GPU shape).
float wino_out_at(__global const float *mp, int i, int j) {
    float s[6]; // column j of M A, row by row (picked, not indexed: no private arrays on GPUs)
#pragma unroll
    for (int a = 0; a < 6; a++) {
        __global const float *ma = mp + a * 6 * MXS;
        float y0, y1, y2, y3;
        WINO4_A(float, ma[0], ma[MXS], ma[2 * MXS], ma[3 * MXS], ma[4 * MXS], ma[5 * MXS], y0, y1, y2, y3);
        s[a] = WINO4_PICK(y0, y1, y2, y3, j);
    }
    float o0, o1, o2, o3;
    WINO4_A(float, s[0], s[1], s[2], s[3], s[4], s[5], o0, o1, o2, o3);
    return WINO4_PICK(o0, o1, o2, o3, i);
}
#else
// Lanes 0-3 of a and b, then 4-7 (16 floats): with ILV_LO/ILV_HI's pairs, 4-way interleaves.
#define ILV2_0 ((uint16)(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23))
#define ILV2_1 ((uint16)(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31))

// Writes padded row rp's columns c0 .. c0+63 (c0 = 1 + 4*tx0), as put_row of the F(2x2) kernel:
// all 64 while they stay inside the plane (what runs past the row is rewritten later),
// otherwise only the image's columns.
void put_row4(__global float *rp, int c0, int room, float16 o0, float16 o1, float16 o2, float16 o3) {
    if (room >= 64) {
        STORE16(o0, rp + c0);
        STORE16(o1, rp + c0 + 16);
        STORE16(o2, rp + c0 + 32);
        STORE16(o3, rp + c0 + 48);
    } else {
        const int nv = IMG_W + 1 - c0; // columns c0 .. IMG_W
        store_lanes(o0, rp + c0, nv);
        store_lanes(o1, rp + c0 + 16, nv - 16);
        store_lanes(o2, rp + c0 + 32, nv - 32);
        store_lanes(o3, rp + c0 + 48, nv - 48);
    }
}

// One chunk of 16 tiles of tile row ty, as the F(2x2) wino_out_chunk: Y = A^T M A, the
// epilogue, and the tile row's `rows` image rows stored from column c0 = 1 + 4*tx0.
void wino_out_chunk(__global const float *mp, __global float *yp, int ty, int tx0, int rows, float bias,
                    float bn_scale, float bn_shift, int relu) {
    float16 s[6][4]; // M A, row by row
#pragma unroll
    for (int a = 0; a < 6; a++) {
        __global const float *ma = mp + a * 6 * MXS;
        const float16 m0 = vload16(0, ma), m1 = vload16(0, ma + MXS), m2 = vload16(0, ma + 2 * MXS);
        const float16 m3 = vload16(0, ma + 3 * MXS), m4 = vload16(0, ma + 4 * MXS);
        const float16 m5 = vload16(0, ma + 5 * MXS);
        WINO4_A(float16, m0, m1, m2, m3, m4, m5, s[a][0], s[a][1], s[a][2], s[a][3]);
    }
    float16 yv[4][4];
#pragma unroll
    for (int j = 0; j < 4; j++)
        WINO4_A(float16, s[0][j], s[1][j], s[2][j], s[3][j], s[4][j], s[5][j], yv[0][j], yv[1][j], yv[2][j],
                yv[3][j]);
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) WINO_EPILOGUE(yv[i][j], bias, bn_scale, bn_shift);
    const int c0 = 1 + 4 * tx0;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        if (i < rows) {
            const int row = 4 * ty + 1 + i;
            // The first level of the 4-way interleave goes through `volatile` private memory: an
            // optimization barrier. Without it LLVM 15 merges the two levels into four 4-source
            // shuffles, which it lowers to ~40 two-source permutes a row instead of 6 (PoCL's
            // code for a 128->64 output transform: 18% slower, measured A/B in one process).
            volatile float16 ilv[4];
            ilv[0] = shuffle2(yv[i][0], yv[i][1], ILV_LO);
            ilv[1] = shuffle2(yv[i][0], yv[i][1], ILV_HI);
            ilv[2] = shuffle2(yv[i][2], yv[i][3], ILV_LO);
            ilv[3] = shuffle2(yv[i][2], yv[i][3], ILV_HI);
            const float16 lo01 = ilv[0], hi01 = ilv[1], lo23 = ilv[2], hi23 = ilv[3];
            put_row4(yp + row * PW, c0, PLANE - (row * PW + c0), shuffle2(lo01, lo23, ILV2_0),
                     shuffle2(lo01, lo23, ILV2_1), shuffle2(hi01, hi23, ILV2_0), shuffle2(hi01, hi23, ILV2_1));
        }
    }
}
#endif

#if WINO_DW
// The weight gradient (cl/conv_winograd.cl's WINO_DW section) with F(4x4) tiles:
//   Z = A dY A^T (6x6 from the tile's 4x4 dY), A = (A^T)^T: rows [1 0 0 0], [1 1 1 1], [1 -1 1 -1],
//       [1 2 4 8], [1 -2 4 -8], [0 0 0 1]; the bias sums are Z[1][1] (xi = 7, the sum of the 16 dY);
//   dw = G^T S G (3x3 from 6x6).
// Outputs of a partial tile past the image (4ty+i >= IMG_H or 4tx+j >= IMG_W) count as zero dY:
// unlike F(2x2), the patch may reach beyond the ring into the next row's image columns.
// z0..z5 = A (y0 .. y3)
#define WINO4_AZ(T, y0, y1, y2, y3, z0, z1, z2, z3, z4, z5)                                              \
    do {                                                                                                 \
        const T s02_ = (y0) + (y2), s13_ = (y1) + (y3);                                                  \
        const T p_ = (y0) + 4.0f * (y2), q_ = 2.0f * ((y1) + 4.0f * (y3));                               \
        z0 = (y0);                                                                                       \
        z1 = s02_ + s13_;                                                                                \
        z2 = s02_ - s13_;                                                                                \
        z3 = p_ + q_;                                                                                    \
        z4 = p_ - q_;                                                                                    \
        z5 = (y3);                                                                                       \
    } while (0)
// q0..q2 = G^T (p0 .. p5)
#define WINO4_GT(p0, p1, p2, p3, p4, p5, q0, q1, q2)                                                     \
    do {                                                                                                 \
        const float s12_ = (p1) + (p2), d12_ = (p1) - (p2), s34_ = (p3) + (p4), d34_ = (p3) - (p4);      \
        q0 = 0.25f * (p0) - s12_ * (1.0f / 6.0f) + s34_ * (1.0f / 24.0f);                                \
        q1 = -d12_ * (1.0f / 6.0f) + d34_ * (1.0f / 12.0f);                                              \
        q2 = (s34_ - s12_) * (1.0f / 6.0f) + (p5);                                                       \
    } while (0)

#if PX_GPU
// GPU shape: one work-item per (tile, output channel). global (>= ntiles, COUT).
__kernel void wino_dy(__global const float *restrict dy, int n0, int ntiles, __global float *restrict z) {
    const int t = get_global_id(0), co = get_global_id(1);
    if (t >= ntiles) return;
    const int nl = t / TT, r = t - nl * TT, ty = r / TW, tx = r - ty * TW;
    __global const float *yp = dy + MARGIN + ((n0 + nl) * COUT + co) * PLANE + (4 * ty + 1) * PW + 4 * tx + 1;
    float h[4][6]; // dY A^T, row by row
#pragma unroll
    for (int a = 0; a < 4; a++) {
        float y[4];
#pragma unroll
        for (int j = 0; j < 4; j++) y[j] = 4 * ty + a < IMG_H && 4 * tx + j < IMG_W ? yp[a * PW + j] : 0.0f;
        WINO4_AZ(float, y[0], y[1], y[2], y[3], h[a][0], h[a][1], h[a][2], h[a][3], h[a][4], h[a][5]);
    }
    __global float *zp = z + co * TSTRIDE + t;
#pragma unroll
    for (int j = 0; j < 6; j++) {
        float o[6];
        WINO4_AZ(float, h[0][j], h[1][j], h[2][j], h[3][j], o[0], o[1], o[2], o[3], o[4], o[5]);
#pragma unroll
        for (int i = 0; i < 6; i++) zp[(i * 6 + j) * MXS] = o[i];
    }
}
#else
// CPU shape: a work-item owns one dY plane (image, channel) and walks its tiles 16 at a time
// along a tile row, as wino_input (the same loads, store rule and masks, on the image's
// columns 1 .. IMG_W instead of the padded row's). global (nimg*COUT).
__kernel void wino_dy(__global const float *restrict dy, int n0, int ntiles, __global float *restrict z) {
    __global const float *yplane = wino_plane(dy, n0, COUT, get_global_id(0));
    __global float *zplane = wino_plane_tiles(z, COUT, get_global_id(0));
    for (int ty = 0; ty < TH; ty++) {
        for (int tx0 = 0; tx0 < TW; tx0 += 16) {
            const int ntx = min(16, TW - tx0), gmax = (ntx - 1) / 4;
            float16 h[4][6]; // dY A^T of each of the tile row's dY rows
#pragma unroll
            for (int a = 0; a < 4; a++) {
                // Rows past the image read as zeros: loaded from its last row, then zeroed (as
                // wino_input_plane's rows; groups past gmax repeat gmax's).
                const int load = 4 * ty + a < IMG_H;
                __global const float *rp = yplane + (min(4 * ty + a, IMG_H - 1) + 1) * PW + 1 + 4 * tx0;
                float16 lo[4];
#pragma unroll
                for (int g = 0; g < 4; g++) lo[g] = vload16(0, rp + 16 * min(g, gmax));
                float16 y[4];
                WINO4_COLS4(lo, y);
#pragma unroll
                for (int j = 0; j < 4; j++)
                    y[j] = select((float16)(0.0f), y[j], (int16)(-load) & (4 * (tx0 + LANES) + j < IMG_W));
                WINO4_AZ(float16, y[0], y[1], y[2], y[3], h[a][0], h[a][1], h[a][2], h[a][3], h[a][4], h[a][5]);
            }
            __global float *zp = zplane + ty * TW + tx0;
            const int nvalid = ty * TW + tx0 + 16 <= TT ? 16 : ntx;
#pragma unroll
            for (int j = 0; j < 6; j++) {
                float16 o[6];
                WINO4_AZ(float16, h[0][j], h[1][j], h[2][j], h[3][j], o[0], o[1], o[2], o[3], o[4], o[5]);
#pragma unroll
                for (int i = 0; i < 6; i++) store_lanes(o[i], zp + (i * 6 + j) * MXS, nvalid);
            }
        }
    }
}
#endif

// dw (Keras (3,3,CIN,COUT) at dw_off) = G^T S G, and db (at db_off) = the bias sums, both
// overwritten. global (COUT rounded up, CIN).
__kernel void wino_dw_output(__global const float *restrict s, __global float *dw, int dw_off, __global float *db,
                             int db_off) {
    const int co = get_global_id(0), ci = get_global_id(1);
    if (co >= COUT) return;
    float q[3][6]; // G^T S: rows ky, columns j (unrolled: registers, no stack on GPUs)
#pragma unroll
    for (int j = 0; j < 6; j++) {
        float p[6];
#pragma unroll
        for (int i = 0; i < 6; i++) p[i] = s[((i * 6 + j) * CIN + ci) * COUT + co];
        WINO4_GT(p[0], p[1], p[2], p[3], p[4], p[5], q[0][j], q[1][j], q[2][j]);
    }
#pragma unroll
    for (int ky = 0; ky < 3; ky++) { // (G^T S) G
        __global float *d = dw + dw_off + (ky * 3 * CIN + ci) * COUT + co;
        float r0, r1, r2;
        WINO4_GT(q[ky][0], q[ky][1], q[ky][2], q[ky][3], q[ky][4], q[ky][5], r0, r1, r2);
        d[0 * CIN * COUT] = r0;
        d[1 * CIN * COUT] = r1;
        d[2 * CIN * COUT] = r2;
    }
    if (ci == 0) db[db_off + co] = s[SDB + co];
}
#endif // WINO_DW
