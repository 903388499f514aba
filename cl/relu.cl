// ReLU backward on padded planes (include/layout.h), for blocks without BN (blocks
// with BN fuse it into bn_bwd_apply, cl/batchnorm.cl). `mask` (nv*16 ints, built
// by the host) is -1 at interior positions of a plane, 0 on the ring and past it.
// In place: g *= (x > 0); ring = 0.
#if PX_GPU
// One position per work-item.  global (>= plane, N*C); nv unused.
__kernel void relu_bwd(__global const float *x, __global float *g, __global const int *mask, int plane, int nv,
                       int margin) {
    const int q = get_global_id(0), nc = get_global_id(1);
    if (q >= plane) return;
    const size_t i = (size_t)margin + (size_t)nc * (size_t)plane + (size_t)q;
    g[i] = (mask[q] && x[i] > 0.0f) ? g[i] : 0.0f;
}
#else
// 16-float chunks of a plane per work-item.  global (>= nv, N*C)
__kernel void relu_bwd(__global const float *x, __global float *g, __global const int *mask,
                       int plane, int nv, int margin) {
    int k = get_global_id(0), nc = get_global_id(1);
    if (k >= nv) return;
    size_t base = (size_t)margin + (size_t)nc * (size_t)plane;
    __global const float *xp = x + base;
    __global float *gp = g + base;
    if ((k + 1) * 16 <= plane) {
        int16 m = vload16(k, mask) & isgreater(vload16(k, xp), (float16)(0.0f));
        vstore16(select((float16)(0.0f), vload16(k, gp), m), k, gp);
    } else {
        for (int j = k * 16; j < plane; j++) gp[j] = (mask[j] && xp[j] > 0.0f) ? gp[j] : 0.0f;
    }
}
#endif
