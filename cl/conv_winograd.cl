// Winograd F(2x2, 3x3) convolution (forward, input gradient and, with WINO_DW, the
// weight gradient: its section at the end) on the padded planes of include/layout.h,
// CPU style (float16 vectors, full unrolling, no local memory, no barriers); with
// PX_GPU=1 the input and output transforms take one tile / one output per work-item
// instead (same sums, same order). The GEMM stays CPU-shaped: Winograd is not a GPU
// default (host/nn/conv.c), only run there when forced or tuned.
// The host (host/conv_winograd.c) builds this file once per layer shape and
// direction with these defines:
//   CIN, COUT      input and output channels of THIS program's convolution
//   IMG_H, IMG_W   image size; MARGIN = ACT_MARGIN(IMG_W) floats
//   FLIP           0: forward weights; 1: the input-gradient convolution, whose
//                  weights are the forward ones flipped in space with Cin and
//                  Cout swapped (as conv_pack_weights in cl/conv.cl)
//   HAS_BIAS       add b[b_off + co] in the output transform
//   BN_FUSED       (optional, inference) after bias and ReLU, y = y * b[b_off + COUT + co]
//                  + b[b_off + 2*COUT + co]: the block's folded inference batch norm
//   TCO            the GEMM's channel tile: M has COUTP = COUT rounded up to TCO rows
//   TSTRIDE        floats per (xi, channel) row of the scratch matrices V and M
//                  (V is NXI x CIN rows, M NXI x COUTP, each xi's block padded, see VXS)
//   WM             (optional) output tile side: 2 (default, this file's transforms) or 4
//                  (cl/winograd_f4.h's: NXI = 36 matrices instead of 16)
//   WINO_DW        (optional) also the weight-gradient kernels (the section at the end)
//   WD_ONLY        (optional, with WINO_DW) only the weight-gradient kernels: the program of
//                  a weight gradient whose tile side or chunk is not the forward's
// A program holds only the kernels its launches use (PoCL compiles every kernel of a program
// when pixloc's cache asks for its binary: 0.1-0.6 s of CPU each): on CPUs the convolutions'
// transforms are all wino_output_input launches, and wino_input is the weight gradient's; the
// GEMMs, whose shapes are launch arguments, are cl/wino_gemm.cl's, one program for all layers.
//   BN_IN          (optional, training) the input planes are a batch norm's input: the input
//                  transform (wino_input, forward and weight gradient) reads the batch norm's
//                  output instead, x * scale + shift on the image and 0 on the ring, with
//                  scale = bn[2*CIN + ci] and shift = bn[3*CIN + ci] (cl/batchnorm.cl's state)
//                  and bn_apply's arithmetic, so that its output need not be written
//   BN_STATS       (optional, training, CPU shape) the output transform also writes each output
//                  plane's batch-norm sums (cl/bn_plane.h, bn_stats's code) as it finishes the
//                  plane, which is then in cache: bn_psum and bn_pm2 at (image, channel)
//
// Output tiles are 2x2 pixels: TH x TW of them per image; tile (ty, tx) reads
// the 4x4 input patch at padded rows 2ty..2ty+3, columns 2tx..2tx+3 (the ring
// is the 'same' padding). Within a chunk of images starting at image n0, tile
// (n0 + nl, ty, tx) has index t = (nl*TH + ty)*TW + tx. Three steps per chunk:
//   wino_input:  V[xi][ci][t] = (B^T d B)[xi]                  (16 x CIN x tiles)
//   wino_gemm:   M[xi][co][t] = sum_ci U[xi][ci][co] V[xi][ci][t]   (cl/wino_gemm.cl)
//   wino_output: y = A^T M A (+ bias, ReLU) into the padded output, ring = 0
// with U[xi][ci][co] = (G g G^T)[xi] from wino_weights (once per call). On CPUs a chunk's
// wino_output and the next chunk's wino_input are one launch (wino_output_input): measured
// (interleaved `pixloc bench`) 2-3% on the seed network, 2-4% training and 6-8% inference on
// the default one, as launches on PoCL cost 10-20 us each. The first chunk's input transform
// and the last chunk's output transform are wino_output_input launches too (with no output
// planes, or no input planes), so that CPUs compile one transform kernel per program, not
// three (PoCL compiles each kernel at its first launch: 0.25-0.6 s of CPU apiece).
// The transforms are exact in the sense that the 4th row/column of a patch only
// reaches the 2nd row/column of the tile's outputs (no products by zero): the
// patch of a partial tile (odd H or W) may run one row/column past the image's
// ring, and what it reads there only reaches outputs that are not written.
// All sums run in a fixed order: results are bit-identical run to run.
// Accuracy: each output is a 16-term combination of Cin-term sums with
// coefficients 1 and 1/2, so its float32 error is no larger than the direct
// 9*Cin-term sum's (measured in tests/test_conv.c at Cin = 32: 5.6e-6 against
// 1.4e-5 for the direct kernels). One difference: where a patch is partly zero,
// outputs that are exactly zero in direct convolution come out as rounding
// residues (+-1e-8), so a ReLU at exactly 0 can open differently.

#include "layout.h" // PW, PH, PLANE
#include "vec16.h"  // LANES, hsum16
#ifndef BN_FUSED
#define BN_FUSED 0
#endif
#ifndef WINO_DW
#define WINO_DW 0
#endif
#ifndef WD_ONLY
#define WD_ONLY 0
#endif
#ifndef BN_IN
#define BN_IN 0
#endif
#ifndef BN_STATS
#define BN_STATS 0
#endif
#if BN_STATS && PX_GPU
#error "BN_STATS: CPU-shaped output transform only"
#endif
#if BN_STATS
#include "bn_plane.h" // bn_plane_sums
#endif
#ifndef WM
#define WM 2
#endif
#if WM != 2 && WM != 4
#error "WM (output tile side) must be 2 or 4"
#endif
#define WT (WM + 2)   // input patch side: 4 or 6
#define NXI (WT * WT) // transformed tile entries: 16 or 36 (GEMMs per chunk)
#define TH ((IMG_H + WM - 1) / WM)
#define TW ((IMG_W + WM - 1) / WM)
#define TT (TH * TW)
// Chunks of 16 tiles along a tile row.
#define NCX ((TW + 15) / 16)
#define COUTP ((COUT + TCO - 1) / TCO * TCO)
// Floats between the 16 matrices of V and of M: one cache line more than the
// matrix, so that the 16 streams of a transform do not all fall into one L1 set
// when CIN*TSTRIDE is a multiple of 1024 floats (4 KiB): measured 1.5-2x slower
// transforms, varying run to run, without it.
#define VXS (CIN * TSTRIDE + 16)
#define MXS (COUTP * TSTRIDE + 16)
// WINO_DW: the weight-gradient sums S[xi][ci][co] (NXI x CIN x COUT), then the bias sums (COUT).
#define SDB (NXI * CIN * COUT)

// Interleaves a and b: (a0 b0 a1 b1 ... a7 b7), (a8 b8 ... a15 b15).
#define ILV_LO ((uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23))
#define ILV_HI ((uint16)(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31))

// The epilogue of every output transform, on a float or float16 lvalue v: + the channel's bias
// (HAS_BIAS), ReLU (the kernels' `relu` argument), then the folded batch norm (BN_FUSED).
#if HAS_BIAS
#define WINO_BIAS(v, bias) v += (bias)
#else
#define WINO_BIAS(v, bias) (void)0
#endif
#if BN_FUSED
#define WINO_BN(v, scale, shift) v = v * (scale) + (shift)
#else
#define WINO_BN(v, scale, shift) (void)0
#endif
#define WINO_EPILOGUE(v, bias, scale, shift)                                                                           \
    do {                                                                                                               \
        WINO_BIAS(v, bias);                                                                                            \
        if (relu) v = fmax(v, 0.0f);                                                                                   \
        WINO_BN(v, scale, shift);                                                                                      \
    } while (0)

#if !PX_GPU
// The CPU transforms (wino_input, wino_dy) of a chunk from image n0: plane p (a work-item's
// global id, or that less the output planes in wino_output_input) is image n0 + p / ch,
// channel p % ch (ch channels): its padded plane in activations a, and the scratch entry
// (xi = 0) of its first tile in s.
__global const float *wino_plane(__global const float *a, int n0, int ch, int p) {
    return a + MARGIN + (n0 * ch + p) * PLANE;
}
__global float *wino_plane_tiles(__global float *s, int ch, int p) { return s + p % ch * TSTRIDE + p / ch * TT; }
#endif

// The 3x3 filter (taps row by row) from input channel ci to output channel co of this
// program's convolution (FLIP: the forward weights flipped, channels swapped); zero for
// co >= COUT (the GEMM's padding channels).
void wino_filter(__global const float *w, int w_off, int co, int ci, float *g) {
    for (int t = 0; t < 9; t++) {
        float v = 0.0f;
        if (co < COUT) {
#if FLIP
            v = w[w_off + ((8 - t) * COUT + co) * CIN + ci];
#else
            v = w[w_off + (t * CIN + ci) * COUT + co];
#endif
        }
        g[t] = v;
    }
}

// BN_IN: the batch norm's output at an input value v, `inside` the image (a scalar or an int16
// mask), as bn_apply computes it: v * scale + shift there (a = (scale, shift): bn_in_affine), 0
// elsewhere (whatever v is there).
#if BN_IN
#define BN_IN_LOAD(v, inside, a) ((inside) ? (v) * (a).x + (a).y : 0.0f)
#define BN_IN_LOAD16(v, inside, a) select((float16)(0.0f), (v) * (a).x + (a).y, inside)
#else
#define BN_IN_LOAD(v, inside, a) (v)
#define BN_IN_LOAD16(v, inside, a) (v)
#endif
// 1 where padded row r / column c (an int or int16) is inside the image (not the ring or beyond).
#define PAD_IN(r, lim) ((r) >= 1 && (r) <= (lim))
#define PAD_IN16(c, lim) (((c) >= 1) & ((c) <= (lim)))
// BN_IN's (scale, shift) of input channel ci ((1, 0), unused, without BN_IN).
float2 bn_in_affine(__global const float *bn, int ci) {
    return BN_IN ? (float2)(bn[2 * CIN + ci], bn[3 * CIN + ci]) : (float2)(1.0f, 0.0f);
}

#if WM == 4
#include "winograd_f4.h" // F(4x4,3x3): wino_weights, wino_input, wino_out_at / wino_out_chunk
#else
// Transformed weights. U = G g G^T with G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
// w: Keras (3,3,CIN,COUT) at w_off (FLIP=0) or the forward (3,3,COUT,CIN) (FLIP=1).
// global (COUTP rounded up, CIN); U is (16, CIN, COUTP), zero for co >= COUT.
#if !WD_ONLY
__kernel void wino_weights(__global const float *w, int w_off, __global float *u) {
    const int co = get_global_id(0), ci = get_global_id(1);
    if (co >= COUTP) return;
    float g[9];
    wino_filter(w, w_off, co, ci, g);
    float h[12]; // G g: 4 rows x 3 columns
    for (int j = 0; j < 3; j++) {
        h[0 * 3 + j] = g[0 * 3 + j];
        h[1 * 3 + j] = 0.5f * (g[0 * 3 + j] + g[1 * 3 + j] + g[2 * 3 + j]);
        h[2 * 3 + j] = 0.5f * (g[0 * 3 + j] - g[1 * 3 + j] + g[2 * 3 + j]);
        h[3 * 3 + j] = g[2 * 3 + j];
    }
    for (int i = 0; i < 4; i++) { // (G g) G^T
        const float a = h[i * 3], b = h[i * 3 + 1], c = h[i * 3 + 2];
        __global float *ur = u + (i * 4 * CIN + ci) * COUTP + co;
        ur[0 * CIN * COUTP] = a;
        ur[1 * CIN * COUTP] = 0.5f * (a + b + c);
        ur[2 * CIN * COUTP] = 0.5f * (a - b + c);
        ur[3 * CIN * COUTP] = c;
    }
}
#endif


// Input transform V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
// A work-item owns one input plane (image, channel) and walks its tiles in
// order, 16 tiles (one per lane) of one tile row at a time. A row's last chunk
// stores all 16 lanes if they stay inside the image's tiles: the lanes past TW
// land on the next tile rows' first tiles, which this work-item rewrites later;
// otherwise (the image's last chunks, followed by another work-item's tiles)
// it stores just its valid lanes.
// global (nimg*CIN); images n0 .. n0+nimg-1 (ntiles unused).
#if PX_GPU
// GPU shape: one work-item per (tile, input channel), the same sums in the same order
// as the CPU kernel below (bit-identical V). Tile t of the chunk is (nl, ty, tx) with
// t = (nl*TH + ty)*TW + tx; its patch may read past the image as the CPU kernel's does.
// global (>= nimg*TT, CIN); images n0 .. n0+nimg-1.
__kernel void wino_input(__global const float *restrict x, int n0, int ntiles, __global float *restrict v,
                         __global const float *restrict bn) {
    const int t = get_global_id(0), ci = get_global_id(1);
    if (t >= ntiles) return;
    const int nl = t / TT, r = t - nl * TT, ty = r / TW, tx = r - ty * TW;
    __global const float *xp = x + MARGIN + ((n0 + nl) * CIN + ci) * PLANE + 2 * ty * PW + 2 * tx;
    const float2 bna = bn_in_affine(bn, ci); // BN_IN's (scale, shift)
    float h[4][4];
    for (int i = 0; i < 4; i++) {
        __global const float *rp = xp + i * PW;
        const int ri = PAD_IN(2 * ty + i, IMG_H), c = 2 * tx;
        const float d0 = BN_IN_LOAD(rp[0], ri && PAD_IN(c, IMG_W), bna);
        const float d1 = BN_IN_LOAD(rp[1], ri && PAD_IN(c + 1, IMG_W), bna);
        const float d2 = BN_IN_LOAD(rp[2], ri && PAD_IN(c + 2, IMG_W), bna);
        const float d3 = BN_IN_LOAD(rp[3], ri && PAD_IN(c + 3, IMG_W), bna);
        h[i][0] = d0 - d2;
        h[i][1] = d1 + d2;
        h[i][2] = d2 - d1;
        h[i][3] = d1 - d3;
    }
    __global float *vp = v + ci * TSTRIDE + t;
    for (int j = 0; j < 4; j++) {
        vp[(0 * 4 + j) * VXS] = h[0][j] - h[2][j];
        vp[(1 * 4 + j) * VXS] = h[1][j] + h[2][j];
        vp[(2 * 4 + j) * VXS] = h[2][j] - h[1][j];
        vp[(3 * 4 + j) * VXS] = h[1][j] - h[3][j];
    }
}
#else
// CPU shape: input plane p (wino_plane) of the chunk from image n0, into V (wino_input's kernel
// and wino_output_input call it).
void wino_input_plane(__global const float *restrict x, int n0, __global float *restrict v,
                      __global const float *restrict bn, int p) {
    __global const float *xplane = wino_plane(x, n0, CIN, p);
    __global float *vplane = wino_plane_tiles(v, CIN, p);
    const float2 bna = bn_in_affine(bn, p % CIN); // BN_IN's (scale, shift)
    for (int ty = 0; ty < TH; ty++) {
        for (int tx0 = 0; tx0 < TW; tx0 += 16) {
            // Lanes past TW, and the 4th row of the last tile row when IMG_H is
            // odd, read past the image's plane: into the next plane or the
            // buffer's margin (2*tx0 + 33 <= IMG_W + 32 < MARGIN floats past
            // the plane's last row).
            __global const float *xp = xplane + 2 * ty * PW + 2 * tx0;
            float16 h[4][4];
#if BN_IN
            const int16 cx = 2 * (tx0 + LANES); // lane l's column of e0 below
            const int16 cin[4] = {PAD_IN16(cx, IMG_W), PAD_IN16(cx + 1, IMG_W), PAD_IN16(cx + 2, IMG_W),
                                  PAD_IN16(cx + 3, IMG_W)};
#endif
#pragma unroll
            for (int r = 0; r < 4; r++) {
                __global const float *rp = xp + r * PW;
                const float16 a = vload16(0, rp), b = vload16(0, rp + 16);
                const float16 c = vload16(0, rp + 2), d = vload16(0, rp + 18);
                float16 e0 = (float16)(a.even, b.even); // column 2tx
                float16 o0 = (float16)(a.odd, b.odd);   // 2tx + 1
                float16 e1 = (float16)(c.even, d.even); // 2tx + 2
                float16 o1 = (float16)(c.odd, d.odd);   // 2tx + 3
#if BN_IN // the batch norm's output: 0 outside the image
                if (PAD_IN(2 * ty + r, IMG_H)) {
                    e0 = BN_IN_LOAD16(e0, cin[0], bna);
                    o0 = BN_IN_LOAD16(o0, cin[1], bna);
                    e1 = BN_IN_LOAD16(e1, cin[2], bna);
                    o1 = BN_IN_LOAD16(o1, cin[3], bna);
                } else {
                    e0 = o0 = e1 = o1 = (float16)(0.0f);
                }
#endif
                h[r][0] = e0 - e1;
                h[r][1] = o0 + e1;
                h[r][2] = e1 - o0;
                h[r][3] = o0 - o1;
            }
            __global float *vp = vplane + ty * TW + tx0;
            // All 16 lanes while they stay inside this image's tiles.
            const int nvalid = ty * TW + tx0 + 16 <= TT ? 16 : min(16, TW - tx0);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                float16 r[4];
                r[0] = h[0][j] - h[2][j];
                r[1] = h[1][j] + h[2][j];
                r[2] = h[2][j] - h[1][j];
                r[3] = h[1][j] - h[3][j];
#pragma unroll
                for (int i = 0; i < 4; i++) store_lanes(r[i], vp + (i * 4 + j) * VXS, nvalid);
            }
        }
    }
}
#endif

#if PX_GPU
// Output (i, j) of the tile whose first product of this output channel is at mp: the CPU
// kernel's sums in its order (wino_output below, GPU shape).
float wino_out_at(__global const float *mp, int i, int j) {
    float s[4];
    for (int a = 0; a < 4; a++) {
        const float m0 = mp[(a * 4 + 0) * MXS], m1 = mp[(a * 4 + 1) * MXS];
        const float m2 = mp[(a * 4 + 2) * MXS], m3 = mp[(a * 4 + 3) * MXS];
        s[a] = j == 0 ? m0 + m1 + m2 : m1 - m2 - m3;
    }
    return i == 0 ? s[0] + s[1] + s[2] : s[1] - s[2] - s[3];
}
#else
// Writes padded row rp's columns c0 .. c0+31 (c0 = 1 + 2*tx0). Columns past
// IMG_W run into the ring and the next rows: fine while they stay inside the
// plane (end <= PLANE floats from the plane's start), as wino_output rewrites
// all of those later; otherwise only the image's columns are written.
void put_row(__global float *rp, int c0, int room, float16 lo, float16 hi) {
    if (room >= 32) {
        STORE16(lo, rp + c0);
        STORE16(hi, rp + c0 + 16);
    } else {
        const int nv = IMG_W + 1 - c0; // columns c0 .. IMG_W
        store_lanes(lo, rp + c0, nv);
        store_lanes(hi, rp + c0 + 16, nv - 16);
    }
}

// One chunk of 16 tiles of tile row ty (tiles tx0 ..; mp: their first product in M of this
// output channel): Y = A^T M A, A^T = [1 1 1 0; 0 1 -1 -1], the epilogue, and the tile row's
// `rows` image rows stored from column c0 = 1 + 2*tx0 (wino_output below). Lanes past TW read
// the next tiles (or, at the chunk's end, past its tiles but inside TSTRIDE): computed, never kept.
void wino_out_chunk(__global const float *mp, __global float *yp, int ty, int tx0, int rows, float bias,
                    float bn_scale, float bn_shift, int relu) {
    float16 s[4][2];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const float16 m0 = vload16(0, mp + (i * 4 + 0) * MXS);
        const float16 m1 = vload16(0, mp + (i * 4 + 1) * MXS);
        const float16 m2 = vload16(0, mp + (i * 4 + 2) * MXS);
        const float16 m3 = vload16(0, mp + (i * 4 + 3) * MXS);
        s[i][0] = m0 + m1 + m2;
        s[i][1] = m1 - m2 - m3;
    }
    float16 yv[2][2];
#pragma unroll
    for (int j = 0; j < 2; j++) {
        yv[0][j] = s[0][j] + s[1][j] + s[2][j];
        yv[1][j] = s[1][j] - s[2][j] - s[3][j];
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) WINO_EPILOGUE(yv[i][j], bias, bn_scale, bn_shift);
    const int c0 = 1 + 2 * tx0;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (i < rows) {
            const int row = 2 * ty + 1 + i;
            put_row(yp + row * PW, c0, PLANE - (row * PW + c0), shuffle2(yv[i][0], yv[i][1], ILV_LO),
                    shuffle2(yv[i][0], yv[i][1], ILV_HI));
        }
    }
}
#endif

#endif // WM

#if PX_GPU
// Output transform, GPU shape: one work-item per padded output position (ring and rows past
// the image written as zeros), each output by wino_out_at. global (>= PLANE, COUT, nimg).
#if !WD_ONLY
__kernel void wino_output(__global const float *restrict m, int n0, __global const float *restrict b, int b_off,
                          __global float *restrict y, int relu, __global const int *restrict bn_mask,
                          __global float *restrict bn_psum, __global float *restrict bn_pm2, float inv_hw) {
    const int q = get_global_id(0), co = get_global_id(1), nl = get_global_id(2);
    if (q >= PLANE) return;
    const int row = q / PW, col = q - row * PW;
    float out = 0.0f;
    if (row >= 1 && row <= IMG_H && col >= 1 && col <= IMG_W) {
        const int ty = (row - 1) / WM, i = row - 1 - WM * ty, tx = (col - 1) / WM, j = col - 1 - WM * tx;
        out = wino_out_at(m + co * TSTRIDE + (nl * TH + ty) * TW + tx, i, j);
        WINO_EPILOGUE(out, b[b_off + co], b[b_off + COUT + co], b[b_off + 2 * COUT + co]);
    }
    y[MARGIN + ((n0 + nl) * COUT + co) * PLANE + q] = out;
}
#endif

#else
// Output transform, CPU shape (+ bias, ReLU, folded batch norm: WINO_EPILOGUE). A work-item
// owns one output plane (image, channel) and writes it in raster order: row 0 (zeros), then
// per tile row its image rows (1 to WM) and their ring columns, then the rows past the image
// (zeros). A store that runs past a row's end is overwritten by what this work-item writes
// after it: chunks go right to left, so only the last one's stores run past the row's end
// (into the next row's first columns), and the chunks to its left write those columns of the
// next row afterwards; the ring columns come after the tile row's stores.
// BN_STATS: then the plane's batch-norm sums (bn_mask: the batch norm's interior mask; inv_hw =
// 1 / (IMG_H*IMG_W) as the host computes it), read back from cache. Without it those arguments
// are unused. Output plane p = nl * COUT + co of the chunk from image n0 (wino_output's
// kernel, global (nimg*COUT), and wino_output_input call it).
void wino_output_plane(__global const float *restrict m, int n0, __global const float *restrict b, int b_off,
                       __global float *restrict y, int relu, __global const int *restrict bn_mask,
                       __global float *restrict bn_psum, __global float *restrict bn_pm2, float inv_hw, int p) {
    const int nl = p / COUT, co = p % COUT;
    __global float *yp = y + MARGIN + ((n0 + nl) * COUT + co) * PLANE;
    float bias = 0.0f, bn_scale = 1.0f, bn_shift = 0.0f; // (read only where the epilogue uses them)
#if HAS_BIAS
    bias = b[b_off + co];
#endif
#if BN_FUSED
    bn_scale = b[b_off + COUT + co];
    bn_shift = b[b_off + 2 * COUT + co];
#endif
    for (int q = 0; q < PW; q++) yp[q] = 0.0f;
    for (int ty = 0; ty < TH; ty++) {
        const int rows = min(WM, IMG_H - WM * ty); // image rows of this tile row
        for (int tx0 = (NCX - 1) * 16; tx0 >= 0; tx0 -= 16)
            wino_out_chunk(m + co * TSTRIDE + (nl * TH + ty) * TW + tx0, yp, ty, tx0, rows, bias, bn_scale, bn_shift,
                           relu);
        for (int i = 0; i < rows; i++) { // the ring columns, after the row's stores
            __global float *rp = yp + (WM * ty + 1 + i) * PW;
            rp[0] = 0.0f;
            rp[IMG_W + 1] = 0.0f;
        }
    }
    for (int q = (IMG_H + 1) * PW; q < PLANE; q++) yp[q] = 0.0f;
#if BN_STATS
    float sum, m2;
    bn_plane_sums(yp, bn_mask, PLANE, (PLANE + 15) / 16, inv_hw, &sum, &m2);
    bn_psum[(n0 + nl) * COUT + co] = sum;
    bn_pm2[(n0 + nl) * COUT + co] = m2;
#endif
}

// The weight gradient's input transform (the convolutions' run as wino_output_input, whose
// output part is the only output transform on CPUs). global (nimg*CIN); images n0 ..
// n0+nimg-1 (ntiles unused).
#if WINO_DW
__kernel void wino_input(__global const float *restrict x, int n0, int ntiles, __global float *restrict v,
                         __global const float *restrict bn) {
    wino_input_plane(x, n0, v, bn, get_global_id(0));
}
#endif

// One chunk's output transform and the next chunk's input transform in one launch (a launch
// fewer per chunk; they touch different buffers: M and y, x and V, and the GEMM between them
// has finished reading V): work-items below nout (the chunk's output planes) as wino_output
// from image n0, the others as wino_input from image n0_in. global (nout + the next chunk's
// nimg*CIN); either part may be empty (the first chunk's input transform: nout = 0; the last
// chunk's output transform: global = nout).
#if !WD_ONLY
__kernel void wino_output_input(__global const float *restrict m, int n0, __global const float *restrict b, int b_off,
                                __global float *restrict y, int relu, __global const int *restrict bn_mask,
                                __global float *restrict bn_psum, __global float *restrict bn_pm2, float inv_hw,
                                int nout, __global const float *restrict x, int n0_in, __global float *restrict v,
                                __global const float *restrict bn) {
    const int p = get_global_id(0);
    if (p < nout)
        wino_output_plane(m, n0, b, b_off, y, relu, bn_mask, bn_psum, bn_pm2, inv_hw, p);
    else
        wino_input_plane(x, n0_in, v, bn, p - nout);
}
#endif

#endif

// --- Weight gradient (WINO_DW=1: built into the forward program of a training layer) -----
// The forward is linear in U: y_t = A^T (sum_ci U[ci] (.) V_t[ci]) A, so
//   dL/dU[ci][co] = sum_t V_t[ci] (.) Z_t[co],  Z_t = A dY_t A^T (WT x WT from the tile's WM x WM dY),
//   dL/dg = G^T (dL/dU) G                       (3x3 from WT x WT),
// and the bias gradient is sum_t Z_t[1][1] (= the sum of the tile's dY: A's row 1 is all ones).
// Per chunk:
//   wino_input:   V from x, as in the forward
//   wino_dy:      Z[xi][co][t] into the products buffer (M's layout, COUT <= COUTP rows)
//   wino_dw_gemm: S[xi][ci][co] (+)= sum_t V[xi][ci][t] Z[xi][co][t]   (first chunk: =;
//                 cl/wino_gemm.cl)
//   wino_db:      S[NXI][co]     (+)= sum_t Z[WT + 1][co][t]
// and once: wino_dw_output, dw = G^T S G and db. This section has F(2x2)'s wino_dy and
// wino_dw_output; cl/winograd_f4.h has F(4x4)'s (WM=4). Where an F(2x2) tile is partial (odd
// H or W), its second row or column of dY is the ring (zero), so Z's last row or column is
// exactly zero, and it meets the only entries of V that read past the image (the next plane's
// top ring row, also zero, or the buffer's zeroed margin). Sums over tiles run 16 lanes wide in
// tile order and are added chunk after chunk: a fixed order, bit-identical run to run.
#if WINO_DW && WM == 2
#if PX_GPU
// GPU shape: one work-item per (tile, output channel). global (>= ntiles, COUT).
__kernel void wino_dy(__global const float *restrict dy, int n0, int ntiles, __global float *restrict z) {
    const int t = get_global_id(0), co = get_global_id(1);
    if (t >= ntiles) return;
    const int nl = t / TT, r = t - nl * TT, ty = r / TW, tx = r - ty * TW;
    __global const float *yp = dy + MARGIN + ((n0 + nl) * COUT + co) * PLANE + (2 * ty + 1) * PW + 2 * tx + 1;
    float h[2][4]; // dY A^T: row a of dY times A^T's columns
    for (int a = 0; a < 2; a++) {
        const float y0 = yp[a * PW], y1 = yp[a * PW + 1];
        h[a][0] = y0;
        h[a][1] = y0 + y1;
        h[a][2] = y0 - y1;
        h[a][3] = -y1;
    }
    __global float *zp = z + co * TSTRIDE + t;
    for (int j = 0; j < 4; j++) {
        zp[(0 * 4 + j) * MXS] = h[0][j];
        zp[(1 * 4 + j) * MXS] = h[0][j] + h[1][j];
        zp[(2 * 4 + j) * MXS] = h[0][j] - h[1][j];
        zp[(3 * 4 + j) * MXS] = -h[1][j];
    }
}
#else
// CPU shape: a work-item owns one dY plane (image, channel) and walks its tiles as
// wino_input does (16 per step, the same store rule for a row's last chunk). The loads
// of a row's last chunk run past the row (at most IMG_W + 31 floats past the plane's
// last interior row: the next plane or the margin); those lanes are never kept.
// global (nimg*COUT).
__kernel void wino_dy(__global const float *restrict dy, int n0, int ntiles, __global float *restrict z) {
    __global const float *yplane = wino_plane(dy, n0, COUT, get_global_id(0));
    __global float *zplane = wino_plane_tiles(z, COUT, get_global_id(0));
    for (int ty = 0; ty < TH; ty++) {
        for (int tx0 = 0; tx0 < TW; tx0 += 16) {
            float16 h[2][4];
#pragma unroll
            for (int a = 0; a < 2; a++) {
                __global const float *rp = yplane + (2 * ty + 1 + a) * PW + 1 + 2 * tx0;
                const float16 lo = vload16(0, rp), hi = vload16(0, rp + 16);
                const float16 y0 = (float16)(lo.even, hi.even); // column 1 + 2tx
                const float16 y1 = (float16)(lo.odd, hi.odd);   // 2 + 2tx
                h[a][0] = y0;
                h[a][1] = y0 + y1;
                h[a][2] = y0 - y1;
                h[a][3] = -y1;
            }
            __global float *zp = zplane + ty * TW + tx0;
            const int nvalid = ty * TW + tx0 + 16 <= TT ? 16 : min(16, TW - tx0);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                float16 r[4];
                r[0] = h[0][j];
                r[1] = h[0][j] + h[1][j];
                r[2] = h[0][j] - h[1][j];
                r[3] = -h[1][j];
#pragma unroll
                for (int i = 0; i < 4; i++) store_lanes(r[i], zp + (i * 4 + j) * MXS, nvalid);
            }
        }
    }
}
#endif

#endif // WINO_DW && WM == 2

#if WINO_DW
// S[SDB + co] (+)= sum over the chunk's tiles of Z[WT + 1][co][t]. global (COUT).
__kernel void wino_db(__global const float *restrict z, int ntiles, __global float *restrict s, int first) {
    const int co = get_global_id(0);
    if (co >= COUT) return;
    __global const float *zr = z + (WT + 1) * MXS + co * TSTRIDE;
    float16 acc = (float16)(0.0f);
    int t = 0;
    for (; t + 16 <= ntiles; t += 16) acc += vload16(0, zr + t);
    if (t < ntiles) acc += select((float16)(0.0f), vload16(0, zr + t), LANES < (ntiles - t));
    const float h = hsum16(acc);
    s[SDB + co] = first ? h : s[SDB + co] + h;
}

#if WM == 2
// dw (Keras (3,3,CIN,COUT) at dw_off) = G^T S G, and db (at db_off) = the bias sums, both
// overwritten. G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]. global (COUT rounded up, CIN).
__kernel void wino_dw_output(__global const float *restrict s, __global float *dw, int dw_off, __global float *db,
                             int db_off) {
    const int co = get_global_id(0), ci = get_global_id(1);
    if (co >= COUT) return;
    float q[3][4]; // G^T S: rows ky, columns j
    for (int j = 0; j < 4; j++) {
        const float p0 = s[((0 * 4 + j) * CIN + ci) * COUT + co], p1 = s[((1 * 4 + j) * CIN + ci) * COUT + co];
        const float p2 = s[((2 * 4 + j) * CIN + ci) * COUT + co], p3 = s[((3 * 4 + j) * CIN + ci) * COUT + co];
        q[0][j] = p0 + 0.5f * (p1 + p2);
        q[1][j] = 0.5f * (p1 - p2);
        q[2][j] = 0.5f * (p1 + p2) + p3;
    }
    for (int ky = 0; ky < 3; ky++) { // (G^T S) G
        __global float *d = dw + dw_off + (ky * 3 * CIN + ci) * COUT + co;
        d[0 * CIN * COUT] = q[ky][0] + 0.5f * (q[ky][1] + q[ky][2]);
        d[1 * CIN * COUT] = 0.5f * (q[ky][1] - q[ky][2]);
        d[2 * CIN * COUT] = 0.5f * (q[ky][1] + q[ky][2]) + q[ky][3];
    }
    if (ci == 0) db[db_off + co] = s[SDB + co];
}
#endif // WM == 2
#endif // WINO_DW
