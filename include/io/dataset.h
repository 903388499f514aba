// The synthetic bright-pixel dataset: the seed notebook's recipe, bit-identical to
// its numpy/OpenCV original for seed 42 (see ../shared/seed/REFERENCE.md).
#ifndef PIXLOC_DATASET_H
#define PIXLOC_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "parse.h"
#include "rng.h"

typedef struct {
    int H, W;         // image size (seed: 50 x 50)
    int blur;         // OpenCV GaussianBlur ksize with sigma 0: 0 (none), 3, 5 (seed), 7
    double noise_std; // additive Gaussian noise std on the 0..255 scale (seed: 10)
    double bg_prob;   // per-pixel probability of background noise (seed: 0.02)
    int bg_lo, bg_hi; // background value drawn once per image from [bg_lo, bg_hi) (seed: 5, 40)
    double sigma;     // label heatmap sigma (seed: 1.8)
} recipe;

void recipe_default(recipe *r);
// "H=50,W=50,blur=5,..." for metadata and config; parse returns 0 or -1 (err set).
void recipe_to_string(const recipe *r, char *buf, size_t len);
int recipe_from_string(recipe *r, const char *s, char *err, size_t errlen);
// Checks every field's range (sizes 1..RECIPE_MAX_SIDE, blur 0/3/5/7, ...); 0 or -1 (err set).
#define RECIPE_MAX_SIDE PX_MAX_SIDE // parse.h: the one image-side limit
int recipe_validate(const recipe *r, char *err, size_t errlen);
// The blur taps (ksize floats) OpenCV uses for ksize with sigma 0; returns ksize (0 for none).
int recipe_blur_taps(int ksize, double *taps);

struct st_file;

typedef struct {
    int N, H, W;
    float *images;   // (N, H, W), values in [0, 1]; NULL when streamed (read with dataset_images)
    int32_t *coords; // (N, 2) as (x, y): x is the column
    float *heatmaps; // (N, H, W) or NULL (then computed from coords with heatmap_fill)
    recipe rec;
    uint32_t seed;
    const char *source;  // metadata "source" when set (not owned): DATASET_SOURCE_IMPORT for `pixloc import`
    struct st_file *src; // dataset_load_streamed: the open file the images are read from; else NULL
} dataset;

// Generates N samples from `seed` with the notebook's draw order. dataset_generate and
// dataset_draw exit with status 2 on a recipe that recipe_validate refuses.
void dataset_generate(dataset *d, const recipe *r, int N, uint32_t seed);
// Draws `n` samples into images/coords (caller-allocated, (n,H,W) and (n,2)) from
// a running generator: for fresh training data every epoch.
void dataset_draw(rng_state *g, const recipe *r, int n, float *images, int32_t *coords);
// Label heatmap exp(-d^2 / (2 sigma^2)) (computed in double, stored float).
void heatmap_fill(float *out, int H, int W, int x, int y, double sigma);
void dataset_free(dataset *d);
// 1 when d came from `pixloc import`: its recipe fields describe nothing.
#define DATASET_SOURCE_IMPORT "import"
int dataset_imported(const dataset *d);

// Safetensors: images F32 (N,H,W), coords I32 (N,2), optional heatmaps F32 (N,H,W);
// recipe, seed (and source, when set) in metadata. 0 / -1 with a message in err.
int dataset_save(const dataset *d, const char *path, int with_heatmaps, char *err, size_t errlen);
int dataset_load(dataset *d, const char *path, char *err, size_t errlen);
// The same checks (every pixel, every coordinate), but the images stay in the file:
// d->images is NULL and dataset_images reads them on demand; label heatmaps are not
// read (d->heatmaps NULL). Memory: the coordinates and a 1 MiB buffer while checking,
// whatever the file's size. For inference (predict, eval).
int dataset_load_streamed(dataset *d, const char *path, char *err, size_t errlen);
// Copies images idx[0..n) to out (n, H, W), from memory or from the streamed file
// (exits 1 naming the file if it can no longer be read, or on an index outside 0..N-1).
void dataset_images(const dataset *d, const int64_t *idx, int n, float *out);

// The seed's splits: train_test_split(test_size, random_state=seed) then Keras's
// validation_split (the LAST val_frac of the training part, unshuffled).
typedef struct {
    int64_t *train, *val, *test; // indices into the dataset
    int n_train, n_val, n_test;
} splits;
void dataset_split(int N, uint32_t seed, double test_frac, double val_frac, splits *s);
void splits_free(splits *s);

#endif
