// float16 helpers shared by cl/conv.cl and cl/conv_winograd.cl.

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
