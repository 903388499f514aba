// The synthetic bright-pixel dataset, reproducing the seed notebook's numpy/OpenCV
// generator draw for draw (shared/seed/REFERENCE.md). Per sample, in this order:
//   x = randint(0, W); y = randint(0, H); img[y, x] = 255          (float32)
//   img = GaussianBlur(img, (k, k), 0)       separable, BORDER_REFLECT_101
//   img += normal(0, std, (H, W))            float32 + float64 -> float32
//   mask = rand(H, W) < p; img[mask] = randint(lo, hi)   (one value per image)
//   img = clip(img, 0, 255) / 255            float32
// Every draw is made even when it cannot matter (std 0, p 0) because numpy makes it.
#include "dataset.h"

#include "pixloc.h"
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DATASET_FORMAT  "pixloc-dataset"
#define DATASET_VERSION "1"

void recipe_default(recipe *r) {
    r->H = 50;
    r->W = 50;
    r->blur = 5;
    r->noise_std = 10.0;
    r->bg_prob = 0.02;
    r->bg_lo = 5;
    r->bg_hi = 40;
    r->sigma = 1.8;
}

int recipe_validate(const recipe *r, char *err, size_t errlen) {
    if (r->H < 1 || r->W < 1 || r->H > RECIPE_MAX_SIDE || r->W > RECIPE_MAX_SIDE) {
        px_errf(err, errlen, "image size %dx%d out of range: each side must be 1..%d", r->H, r->W, RECIPE_MAX_SIDE);
        return -1;
    }
    if (r->blur != 0 && r->blur != 3 && r->blur != 5 && r->blur != 7) {
        px_errf(err, errlen, "blur %d unsupported: 0 (none), 3, 5 or 7 (OpenCV's fixed kernels)", r->blur);
        return -1;
    }
    if (!(r->noise_std >= 0 && r->noise_std <= 1e6)) {
        px_errf(err, errlen, "noise std %g out of range: 0..1e6 (0..255 scale)", r->noise_std);
        return -1;
    }
    if (!(r->bg_prob >= 0 && r->bg_prob <= 1)) {
        px_errf(err, errlen, "background probability %g out of range: 0..1", r->bg_prob);
        return -1;
    }
    if (r->bg_lo < 0 || r->bg_hi > 256 || r->bg_lo >= r->bg_hi) {
        px_errf(err, errlen, "background range [%d, %d) invalid: need 0 <= lo < hi <= 256", r->bg_lo, r->bg_hi);
        return -1;
    }
    if (!(r->sigma > 0 && r->sigma <= 1e4)) {
        px_errf(err, errlen, "heatmap sigma %g out of range: (0, 1e4]", r->sigma);
        return -1;
    }
    return 0;
}

// Shortest %g that reads back to the same double ("0.02", not "0.020000000000000000416").
static void fmt_double(char *buf, size_t len, double v) {
    for (int p = 6; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void recipe_to_string(const recipe *r, char *buf, size_t len) {
    char a[32], b[32], c[32];
    fmt_double(a, sizeof a, r->noise_std);
    fmt_double(b, sizeof b, r->bg_prob);
    fmt_double(c, sizeof c, r->sigma);
    snprintf(buf, len, "H=%d,W=%d,blur=%d,noise_std=%s,bg_prob=%s,bg_lo=%d,bg_hi=%d,sigma=%s", r->H, r->W, r->blur, a,
             b, r->bg_lo, r->bg_hi, c);
}

// Starts from the defaults; keys may come in any order and any subset.
int recipe_from_string(recipe *r, const char *s, char *err, size_t errlen) {
    recipe_default(r);
    const char *p = s;
    while (*p) {
        const char *eq = strchr(p, '='), *comma = strchr(p, ',');
        if (!comma) comma = p + strlen(p);
        if (!eq || eq > comma) {
            px_errf(err, errlen, "recipe '%s': expected key=value at '%.*s'", s, (int)(comma - p), p);
            return -1;
        }
        char key[32], val[64];
        size_t kl = (size_t)(eq - p), vl = (size_t)(comma - eq - 1);
        if (kl >= sizeof key || vl >= sizeof val || vl == 0) {
            px_errf(err, errlen, "recipe '%s': bad entry '%.*s'", s, (int)(comma - p), p);
            return -1;
        }
        memcpy(key, p, kl);
        key[kl] = 0;
        memcpy(val, eq + 1, vl);
        val[vl] = 0;
        char *end;
        errno = 0;
        double d = strtod(val, &end);
        int is_int = !strcmp(key, "H") || !strcmp(key, "W") || !strcmp(key, "blur") || !strcmp(key, "bg_lo") ||
                     !strcmp(key, "bg_hi");
        // ERANGE with a tiny result is an underflow to a subnormal (or 0): still a number, and one
        // recipe_to_string writes (a hex float like 0x1p-1074 parses without ERANGE but prints as 4.9e-324).
        int range_err = errno == ERANGE && !(fabs(d) < 1);
        if (*end || (errno && errno != ERANGE) || range_err || (is_int && (d != floor(d) || fabs(d) > 1e9))) {
            px_errf(err, errlen, "recipe '%s': %s=%s is not a%s number", s, key, val, is_int ? "n integer" : "");
            return -1;
        }
        if (!strcmp(key, "H"))
            r->H = (int)d;
        else if (!strcmp(key, "W"))
            r->W = (int)d;
        else if (!strcmp(key, "blur"))
            r->blur = (int)d;
        else if (!strcmp(key, "noise_std"))
            r->noise_std = d;
        else if (!strcmp(key, "bg_prob"))
            r->bg_prob = d;
        else if (!strcmp(key, "bg_lo"))
            r->bg_lo = (int)d;
        else if (!strcmp(key, "bg_hi"))
            r->bg_hi = (int)d;
        else if (!strcmp(key, "sigma"))
            r->sigma = d;
        else {
            px_errf(err, errlen, "recipe '%s': unknown key '%s'", s, key);
            return -1;
        }
        p = *comma ? comma + 1 : comma;
    }
    return recipe_validate(r, err, errlen);
}

int recipe_blur_taps(int ksize, double *taps) {
    static const double k3[3] = {0.25, 0.5, 0.25};
    static const double k5[5] = {0.0625, 0.25, 0.375, 0.25, 0.0625};
    static const double k7[7] = {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125};
    if (ksize <= 0) return 0;
    if (ksize == 1) {
        taps[0] = 1;
        return 1;
    }
    if (ksize == 3 || ksize == 5 || ksize == 7) {
        memcpy(taps, ksize == 3 ? k3 : ksize == 5 ? k5 : k7, (size_t)ksize * sizeof *taps);
        return ksize;
    }
    // OpenCV getGaussianKernel with sigma 0 for sizes without a table.
    double sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8, s2 = -0.5 / (sigma * sigma), sum = 0;
    for (int i = 0; i < ksize; i++) {
        double x = i - (ksize - 1) * 0.5;
        taps[i] = exp(s2 * x * x);
        sum += taps[i];
    }
    for (int i = 0; i < ksize; i++) taps[i] /= sum;
    return ksize;
}

// OpenCV borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba),
// folding repeatedly when the kernel is wider than the image.
static int reflect101(int p, int len) {
    if (len == 1) return 0;
    while (p < 0 || p >= len) p = p < 0 ? -p : 2 * len - 2 - p;
    return p;
}

// One output of OpenCV's symmetric 1-D filter on float data (center tap, then
// pairs t[R+j] * (S[-j] + S[+j])), where the input is `amp` at index `pos`, 0 elsewhere.
static float filter_at(const float *t, int R, int L, int i, int pos, float amp) {
    float s = (reflect101(i, L) == pos ? amp : 0.0f) * t[R];
    for (int j = 1; j <= R; j++) {
        float a = reflect101(i - j, L) == pos ? amp : 0.0f, b = reflect101(i + j, L) == pos ? amp : 0.0f;
        s += (a + b) * t[R + j];
    }
    return s;
}

// Rows/columns that can receive anything from an impulse at pos: within R of it,
// or everywhere when the kernel is wider than the image (repeated folding).
static void span_of(int pos, int R, int L, int *lo, int *hi) {
    if (R >= L - 1) {
        *lo = 0;
        *hi = L - 1;
        return;
    }
    *lo = pos - R < 0 ? 0 : pos - R;
    *hi = pos + R > L - 1 ? L - 1 : pos + R;
}

// img: (H, W), zero on entry; writes the blurred impulse of 255 at (x, y).
static void blurred_impulse(float *img, int H, int W, int x, int y, int ksize, const float *taps) {
    if (ksize <= 1) {
        img[(size_t)y * W + x] = 255.0f;
        return;
    }
    int R = ksize / 2, u0, u1, v0, v1;
    span_of(x, R, W, &u0, &u1);
    span_of(y, R, H, &v0, &v1);
    float row[2 * 32 + 1 + RECIPE_MAX_SIDE]; // the row pass result on row y, for u0..u1
    for (int u = u0; u <= u1; u++) row[u - u0] = filter_at(taps, R, W, u, x, 255.0f);
    for (int v = v0; v <= v1; v++)
        for (int u = u0; u <= u1; u++) img[(size_t)v * W + u] = filter_at(taps, R, H, v, y, row[u - u0]);
}

typedef struct {
    double *noise; // (H*W) normal draws
    double *unif;  // (H*W) uniform draws for the background mask
    float taps[32];
    int ksize;
} scratch;

static void draw_one(rng_state *g, const recipe *r, const scratch *s, float *img, int32_t *xy) {
    int H = r->H, W = r->W;
    size_t n = (size_t)H * W;
    int x = (int)rng_randint(g, 0, W);
    int y = (int)rng_randint(g, 0, H);
    xy[0] = x;
    xy[1] = y;
    memset(img, 0, n * sizeof *img);
    blurred_impulse(img, H, W, x, y, s->ksize, s->taps);
    rng_normal_fill(g, 0.0, r->noise_std, s->noise, n);
    rng_double_fill(g, s->unif, n);
    float bg = (float)rng_randint(g, r->bg_lo, r->bg_hi);
    const double p = r->bg_prob;
    const double *noise = s->noise, *unif = s->unif;
    // Three simple loops rather than one with branches: the first and last vectorise.
    for (size_t i = 0; i < n; i++) img[i] = (float)((double)img[i] + noise[i]); // numpy: float32 += float64
    for (size_t i = 0; i < n; i++)
        if (unif[i] < p) img[i] = bg;
    // clip(0, 255) on the bit patterns (non-negative floats order like integers;
    // a negative one has the sign bit set): float compares would block vectorising.
    const int32_t top = 0x437f0000; // 255.0f
    for (size_t i = 0; i < n; i++) {
        int32_t b;
        memcpy(&b, &img[i], sizeof b); // not a pointer cast: that would break strict aliasing
        b = b < 0 ? 0 : b;
        b = b > top ? top : b;
        memcpy(&img[i], &b, sizeof b);
    }
    for (size_t i = 0; i < n; i++) img[i] = img[i] / 255.0f;
}

static void scratch_init(scratch *s, const recipe *r) {
    size_t n = (size_t)r->H * r->W;
    s->noise = px_malloc(n * sizeof *s->noise, "dataset noise buffer");
    s->unif = px_malloc(n * sizeof *s->unif, "dataset mask buffer");
    double t[32];
    s->ksize = recipe_blur_taps(r->blur, t);
    for (int i = 0; i < s->ksize; i++) s->taps[i] = (float)t[i]; // OpenCV's float32 kernel
}

static void scratch_free(scratch *s) {
    free(s->noise);
    free(s->unif);
}

void dataset_draw(rng_state *g, const recipe *r, int n, float *images, int32_t *coords) {
    char err[200];
    if (recipe_validate(r, err, sizeof err) != 0) px_die(PX_EXIT_USAGE, "dataset: %s", err);
    scratch s;
    scratch_init(&s, r);
    size_t hw = (size_t)r->H * r->W;
    for (int i = 0; i < n; i++) draw_one(g, r, &s, images + (size_t)i * hw, coords + 2 * (size_t)i);
    scratch_free(&s);
}

void dataset_generate(dataset *d, const recipe *r, int N, uint32_t seed) {
    memset(d, 0, sizeof *d);
    d->N = N;
    d->H = r->H;
    d->W = r->W;
    d->rec = *r;
    d->seed = seed;
    d->images = px_malloc((size_t)N * r->H * r->W * sizeof(float), "dataset images");
    d->coords = px_malloc((size_t)N * 2 * sizeof(int32_t), "dataset coordinates");
    rng_state g;
    rng_seed(&g, seed);
    dataset_draw(&g, r, N, d->images, d->coords);
}

void heatmap_fill(float *out, int H, int W, int x, int y, double sigma) {
    // The notebook: exp(-((xx - x)**2 + (yy - y)**2) / (2 * sigma**2)) in float64. Where the
    // exponent is below -110, exp is under 1.7e-48, which rounds to +0.0f (floats below 2^-150,
    // 7.0e-46, do): 0 is written without calling exp, the same bits at a fraction of the cost
    // (most of a 50x50 heatmap at sigma 0.8; the trainer fills some 26000 of them on start-up).
    double den = 2.0 * (sigma * sigma);
    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++) {
            double d2 = (double)(u - x) * (u - x) + (double)(v - y) * (v - y);
            double q = d2 / den;
            out[(size_t)v * W + u] = q > 110.0 ? 0.0f : (float)exp(-q);
        }
}

int dataset_imported(const dataset *d) { return d->source && strcmp(d->source, DATASET_SOURCE_IMPORT) == 0; }

void dataset_free(dataset *d) {
    st_close(d->src);
    free(d->images);
    free(d->coords);
    free(d->heatmaps);
    memset(d, 0, sizeof *d);
}

int dataset_save(const dataset *d, const char *path, int with_heatmaps, char *err, size_t errlen) {
    size_t hw = (size_t)d->H * d->W;
    int64_t ishape[3] = {d->N, d->H, d->W}, cshape[2] = {d->N, 2};
    float *hm = NULL;
    st_writer *w = st_writer_new();
    st_writer_add_borrowed(w, "images", ST_F32, 3, ishape, d->images);
    st_writer_add_borrowed(w, "coords", ST_I32, 2, cshape, d->coords);
    if (with_heatmaps) {
        const float *src = d->heatmaps;
        if (!src) {
            hm = px_malloc((size_t)d->N * hw * sizeof *hm, "dataset heatmaps");
            for (int i = 0; i < d->N; i++)
                heatmap_fill(hm + (size_t)i * hw, d->H, d->W, d->coords[(size_t)2 * i], d->coords[(size_t)2 * i + 1],
                             d->rec.sigma);
            src = hm;
        }
        st_writer_add_borrowed(w, "heatmaps", ST_F32, 3, ishape, src);
    }
    char rec[256], seed[16];
    recipe_to_string(&d->rec, rec, sizeof rec);
    snprintf(seed, sizeof seed, "%u", d->seed);
    st_writer_meta(w, "format", DATASET_FORMAT);
    st_writer_meta(w, "version", DATASET_VERSION);
    st_writer_meta(w, "recipe", rec);
    st_writer_meta(w, "seed", seed);
    if (d->source) st_writer_meta(w, "source", d->source);
    int rc = st_writer_save(w, path, err, errlen);
    st_writer_free(w);
    free(hm);
    return rc;
}

// Pixels are gray values in [0, 1] (what generate, import and the trainer use): a NaN, an
// infinity or a value outside is refused, naming the sample and the pixel. px holds
// pixels k0 .. k0+n-1 of the file's images.
static int check_pixels(const char *path, const float *px, size_t k0, size_t n, size_t H, size_t W, char *err,
                        size_t errlen) {
    for (size_t j = 0; j < n; j++)
        if (!(px[j] >= 0.0f && px[j] <= 1.0f)) {
            size_t k = k0 + j, hw = H * W, i = k / hw, y = k % hw / W, x = k % W;
            px_errf(err, errlen,
                    "%s: sample %zu pixel (x=%zu, y=%zu) is %g: images must hold values in [0, 1] "
                    "(scale 8-bit data by 1/255)",
                    path, i, x, y, (double)px[j]);
            return -1;
        }
    return 0;
}

// The same check on a file's images read in chunks (memory does not grow with the file).
static int check_pixels_streamed(const char *path, const st_file *f, const st_tensor *im, size_t H, size_t W, char *err,
                                 size_t errlen) {
    enum { CHUNK = 1 << 18 }; // floats (1 MiB)
    float *buf = px_malloc(CHUNK * sizeof(float), "dataset check buffer");
    size_t total = im->nbytes / sizeof(float);
    int rc = 0;
    for (size_t k = 0; k < total && rc == 0; k += CHUNK) {
        size_t n = total - k < CHUNK ? total - k : CHUNK;
        rc = st_pread(f, im, k * sizeof(float), buf, n * sizeof(float), err, errlen);
        if (rc == 0) rc = check_pixels(path, buf, k, n, H, W, err, errlen);
    }
    free(buf);
    return rc;
}

static int load(dataset *d, const char *path, int streamed, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    st_file *f = streamed ? st_open_header(path, err, errlen) : st_open(path, err, errlen);
    if (!f) return -1;
    const char *fmt = st_meta(f, "format");
    if (fmt && strcmp(fmt, DATASET_FORMAT) != 0) {
        px_errf(err, errlen, "%s: not a pixloc dataset (format '%s')", path, fmt);
        goto fail;
    }
    const char *ver = st_meta(f, "version");
    if (fmt && !ver) {
        px_errf(err, errlen,
                "%s: the dataset metadata has no 'version' (this build reads version %s): write it "
                "again with 'pixloc generate' or 'pixloc import'",
                path, DATASET_VERSION);
        goto fail;
    }
    if (fmt && strcmp(ver, DATASET_VERSION) != 0) {
        px_errf(err, errlen, "%s: dataset version '%.40s' unsupported (this build reads %s)", path, ver,
                DATASET_VERSION);
        goto fail;
    }
    int64_t any3[3] = {-1, -1, -1};
    const st_tensor *im = st_expect(f, "images", ST_F32, 3, any3, err, errlen);
    if (!im) goto fail;
    int64_t N = im->shape[0], H = im->shape[1], W = im->shape[2];
    if (N < 1 || N > INT32_MAX || H < 1 || W < 1 || H > RECIPE_MAX_SIDE || W > RECIPE_MAX_SIDE) {
        px_errf(err, errlen, "%s: images shape (%lld, %lld, %lld) out of range", path, (long long)N, (long long)H,
                (long long)W);
        goto fail;
    }
    int64_t cs[2] = {N, 2};
    const st_tensor *co = st_expect(f, "coords", ST_I32, 2, cs, err, errlen);
    if (!co) goto fail;
    const st_tensor *hm = NULL;
    if (st_find(f, "heatmaps") && !(hm = st_expect(f, "heatmaps", ST_F32, 3, im->shape, err, errlen))) goto fail;
    d->coords = px_malloc(co->nbytes, "dataset coordinates");
    if (st_pread(f, co, 0, d->coords, co->nbytes, err, errlen) != 0) goto fail;
    const int32_t *c = d->coords;
    for (int64_t i = 0; i < N; i++)
        if (c[2 * i] < 0 || c[2 * i] >= W || c[2 * i + 1] < 0 || c[2 * i + 1] >= H) {
            px_errf(err, errlen, "%s: sample %lld has coordinates (%d, %d) outside the %lldx%lld image", path,
                    (long long)i, c[2 * i], c[2 * i + 1], (long long)H, (long long)W);
            goto fail;
        }
    if (streamed
            ? check_pixels_streamed(path, f, im, (size_t)H, (size_t)W, err, errlen)
            : check_pixels(path, im->data, 0, (size_t)N * (size_t)H * (size_t)W, (size_t)H, (size_t)W, err, errlen))
        goto fail;
    recipe_default(&d->rec);
    const char *rs = st_meta(f, "recipe");
    if (rs) {
        char e2[256];
        if (recipe_from_string(&d->rec, rs, e2, sizeof e2) != 0) {
            px_errf(err, errlen, "%s: bad recipe metadata: %s", path, e2);
            goto fail;
        }
        if (d->rec.H != H || d->rec.W != W) {
            px_errf(err, errlen, "%s: recipe says %dx%d but images are %lldx%lld", path, d->rec.H, d->rec.W,
                    (long long)H, (long long)W);
            goto fail;
        }
    }
    d->rec.H = (int)H;
    d->rec.W = (int)W;
    const char *sd = st_meta(f, "seed");
    d->seed = sd ? (uint32_t)strtoul(sd, NULL, 10) : 0;
    // "import" is the one source written (pixloc import): its recipe fields describe nothing.
    const char *src = st_meta(f, "source");
    d->source = src && strcmp(src, DATASET_SOURCE_IMPORT) == 0 ? DATASET_SOURCE_IMPORT : NULL;
    d->N = (int)N;
    d->H = (int)H;
    d->W = (int)W;
    if (streamed) { // the images stay in the file; the label heatmaps are not read
        d->src = f;
        return 0;
    }
    d->images = px_malloc(im->nbytes, "dataset images");
    memcpy(d->images, im->data, im->nbytes);
    if (hm) {
        d->heatmaps = px_malloc(hm->nbytes, "dataset heatmaps");
        memcpy(d->heatmaps, hm->data, hm->nbytes);
    }
    st_close(f);
    return 0;
fail:
    st_close(f);
    free(d->coords);
    d->coords = NULL;
    return -1;
}

int dataset_load(dataset *d, const char *path, char *err, size_t errlen) { return load(d, path, 0, err, errlen); }
int dataset_load_streamed(dataset *d, const char *path, char *err, size_t errlen) {
    return load(d, path, 1, err, errlen);
}

void dataset_images(const dataset *d, const int64_t *idx, int n, float *out) {
    size_t hw = (size_t)d->H * d->W, row = hw * sizeof(float);
    for (int i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= d->N)
            px_die(PX_EXIT_FAIL, "dataset: image index %lld outside 0..%d", (long long)idx[i], d->N - 1);
    if (d->images) {
        for (int i = 0; i < n; i++) memcpy(out + (size_t)i * hw, d->images + (size_t)idx[i] * hw, row);
        return;
    }
    const st_tensor *t = st_find(d->src, "images");
    for (int i = 0; i < n;) { // one read per run of consecutive indices
        int j = i + 1;
        while (j < n && idx[j] == idx[j - 1] + 1) j++;
        char err[1024];
        if (st_pread(d->src, t, (size_t)idx[i] * row, out + (size_t)i * hw, (size_t)(j - i) * row, err, sizeof err) !=
            0)
            px_die(PX_EXIT_FAIL, "%s", err);
        i = j;
    }
}

void dataset_split(int N, uint32_t seed, double test_frac, double val_frac, splits *s) {
    // sklearn ShuffleSplit: n_test = ceil(test_size * n), n_train = n - n_test;
    // permutation = RandomState(seed).permutation(n); test = perm[:n_test],
    // train = perm[n_test:]. Keras 3: split_at = floor(n_train * (1 - validation_split)),
    // validation = the last n_train - split_at of the training arrays.
    memset(s, 0, sizeof *s);
    int n_test = (int)ceil(test_frac * (double)N);
    if (n_test < 0) n_test = 0;
    if (n_test > N) n_test = N;
    int n_tr = N - n_test;
    int split_at = (int)floor((double)n_tr * (1.0 - val_frac));
    if (split_at < 0) split_at = 0;
    if (split_at > n_tr) split_at = n_tr;
    int64_t *perm = px_malloc(((size_t)N + 1) * sizeof *perm, "split permutation");
    rng_state g;
    rng_seed(&g, seed);
    rng_permutation(&g, perm, N);
    s->n_test = n_test;
    s->n_train = split_at;
    s->n_val = n_tr - split_at;
    s->test = px_malloc(((size_t)s->n_test + 1) * sizeof(int64_t), "test indices");
    s->train = px_malloc(((size_t)s->n_train + 1) * sizeof(int64_t), "train indices");
    s->val = px_malloc(((size_t)s->n_val + 1) * sizeof(int64_t), "validation indices");
    memcpy(s->test, perm, (size_t)s->n_test * sizeof(int64_t));
    memcpy(s->train, perm + n_test, (size_t)s->n_train * sizeof(int64_t));
    memcpy(s->val, perm + n_test + split_at, (size_t)s->n_val * sizeof(int64_t));
    free(perm);
}

void splits_free(splits *s) {
    free(s->train);
    free(s->val);
    free(s->test);
    memset(s, 0, sizeof *s);
}
