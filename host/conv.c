// Launchers of the 3x3 convolution kernels in cl/conv.cl (see include/conv.h).
//
// One layer shape builds two programs from cl/conv.cl: the forward convolution
// (CIN=Cin, COUT=Cout), which also holds the weight-gradient kernels, and the
// input-gradient convolution (CIN=Cout, COUT=Cin, FLIP=1), the same kernel run
// on dy with the weights flipped in space and transposed in channels. Each call
// first repacks its weights into a scratch buffer (small: 9*Cin*Cout floats)
// padded to the channel tile, so the main kernels need no channel guards on loads.
#include "conv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "pixloc.h"

struct conv3x3 {
    ocl_ctx *c;
    int max_N, Cin, Cout, H, W;
    conv3x3_params prm;
    act_layout lx, ly;      // input and output layouts (capacity max_N)
    int tile_f, tile_b;     // channel tiles of the forward / input-gradient programs
    int seg, nseg;          // weight-gradient segments per image
    size_t pstride;         // floats per weight-gradient partial: 9*Cin*Cout + Cout
    cl_program prog_f, prog_b;
    cl_kernel pack_f, conv_f, pack_b, conv_b, dw, db, reduce;
    cl_mem wp_f, wp_b, part; // packed weights (forward, flipped) and partial sums
};

static int env_variant(void) {
    const char *e = getenv("PIXLOC_CONV_VARIANT");
    if (!e || !*e) return -1;
    if (!strcmp(e, "cpu")) return CONV_VARIANT_CPU;
    if (!strcmp(e, "gpu")) return CONV_VARIANT_GPU;
    px_die(PX_EXIT_USAGE, "PIXLOC_CONV_VARIANT must be 'cpu' or 'gpu', not '%s'", e);
}

// The per-device-type default table. CPU values were measured with
// bench/bench_conv.c on PoCL 3.1 (2-core Zen 4, batch 64, 50x50), in flop per
// CPU-second (the machine was shared): forward tile 16 ~105 GFLOP/s per core
// (tile 8: 97; work-group 1, 8, 16 alike); weight-gradient tile 6x4 ~91 (4x4: 81,
// 8x2: 66, 2x8: 65); one segment per 50x50 image beats 1024 (83 vs 79) and 512
// (69): fewer partials to reduce. GPU values are untuned placeholders.
static const conv3x3_params DEFAULTS_CPU = {
    .variant = CONV_VARIANT_CPU, .tile_co = 16, .wg = 8, .dw_tk = 6, .dw_tc = 4, .dw_seg = 4096};
static const conv3x3_params DEFAULTS_GPU = {
    .variant = CONV_VARIANT_GPU, .tile_co = 1, .wg = 64, .dw_tk = 1, .dw_tc = 1, .dw_seg = 512};

conv3x3_params conv3x3_default_params(const ocl_ctx *c, int Cin, int Cout, int H, int W) {
    (void)Cin; (void)Cout; (void)H; (void)W;
    conv3x3_params p = c->is_cpu ? DEFAULTS_CPU : DEFAULTS_GPU;
    int v = env_variant();
    if (v >= 0 && v != p.variant) p = v == CONV_VARIANT_CPU ? DEFAULTS_CPU : DEFAULTS_GPU;
    return p;
}

// Channel tile of a CPU-style program with `cout` output channels: the asked
// tile, halved (down to 4) while half still covers all channels.
static int tile_for(const conv3x3_params *p, int cout) {
    if (p->variant != CONV_VARIANT_CPU) return 1;
    int t = p->tile_co;
    while (t > 4 && t / 2 >= cout) t /= 2;
    return t;
}

static cl_program build(conv3x3 *k, int cin, int cout, int flip, int tile) {
    char opt[512];
    snprintf(opt, sizeof opt,
             "-DCIN=%d -DCOUT=%d -DIMG_H=%d -DIMG_W=%d -DMARGIN=%zu -DFLIP=%d -DHAS_BIAS=%d -DTILE_CO=%d "
             "-DDW_TK=%d -DDW_TC=%d -DSEG=%d -DNSEG=%d",
             cin, cout, k->H, k->W, k->lx.margin, flip, !flip, tile, k->prm.dw_tk, k->prm.dw_tc, k->seg,
             k->nseg);
    return ocl_program(k->c, "conv.cl", opt);
}

conv3x3 *conv3x3_create_with(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W,
                             const conv3x3_params *p) {
    if (max_N < 1 || Cin < 1 || Cout < 1 || H < 1 || W < 1)
        px_die(PX_EXIT_FAIL, "conv3x3: bad shape N=%d Cin=%d Cout=%d H=%d W=%d", max_N, Cin, Cout, H, W);
    if (p->tile_co < 1 || p->wg < 1 || p->dw_tk < 1 || p->dw_tc < 1 || p->dw_seg < 16)
        px_die(PX_EXIT_FAIL, "conv3x3: bad tuning parameters");
    conv3x3 *k = px_calloc(1, sizeof *k, "conv3x3");
    k->c = c;
    k->max_N = max_N; k->Cin = Cin; k->Cout = Cout; k->H = H; k->W = W;
    k->prm = *p;
    if ((size_t)k->prm.wg > c->max_wg) k->prm.wg = (int)c->max_wg;
    k->lx = act_layout_make(max_N, Cin, H, W);
    k->ly = act_layout_make(max_N, Cout, H, W);
    // Kernels index with int: the largest activation buffer must fit.
    if (act_floats(&k->lx) > INT_MAX || act_floats(&k->ly) > INT_MAX)
        px_die(PX_EXIT_FAIL, "conv3x3: activations of %d x %d x %dx%d are too large", max_N, Cin, H, W);

    // Segments of the weight-gradient reduction, balanced, each a multiple of 16.
    int npos = (H + 1) * (W + 2) - (W + 2) / 16 * 16; // QEND - QB0 in cl/conv.cl
    k->nseg = (npos + p->dw_seg - 1) / p->dw_seg;
    k->seg = (int)ocl_round_up((size_t)((npos + k->nseg - 1) / k->nseg), 16);
    k->pstride = 9 * (size_t)Cin * Cout + (size_t)Cout;

    k->tile_f = tile_for(&k->prm, Cout);
    k->tile_b = tile_for(&k->prm, Cin);
    k->prog_f = build(k, Cin, Cout, 0, k->tile_f);
    k->prog_b = build(k, Cout, Cin, 1, k->tile_b);
    int cpu = k->prm.variant == CONV_VARIANT_CPU;
    k->pack_f = ocl_kernel(c, k->prog_f, "conv_pack_weights");
    k->pack_b = ocl_kernel(c, k->prog_b, "conv_pack_weights");
    k->conv_f = ocl_kernel(c, k->prog_f, cpu ? "conv_tile" : "conv_simple");
    k->conv_b = ocl_kernel(c, k->prog_b, cpu ? "conv_tile" : "conv_simple");
    k->dw = ocl_kernel(c, k->prog_f, cpu ? "conv_dw_tile" : "conv_dw_simple");
    k->db = cpu ? ocl_kernel(c, k->prog_f, "conv_db_tile") : NULL;
    k->reduce = ocl_kernel(c, k->prog_f, "conv_dw_reduce");

    size_t coutp = ocl_round_up((size_t)Cout, (size_t)k->tile_f);
    size_t cinp = ocl_round_up((size_t)Cin, (size_t)k->tile_b);
    k->wp_f = ocl_buffer(c, "conv packed weights", 9 * (size_t)Cin * coutp * sizeof(float));
    k->wp_b = ocl_buffer(c, "conv flipped weights", 9 * (size_t)Cout * cinp * sizeof(float));
    size_t part = (size_t)max_N * k->nseg * k->pstride;
    if (part > INT_MAX) px_die(PX_EXIT_FAIL, "conv3x3: weight-gradient partials too large");
    k->part = ocl_buffer(c, "conv weight-gradient partials", part * sizeof(float));
    return k;
}

conv3x3 *conv3x3_create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W) {
    conv3x3_params p = conv3x3_default_params(c, Cin, Cout, H, W);
    return conv3x3_create_with(c, max_N, Cin, Cout, H, W, &p);
}

void conv3x3_free(conv3x3 *k) {
    if (!k) return;
    cl_kernel ks[] = {k->pack_f, k->conv_f, k->pack_b, k->conv_b, k->dw, k->db, k->reduce};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        if (ks[i]) clReleaseKernel(ks[i]);
    // Programs are memoised and owned by ocl_program's cache: not released here.
    ocl_free(&k->wp_f);
    ocl_free(&k->wp_b);
    ocl_free(&k->part);
    free(k);
}

static int as_int(size_t v, const char *what) {
    if (v > INT_MAX) px_die(PX_EXIT_FAIL, "conv3x3: %s offset %zu too large", what, v);
    return (int)v;
}

static void check_n(const conv3x3 *k, int N) {
    if (N < 1 || N > k->max_N) px_die(PX_EXIT_FAIL, "conv3x3: batch %d outside 1..%d", N, k->max_N);
}

static void pack(conv3x3 *k, cl_kernel pk, cl_mem w, size_t w_off, cl_mem wp, int cout, int cin, int tile) {
    int off = as_int(w_off, "weight");
    KARG(pk, 0, w); KARG(pk, 1, off); KARG(pk, 2, wp);
    size_t g[3] = {ocl_round_up((size_t)cout, (size_t)tile), (size_t)cin, 9};
    ocl_run(k->c, pk, 3, g, NULL);
}

// Runs the program's convolution from `in` (cin channels) to `out` (cout channels).
static void run_conv(conv3x3 *k, cl_kernel ck, int N, cl_mem in, cl_mem wp, cl_mem b, int b_off, cl_mem out,
                     int relu, int cout, int tile) {
    KARG(ck, 0, in); KARG(ck, 1, wp); KARG(ck, 2, b); KARG(ck, 3, b_off); KARG(ck, 4, out); KARG(ck, 5, relu);
    size_t wg = (size_t)k->prm.wg;
    size_t local[3] = {wg, 1, 1};
    if (k->prm.variant == CONV_VARIANT_CPU) {
        size_t nchunk = ((size_t)k->H * (k->W + 2) + 15) / 16;
        size_t global[3] = {ocl_round_up(nchunk, wg), (size_t)(cout + tile - 1) / tile, (size_t)N};
        ocl_run(k->c, ck, 3, global, local);
    } else {
        size_t global[3] = {ocl_round_up(k->lx.plane, wg), (size_t)cout, (size_t)N};
        ocl_run(k->c, ck, 3, global, local);
    }
}

void conv3x3_forward(conv3x3 *k, int N, cl_mem x, cl_mem w, size_t w_off, cl_mem b, size_t b_off,
                     cl_mem y, int relu) {
    check_n(k, N);
    pack(k, k->pack_f, w, w_off, k->wp_f, k->Cout, k->Cin, k->tile_f);
    run_conv(k, k->conv_f, N, x, k->wp_f, b, as_int(b_off, "bias"), y, relu != 0, k->Cout, k->tile_f);
}

void conv3x3_backward_input(conv3x3 *k, int N, cl_mem dy, cl_mem w, size_t w_off, cl_mem dx) {
    check_n(k, N);
    pack(k, k->pack_b, w, w_off, k->wp_b, k->Cin, k->Cout, k->tile_b);
    // No bias (HAS_BIAS=0): the bias argument is unused, any buffer will do.
    run_conv(k, k->conv_b, N, dy, k->wp_b, k->wp_b, 0, dx, 0, k->Cin, k->tile_b);
}

void conv3x3_backward_weights(conv3x3 *k, int N, cl_mem x, cl_mem dy, cl_mem dw, size_t dw_off,
                              cl_mem db, size_t db_off) {
    check_n(k, N);
    size_t nparts = (size_t)N * k->nseg;
    if (k->prm.variant == CONV_VARIANT_CPU) {
        KARG(k->dw, 0, x); KARG(k->dw, 1, dy); KARG(k->dw, 2, k->part);
        size_t g[3] = {(size_t)(k->Cout + k->prm.dw_tc - 1) / k->prm.dw_tc,
                       (9 * (size_t)k->Cin + k->prm.dw_tk - 1) / k->prm.dw_tk, nparts};
        size_t l[3] = {1, 1, 1};
        ocl_run(k->c, k->dw, 3, g, l);
        KARG(k->db, 0, dy); KARG(k->db, 1, k->part);
        size_t gb[2] = {(size_t)k->Cout, nparts};
        ocl_run(k->c, k->db, 2, gb, NULL);
    } else {
        KARG(k->dw, 0, x); KARG(k->dw, 1, dy); KARG(k->dw, 2, k->part);
        size_t wg = (size_t)k->prm.wg;
        size_t g[2] = {ocl_round_up(k->pstride, wg), nparts}, l[2] = {wg, 1};
        ocl_run(k->c, k->dw, 2, g, l);
    }
    int np = (int)nparts, dwo = as_int(dw_off, "dw"), dbo = as_int(db_off, "db");
    KARG(k->reduce, 0, k->part); KARG(k->reduce, 1, np); KARG(k->reduce, 2, dw); KARG(k->reduce, 3, dwo);
    KARG(k->reduce, 4, db); KARG(k->reduce, 5, dbo);
    size_t wg = k->c->max_wg < 64 ? k->c->max_wg : 64;
    size_t g = ocl_round_up(k->pstride, wg);
    ocl_run(k->c, k->reduce, 1, &g, &wg);
}
