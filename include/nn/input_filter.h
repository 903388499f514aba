// What a network does to its input images before the first convolution (plain C on the
// host; no OpenCL). A model records its filter (net_config.input_filter), and every path
// that feeds it images applies it: net_set_batch (eval, predict, libpixloc, TTA) and the
// trainer's uploads (the dataset and each epoch's fresh images).
#ifndef PIXLOC_INPUT_FILTER_H
#define PIXLOC_INPUT_FILTER_H

#include <stddef.h>

enum { NET_FILTER_NONE = 0, NET_FILTER_IMPULSE = 1 };

// "none" / "impulse" <-> NET_FILTER_*; input_filter_parse returns -1 for another name.
const char *input_filter_name(int filter);
int input_filter_parse(const char *name);

// The fewest pixels that must carry the impulse value.
#define IMPULSE_MIN_COUNT 4

// Fixed-value impulse noise: pixels replaced by one exact value, as stuck sensor pixels
// are, and as the seed recipe's background noise is (2% of the pixels of an image all set
// to one integer level in [5, 39] of 255). Pixels under Gaussian noise almost never repeat
// a float value exactly, so such a value stands out as the one that repeats.
//
// impulse_filter finds the value that occurs most often in the H x W image, leaving out
// 0, 1 (the clip levels of [0, 1] images, which clipping repeats) and non-finite values.
// It is the impulse value when it occurs at least IMPULSE_MIN_COUNT times while no other
// such value occurs more than twice; so an 8-bit image (a few hundred levels, most
// repeated) is left alone. Each pixel that holds it is replaced by the mean of its
// 8-neighbours that do not (in a fixed order), or, when all of them do, by the mean of
// the image's other pixels. Returns the number of pixels replaced; 0 leaves the image as
// it was.
int impulse_filter(float *img, int H, int W);
// The impulse value impulse_filter would replace, into *value: 1, or 0 when there is none.
int impulse_find(const float *img, int H, int W, float *value);

// Whether the k-th training image (0-based) is filtered when a share `fraction` in (0, 1] of
// them is: k is chosen when floor((k+1) * fraction) > floor(k * fraction), which spreads the
// chosen ones evenly (0.5: every second image; 1: all).
int input_filter_selects(float fraction, size_t k);

// Applies filter to n images of H x W in place; returns the pixels replaced in all. With
// untouched non-NULL, *untouched is the number of images the filter left alone.
size_t input_filter_apply(int filter, float *images, size_t n, int H, int W, size_t *untouched);

#endif
