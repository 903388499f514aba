// Image files: PNG (libpng) and PGM (P2/P5) in, PNG out.
#ifndef PIXLOC_IMAGE_IO_H
#define PIXLOC_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

// Reads PNG (8/16-bit; gray, gray+alpha, RGB, RGBA, palette; colour converted to
// gray with ITU-R BT.601 weights) or PGM (P2 or P5, maxval up to 65535) into
// grayscale floats in [0, 1], (H, W) row-major. NULL with "FILE: problem" in err.
float *image_read_gray(const char *path, int *H, int *W, char *err, size_t errlen);
// Same from memory (fuzzing); format by magic bytes.
float *image_read_gray_mem(const void *bytes, size_t len, const char *name, int *H, int *W, char *err, size_t errlen);
// 8-bit PNG writers. 0 / -1 with err set.
int png_write_gray8(const char *path, int H, int W, const uint8_t *pix, char *err, size_t errlen);
int png_write_rgb8(const char *path, int H, int W, const uint8_t *rgb, char *err, size_t errlen);
// Reads a PNG's size without decoding pixels (tests). 0 / -1.
int png_size(const char *path, int *H, int *W);

#endif
