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

static int candidate(float v) { return isfinite(v) && v != 0.0f && v != 1.0f; }

// Counts of the candidate values by their bits (for candidates, equal floats are equal bits:
// +-0 and NaN are not candidates), in an open-addressed table; key 0 (+0.0f) marks a free slot.
typedef struct {
    uint32_t key, count;
} value_count;

// The impulse value of img (see the header) into *value; 0 when there is none. The value
// counted most often (bv, best times) and the next largest count (second), as a sort of the
// values would give them; which of two equal largest counts is bv does not matter, as
// second > 2 then rejects the image. A table twice the image (at least 64 slots) keeps the
// probe chains short; this replaced a qsort of the values, 10x slower on 50x50 images.
static int find_impulse(const float *img, size_t hw, float *value) {
    unsigned bits = 6;
    while (((size_t)1 << bits) < 2 * hw) bits++;
    size_t size = (size_t)1 << bits, mask = size - 1;
    value_count *t = px_calloc(size, sizeof *t, "impulse filter");
    for (size_t i = 0; i < hw; i++) {
        if (!candidate(img[i])) continue;
        uint32_t k;
        memcpy(&k, &img[i], sizeof k);
        size_t h = (size_t)(((uint64_t)k * 0x9E3779B97F4A7C15ull) >> (64 - bits));
        while (t[h].key != 0 && t[h].key != k) h = (h + 1) & mask;
        t[h].key = k;
        t[h].count++;
    }
    uint32_t best = 0, second = 0, bk = 0;
    for (size_t h = 0; h < size; h++) {
        uint32_t n = t[h].count;
        if (n > best) {
            second = best;
            best = n;
            bk = t[h].key;
        } else if (n > second) {
            second = n;
        }
    }
    free(t);
    if (best < IMPULSE_MIN_COUNT || second > 2) return 0;
    memcpy(value, &bk, sizeof *value);
    return 1;
}

int impulse_find(const float *img, int H, int W, float *value) {
    size_t hw = (size_t)H * W;
    if (hw == 0) return 0;
    return find_impulse(img, hw, value);
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
