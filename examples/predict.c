// A program using libpixloc: predicts the bright pixel of 8-bit gray PNG images (as `pixloc
// generate --png` writes them) with a checkpoint of `pixloc train`, and prints the CSV `pixloc
// predict` prints. Consecutive images of one size go to the device in one call. Build against
// an installed pixloc:
//   cc predict.c $(pkg-config --cflags --libs pixloc libpng) -o predict
//   ./predict runs/a image1.png image2.png
// The library reads no environment variable: this program passes the device selection and the
// kernel cache from the variables the pixloc command reads.
#include <pixloc/pixloc.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>

// The image as floats in 0..1 (8-bit / 255, as pixloc reads it); NULL if it cannot be read.
static float *read_png(const char *path, int *h, int *w) {
    png_image im = {.version = PNG_IMAGE_VERSION};
    if (!png_image_begin_read_from_file(&im, path)) return NULL;
    im.format = PNG_FORMAT_GRAY;
    size_t n = (size_t)im.width * im.height;
    unsigned char *px = malloc(n);
    float *img = malloc(n * sizeof *img);
    if (px && img && png_image_finish_read(&im, NULL, px, 0, NULL)) {
        for (size_t i = 0; i < n; i++) img[i] = px[i] / 255.0f;
    } else {
        free(img);
        img = NULL;
    }
    png_image_free(&im);
    free(px);
    *h = (int)im.height, *w = (int)im.width;
    return img;
}

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: %s MODEL IMAGE.png...\n", argv[0]), 2;
    pixloc_options o = {getenv("PIXLOC_PLATFORM"),
                        getenv("PIXLOC_DEVICE"),
                        getenv("PIXLOC_DEVICE_TYPE"),
                        getenv("PIXLOC_CACHE_DIR"),
                        NULL,
                        NULL};
    pixloc *px;
    if (pixloc_open(&o, &px) != PIXLOC_OK || pixloc_load(px, argv[1]) != PIXLOC_OK) {
        fprintf(stderr, "predict: %s\n", pixloc_last_error(px));
        pixloc_close(px);
        return 1;
    }
    int n = argc - 2, *h = calloc(n, sizeof *h), *w = calloc(n, sizeof *w), *xy = calloc(2 * n, sizeof *xy), rc = 0;
    float **img = calloc(n, sizeof *img), *peak = calloc(n, sizeof *peak), *batch = NULL;
    for (int i = 0; i < n && rc == 0; i++)
        if (!(img[i] = read_png(argv[2 + i], &h[i], &w[i])))
            rc = fprintf(stderr, "predict: cannot read %s\n", argv[2 + i]);
    if (rc == 0) printf("input,x,y,peak\n");
    for (int s = 0, e; s < n && rc == 0; s = e) { // images s..e-1 have one size: one call
        for (e = s + 1; e < n && h[e] == h[s] && w[e] == w[s]; e++) {}
        size_t hw = (size_t)h[s] * w[s];
        batch = realloc(batch, sizeof(float) * hw * (e - s)); // (a real program checks for NULL)
        for (int i = s; i < e; i++)
            for (size_t k = 0; k < hw; k++) batch[(i - s) * hw + k] = img[i][k];
        if (pixloc_predict(px, batch, e - s, h[s], w[s], xy + 2 * s, peak + s) != PIXLOC_OK)
            rc = fprintf(stderr, "predict: %s\n", pixloc_last_error(px));
        for (int i = s; i < e && rc == 0; i++)
            printf("%s,%d,%d,%.6g\n", argv[2 + i], xy[2 * i], xy[2 * i + 1], peak[i]);
    }
    for (int i = 0; i < n; i++) free(img[i]);
    free(img), free(h), free(w), free(xy), free(peak), free(batch);
    pixloc_close(px);
    return rc ? 1 : 0;
}
