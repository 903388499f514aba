// Launchers of the Winograd F(2x2,3x3) kernels in cl/conv_winograd.cl.
//
// As in host/conv.c, one layer shape builds two programs: forward (CIN=Cin,
// COUT=Cout, bias) and input gradient (CIN=Cout, COUT=Cin, FLIP=1: the same
// convolution on dy with the weights flipped in space and transposed in
// channels). A call transforms the weights (U, 16 x CIN x COUTP floats, cheap),
// then runs the batch in chunks of `nb` images: input transform into V, 16
// batched GEMMs into M, output transform into the padded output. V and M hold
// one chunk (16 x channels x tiles each), so a chunk's scratch can stay in cache.
#include "conv_winograd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "pixloc.h"

// Defaults for fields left 0 (measured with the former bench/bench_conv.c on PoCL 3.1, Zen 4).
enum { WINO_TN = 4, WINO_NB = 1 }; // host/conv.c's DEFAULTS_WINO has the measured tile_co (4)

typedef struct {
    cl_program prog;
    cl_kernel weights, input, gemm, output;
    int cin, cout, tco, coutp;
} wino_dir;

struct conv_wino {
    ocl_ctx *c;
    int max_N, H, W, TH, TW, nb, tn, wg;
    size_t tstride; // floats per (xi, channel) row of V and M
    wino_dir f, b;  // forward, input gradient
    cl_mem u, v, m; // transformed weights, inputs, products
};

static size_t tco_for(int tile_co, int cout);

// The options of the program of direction (cin, cout, flip).
static void dir_options(const conv_wino *k, int cin, int cout, int flip, int tile_co, char *opt, size_t n) {
    act_layout l = act_layout_make(k->max_N, cin, k->H, k->W);
    snprintf(opt, n,
             "-DCIN=%d -DCOUT=%d -DIMG_H=%d -DIMG_W=%d -DMARGIN=%zu -DFLIP=%d -DHAS_BIAS=%d -DTCO=%d -DTN=%d "
             "-DTSTRIDE=%zu",
             cin, cout, k->H, k->W, l.margin, flip, !flip, (int)tco_for(tile_co, cout), k->tn, k->tstride);
}

static void dir_init(conv_wino *k, wino_dir *d, int cin, int cout, int flip, int tile_co) {
    int t = (int)tco_for(tile_co, cout);
    d->cin = cin;
    d->cout = cout;
    d->tco = t;
    d->coutp = (int)ocl_round_up((size_t)cout, (size_t)t);
    char opt[512];
    dir_options(k, cin, cout, flip, tile_co, opt, sizeof opt);
    d->prog = ocl_program(k->c, "conv_winograd.cl", opt);
    d->weights = ocl_kernel(k->c, d->prog, "wino_weights");
    d->input = ocl_kernel(k->c, d->prog, "wino_input");
    d->gemm = ocl_kernel(k->c, d->prog, "wino_gemm");
    d->output = ocl_kernel(k->c, d->prog, "wino_output");
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }
static size_t tco_for(int tile_co, int cout) {
    int t = tile_co;
    while (t > 4 && t / 2 >= cout) t /= 2; // as host/conv.c's tile_for
    return (size_t)t;
}
static int nb_for(const conv3x3_params *p, int max_N) {
    int nb = p->wino_nb > 0 ? p->wino_nb : WINO_NB;
    return nb > max_N ? max_N : nb;
}
// A chunk's tiles, rounded up to whole GEMM blocks, plus the 15 tiles the
// output transform's last vector load may read past them.
static size_t tstride_for(const conv3x3_params *p, int max_N, int H, int W) {
    int tn = p->wino_tn > 0 ? p->wino_tn : WINO_TN;
    size_t tiles = (size_t)nb_for(p, max_N) * ((H + 1) / 2) * ((W + 1) / 2);
    return ocl_round_up(ocl_round_up(tiles, 16 * (size_t)tn) + 16, 16);
}

void conv_wino_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out) {
    size_t tstride = tstride_for(p, max_N, H, W);
    size_t coutp_f = ocl_round_up((size_t)Cout, tco_for(p->tile_co, Cout));
    size_t coutp_b = ocl_round_up((size_t)Cin, tco_for(p->tile_co, Cin));
    size_t nu = 16 * max_sz((size_t)Cin * coutp_f, (size_t)Cout * coutp_b);
    // 16 blocks of channels x tstride floats, each padded by 16 (VXS, MXS in the kernels).
    size_t nv = 16 * (max_sz((size_t)Cin, (size_t)Cout) * tstride + 16);
    size_t nm = 16 * (max_sz(coutp_f, coutp_b) * tstride + 16);
    nn_buffers_add(out, "winograd weights", nu * sizeof(float), 0);
    nn_buffers_add(out, "winograd inputs", nv * sizeof(float), NN_INT_INDEXED_LIMIT);
    nn_buffers_add(out, "winograd products", nm * sizeof(float), NN_INT_INDEXED_LIMIT);
}

// The fields conv_wino_create derives from the shape and parameters.
static void shape_init(conv_wino *k, ocl_ctx *c, int max_N, int H, int W, const conv3x3_params *p) {
    k->c = c;
    k->max_N = max_N;
    k->H = H;
    k->W = W;
    k->TH = (H + 1) / 2;
    k->TW = (W + 1) / 2;
    k->tn = p->wino_tn > 0 ? p->wino_tn : WINO_TN;
    k->nb = nb_for(p, max_N);
    k->wg = p->wg > 0 ? p->wg : 1;
    if ((size_t)k->wg > c->max_wg) k->wg = (int)c->max_wg;
    k->tstride = tstride_for(p, max_N, H, W);
}

void conv_wino_prefetch(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p) {
    if (p->tile_co < 1 || p->wino_tn > 4) return; // conv_wino_create refuses these
    conv_wino k;
    memset(&k, 0, sizeof k);
    shape_init(&k, c, max_N, H, W, p);
    char opt[512];
    dir_options(&k, Cin, Cout, 0, p->tile_co, opt, sizeof opt);
    ocl_program_prefetch(c, "conv_winograd.cl", opt);
    dir_options(&k, Cout, Cin, 1, p->tile_co, opt, sizeof opt);
    ocl_program_prefetch(c, "conv_winograd.cl", opt);
}

conv_wino *conv_wino_create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p) {
    conv_wino *k = px_calloc(1, sizeof *k, "conv_wino");
    shape_init(k, c, max_N, H, W, p);
    if (p->tile_co < 1 || k->tn > 4) px_die(PX_EXIT_FAIL, "conv3x3 winograd: bad tuning parameters");
    // (host/conv.c's create has already rejected these for conv3x3_create_try.)
    dir_init(k, &k->f, Cin, Cout, 0, p->tile_co);
    dir_init(k, &k->b, Cout, Cin, 1, p->tile_co);
    nn_buffers bl = {0};
    conv_wino_buffers(p, max_N, Cin, Cout, H, W, &bl);
    if (bl.b[1].bytes > bl.b[1].limit || bl.b[2].bytes > bl.b[2].limit)
        px_die(PX_EXIT_FAIL, "conv3x3 winograd: scratch for %d images of %dx%d too large", k->nb, H, W);
    k->u = ocl_buffer(c, bl.b[0].name, bl.b[0].bytes);
    k->v = ocl_buffer(c, bl.b[1].name, bl.b[1].bytes);
    k->m = ocl_buffer(c, bl.b[2].name, bl.b[2].bytes);
    return k;
}

void conv_wino_free(conv_wino *k) {
    if (!k) return;
    wino_dir *ds[2] = {&k->f, &k->b};
    for (int i = 0; i < 2; i++) {
        cl_kernel ks[] = {ds[i]->weights, ds[i]->input, ds[i]->gemm, ds[i]->output};
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++)
            if (ks[j]) clReleaseKernel(ks[j]);
    }
    for (int i = 0; i < 2; i++) ocl_program_release(k->c, &ds[i]->prog); // this layer's programs
    ocl_free(&k->u);
    ocl_free(&k->v);
    ocl_free(&k->m);
    free(k);
}

static void run(conv_wino *k, wino_dir *d, int N, cl_mem in, cl_mem w, int w_off, cl_mem b, int b_off, cl_mem out,
                int relu) {
    KARG(d->weights, 0, w);
    KARG(d->weights, 1, w_off);
    KARG(d->weights, 2, k->u);
    // Work-groups of many work-items: PoCL pays a fixed cost per work-group.
    size_t gw[2] = {(size_t)d->coutp, (size_t)d->cin}, lw[2] = {(size_t)d->coutp, 1};
    ocl_run(k->c, d->weights, 2, gw, (size_t)d->coutp <= k->c->max_wg ? lw : NULL);

    KARG(d->input, 0, in);
    KARG(d->input, 2, k->v);
    KARG(d->gemm, 0, k->v);
    KARG(d->gemm, 1, k->u);
    KARG(d->gemm, 2, k->m);
    KARG(d->output, 0, k->m);
    KARG(d->output, 2, b);
    KARG(d->output, 3, b_off);
    KARG(d->output, 4, out);
    KARG(d->output, 5, relu);
    // The transforms: a work-item per plane, work-groups of one (the work is in the loops).
    size_t one = 1;
    for (int n0 = 0; n0 < N; n0 += k->nb) {
        int nimg = N - n0 < k->nb ? N - n0 : k->nb;
        KARG(d->input, 1, n0);
        size_t gi = (size_t)nimg * d->cin;
        ocl_run(k->c, d->input, 1, &gi, &one);

        int nblocks = (int)(((size_t)nimg * k->TH * k->TW + 16 * (size_t)k->tn - 1) / (16 * (size_t)k->tn));
        KARG(d->gemm, 3, nblocks);
        size_t wg = (size_t)k->wg;
        size_t gg[3] = {ocl_round_up((size_t)nblocks, wg), (size_t)(d->coutp / d->tco), 16};
        size_t lg[3] = {wg, 1, 1};
        ocl_run(k->c, d->gemm, 3, gg, lg);

        KARG(d->output, 1, n0);
        size_t go = (size_t)nimg * d->cout;
        ocl_run(k->c, d->output, 1, &go, &one);
    }
}

void conv_wino_forward(conv_wino *k, int N, cl_mem x, cl_mem w, int w_off, cl_mem b, int b_off, cl_mem y, int relu) {
    run(k, &k->f, N, x, w, w_off, b, b_off, y, relu);
}

void conv_wino_backward_input(conv_wino *k, int N, cl_mem dy, cl_mem w, int w_off, cl_mem dx) {
    // No bias (HAS_BIAS=0): the bias argument is unused, any buffer will do.
    run(k, &k->b, N, dy, w, w_off, k->u, 0, dx, 0);
}
