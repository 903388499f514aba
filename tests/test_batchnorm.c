// BatchNormalization kernels (cl/batchnorm.cl) against the double reference:
// training / inference / re-estimation forward with the moving-statistics update,
// backward with and without the fused ReLU mask (the plain ReLU backward: test_relu.c); odd
// shapes, NaN-filled rings and margins (never read, ring written as 0, margins
// never written), bit-identical reruns. PIXLOC_TEST_TINY=1: tiny shapes only.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "layout.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "ref_ops.h"
#include "test_util.h"

static cl_mem upload(ocl_ctx *c, const char *name, const float *a, size_t n) {
    cl_mem m = ocl_buffer(c, name, n * sizeof(float));
    ocl_write(c, m, 0, a, n * sizeof(float));
    return m;
}

static double *to_double(const float *a, size_t n) {
    double *d = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

static void test_shape(ocl_ctx *c, int N, int C, int H, int W, int relu, uint64_t *rs) {
    char name[128];
    size_t M = (size_t)N * H * W, cnt = M * C;
    act_layout l = act_layout_make(N, C, H, W);
    size_t nf = act_floats(&l);
    // BN input: a ReLU output (zeros included) when relu, else values with an offset mean.
    float *xf = malloc(cnt * sizeof(float)), *dyf = malloc(cnt * sizeof(float));
    t_fill_uniform(xf, cnt, -1.0f, 2.0f, rs);
    for (size_t i = 0; i < cnt; i++) xf[i] = relu ? (xf[i] > 0 ? xf[i] : 0.0f) : xf[i] + 3.0f;
    t_fill_uniform(dyf, cnt, -1.0f, 1.0f, rs);
    double *x = to_double(xf, cnt), *dy = to_double(dyf, cnt);
    // params: [pad 5][gamma C][pad 3][beta C][pad 2]; stats: [pad 1][mean C][var C]
    size_t go = 5, bo = 5 + C + 3, np = bo + C + 2, mo = 1, vo = 1 + C, ns = 1 + 2 * (size_t)C;
    float *pf = malloc(np * sizeof(float)), *sf = malloc(ns * sizeof(float));
    t_fill_uniform(pf, np, -0.5f, 0.5f, rs);
    t_fill_uniform(pf + go, C, 0.5f, 1.5f, rs);
    t_fill_uniform(sf, ns, -1.0f, 1.0f, rs);
    t_fill_uniform(sf + vo, C, 0.5f, 2.0f, rs);
    double *gamma = to_double(pf + go, C), *beta = to_double(pf + bo, C);

    float *xpad = ref_pad(x, N, C, H, W, NAN, NAN);
    cl_mem bx = upload(c, "x", xpad, nf), bp = upload(c, "params", pf, np);
    cl_mem by = ocl_buffer(c, "y", nf * sizeof(float)), bs = ocl_buffer(c, "stats", ns * sizeof(float));
    cl_mem bg = ocl_buffer(c, "grads", np * sizeof(float)), bdy = ocl_buffer(c, "dy", nf * sizeof(float));
    float *dypad = ref_pad(dy, N, C, H, W, NAN, NAN);
    batchnorm *b = batchnorm_create(c, N + 2, C, H, W); // capacity above N: partial sizing must follow N
    float *yout = malloc(nf * sizeof(float)), *dense = malloc(cnt * sizeof(float));
    float *sout = malloc(ns * sizeof(float)), *first = malloc(nf * sizeof(float));
    double *yref = malloc(cnt * sizeof(double)), *dref = malloc(cnt * sizeof(double));
    double mean[C], var[C], mm[C], mv[C], dg[C], db[C];
    const float momentum = 0.99f, eps = 1e-3f;
    const int k = 3;

    for (int mode = 0; mode <= 2; mode++) {
        for (int rep = 0; rep < 2; rep++) {
            ocl_write(c, bs, 0, sf, ns * sizeof(float));
            ocl_fill_float(c, by, NAN, nf);
            batchnorm_forward(b, N, bx, by, bp, go, bo, bs, mo, vo, mode, momentum, eps, 1.0f / k);
            ocl_read(c, by, 0, yout, nf * sizeof(float));
            if (rep == 0) {
                memcpy(first, yout, nf * sizeof(float));
                continue;
            }
            snprintf(name, sizeof name, "bn fwd mode %d N%d C%d %dx%d bit-identical", mode, N, C, H, W);
            CHECK(memcmp(first, yout, nf * sizeof(float)) == 0, "%s", name);
        }
        for (int i = 0; i < C; i++) {
            mm[i] = sf[mo + i];
            mv[i] = sf[vo + i];
        }
        ref_bn_forward(x, yref, N, C, H, W, gamma, beta, mm, mv, mode, momentum, eps, k, mean, var);
        ref_unpad(yout, N, C, H, W, dense);
        snprintf(name, sizeof name, "bn fwd mode %d N%d C%d %dx%d", mode, N, C, H, W);
        t_compare(name, dense, yref, cnt, 1e-5, 1e-5);
        long rm = ref_ring_margin_errors(yout, N, C, H, W);
        CHECK(rm == 0, "%s: %ld ring/margin values wrong", name, rm);
        ocl_read(c, bs, 0, sout, ns * sizeof(float));
        snprintf(name, sizeof name, "bn moving mean mode %d N%d C%d %dx%d", mode, N, C, H, W);
        t_compare(name, sout + mo, mm, C, 1e-6, 1e-5);
        snprintf(name, sizeof name, "bn moving var mode %d N%d C%d %dx%d", mode, N, C, H, W);
        t_compare(name, sout + vo, mv, C, 1e-6, 1e-5);
    }

    // Backward after a training forward (mode 1 leaves the batch statistics behind).
    ocl_write(c, bs, 0, sf, ns * sizeof(float));
    batchnorm_forward(b, N, bx, by, bp, go, bo, bs, mo, vo, 1, momentum, eps, 0.0f);
    ref_bn_forward(x, yref, N, C, H, W, gamma, beta, mm, mv, 1, momentum, eps, 1, mean, var);
    ref_bn_backward(x, dy, N, C, H, W, gamma, mean, var, eps, relu, dref, dg, db);
    float *gout = malloc(np * sizeof(float)), *gfirst = malloc(np * sizeof(float));
    for (int rep = 0; rep < 2; rep++) {
        ocl_write(c, bdy, 0, dypad, nf * sizeof(float));
        ocl_fill_float(c, bg, NAN, np);
        batchnorm_backward(b, N, bx, bdy, bp, go, bg, go, bo, relu);
        ocl_read(c, bdy, 0, yout, nf * sizeof(float));
        ocl_read(c, bg, 0, gout, np * sizeof(float));
        if (rep == 0) {
            memcpy(first, yout, nf * sizeof(float));
            memcpy(gfirst, gout, np * sizeof(float));
        }
    }
    snprintf(name, sizeof name, "bn bwd relu%d N%d C%d %dx%d", relu, N, C, H, W);
    CHECK(memcmp(first, yout, nf * sizeof(float)) == 0 && memcmp(gfirst, gout, np * sizeof(float)) == 0,
          "%s: not bit-identical", name);
    ref_unpad(yout, N, C, H, W, dense);
    // dx is a difference of O(1) terms scaled by gamma/std: float rounding ~1e-6 of that.
    t_compare(name, dense, dref, cnt, 2e-5, 1e-4);
    long rm = ref_ring_margin_errors(yout, N, C, H, W);
    CHECK(rm == 0, "%s: %ld ring/margin values wrong", name, rm);
    // dgamma, dbeta: sums of M terms of size ~1 (float accumulation error ~ sqrt(M)*1e-7*...).
    snprintf(name, sizeof name, "bn dgamma N%d C%d %dx%d", N, C, H, W);
    t_compare(name, gout + go, dg, C, 1e-6 * sqrt((double)M) * 10, 1e-5);
    snprintf(name, sizeof name, "bn dbeta N%d C%d %dx%d", N, C, H, W);
    t_compare(name, gout + bo, db, C, 1e-6 * sqrt((double)M) * 10, 1e-5);
    int untouched = 1;
    for (size_t i = 0; i < np; i++)
        if (!((i >= go && i < go + C) || (i >= bo && i < bo + C)) && !isnan(gout[i])) untouched = 0;
    CHECK(untouched, "bn bwd wrote gradient entries outside dgamma/dbeta");

    batchnorm_free(b);
    cl_mem *bufs[] = {&bx, &bp, &by, &bs, &bg, &bdy};
    for (size_t i = 0; i < 6; i++) ocl_free(bufs[i]);
    free(xf);
    free(dyf);
    free(x);
    free(dy);
    free(pf);
    free(sf);
    free(gamma);
    free(beta);
    free(xpad);
    free(dypad);
    free(yout);
    free(dense);
    free(sout);
    free(first);
    free(yref);
    free(dref);
    free(gout);
    free(gfirst);
}

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    ocl_options_from_env(&o); // the cache directory and settings, as the CLI reads them
    o.quiet = 1;
    ocl_init(&c, &o);
    const char *tiny = getenv("PIXLOC_TEST_TINY");
    int only_tiny = tiny && *tiny && strcmp(tiny, "0") != 0;
    static const int shapes[][4] = {
        // N, C, H, W   (tiny ones first)
        {1, 1, 7, 5}, {3, 3, 7, 5}, {1, 17, 3, 4}, {3, 17, 7, 5}, {2, 32, 50, 50}, {64, 3, 16, 16}, {5, 128, 13, 11},
    };
    int nshapes = only_tiny ? 4 : (int)(sizeof shapes / sizeof shapes[0]);
    uint64_t rs = 0x9E3779B97F4A7C15ull;
    for (int s = 0; s < nshapes; s++)
        for (int relu = 0; relu <= 1; relu++)
            test_shape(&c, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], relu, &rs);
    ocl_release(&c);
    return t_summary();
}
