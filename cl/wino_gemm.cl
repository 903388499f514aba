// The batched GEMMs of the Winograd convolutions (cl/conv_winograd.cl's transforms feed and
// read them). Their shapes (channels, scratch row stride) are launch arguments, not defines,
// so one program per register tile serves every layer, direction and tile side: a network
// compiles each GEMM once instead of once per layer and direction (on PoCL each compile is
// 0.3-0.4 s of CPU at a first launch and again when pixloc's cache asks for the binary).
// The host (host/nn/conv_winograd.c) builds it with:
//   WINO_GEMM = 1  wino_gemm, with TCO, TN: its register tile (TCO channels x TN*16 tiles)
//   WINO_GEMM = 2  wino_dw_gemm, with WD_TCI x WD_TCO (input x output channels per work-item)
// The scratch layout is conv_winograd.cl's: V holds NXI blocks of cin rows, M (and the weight
// gradient's Z) NXI blocks of coutp rows, each row `ts` (its TSTRIDE) floats and each block
// padded by 16 floats (its VXS and MXS). CPU-shaped (float16 accumulators, unrolled tiles, no
// local memory); on GPUs only when Winograd is forced or tuned there, with 1 x 1 tiles.
// Every sum runs in a fixed order: bit-identical run to run, and to the bit what the same
// kernels computed with the shapes as defines.

#include "vec16.h" // LANES, hsum16, HSUM16X16, FMA_ROWS16
#ifndef WINO_GEMM
#error "WINO_GEMM must be 1 (wino_gemm) or 2 (wino_dw_gemm)"
#endif

#if WINO_GEMM == 1
// NXI (16 or 36) batched GEMMs M[xi] (coutp x tiles) = U[xi]^T (coutp x cin) V[xi] (cin x tiles):
// a work-item owns TCO channels x TN*16 tiles in float16 accumulators, except the last block of
// a chunk, which owns the chunk's remaining nvec % TN vectors of 16 tiles (when that is not 0)
// and computes no more: at 169 tiles (F(4x4) on 50 x 50) 11 vectors, not 12. Each column's sum
// runs in the same order in both: the same bits.
// WINO_GEMM_BLOCK(nt) (nt = 1..TN, a constant: the loops unroll and acc stays in registers; a
// macro, not a function, because a function called at four sites is not always inlined, and then
// acc lives in memory: measured 1.6x slower) on vp, up, mp.
#define WINO_GEMM_BLOCK(nt)                                                                                            \
    do {                                                                                                               \
        float16 acc[TCO][nt];                                                                                          \
        _Pragma("unroll") for (int c = 0; c < TCO; c++) _Pragma("unroll") for (int j = 0; j < (nt); j++) acc[c][j] =   \
            (float16)(0.0f);                                                                                           \
        for (int ci = 0; ci < cin; ci++) {                                                                             \
            float16 vv[nt];                                                                                            \
            _Pragma("unroll") for (int j = 0; j < (nt); j++) vv[j] = vload16(j, vp);                                   \
            _Pragma("unroll") for (int c = 0; c < TCO; c++) {                                                          \
                const float16 uu = (float16)(up[c]);                                                                   \
                _Pragma("unroll") for (int j = 0; j < (nt); j++) acc[c][j] = fma(vv[j], uu, acc[c][j]);                \
            }                                                                                                          \
            vp += ts;                                                                                                  \
            up += coutp;                                                                                               \
        }                                                                                                              \
        _Pragma("unroll") for (int c = 0; c < TCO; c++) _Pragma("unroll") for (int j = 0; j < (nt); j++)               \
            STORE16(acc[c][j], mp + c * ts + 16 * j);                                                                  \
    } while (0)

// nvec: the chunk's tiles in vectors of 16, ceil(ntiles / 16); coutp: the output channels
// rounded up to TCO; ts: the scratch row stride.
// global (ceil(nvec / TN) rounded up, coutp/TCO, NXI)
__kernel void wino_gemm(__global const float *restrict v, __global const float *restrict u,
                        __global float *restrict m, int nvec, int cin, int coutp, int ts) {
    const int tb = get_global_id(0);
    const int co0 = get_global_id(1) * TCO;
    const int xi = get_global_id(2);
    const int rem = nvec - tb * TN;
    if (rem <= 0) return;
    __global const float *vp = v + xi * (cin * ts + 16) + tb * 16 * TN;
    __global const float *up = u + xi * cin * coutp + co0;
    __global float *mp = m + xi * (coutp * ts + 16) + co0 * ts + tb * 16 * TN;
    if (rem >= TN) {
        WINO_GEMM_BLOCK(TN);
        return;
    }
#if TN > 1
    if (rem == 1) WINO_GEMM_BLOCK(1);
#endif
#if TN > 2
    if (rem == 2) WINO_GEMM_BLOCK(2);
#endif
#if TN > 3
    if (rem == 3) WINO_GEMM_BLOCK(3);
#endif
#if TN > 4
#error "wino_gemm: TN above 4 needs more remainder cases"
#endif
}

#elif WINO_GEMM == 2
// The weight gradient's sums S[xi][ci][co] (+)= sum over the chunk's ntiles tiles of
// V[xi][ci][t] Z[xi][co][t] (first chunk: =), S being NXI x cin x cout: a work-item owns
// WD_TCI x WD_TCO (ci, co) pairs in float16 accumulators (16 tiles a step, the tail masked:
// FMA_ROWS16), summed across lanes at the end. Channels past the end repeat the last one
// (computed, not stored). coutp: Z's rows per block (cout rounded up to the forward GEMM's TCO);
// ts: the scratch row stride. global (ceil(cin/WD_TCI), ceil(cout/WD_TCO), NXI).
__kernel void wino_dw_gemm(__global const float *restrict v, __global const float *restrict z, int ntiles,
                           __global float *restrict s, int first, int cin, int cout, int coutp, int ts) {
    const int ci0 = get_global_id(0) * WD_TCI, co0 = get_global_id(1) * WD_TCO, xi = get_global_id(2);
    if (ci0 >= cin || co0 >= cout) return;
    __global const float *vr[WD_TCI];
    __global const float *zr[WD_TCO];
#pragma unroll
    for (int r = 0; r < WD_TCI; r++) vr[r] = v + xi * (cin * ts + 16) + min(ci0 + r, cin - 1) * ts;
#pragma unroll
    for (int c = 0; c < WD_TCO; c++) zr[c] = z + xi * (coutp * ts + 16) + min(co0 + c, cout - 1) * ts;
    float16 acc[WD_TCI * WD_TCO];
#pragma unroll
    for (int i = 0; i < WD_TCI * WD_TCO; i++) acc[i] = (float16)(0.0f);
    FMA_ROWS16(acc, vr, WD_TCI, zr, WD_TCO, 0, ntiles);
    float h[WD_TCI * WD_TCO]; // each accumulator's lane sum, in hsum16's order
#if WD_TCI * WD_TCO == 16     // the 16 at once (HSUM16X16: the same bits)
    float16 hs;
    HSUM16X16(acc, hs);
    vstore16(hs, 0, h);
#else
#pragma unroll
    for (int i = 0; i < WD_TCI * WD_TCO; i++) h[i] = hsum16(acc[i]);
#endif
#pragma unroll
    for (int r = 0; r < WD_TCI; r++)
#pragma unroll
        for (int c = 0; c < WD_TCO; c++)
            if (ci0 + r < cin && co0 + c < cout) {
                const int idx = (xi * cin + ci0 + r) * cout + co0 + c;
                s[idx] = first ? h[r * WD_TCO + c] : s[idx] + h[r * WD_TCO + c];
            }
}

#else
#error "WINO_GEMM must be 1 (wino_gemm) or 2 (wino_dw_gemm)"
#endif
