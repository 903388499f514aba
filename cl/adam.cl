// Keras Adam ("epsilon hat" form) over one flat parameter buffer:
//   m += (g - m)*(1 - beta1); v += (g*g - v)*(1 - beta2); w -= (m*alpha)/(sqrt(v) + eps)
// with alpha = lr*sqrt(1 - beta2^t)/(1 - beta1^t) computed by the host (t = step + 1).
// global (n rounded up)
__kernel void adam_step(__global float *w, __global const float *g, __global float *m,
                        __global float *v, int n, float alpha, float one_minus_beta1,
                        float one_minus_beta2, float eps) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gi = g[i];
    float mi = m[i] + (gi - m[i]) * one_minus_beta1;
    float vi = v[i] + (gi * gi - v[i]) * one_minus_beta2;
    m[i] = mi;
    v[i] = vi;
    w[i] -= (mi * alpha) / (sqrt(vi) + eps);
}
