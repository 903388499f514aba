// The 3x3 convolution kernels (cl/conv.cl, host/conv.c) against the double
// reference (tests/ref_conv.c), which is itself checked by finite differences.
//
// For each shape and each kernel variant (CPU style with the default tiles and
// with others, and GPU style, all run on whatever device is chosen, PoCL in CI): forward with and without ReLU, input
// gradient, weight and bias gradients. Outputs are filled with NaN first, so an
// unwritten value fails; the padding ring must come back exactly zero and the
// margins, the planes of images n >= N and the parameter buffer around dw/db
// must stay untouched. Inputs carry NaN in the interior of unused planes
// (n >= N), so reading them would show. Every output is computed twice and
// must be bit-identical.
//
// PIXLOC_TEST_TINY=1 runs only tiny shapes (for oclgrind); PIXLOC_TEST_VARIANT=cpu,
// gpu, winograd or gpu_tiled runs only that variant; PIXLOC_TEST_SHARD=k/n one part of the cases.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "conv.h"
#include "layout.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "ref_conv.h"
#include "test_util.h"

typedef struct {
    int N, max_N, Cin, Cout, H, W;
} shape;

static const shape FULL[] =
    {
        {1, 1, 1, 1, 1, 1},     {3, 3, 3, 5, 7, 5},     {1, 3, 5, 3, 5, 7},     {3, 3, 1, 32, 16, 16},
        {1, 1, 17, 17, 16, 16}, {3, 3, 32, 5, 7, 5},    {1, 1, 32, 17, 50, 50}, {3, 3, 5, 32, 50, 50},
        {1, 2, 17, 1, 5, 7},    {3, 3, 32, 32, 16, 16}, {3, 3, 5, 5, 1, 1},     {2, 2, 17, 17, 3, 4},
        {2, 2, 3, 4, 9, 69}, // rows of more than 16 Winograd tiles; F(4x4)'s last tile row and column
                             // overhang the image by 3 (their patches run 2 past the padded plane)
};
static const shape TINY[] = {
    {1, 1, 1, 1, 1, 1},  {2, 2, 3, 5, 7, 5}, {1, 3, 5, 3, 5, 7}, {1, 1, 17, 17, 3, 4},
    {2, 2, 5, 3, 1, 1},  {1, 2, 2, 3, 9, 9}, // F(4x4) tiles overhanging by 3 both ways (spike_check)
    {1, 1, 2, 3, 6, 90}, // wino_gemm's partial last block: F(4x4) 46 tiles = 3 vectors of 16 (TN = 4)
};

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

// Float tolerance for a sum of K products of O(1) values (data uniform in
// [-1, 1)): the sum has size ~sqrt(K)/3 and each of its K float32 additions
// rounds by up to 2^-25 of that, a random walk of ~sqrt(K) * 2^-25 * sqrt(K)/3,
// about K * 1e-8, and a few times that at the worst of ~1e5 outputs. Measured:
// 1.6e-5 at K = 288 (forward, tolerance 1.7e-4) and 4e-5 at K = 7500 (dw, whose
// sums are blocked; tolerance 8.7e-4). 1e-5*sqrt(K) keeps a margin of 10x or
// more yet stays far below the size of one product (~0.3), so a single missing
// or extra tap fails.
static double tol_for(size_t K) { return 1e-5 * sqrt((double)K); }

// Winograd F(m x m, 3x3) rounds in the transformed domain, where values are combinations of
// inputs and weights with the transforms' coefficients: a first-order bound on an output's
// error grows, per dimension, with
//   kappa(m) = max_i sum_a |A^T[i][a]| (sum_k |G[a][k]|) (sum_l |B^T[a][l]|) / 3
// (direct convolution: 1; the sum over a tile's 3 taps of |g||d| is 3), squared in 2D. The
// weight gradient dw = G^T ((A dY A^T) (.) (B^T x B)) G combines them the other way round:
//   kappa_dw(m) = max_k sum_a |G[a][k]| (sum_i |A^T[i][a]|) (sum_l |B^T[a][l]|) / m
// (direct: the sum over a tile's m outputs of |dy||x| is m). F(2x2) passes tol_for
// (kappa(2) = 8/3 and kappa_dw(2) = 3 are loose bounds: measured errors are below the direct
// kernels'); F(4x4)'s tolerances are tol_for times the ratio's square: (16 / (8/3))^2 = 36 and
// (40/3 / 3)^2 = 19.75, with the matrices of cl/conv_winograd.cl and cl/winograd_f4.h written
// out here again. dw: 0 for kappa, 1 for kappa_dw.
static double wino_kappa(int m, int dw) {
    static const double A2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
    static const double G2[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
    static const double B2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
    static const double A4[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
    static const double G4[6][3] = {{1. / 4, 0, 0},
                                    {-1. / 6, -1. / 6, -1. / 6},
                                    {-1. / 6, 1. / 6, -1. / 6},
                                    {1. / 24, 1. / 12, 1. / 6},
                                    {1. / 24, -1. / 12, 1. / 6},
                                    {0, 0, 1}};
    static const double B4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
#define WA(i, a) fabs(m == 2 ? A2[i][a] : A4[i][a])
#define WG(a, k) fabs(m == 2 ? G2[a][k] : G4[a][k])
    const int n = m + 2;
    double worst = 0;
    for (int o = 0; o < (dw ? 3 : m); o++) { // an output (i) or a filter tap (k)
        double sum = 0;
        for (int a = 0; a < n; a++) {
            double f = 0, b = 0; // the other factor's coefficients: G's row a, or A^T's column a
            for (int j = 0; j < (dw ? m : 3); j++) f += dw ? WA(j, a) : WG(a, j);
            for (int l = 0; l < n; l++) b += fabs(m == 2 ? B2[a][l] : B4[a][l]);
            sum += (dw ? WG(a, o) : WA(o, a)) * f * b;
        }
        if (sum > worst) worst = sum;
    }
#undef WA
#undef WG
    return worst / (dw ? m : 3);
}

// Device activation buffer for a dense (N, C, H, W) array: interior of n < N
// from `dense`, ring and margins `outside` (0, or NaN for a layer that must not read them),
// interior of n >= N NaN.
static cl_mem upload_act_ring(ocl_ctx *c, const act_layout *l, int N, const float *dense, float outside,
                              const char *name) {
    size_t nf = act_floats(l);
    float *h = malloc(nf * sizeof *h);
    for (size_t i = 0; i < nf; i++) h[i] = outside;
    for (int n = 0; n < l->N; n++)
        for (int ch = 0; ch < l->C; ch++)
            for (int y = 0; y < l->H; y++)
                for (int x = 0; x < l->W; x++)
                    h[act_index(l, n, ch, y, x)] = n < N ? dense[(((size_t)n * l->C + ch) * l->H + y) * l->W + x] : NAN;
    cl_mem m = ocl_buffer(c, name, nf * sizeof(float));
    ocl_write(c, m, 0, h, nf * sizeof(float));
    free(h);
    return m;
}
static cl_mem upload_act(ocl_ctx *c, const act_layout *l, int N, const float *dense, const char *name) {
    return upload_act_ring(c, l, N, dense, 0.0f, name);
}

// Reads an output activation buffer, checks the ring (exact zeros for n < N)
// and everything else outside the first N images (still NaN), and returns the
// interior of the first N images as a dense array.
static float *download_act(ocl_ctx *c, const act_layout *l, int N, cl_mem m, const char *name) {
    size_t nf = act_floats(l);
    float *h = malloc(nf * sizeof *h);
    ocl_read(c, m, 0, h, nf * sizeof(float));
    float *dense = malloc((size_t)N * l->C * l->H * l->W * sizeof *dense);
    char *inside = calloc(nf, 1);
    for (int n = 0; n < N; n++)
        for (int ch = 0; ch < l->C; ch++)
            for (int y = 0; y < l->H; y++)
                for (int x = 0; x < l->W; x++) {
                    size_t i = act_index(l, n, ch, y, x);
                    inside[i] = 1;
                    dense[(((size_t)n * l->C + ch) * l->H + y) * l->W + x] = h[i];
                }
    size_t ring_bad = 0, untouched_bad = 0;
    size_t planes_end = l->margin + (size_t)N * l->C * l->plane;
    for (size_t i = 0; i < nf; i++) {
        if (inside[i]) continue;
        if (i >= l->margin && i < planes_end) {
            if (h[i] != 0.0f || signbit(h[i])) ring_bad++;
        } else if (!isnan(h[i])) {
            untouched_bad++;
        }
    }
    CHECK(ring_bad == 0, "%s: %zu padding-ring values not exactly +0", name, ring_bad);
    CHECK(untouched_bad == 0, "%s: %zu values written in the margins or planes n >= N", name, untouched_bad);
    free(inside);
    free(h);
    return dense;
}

static double *to_double(const float *a, size_t n) {
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

static float *read_all(ocl_ctx *c, cl_mem m, size_t nf) {
    float *h = malloc(nf * sizeof *h);
    ocl_read(c, m, 0, h, nf * sizeof(float));
    return h;
}

// Runs `what` twice into NaN-filled `out` (nf floats) and checks both results are
// bit-identical; returns the second.
#define TWICE(out, nf, label, ...)                                                                                     \
    float *label##_a, *label##_b;                                                                                      \
    do {                                                                                                               \
        ocl_fill_float(c, out, NAN, nf);                                                                               \
        __VA_ARGS__;                                                                                                   \
        label##_a = read_all(c, out, nf);                                                                              \
        ocl_fill_float(c, out, NAN, nf);                                                                               \
        __VA_ARGS__;                                                                                                   \
        label##_b = read_all(c, out, nf);                                                                              \
        CHECK(memcmp(label##_a, label##_b, (nf) * sizeof(float)) == 0, "%s: %s not bit-identical", tag, #label);       \
        free(label##_a);                                                                                               \
        free(label##_b);                                                                                               \
    } while (0)

static const char *const VARIANT_NAMES[] = {"cpu", "gpu", "winograd", "gpu_tiled"};

// The parameters of one case (see run_case).
static conv3x3_params case_params(ocl_ctx *c, const shape *s, int variant, int alt, int wm) {
    const int Cin = s->Cin, Cout = s->Cout, H = s->H, W = s->W;
    conv3x3_params prm = conv3x3_default_params(c, Cin, Cout, H, W);
    if (prm.variant != variant) {
        // Take the other device type's defaults: force the variant via the table
        // (the setting PIXLOC_CONV_VARIANT gives, in the context).
        snprintf(c->conv_variant, sizeof c->conv_variant, "%s", VARIANT_NAMES[variant]);
        prm = conv3x3_default_params(c, Cin, Cout, H, W);
        c->conv_variant[0] = '\0';
    }
    if (alt) {
        prm.tile_co = 8;
        prm.wg = 1;
        prm.dw_tk = 4;
        prm.dw_tc = 3;
        prm.dw_seg = 48;
        if (variant == CONV_VARIANT_WINOGRAD) {
            prm.wino_tn = 2;
            prm.wino_nb = 2;
            prm.wino_dw = 1; // the Winograd weight gradient (4x3 channel tiles, chunks of 2)
            prm.wino_nb_dw = 2;
            if (c->target.gpu) { // GPU-shaped tiles (conv3x3_gpu_safe): 2 x 1 GEMM, 2 x 2 dw, groups of 5
                prm.tile_co = 2;
                prm.wino_tn = 1;
                prm.dw_tk = 2;
                prm.dw_tc = 2;
                prm.wg = 5;
            }
        }
        // GPU tiled: odd block sizes (5x3 work-items of 3x3, dw 4x4 of 3x2), so no
        // block divides the plane or the channels and the guards are exercised.
        if (variant == CONV_VARIANT_GPU_TILED) {
            prm.wg = 5;
            prm.wg_co = 3;
            prm.tile_q = 3;
            prm.tile_co = 3;
            prm.dw_wg = 4;
            prm.dw_tk = 3;
            prm.dw_tc = 2;
        }
    }
    // F(4x4): every direction, the weight gradient by Winograd too (in the forward's program), or
    // (alt) the gradients alone: the weight gradient then needs its own F(4x4) program beside the
    // F(2x2) forward, and the directions their own tiles.
    // F(2x2) without alt: the CPU variant's weight-gradient kernels (wino_dw = 0, a tuning choice).
    if (variant == CONV_VARIANT_WINOGRAD) {
        prm.wino_m = wm == 4 && alt ? 2 : wm;
        prm.wino_m_dx = prm.wino_m_dw = wm;
        prm.wino_dw = wm == 4 || alt || c->target.gpu;
        // Wherever it can (its own weight gradient), the layer applies an input batch norm, as
        // a network's does after a batch norm (F(2x2) without alt, on CPUs: the plain loads).
        prm.bn_in = conv3x3_bn_in_ok(&prm);
        // and, where it can (CPU-shaped), writes its output's batch-norm sums
        prm.bn_stats = conv3x3_bn_stats_ok(&c->target, &prm);
    }
    return prm;
}

// Winograd tiles read whole patches, and F(4x4)'s last ones run past the padded plane (where
// they must read zeros, not the next row's or plane's values). With +-1e4 spikes in each
// image's first two rows and columns, the outputs at rows and columns >= 4 (outside every
// spike's receptive field and outside F(4x4)'s first tiles) must stay within `tol`: a patch
// that read a neighbour's spikes would carry rounding residues of their size. dir 0: forward
// (x spiked), 1: input gradient (dy spiked).
static void spike_check(ocl_ctx *c, conv3x3 *k, const shape *s, int dir, cl_mem bp, const float *params, size_t w_off,
                        size_t b_off, double tol, const char *tag) {
    const int N = s->N, H = s->H, W = s->W, Ci = dir ? s->Cout : s->Cin, Co = dir ? s->Cin : s->Cout;
    if (H < 6 || W < 6) return;
    size_t ni = (size_t)N * Ci * H * W, no = (size_t)N * Co * H * W, nw = 9 * (size_t)s->Cin * s->Cout;
    float *in = malloc(ni * sizeof *in);
    t_fill_uniform(in, ni, -1, 1, &g_rng);
    for (size_t p = 0; p < ni / ((size_t)H * W); p++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (y < 2 || x < 2) in[(p * H + y) * W + x] = ((y + x) % 2 ? 1e4f : -1e4f);
    act_layout li = act_layout_make(s->max_N, Ci, H, W), lo = act_layout_make(s->max_N, Co, H, W);
    cl_mem bin = upload_act(c, &li, N, in, "spiked"), bout = ocl_buffer(c, "out", act_floats(&lo) * sizeof(float));
    ocl_fill_float(c, bout, NAN, act_floats(&lo));
    double *ind = to_double(in, ni), *wd = to_double(params + w_off, nw), *bd = to_double(params + b_off, s->Cout);
    double *want = malloc(no * sizeof *want);
    if (dir == 0) {
        conv3x3_forward(k, N, bin, bp, w_off, bp, b_off, bout, 0);
        ref_conv3x3_forward(ind, wd, bd, want, N, s->Cin, s->Cout, H, W, 0);
    } else {
        conv3x3_backward_input(k, N, bin, bp, w_off, bout);
        double *xd = calloc((size_t)N * s->Cin * H * W, sizeof *xd), *dwd = malloc(nw * sizeof *dwd);
        double *dbd = malloc(s->Cout * sizeof *dbd);
        ref_conv3x3_backward(xd, wd, ind, want, dwd, dbd, N, s->Cin, s->Cout, H, W);
        free(xd);
        free(dwd);
        free(dbd);
    }
    char name[200];
    snprintf(name, sizeof name, "%s %s, spiked edges, rows/columns >= 4", tag, dir ? "dx" : "y");
    float *got = download_act(c, &lo, N, bout, name);
    size_t n = 0;
    for (size_t p = 0; p < no / ((size_t)H * W); p++) // keep the compared region only, in place
        for (int y = 4; y < H; y++)
            for (int x = 4; x < W; x++) {
                got[n] = got[(p * H + y) * W + x];
                want[n++] = want[(p * H + y) * W + x];
            }
    t_compare(name, got, want, n, tol, 0);
    free(got);
    free(want);
    free(in);
    free(ind);
    free(wd);
    free(bd);
    ocl_free(&bin);
    ocl_free(&bout);
}

// bn_stats: the batch norm's per-plane sums the forward wrote (psum, pm2: (N, Cout)) against the
// output y (dense, as downloaded) summed in double: the interior's sum, and the squares about
// the plane mean the kernel used (its sum / (H*W)). The kernel adds HW/16 terms in each of 16
// lanes, then the lanes by a 4-level tree: about sqrt(HW/16) roundings of 2^-24 of partial sums
// up to HW/16 * max|term| each, far below the tolerance 1e-6 * HW * max|term|, which is in turn
// far below a plane's sum: a plane summed twice, or another plane's, fails.
static void check_bn_sums(ocl_ctx *c, batchnorm *bn, const float *y, int N, int Cout, int H, int W, const char *tag) {
    cl_mem mask, psum, pm2;
    float inv_hw;
    batchnorm_output_sums(bn, &mask, &psum, &pm2, &inv_hw);
    size_t NC = (size_t)N * Cout, HW = (size_t)H * W;
    float *s = read_all(c, psum, NC), *q = read_all(c, pm2, NC);
    double *ws = malloc(NC * sizeof *ws), *wq = malloc(NC * sizeof *wq);
    double tol_s = 0, tol_q = 0;
    for (size_t p = 0; p < NC; p++) {
        double sum = 0, m2 = 0, mu = (double)(s[p] * inv_hw), big = 0, bigq = 0;
        for (size_t i = 0; i < HW; i++) {
            double v = y[p * HW + i];
            sum += v;
            m2 += (v - mu) * (v - mu);
            big = fmax(big, fabs(v));
            bigq = fmax(bigq, (v - mu) * (v - mu));
        }
        ws[p] = sum;
        wq[p] = m2;
        tol_s = fmax(tol_s, 1e-6 * (double)HW * big);
        tol_q = fmax(tol_q, 1e-6 * (double)HW * bigq);
    }
    char name[220];
    snprintf(name, sizeof name, "%s batch-norm plane sums", tag);
    t_compare(name, s, ws, NC, tol_s, 0);
    snprintf(name, sizeof name, "%s batch-norm plane squares", tag);
    t_compare(name, q, wq, NC, tol_q, 0);
    free(s);
    free(q);
    free(ws);
    free(wq);
}

// alt: the CPU variant with other tiles and short weight-gradient segments, so
// several partials per image and segment tails are exercised; for Winograd also
// two-wide GEMM tiles, chunks of 2 images (a partial last chunk when max_N = 3) and the
// Winograd weight gradient. wm: Winograd's output tile side (2 or 4; 0 for the others).
static void run_case(ocl_ctx *c, const shape *s, int variant, int alt, int wm) {
    const int N = s->N, Cin = s->Cin, Cout = s->Cout, H = s->H, W = s->W;
    char tag[160], name[200];
    static const char *const names[][2] = {
        {"cpu", "cpu-alt"}, {"gpu", "gpu-alt"}, {"winograd", "winograd-alt"}, {"gpu_tiled", "gpu_tiled-alt"}};
    conv3x3_params prm = case_params(c, s, variant, alt, wm);
    snprintf(tag, sizeof tag, "%s%s%s%s N=%d/%d %d->%d %dx%d", names[variant][alt != 0],
             wm == 4 ? (alt ? " F(4x4) gradients" : " F(4x4)") : "", prm.bn_in ? " bn_in" : "",
             prm.bn_stats ? " bn_stats" : "", N, s->max_N, Cin, Cout, H, W);
    // each direction's tolerance: F(4x4)'s is F(2x2)'s (and the direct kernels') times ks^2
    const double ks = wino_kappa(4, 0) / wino_kappa(2, 0), kw = wino_kappa(4, 1) / wino_kappa(2, 1);
    const double wscale_f = prm.wino_m == 4 ? ks * ks : 1, wscale_b = prm.wino_m_dx == 4 ? ks * ks : 1;
    const double wscale_w = prm.variant == CONV_VARIANT_WINOGRAD && prm.wino_dw && prm.wino_m_dw == 4 ? kw * kw : 1;
    conv3x3 *k = conv3x3_create_with(c, s->max_N, Cin, Cout, H, W, &prm);
    if (variant == CONV_VARIANT_WINOGRAD) { // the tile side reaches the programs (F(2x2) would pass too)
        ocl_program_list *pl = calloc(1, sizeof *pl);
        conv3x3_programs(&c->target, conv3x3_params_of(k), s->max_N, Cin, Cout, H, W, 1, pl);
        int with_wm4 = 0;
        for (int i = 0; i < pl->n; i++) with_wm4 += strstr(pl->s[i].options, "-DWM=4") != NULL;
        // F(4x4): forward (or alt's separate weight gradient) and input gradient, plus without alt the
        // weight gradient's own program where its chunk (images for at least 1300 tiles, at most
        // max_N) is not the forward's (wino_nb: 1 on CPUs, 8 on GPUs).
        int nb = prm.wino_nb > 0 ? prm.wino_nb : 1,
            nb_dw = (1300 + ((H + 3) / 4) * ((W + 3) / 4) - 1) / (((H + 3) / 4) * ((W + 3) / 4));
        if (prm.wino_nb_dw > 0) nb_dw = prm.wino_nb_dw;
        if (nb_dw < nb) nb_dw = nb;
        nb = nb < s->max_N ? nb : s->max_N;
        nb_dw = nb_dw < s->max_N ? nb_dw : s->max_N;
        int want = wm == 4 ? 2 + (!alt && nb_dw != nb) : 0;
        CHECK(with_wm4 == want, "%s: %d programs built with -DWM=4 (want %d)", tag, with_wm4, want);
        free(pl);
    }

    size_t nx = (size_t)N * Cin * H * W, ny = (size_t)N * Cout * H * W, nw = 9 * (size_t)Cin * Cout;
    float *x = malloc(nx * sizeof *x), *dy = malloc(ny * sizeof *dy);
    t_fill_uniform(x, nx, -1, 1, &g_rng);
    t_fill_uniform(dy, ny, -1, 1, &g_rng);
    // bn_in: the layer reads x * scale + shift (per input channel; |scale|, |shift| <= 1/2, so the
    // values stay in [-1, 1] as the tolerances assume) and 0 outside the image, where x is NaN
    // here. The state's other entries (mean, 1/std, backward sums) are NaN: never read.
    double *xbn = NULL;
    cl_mem bst = NULL, bst_id = NULL;
    if (prm.bn_in) {
        float *st = malloc(6 * (size_t)Cin * sizeof *st), *id = malloc(6 * (size_t)Cin * sizeof *id);
        for (int i = 0; i < 6 * Cin; i++) st[i] = id[i] = NAN;
        t_fill_uniform(st + 2 * Cin, 2 * (size_t)Cin, -0.5f, 0.5f, &g_rng);
        for (int ci = 0; ci < Cin; ci++) {
            st[2 * Cin + ci] = st[2 * Cin + ci] < 0 ? st[2 * Cin + ci] - 0.25f : st[2 * Cin + ci] + 0.25f;
            st[2 * Cin + ci] *= 2.0f / 3.0f; // |scale| in [1/6, 1/2]
            id[2 * Cin + ci] = 1.0f;
            id[3 * Cin + ci] = 0.0f;
        }
        xbn = malloc(nx * sizeof *xbn);
        for (size_t i = 0; i < nx; i++) {
            int ci = (int)(i / ((size_t)H * W) % (size_t)Cin);
            xbn[i] = (double)x[i] * st[2 * Cin + ci] + st[3 * Cin + ci];
        }
        bst = ocl_buffer(c, "bn state", 6 * (size_t)Cin * sizeof(float));
        ocl_write(c, bst, 0, st, 6 * (size_t)Cin * sizeof(float));
        bst_id = ocl_buffer(c, "identity bn state", 6 * (size_t)Cin * sizeof(float));
        ocl_write(c, bst_id, 0, id, 6 * (size_t)Cin * sizeof(float));
        conv3x3_set_input_bn(k, bst);
        free(st);
        free(id);
    }
    batchnorm *obn = NULL; // bn_stats: the batch norm whose sums the forward writes
    if (prm.bn_stats) {
        obn = batchnorm_create(c, s->max_N, Cout, H, W);
        cl_mem mask, psum, pm2;
        float inv_hw;
        batchnorm_output_sums(obn, &mask, &psum, &pm2, &inv_hw);
        conv3x3_set_output_bn(k, mask, psum, pm2, inv_hw);
    }
    // Parameters at odd offsets inside one buffer, as in the network: [pad w pad b pad].
    const size_t w_off = 3, b_off = w_off + nw + 5, np = b_off + Cout + 7;
    float *params = malloc(np * sizeof *params);
    t_fill_uniform(params, np, -1, 1, &g_rng);
    double *xd = xbn ? xbn : to_double(x, nx), *dyd = to_double(dy, ny);
    double *wd = to_double(params + w_off, nw), *bd = to_double(params + b_off, Cout);

    act_layout lx = act_layout_make(s->max_N, Cin, H, W), ly = act_layout_make(s->max_N, Cout, H, W);
    cl_mem bx = upload_act_ring(c, &lx, N, x, prm.bn_in ? NAN : 0.0f, "x"), bdy = upload_act(c, &ly, N, dy, "dy");
    cl_mem bp = ocl_buffer(c, "params", np * sizeof(float));
    ocl_write(c, bp, 0, params, np * sizeof(float));
    cl_mem by = ocl_buffer(c, "y", act_floats(&ly) * sizeof(float));
    cl_mem bdx = ocl_buffer(c, "dx", act_floats(&lx) * sizeof(float));
    cl_mem bg = ocl_buffer(c, "grads", np * sizeof(float));

    // Forward, with and without ReLU.
    double *yd = malloc(ny * sizeof *yd);
    for (int relu = 0; relu <= 1; relu++) {
        TWICE(by, act_floats(&ly), y, conv3x3_forward(k, N, bx, bp, w_off, bp, b_off, by, relu));
        ref_conv3x3_forward(xd, wd, bd, yd, N, Cin, Cout, H, W, relu);
        snprintf(name, sizeof name, "%s y%s", tag, relu ? " relu" : "");
        float *got = download_act(c, &ly, N, by, name);
        t_compare(name, got, yd, ny, tol_for(9 * (size_t)Cin) * wscale_f, 0);
        if (obn) check_bn_sums(c, obn, got, N, Cout, H, W, name);
        free(got);
    }

    if (variant == CONV_VARIANT_WINOGRAD) {
        if (bst_id) conv3x3_set_input_bn(k, bst_id); // the spikes as they are
        spike_check(c, k, s, 0, bp, params, w_off, b_off, tol_for(9 * (size_t)Cin) * wscale_f, tag);
        if (bst) conv3x3_set_input_bn(k, bst);
        spike_check(c, k, s, 1, bp, params, w_off, b_off, tol_for(9 * (size_t)Cout) * wscale_b, tag);
    }

    // Gradients.
    double *dxd = malloc(nx * sizeof *dxd), *dwd = malloc(nw * sizeof *dwd), *dbd = malloc(Cout * sizeof *dbd);
    ref_conv3x3_backward(xd, wd, dyd, dxd, dwd, dbd, N, Cin, Cout, H, W);

    TWICE(bdx, act_floats(&lx), dx, conv3x3_backward_input(k, N, bdy, bp, w_off, bdx));
    snprintf(name, sizeof name, "%s dx", tag);
    float *got = download_act(c, &lx, N, bdx, name);
    t_compare(name, got, dxd, nx, tol_for(9 * (size_t)Cout) * wscale_b, 0);
    free(got);

    // dw and db land inside a NaN-filled gradient buffer: [pad dw pad db pad].
    TWICE(bg, np, dw, conv3x3_backward_weights(k, N, bx, bdy, bg, w_off, bg, b_off));
    float *g = read_all(c, bg, np);
    size_t K = (size_t)N * H * W;
    snprintf(name, sizeof name, "%s dw", tag);
    t_compare(name, g + w_off, dwd, nw, tol_for(K) * wscale_w, 0);
    snprintf(name, sizeof name, "%s db", tag);
    t_compare(name, g + b_off, dbd, Cout, tol_for(K), 0);
    size_t touched = 0;
    for (size_t i = 0; i < np; i++)
        if ((i < w_off || (i >= w_off + nw && i < b_off) || i >= b_off + Cout) && !isnan(g[i])) touched++;
    CHECK(touched == 0, "%s: %zu gradient-buffer values outside dw/db written", tag, touched);
    free(g);

    ocl_free(&bx);
    ocl_free(&bdy);
    ocl_free(&bst);
    ocl_free(&bst_id);
    batchnorm_free(obn);
    ocl_free(&bp);
    ocl_free(&by);
    ocl_free(&bdx);
    ocl_free(&bg);
    free(x);
    free(dy);
    free(params);
    free(xd);
    free(dyd);
    free(wd);
    free(bd);
    free(yd);
    free(dxd);
    free(dwd);
    free(dbd);
    conv3x3_free(k);
}

// Checks the reference's gradients by central differences of L = sum(y * r) on a
// tiny shape. L is linear in each input, so the differences are exact up to
// rounding (~1e-16 / 1e-3 = 1e-13); the gradients are compared as floats
// (t_compare's type), whose rounding on values below 8 is under 5e-7: hence 1e-6.
static void check_reference(void) {
    enum { N = 2, Cin = 2, Cout = 3, H = 3, W = 4 };
    enum { NX = N * Cin * H * W, NY = N * Cout * H * W, NW = 9 * Cin * Cout };
    double x[NX], w[NW], b[Cout], r[NY], y[NY], dx[NX], dw[NW], db[Cout];
    double fx[NX], fw[NW], fb[Cout];
    float tmp[NX + NW + Cout + NY];
    t_fill_uniform(tmp, sizeof tmp / sizeof tmp[0], -1, 1, &g_rng);
    const float *t = tmp;
    for (int i = 0; i < NX; i++) x[i] = *t++;
    for (int i = 0; i < NW; i++) w[i] = *t++;
    for (int i = 0; i < Cout; i++) b[i] = *t++;
    for (int i = 0; i < NY; i++) r[i] = *t++;
    ref_conv3x3_backward(x, w, r, dx, dw, db, N, Cin, Cout, H, W);

    const double h = 1e-3;
    double *vars[3] = {x, w, b}, *fd[3] = {fx, fw, fb};
    int counts[3] = {NX, NW, Cout};
    for (int v = 0; v < 3; v++)
        for (int i = 0; i < counts[v]; i++) {
            double keep = vars[v][i], lp = 0, lm = 0;
            vars[v][i] = keep + h;
            ref_conv3x3_forward(x, w, b, y, N, Cin, Cout, H, W, 0);
            for (int j = 0; j < NY; j++) lp += y[j] * r[j];
            vars[v][i] = keep - h;
            ref_conv3x3_forward(x, w, b, y, N, Cin, Cout, H, W, 0);
            for (int j = 0; j < NY; j++) lm += y[j] * r[j];
            vars[v][i] = keep;
            fd[v][i] = (lp - lm) / (2 * h);
        }
    float f[NX + NW + Cout];
    for (int i = 0; i < NX; i++) f[i] = (float)dx[i];
    t_compare("reference dx vs finite differences", f, fx, NX, 1e-6, 0);
    for (int i = 0; i < NW; i++) f[i] = (float)dw[i];
    t_compare("reference dw vs finite differences", f, fw, NW, 1e-6, 0);
    for (int i = 0; i < Cout; i++) f[i] = (float)db[i];
    t_compare("reference db vs finite differences", f, fb, Cout, 1e-6, 0);

    // The forward reference on a hand-checkable case: one input pixel, one weight tap.
    double x1[9] = {0}, w1[9] = {0}, y1[9];
    x1[4] = 2.0; // centre of a 3x3 image
    w1[0] = 3.0; // tap (ky=0, kx=0) reads x[i-1, j-1]
    ref_conv3x3_forward(x1, w1, NULL, y1, 1, 1, 1, 3, 3, 0);
    CHECK(y1[8] == 6.0 && y1[0] == 0.0 && y1[4] == 0.0, "forward reference tap placement (y[2,2]=%g)", y1[8]);
}

int main(void) {
    check_reference();
    CHECK(fabs(wino_kappa(2, 0) - 8. / 3) < 1e-12 && wino_kappa(4, 0) == 16 && wino_kappa(2, 1) == 3 &&
              fabs(wino_kappa(4, 1) - 40. / 3) < 1e-12,
          "Winograd error factors %g %g %g %g (want 8/3, 16, 3, 40/3)", wino_kappa(2, 0), wino_kappa(4, 0),
          wino_kappa(2, 1), wino_kappa(4, 1));

    ocl_options o = {0};
    ocl_options_from_env(&o); // the cache directory and settings, as the CLI reads them
    o.quiet = 1;
    ocl_ctx c;
    ocl_init(&c, &o);
    int tiny = getenv("PIXLOC_TEST_TINY") && atoi(getenv("PIXLOC_TEST_TINY"));
    const shape *shapes = tiny ? TINY : FULL;
    const char *only = getenv("PIXLOC_TEST_VARIANT"); // "cpu" or "gpu": only that variant
    if (only && !*only) only = NULL;
    size_t ns = tiny ? sizeof TINY / sizeof TINY[0] : sizeof FULL / sizeof FULL[0];
    // Every case (variant, alt, Winograd tile side) of every shape, in order.
    typedef struct {
        int variant, alt, wm;
    } kase;
    static const kase KASES[] = {
        {CONV_VARIANT_CPU, 0, 0},      {CONV_VARIANT_CPU, 1, 0},       {CONV_VARIANT_GPU, 0, 0},
        {CONV_VARIANT_WINOGRAD, 0, 2}, {CONV_VARIANT_WINOGRAD, 1, 2},  {CONV_VARIANT_WINOGRAD, 0, 4},
        {CONV_VARIANT_WINOGRAD, 1, 4}, {CONV_VARIANT_GPU_TILED, 0, 0}, {CONV_VARIANT_GPU_TILED, 1, 0}};
    const size_t nk = sizeof KASES / sizeof KASES[0];
    // PIXLOC_TEST_SHARD=k/n: only the k-th, (k+n)-th, ... (1-based) of the (shape, case) pairs in
    // order, so that ctest runs the parts side by side (their builds are most of this test's time).
    int shard = 1, nshards = 1;
    const char *sh = getenv("PIXLOC_TEST_SHARD");
    if (sh && *sh && (sscanf(sh, "%d/%d", &shard, &nshards) != 2 || nshards < 1 || shard < 1 || shard > nshards)) {
        fprintf(stderr, "PIXLOC_TEST_SHARD='%s': expected k/n with 1 <= k <= n\n", sh);
        return 2;
    }
    size_t idx = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < nk; j++) {
            const kase *q = &KASES[j];
            if (only && strcmp(only, VARIANT_NAMES[q->variant]) != 0) continue;
            if (idx++ % (size_t)nshards == (size_t)(shard - 1)) run_case(&c, &shapes[i], q->variant, q->alt, q->wm);
        }
    ocl_release(&c);
    return t_summary();
}
