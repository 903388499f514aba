// 3x3 convolution, stride 1, 'same' padding, on the padded planes of
// include/layout.h. The host (host/conv.c) builds this file once per layer
// shape and direction with these defines:
//   CIN, COUT      input and output channels of THIS program's convolution
//   IMG_H, IMG_W   image size; MARGIN = ACT_MARGIN(IMG_W) floats
//   BN_FUSED       (optional, forward programs of an inference network) after the bias
//                  and ReLU, y = y * b[b_off + COUT + co] + b[b_off + 2*COUT + co]: the
//                  block's inference batch norm folded into this epilogue (the bias
//                  buffer holds bias, scale, shift; the ring stays zero)
//   FWD_ONLY       (optional) leave out the weight-gradient kernels (inference programs)
//   TILE_CO        output channels per work-item of conv_tile (1 for conv_simple)
//   DW_TK, DW_TC   weight-gradient register tile: rows k = tap*Cin + ci x channels
//   SEG, NSEG      the weight-gradient reduction over an image's interior rows is
//                  split into NSEG segments of SEG positions (SEG % 16 == 0)
//   CONV_STYLE     which kernels the program holds (its variant's only: the CPU
//                  style spills on GPUs): 0 conv_tile, conv_dw_tile, conv_db_tile;
//                  1 conv_simple, conv_dw_simple; 2 conv_gpu_tiled, conv_dw_gpu_tiled.
//                  conv_pack_weights and conv_dw_reduce are in every program.
// Which direction a launch computes is in its arguments, not the defines: conv_pack_weights'
// flip (the input-gradient convolution's weights are the forward ones flipped in space with
// Cin and Cout swapped: CIN here is the forward Cout) and the convolutions' has_bias. So a
// layer's input-gradient program is the same program as the forward one of a layer with the
// opposite shape (32->16 and 16->32 in a 16,32,16 network), and PoCL compiles its kernels
// once for both (each kernel is compiled at its first launch: 0.1-0.5 s of CPU apiece).
//
// Three styles, chosen by the host per device type:
//   conv_tile / conv_dw_tile: CPU style. A work-item owns a register tile
//     (TILE_CO channels x 16 consecutive padded positions in float16
//     accumulators), no local memory, no barriers; loops are fully unrolled so
//     the accumulators stay in vector registers.
//   conv_simple / conv_dw_simple: one work-item per output value, for GPUs.
//   conv_gpu_tiled / conv_dw_gpu_tiled: GPU style with local memory, built only
//     with CONV_STYLE 2 (see their comment for the extra defines).
// Every reduction runs in a fixed order: no atomics, results are bit-identical
// run to run.

#include "layout.h" // PW, PH, PLANE
#include "vec16.h"  // LANES, hsum16, FMA_ROWS16
#ifndef BN_FUSED
#define BN_FUSED 0
#endif
#ifndef FWD_ONLY
#define FWD_ONLY 0
#endif
// Padded positions of the interior rows (ring columns included) and their end.
#define NPOS (IMG_H * PW)
#define QEND ((IMG_H + 1) * PW)
#define NCHUNK ((NPOS + 15) / 16)
// Packed weights: wp[(tap*CIN + ci)*COUTP + co], zero for co >= COUT; COUTP is
// a multiple of the output channels one work-item (CPU) or work-group (GPU
// tiled) computes.
#if CONV_STYLE == 2
#define CO_PAD (GT_WC * TILE_CO)
#else
#define CO_PAD TILE_CO
#endif
#define COUTP ((COUT + CO_PAD - 1) / CO_PAD * CO_PAD)
#define KDIM (9 * CIN)
// One partial of the weight gradient: dw (KDIM x COUT) then db (COUT).
#define PSTRIDE (KDIM * COUT + COUT)

// Offset of tap t (ky*3 + kx) from the output position, in a padded plane.
#define TAP_OFF(t) (((t) / 3 - 1) * PW + ((t) % 3 - 1))


// Reorders (and with flip, flips) the Keras weights into the packed layout above.
// w: (3,3,CIN,COUT) at w_off (flip 0), or the forward (3,3,COUT,CIN) (flip 1).
// global (COUTP rounded up, CIN, 9)
__kernel void conv_pack_weights(__global const float *w, int w_off, __global float *wp, int flip) {
    const int co = get_global_id(0), ci = get_global_id(1), t = get_global_id(2);
    if (co >= COUTP) return;
    float v = 0.0f;
    if (co < COUT) {
        if (flip) // dx[ci'] = sum w[2-ky, 2-kx, ci', co'] dy[co'] shifted: tap t reads forward tap 8-t.
            v = w[w_off + ((8 - t) * COUT + co) * CIN + ci];
        else
            v = w[w_off + (t * CIN + ci) * COUT + co];
    }
    wp[(t * CIN + ci) * COUTP + co] = v;
}

#if CONV_STYLE == 0
// Writes zeros to padded positions [from, to) of the TILE_CO planes at yp.
void zero_span(__global float *yp, int co0, int from, int to) {
    for (int j = 0; j < TILE_CO; j++)
        if (co0 + j < COUT)
            for (int q = from; q < to; q++) yp[j * PLANE + q] = 0.0f;
}

// CPU style. y[n, co0..co0+TILE_CO) at padded positions q0..q0+15 of the
// interior rows; ring lanes are written as zeros, rows 0 and PH-1 by the first
// and last chunk. x: (N, CIN) planes, y: (N, COUT) planes.
// global (NCHUNK rounded up, COUTP/TILE_CO, N)
__kernel void conv_tile(__global const float *restrict x, __global const float *restrict wp,
                        __global const float *restrict b, int b_off, __global float *restrict y,
                        int relu, int has_bias) {
    const int chunk = get_global_id(0);
    const int co0 = get_global_id(1) * TILE_CO;
    const int n = get_global_id(2);
    if (chunk >= NCHUNK) return;
    const int q0 = PW + chunk * 16;
    __global const float *xp = x + MARGIN + n * CIN * PLANE + q0;
    __global const float *wr = wp + co0;

    float16 acc[TILE_CO];
#pragma unroll
    for (int j = 0; j < TILE_CO; j++) acc[j] = (float16)(0.0f);

    for (int ci = 0; ci < CIN; ci++) {
#pragma unroll
        for (int t = 0; t < 9; t++) {
            const float16 xv = vload16(0, xp + TAP_OFF(t));
            __global const float *wt = wr + t * CIN * COUTP;
#pragma unroll
            for (int j = 0; j < TILE_CO; j++) acc[j] = fma(xv, (float16)(wt[j]), acc[j]);
        }
        xp += PLANE;
        wr += COUTP;
    }

    const int16 q = q0 + LANES;
    const int16 col = q % PW;
    const int16 keep = (col != 0) & (col != PW - 1) & (q < QEND);
    __global float *yp = y + MARGIN + (n * COUT + co0) * PLANE;
#pragma unroll
    for (int j = 0; j < TILE_CO; j++) {
        if (co0 + j < COUT) {
            float16 v = acc[j];
            if (has_bias) v += b[b_off + co0 + j];
            if (relu) v = fmax(v, 0.0f);
#if BN_FUSED
            v = v * b[b_off + COUT + co0 + j] + b[b_off + 2 * COUT + co0 + j];
#endif
            v = select((float16)(0.0f), v, keep);
            // (tiny images: the last chunk runs past the plane)
            store_lanes(v, yp + j * PLANE + q0, min(16, PLANE - q0));
        }
    }
    if (chunk == 0) zero_span(yp, co0, 0, PW);
    if (chunk == NCHUNK - 1) zero_span(yp, co0, min(q0 + 16, PLANE), PLANE);
}

#endif

#if CONV_STYLE == 1
// GPU style: one work-item per output value (ring values written as zeros).
// global (PLANE rounded up, COUT, N)
__kernel void conv_simple(__global const float *restrict x, __global const float *restrict wp,
                          __global const float *restrict b, int b_off, __global float *restrict y,
                          int relu, int has_bias) {
    const int q = get_global_id(0), co = get_global_id(1), n = get_global_id(2);
    if (q >= PLANE || co >= COUT) return;
    const int row = q / PW, col = q % PW;
    float v = 0.0f;
    if (row >= 1 && row <= IMG_H && col >= 1 && col <= IMG_W) {
        __global const float *xp = x + MARGIN + n * CIN * PLANE + q;
        float s = 0.0f;
        for (int ci = 0; ci < CIN; ci++)
            for (int t = 0; t < 9; t++) s = fma(xp[ci * PLANE + TAP_OFF(t)], wp[(t * CIN + ci) * COUTP + co], s);
        if (has_bias) s += b[b_off + co];
        v = relu ? fmax(s, 0.0f) : s;
#if BN_FUSED
        v = v * b[b_off + COUT + co] + b[b_off + 2 * COUT + co];
#endif
    }
    y[MARGIN + (n * COUT + co) * PLANE + q] = v;
}
#endif

#if !FWD_ONLY
// Weight gradient, first pass: partial sums over one segment of one image.
//   part[p*PSTRIDE + k*COUT + co] = sum_q x[n, ci, q + TAP_OFF(t)] * dy[n, co, q]
//   part[p*PSTRIDE + KDIM*COUT + co] = sum_q dy[n, co, q]
// with k = t*CIN + ci (the Keras row), p = n*NSEG + s, q over segment s of the
// interior rows. dy's ring is zero, so ring columns add nothing; x is only read
// inside the image's own planes (and the zero ring/margin next to them).

// Segment [qb, qe) of partial p. The first starts at the 16-aligned position
// at or before row 1 (the extra positions are row 0, where dy is zero), so the
// dy loads are aligned when MARGIN and PLANE are multiples of 16.
#define QB0 (PW / 16 * 16)
#define SEG_BEGIN(s) (QB0 + (s) * SEG)
#define SEG_END(s) min(SEG_BEGIN(s) + SEG, QEND)

#if CONV_STYLE == 0
// CPU style: a work-item owns DW_TK rows x DW_TC channels, each a float16 of
// per-lane partial sums over the segment, summed across lanes at the end.
// global (ceil(COUT/DW_TC), ceil(KDIM/DW_TK), N*NSEG)
__kernel void conv_dw_tile(__global const float *restrict x, __global const float *restrict dy,
                           __global float *restrict part) {
    const int co0 = get_global_id(0) * DW_TC;
    const int k0 = get_global_id(1) * DW_TK;
    const int p = get_global_id(2);
    if (co0 >= COUT || k0 >= KDIM) return;
    const int n = p / NSEG, s = p % NSEG;
    const int qb = SEG_BEGIN(s), qe = SEG_END(s);

    // Rows and channels past the end repeat the last one (computed, not stored).
    __global const float *xr[DW_TK];
    __global const float *dr[DW_TC];
#pragma unroll
    for (int r = 0; r < DW_TK; r++) {
        const int k = min(k0 + r, KDIM - 1), t = k / CIN, ci = k % CIN;
        xr[r] = x + MARGIN + (n * CIN + ci) * PLANE + TAP_OFF(t);
    }
#pragma unroll
    for (int c = 0; c < DW_TC; c++) dr[c] = dy + MARGIN + (n * COUT + min(co0 + c, COUT - 1)) * PLANE;

    float16 acc[DW_TK * DW_TC];
#pragma unroll
    for (int i = 0; i < DW_TK * DW_TC; i++) acc[i] = (float16)(0.0f);

    // (lanes past qe may read the next plane: FMA_ROWS16 masks the tail)
    FMA_ROWS16(acc, xr, DW_TK, dr, DW_TC, qb, qe);

    __global float *out = part + p * PSTRIDE;
#pragma unroll
    for (int r = 0; r < DW_TK; r++)
#pragma unroll
        for (int c = 0; c < DW_TC; c++)
            if (k0 + r < KDIM && co0 + c < COUT) out[(k0 + r) * COUT + co0 + c] = hsum16(acc[r * DW_TC + c]);
}

// CPU style bias-gradient partials. global (COUT, N*NSEG)
__kernel void conv_db_tile(__global const float *restrict dy, __global float *restrict part) {
    const int co = get_global_id(0), p = get_global_id(1);
    if (co >= COUT) return;
    const int n = p / NSEG, s = p % NSEG;
    const int qb = SEG_BEGIN(s), qe = SEG_END(s);
    __global const float *dp = dy + MARGIN + (n * COUT + co) * PLANE;
    float16 acc = (float16)(0.0f);
    int q = qb;
    for (; q + 16 <= qe; q += 16) acc += vload16(0, dp + q);
    if (q < qe) acc += select((float16)(0.0f), vload16(0, dp + q), LANES < (qe - q));
    part[p * PSTRIDE + KDIM * COUT + co] = hsum16(acc);
}

#endif

#if CONV_STYLE == 1
// GPU style: one work-item per (dw or db element, partial), a scalar loop.
// global (KDIM*COUT + COUT, N*NSEG)
__kernel void conv_dw_simple(__global const float *restrict x, __global const float *restrict dy,
                             __global float *restrict part) {
    const int i = get_global_id(0), p = get_global_id(1);
    if (i >= PSTRIDE) return;
    const int n = p / NSEG, s = p % NSEG;
    const int qb = SEG_BEGIN(s), qe = SEG_END(s);
    float acc = 0.0f;
    if (i < KDIM * COUT) {
        const int k = i / COUT, co = i % COUT, t = k / CIN, ci = k % CIN;
        __global const float *xp = x + MARGIN + (n * CIN + ci) * PLANE + TAP_OFF(t);
        __global const float *dp = dy + MARGIN + (n * COUT + co) * PLANE;
        for (int q = qb; q < qe; q++) acc = fma(xp[q], dp[q], acc);
    } else {
        __global const float *dp = dy + MARGIN + (n * COUT + (i - KDIM * COUT)) * PLANE;
        for (int q = qb; q < qe; q++) acc += dp[q];
    }
    part[p * PSTRIDE + i] = acc;
}
#endif

// Second pass: dw and db are the sums of the nparts partials, in order p = 0, 1, ...
// dw and db may be the same buffer (disjoint ranges). global (PSTRIDE)
__kernel void conv_dw_reduce(__global const float *restrict part, int nparts, __global float *dw, int dw_off,
                             __global float *db, int db_off) {
    const int i = get_global_id(0);
    if (i >= PSTRIDE) return;
    float s = 0.0f;
    for (int p = 0; p < nparts; p++) s += part[p * PSTRIDE + i];
    if (i < KDIM * COUT) dw[dw_off + i] = s;
    else db[db_off + i - KDIM * COUT] = s;
}

#if CONV_STYLE == 2
// GPU tiled weight gradient: the GEMM part (KDIM+1 x COUT) = X (KDIM+1 x seg) * dY^T,
// where row KDIM of X is constant 1, so that row of the product is the bias
// gradient and the partial layout (dw rows, then db) is the GEMM's output.
// A DW_WGC x DW_WGK work-group (channel x row lanes, fewer channel lanes for narrow
// layers) owns DW_BK rows x DW_BC channels; each work-item
// DW_TK rows (lk + r*DW_WGK) x DW_TC channels (lc + c*DW_WGC) in registers. The
// segment is walked in chunks of DW_QC positions staged in local memory
// (rows padded by one float against bank conflicts).
// global (ceil(COUT/DW_BC)*DW_WGC, ceil((KDIM+1)/DW_BK)*DW_WGK, N*NSEG), local (DW_WGC, DW_WGK, 1)
#define DW_BK (DW_WGK * DW_TK)
#define DW_BC (DW_WGC * DW_TC)
#define DW_QC 16
#define DW_QS (DW_QC + 1)
__kernel __attribute__((reqd_work_group_size(DW_WGC, DW_WGK, 1))) void
conv_dw_gpu_tiled(__global const float *restrict x, __global const float *restrict dy,
                  __global float *restrict part) {
    __local float xs[DW_BK * DW_QS];
    __local float ds[DW_BC * DW_QS];
    const int lc = get_local_id(0), lk = get_local_id(1), lid = lk * DW_WGC + lc;
    const int c0 = get_group_id(0) * DW_BC, k0 = get_group_id(1) * DW_BK;
    const int p = get_global_id(2);
    const int n = p / NSEG, s = p % NSEG;
    const int qb = SEG_BEGIN(s), qe = SEG_END(s);

    float acc[DW_TK][DW_TC];
    for (int r = 0; r < DW_TK; r++)
        for (int c = 0; c < DW_TC; c++) acc[r][c] = 0.0f;

    for (int qc = qb; qc < qe; qc += DW_QC) {
        for (int i = lid; i < DW_BK * DW_QC; i += DW_WGC * DW_WGK) {
            const int r = i / DW_QC, l = i % DW_QC, k = k0 + r, q = qc + l;
            float v = 0.0f;
            if (q < qe) {
                if (k < KDIM) v = x[MARGIN + (n * CIN + k % CIN) * PLANE + q + TAP_OFF(k / CIN)];
                else if (k == KDIM) v = 1.0f;
            }
            xs[r * DW_QS + l] = v;
        }
        for (int i = lid; i < DW_BC * DW_QC; i += DW_WGC * DW_WGK) {
            const int c = i / DW_QC, l = i % DW_QC, co = c0 + c, q = qc + l;
            ds[c * DW_QS + l] = (co < COUT && q < qe) ? dy[MARGIN + (n * COUT + co) * PLANE + q] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int l = 0; l < DW_QC; l++) {
            float dv[DW_TC];
#pragma unroll
            for (int c = 0; c < DW_TC; c++) dv[c] = ds[(lc + c * DW_WGC) * DW_QS + l];
#pragma unroll
            for (int r = 0; r < DW_TK; r++) {
                const float xv = xs[(lk + r * DW_WGK) * DW_QS + l];
#pragma unroll
                for (int c = 0; c < DW_TC; c++) acc[r][c] = fma(xv, dv[c], acc[r][c]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    __global float *out = part + p * PSTRIDE;
    for (int r = 0; r < DW_TK; r++)
        for (int c = 0; c < DW_TC; c++) {
            const int k = k0 + lk + r * DW_WGK, co = c0 + lc + c * DW_WGC;
            if (k <= KDIM && co < COUT) out[k * COUT + co] = acc[r][c];
        }
}
#endif
#endif // !FWD_ONLY

#if CONV_STYLE == 2
// GPU style with local memory (forward, and the input gradient: flipped weights, no bias).
// Extra defines: GT_WP x GT_WC work-items per group (along positions x output
// channels), TILE_Q positions and TILE_CO channels per work-item, GT_KC input
// channels staged per step. A work-group owns GT_BQ consecutive padded
// positions of one image (the whole plane is covered; ring outputs are written
// as zeros) x GT_BC output channels. Per step it stages, for GT_KC input
// channels, the positions its 3x3 taps read (the block plus one padded row and
// one pixel either side, zero outside the image's own plane) and those
// channels' packed weights in local memory; each work-item then accumulates
// positions lq + i*GT_WP (consecutive across work-items: conflict-free local
// reads, coalesced stores) x channels lc*TILE_CO + j in registers.
// global (ceil(PLANE/GT_BQ)*GT_WP, COUTP/GT_BC*GT_WC, N), local (GT_WP, GT_WC, 1)
#define GT_BQ (GT_WP * TILE_Q)
#define GT_BC (GT_WC * TILE_CO)
#define GT_SPAN (GT_BQ + 2 * PW + 2)
__kernel __attribute__((reqd_work_group_size(GT_WP, GT_WC, 1))) void
conv_gpu_tiled(__global const float *restrict x, __global const float *restrict wp,
               __global const float *restrict b, int b_off, __global float *restrict y, int relu, int has_bias) {
    __local float xs[GT_KC * GT_SPAN];
    __local float ws[GT_KC * 9 * GT_BC];
    const int lq = get_local_id(0), lc = get_local_id(1), lid = lc * GT_WP + lq;
    const int q0 = get_group_id(0) * GT_BQ, c0 = get_group_id(1) * GT_BC;
    const int n = get_global_id(2);
    __global const float *xn = x + MARGIN + n * CIN * PLANE;

    float acc[TILE_Q][TILE_CO];
    for (int i = 0; i < TILE_Q; i++)
        for (int j = 0; j < TILE_CO; j++) acc[i][j] = 0.0f;

    for (int cb = 0; cb < CIN; cb += GT_KC) {
        for (int i = lid; i < GT_KC * GT_SPAN; i += GT_WP * GT_WC) {
            const int ci = cb + i / GT_SPAN, q = q0 - PW - 1 + i % GT_SPAN;
            xs[i] = (ci < CIN && q >= 0 && q < PLANE) ? xn[ci * PLANE + q] : 0.0f;
        }
        for (int i = lid; i < GT_KC * 9 * GT_BC; i += GT_WP * GT_WC) {
            const int c = i % GT_BC, t = (i / GT_BC) % 9, ci = cb + i / (9 * GT_BC);
            ws[i] = ci < CIN ? wp[(t * CIN + ci) * COUTP + c0 + c] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kc = 0; kc < GT_KC; kc++) {
#pragma unroll
            for (int t = 0; t < 9; t++) {
                float wv[TILE_CO];
#pragma unroll
                for (int j = 0; j < TILE_CO; j++) wv[j] = ws[(kc * 9 + t) * GT_BC + lc * TILE_CO + j];
#pragma unroll
                for (int i = 0; i < TILE_Q; i++) {
                    const float xv = xs[kc * GT_SPAN + PW + 1 + lq + i * GT_WP + TAP_OFF(t)];
#pragma unroll
                    for (int j = 0; j < TILE_CO; j++) acc[i][j] = fma(xv, wv[j], acc[i][j]);
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < TILE_Q; i++) {
        const int q = q0 + lq + i * GT_WP;
        if (q >= PLANE) break;
        const int row = q / PW, col = q % PW;
        const int inside = row >= 1 && row <= IMG_H && col >= 1 && col <= IMG_W;
        for (int j = 0; j < TILE_CO; j++) {
            const int co = c0 + lc * TILE_CO + j;
            if (co >= COUT) break;
            float v = acc[i][j];
            if (has_bias) v += b[b_off + co];
            if (relu) v = fmax(v, 0.0f);
#if BN_FUSED
            v = v * b[b_off + COUT + co] + b[b_off + 2 * COUT + co];
#endif
            y[MARGIN + (n * COUT + co) * PLANE + q] = inside ? v : 0.0f;
        }
    }
}
#endif
