// Test-time augmentation (predict_indices with tta): the averaged heatmap must be equivariant.
// For any mirror or transpose g of the image set (the 8 of a square image, the 4 mirrors of
// another), TTA(g(I)) = g(TTA(I)): the 8 (4) transforms of g(I) are those of I in another order,
// so the two differ only by the float summation order (TOL below). The network itself is not
// equivariant (random weights, odd sizes), so a TTA that forgot a transform, mapped a heatmap
// back with the forward map instead of the inverse, or ran the plain pass fails this; the plain
// heatmaps are checked to be far from equivariant on the same images so that the test can fail.
// g is applied by this file's own index formulas (rotations as rot90 compositions), not by the
// code under test. Shapes: 9x9 (8 transforms), 7x10 and 1x6 (4), batch 3 with a partial batch.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "metrics.h"
#include "net.h"
#include "ocl.h"
#include "rng.h"
#include "test_util.h"

#define TOL 2e-6 // a mean of 8 sigmoid outputs in [0, 1], summed in another order: a few ulps of 1

// g(I) for g = rotation by 90*r degrees counter-clockwise (square only for odd r), then a
// left-right mirror if m: out[y][x] = in[...], with oH x oW the result's size.
static void apply_g(int r, int m, const float *in, int H, int W, float *out) {
    int oH = (r & 1) ? W : H, oW = (r & 1) ? H : W;
    for (int y = 0; y < oH; y++)
        for (int x = 0; x < oW; x++) {
            int xx = m ? oW - 1 - x : x; // the mirror is applied last: undo it first
            int sy, sx;
            switch (r) {
            case 0: sy = y, sx = xx; break;
            case 1: sy = xx, sx = W - 1 - y; break; // numpy rot90: out[y][x] = in[x][W-1-y]
            case 2: sy = H - 1 - y, sx = W - 1 - xx; break;
            default: sy = H - 1 - xx, sx = y; break;
            }
            out[(size_t)y * oW + x] = in[(size_t)sy * W + sx];
        }
}

static void heat(net *n, int batch, int tta, const float *img, int N, int H, int W, float *out) {
    int64_t *idx = malloc((size_t)N * sizeof *idx);
    int32_t *xy = malloc((size_t)N * 2 * sizeof *xy);
    for (int i = 0; i < N; i++) idx[i] = i;
    predict_indices(n, batch, tta, img, H, W, idx, N, xy, out, NULL);
    for (int i = 0; i < N; i++) { // the coordinates are the averaged heatmap's argmax
        int x, y;
        heatmap_argmax(out + (size_t)i * H * W, H, W, &x, &y);
        CHECK(xy[2 * i] == x && xy[2 * i + 1] == y, "coordinates of image %d are its heatmap's argmax", i);
    }
    free(idx);
    free(xy);
}

static void run(ocl_ctx *c, int H, int W, uint64_t *st) {
    net_config cfg;
    net_config_seed(&cfg);
    char e[256];
    CHECK(net_config_channels(&cfg, "5,7,3", e, sizeof e) == 0, "%s", e);
    const int N = 5, batch = 3; // 3 + a partial batch of 2
    int sq = H == W;
    CHECK(tta_count(H, W) == (sq ? 8 : 4), "%dx%d: %d transforms", H, W, tta_count(H, W));
    net *n = net_create_kind(c, &cfg, H, W, batch, NET_KIND_INFERENCE);
    rng_state g;
    rng_seed(&g, (uint32_t)*st);
    net_init(n, &g);
    // Spatially varied weights: net_init's zero biases and unit BN keep outputs near uniform;
    // random images give the heatmaps structure.
    size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
    float *img = malloc(cnt * sizeof(float)), *gimg = malloc(cnt * sizeof(float));
    float *a = malloc(cnt * sizeof(float)), *b = malloc(cnt * sizeof(float)), *ga = malloc(cnt * sizeof(float));
    t_fill_uniform(img, cnt, 0.0f, 1.0f, st);
    double worst_tta = 0, worst_plain = 0;
    for (int r = 0; r < 4; r++)
        for (int m = 0; m < 2; m++) {
            if (!sq && (r & 1)) continue; // a transpose changes the shape of a non-square image
            for (int i = 0; i < N; i++) apply_g(r, m, img + i * hw, H, W, gimg + i * hw);
            for (int tta = 1; tta >= 0; tta--) {
                heat(n, batch, tta, img, N, H, W, a);
                heat(n, batch, tta, gimg, N, H, W, b);
                for (int i = 0; i < N; i++) apply_g(r, m, a + i * hw, H, W, ga + i * hw);
                double md = 0;
                for (size_t k = 0; k < cnt; k++) {
                    double d = fabs((double)ga[k] - (double)b[k]);
                    if (!(d <= md)) md = d;
                }
                if (tta) {
                    CHECK(md <= TOL, "%dx%d rot %d mirror %d: TTA(g I) - g(TTA I) = %g > %g", H, W, r * 90, m, md,
                          TOL);
                    if (md > worst_tta) worst_tta = md;
                } else if (md > worst_plain) {
                    worst_plain = md;
                }
            }
        }
    printf("  %dx%d: max |TTA(g I) - g(TTA I)| %.3g; without TTA %.3g\n", H, W, worst_tta, worst_plain);
    if (hw > 1) CHECK(worst_plain > 100 * TOL, "%dx%d: the plain net is equivariant (%g): the test cannot fail", H, W,
                      worst_plain);
    free(img);
    free(gimg);
    free(a);
    free(b);
    free(ga);
    net_free(n);
}

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    o.quiet = 1;
    ocl_init(&c, &o);
    uint64_t st = 777;
    run(&c, 9, 9, &st);
    run(&c, 7, 10, &st);
    run(&c, 1, 6, &st);
    ocl_release(&c);
    return t_summary();
}
