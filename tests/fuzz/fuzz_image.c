// Fuzz target: image_read_gray_mem (PNG through libpng, PGM P2/P5 by hand).
// An accepted image must have a sane size and every value in [0, 1].
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_targets.h"
#include "image_io.h"

int fuzz_image(const uint8_t *data, size_t size) {
    char err[512];
    int H = -1, W = -1;
    err[0] = 0;
    fuzz_accepted = 0;
    float *img = image_read_gray_mem(data, size, "fuzz", &H, &W, err, sizeof err);
    if (!img) {
        FUZZ_CHECK(strncmp(err, "fuzz: ", 6) == 0 && strlen(err) > 6);
        return 0;
    }
    fuzz_accepted = 1;
    FUZZ_CHECK(H >= 1 && W >= 1);
    for (size_t i = 0; i < (size_t)H * (size_t)W; i++) FUZZ_CHECK(img[i] >= 0.0f && img[i] <= 1.0f);
    free(img);
    return 0;
}
