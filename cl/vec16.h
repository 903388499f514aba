// float16 helpers shared by the CPU-shaped kernels (cl/conv.cl, cl/conv_winograd.cl, cl/wino_gemm.cl,
// cl/batchnorm.cl, cl/head.cl).

// STORE16(v, p): v at the __global float pointer p (any 4-byte alignment) as one 64-byte store.
// PoCL 3.1's vstore16 becomes three stores (4 + 4 + 8 floats) on AVX-512, which cost the CPU
// transforms of cl/conv_winograd.cl 5-18% (A/B in one process); a float16 type aligned to 4
// bytes gives LLVM's single unaligned vector store instead.
typedef float16 __attribute__((aligned(4))) float16_unaligned;
#define STORE16(v, p) (*(__global float16_unaligned *)(p) = (v))

// Stores the first nvalid lanes of r at dst: all 16 (nvalid >= 16) with one vector store, fewer
// one by one, none when nvalid <= 0. The CPU transforms store a chunk of 16 tiles this way (and a
// row's tail of several vectors, put_row / put_row4), conv_tile and head_forward a row's or
// plane's last chunk.
void store_lanes(float16 r, __global float *dst, int nvalid) {
    if (nvalid >= 16) {
        STORE16(r, dst);
    } else {
        float tmp[16];
        vstore16(r, 0, tmp);
        for (int l = 0; l < nvalid; l++) dst[l] = tmp[l];
    }
}

// Lane numbers 0..15, for masks.
#define LANES ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))

// Sum of 16 lanes in a fixed order: ((lo + hi) halved twice more), with lane extracts rather
// than .lo/.hi swizzles, which Oclgrind --uninitialized at -O0 reports as uninitialized values.
float hsum16(float16 v) {
    const float a0 = v.s0 + v.s8, a1 = v.s1 + v.s9, a2 = v.s2 + v.sa, a3 = v.s3 + v.sb;
    const float a4 = v.s4 + v.sc, a5 = v.s5 + v.sd, a6 = v.s6 + v.se, a7 = v.s7 + v.sf;
    const float b0 = a0 + a4, b1 = a1 + a5, b2 = a2 + a6, b3 = a3 + a7;
    return (b0 + b2) + (b1 + b3);
}

// The 16 lane sums of a[0..15] (float16 each) as one float16, lane k = hsum16(a[k]) to the
// bit: the same additions in hsum16's tree order, done 16 sums at a time by a transpose
// network (15 shuffle pairs and 15 vector adds instead of 16 x 15 lane extracts and adds).
// Level 1 pairs vectors (lanes 0-7 of one and of the next: a_i = v_i + v_(i+8)), level 2 makes
// b_i = a_i + a_(i+4) four sums at a time, level 3 b0 + b2 and b1 + b3, level 4 their sum. A
// macro over the caller's array (out: a float16 lvalue), so the vectors stay in registers.
#define HSUM16X16_L1 ((uint16)(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23))
#define HSUM16X16_H1 ((uint16)(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31))
#define HSUM16X16_L2 ((uint16)(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27))
#define HSUM16X16_H2 ((uint16)(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31))
#define HSUM16X16_L3 ((uint16)(0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29))
#define HSUM16X16_H3 ((uint16)(2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31))
#define HSUM16X16_L4 ((uint16)(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30))
#define HSUM16X16_H4 ((uint16)(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31))
#define HSUM16X16_STEP(dst, src, k, L, H) dst[k] = shuffle2(src[2 * (k)], src[2 * (k) + 1], L) + \
                                                    shuffle2(src[2 * (k)], src[2 * (k) + 1], H)
#define HSUM16X16(a, out)                                                                          \
    do {                                                                                           \
        float16 l1_[8], l2_[4], l3_[2];                                                            \
        _Pragma("unroll") for (int k_ = 0; k_ < 8; k_++)                                           \
            HSUM16X16_STEP(l1_, a, k_, HSUM16X16_L1, HSUM16X16_H1);                                \
        _Pragma("unroll") for (int k_ = 0; k_ < 4; k_++)                                           \
            HSUM16X16_STEP(l2_, l1_, k_, HSUM16X16_L2, HSUM16X16_H2);                              \
        _Pragma("unroll") for (int k_ = 0; k_ < 2; k_++)                                           \
            HSUM16X16_STEP(l3_, l2_, k_, HSUM16X16_L3, HSUM16X16_H3);                              \
        (out) = shuffle2(l3_[0], l3_[1], HSUM16X16_L4) + shuffle2(l3_[0], l3_[1], HSUM16X16_H4);   \
    } while (0)

// acc[r * NB + c] += a[r][k] * b[c][k] lane by lane, for rows a[0..NA-1] and b[0..NB-1]
// (__global const float pointers) and positions k = k0 .. k1-1, 16 at a time (lane l of acc sums
// positions k0 + l, k0 + l + 16, ...): whole vectors first, then the last partial one with both
// operands masked, so that lanes past k1 (anything there, NaN included) add exactly zero. The
// weight gradients' inner loop (cl/conv.cl's conv_dw_tile, cl/wino_gemm.cl's wino_dw_gemm); a
// macro over the caller's arrays (NA, NB constants), so the accumulators stay in registers.
#define FMA_ROWS16_STEP(acc, a, NA, b, NB, k, m)                                                   \
    do {                                                                                           \
        float16 bv_[NB];                                                                           \
        _Pragma("unroll") for (int c_ = 0; c_ < (NB); c_++) bv_[c_] =                              \
            select((float16)(0.0f), vload16(0, (b)[c_] + (k)), (m));                               \
        _Pragma("unroll") for (int r_ = 0; r_ < (NA); r_++) {                                      \
            const float16 av_ = select((float16)(0.0f), vload16(0, (a)[r_] + (k)), (m));           \
            _Pragma("unroll") for (int c_ = 0; c_ < (NB); c_++) (acc)[r_ * (NB) + c_] =            \
                fma(av_, bv_[c_], (acc)[r_ * (NB) + c_]);                                          \
        }                                                                                          \
    } while (0)
#define FMA_ROWS16(acc, a, NA, b, NB, k0, k1)                                                      \
    do {                                                                                           \
        int k_ = (k0);                                                                             \
        for (; k_ + 16 <= (k1); k_ += 16) FMA_ROWS16_STEP(acc, a, NA, b, NB, k_, (int16)(-1));     \
        if (k_ < (k1)) FMA_ROWS16_STEP(acc, a, NA, b, NB, k_, LANES < ((k1) - k_));                \
    } while (0)
