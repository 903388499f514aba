// The impulse input filter (include/nn/input_filter.h) against this file's own reference:
// images built here with known impulse pixels, each replaced pixel compared with the mean of
// its other neighbours computed in double; the cases where it must leave an image alone
// (too few repeats, a second repeated value, 8-bit levels, no impulse at all); the seed's
// recipe (an impulse found in every image, at an integer level in [5, 39] of 255, about 2%
// of the pixels; none without background noise); and the wiring: a network whose config
// names the filter gives, through net_set_batch, the heatmaps of the plain network fed the
// filtered images, to the bit. Shapes: 50x50, 7x13, 1x9, 3x3.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "input_filter.h"
#include "net.h"
#include "ocl.h"
#include "rng.h"
#include "test_util.h"

// Continuous noise in (0, 1) with about a quarter of the pixels at 0 and a few at 1 (the clip
// levels, repeated by clipping), then k impulse pixels at value v at random places; mask[i]
// marks them.
static void make_image(float *img, unsigned char *mask, int H, int W, int k, float v, uint64_t *st) {
    size_t hw = (size_t)H * W;
    t_fill_uniform(img, hw, 0.0f, 1.0f, st);
    for (size_t i = 0; i < hw; i++) {
        if (img[i] < 0.25f)
            img[i] = 0.0f;
        else if (img[i] > 0.98f)
            img[i] = 1.0f;
        mask[i] = 0;
    }
    for (int placed = 0; placed < k;) {
        float r;
        t_fill_uniform(&r, 1, 0.0f, (float)hw, st);
        size_t i = (size_t)r;
        if (i >= hw || mask[i]) continue;
        mask[i] = 1;
        img[i] = v;
        placed++;
    }
}

// The filter's result by the header's rule, in double, for an image whose impulse pixels are mask.
static void reference(const float *img, const unsigned char *mask, int H, int W, double *want) {
    size_t hw = (size_t)H * W;
    double rest = 0;
    size_t nrest = 0;
    for (size_t i = 0; i < hw; i++)
        if (!mask[i]) {
            rest += img[i];
            nrest++;
        }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            want[i] = img[i];
            if (!mask[i]) continue;
            double s = 0;
            int k = 0;
            for (int yy = y - 1; yy <= y + 1; yy++)
                for (int xx = x - 1; xx <= x + 1; xx++)
                    if (yy >= 0 && yy < H && xx >= 0 && xx < W && !mask[(size_t)yy * W + xx]) {
                        s += img[(size_t)yy * W + xx];
                        k++;
                    }
            want[i] = k ? s / k : (nrest ? rest / (double)nrest : 0.0);
        }
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void filtered_cases(uint64_t *st) {
    static const int shapes[][3] = {{50, 50, 50}, {7, 13, 9}, {1, 9, 4}, {3, 3, 8}}; // H, W, impulse pixels
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int H = shapes[s][0], W = shapes[s][1], k = shapes[s][2];
        size_t hw = (size_t)H * W;
        float *img = malloc(hw * sizeof(float)), *orig = malloc(hw * sizeof(float));
        unsigned char *mask = malloc(hw);
        double *want = malloc(hw * sizeof(double));
        float v = 23.0f / 255.0f;
        make_image(img, mask, H, W, k, v, st);
        if (hw >= 20) { // a coincidental pair of another value must not stop the filter
            size_t a = 0, b = hw - 1;
            while (mask[a]) a++;
            while (mask[b]) b--;
            img[a] = img[b] = 0.5f;
        }
        memcpy(orig, img, hw * sizeof(float));
        reference(orig, mask, H, W, want);
        float found = -1;
        CHECK(impulse_find(img, H, W, &found) == 1 && found == v, "%dx%d: impulse value %g, want %g", H, W, found, v);
        int rep = impulse_filter(img, H, W);
        CHECK(rep == k, "%dx%d: %d pixels replaced, want %d", H, W, rep, k);
        char name[64];
        snprintf(name, sizeof name, "impulse %dx%d (%d of %zu)", H, W, k, hw);
        t_compare(name, img, want, hw, 1e-6, 1e-6);
        size_t kept = 0;
        for (size_t i = 0; i < hw; i++) kept += !mask[i] && img[i] == orig[i];
        CHECK(kept == hw - (size_t)k, "%dx%d: %zu of %zu other pixels unchanged", H, W, kept, hw - (size_t)k);
        free(img);
        free(orig);
        free(mask);
        free(want);
    }
}

// Images the filter must leave exactly as they were.
static void untouched_cases(uint64_t *st) {
    const int H = 50, W = 50;
    size_t hw = (size_t)H * W;
    float *img = malloc(hw * sizeof(float)), *orig = malloc(hw * sizeof(float));
    unsigned char *mask = malloc(hw);
    const char *what[] = {"3 repeats (below IMPULSE_MIN_COUNT)", "a second value repeated 3 times", "8-bit levels",
                          "no repeated value", "NaN and inf pixels, no impulse"};
    for (int c = 0; c < 5; c++) {
        make_image(img, mask, H, W, c == 0 ? 3 : (c == 1 ? 50 : 0), 0.1f, st);
        if (c == 1)
            for (int i = 0; i < 3; i++) img[100 + 7 * i] = 0.7f; // 0.1 x 50 and 0.7 x 3
        if (c == 2)
            for (size_t i = 0; i < hw; i++) img[i] = (float)(int)(img[i] * 255.0f) / 255.0f;
        if (c == 4) {
            img[5] = NAN;
            img[6] = NAN;
            img[7] = INFINITY;
            img[8] = NAN;
            img[9] = NAN;
        }
        memcpy(orig, img, hw * sizeof(float));
        float v;
        CHECK(impulse_find(img, H, W, &v) == 0, "%s: an impulse value was found (%g)", what[c], v);
        CHECK(impulse_filter(img, H, W) == 0, "%s: pixels were replaced", what[c]);
        CHECK(memcmp(img, orig, hw * sizeof(float)) == 0, "%s: the image changed", what[c]);
    }
    CHECK(input_filter_apply(NET_FILTER_NONE, img, 1, H, W, NULL) == 0 && memcmp(img, orig, hw * sizeof(float)) == 0,
          "NET_FILTER_NONE changed the image");
    free(img);
    free(orig);
    free(mask);
}

// The seed's recipe: the filter must find the background noise in every image, and nothing
// when the recipe has none.
static void recipe_cases(void) {
    recipe r;
    recipe_default(&r);
    const int N = 400;
    dataset d;
    dataset_generate(&d, &r, N, 42);
    size_t hw = (size_t)d.H * d.W, total = 0;
    int found = 0, integer = 0, left = 0;
    for (int i = 0; i < N; i++) {
        float *img = d.images + (size_t)i * hw, v;
        if (!impulse_find(img, d.H, d.W, &v)) continue;
        found++;
        double lv = v * 255.0;
        integer += fabs(lv - floor(lv + 0.5)) < 1e-4 && lv > 4.5 && lv < 39.5;
        total += (size_t)impulse_filter(img, d.H, d.W);
        for (size_t k = 0; k < hw; k++) left += img[k] == v;
    }
    double mean = (double)total / N, want = r.bg_prob * (double)hw;
    printf("  seed recipe: impulse found in %d of %d images, %.2f pixels each (expected %.1f)\n", found, N, mean, want);
    CHECK(found == N, "impulse found in %d of %d images", found, N);
    CHECK(integer == N, "%d of %d impulse values are integer levels in [5, 39]", integer, N);
    // Binomial(2500, 0.02) per image: the mean of 400 has a standard deviation of 0.35.
    CHECK(fabs(mean - want) < 1.5, "%.2f pixels replaced per image, expected %.1f", mean, want);
    CHECK(left == 0, "%d pixels still hold the impulse value", left);
    dataset_free(&d);
    r.bg_prob = 0;
    dataset_generate(&d, &r, N, 42);
    int none = 0;
    for (int i = 0; i < N; i++) none += impulse_filter(d.images + (size_t)i * hw, d.H, d.W) == 0;
    CHECK(none == N, "without background noise, %d of %d images were left alone", none, N);
    dataset_free(&d);
}

// net_set_batch applies the config's filter: a filtering net's heatmaps equal the plain net's
// on images filtered here, and differ from the plain net's on the raw images.
static void net_cases(uint64_t *st) {
    ocl_ctx c;
    ocl_options o = {0};
    o.quiet = 1;
    ocl_init(&c, &o);
    const int H = 9, W = 11, N = 3;
    size_t hw = (size_t)H * W, cnt = (size_t)N * hw;
    net_config plain;
    net_config_seed(&plain);
    char e[256];
    CHECK(net_config_channels(&plain, "4,6", e, sizeof e) == 0, "%s", e);
    net_config filt = plain;
    filt.input_filter = NET_FILTER_IMPULSE;
    net *a = net_create_kind(&c, &plain, H, W, N, NET_KIND_INFERENCE);
    net *b = net_create_kind(&c, &filt, H, W, N, NET_KIND_INFERENCE);
    rng_state g1, g2;
    rng_seed(&g1, 5);
    rng_seed(&g2, 5);
    net_init(a, &g1);
    net_init(b, &g2);
    float *img = malloc(cnt * sizeof(float)), *pre = malloc(cnt * sizeof(float));
    unsigned char *mask = malloc(hw);
    for (int i = 0; i < N; i++) make_image(img + i * hw, mask, H, W, 6, 0.3f, st);
    memcpy(pre, img, cnt * sizeof(float));
    CHECK(input_filter_apply(NET_FILTER_IMPULSE, pre, N, H, W, NULL) == (size_t)(6 * N), "6 pixels per image replaced");
    float *ha = malloc(cnt * sizeof(float)), *hb = malloc(cnt * sizeof(float)), *hr = malloc(cnt * sizeof(float));
    float *raw = malloc(cnt * sizeof(float));
    memcpy(raw, img, cnt * sizeof(float));
    net_set_batch(b, N, img, NULL);
    CHECK(same(raw, img, cnt), "net_set_batch changed the caller's images");
    net_forward(b, N, 0);
    net_read_heatmaps(b, N, hb);
    net_set_batch(a, N, pre, NULL);
    net_forward(a, N, 0);
    net_read_heatmaps(a, N, ha);
    net_set_batch(a, N, img, NULL);
    net_forward(a, N, 0);
    net_read_heatmaps(a, N, hr);
    CHECK(same(ha, hb, cnt), "a filtering net differs from the plain net on filtered images");
    CHECK(!same(hr, hb, cnt), "the filter made no difference to the heatmaps: the test cannot fail");
    free(raw);
    free(img);
    free(pre);
    free(mask);
    free(ha);
    free(hb);
    free(hr);
    net_free(a);
    net_free(b);
    ocl_release(&c);
}

// The header's rule by sorting (the filter's own first implementation, kept here as the
// reference): the candidate values sorted, the longest run of one value and the next longest.
static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int sorted_find(const float *img, size_t hw, float *value) {
    float *v = malloc((hw ? hw : 1) * sizeof(float));
    size_t m = 0, best = 0, second = 0;
    for (size_t i = 0; i < hw; i++)
        if (isfinite(img[i]) && img[i] != 0.0f && img[i] != 1.0f) v[m++] = img[i];
    qsort(v, m, sizeof *v, cmp_float);
    float bv = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && v[j] == v[i]) j++;
        if (j - i > best) {
            second = best;
            best = j - i;
            bv = v[i];
        } else if (j - i > second) {
            second = j - i;
        }
        i = j;
    }
    free(v);
    if (best < IMPULSE_MIN_COUNT || second > 2) return 0;
    *value = bv;
    return 1;
}

// impulse_find (a hash count) against sorted_find on images meant to stress it: few levels
// (long probe chains, every value repeated), two values tied for the most, a runner-up at 2
// and at 3, -0.0 pixels (not candidates, like +0), an image of one value, and sizes from 1x1
// to 200x200 (a power-of-two pixel count gives a table of exactly twice the image).
static void find_matches_sort(uint64_t *st) {
    static const int shapes[][2] = {{1, 1}, {1, 5}, {3, 3}, {7, 13}, {32, 32}, {50, 50}, {64, 64}, {200, 200}};
    int bad = 0, found = 0, cases = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int H = shapes[s][0], W = shapes[s][1];
        size_t hw = (size_t)H * W;
        float *img = malloc(hw * sizeof(float));
        unsigned char *mask = malloc(hw);
        for (int c = 0; c < 40; c++) {
            int kind = c % 8;
            int k = (int)(hw / 50) + c % 5;
            make_image(img, mask, H, W, k < (int)hw ? k : (int)hw, (float)(5 + c) / 255.0f, st);
            if (kind == 1) // few levels: everything repeats
                for (size_t i = 0; i < hw; i++) img[i] = (float)(int)(img[i] * (float)(2 + c)) / (float)(2 + c);
            if (kind == 2 && hw >= 12) // a second value tied with the impulse value's count
                for (size_t i = 0; i < hw; i++)
                    if (!mask[i] && i % 7 == 0) img[i] = 0.625f;
            if (kind == 3 && hw >= 8) { // a runner-up at 2 (kept) or 3 (rejects)
                int runner = 2 + (c / 8) % 2;
                for (int r = 0, i = 0; r < runner && (size_t)i < hw; i++)
                    if (!mask[i]) img[i] = 0.375f, r++;
            }
            if (kind == 4)
                for (size_t i = 0; i < hw; i += 3) img[i] = -0.0f;
            if (kind == 5)
                for (size_t i = 0; i < hw; i++) img[i] = 0.5f;
            float a = -1, b = -1;
            int ra = impulse_find(img, H, W, &a), rb = sorted_find(img, hw, &b);
            cases++;
            found += rb;
            if (ra != rb || (ra && memcmp(&a, &b, sizeof a) != 0)) {
                if (bad++ < 5)
                    printf("  %dx%d case %d: impulse_find %d (%g), by sorting %d (%g)\n", H, W, c, ra, a, rb, b);
            }
        }
        free(img);
        free(mask);
    }
    printf("  impulse_find against sorting: %d images, %d with an impulse value\n", cases, found);
    CHECK(bad == 0, "impulse_find differs from the sorted count on %d of %d images", bad, cases);
    CHECK(found > cases / 4 && found < cases, "the cases must include images with and without an impulse (%d of %d)",
          found, cases);
}

// input_filter_selects: of the first n images, floor(n * f) chosen for every n (so the share is
// exact at every prefix and the chosen ones are spread evenly); 1 chooses all. Counted here
// directly, not through the formula.
static void fraction_cases(void) {
    static const float fr[] = {1.0f, 0.5f, 0.75f, 0.3f, 0.9f, 1e-3f};
    for (size_t c = 0; c < sizeof fr / sizeof *fr; c++) {
        size_t chosen = 0, bad = 0;
        for (size_t k = 0; k < 5000; k++) {
            chosen += (size_t)input_filter_selects(fr[c], k);
            if (chosen != (size_t)floor((double)(k + 1) * (double)fr[c])) bad++;
        }
        CHECK(bad == 0, "input_filter_selects(%g): floor(n*f) of every first n images chosen (%zu prefixes off)",
              (double)fr[c], bad);
    }
    CHECK(input_filter_selects(0.5f, 0) == 0 && input_filter_selects(0.5f, 1) == 1 &&
              input_filter_selects(0.5f, 2) == 0 && input_filter_selects(1.0f, 0) == 1,
          "input_filter_selects(0.5): every second image, from the second");
}

int main(void) {
    uint64_t st = 4242;
    fraction_cases();
    CHECK(input_filter_parse("none") == NET_FILTER_NONE && input_filter_parse("impulse") == NET_FILTER_IMPULSE &&
              input_filter_parse("median") == -1,
          "input_filter_parse");
    CHECK(strcmp(input_filter_name(NET_FILTER_IMPULSE), "impulse") == 0 &&
              strcmp(input_filter_name(NET_FILTER_NONE), "none") == 0,
          "input_filter_name");
    filtered_cases(&st);
    find_matches_sort(&st);
    untouched_cases(&st);
    recipe_cases();
    net_cases(&st);
    return t_summary();
}
