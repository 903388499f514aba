// A program using libpixloc: predicts the bright pixel of 8-bit binary PGM images (P5) with a
// checkpoint of `pixloc train`, and prints CSV as `pixloc predict` does. Consecutive images of
// one size go to the device in one call. Build against an installed pixloc:
//   cc predict.c $(pkg-config --cflags --libs pixloc) -o predict
//   ./predict runs/a image1.pgm image2.pgm
// The library reads no environment variable: this program passes the device selection and the
// kernel cache from the same variables the pixloc command honours.
#include <pixloc/pixloc.h>
#include <stdio.h>
#include <stdlib.h>

// Reads an 8-bit binary PGM into floats in 0..1 (as pixloc reads images); NULL if it is not one.
static float *read_pgm(const char *path, int *h, int *w) {
    FILE *f = fopen(path, "rb");
    int maxval = 0;
    float *img = NULL;
    if (f && fscanf(f, "P5 %d %d %d", w, h, &maxval) == 3 && maxval == 255 && fgetc(f) != EOF && *w > 0 && *h > 0 &&
        (img = malloc(sizeof(float) * *w * *h)))
        for (long i = 0; i < (long)*w * *h; i++) img[i] = (float)fgetc(f) / 255.0f;
    if (f) fclose(f);
    return img;
}

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: %s MODEL IMAGE.pgm...\n", argv[0]), 2;
    pixloc_options o = {getenv("PIXLOC_PLATFORM"), getenv("PIXLOC_DEVICE"), getenv("PIXLOC_DEVICE_TYPE"),
                        getenv("PIXLOC_CACHE_DIR"), NULL, NULL};
    pixloc *px;
    if (pixloc_open(&o, &px) != PIXLOC_OK || pixloc_load(px, argv[1]) != PIXLOC_OK) {
        fprintf(stderr, "predict: %s\n", pixloc_last_error(px));
        pixloc_close(px);
        return 1;
    }
    int n = argc - 2, *h = calloc(n, sizeof *h), *w = calloc(n, sizeof *w), *xy = calloc(2 * n, sizeof *xy);
    float **img = calloc(n, sizeof *img), *peak = calloc(n, sizeof *peak), *batch = NULL;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (!(img[i] = read_pgm(argv[2 + i], &h[i], &w[i]))) rc = fprintf(stderr, "predict: %s: not a P5 PGM\n", argv[2 + i]);
    printf("input,x,y,peak\n");
    for (int s = 0, e; s < n && rc == 0; s = e) { // images s..e-1 have one size: one call
        for (e = s + 1; e < n && h[e] == h[s] && w[e] == w[s]; e++) {}
        size_t hw = (size_t)h[s] * w[s];
        batch = realloc(batch, sizeof(float) * hw * (e - s));
        for (int i = s; i < e; i++)
            for (size_t k = 0; k < hw; k++) batch[(i - s) * hw + k] = img[i][k];
        if (pixloc_predict(px, batch, e - s, h[s], w[s], xy + 2 * s, peak + s) != PIXLOC_OK)
            rc = fprintf(stderr, "predict: %s\n", pixloc_last_error(px));
        for (int i = s; i < e && rc == 0; i++) printf("%s,%d,%d,%.6g\n", argv[2 + i], xy[2 * i], xy[2 * i + 1], peak[i]);
    }
    for (int i = 0; i < n; i++) free(img[i]);
    free(img), free(h), free(w), free(xy), free(peak), free(batch);
    pixloc_close(px);
    return rc ? 1 : 0;
}
