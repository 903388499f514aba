// ReLU backward (cl/relu.cl) against a plain C reference: awkward shapes (planes
// that are not a multiple of 16 floats, one channel, one image), NaN-filled rings
// and margins in both inputs (never read, ring written as 0, margins never
// written), a capacity above the batch, bit-identical reruns.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "ocl.h"
#include "ref_ops.h"
#include "ocl_flags.h"
#include "relu.h"
#include "test_util.h"

static void test_shape(ocl_ctx *c, int N, int C, int H, int W, uint64_t *rs) {
    char name[128];
    size_t cnt = (size_t)N * C * H * W;
    act_layout l = act_layout_make(N, C, H, W);
    size_t nf = act_floats(&l);
    float *xf = malloc(cnt * sizeof(float)), *dyf = malloc(cnt * sizeof(float));
    t_fill_uniform(xf, cnt, -1.0f, 1.0f, rs);
    // Negative values too (the kernel does not assume a ReLU output), and exact +-0.
    for (size_t i = 0; i < cnt; i++) xf[i] = i % 5 == 0 ? 0.0f : i % 7 == 0 ? -0.0f : xf[i];
    t_fill_uniform(dyf, cnt, -1.0f, 1.0f, rs);
    double *x = malloc(cnt * sizeof(double)), *dy = malloc(cnt * sizeof(double));
    double *want = malloc(cnt * sizeof(double));
    for (size_t i = 0; i < cnt; i++) {
        x[i] = xf[i];
        dy[i] = dyf[i];
        want[i] = xf[i] > 0.0f ? dy[i] : 0.0; // the reference: g * (x > 0)
    }
    float *xpad = ref_pad(x, N, C, H, W, NAN, NAN), *gpad = ref_pad(dy, N, C, H, W, NAN, NAN);
    cl_mem bx = ocl_buffer(c, "x", nf * sizeof(float)), bg = ocl_buffer(c, "g", nf * sizeof(float));
    ocl_write(c, bx, 0, xpad, nf * sizeof(float));
    relu *r = relu_create(c, N + 3, C, H, W); // capacity above N: the launch must follow N
    float *out = malloc(nf * sizeof(float)), *first = malloc(nf * sizeof(float));
    float *dense = malloc(cnt * sizeof(float));
    for (int rep = 0; rep < 2; rep++) {
        ocl_write(c, bg, 0, gpad, nf * sizeof(float));
        relu_backward(r, N, bx, bg);
        ocl_read(c, bg, 0, out, nf * sizeof(float));
        if (rep == 0) memcpy(first, out, nf * sizeof(float));
    }
    snprintf(name, sizeof name, "relu bwd N%d C%d %dx%d", N, C, H, W);
    CHECK(memcmp(first, out, nf * sizeof(float)) == 0, "%s: not bit-identical", name);
    ref_unpad(out, N, C, H, W, dense);
    t_compare(name, dense, want, cnt, 0, 0);
    long rm = ref_ring_margin_errors(out, N, C, H, W);
    CHECK(rm == 0, "%s: %ld ring/margin values wrong", name, rm);
    float *xback = malloc(nf * sizeof(float));
    ocl_read(c, bx, 0, xback, nf * sizeof(float));
    CHECK(memcmp(xback, xpad, nf * sizeof(float)) == 0, "%s: x was written", name);
    relu_free(r);
    ocl_free(&bx);
    ocl_free(&bg);
    free(xf);
    free(dyf);
    free(x);
    free(dy);
    free(want);
    free(xpad);
    free(gpad);
    free(out);
    free(first);
    free(dense);
    free(xback);
}

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    ocl_options_from_env(&o); // the cache directory and settings (PIXLOC_KERNEL_PROFILE), as the CLI reads them
    o.quiet = 1;
    ocl_init(&c, &o);
    static const int shapes[][4] = {
        // N, C, H, W: planes of 21, 30, 63, 2704, 195 floats
        {1, 1, 1, 5}, {1, 1, 3, 4}, {3, 3, 7, 5}, {3, 17, 7, 5}, {2, 32, 50, 50}, {5, 7, 13, 11},
    };
    uint64_t rs = 0x2545F4914F6CDD1Dull;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        test_shape(&c, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], &rs);
    ocl_release(&c);
    return t_summary();
}
