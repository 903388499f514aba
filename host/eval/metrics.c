// Coordinate metrics and baselines; see include/metrics.h.
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "input_filter.h"
#include "json_text.h"
#include "pixloc.h"

void heatmap_argmax(const float *h, int H, int W, int *x, int *y) {
    int best = 0;
    float bv = h[0];
    for (int i = 1; i < H * W; i++)
        if (h[i] > bv || (bv != bv && h[i] == h[i])) {
            bv = h[i];
            best = i;
        }
    *y = best / W;
    *x = best % W;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// numpy's default percentile (linear interpolation between closest ranks).
static double percentile(const double *sorted, int n, double q) {
    if (n == 0) return NAN;
    double pos = q / 100.0 * (n - 1);
    int lo = (int)floor(pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    double f = pos - lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * f;
}

void coord_metrics_compute(coord_metrics *m, const int32_t *t, const int32_t *p, int n) {
    memset(m, 0, sizeof *m);
    m->n = n;
    if (n <= 0) {
        m->mae = m->mse = m->rmse = m->euclid_mean = m->euclid_std = m->euclid_median = m->euclid_p95 = m->euclid_max =
            m->exact = m->within1 = NAN;
        return;
    }
    double *e = px_malloc((size_t)n * sizeof *e, "euclidean errors");
    double sabs = 0, ssq = 0, se = 0;
    int exact = 0, within1 = 0;
    for (int i = 0; i < n; i++) {
        double dx = (double)p[(size_t)2 * i] - t[(size_t)2 * i],
               dy = (double)p[(size_t)2 * i + 1] - t[(size_t)2 * i + 1];
        sabs += fabs(dx) + fabs(dy);
        ssq += dx * dx + dy * dy;
        e[i] = sqrt(dx * dx + dy * dy);
        se += e[i];
        exact += dx == 0 && dy == 0;
        within1 += e[i] <= 1.0;
        m->far += e[i] > 2.0;
    }
    // sklearn: mean over outputs of the per-output mean = sum / (2n).
    m->mae = sabs / (2.0 * n);
    m->mse = ssq / (2.0 * n);
    m->rmse = sqrt(m->mse);
    m->euclid_mean = se / n;
    double var = 0;
    for (int i = 0; i < n; i++) var += (e[i] - m->euclid_mean) * (e[i] - m->euclid_mean);
    m->euclid_std = sqrt(var / n); // numpy std: population (ddof 0)
    qsort(e, (size_t)n, sizeof *e, cmp_double);
    m->euclid_median = percentile(e, n, 50);
    m->euclid_p95 = percentile(e, n, 95);
    m->euclid_max = e[n - 1];
    m->exact = (double)exact / n;
    m->within1 = (double)within1 / n;
    free(e);
}

cJSON *coord_metrics_cjson(const coord_metrics *m) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "n", m->n);
    json_add_number6(j, "mae", m->mae);
    json_add_number6(j, "mse", m->mse);
    json_add_number6(j, "rmse", m->rmse);
    json_add_number6(j, "euclid_mean", m->euclid_mean);
    json_add_number6(j, "euclid_std", m->euclid_std);
    json_add_number6(j, "euclid_median", m->euclid_median);
    json_add_number6(j, "euclid_p95", m->euclid_p95);
    json_add_number6(j, "euclid_max", m->euclid_max);
    json_add_number6(j, "exact", m->exact);
    json_add_number6(j, "within1", m->within1);
    cJSON_AddNumberToObject(j, "far_misses", m->far);
    return j;
}

void coord_metrics_json(const coord_metrics *m, FILE *f) {
    cJSON *j = coord_metrics_cjson(m);
    json_write(f, j, 0);
    cJSON_Delete(j);
}

void baseline_brightest(const float *images, int n, int H, int W, int32_t *pred) {
    for (int i = 0; i < n; i++) {
        int x, y;
        heatmap_argmax(images + (size_t)i * H * W, H, W, &x, &y);
        pred[(size_t)2 * i] = x;
        pred[2 * i + 1] = y;
    }
}

// BORDER_REFLECT_101 index: gfedcb|abcdefgh|gfedcba.
static int reflect101(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

void baseline_matched_filter(const float *images, int n, int H, int W, int blur, int32_t *pred) {
    double taps[32];
    int k = recipe_blur_taps(blur, taps);
    if (k <= 1) {
        baseline_brightest(images, n, H, W, pred);
        return;
    }
    int r = k / 2;
    double *tmp = px_malloc((size_t)H * W * sizeof *tmp, "matched filter");
    float *out = px_malloc((size_t)H * W * sizeof *out, "matched filter");
    for (int s = 0; s < n; s++) {
        const float *img = images + (size_t)s * H * W;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double acc = 0;
                for (int j = 0; j < k; j++) acc += taps[j] * img[y * W + reflect101(x + j - r, W)];
                tmp[y * W + x] = acc;
            }
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double acc = 0;
                for (int j = 0; j < k; j++) acc += taps[j] * tmp[reflect101(y + j - r, H) * W + x];
                out[y * W + x] = (float)acc;
            }
        int x, y;
        heatmap_argmax(out, H, W, &x, &y);
        pred[(size_t)2 * s] = x;
        pred[2 * s + 1] = y;
    }
    free(tmp);
    free(out);
}

// log P(noise < -mu) - log P(noise < 0) for noise N(0, sd): a pixel clipped to 0.
static double log_below(double mu, double sd) { return log(0.5 * erfc(mu / (sd * M_SQRT2))) - log(0.5); }

// Band of the 1-D blur for an impulse at p: out[p * (2R+1) + (i - p + R)] is output i of OpenCV's
// symmetric filter (reflect-101, folded as often as needed) on an impulse of 1 at p. An output
// can only see an impulse within R of it, folded or not, so the band holds every non-zero.
static double *blur_band(const double *t, int R, int L) {
    int w = 2 * R + 1;
    double *b = px_calloc((size_t)L * w, sizeof *b, "bayes detector");
    for (int p = 0; p < L; p++)
        for (int i = p - R; i <= p + R; i++) {
            if (i < 0 || i >= L) continue;
            double s = 0;
            for (int j = -R; j <= R; j++) s += reflect101(i + j, L) == p ? t[j + R] : 0.0;
            b[(size_t)p * w + (i - p + R)] = s;
        }
    return b;
}

// The log-likelihood ratio of one image for an impulse at (px, py) against none: the sum over
// the pixels the impulse reaches (the others do not depend on the position). top is
// log_below(255, sd), the same for every pixel and position: the caller computes it once.
static double bayes_score(const float *img, const unsigned char *skip, int H, int W, int R, const double *by,
                          const double *bx, int px, int py, double sd, double top) {
    int w = 2 * R + 1;
    double s = 0, var = sd * sd;
    for (int qy = py - R; qy <= py + R; qy++) {
        if (qy < 0 || qy >= H) continue;
        double ky = 255.0 * by[(size_t)py * w + (qy - py + R)];
        if (ky == 0) continue;
        for (int qx = px - R; qx <= px + R; qx++) {
            if (qx < 0 || qx >= W) continue;
            size_t q = (size_t)qy * W + qx;
            double mu = ky * bx[(size_t)px * w + (qx - px + R)];
            if (skip[q] || mu == 0) continue;
            double v = img[q];
            if (v <= 0)
                s += log_below(mu, sd);
            else if (v >= 1) // clipped at 255: log P(noise > 255 - mu) - log P(noise > 255)
                s += isfinite(top) ? log_below(255.0 - mu, sd) - top : 0.0;
            else
                s += (255.0 * v * mu - 0.5 * mu * mu) / var;
        }
    }
    return s;
}

void baseline_bayes(const float *images, int n, const recipe *r, int32_t *pred) {
    const int H = r->H, W = r->W;
    double t[32];
    int k = recipe_blur_taps(r->blur, t);
    if (k < 1) {
        t[0] = 1;
        k = 1;
    }
    const int R = k / 2;
    const double sd = r->noise_std > 1e-6 ? r->noise_std : 1e-6, top = log_below(255.0, sd);
    double *by = blur_band(t, R, H), *bx = blur_band(t, R, W);
    unsigned char *skip = px_malloc((size_t)H * W, "bayes detector");
    for (int s = 0; s < n; s++) {
        const float *img = images + (size_t)s * H * W;
        float level;
        int found = impulse_find(img, H, W, &level);
        for (size_t q = 0; q < (size_t)H * W; q++) skip[q] = found && img[q] == level;
        double best = -HUGE_VAL;
        int bxp = 0, byp = 0;
        for (int py = 0; py < H; py++)
            for (int px = 0; px < W; px++) {
                double sc = bayes_score(img, skip, H, W, R, by, bx, px, py, sd, top);
                if (sc > best) {
                    best = sc;
                    bxp = px;
                    byp = py;
                }
            }
        pred[(size_t)2 * s] = bxp;
        pred[2 * s + 1] = byp;
    }
    free(skip);
    free(by);
    free(bx);
}
