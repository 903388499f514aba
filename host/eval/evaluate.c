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

static void predict_from(net *nt, int batch, const image_source *src, int H, int W, const int64_t *idx, int n,
                         int32_t *pred_xy, float *heatmaps, float *peaks) {
    size_t hw = (size_t)H * W;
    float *in = px_malloc((size_t)batch * hw * sizeof(float), "inference batch");
    float *out = px_malloc((size_t)batch * hw * sizeof(float), "inference heatmaps");
    for (int s = 0; s < n; s += batch) {
        int N = n - s < batch ? n - s : batch;
        fetch(src, idx + s, N, in);
        net_set_batch(nt, N, in, NULL);
        net_forward(nt, N, 0);
        net_read_heatmaps(nt, N, out);
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
}

void predict_indices(net *nt, int batch, const float *images, int H, int W, const int64_t *idx, int n, int32_t *pred_xy,
                     float *heatmaps, float *peaks) {
    image_source src = {images, NULL, (size_t)H * W};
    predict_from(nt, batch, &src, H, W, idx, n, pred_xy, heatmaps, peaks);
}

void predict_dataset(net *nt, int batch, const dataset *d, const int64_t *idx, int n, int32_t *pred_xy, float *heatmaps,
                     float *peaks) {
    image_source src = {NULL, d, (size_t)d->H * d->W};
    predict_from(nt, batch, &src, d->H, d->W, idx, n, pred_xy, heatmaps, peaks);
}

static void score(net *nt, int batch, const dataset *d, const int64_t *idx, int n, coord_metrics *m,
                  int32_t **pred_out) {
    int32_t *pred = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "predictions");
    int32_t *truth = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "coordinates");
    predict_dataset(nt, batch, d, idx, n, pred, NULL, NULL);
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

// Both baselines work image by image: they run on chunks of images, so that memory
// does not grow with the set (the images may be streamed from the file).
enum { BASELINE_CHUNK = 256 };

static void baselines(const dataset *d, const int64_t *idx, int n, eval_result *r) {
    size_t hw = (size_t)d->H * d->W;
    int chunk = n < BASELINE_CHUNK ? (n ? n : 1) : BASELINE_CHUNK;
    float *imgs = px_malloc((size_t)chunk * hw * sizeof(float), "baseline images");
    int32_t *truth = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "coordinates");
    int32_t *pred = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "baseline predictions");
    int32_t *pred_mf = px_malloc((size_t)(n ? n : 1) * 2 * sizeof(int32_t), "baseline predictions");
    for (int i = 0; i < n; i++) {
        truth[(size_t)2 * i] = d->coords[(size_t)2 * idx[i]];
        truth[2 * i + 1] = d->coords[2 * idx[i] + 1];
    }
    for (int s = 0; s < n; s += chunk) {
        int m = n - s < chunk ? n - s : chunk;
        dataset_images(d, idx + s, m, imgs);
        baseline_brightest(imgs, m, d->H, d->W, pred + (size_t)2 * s);
        baseline_matched_filter(imgs, m, d->H, d->W, d->rec.blur, pred_mf + (size_t)2 * s);
    }
    coord_metrics_compute(&r->brightest, truth, pred, n);
    coord_metrics_compute(&r->matched, truth, pred_mf, n);
    free(pred_mf);
    r->has_baselines = 1;
    free(imgs);
    free(truth);
    free(pred);
}

void evaluate(net *nt, int batch, const dataset *d, const splits *s, eval_result *r, int32_t **test_pred) {
    memset(r, 0, sizeof *r);
    if (s) {
        const int64_t *idx[3] = {s->train, s->val, s->test};
        int n[3] = {s->n_train, s->n_val, s->n_test};
        for (int k = 0; k < 3; k++) {
            if (n[k] == 0) continue;
            r->has[k] = 1;
            score(nt, batch, d, idx[k], n[k], &r->sets[k], k == EVAL_TEST ? test_pred : NULL);
        }
        if (s->n_test) {
            baselines(d, s->test, s->n_test, r);
            r->baseline_set = "test";
        }
    } else {
        int64_t *all = px_malloc((size_t)d->N * sizeof(int64_t), "indices");
        for (int i = 0; i < d->N; i++) all[i] = i;
        r->has[EVAL_ALL] = 1;
        score(nt, batch, d, all, d->N, &r->sets[EVAL_ALL], test_pred);
        baselines(d, all, d->N, r);
        r->baseline_set = "all";
        free(all);
    }
}

static void row(FILE *f, const char *name, const coord_metrics *m) {
    fprintf(f, "%-16s %6d %8.4f %8.4f %8.4f %8.4f %8.4f %8.3f %7.1f%% %7.1f%%\n", name, m->n, m->mae, m->mse, m->rmse,
            m->euclid_mean, m->euclid_std, m->euclid_max, 100 * m->exact, 100 * m->within1);
}

void eval_print_table(FILE *f, const eval_result *r) {
    fprintf(f, "%-16s %6s %8s %8s %8s %8s %8s %8s %8s %8s\n", "set", "n", "MAE", "MSE", "RMSE", "eucl", "std", "max",
            "exact", "<=1px");
    for (int k = 0; k < EVAL_NSETS; k++)
        if (r->has[k]) row(f, EVAL_SET_NAMES[k], &r->sets[k]);
    if (r->has_baselines) {
        char name[64];
        snprintf(name, sizeof name, "brightest(%s)", r->baseline_set);
        row(f, name, &r->brightest);
        snprintf(name, sizeof name, "matched(%s)", r->baseline_set);
        row(f, name, &r->matched);
    }
    fprintf(f, "(MAE/MSE/RMSE in pixels over x and y together, as sklearn computes them; eucl = mean "
               "Euclidean error)\n");
}

cJSON *eval_cjson(const eval_result *r) {
    cJSON *j = cJSON_CreateObject(), *sets = cJSON_AddObjectToObject(j, "sets");
    for (int k = 0; k < EVAL_NSETS; k++)
        if (r->has[k]) cJSON_AddItemToObject(sets, EVAL_SET_NAMES[k], coord_metrics_cjson(&r->sets[k]));
    if (r->has_baselines) {
        cJSON *b = cJSON_AddObjectToObject(j, "baselines");
        cJSON_AddItemToObject(b, "brightest_pixel", coord_metrics_cjson(&r->brightest));
        cJSON_AddItemToObject(b, "matched_filter", coord_metrics_cjson(&r->matched));
        json_add_string(j, "baseline_set", r->baseline_set);
    }
    return j;
}

void eval_json(FILE *f, const eval_result *r) {
    cJSON *j = eval_cjson(r);
    json_write(f, j, 2);
    fputc('\n', f);
    cJSON_Delete(j);
}

int eval_write_json(const char *path, const eval_result *r, char *err, size_t errlen) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    eval_json(f, r);
    fclose(f);
    int rc = px_write_file_atomic(path, buf, len);
    if (rc != 0) snprintf(err, errlen, "%s: %s", path, strerror(errno));
    free(buf);
    return rc;
}
