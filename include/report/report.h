// `pixloc report RUN_DIR`: reads what training left in RUN_DIR (config.json,
// history.csv, metrics.json, report_samples.safetensors) and writes
// RUN_DIR/report/: index.html (self-contained, relative links only), loss and MAE
// curves, error histograms and a grid of test samples (PNG, drawn with PLplot).
#ifndef PIXLOC_REPORT_H
#define PIXLOC_REPORT_H

#include <stddef.h>
#include <stdint.h>

// Writes RUN_DIR/report/. Required inputs: config.json and history.csv; a missing
// metrics.json or report_samples.safetensors omits that section with a note.
// 0, or -1 with "FILE: problem" in err.
int report_write(const char *run_dir, char *err, size_t errlen);

// ---------------------------------------------------------------------------
// Internal interface shared by host/report.c, host/report_plot.c and
// host/report_html.c (not for other callers).

// history.csv, one entry per epoch; NAN where a value is empty or "nan".
typedef struct {
    int n;
    double *epoch, *loss, *mae, *val_loss, *val_mae, *seconds, *samples_per_s;
} report_history;

// report_samples.safetensors, borrowed from the open file.
typedef struct {
    int S, H, W;
    const float *images, *heatmaps_true, *heatmaps_pred; // (S, H, W) row-major
    const int32_t *coords_true, *coords_pred;            // (S, 2) as (x, y)
    int T;                                               // 0 when errors_* are absent
    const int32_t *errors_true, *errors_pred;            // (T, 2) as (x, y): the whole test set
} report_samples;

// One row of the sample grid.
typedef struct {
    int index;       // into report_samples
    double error;    // Euclidean distance true -> predicted, pixels
    char label[160]; // e.g. "worst 1 of 64"
} report_row;

typedef struct {
    const char *file; // relative to report/
    const char *title;
    const char *caption; // may be NULL
} report_figure;

struct cJSON;
#define REPORT_MAX_FIGS  8
#define REPORT_MAX_NOTES 8
typedef struct {
    const char *run_dir;
    const struct cJSON *config;  // never NULL
    const struct cJSON *metrics; // NULL when metrics.json is absent
    const report_history *hist;
    int best;            // index of the best epoch by val_loss, -1 if none
    const char *best_by; // "val_loss" or "loss"
    report_figure figs[REPORT_MAX_FIGS];
    int nfigs;
    const char *notes[REPORT_MAX_NOTES]; // missing sections, shown on the page
    int nnotes;
    const report_samples *samples; // NULL when absent
    const report_row *rows;
    int nrows;
} report_page;

// 0 if PLplot's pngcairo driver is available; -1 with a message naming the
// Debian package otherwise.
int report_plot_check(char *err, size_t errlen);
// Train and validation curves over epochs with a log y axis and the best epoch
// marked (best < 0: none). val may be all NAN. 800x500 PNG.
int report_plot_curves(const char *path, const char *title, const char *ylabel, const report_history *h,
                       const double *train, const double *val, int best, const char *best_by, char *err, size_t errlen);
// Histograms of |x error|, |y error| and Euclidean error (log count axis) over
// n (true, predicted) coordinate pairs.
int report_plot_errors(const char *path, const int32_t *xy_true, const int32_t *xy_pred, int n, const char *what,
                       char *err, size_t errlen);
// Rows of (input, true heatmap, predicted heatmap) with both positions marked.
int report_plot_samples(const char *path, const report_samples *s, const report_row *rows, int nrows, char *err,
                        size_t errlen);
// Writes index.html.
int report_html_write(const char *path, const report_page *p, char *err, size_t errlen);

#endif
