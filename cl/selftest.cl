// A tiny kernel for checking a device end to end: y = a*x + b*i, with the
// scale passed as a build-time define so option changes are observable.
#ifndef SCALE
#define SCALE 1.0f
#endif
__kernel void axpb(__global const float *x, __global float *y, const float a, const int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = a * x[i] + SCALE * (float)i;
}
