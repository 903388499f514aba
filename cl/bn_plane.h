// The CPU-shaped batch-norm statistics of one padded plane (cl/batchnorm.cl's bn_stats, and the
// Winograd output transform with BN_STATS, which computes them as it finishes a plane so that the
// plane is read from cache, not memory): the same code, so the same sums to the bit.
//
// p: the plane (its float 0 = padded position 0); mask: nv*16 ints, -1 at interior positions and
// 0 on the ring and past the plane (host/nn/batchnorm.c); nv = ceil(plane / 16) chunks of 16.
// *sum = the interior's sum, *m2 = the sum of (x - sum*inv_hw)^2 there, each lane-wise in
// float16 and then summed by a fixed pairwise tree. Nothing past the plane is read: the last
// chunk, where partial, is read position by position (so another work-item may be writing the
// next plane meanwhile).

// Horizontal sum in a fixed order (a pairwise tree). Through a private array
// rather than .lo/.hi swizzles: oclgrind's --uninitialized checker crashes on the
// shufflevectors those produce; PoCL compiles both to the same register code.
float bn_hsum16(float16 v) {
    float a[16];
    vstore16(v, 0, a);
    for (int w = 8; w >= 1; w >>= 1)
        for (int i = 0; i < w; i++) a[i] += a[i + w];
    return a[0];
}

// Chunk k of plane p (floats past the plane's end read as 0).
float16 bn_chunk(__global const float *p, int k, int plane) {
    if ((k + 1) * 16 <= plane) return vload16(k, p);
    float t[16];
    for (int l = 0; l < 16; l++) t[l] = k * 16 + l < plane ? p[k * 16 + l] : 0.0f;
    return vload16(0, t);
}

void bn_plane_sums(__global const float *p, __global const int *mask, int plane, int nv, float inv_hw, float *sum,
                   float *m2) {
    float16 s = (float16)(0.0f);
    for (int k = 0; k < nv; k++) s += select((float16)(0.0f), bn_chunk(p, k, plane), vload16(k, mask));
    const float total = bn_hsum16(s);
    const float mu = total * inv_hw;
    float16 q = (float16)(0.0f);
    for (int k = 0; k < nv; k++) {
        float16 d = select((float16)(0.0f), bn_chunk(p, k, plane) - mu, vload16(k, mask));
        q += d * d;
    }
    *sum = total;
    *m2 = bn_hsum16(q);
}
