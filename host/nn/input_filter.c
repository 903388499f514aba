// Input filters; see include/nn/input_filter.h.
#include "input_filter.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pixloc.h"

const char *input_filter_name(int filter) { return filter == NET_FILTER_IMPULSE ? "impulse" : "none"; }

int input_filter_parse(const char *name) {
    if (strcmp(name, "none") == 0) return NET_FILTER_NONE;
    if (strcmp(name, "impulse") == 0) return NET_FILTER_IMPULSE;
    return -1;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int candidate(float v) { return isfinite(v) && v != 0.0f && v != 1.0f; }

// The impulse value of img (see the header) into *value; 0 when there is none.
static int find_impulse(const float *img, size_t hw, float *vals, float *value) {
    size_t m = 0;
    for (size_t i = 0; i < hw; i++)
        if (candidate(img[i])) vals[m++] = img[i];
    qsort(vals, m, sizeof *vals, cmp_float);
    size_t best = 0, second = 0;
    float bv = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && vals[j] == vals[i]) j++;
        size_t run = j - i;
        if (run > best) {
            second = best;
            best = run;
            bv = vals[i];
        } else if (run > second) {
            second = run;
        }
        i = j;
    }
    if (best < IMPULSE_MIN_COUNT || second > 2) return 0;
    *value = bv;
    return 1;
}

int impulse_find(const float *img, int H, int W, float *value) {
    size_t hw = (size_t)H * W;
    if (hw == 0) return 0;
    float *vals = px_malloc(hw * sizeof(float), "impulse filter");
    int found = find_impulse(img, hw, vals, value);
    free(vals);
    return found;
}

int impulse_filter(float *img, int H, int W) {
    size_t hw = (size_t)H * W;
    float v;
    if (!impulse_find(img, H, W, &v)) return 0;
    // The mean of the other pixels, for a pixel whose neighbours all hold v.
    double rest = 0;
    size_t nrest = 0;
    for (size_t i = 0; i < hw; i++)
        if (img[i] != v) {
            rest += img[i];
            nrest++;
        }
    float fallback = nrest ? (float)(rest / (double)nrest) : 0.0f;
    // Neighbours are read from img as it was: only pixels holding v are written, and those
    // never count as neighbours.
    float *out = px_malloc(hw * sizeof(float), "impulse filter");
    int replaced = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            out[i] = img[i];
            if (img[i] != v) continue;
            float sum = 0;
            int k = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if ((dy == 0 && dx == 0) || yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                    float nb = img[(size_t)yy * W + xx];
                    if (nb == v) continue;
                    sum += nb;
                    k++;
                }
            out[i] = k ? sum / (float)k : fallback;
            replaced++;
        }
    memcpy(img, out, hw * sizeof(float));
    free(out);
    return replaced;
}

int input_filter_selects(float fraction, size_t k) {
    if (fraction >= 1.0f) return 1;
    double f = fraction;
    return floor((double)(k + 1) * f) > floor((double)k * f);
}

size_t input_filter_apply(int filter, float *images, size_t n, int H, int W, size_t *untouched) {
    size_t total = 0, none = 0;
    for (size_t i = 0; i < n && filter == NET_FILTER_IMPULSE; i++) {
        int r = impulse_filter(images + i * (size_t)H * W, H, W);
        total += (size_t)r;
        none += r == 0;
    }
    if (untouched) *untouched = filter == NET_FILTER_IMPULSE ? none : n;
    return total;
}
