// Coordinates from heatmaps, coordinate metrics as the seed computed them
// (sklearn's MAE/MSE/RMSE over (N,2) arrays: x and y averaged together), the two
// classical baselines (the brightest pixel and the matched filter), and the recipe's
// maximum-a-posteriori detector (the limit any method can reach on the recipe's images).
#ifndef PIXLOC_METRICS_H
#define PIXLOC_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "dataset.h"

// numpy's argmax + unravel_index: the FIRST maximum in row-major order.
// NaN never wins (a heatmap of NaNs gives index 0).
void heatmap_argmax(const float *h, int H, int W, int *x, int *y);

typedef struct {
    int n;
    double mae, mse, rmse; // pixels, pixels^2, pixels (x and y together)
    double euclid_mean, euclid_std, euclid_median, euclid_p95, euclid_max;
    double exact;   // fraction predicted exactly
    double within1; // fraction with Euclidean error <= 1 px
    int far;        // how many have a Euclidean error > 2 px (far misses: they dominate MAE and MSE)
} coord_metrics;

// true_xy, pred_xy: (n, 2) as (x, y).
void coord_metrics_compute(coord_metrics *m, const int32_t *true_xy, const int32_t *pred_xy, int n);
// One metrics record as a cJSON object (numbers to 6 significant digits, NaN as null); the caller
// deletes it.
cJSON *coord_metrics_cjson(const coord_metrics *m);
// That object's text on one line: {"n": 3000, "mae": 0.144187, ...}.
void coord_metrics_json(const coord_metrics *m, FILE *f);

// Baselines on raw images (n, H, W): argmax of the image; argmax after correlating
// with the recipe's blur kernel (OpenCV's fixed taps, BORDER_REFLECT_101).
void baseline_brightest(const float *images, int n, int H, int W, int32_t *pred_xy);
void baseline_matched_filter(const float *images, int n, int H, int W, int blur, int32_t *pred_xy);
// The maximum-a-posteriori position under the recipe's own model, with a uniform prior: the
// detector that knows how the images were made, so the best exact-hit rate any method can
// reach on them (the "Bayes limit"). Per image, the background-noise level is the value
// impulse_find (include/nn/input_filter.h) finds; pixels holding it carry no information
// and are left out. Every other pixel is clip(mu_p + N(0, noise_std), 0, 255) on the 0..255
// scale, mu_p the recipe's blurred impulse (OpenCV taps, BORDER_REFLECT_101) at candidate
// position p: a pixel strictly inside (0, 1) adds its Gaussian log-density, a 0 (or 1) the
// log-probability of the noise reaching the clip. Ties go to the first position in row-major
// order. Only meaningful for images drawn from the recipe (not imported ones).
void baseline_bayes(const float *images, int n, const recipe *r, int32_t *pred_xy);

#endif
