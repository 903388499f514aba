// Launchers of the Winograd F(2x2,3x3) and F(4x4,3x3) kernels in cl/conv_winograd.cl
// (the output tile side m of each direction, p->wino_m for the forward, p->wino_m_dx for
// the input gradient and p->wino_m_dw for the weight gradient: 16 or 36 GEMMs per chunk,
// "NXI" below).
//
// With wino_dw, the forward program also holds the weight-gradient kernels: per chunk the
// input transform into V (as the forward), the gradient transform of dY into the products
// buffer, NXI GEMMs summed over the tiles into S (added chunk after chunk), and at the end
// dw = G^T S G and db. Where the weight gradient's tile side differs from the forward's, its
// kernels are a third program (WM = its side), with its own tiles of the chunk (V holds either).
//
// As in host/conv.c, one layer shape builds two programs: forward (CIN=Cin,
// COUT=Cout, bias) and input gradient (CIN=Cout, COUT=Cin, FLIP=1: the same
// convolution on dy with the weights flipped in space and transposed in
// channels). The GEMMs are not in them: cl/wino_gemm.cl takes the shapes as launch
// arguments, so every layer, direction and tile side with the same register tile shares one
// program (gemm_options): on PoCL a network compiles wino_gemm and wino_dw_gemm once each
// instead of once per layer and direction (the default network's first step: 49 kernels, not 53;
// the seed network's: 8 and 4 instances become one each), with the same machine code in the
// inner loops and the same bits. A call transforms the weights (U, 16 x CIN x COUTP floats, cheap),
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
enum { WINO_TN = 4, WINO_NB = 1 };           // host/conv.c's DEFAULTS_WINO has the measured tile_co (4)
#define WD_CHUNK_BYTES  (10.0 * 1024 * 1024) // the F(4x4) weight gradient's chunk: V and Z at most this (wd_nb_for)
#define WINO_WEIGHTS_WG 256 // wino_weights, wino_dw_output: work-groups of all (at most this many) channels
#define WINO_GPU_EW     256 // GPU transforms: work-items per group

typedef struct {
    cl_program prog, gemm_prog; // this direction's transforms; the shared GEMM (cl/wino_gemm.cl)
    cl_kernel weights, input, gemm, output;
    cl_kernel outin; // CPUs: a chunk's output transform with the next chunk's input transform
    int cin, cout, tco, coutp;
    int m, tiles; // output tile side, tiles per image
    int tstride;  // floats per scratch row (the program's TSTRIDE, the GEMM's ts argument)
} wino_dir;

struct conv_wino {
    ocl_ctx *c;
    int max_N, H, W, nb, tn, wg;
    wino_dir f, b; // forward, input gradient (b unbuilt when fwd_only)
    int fwd_only;
    cl_mem u, v, m_; // transformed weights, inputs, products
    // wino_dw (a training layer): the weight-gradient kernels (of f's program, or of wd_prog
    // where their tile side wd_m is not the forward's, with its own input transform wd_input),
    // their tiles per image, their GEMM tile (input x output channels) and the sums S (NXI x
    // Cin x Cout, then Cout).
    int wd, wd_m, wd_nb, wd_tci, wd_tco, wd_tiles, wd_tstride;
    cl_program wd_prog, wd_gemm_prog;
    cl_kernel wd_input, dy, dw_gemm, db, dw_output;
    cl_mem s;
    // p->bn_in (a training layer after a batch norm): that batch norm's state, whose scale and
    // shift the input transforms of the forward and the weight gradient apply (conv3x3_set_input_bn).
    int bn_in;
    cl_mem bn;
    // p->bn_stats (a training layer before a batch norm): that batch norm's interior mask and
    // per-plane sums, which the forward's output transform writes (conv3x3_set_output_bn).
    int bn_stats;
    cl_mem bn_mask, bn_psum, bn_pm2;
    float inv_hw;
};

static size_t tco_for(int tile_co, int cout);

int conv_wino_tn(const conv3x3_params *p) { return p->wino_tn > 0 ? p->wino_tn : WINO_TN; }
int conv_wino_m(const conv3x3_params *p) { return p->wino_m == 4 ? 4 : 2; }
int conv_wino_m_dx(const conv3x3_params *p) { return p->wino_m_dx == 4 ? 4 : 2; }
int conv_wino_m_dw(const conv3x3_params *p) { return p->wino_m_dw == 4 ? 4 : 2; }
static int nxi_of(int m) { return (m + 2) * (m + 2); }
// Output tiles of side m per H x W image (partial ones at the right and bottom edges included).
static int tiles_per_image(int H, int W, int m) { return ((H + m - 1) / m) * ((W + m - 1) / m); }
static int nb_for(const conv3x3_params *p, int max_N);
static int wd_nb_for(const conv3x3_params *p, int max_N, int H, int W, int Cin, int Cout);
static size_t tstride_for(const conv3x3_params *p, int nb, int H, int W, int m);
static size_t dir_tstride(const conv3x3_params *p, int max_N, int H, int W, int cin, int cout, int wd, int m);

// The options of one direction's program (this program's cin -> cout; flip: the input gradient;
// m: the output tile side). bn_fused (an inference network's forward: the next batch norm in
// the epilogue), wd (the Winograd weight gradient's kernels; wd_only: those alone), m = 4 and BN_IN (p->bn_in, the
// forward's and the weight gradient's input transforms) are appended last, so the other
// programs' options (and cache keys) do not change.
static void program_options(const conv3x3_params *p, int max_N, int H, int W, int cin, int cout, int flip, int bn_fused,
                            int wd, int wd_only, int m, char *opt, size_t len) {
    snprintf(opt, len,
             "-DCIN=%d -DCOUT=%d -DIMG_H=%d -DIMG_W=%d -DMARGIN=%zu -DFLIP=%d -DHAS_BIAS=%d -DTCO=%d -DTSTRIDE=%zu",
             cin, cout, H, W, (size_t)ACT_MARGIN(W), flip, !flip, (int)tco_for(p->tile_co, cout),
             dir_tstride(p, max_N, H, W, cin, cout, wd, m));
    if (bn_fused) {
        size_t used = strlen(opt);
        snprintf(opt + used, len - used, " -DBN_FUSED=1");
    }
    if (wd) {
        size_t used = strlen(opt);
        snprintf(opt + used, len - used, " -DWINO_DW=1%s", wd_only ? " -DWD_ONLY=1" : "");
    }
    if (m != 2) {
        size_t used = strlen(opt);
        snprintf(opt + used, len - used, " -DWM=%d", m);
    }
    if (p->bn_in && !flip) {
        size_t used = strlen(opt);
        snprintf(opt + used, len - used, " -DBN_IN=1");
    }
    if (p->bn_stats && !flip) { // (also in a separate weight-gradient program, whose output kernel never runs)
        size_t used = strlen(opt);
        snprintf(opt + used, len - used, " -DBN_STATS=1");
    }
}

// The options of the shared GEMM programs (cl/wino_gemm.cl): which = 1, wino_gemm for a
// direction whose output channels are cout; which = 2, the weight gradient's wino_dw_gemm.
// Only the register tile is a define, so layers and directions with the same tile share one.
static void gemm_options(const conv3x3_params *p, int cout, int which, char *opt, size_t len) {
    if (which == 1)
        snprintf(opt, len, "-DWINO_GEMM=1 -DTCO=%d -DTN=%d", (int)tco_for(p->tile_co, cout), conv_wino_tn(p));
    else
        snprintf(opt, len, "-DWINO_GEMM=2 -DWD_TCI=%d -DWD_TCO=%d", p->dw_tk, p->dw_tc);
}

// 1 if the weight-gradient kernels are a program of their own (their tile side or chunk is not
// the forward's).
static int wd_separate(const conv3x3_params *p, int max_N, int H, int W, int Cin, int Cout) {
    return p->wino_dw &&
           (conv_wino_m(p) != conv_wino_m_dw(p) || wd_nb_for(p, max_N, H, W, Cin, Cout) != nb_for(p, max_N));
}

void conv_wino_programs(const ocl_target *t, const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W,
                        ocl_program_list *out) {
    char opt[OCL_PROGRAM_OPTIONS_MAX];
    int sep = wd_separate(p, max_N, H, W, Cin, Cout);
    program_options(p, max_N, H, W, Cin, Cout, 0, 0, p->wino_dw && !sep, 0, conv_wino_m(p), opt, sizeof opt);
    ocl_program_list_add(out, t, "conv_winograd.cl", opt);
    gemm_options(p, Cout, 1, opt, sizeof opt);
    ocl_program_list_add(out, t, "wino_gemm.cl", opt);
    program_options(p, max_N, H, W, Cout, Cin, 1, 0, 0, 0, conv_wino_m_dx(p), opt, sizeof opt);
    ocl_program_list_add(out, t, "conv_winograd.cl", opt);
    gemm_options(p, Cin, 1, opt, sizeof opt);
    ocl_program_list_add(out, t, "wino_gemm.cl", opt);
    if (sep) {
        program_options(p, max_N, H, W, Cin, Cout, 0, 0, 1, 1, conv_wino_m_dw(p), opt, sizeof opt);
        ocl_program_list_add(out, t, "conv_winograd.cl", opt);
    }
    if (p->wino_dw) {
        gemm_options(p, Cout, 2, opt, sizeof opt);
        ocl_program_list_add(out, t, "wino_gemm.cl", opt);
    }
}

static void dir_init(conv_wino *k, wino_dir *d, const conv3x3_params *p, int cin, int cout, int flip, int bn_fused,
                     int wd, int m) {
    int t = (int)tco_for(p->tile_co, cout);
    d->m = m;
    d->tiles = tiles_per_image(k->H, k->W, m);
    d->cin = cin;
    d->cout = cout;
    d->tco = t;
    d->coutp = (int)ocl_round_up((size_t)cout, (size_t)t);
    d->tstride = (int)dir_tstride(p, k->max_N, k->H, k->W, cin, cout, wd, m);
    char opt[OCL_PROGRAM_OPTIONS_MAX];
    program_options(p, k->max_N, k->H, k->W, cin, cout, flip, bn_fused, wd, 0, m, opt, sizeof opt);
    d->prog = ocl_program(k->c, "conv_winograd.cl", opt);
    d->weights = ocl_kernel(k->c, d->prog, "wino_weights");
    gemm_options(p, cout, 1, opt, sizeof opt);
    d->gemm_prog = ocl_program(k->c, "wino_gemm.cl", opt);
    d->gemm = ocl_kernel(k->c, d->gemm_prog, "wino_gemm");
    if (k->c->target.gpu) { // (CPUs run both transforms as wino_output_input: run_outin)
        d->input = ocl_kernel(k->c, d->prog, "wino_input");
        d->output = ocl_kernel(k->c, d->prog, "wino_output");
    } else {
        d->outin = ocl_kernel(k->c, d->prog, "wino_output_input");
    }
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
// The weight gradient's chunk: wino_nb_dw images, by default the forward's, but with F(4x4) as
// many images as keep the chunk's V and Z (36 x (Cin + Cout) x tiles floats) within
// WD_CHUNK_BYTES, at least one. One 50x50 image's 169 tiles make a short GEMM (its lane sums and
// the S update cost as much as its loop while they were one hsum16 per (ci, co) pair), long
// chunks spill V and Z out of the caches. Measured with `pixloc bench` (PoCL 3.1, 2-core Zen 4,
// L2 1 MiB per core, L3 32 MiB; seed network at batch 64, 50x50; weight-gradient ms, best of 4
// interleaved rounds) for budgets of 6/10/15/20 MiB, which give chunks of 1/2/3/4 images at
// 64->128 and 128->64 and of 2/4/6/8 at 32->64 and 64->32: 64->128 63.6/58.1/59.4/59.1,
// 128->64 65.1/60.1/62.1/64.3, 32->64 21.9/20.6/20.1/21.3, 64->32 22.5/20.4/20.5/24.9; training
// 113/117/114/114 samples/s (medians). Chunks of 8 images (the former rule, below): 64->128 71.6,
// 128->64 78.0 in another such run. (The former rule, chunks of at least 1300 tiles, was measured
// on a 2-core Xeon with 2 MiB of L2 per core, 1/4/8/16 images 86/62/55/72 ms at 64->128, when each
// (ci, co) pair's lane sum was a separate hsum16.) Counted in bytes, so that large images and
// wide layers keep one-image chunks (the scratch grows with the chunk's tiles).
static int wd_nb_for(const conv3x3_params *p, int max_N, int H, int W, int Cin, int Cout) {
    int nb = p->wino_nb_dw > 0 ? p->wino_nb_dw : nb_for(p, max_N);
    if (p->wino_nb_dw <= 0 && conv_wino_m_dw(p) == 4) {
        double per_image = (double)nxi_of(4) * (Cin + Cout) * tiles_per_image(H, W, 4) * sizeof(float);
        nb = (int)(WD_CHUNK_BYTES / per_image);
        if (nb < 1) nb = 1;
    }
    return nb > max_N ? max_N : nb;
}
// A chunk's tiles (of side m), rounded up to whole GEMM blocks, plus the 15 tiles the
// output transform's last vector load may read past them.
static size_t tstride_for(const conv3x3_params *p, int nb, int H, int W, int m) {
    int tn = conv_wino_tn(p);
    size_t tiles = (size_t)nb * (size_t)tiles_per_image(H, W, m);
    return ocl_round_up(ocl_round_up(tiles, 16 * (size_t)tn) + 16, 16);
}
// The scratch row stride of a program of cin -> cout at tile side m: chunks of the weight
// gradient's images where it holds the weight-gradient kernels (wd), else of the forward's.
static size_t dir_tstride(const conv3x3_params *p, int max_N, int H, int W, int cin, int cout, int wd, int m) {
    return tstride_for(p, wd ? wd_nb_for(p, max_N, H, W, cin, cout) : nb_for(p, max_N), H, W, m);
}

// fwd_only: the forward direction's sizes alone.
static void buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, int fwd_only,
                    nn_buffers *out) {
    // Per direction (forward: Cin -> Cout at m_f; input gradient: Cout -> Cin at m_b; the weight
    // gradient: Cin and Cout rows at m_w), NXI blocks of channels x tstride floats, each padded
    // by 16 (VXS, MXS in the kernels); each buffer holds the largest.
    int mf = conv_wino_m(p), mb = conv_wino_m_dx(p), mw = conv_wino_m_dw(p);
    size_t xf = (size_t)nxi_of(mf), xb = (size_t)nxi_of(mb);
    int nb = nb_for(p, max_N);
    size_t tf = tstride_for(p, nb, H, W, mf), tb = tstride_for(p, nb, H, W, mb);
    size_t coutp_f = ocl_round_up((size_t)Cout, tco_for(p->tile_co, Cout));
    size_t coutp_b = ocl_round_up((size_t)Cin, tco_for(p->tile_co, Cin));
    size_t nu = xf * (size_t)Cin * coutp_f;
    size_t nv = xf * ((size_t)Cin * tf + 16);
    size_t nm = xf * (coutp_f * tf + 16);
    if (!fwd_only) {
        nu = max_sz(nu, xb * (size_t)Cout * coutp_b);
        nv = max_sz(nv, xb * ((size_t)Cout * tb + 16));
        nm = max_sz(nm, xb * (coutp_b * tb + 16));
        if (wd_separate(p, max_N, H, W, Cin, Cout)) { // the weight gradient's V (Cin rows) and Z (Cout rows)
            size_t tw = tstride_for(p, wd_nb_for(p, max_N, H, W, Cin, Cout), H, W, mw), xw = (size_t)nxi_of(mw);
            nv = max_sz(nv, xw * ((size_t)Cin * tw + 16));
            nm = max_sz(nm, xw * (coutp_f * tw + 16));
        }
    }
    nn_buffers_add(out, "winograd weights", nu * sizeof(float), 0);
    nn_buffers_add(out, "winograd inputs", nv * sizeof(float), NN_INT_INDEXED_LIMIT);
    nn_buffers_add(out, "winograd products", nm * sizeof(float), NN_INT_INDEXED_LIMIT);
    if (!fwd_only && p->wino_dw)
        nn_buffers_add(out, "winograd weight-gradient sums",
                       ((size_t)nxi_of(mw) * Cin * Cout + (size_t)Cout) * sizeof(float), NN_INT_INDEXED_LIMIT);
}

void conv_wino_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out) {
    buffers(p, max_N, Cin, Cout, H, W, 0, out);
}

void conv_wino_forward_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out) {
    buffers(p, max_N, Cin, Cout, H, W, 1, out);
}

conv_wino *conv_wino_create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p) {
    return conv_wino_create_for(c, max_N, Cin, Cout, H, W, p, 0, 0);
}

conv_wino *conv_wino_create_for(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p,
                                int fwd_only, int bn_fused) {
    conv_wino *k = px_calloc(1, sizeof *k, "conv_wino");
    k->c = c;
    k->max_N = max_N;
    k->H = H;
    k->W = W;
    k->wd_m = conv_wino_m_dw(p);
    k->wd_tiles = tiles_per_image(H, W, k->wd_m);
    k->tn = conv_wino_tn(p);
    k->nb = nb_for(p, max_N);
    k->wd_nb = wd_nb_for(p, max_N, H, W, Cin, Cout);
    k->wg = p->wg > 0 ? p->wg : 1;
    if ((size_t)k->wg > c->target.max_wg) k->wg = (int)c->target.max_wg;
    if (p->tile_co < 1 || k->tn > 4) px_die(PX_EXIT_FAIL, "conv3x3 winograd: bad tuning parameters");
    // (host/conv.c's create has already rejected these for conv3x3_create_try.)
    k->fwd_only = fwd_only;
    k->bn_in = p->bn_in;
    k->bn_stats = p->bn_stats;
    k->wd = !fwd_only && p->wino_dw;
    k->wd_tci = p->dw_tk;
    k->wd_tco = p->dw_tc;
    int sep = k->wd && wd_separate(p, max_N, H, W, Cin, Cout);
    dir_init(k, &k->f, p, Cin, Cout, 0, bn_fused, k->wd && !sep, conv_wino_m(p));
    if (!fwd_only) dir_init(k, &k->b, p, Cout, Cin, 1, 0, 0, conv_wino_m_dx(p));
    if (k->wd) {
        cl_program wp = k->f.prog;
        if (sep) { // the weight gradient's own program (conv_wino_programs' third)
            char opt[OCL_PROGRAM_OPTIONS_MAX];
            program_options(p, max_N, H, W, Cin, Cout, 0, 0, 1, 1, k->wd_m, opt, sizeof opt);
            wp = k->wd_prog = ocl_program(c, "conv_winograd.cl", opt);
        }
        // Its own kernel object either way (on CPUs the forward has no wino_input object: run_outin).
        k->wd_input = ocl_kernel(c, wp, "wino_input");
        k->dy = ocl_kernel(c, wp, "wino_dy");
        char gopt[OCL_PROGRAM_OPTIONS_MAX];
        gemm_options(p, Cout, 2, gopt, sizeof gopt);
        k->wd_gemm_prog = ocl_program(c, "wino_gemm.cl", gopt);
        k->dw_gemm = ocl_kernel(c, k->wd_gemm_prog, "wino_dw_gemm");
        k->wd_tstride = (int)dir_tstride(p, max_N, H, W, Cin, Cout, 1, k->wd_m);
        k->db = ocl_kernel(c, wp, "wino_db");
        k->dw_output = ocl_kernel(c, wp, "wino_dw_output");
    }
    nn_buffers bl = {0};
    buffers(p, max_N, Cin, Cout, H, W, fwd_only, &bl);
    if (bl.b[1].bytes > bl.b[1].limit || bl.b[2].bytes > bl.b[2].limit)
        px_die(PX_EXIT_FAIL, "conv3x3 winograd: scratch for %d images of %dx%d too large", k->nb, H, W);
    k->u = ocl_buffer(c, bl.b[0].name, bl.b[0].bytes);
    k->v = ocl_buffer(c, bl.b[1].name, bl.b[1].bytes);
    k->m_ = ocl_buffer(c, bl.b[2].name, bl.b[2].bytes);
    if (k->wd) {
        if (bl.b[3].bytes > bl.b[3].limit)
            px_die(PX_EXIT_FAIL, "conv3x3 winograd: weight-gradient sums for %d->%d too large", Cin, Cout);
        k->s = ocl_buffer(c, bl.b[3].name, bl.b[3].bytes);
    }
    return k;
}

void conv_wino_free(conv_wino *k) {
    if (!k) return;
    wino_dir *ds[2] = {&k->f, &k->b};
    for (int i = 0; i < 2; i++) {
        cl_kernel ks[] = {ds[i]->weights, ds[i]->input, ds[i]->gemm, ds[i]->output, ds[i]->outin};
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++)
            if (ks[j]) clReleaseKernel(ks[j]);
    }
    cl_kernel wk[] = {k->wd_input, k->dy, k->dw_gemm, k->db, k->dw_output};
    for (size_t j = 0; j < sizeof wk / sizeof wk[0]; j++)
        if (wk[j]) clReleaseKernel(wk[j]);
    for (int i = 0; i < 2; i++) { // this layer's programs (the GEMMs' are shared: a reference each)
        ocl_program_release(k->c, &ds[i]->prog);
        ocl_program_release(k->c, &ds[i]->gemm_prog);
    }
    if (k->wd_prog) ocl_program_release(k->c, &k->wd_prog);
    if (k->wd_gemm_prog) ocl_program_release(k->c, &k->wd_gemm_prog);
    ocl_free(&k->u);
    ocl_free(&k->v);
    ocl_free(&k->m_);
    ocl_free(&k->s);
    free(k);
}

// A weight-shaped kernel over (channels rounded up, cin): work-groups of all the channels, at
// most WINO_WEIGHTS_WG and the device's limit (PoCL pays a fixed cost per work-group).
static void run_weight_shaped(conv_wino *k, cl_kernel kern, int channels, int cin) {
    size_t l0 = (size_t)channels < WINO_WEIGHTS_WG ? (size_t)channels : WINO_WEIGHTS_WG;
    if (l0 > k->c->target.max_wg) l0 = k->c->target.max_wg;
    size_t g[2] = {ocl_round_up((size_t)channels, l0), (size_t)cin}, l[2] = {l0, 1};
    ocl_run(k->c, kern, 2, g, l);
}

// A transform of one chunk's planes (wino_input, wino_dy; their n0 and ntiles arguments set).
// CPU: a work-item per plane, work-groups of one (the work is in the loops). GPU: a work-item
// per (tile, channel), groups of WINO_GPU_EW.
static void run_transform(conv_wino *k, cl_kernel kern, int channels, int nimg, int ntiles) {
    if (k->c->target.gpu) {
        size_t g[2] = {ocl_round_up((size_t)ntiles, WINO_GPU_EW), (size_t)channels}, l[2] = {WINO_GPU_EW, 1};
        ocl_run(k->c, kern, 2, g, l);
    } else {
        size_t g = (size_t)nimg * channels, one = 1;
        ocl_run(k->c, kern, 1, &g, &one);
    }
}

void conv_wino_set_input_bn(conv_wino *k, cl_mem bn) { k->bn = bn; }

void conv_wino_set_output_bn(conv_wino *k, cl_mem mask, cl_mem psum, cl_mem pm2, float inv_hw) {
    k->bn_mask = mask;
    k->bn_psum = psum;
    k->bn_pm2 = pm2;
    k->inv_hw = inv_hw;
}

// wino_input's batch-norm state argument: with BN_IN (bn_in, and of the forward's input) the
// batch norm's, which must have been given; otherwise unused, and any buffer will do.
static cl_mem input_bn(const conv_wino *k, int forward_input) {
    if (!k->bn_in || !forward_input) return k->u;
    if (!k->bn) px_die(PX_EXIT_FAIL, "conv3x3 winograd: a layer made with bn_in has no batch norm state to apply");
    return k->bn;
}

// CPUs: wino_output_input over the output planes of nout_img images from image n0 and the input
// planes of nin_img images from image n0_in (either count may be 0: the first chunk's input
// transform and the last chunk's output transform run alone in it). One kernel for both
// transforms: wino_input and wino_output are not compiled on CPUs (a cold first training step
// compiles 8 kernels fewer on the seed network, about 2.6 s of CPU).
static void run_outin(conv_wino *k, wino_dir *d, int n0, int nout_img, int n0_in, int nin_img) {
    int nout = nout_img * d->cout;
    size_t go = (size_t)nout + (size_t)nin_img * d->cin, one = 1;
    KARG(d->outin, 1, n0);
    KARG(d->outin, 10, nout);
    KARG(d->outin, 12, n0_in);
    ocl_run(k->c, d->outin, 1, &go, &one);
}

// transform: compute U from w (else U holds this direction's transform of w already).
static void run(conv_wino *k, wino_dir *d, int N, cl_mem in, cl_mem w, int w_off, cl_mem b, int b_off, cl_mem out,
                int relu, int transform) {
    if (transform) {
        KARG(d->weights, 0, w);
        KARG(d->weights, 1, w_off);
        KARG(d->weights, 2, k->u);
        run_weight_shaped(k, d->weights, d->coutp, d->cin);
    }

    int gpu = k->c->target.gpu;
    cl_mem bn = input_bn(k, d == &k->f); // the input gradient's: unused
    if (gpu) {
        KARG(d->input, 0, in);
        KARG(d->input, 3, k->v);
        KARG(d->input, 4, bn);
    }
    KARG(d->gemm, 0, k->v);
    KARG(d->gemm, 1, k->u);
    KARG(d->gemm, 2, k->m_);
    KARG(d->gemm, 4, d->cin);
    KARG(d->gemm, 5, d->coutp);
    KARG(d->gemm, 6, d->tstride);
    // BN_STATS (the forward's): the batch norm's buffers, which must have been given; else unused.
    int stats = k->bn_stats && d == &k->f;
    if (stats && !k->bn_psum)
        px_die(PX_EXIT_FAIL, "conv3x3 winograd: a layer made with bn_stats has no batch-norm sums to write");
    cl_mem smask = stats ? k->bn_mask : k->u, spsum = stats ? k->bn_psum : k->u, spm2 = stats ? k->bn_pm2 : k->u;
    // The output transform: a work-item per plane on CPUs, per output position on GPUs. On CPUs
    // a chunk's output transform and the next chunk's input transform are one launch (outin),
    // whose first 10 arguments are wino_output's and the last 3 wino_input's x, v and bn.
    size_t ew = WINO_GPU_EW;
    cl_kernel o = gpu ? d->output : d->outin;
    KARG(o, 0, k->m_);
    KARG(o, 2, b);
    KARG(o, 3, b_off);
    KARG(o, 4, out);
    KARG(o, 5, relu);
    KARG(o, 6, smask);
    KARG(o, 7, spsum);
    KARG(o, 8, spm2);
    KARG(o, 9, k->inv_hw);
    if (!gpu) { // (the input transform's arguments; run_outin sets the chunk's)
        KARG(d->outin, 11, in);
        KARG(d->outin, 13, k->v);
        KARG(d->outin, 14, bn);
    }
    for (int n0 = 0; n0 < N; n0 += k->nb) {
        int nimg = N - n0 < k->nb ? N - n0 : k->nb, ntiles = nimg * d->tiles;
        if (gpu) {
            KARG(d->input, 1, n0);
            KARG(d->input, 2, ntiles);
            run_transform(k, d->input, d->cin, nimg, ntiles);
        } else if (n0 == 0) { // (CPUs: later chunks' input transforms run with the output before)
            run_outin(k, d, 0, 0, 0, nimg);
        }

        int nvec = (ntiles + 15) / 16, nblocks = (nvec + k->tn - 1) / k->tn;
        KARG(d->gemm, 3, nvec);
        size_t wg = (size_t)k->wg;
        size_t gg[3] = {ocl_round_up((size_t)nblocks, wg), (size_t)(d->coutp / d->tco), (size_t)nxi_of(d->m)};
        size_t lg[3] = {wg, 1, 1};
        ocl_run(k->c, d->gemm, 3, gg, lg);

        int n1 = n0 + nimg, nimg1 = n1 >= N ? 0 : N - n1 < k->nb ? N - n1 : k->nb; // the next chunk
        if (gpu) {
            KARG(d->output, 1, n0);
            size_t plane = act_layout_make(1, 1, k->H, k->W).plane;
            size_t go[3] = {ocl_round_up(plane, ew), (size_t)d->cout, (size_t)nimg}, lo[3] = {ew, 1, 1};
            ocl_run(k->c, d->output, 3, go, lo);
        } else {
            run_outin(k, d, n0, nimg, n1, nimg1);
        }
    }
}

void conv_wino_forward(conv_wino *k, int N, cl_mem x, cl_mem w, int w_off, cl_mem b, int b_off, cl_mem y, int relu,
                       int transform) {
    run(k, &k->f, N, x, w, w_off, b, b_off, y, relu, transform);
}

void conv_wino_backward_input(conv_wino *k, int N, cl_mem dy, cl_mem w, int w_off, cl_mem dx) {
    if (k->fwd_only) px_die(PX_EXIT_FAIL, "conv3x3 winograd: input gradient of a forward-only layer");
    // No bias (HAS_BIAS=0): the bias argument is unused, any buffer will do.
    run(k, &k->b, N, dy, w, w_off, k->u, 0, dx, 0, 1);
}

void conv_wino_backward_weights(conv_wino *k, int N, cl_mem x, cl_mem dy, cl_mem dw, int dw_off, cl_mem db,
                                int db_off) {
    if (!k->wd) px_die(PX_EXIT_FAIL, "conv3x3 winograd: weight gradient of a layer made without wino_dw");
    wino_dir *d = &k->f;
    KARG(k->wd_input, 0, x);
    KARG(k->wd_input, 3, k->v);
    cl_mem bn = input_bn(k, 1);
    KARG(k->wd_input, 4, bn);
    KARG(k->dy, 0, dy);
    KARG(k->dy, 3, k->m_);
    KARG(k->dw_gemm, 0, k->v);
    KARG(k->dw_gemm, 1, k->m_);
    KARG(k->dw_gemm, 3, k->s);
    KARG(k->dw_gemm, 5, d->cin);
    KARG(k->dw_gemm, 6, d->cout);
    KARG(k->dw_gemm, 7, d->coutp);
    KARG(k->dw_gemm, 8, k->wd_tstride);
    KARG(k->db, 0, k->m_);
    KARG(k->db, 2, k->s);
    size_t gg[3] = {((size_t)d->cin + k->wd_tci - 1) / k->wd_tci, ((size_t)d->cout + k->wd_tco - 1) / k->wd_tco,
                    (size_t)nxi_of(k->wd_m)};
    // CPU: work-groups of one (the work is in the loops). GPU: groups of 8 x 8 (ci, co) work-items
    // and of WINO_GPU_EW channels for the bias sums; the kernels skip the rounded-up ones.
    size_t lg[3] = {1, 1, 1}, gb = (size_t)d->cout, lb = 1;
    if (k->c->target.gpu) {
        lg[0] = lg[1] = 8;
        gg[0] = ocl_round_up(gg[0], 8);
        gg[1] = ocl_round_up(gg[1], 8);
        lb = WINO_GPU_EW;
        gb = ocl_round_up(gb, lb);
    }
    for (int n0 = 0; n0 < N; n0 += k->wd_nb) {
        int nimg = N - n0 < k->wd_nb ? N - n0 : k->wd_nb, ntiles = nimg * k->wd_tiles, first = n0 == 0;
        KARG(k->wd_input, 1, n0);
        KARG(k->wd_input, 2, ntiles);
        KARG(k->dy, 1, n0);
        KARG(k->dy, 2, ntiles);
        run_transform(k, k->wd_input, d->cin, nimg, ntiles);
        run_transform(k, k->dy, d->cout, nimg, ntiles);
        KARG(k->dw_gemm, 2, ntiles);
        KARG(k->dw_gemm, 4, first);
        ocl_run(k->c, k->dw_gemm, 3, gg, lg);
        KARG(k->db, 1, ntiles);
        KARG(k->db, 3, first);
        ocl_run(k->c, k->db, 1, &gb, &lb);
    }
    KARG(k->dw_output, 0, k->s);
    KARG(k->dw_output, 1, dw);
    KARG(k->dw_output, 2, dw_off);
    KARG(k->dw_output, 3, db);
    KARG(k->dw_output, 4, db_off);
    run_weight_shaped(k, k->dw_output, d->cout, d->cin);
}
