// The synthetic dataset against the reference: blur taps and border folding from
// REFERENCE.md, heatmaps, the numpy/OpenCV fixture written by
// tools/dataset_reference.py (coordinates exact, pixels to 1e-6, split indices
// exact), the notebook's five test samples, and statistics of a large noisy
// sample that a wrong noise std, background probability or range would fail.
#include "dataset.h"
#include "pixloc.h"
#include "safetensors.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];

static void test_taps(void) {
    double t[32];
    const double k3[3] = {0.25, 0.5, 0.25}, k5[5] = {1 / 16., 4 / 16., 6 / 16., 4 / 16., 1 / 16.},
                 k7[7] = {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125};
    CHECK(recipe_blur_taps(0, t) == 0, "ksize 0 means no blur");
    CHECK(recipe_blur_taps(3, t) == 3 && !memcmp(t, k3, sizeof k3), "ksize 3 taps");
    CHECK(recipe_blur_taps(5, t) == 5 && !memcmp(t, k5, sizeof k5), "ksize 5 taps");
    CHECK(recipe_blur_taps(7, t) == 7 && !memcmp(t, k7, sizeof k7), "ksize 7 taps");
    // Sizes without a table: OpenCV's sigma = 0.3*((k-1)*0.5 - 1) + 0.8, normalised.
    CHECK(recipe_blur_taps(9, t) == 9, "ksize 9");
    double s = 0, sig = 0.3 * (4 - 1) + 0.8;
    for (int i = 0; i < 9; i++) s += t[i];
    CHECK(fabs(s - 1) < 1e-12 && fabs(t[5] / t[4] - exp(-1 / (2 * sig * sig))) < 1e-12, "ksize 9 taps");
}

// Expected 1-D profile (sixteenths) of an impulse at p on a 50-long axis,
// from REFERENCE.md: interior [1,4,6,4,1]; p=0 -> [6,4,1]; p=1 -> [8,7,4,1]; and by the same
// reflect-101 rule (output 0 reads inputs -2..2, -2 being input 2) p=2 -> [2,4,6,4,1];
// mirrored at the far end.
static void profile16(int p, double *w) {
    memset(w, 0, 50 * sizeof *w);
    static const double in[5] = {1, 4, 6, 4, 1}, e0[3] = {6, 4, 1}, e1[4] = {8, 7, 4, 1}, e2[5] = {2, 4, 6, 4, 1};
    if (p == 0)
        for (int i = 0; i < 3; i++) w[i] = e0[i];
    else if (p == 1)
        for (int i = 0; i < 4; i++) w[i] = e1[i];
    else if (p == 2)
        for (int i = 0; i < 5; i++) w[i] = e2[i];
    else if (p == 49)
        for (int i = 0; i < 3; i++) w[49 - i] = e0[i];
    else if (p == 48)
        for (int i = 0; i < 4; i++) w[49 - i] = e1[i];
    else if (p == 47)
        for (int i = 0; i < 5; i++) w[49 - i] = e2[i];
    else
        for (int i = 0; i < 5; i++) w[p - 2 + i] = in[i];
}

static void test_blur_noise_off(void) {
    recipe r;
    recipe_default(&r);
    r.noise_std = 0;
    r.bg_prob = 0;
    enum { N = 3000 };
    dataset d;
    dataset_generate(&d, &r, N, 7);
    int bad = 0, seen_edge[4] = {0}, peak_ok = 1, peaks = 0;
    double wx[50], wy[50];
    for (int i = 0; i < N; i++) {
        int x = d.coords[2 * i], y = d.coords[2 * i + 1];
        if (x < 0 || x >= 50 || y < 0 || y >= 50) {
            bad++;
            continue;
        }
        seen_edge[0] += x == 0;
        seen_edge[1] += x == 1;
        seen_edge[2] += y == 0;
        seen_edge[3] += y == 49 || y == 47;
        profile16(x, wx);
        profile16(y, wy);
        const float *img = d.images + (size_t)i * 2500;
        for (int v = 0; v < 50; v++)
            for (int u = 0; u < 50; u++) {
                double want = wy[v] * wx[u] / 256.0; // 255 * w / 255
                if (fabs(img[v * 50 + u] - want) > 1e-7) bad++;
            }
        if (x >= 2 && x <= 47 && y >= 2 && y <= 47) {
            peaks++;
            peak_ok &= img[y * 50 + x] == 0.140625f;
        }
    }
    CHECK(bad == 0, "%d pixels differ from the REFERENCE.md blur profiles (noise off)", bad);
    CHECK(peaks > 0 && peak_ok, "interior peak is not 0.140625 (255 * 0.375^2 / 255)");
    CHECK(seen_edge[0] && seen_edge[1] && seen_edge[2] && seen_edge[3], "border cases not exercised");
    dataset_free(&d);
}

static void test_heatmap(void) {
    float hm[50 * 50];
    heatmap_fill(hm, 50, 50, 10, 20, 1.8);
    int argmax = 0;
    for (int i = 1; i < 2500; i++)
        if (hm[i] > hm[argmax]) argmax = i;
    CHECK(hm[20 * 50 + 10] == 1.0f && argmax == 20 * 50 + 10, "peak not exactly 1 at (x=10, y=20)");
    CHECK(hm[20 * 50 + 11] == (float)exp(-1.0 / 6.48) && hm[21 * 50 + 10] == hm[20 * 50 + 11], "neighbour value %.9g",
          hm[20 * 50 + 11]);
    CHECK(hm[22 * 50 + 13] == (float)exp(-13.0 / 6.48), "value at distance^2 13");
    CHECK(hm[0] == (float)exp(-(100.0 + 400.0) / 6.48), "far corner");
    // Every pixel against the formula itself (heatmap_fill skips exp where it rounds to 0), for
    // narrow to wide sigmas, peaks at corners and off the image, odd sizes.
    static const double sig[] = {0.3, 0.8, 1.0, 1.8, 5.0, 40.0};
    static const int geo[][4] = {{50, 50, 0, 0}, {50, 50, 49, 13}, {7, 31, 3, 30}, {9, 4, -3, 12}, {1, 1, 0, 0}};
    float out[50 * 50];
    int bad = 0, zeros = 0, n = 0;
    for (size_t a = 0; a < sizeof sig / sizeof *sig; a++)
        for (size_t g = 0; g < sizeof geo / sizeof *geo; g++) {
            int H = geo[g][0], W = geo[g][1], x = geo[g][2], y = geo[g][3];
            heatmap_fill(out, H, W, x, y, sig[a]);
            for (int v = 0; v < H; v++)
                for (int u = 0; u < W; u++) {
                    double d2 = (double)(u - x) * (u - x) + (double)(v - y) * (v - y);
                    float want = (float)exp(-d2 / (2.0 * (sig[a] * sig[a])));
                    bad += memcmp(&out[v * W + u], &want, sizeof want) != 0;
                    zeros += want == 0.0f;
                    n++;
                }
        }
    CHECK(bad == 0, "heatmap_fill differs from exp of the formula at %d of %d pixels", bad, n);
    CHECK(zeros > n / 4 && zeros < n, "the cases must include pixels that round to 0 and others (%d of %d)", zeros, n);
}

// Loads the fixture's (prefix)_images/_coords and recipe/seed metadata and compares a fresh generation.
static void compare_set(st_file *f, const char *prefix) {
    char name[64];
    snprintf(name, sizeof name, "%s_recipe", prefix);
    const char *rs = st_meta(f, name);
    snprintf(name, sizeof name, "%s_seed", prefix);
    const char *ss = st_meta(f, name);
    CHECK(rs && ss, "fixture lacks %s recipe/seed", prefix);
    if (!rs || !ss) return;
    recipe r;
    CHECK(recipe_from_string(&r, rs, err, sizeof err) == 0, "%s", err);
    snprintf(name, sizeof name, "%s_images", prefix);
    int64_t shp[3] = {-1, r.H, r.W};
    const st_tensor *im = st_expect(f, name, ST_F32, 3, shp, err, sizeof err);
    snprintf(name, sizeof name, "%s_coords", prefix);
    const st_tensor *co = st_find(f, name);
    CHECK(im && co && co->dtype == ST_I32, "%s", err);
    if (!im || !co) return;
    int n = (int)co->shape[0], ni = (int)im->shape[0];
    dataset d;
    dataset_generate(&d, &r, n, (uint32_t)strtoul(ss, NULL, 10));
    CHECK(!memcmp(d.coords, co->data, (size_t)n * 2 * sizeof(int32_t)), "%s: coordinates differ from numpy", prefix);
    snprintf(name, sizeof name, "%s images vs numpy/OpenCV", prefix);
    t_compare_f(name, d.images, im->data, (size_t)ni * r.H * r.W, 1e-6, 0);
    dataset_free(&d);
}

static void test_fixture(void) {
    const char *dir = getenv("PIXLOC_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/dataset_fixture.safetensors", dir ? dir : "tests/data");
    st_file *f = st_open(path, err, sizeof err);
    CHECK(f != NULL, "fixture: %s (set PIXLOC_TEST_DATA)", err);
    if (!f) return;
    compare_set(f, "small");
    compare_set(f, "tiny");
    compare_set(f, "noblur");
    compare_set(f, "wide");

    // The seed dataset: 15000 samples, also timed.
    recipe r;
    recipe_default(&r);
    dataset d;
    double t0 = px_now();
    dataset_generate(&d, &r, 15000, 42);
    printf("generated 15000 samples of 50x50 in %.3f s\n", px_now() - t0);
    int64_t s200[3] = {200, 50, 50}, sc[2] = {15000, 2}, s5[3] = {5, 50, 50}, s1[3] = {1, 50, 50};
    const st_tensor *im = st_expect(f, "seed42_images", ST_F32, 3, s200, err, sizeof err);
    const st_tensor *co = st_expect(f, "seed42_coords", ST_I32, 2, sc, err, sizeof err);
    CHECK(im && co, "%s", err);
    if (co) CHECK(!memcmp(d.coords, co->data, 15000 * 2 * sizeof(int32_t)), "seed-42 coordinates differ from numpy");
    if (im) t_compare_f("seed 42 images 0..199", d.images, im->data, 200 * 2500, 1e-6, 0);
    const st_tensor *last = st_expect(f, "seed42_last_image", ST_F32, 3, s1, err, sizeof err);
    if (last) t_compare_f("seed 42 image 14999", d.images + 14999 * 2500, last->data, 2500, 1e-6, 0);
    CHECK(last, "%s", err);

    splits s;
    dataset_split(15000, 42, 0.2, 0.1, &s);
    CHECK(s.n_test == 3000 && s.n_train == 10800 && s.n_val == 1200, "split sizes %d/%d/%d", s.n_train, s.n_val,
          s.n_test);
    int64_t s3000[1] = {3000}, s12000[1] = {12000};
    const st_tensor *te = st_expect(f, "seed42_test_idx", ST_I64, 1, s3000, err, sizeof err);
    const st_tensor *tr = st_expect(f, "seed42_train_idx", ST_I64, 1, s12000, err, sizeof err);
    CHECK(te && tr, "%s", err);
    if (te && tr && s.n_test == 3000 && s.n_train == 10800) {
        const int64_t *tri = tr->data;
        CHECK(!memcmp(s.test, te->data, 3000 * sizeof(int64_t)), "test indices differ from sklearn");
        CHECK(!memcmp(s.train, tri, 10800 * sizeof(int64_t)), "train indices differ from sklearn's first 10800");
        CHECK(!memcmp(s.val, tri + 10800, 1200 * sizeof(int64_t)), "validation is not the last 1200 of train");
    }
    // The notebook's five test samples (REFERENCE coordinates, independent of the fixture).
    static const int nb_idx[5] = {1494, 2903, 1355, 233, 2802};
    static const int nb_xy[5][2] = {{30, 29}, {46, 29}, {20, 11}, {16, 30}, {1, 35}};
    const st_tensor *nbi = st_expect(f, "seed42_notebook_images", ST_F32, 3, s5, err, sizeof err);
    CHECK(nbi, "%s", err);
    for (int k = 0; k < 5 && s.n_test == 3000; k++) {
        int64_t i = s.test[nb_idx[k]];
        CHECK(d.coords[2 * i] == nb_xy[k][0] && d.coords[2 * i + 1] == nb_xy[k][1],
              "notebook test sample %d: (%d, %d), want (%d, %d)", nb_idx[k], d.coords[2 * i], d.coords[2 * i + 1],
              nb_xy[k][0], nb_xy[k][1]);
        if (nbi) {
            char nm[64];
            snprintf(nm, sizeof nm, "notebook test sample %d image", nb_idx[k]);
            t_compare_f(nm, d.images + i * 2500, (const float *)nbi->data + k * 2500, 2500, 1e-6, 0);
        }
    }
    int64_t s50[2] = {50, 50};
    const st_tensor *hm0 = st_expect(f, "seed42_heatmap0", ST_F32, 2, s50, err, sizeof err);
    if (hm0) {
        float hm[2500];
        heatmap_fill(hm, 50, 50, d.coords[0], d.coords[1], 1.8);
        t_compare_f("heatmap of sample 0 vs numpy", hm, hm0->data, 2500, 0, 0);
    }
    CHECK(hm0, "%s", err);
    splits_free(&s);
    dataset_free(&d);
    st_close(f);
}

// Statistics of the seed recipe on 4000 fresh samples (10M pixels). Background
// pixels (more than 3 px from the target: no blur there) are clip(N(0, 10)) with
// probability 1 - p, or the image's background value, an integer in [5, 40), with p = 0.02.
static void test_statistics(void) {
    recipe r;
    recipe_default(&r);
    enum { N = 4000 };
    dataset d;
    dataset_generate(&d, &r, N, 12345);
    double n_bg = 0, n_zero = 0, n_int = 0, n_pos = 0, s_pos = 0, s2_pos = 0, s_all = 0, s_int = 0;
    int vmin = 1000, vmax = -1, hits = 0;
    static int hist[256]; // background pixels exactly equal to k/255
    for (int i = 0; i < N; i++) {
        int x = d.coords[2 * i], y = d.coords[2 * i + 1];
        const float *img = d.images + (size_t)i * 2500;
        int am = 0;
        for (int k = 1; k < 2500; k++)
            if (img[k] > img[am]) am = k;
        hits += am == y * 50 + x;
        for (int v = 0; v < 50; v++)
            for (int u = 0; u < 50; u++) {
                if (abs(u - x) <= 3 && abs(v - y) <= 3) continue;
                double p = img[v * 50 + u] * 255.0;
                n_bg++;
                s_all += p;
                if (p == 0) {
                    n_zero++;
                    continue;
                }
                double k = floor(p + 0.5);
                // Exactly k/255 in float: the background value (noise lands there ~never).
                if (img[v * 50 + u] == (float)k / 255.0f) {
                    n_int++;
                    s_int += k;
                    hist[(int)k]++;
                } else if (p < 255) {
                    n_pos++;
                    s_pos += p;
                    s2_pos += p * p;
                }
            }
    }
    // Each image's value fills ~2% of its 2450 background pixels: values seen 20+
    // times are background values, not a stray noise value that happened to be integral.
    for (int k = 0; k < 256; k++)
        if (hist[k] >= 20) {
            if (k < vmin) vmin = k;
            if (k > vmax) vmax = k;
        }
    double f_zero = n_zero / n_bg, f_bg = n_int / n_bg, m_pos = s_pos / n_pos, m2_pos = s2_pos / n_pos;
    double mean = s_all / n_bg, want_mean = 0.98 * 10 / sqrt(2 * M_PI) + 0.02 * 22;
    printf("background: zero %.4f (want 0.49), integer-valued %.5f (want 0.02), range %d..%d (want 5..39)\n", f_zero,
           f_bg, vmin, vmax);
    printf("positive noise: mean %.4f (want %.4f), mean square %.3f (want 100); mean %.4f (want %.4f)\n", m_pos,
           10 * sqrt(2 / M_PI), m2_pos, mean, want_mean);
    printf("brightest pixel is the target in %.1f%% (reference: about 41%%)\n", 100.0 * hits / N);
    CHECK(fabs(f_zero - 0.49) < 0.003, "fraction of zero background pixels %.4f, want 0.98 * 0.5", f_zero);
    CHECK(fabs(f_bg - 0.02) < 0.0006, "background-noise fraction %.5f, want 0.02", f_bg);
    CHECK(vmin == 5 && vmax == 39, "background values span %d..%d, want randint(5, 40) = 5..39", vmin, vmax);
    CHECK(fabs(s_int / n_int - 22) < 0.8, "mean background value %.3f, want 22", s_int / n_int);
    CHECK(fabs(m_pos - 10 * sqrt(2 / M_PI)) < 0.05, "mean of positive noise %.4f, want 10*sqrt(2/pi)", m_pos);
    CHECK(fabs(m2_pos - 100) < 1.0, "mean square of positive noise %.3f, want std^2 = 100", m2_pos);
    CHECK(fabs(mean - want_mean) < 0.05, "background mean %.4f, want %.4f", mean, want_mean);
    CHECK(fabs(100.0 * hits / N - 41) < 3.5, "brightest-pixel hit rate %.1f%%, want about 41%%", 100.0 * hits / N);
    dataset_free(&d);
}

// Field by field: memcmp would read the struct's padding (after blur), which nothing sets.
static int recipe_eq(const recipe *a, const recipe *b) {
    return a->H == b->H && a->W == b->W && a->blur == b->blur && a->noise_std == b->noise_std &&
           a->bg_prob == b->bg_prob && a->bg_lo == b->bg_lo && a->bg_hi == b->bg_hi && a->sigma == b->sigma;
}

static void test_recipe_and_draw(void) {
    recipe a, b;
    recipe_default(&a);
    a.H = 7;
    a.W = 11;
    a.blur = 3;
    a.noise_std = 2.5;
    a.bg_prob = 0.125;
    a.bg_lo = 0;
    a.bg_hi = 256;
    a.sigma = 0.1;
    char s[256];
    recipe_to_string(&a, s, sizeof s);
    CHECK(recipe_from_string(&b, s, err, sizeof err) == 0 && recipe_eq(&a, &b), "recipe round trip: '%s'", s);
    recipe_default(&a);
    recipe_to_string(&a, s, sizeof s);
    CHECK(strstr(s, "noise_std=10,") && strstr(s, "bg_prob=0.02,") && strstr(s, "sigma=1.8"), "default recipe '%s'", s);
    CHECK(recipe_from_string(&b, "H=5,foo=3", err, sizeof err) == -1 && strstr(err, "unknown key 'foo'"), "'%s'", err);
    CHECK(recipe_from_string(&b, "blur=4", err, sizeof err) == -1 && strstr(err, "blur 4"), "'%s'", err);
    CHECK(recipe_from_string(&b, "H=abc", err, sizeof err) == -1 && strstr(err, "H=abc"), "'%s'", err);
    CHECK(recipe_from_string(&b, "H=100000", err, sizeof err) == -1 && strstr(err, "4096"), "'%s'", err);
    CHECK(recipe_from_string(&b, "bg_lo=40,bg_hi=5", err, sizeof err) == -1 && strstr(err, "lo < hi"), "'%s'", err);
    CHECK(recipe_from_string(&b, "noise_std=-1", err, sizeof err) == -1, "negative std accepted");

    // Drawing in two chunks from one generator continues the same stream as one generation.
    recipe_default(&a);
    dataset d;
    dataset_generate(&d, &a, 10, 99);
    float *img = malloc(10 * 2500 * sizeof *img);
    int32_t xy[20];
    rng_state g;
    rng_seed(&g, 99);
    dataset_draw(&g, &a, 4, img, xy);
    dataset_draw(&g, &a, 6, img + 4 * 2500, xy + 8);
    CHECK(!memcmp(img, d.images, 10 * 2500 * sizeof *img) && !memcmp(xy, d.coords, sizeof xy),
          "dataset_draw in chunks differs from dataset_generate");
    free(img);

    // Save / load round trip with heatmaps and metadata.
    char *dir = t_tmpdir(), path[1024];
    snprintf(path, sizeof path, "%s/d.safetensors", dir);
    CHECK(dataset_save(&d, path, 1, err, sizeof err) == 0, "save: %s", err);
    dataset e;
    CHECK(dataset_load(&e, path, err, sizeof err) == 0, "load: %s", err);
    if (e.images) {
        CHECK(e.N == 10 && e.H == 50 && e.W == 50 && e.seed == 99 && recipe_eq(&e.rec, &a), "loaded header");
        CHECK(!memcmp(e.images, d.images, 10 * 2500 * sizeof(float)) && !memcmp(e.coords, d.coords, 20 * 4),
              "loaded data differ");
        float hm[2500];
        heatmap_fill(hm, 50, 50, d.coords[18], d.coords[19], 1.8);
        CHECK(e.heatmaps && !memcmp(e.heatmaps + 9 * 2500, hm, sizeof hm), "heatmaps not saved");
        st_file *f = st_open(path, err, sizeof err);
        CHECK(f && st_meta(f, "format") && !strcmp(st_meta(f, "format"), "pixloc-dataset") && st_meta(f, "version") &&
                  st_meta(f, "recipe") && st_meta(f, "seed") && !strcmp(st_meta(f, "seed"), "99"),
              "dataset metadata");
        if (f) st_close(f);
        dataset_free(&e);
    }
    // Pixels that are not gray values in [0, 1] are refused, naming the sample and the pixel.
    {
        float keep = d.images[3 * 2500 + 7 * 50 + 11];
        const float bad[] = {NAN, INFINITY, 1e30f, -0.5f};
        for (int b = 0; b < 4; b++) {
            d.images[3 * 2500 + 7 * 50 + 11] = bad[b];
            CHECK(dataset_save(&d, path, 0, err, sizeof err) == 0, "save: %s", err);
            CHECK(dataset_load(&e, path, err, sizeof err) == -1 && strstr(err, "sample 3 pixel (x=11, y=7)") &&
                      strstr(err, "[0, 1]"),
                  "pixel %g: '%s'", (double)bad[b], err);
        }
        d.images[3 * 2500 + 7 * 50 + 11] = keep;
    }
    // A dataset without a version says so.
    {
        st_writer *w = st_writer_new();
        st_writer_add(w, "images", ST_F32, 3, (const int64_t[]){10, 50, 50}, d.images);
        st_writer_add(w, "coords", ST_I32, 2, (const int64_t[]){10, 2}, d.coords);
        st_writer_meta(w, "format", "pixloc-dataset");
        CHECK(st_writer_save(w, path, err, sizeof err) == 0, "%s", err);
        st_writer_free(w);
        CHECK(dataset_load(&e, path, err, sizeof err) == -1 && strstr(err, "has no 'version'"), "no version: '%s'",
              err);
    }
    // Corrupt coordinates are refused on load.
    d.coords[5] = 50;
    CHECK(dataset_save(&d, path, 0, err, sizeof err) == 0, "save: %s", err);
    CHECK(dataset_load(&e, path, err, sizeof err) == -1 && strstr(err, "sample 2") && strstr(err, "outside"),
          "out-of-range coordinates: '%s'", err);
    CHECK(dataset_save(&d, "/nonexistent-dir/d.safetensors", 0, err, sizeof err) == -1 &&
              strstr(err, "/nonexistent-dir/d.safetensors"),
          "unwritable: '%s'", err);
    unlink(path);
    rmdir(dir);
    free(dir);
    dataset_free(&d);
}

int main(void) {
    test_taps();
    test_blur_noise_off();
    test_heatmap();
    test_recipe_and_draw();
    test_fixture();
    test_statistics();
    return t_summary();
}
