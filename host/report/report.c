// report_write: loads a run directory (config.json, history.csv, metrics.json,
// report_samples.safetensors), validates it, picks the sample rows to show and
// hands everything to the figure (report_plot.c) and page (report_html.c) writers.
#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pixloc.h"
#include "safetensors.h"

#define REPORT_MAX_ROWS 8 // sample-grid rows: up to 4 typical, up to 4 worst

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = px_malloc(n, "path");
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

// Up to len-1 bytes of s with every byte that is not printable ASCII shown as '?', so a binary
// file's bytes never reach the terminal raw.
static void printable(char *out, size_t len, const char *s) {
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++) out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = 0;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// Reads and parses a JSON object file. NULL with err set (ENOENT -> *missing = 1).
static cJSON *load_json(const char *path, int *missing, char *err, size_t errlen) {
    size_t len = 0;
    *missing = 0;
    char *text = px_read_file(path, &len);
    if (!text) {
        *missing = errno == ENOENT;
        px_errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j || !cJSON_IsObject(j)) {
        const char *at = j ? NULL : cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        if (j)
            px_errf(err, errlen, "%s: not a JSON object", path);
        else
            px_errf(err, errlen, "%s: invalid JSON near byte %ld", path, off);
        cJSON_Delete(j);
        free(text);
        return NULL;
    }
    free(text);
    return j;
}

// ---------------------------------------------------------------------------
// history.csv

static void history_free(report_history *h) {
    double **cols[7] = {&h->epoch, &h->loss, &h->mae, &h->val_loss, &h->val_mae, &h->seconds, &h->samples_per_s};
    for (int i = 0; i < 7; i++) free(*cols[i]), *cols[i] = NULL;
    h->n = 0;
}

// Empty, "nan" or unparsable -> NAN (parsable junk is an error for the caller).
static int parse_cell(const char *s, size_t len, double *out) {
    while (len && (*s == ' ' || *s == '"')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '"' || s[len - 1] == '\r')) len--;
    if (len == 0 || (len == 3 && strncasecmp(s, "nan", 3) == 0)) {
        *out = NAN;
        return 0;
    }
    char buf[64];
    if (len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == 0 ? 0 : -1;
}

// Columns are found by name in the header, so the writer may add or reorder them;
// "epoch" and "loss" are required.
static int load_history(const char *path, report_history *h, char *err, size_t errlen) {
    static const char *names[7] = {"epoch", "loss", "mae", "val_loss", "val_mae", "seconds", "samples_per_s"};
    memset(h, 0, sizeof *h);
    size_t len = 0;
    char *text = px_read_file(path, &len);
    if (!text) {
        px_errf(err, errlen, "%s: cannot read: %s (the training history is required)", path, strerror(errno));
        return -1;
    }
    int nlines = 0;
    for (size_t i = 0; i < len; i++) nlines += text[i] == '\n';
    int cap = nlines + 1;
    double **cols[7] = {&h->epoch, &h->loss, &h->mae, &h->val_loss, &h->val_mae, &h->seconds, &h->samples_per_s};
    for (int c = 0; c < 7; c++) *cols[c] = px_malloc(sizeof(double) * cap, "history");
    int where[7] = {-1, -1, -1, -1, -1, -1, -1}; // column index of each field
    int line_no = 0, rc = 0;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        line_no++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r') line[--ll] = 0;
        if (ll == 0) {
            line = nl ? nl + 1 : NULL;
            continue;
        }
        double vals[7];
        for (int c = 0; c < 7; c++) vals[c] = NAN;
        int col = 0;
        for (char *cell = line;; col++) {
            char *comma = strchr(cell, ',');
            size_t cl = comma ? (size_t)(comma - cell) : strlen(cell);
            if (line_no == 1) {
                for (int c = 0; c < 7; c++)
                    if (strlen(names[c]) == cl && strncmp(cell, names[c], cl) == 0) where[c] = col;
            } else {
                for (int c = 0; c < 7; c++) {
                    if (where[c] != col) continue;
                    if (parse_cell(cell, cl, &vals[c]) != 0) {
                        px_errf(err, errlen, "%s:%d: column '%s' is not a number: '%.*s'", path, line_no, names[c],
                                (int)(cl > 40 ? 40 : cl), cell);
                        rc = -1;
                    }
                }
            }
            if (!comma) break;
            cell = comma + 1;
        }
        if (rc) break;
        if (line_no == 1) {
            if (where[0] < 0 || where[1] < 0) {
                char shown[81];
                printable(shown, sizeof shown, line);
                px_errf(err, errlen, "%s: header must name the columns epoch and loss (got '%s')", path, shown);
                rc = -1;
                break;
            }
        } else {
            if (!isfinite(vals[0])) {
                px_errf(err, errlen, "%s:%d: missing epoch number", path, line_no);
                rc = -1;
                break;
            }
            for (int c = 0; c < 7; c++) (*cols[c])[h->n] = vals[c];
            h->n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (rc == 0 && h->n == 0) {
        px_errf(err, errlen, "%s: no epochs (only a header, or an empty file)", path);
        rc = -1;
    }
    if (rc) history_free(h);
    return rc;
}

// Index of the smallest finite value, -1 if none.
static int argmin_finite(const double *v, int n) {
    int best = -1;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]) && (best < 0 || v[i] < v[best])) best = i;
    return best;
}

// ---------------------------------------------------------------------------
// report_samples.safetensors

static int load_samples(st_file *f, const char *path, report_samples *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    const st_tensor *im = st_expect(f, "images", ST_F32, 3, (const int64_t[]){-1, -1, -1}, err, errlen);
    if (!im) return -1;
    if (im->shape[0] < 1 || im->shape[1] < 1 || im->shape[2] < 1 || im->shape[1] > 4096 || im->shape[2] > 4096 ||
        im->shape[0] > 100000) {
        px_errf(err, errlen, "%s: tensor 'images' has an unusable shape (%lld, %lld, %lld)", path,
                (long long)im->shape[0], (long long)im->shape[1], (long long)im->shape[2]);
        return -1;
    }
    const int64_t *sh = im->shape;
    const st_tensor *ht = st_expect(f, "heatmaps_true", ST_F32, 3, sh, err, errlen);
    if (!ht) return -1;
    const st_tensor *hp = st_expect(f, "heatmaps_pred", ST_F32, 3, sh, err, errlen);
    if (!hp) return -1;
    const int64_t cs[2] = {sh[0], 2};
    const st_tensor *ct = st_expect(f, "coords_true", ST_I32, 2, cs, err, errlen);
    if (!ct) return -1;
    const st_tensor *cp = st_expect(f, "coords_pred", ST_I32, 2, cs, err, errlen);
    if (!cp) return -1;
    s->S = (int)sh[0], s->H = (int)sh[1], s->W = (int)sh[2];
    s->images = im->data, s->heatmaps_true = ht->data, s->heatmaps_pred = hp->data;
    s->coords_true = ct->data, s->coords_pred = cp->data;
    if (st_find(f, "errors_true") || st_find(f, "errors_pred")) {
        const st_tensor *et = st_expect(f, "errors_true", ST_I32, 2, (const int64_t[]){-1, 2}, err, errlen);
        if (!et) return -1;
        const st_tensor *ep = st_expect(f, "errors_pred", ST_I32, 2, et->shape, err, errlen);
        if (!ep) return -1;
        if (et->shape[0] > 100000000) {
            px_errf(err, errlen, "%s: tensor 'errors_true' is absurdly long", path);
            return -1;
        }
        s->T = (int)et->shape[0];
        s->errors_true = et->data, s->errors_pred = ep->data;
    }
    return 0;
}

static double sample_error(const report_samples *s, int i) {
    double dx = s->coords_pred[(size_t)2 * i] - s->coords_true[(size_t)2 * i];
    double dy = s->coords_pred[2 * i + 1] - s->coords_true[2 * i + 1];
    return sqrt(dx * dx + dy * dy);
}

static const report_samples *g_sort_samples;
static int by_error(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    double ei = sample_error(g_sort_samples, i), ej = sample_error(g_sort_samples, j);
    return ei < ej ? -1 : ei > ej ? 1 : i - j;
}

// Rows of the grid: the worst misses (largest error first) and typical samples
// spread evenly over the rest, ordered from best to worst among them.
static int pick_rows(const report_samples *s, report_row *rows) {
    int *order = px_malloc(sizeof(int) * s->S, "sample order");
    for (int i = 0; i < s->S; i++) order[i] = i;
    g_sort_samples = s;
    qsort(order, s->S, sizeof(int), by_error);
    int n = 0;
    if (s->S <= REPORT_MAX_ROWS) {
        for (int r = 0; r < s->S; r++) {
            rows[n].index = order[r];
            rows[n].error = sample_error(s, order[r]);
            snprintf(rows[n].label, sizeof rows[n].label, "rank %d of %d by error", r + 1, s->S);
            n++;
        }
    } else {
        const int nworst = REPORT_MAX_ROWS / 2, ntyp = REPORT_MAX_ROWS - nworst;
        const int rest = s->S - nworst; // candidates for "typical": order[0 .. rest-1]
        for (int k = 0; k < ntyp; k++) {
            int r = (int)lround((double)k * (rest - 1) / (ntyp - 1));
            rows[n].index = order[r];
            rows[n].error = sample_error(s, order[r]);
            snprintf(rows[n].label, sizeof rows[n].label, "rank %d of %d by error", r + 1, s->S);
            n++;
        }
        for (int k = 0; k < nworst; k++) {
            int r = s->S - 1 - k;
            rows[n].index = order[r];
            rows[n].error = sample_error(s, order[r]);
            snprintf(rows[n].label, sizeof rows[n].label, "worst %d of %d", k + 1, s->S);
            n++;
        }
    }
    for (int r = 0; r < n; r++) {
        const int i = rows[r].index;
        size_t used = strlen(rows[r].label);
        snprintf(rows[r].label + used, sizeof rows[r].label - used,
                 ",  error %.2f px,  true (%d, %d),  predicted (%d, %d)", rows[r].error, s->coords_true[(size_t)2 * i],
                 s->coords_true[(size_t)2 * i + 1], s->coords_pred[(size_t)2 * i], s->coords_pred[2 * i + 1]);
    }
    free(order);
    return n;
}

// ---------------------------------------------------------------------------

int report_write(const char *run_dir, char *err, size_t errlen) {
    struct stat st;
    if (stat(run_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        px_errf(err, errlen, "%s: not a run directory (%s)", run_dir, errno ? strerror(errno) : "not a directory");
        return -1;
    }
    int rc = -1, missing = 0;
    char *p_config = join(run_dir, "config.json"), *p_hist = join(run_dir, "history.csv");
    char *p_metrics = join(run_dir, "metrics.json");
    char *p_samples = join(run_dir, "report_samples.safetensors");
    char *out = join(run_dir, "report");
    char *f_loss = join(out, "loss.png"), *f_mae = join(out, "mae.png");
    char *f_err = join(out, "errors.png"), *f_grid = join(out, "samples.png");
    char *f_html = join(out, "index.html");
    cJSON *config = NULL, *metrics = NULL;
    report_history hist = {0};
    st_file *sf = NULL;
    report_samples samples;
    report_row rows[REPORT_MAX_ROWS];
    report_page page = {.run_dir = run_dir, .best = -1, .best_by = "val_loss"};

    if (!(config = load_json(p_config, &missing, err, errlen))) goto done;
    if (load_history(p_hist, &hist, err, errlen)) goto done;
    // metrics.json and report_samples.safetensors are optional: a missing or unreadable one leaves
    // its sections out, with a note on the page (and a warning for an unreadable one).
    char merr[512], note_metrics[700], serr[512], note_samples[700];
    metrics = load_json(p_metrics, &missing, merr, sizeof merr);
    if (!metrics && missing) {
        page.notes[page.nnotes++] = "metrics.json is missing: no evaluation metrics (was training interrupted?).";
    } else if (!metrics) {
        px_warn("%s; the report leaves the metrics out", merr);
        snprintf(note_metrics, sizeof note_metrics, "%s: no evaluation metrics.", merr);
        page.notes[page.nnotes++] = note_metrics;
    }
    if (file_exists(p_samples)) {
        if (!(sf = st_open(p_samples, serr, sizeof serr)) || load_samples(sf, p_samples, &samples, serr, sizeof serr)) {
            px_warn("%s; the report leaves the sample grid and the error histograms out", serr);
            snprintf(note_samples, sizeof note_samples, "%s: no sample grid and no error histograms.", serr);
            page.notes[page.nnotes++] = note_samples;
        } else {
            page.samples = &samples;
        }
    } else {
        page.notes[page.nnotes++] = "report_samples.safetensors is missing: no sample grid and no error histograms.";
    }
    if (report_plot_check(err, errlen)) goto done;
    if (px_mkdirs(out) != 0) {
        px_errf(err, errlen, "%s: cannot create directory: %s", out, strerror(errno));
        goto done;
    }

    page.config = config;
    page.metrics = metrics;
    page.hist = &hist;
    page.best = argmin_finite(hist.val_loss, hist.n);
    if (page.best < 0) {
        page.best = argmin_finite(hist.loss, hist.n);
        page.best_by = "loss";
        page.notes[page.nnotes++] = "No validation loss in history.csv: the best epoch is chosen by training loss.";
    }

    if (report_plot_curves(f_loss, "Loss (MSE over heatmap pixels)", "loss", &hist, hist.loss, hist.val_loss, page.best,
                           page.best_by, err, errlen))
        goto done;
    page.figs[page.nfigs++] = (report_figure){"loss.png", "Loss per epoch",
                                              "Mean squared error of the heatmap, log scale. "
                                              "The dashed line marks the best epoch."};
    if (report_plot_curves(f_mae, "Mean absolute error of the heatmap", "MAE", &hist, hist.mae, hist.val_mae, page.best,
                           page.best_by, err, errlen))
        goto done;
    page.figs[page.nfigs++] =
        (report_figure){"mae.png", "MAE per epoch", "Mean absolute error over heatmap pixels, log scale."};
    if (page.samples) {
        page.nrows = pick_rows(&samples, rows);
        page.rows = rows;
        if (report_plot_samples(f_grid, &samples, rows, page.nrows, err, errlen)) goto done;
        page.figs[page.nfigs++] =
            (report_figure){"samples.png", "Test samples",
                            "Input, true heatmap and predicted heatmap. Red +: true position; cyan circle: "
                            "predicted position (argmax of the predicted heatmap). Samples spread over the "
                            "ranking by error first, then the worst misses."};
        const int32_t *et = samples.T ? samples.errors_true : samples.coords_true;
        const int32_t *ep = samples.T ? samples.errors_pred : samples.coords_pred;
        const int n = samples.T ? samples.T : samples.S;
        if (!samples.T)
            page.notes[page.nnotes++] = "report_samples.safetensors has no errors_true/errors_pred: "
                                        "the histograms cover only the shown samples.";
        if (report_plot_errors(f_err, et, ep, n, samples.T ? "test samples" : "selected samples", err, errlen))
            goto done;
        page.figs[page.nfigs++] =
            (report_figure){"errors.png", "Error histograms",
                            "Distribution of per-sample coordinate errors (predicted minus true), log count axis."};
    }
    if (report_html_write(f_html, &page, err, errlen)) goto done;
    rc = 0;
done:
    if (sf) st_close(sf);
    history_free(&hist);
    cJSON_Delete(config);
    cJSON_Delete(metrics);
    free(p_config), free(p_hist), free(p_metrics), free(p_samples), free(out);
    free(f_loss), free(f_mae), free(f_err), free(f_grid), free(f_html);
    return rc;
}
