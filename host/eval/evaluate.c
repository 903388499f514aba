// Inference over datasets and metric tables; see include/evaluate.h.
#include "evaluate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"
#include "pixloc.h"

const char *const EVAL_SET_NAMES[EVAL_NSETS] = {"train", "val", "test", "all"};

// The images of a batch: idx[s .. s+N) from host images, or from a dataset (streamed or not).
typedef struct {
    const float *images;
    const dataset *d;
    size_t hw;
} image_source;

static void fetch(const image_source *src, const int64_t *idx, int N, float *in) {
    if (src->d) {
        dataset_images(src->d, idx, N, in);
        return;
    }
    for (int i = 0; i < N; i++)
        memcpy(in + i * src->hw, src->images + (size_t)idx[i] * src->hw, src->hw * sizeof(float));
}

int tta_count(int H, int W) { return H == W ? 8 : 4; }

// Transform t of an H x W image (t < tta_count): bit 0 mirrors x, bit 1 mirrors y, bit 2 (square
// images only) transposes. The pixel at (y, x) of the transformed image is the original's at
// *sy, *sx; the same map takes a heatmap of the transformed image back to the original's frame.
static void tta_source(int t, int H, int W, int y, int x, int *sy, int *sx) {
    int a = y, b = x;
    if (t & 4) {
        a = x;
        b = y;
    }
    if (t & 2) a = H - 1 - a;
    if (t & 1) b = W - 1 - b;
    *sy = a;
    *sx = b;
}

static void tta_apply(int t, int H, int W, const float *src, float *dst) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int sy, sx;
            tta_source(t, H, W, y, x, &sy, &sx);
            dst[(size_t)y * W + x] = src[(size_t)sy * W + sx];
        }
}

// acc += heatmap hm of transform t, taken back to the original frame.
static void tta_accumulate(int t, int H, int W, const float *hm, float *acc) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int sy, sx;
            tta_source(t, H, W, y, x, &sy, &sx);
            acc[(size_t)sy * W + sx] += hm[(size_t)y * W + x];
        }
}

// The heatmaps of images in[0..N) into out: one forward pass, or with tta the mean of the
// tta_count(H, W) transforms' heatmaps, each mapped back, summed in transform order (so the
// result is the same run to run). tmp and acc hold batch x H x W floats (tta only).
static void heatmaps_of(net *nt, int N, int H, int W, int tta, const float *in, float *out, float *tmp, float *acc) {
    size_t hw = (size_t)H * W;
    if (!tta) {
        net_set_batch(nt, N, in, NULL);
        net_forward(nt, N, 0);
        net_read_heatmaps(nt, N, out);
        return;
    }
    int T = tta_count(H, W);
    memset(acc, 0, (size_t)N * hw * sizeof(float));
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < N; i++) tta_apply(t, H, W, in + i * hw, tmp + i * hw);
        net_set_batch(nt, N, tmp, NULL);
        net_forward(nt, N, 0);
        net_read_heatmaps(nt, N, out);
        for (int i = 0; i < N; i++) tta_accumulate(t, H, W, out + i * hw, acc + i * hw);
    }
    for (size_t i = 0; i < (size_t)N * hw; i++) out[i] = acc[i] / (float)T;
}

static void predict_from(net *nt, int batch, int tta, const image_source *src, int H, int W, const int64_t *idx, int n,
                         int32_t *pred_xy, float *heatmaps, float *peaks) {
    size_t hw = (size_t)H * W;
    float *in = px_malloc((size_t)batch * hw * sizeof(float), "inference batch");
    float *out = px_malloc((size_t)batch * hw * sizeof(float), "inference heatmaps");
    float *tmp = tta ? px_malloc((size_t)batch * hw * sizeof(float), "test-time augmentation batch") : NULL;
    float *acc = tta ? px_malloc((size_t)batch * hw * sizeof(float), "test-time augmentation sums") : NULL;
    for (int s = 0; s < n; s += batch) {
        int N = n - s < batch ? n - s : batch;
        fetch(src, idx + s, N, in);
        heatmaps_of(nt, N, H, W, tta, in, out, tmp, acc);
        for (int i = 0; i < N; i++) {
            int x, y;
            heatmap_argmax(out + i * hw, H, W, &x, &y);
            pred_xy[(size_t)2 * (s + i)] = x;
            pred_xy[2 * (s + i) + 1] = y;
            if (peaks) peaks[s + i] = out[i * hw + (size_t)y * W + x];
            if (heatmaps) memcpy(heatmaps + (size_t)(s + i) * hw, out + i * hw, hw * sizeof(float));
        }
    }
    free(in);
    free(out);
    free(tmp);
    free(acc);
}

void predict_indices(net *nt, int batch, int tta, const float *images, int H, int W, const int64_t *idx, int n,
                     int32_t *pred_xy, float *heatmaps, float *peaks) {
    image_source src = {images, NULL, (size_t)H * W};
    predict_from(nt, batch, tta, &src, H, W, idx, n, pred_xy, heatmaps, peaks);
}

void predict_dataset(net *nt, int batch, int tta, const dataset *d, const int64_t *idx, int n, int32_t *pred_xy,
                     float *heatmaps, float *peaks) {
    image_source src = {NULL, d, (size_t)d->H * d->W};
    predict_from(nt, batch, tta, &src, d->H, d->W, idx, n, pred_xy, heatmaps, peaks);
}

static void score(net *nt, int batch, int tta, const dataset *d, const int64_t *idx, int n, coord_metrics *m,
                  int32_t **pred_out) {
    int32_t *pred = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "predictions");
    int32_t *truth = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "coordinates");
    predict_dataset(nt, batch, tta, d, idx, n, pred, NULL, NULL);
    for (int i = 0; i < n; i++) {
        truth[(size_t)2 * i] = d->coords[(size_t)2 * idx[i]];
        truth[2 * i + 1] = d->coords[2 * idx[i] + 1];
    }
    coord_metrics_compute(m, truth, pred, n);
    free(truth);
    if (pred_out)
        *pred_out = pred;
    else
        free(pred);
}

// The baselines work image by image: they run on chunks of images, so that memory
// does not grow with the set (the images may be streamed from the file). The MAP detector
// knows the recipe, so it runs on generated data only: an imported file's recipe fields
// mean nothing (include/io/import.h).
enum { BASELINE_CHUNK = 256 };

static void baselines(const dataset *d, const int64_t *idx, int n, eval_result *r) {
    size_t hw = (size_t)d->H * d->W;
    int chunk = n < BASELINE_CHUNK ? (n ? n : 1) : BASELINE_CHUNK;
    float *imgs = px_malloc((size_t)chunk * hw * sizeof(float), "baseline images");
    int32_t *truth = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "coordinates");
    int32_t *pred = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "baseline predictions");
    int32_t *pred_mf = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "baseline predictions");
    int bayes = !dataset_imported(d);
    int32_t *pred_b = bayes ? px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "baseline predictions") : NULL;
    for (int i = 0; i < n; i++) {
        truth[(size_t)2 * i] = d->coords[(size_t)2 * idx[i]];
        truth[2 * i + 1] = d->coords[2 * idx[i] + 1];
    }
    for (int s = 0; s < n; s += chunk) {
        int m = n - s < chunk ? n - s : chunk;
        dataset_images(d, idx + s, m, imgs);
        baseline_brightest(imgs, m, d->H, d->W, pred + (size_t)2 * s);
        baseline_matched_filter(imgs, m, d->H, d->W, d->rec.blur, pred_mf + (size_t)2 * s);
        if (bayes) baseline_bayes(imgs, m, &d->rec, pred_b + (size_t)2 * s);
    }
    coord_metrics_compute(&r->brightest, truth, pred, n);
    coord_metrics_compute(&r->matched, truth, pred_mf, n);
    if (bayes) coord_metrics_compute(&r->bayes, truth, pred_b, n);
    r->has_bayes = bayes;
    free(pred_mf);
    free(pred_b);
    r->has_baselines = 1;
    free(imgs);
    free(truth);
    free(pred);
}

void evaluate(net *nt, int batch, int tta, unsigned sets, const dataset *d, const splits *s, eval_result *r,
              int32_t **test_pred) {
    memset(r, 0, sizeof *r);
    if (s) {
        const int64_t *idx[3] = {s->train, s->val, s->test};
        int n[3] = {s->n_train, s->n_val, s->n_test};
        for (int k = 0; k < 3; k++) {
            if (n[k] == 0 || !(sets & (1u << k))) continue;
            r->has[k] = 1;
            score(nt, batch, tta, d, idx[k], n[k], &r->sets[k], k == EVAL_TEST ? test_pred : NULL);
        }
        if (s->n_test && !(sets & EVAL_NO_BASELINES)) {
            baselines(d, s->test, s->n_test, r);
            r->baseline_set = "test";
        }
    } else {
        int64_t *all = px_malloc((size_t)d->N * sizeof(int64_t), "indices");
        for (int i = 0; i < d->N; i++) all[i] = i;
        r->has[EVAL_ALL] = 1;
        score(nt, batch, tta, d, all, d->N, &r->sets[EVAL_ALL], test_pred);
        if (!(sets & EVAL_NO_BASELINES)) {
            baselines(d, all, d->N, r);
            r->baseline_set = "all";
        }
        free(all);
    }
}

static void row(FILE *f, const char *name, const coord_metrics *m) {
    fprintf(f, "%-16s %6d %8.4f %8.4f %8.4f %8.4f %8.4f %8.3f %7.1f%% %7.1f%% %6d\n", name, m->n, m->mae, m->mse,
            m->rmse, m->euclid_mean, m->euclid_std, m->euclid_max, 100 * m->exact, 100 * m->within1, m->far);
}

void eval_print_table(FILE *f, const eval_result *r) {
    fprintf(f, "%-16s %6s %8s %8s %8s %8s %8s %8s %8s %8s %6s\n", "set", "n", "MAE", "MSE", "RMSE", "eucl", "std",
            "max", "exact", "<=1px", ">2px");
    for (int k = 0; k < EVAL_NSETS; k++)
        if (r->has[k]) row(f, EVAL_SET_NAMES[k], &r->sets[k]);
    if (r->has_baselines) {
        char name[64];
        snprintf(name, sizeof name, "brightest(%s)", r->baseline_set);
        row(f, name, &r->brightest);
        snprintf(name, sizeof name, "matched(%s)", r->baseline_set);
        row(f, name, &r->matched);
        if (r->has_bayes) {
            snprintf(name, sizeof name, "bayes(%s)", r->baseline_set);
            row(f, name, &r->bayes);
        }
    }
    fprintf(f,
            "(MAE/MSE/RMSE in pixels over x and y together, as sklearn computes them; eucl = mean "
            "Euclidean error; >2px = far misses, images off by more than 2 pixels%s)\n",
            r->has_baselines && r->has_bayes
                ? "; bayes = the maximum-a-posteriori detector that knows the data's recipe: the best "
                  "exact-hit rate any method can reach on these images"
                : "");
}

cJSON *eval_cjson(const eval_result *r) {
    cJSON *j = cJSON_CreateObject(), *sets = cJSON_AddObjectToObject(j, "sets");
    for (int k = 0; k < EVAL_NSETS; k++)
        if (r->has[k]) cJSON_AddItemToObject(sets, EVAL_SET_NAMES[k], coord_metrics_cjson(&r->sets[k]));
    if (r->has_baselines) {
        cJSON *b = cJSON_AddObjectToObject(j, "baselines");
        cJSON_AddItemToObject(b, "brightest_pixel", coord_metrics_cjson(&r->brightest));
        cJSON_AddItemToObject(b, "matched_filter", coord_metrics_cjson(&r->matched));
        if (r->has_bayes) cJSON_AddItemToObject(b, "bayes_map", coord_metrics_cjson(&r->bayes));
        json_add_string(j, "baseline_set", r->baseline_set);
    }
    return j;
}

// eval_cjson's text, with extra (a copy, when not NULL) under extra_key.
static void json_text(FILE *f, const eval_result *r, const char *extra_key, const cJSON *extra) {
    cJSON *j = eval_cjson(r);
    if (extra) cJSON_AddItemToObject(j, extra_key, cJSON_Duplicate(extra, 1));
    json_write(f, j, 2);
    fputc('\n', f);
    cJSON_Delete(j);
}

void eval_json(FILE *f, const eval_result *r) { json_text(f, r, NULL, NULL); }

int eval_write_json(const char *path, const eval_result *r, const char *extra_key, const cJSON *extra, char *err,
                    size_t errlen) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    json_text(f, r, extra_key, extra);
    fclose(f);
    int rc = px_write_file_atomic(path, buf, len);
    if (rc != 0) snprintf(err, errlen, "%s: %s", path, strerror(errno));
    free(buf);
    return rc;
}
