// Running a trained net over images and scoring it: coordinates by argmax of the
// predicted heatmap, metrics per split, and the two classical baselines.
#ifndef PIXLOC_EVALUATE_H
#define PIXLOC_EVALUATE_H

#include <stdint.h>
#include <stdio.h>
#include "dataset.h"
#include "metrics.h"
#include "net.h"

// Test-time augmentation: the number of transforms whose heatmaps are averaged for an H x W image:
// the 8 mirrors and transposes of a square image, the 4 mirrors of another.
int tta_count(int H, int W);

// Inference (BN moving statistics) over images idx[0..n) of host images (Ntot,H,W)
// in batches of at most `batch`; writes predicted (x,y) to pred_xy (n,2) and, if
// heatmaps != NULL, the predicted heatmaps (n,H,W) and peak values (n) if peaks != NULL.
// tta != 0: each heatmap is the mean of the tta_count(H, W) transformed images' heatmaps, each
// mapped back (tta_count times the work).
void predict_indices(net *nt, int batch, int tta, const float *images, int H, int W, const int64_t *idx, int n,
                     int32_t *pred_xy, float *heatmaps, float *peaks);

// The same over images idx[0..n) of a dataset, in memory or streamed from its file
// (dataset_load_streamed): only one batch of images is in host memory at a time.
void predict_dataset(net *nt, int batch, int tta, const dataset *d, const int64_t *idx, int n, int32_t *pred_xy,
                     float *heatmaps, float *peaks);

enum { EVAL_TRAIN, EVAL_VAL, EVAL_TEST, EVAL_ALL, EVAL_NSETS };
typedef struct {
    int has[EVAL_NSETS];
    coord_metrics sets[EVAL_NSETS];
    int has_baselines;
    coord_metrics brightest, matched; // on the baseline set (test, or the whole file)
    int has_bayes;                    // the recipe's MAP detector (not for imported images)
    coord_metrics bayes;
    const char *baseline_set;
} eval_result;

extern const char *const EVAL_SET_NAMES[EVAL_NSETS]; // "train", "val", "test", "all"

// Scores the net on the splits (s != NULL) whose bit (1u << EVAL_TRAIN, ...) is set in `sets`
// (EVAL_SETS_ALL: every one; the baselines are always scored on the test split), or on the whole
// dataset (s == NULL). tta: as predict_indices.
// If test_pred != NULL it receives a malloc'd (n_test or N, 2) array of predictions
// on the baseline set (for the report).
// EVAL_NO_BASELINES in `sets` skips the baselines (a second model on the same splits).
#define EVAL_SETS_ALL     0xFu
#define EVAL_NO_BASELINES 0x10u
void evaluate(net *nt, int batch, int tta, unsigned sets, const dataset *d, const splits *s, eval_result *r,
              int32_t **test_pred);
void eval_print_table(FILE *f, const eval_result *r);
// The result as a cJSON object {"sets": {...}, "baselines": {...}, "baseline_set": ...}.
cJSON *eval_cjson(const eval_result *r);
// Its text (sets and baselines one per line; NaN metrics as null).
void eval_json(FILE *f, const eval_result *r);
// Writes eval_json's text to path atomically; extra (may be NULL) is added to the object under
// extra_key and stays the caller's.
int eval_write_json(const char *path, const eval_result *r, const char *extra_key, const cJSON *extra, char *err,
                    size_t errlen);

#endif
