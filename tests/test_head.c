// Heatmap head kernels (cl/head.cl) against the double reference: 1x1 conv +
// bias + sigmoid forward, MSE and cross-entropy losses and MAE, backward (dW, db, dX) of both. Odd shapes,
// NaN-filled rings/margins and outputs, bit-identical reruns, gradient entries
// outside the head's untouched. PIXLOC_TEST_TINY=1: tiny shapes only.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "head.h"
#include "layout.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "ref_ops.h"
#include "test_util.h"

static void test_shape(ocl_ctx *c, int loss_kind, int N, int Cin, int H, int W, uint64_t *rs) {
    char name[128];
    size_t T = (size_t)N * H * W, cnt = T * Cin;
    act_layout l = act_layout_make(N, Cin, H, W);
    size_t nf = act_floats(&l);
    float *xf = malloc(cnt * sizeof(float)), *tf = malloc(T * sizeof(float));
    t_fill_uniform(xf, cnt, -1.0f, 2.0f, rs);
    t_fill_uniform(tf, T, 0.0f, 1.0f, rs);
    double *x = malloc(cnt * sizeof(double)), *t = malloc(T * sizeof(double));
    for (size_t i = 0; i < cnt; i++) x[i] = xf[i];
    for (size_t i = 0; i < T; i++) t[i] = tf[i];
    // params: [pad 7][w Cin][pad 1][b][pad 4]
    size_t wo = 7, bo = 7 + Cin + 1, np = bo + 5;
    float *pf = malloc(np * sizeof(float));
    t_fill_uniform(pf, np, -0.6f, 0.6f, rs);
    double w[Cin], b = pf[bo];
    for (int i = 0; i < Cin; i++) w[i] = pf[wo + i];

    float *xpad = ref_pad(x, N, Cin, H, W, NAN, NAN);
    cl_mem bx = ocl_buffer(c, "x", nf * sizeof(float)), bp = ocl_buffer(c, "params", np * sizeof(float));
    cl_mem bt = ocl_buffer(c, "t", T * sizeof(float)), bs = ocl_buffer(c, "s", T * sizeof(float));
    cl_mem bg = ocl_buffer(c, "grads", np * sizeof(float)), bdx = ocl_buffer(c, "dx", nf * sizeof(float));
    ocl_write(c, bx, 0, xpad, nf * sizeof(float));
    ocl_write(c, bp, 0, pf, np * sizeof(float));
    ocl_write(c, bt, 0, tf, T * sizeof(float));
    head *h = head_create(c, N + 1, Cin, H, W);
    head_set_loss(h, loss_kind);
    const char *ln = net_loss_name(loss_kind);

    float *s = malloc(T * sizeof(float)), *s1 = malloc(T * sizeof(float));
    float *dx = malloc(nf * sizeof(float)), *dx1 = malloc(nf * sizeof(float));
    float *g = malloc(np * sizeof(float)), *g1 = malloc(np * sizeof(float));
    float *dense = malloc(cnt * sizeof(float));
    float loss[2], mae[2];
    for (int rep = 0; rep < 2; rep++) {
        ocl_fill_float(c, bs, NAN, T);
        ocl_fill_float(c, bg, NAN, np);
        ocl_fill_float(c, bdx, NAN, nf);
        head_forward(h, N, bx, bp, wo, bo, bs);
        head_loss(h, N, bs, bt, &loss[rep], &mae[rep]);
        head_backward(h, N, bx, bs, bt, bp, wo, bg, wo, bo, bdx);
        ocl_read(c, bs, 0, rep ? s1 : s, T * sizeof(float));
        ocl_read(c, bdx, 0, rep ? dx1 : dx, nf * sizeof(float));
        ocl_read(c, bg, 0, rep ? g1 : g, np * sizeof(float));
    }
    snprintf(name, sizeof name, "head N%d Cin%d %dx%d", N, Cin, H, W);
    CHECK(memcmp(s, s1, T * sizeof(float)) == 0 && memcmp(dx, dx1, nf * sizeof(float)) == 0 &&
              memcmp(g, g1, np * sizeof(float)) == 0 && loss[0] == loss[1] && mae[0] == mae[1],
          "%s: reruns not bit-identical", name);

    double *sref = malloc(T * sizeof(double)), *dxref = malloc(cnt * sizeof(double));
    double dw[Cin], db, mse_ref, mae_ref;
    ref_head_forward(x, w, b, N, Cin, H, W, sref);
    ref_loss_mae(loss_kind, sref, t, T, &mse_ref, &mae_ref);
    ref_head_backward(loss_kind, x, w, sref, t, N, Cin, H, W, dw, &db, dxref);
    snprintf(name, sizeof name, "head fwd N%d Cin%d %dx%d", N, Cin, H, W);
    t_compare(name, s, sref, T, 1e-6, 1e-5);
    snprintf(name, sizeof name, "head %s loss N%d Cin%d %dx%d", ln, N, Cin, H, W);
    t_compare(name, &loss[0], &mse_ref, 1, 0, 1e-5);
    snprintf(name, sizeof name, "head %s mae N%d Cin%d %dx%d", ln, N, Cin, H, W);
    t_compare(name, &mae[0], &mae_ref, 1, 0, 1e-5);
    // dW, db: sums of T terms of size ~1/T; dx: single products.
    snprintf(name, sizeof name, "head %s dW N%d Cin%d %dx%d", ln, N, Cin, H, W);
    t_compare(name, g + wo, dw, Cin, 1e-7, 1e-4);
    snprintf(name, sizeof name, "head %s db N%d Cin%d %dx%d", ln, N, Cin, H, W);
    t_compare(name, g + bo, &db, 1, 1e-7, 1e-4);
    ref_unpad(dx, N, Cin, H, W, dense);
    double dxmax = 0;
    for (size_t i = 0; i < cnt; i++) dxmax = fmax(dxmax, fabs(dxref[i]));
    snprintf(name, sizeof name, "head %s dX N%d Cin%d %dx%d", ln, N, Cin, H, W);
    t_compare(name, dense, dxref, cnt, 1e-5 * dxmax, 1e-4);
    long rm = ref_ring_margin_errors(dx, N, Cin, H, W);
    CHECK(rm == 0, "%s: %ld ring/margin values of dX wrong", name, rm);
    int untouched = 1;
    for (size_t i = 0; i < np; i++)
        if (!((i >= wo && i < wo + Cin) || i == bo) && !isnan(g[i])) untouched = 0;
    CHECK(untouched, "%s: gradient entries outside dW/db written", name);

    head_free(h);
    cl_mem *bufs[] = {&bx, &bp, &bt, &bs, &bg, &bdx};
    for (size_t i = 0; i < 6; i++) ocl_free(bufs[i]);
    free(xf);
    free(tf);
    free(x);
    free(t);
    free(pf);
    free(xpad);
    free(s);
    free(s1);
    free(dx);
    free(dx1);
    free(g);
    free(g1);
    free(dense);
    free(sref);
    free(dxref);
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
        {1, 1, 7, 5}, {3, 3, 7, 5}, {3, 17, 6, 9}, {2, 1, 1, 1}, {2, 32, 50, 50}, {64, 32, 16, 16}, {7, 5, 31, 3},
    };
    int nshapes = only_tiny ? 4 : (int)(sizeof shapes / sizeof shapes[0]);
    uint64_t rs = 12345;
    for (int loss = NET_LOSS_MSE; loss <= NET_LOSS_BCE; loss++)
        for (int s = 0; s < nshapes; s++)
            test_shape(&c, loss, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], &rs);
    ocl_release(&c);
    return t_summary();
}
