// report_write on a small fake run directory: every figure exists, decodes and
// has the expected size and content (heatmap colours, both markers); index.html
// links only files that exist and shows the metrics, history and settings; missing
// or broken inputs give clear errors or notes.
// PIXLOC_KEEP_REPORT=DIR builds the fake run in DIR and leaves it there (to look at).
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image_io.h"
#include "pixloc.h"
#include "report.h"
#include "safetensors.h"
#include "test_util.h"

enum { S = 12, H = 50, W = 50, T = 300 };

static char *path_in(const char *dir, const char *name) {
    static char buf[8][1024];
    static int k;
    char *p = buf[k++ % 8];
    if (snprintf(p, 1024, "%s/%s", dir, name) >= 1024) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(1);
    }
    return p;
}

static void write_text(const char *path, const char *text) {
    if (px_write_file_atomic(path, text, strlen(text)) != 0) {
        perror(path);
        exit(1);
    }
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void gaussian(float *hm, int x, int y, double amp) {
    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++)
            hm[v * W + u] = (float)(amp * exp(-((u - x) * (u - x) + (v - y) * (v - y)) / (2 * 1.8 * 1.8)));
}

static const char *CONFIG = "{\"device\": \"Test Device <CPU> & co\", \"epochs\": 5, \"batch\": 64, \"lr\": 0.001,\n"
                            " \"channels\": [32, 64, 128, 64, 32], \"seed\": 42, \"augment\": false,\n"
                            " \"data\": {\"n\": 15000, \"sigma\": 1.8, \"noise\": {\"std\": 10}},\n"
                            " \"seconds_total\": 754.5, \"optimizer\": \"adam\"}\n";

static const char *HISTORY = "epoch,loss,mae,val_loss,val_mae,seconds,samples_per_s\n"
                             "1,0.0123,0.0421,0.0150,0.0455,150.2,71.9\n"
                             "2,0.0031,0.0110,0.0042,0.0120,149.8,72.1\n"
                             "3,0.0012,0.0050,0.0019,0.0061,150.0,72.0\n"
                             "4,0.00061,0.0031,0.00072,0.0035,151.0,71.5\n"
                             "5,0.00045,0.0027,0.00098,0.0040,150.1,71.9\n";

static const char *METRICS =
    "{\"sets\": {\"train\": {\"n\": 10800, \"mae\": 0.1118, \"mse\": 1.7482, \"rmse\": 1.3222,"
    " \"euclid_mean\": 0.21, \"euclid_std\": 1.9, \"euclid_median\": 0, \"euclid_p95\": 1,"
    " \"euclid_max\": 48.1, \"exact\": 0.951, \"within1\": 0.985},"
    " \"test\": {\"n\": 3000, \"mae\": 0.1842, \"mse\": 3.4995, \"rmse\": 1.8707,"
    " \"euclid_mean\": 0.3125, \"euclid_std\": 2.63, \"euclid_median\": 0, \"euclid_p95\": 1.4142,"
    " \"euclid_max\": 52.3, \"exact\": 0.931, \"within1\": 0.976}},"
    " \"baselines\": {\"brightest_pixel\": {\"n\": 3000, \"mae\": 4.5012, \"mse\": 90.1,"
    " \"rmse\": 9.49, \"euclid_mean\": 6.7, \"euclid_std\": 11.2, \"euclid_median\": 1,"
    " \"euclid_p95\": 30.2, \"euclid_max\": 66.1, \"exact\": 0.41, \"within1\": 0.6},"
    " \"matched_filter\": {\"n\": 3000, \"mae\": 0.2703, \"mse\": 5.1, \"rmse\": 2.26,"
    " \"euclid_mean\": 0.461, \"euclid_std\": 3.1, \"euclid_median\": 0, \"euclid_p95\": 1.4142,"
    " \"euclid_max\": 60.2, \"exact\": 0.835, \"within1\": 0.95}},"
    " \"baseline_set\": \"test\"}\n";

// Samples: the first are hits, the later ones increasingly bad misses.
static void write_samples(const char *path, int with_errors) {
    float *img = calloc((size_t)S * H * W, sizeof(float));
    float *ht = calloc((size_t)S * H * W, sizeof(float));
    float *hp = calloc((size_t)S * H * W, sizeof(float));
    int32_t ct[S * 2], cp[S * 2], et[T * 2], ep[T * 2];
    uint64_t rng = 12345;
    for (int s = 0; s < S; s++) {
        int x = 3 + (s * 7) % 44, y = 5 + (s * 11) % 40;
        int miss = s < 6 ? 0 : (s - 5) * 5;
        int px = (x + miss) % W, py = s >= 10 ? (y + 17) % H : y;
        ct[2 * s] = x, ct[2 * s + 1] = y, cp[2 * s] = px, cp[2 * s + 1] = py;
        float *im = img + (size_t)s * H * W;
        t_fill_uniform(im, H * W, 0.0f, 0.08f, &rng);
        gaussian(ht + (size_t)s * H * W, x, y, 1.0);
        for (int k = 0; k < H * W; k++) im[k] += 0.14f * ht[(size_t)s * H * W + k];
        gaussian(hp + (size_t)s * H * W, px, py, 0.85);
    }
    for (int t = 0; t < T; t++) {
        int x = t % W, y = (t * 7) % H;
        int d = t % 10 == 0 ? 1 : t % 97 == 0 ? 20 : 0;
        et[2 * t] = x, et[2 * t + 1] = y, ep[2 * t] = (x + d) % W, ep[2 * t + 1] = y;
    }
    st_writer *w = st_writer_new();
    const int64_t shp[3] = {S, H, W}, cs[2] = {S, 2}, es[2] = {T, 2};
    st_writer_add(w, "images", ST_F32, 3, shp, img);
    st_writer_add(w, "heatmaps_true", ST_F32, 3, shp, ht);
    st_writer_add(w, "heatmaps_pred", ST_F32, 3, shp, hp);
    st_writer_add(w, "coords_true", ST_I32, 2, cs, ct);
    st_writer_add(w, "coords_pred", ST_I32, 2, cs, cp);
    if (with_errors) {
        st_writer_add(w, "errors_true", ST_I32, 2, es, et);
        st_writer_add(w, "errors_pred", ST_I32, 2, es, ep);
    }
    char err[512];
    if (st_writer_save(w, path, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    st_writer_free(w);
    free(img), free(ht), free(hp);
}

static void make_run(const char *dir) {
    px_mkdirs(dir);
    write_text(path_in(dir, "config.json"), CONFIG);
    write_text(path_in(dir, "history.csv"), HISTORY);
    write_text(path_in(dir, "metrics.json"), METRICS);
    write_samples(path_in(dir, "report_samples.safetensors"), 1);
}

// Counts pixels within `tol` of colour c in an RGB decode of the PNG (-1 if unreadable).
static long count_colour(const char *path, const unsigned char c[3], int tol) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) return -1;
    im.format = PNG_FORMAT_RGB;
    unsigned char *buf = malloc(PNG_IMAGE_SIZE(im));
    if (!buf || !png_image_finish_read(&im, NULL, buf, 0, NULL)) {
        free(buf);
        return -1;
    }
    long n = 0;
    for (size_t i = 0; i < (size_t)im.width * im.height; i++)
        if (abs(buf[3 * i] - c[0]) <= tol && abs(buf[3 * i + 1] - c[1]) <= tol && abs(buf[3 * i + 2] - c[2]) <= tol)
            n++;
    free(buf);
    return n;
}

// Decodes fully with image_io, checks the size and that the picture is not blank.
static void check_png(const char *path, int want_h, int want_w) {
    int h = 0, w = 0;
    CHECK(png_size(path, &h, &w) == 0, "%s: png_size failed", path);
    if (want_h > 0) CHECK(h == want_h && w == want_w, "%s: %dx%d, want %dx%d", path, w, h, want_w, want_h);
    char err[512] = "";
    float *g = image_read_gray(path, &h, &w, err, sizeof err);
    CHECK(g != NULL, "%s: does not decode: %s", path, err);
    if (!g) return;
    float mn = g[0], mx = g[0];
    for (int i = 0; i < h * w; i++) mn = g[i] < mn ? g[i] : mn, mx = g[i] > mx ? g[i] : mx;
    CHECK(mx - mn > 0.5f, "%s: nearly blank (gray range %g..%g)", path, mn, mx);
    free(g);
}

// Every src="..." / href="..." in the page is a relative file that exists in report/.
static void check_links(const char *html, const char *report_dir, int want_imgs) {
    int imgs = 0;
    const char *attrs[2] = {"src=\"", "href=\""};
    for (int a = 0; a < 2; a++) {
        for (const char *p = strstr(html, attrs[a]); p; p = strstr(p + 1, attrs[a])) {
            const char *v = p + strlen(attrs[a]);
            const char *end = strchr(v, '"');
            if (!end) break;
            char ref[512];
            snprintf(ref, sizeof ref, "%.*s", (int)(end - v), v);
            CHECK(strstr(ref, "://") == NULL && ref[0] != '/' && strstr(ref, "..") == NULL,
                  "link '%s' is not a plain relative path", ref);
            CHECK(exists(path_in(report_dir, ref)), "index.html links '%s', which does not exist", ref);
            imgs += a == 0;
        }
    }
    CHECK(imgs == want_imgs, "index.html has %d images, want %d", imgs, want_imgs);
    CHECK(strstr(html, "http://") == NULL && strstr(html, "https://") == NULL, "index.html refers to the network");
}

static void test_full_report(const char *dir) {
    make_run(dir);
    char err[1024] = "";
    int rc = report_write(dir, err, sizeof err);
    CHECK(rc == 0, "report_write failed: %s", err);
    if (rc) return;
    char rdir[1024];
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    const char *files[] = {"index.html", "loss.png", "mae.png", "samples.png", "errors.png"};
    for (int i = 0; i < 5; i++) CHECK(exists(path_in(rdir, files[i])), "report/%s missing", files[i]);
    check_png(path_in(rdir, "loss.png"), 500, 800);
    check_png(path_in(rdir, "mae.png"), 500, 800);
    check_png(path_in(rdir, "errors.png"), 420, 1200);
    check_png(path_in(rdir, "samples.png"), -1, -1);
    int h = 0, w = 0;
    png_size(path_in(rdir, "samples.png"), &h, &w);
    // 8 rows (4 typical + 4 worst) of 3 panels, each at least 4x the 50x50 image.
    CHECK(w >= 3 * 4 * W && h >= 8 * 4 * H, "samples.png is %dx%d: too small for 8 rows x4", w, h);

    // The grid really shows viridis heatmaps and both markers; the curves both series.
    const unsigned char viridis0[3] = {68, 1, 84}, red[3] = {255, 40, 40}, cyan[3] = {0, 229, 255};
    const unsigned char blue[3] = {31, 119, 180}, orange[3] = {255, 127, 14};
    long nv = count_colour(path_in(rdir, "samples.png"), viridis0, 6);
    CHECK(nv > 16 * 2500, "samples.png: %ld pixels of viridis' dark end (heatmap background)", nv);
    long nr = count_colour(path_in(rdir, "samples.png"), red, 30);
    long nc = count_colour(path_in(rdir, "samples.png"), cyan, 30);
    CHECK(nr > 8 * 3 * 10 && nc > 8 * 3 * 10, "samples.png markers: %ld red, %ld cyan pixels", nr, nc);
    long nb = count_colour(path_in(rdir, "loss.png"), blue, 20);
    long no = count_colour(path_in(rdir, "loss.png"), orange, 20);
    CHECK(nb > 200 && no > 200, "loss.png: %ld training-blue, %ld validation-orange pixels", nb, no);

    char *html = px_read_file(path_in(rdir, "index.html"), NULL);
    CHECK(html != NULL, "index.html unreadable");
    if (!html) return;
    check_links(html, rdir, 4);
    const char *want[] = {
        "0.1842",
        "3.4995",
        "1.8707",
        "93.1%",
        "97.6%", // test metrics
        "0.1118",
        "10800", // train
        "4.5012",
        "41.0%",
        "0.2703",
        "83.5%",               // baselines
        "not in metrics.json", // the absent val set
        "4 (best)",
        "5 (final)",
        "7.200e-04",                        // history: best by val_loss
        "Test Device &lt;CPU&gt; &amp; co", // device, escaped
        "12 min 34 s",                      // seconds_total
        "[32, 64, 128, 64, 32]",
        "sigma",
        "1.8",
        "std", // settings, nested ones too
        "augment",
        "false",
        "optimizer",
        "adam",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK(strstr(html, want[i]) != NULL, "index.html lacks '%s'", want[i]);
    CHECK(strstr(html, "<CPU>") == NULL, "device name not escaped");
    free(html);
}

static void test_missing_and_broken(const char *base) {
    char err[1024];
    char dir[1024];

    // No history.csv: a clear error naming the file.
    snprintf(dir, sizeof dir, "%s/nohist", base);
    make_run(dir);
    remove(path_in(dir, "history.csv"));
    err[0] = 0;
    CHECK(report_write(dir, err, sizeof err) == -1, "missing history.csv accepted");
    CHECK(strstr(err, "history.csv") && strstr(err, "No such file") && strstr(err, "required"),
          "missing history.csv: '%s'", err);
    CHECK(!exists(path_in(dir, "report/index.html")), "a page was written without history");

    // No config.json.
    snprintf(dir, sizeof dir, "%s/noconfig", base);
    make_run(dir);
    remove(path_in(dir, "config.json"));
    CHECK(report_write(dir, err, sizeof err) == -1 && strstr(err, "config.json"), "missing config.json: '%s'", err);

    // Broken JSON and a bad history cell.
    snprintf(dir, sizeof dir, "%s/broken", base);
    make_run(dir);
    // A broken optional file: the page is still written, and says what was wrong with it.
    write_text(path_in(dir, "metrics.json"), "{\"sets\": {\"test\": ");
    CHECK(report_write(dir, err, sizeof err) == 0, "broken metrics.json is fatal: '%s'", err);
    {
        char *html = px_read_file(path_in(dir, "report/index.html"), NULL);
        CHECK(html && strstr(html, "metrics.json: invalid JSON") && strstr(html, "no evaluation metrics"),
              "the page does not name the broken metrics.json");
        free(html);
    }
    write_text(path_in(dir, "metrics.json"), METRICS);
    write_text(path_in(dir, "history.csv"), "epoch,loss\n1,0.5\n2,zero\n");
    CHECK(report_write(dir, err, sizeof err) == -1 && strstr(err, "history.csv:3") && strstr(err, "zero"),
          "bad history cell: '%s'", err);
    write_text(path_in(dir, "history.csv"), "epoch,loss\n");
    CHECK(report_write(dir, err, sizeof err) == -1 && strstr(err, "no epochs"), "header-only history: '%s'", err);
    write_text(path_in(dir, "history.csv"), "step,value\n1,2\n");
    CHECK(report_write(dir, err, sizeof err) == -1 && strstr(err, "epoch and loss"), "history without epoch/loss: '%s'",
          err);

    // Samples tensor with the wrong shape.
    write_text(path_in(dir, "history.csv"), HISTORY);
    {
        st_writer *w = st_writer_new();
        float z[2 * 4 * 4] = {0};
        int32_t c[3 * 2] = {0};
        st_writer_add(w, "images", ST_F32, 3, (const int64_t[]){2, 4, 4}, z);
        st_writer_add(w, "heatmaps_true", ST_F32, 3, (const int64_t[]){2, 4, 4}, z);
        st_writer_add(w, "heatmaps_pred", ST_F32, 3, (const int64_t[]){2, 4, 4}, z);
        st_writer_add(w, "coords_true", ST_I32, 2, (const int64_t[]){3, 2}, c);
        st_writer_add(w, "coords_pred", ST_I32, 2, (const int64_t[]){2, 2}, c);
        CHECK(st_writer_save(w, path_in(dir, "report_samples.safetensors"), err, sizeof err) == 0, "%s", err);
        st_writer_free(w);
    }
    CHECK(report_write(dir, err, sizeof err) == 0, "mis-shaped report_samples is fatal: '%s'", err);
    {
        char *html = px_read_file(path_in(dir, "report/index.html"), NULL);
        CHECK(html && strstr(html, "coords_true") && strstr(html, "no sample grid"),
              "the page does not name the mis-shaped coords_true");
        free(html);
    }
    // A binary history header is not echoed raw.
    write_text(path_in(dir, "history.csv"), "\x01\x02\x1b[31mstep\n1,2\n");
    CHECK(report_write(dir, err, sizeof err) == -1 && strstr(err, "'???[31mstep'"), "binary header: '%s'", err);
    write_text(path_in(dir, "history.csv"), HISTORY);

    // Optional files missing, no validation columns, no errors_* tensors: the page
    // is still written, with notes, and links only what exists.
    snprintf(dir, sizeof dir, "%s/partial", base);
    make_run(dir);
    remove(path_in(dir, "metrics.json"));
    write_text(path_in(dir, "history.csv"),
               "epoch,loss,mae,val_loss,val_mae,seconds,samples_per_s\n"
               "1,0.01,0.04,,,10,100\n2,0.005,0.02,nan,nan,10,100\n3,0.004,0.018,,,10,100\n");
    write_samples(path_in(dir, "report_samples.safetensors"), 0);
    err[0] = 0;
    CHECK(report_write(dir, err, sizeof err) == 0, "partial run: %s", err);
    char *html = px_read_file(path_in(dir, "report/index.html"), NULL);
    CHECK(html != NULL, "partial: no index.html");
    if (html) {
        char rdir[1100];
        snprintf(rdir, sizeof rdir, "%s/report", dir);
        check_links(html, rdir, 4);
        CHECK(strstr(html, "metrics.json is missing") != NULL, "no note about metrics.json");
        CHECK(strstr(html, "chosen by training loss") != NULL, "no note about best-by-loss");
        CHECK(strstr(html, "3 (best, final)") != NULL, "best epoch by loss should be 3, the last");
        CHECK(strstr(html, "cover only the shown samples") != NULL, "no note about histograms");
        free(html);
    }

    snprintf(dir, sizeof dir, "%s/nosamples", base);
    make_run(dir);
    remove(path_in(dir, "report_samples.safetensors"));
    CHECK(report_write(dir, err, sizeof err) == 0, "run without samples: %s", err);
    html = px_read_file(path_in(dir, "report/index.html"), NULL);
    if (html) {
        char rdir[1100];
        snprintf(rdir, sizeof rdir, "%s/report", dir);
        check_links(html, rdir, 2);
        CHECK(strstr(html, "report_samples.safetensors is missing") != NULL, "no samples note");
        free(html);
    }

    CHECK(report_write(path_in(base, "does-not-exist"), err, sizeof err) == -1 && strstr(err, "not a run directory"),
          "missing run dir: '%s'", err);
}

int main(void) {
    const char *keep = getenv("PIXLOC_KEEP_REPORT");
    if (keep && *keep) {
        test_full_report(keep);
        printf("report left in %s/report/index.html\n", keep);
        return t_summary();
    }
    char *base = t_tmpdir();
    test_full_report(path_in(base, "run"));
    test_missing_and_broken(base);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base);
    free(base);
    return t_summary();
}
