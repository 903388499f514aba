// The padded-plane layout of activations and gradients (include/nn/layout.h),
// for the kernels: an (N, C, H, W) tensor is N*C planes of PH x PW floats,
// PH = H + 2 and PW = W + 2 (a one-pixel ring of zeros around each image), after
// a margin of ACT_MARGIN(W) floats (the host passes it: MARGIN or `margin`).
// Interior pixel (y, x) of plane p is at margin + p*plane + (y+1)*PW + (x+1).

// Sizes of a plane for run-time H, W (kernels that take them as arguments).
#define PAD_PW(W) ((W) + 2)
#define PAD_PH(H) ((H) + 2)
#define PAD_PLANE(H, W) ((size_t)PAD_PH(H) * (size_t)PAD_PW(W))

// Programs built for one image size (-DIMG_H, -DIMG_W): the same as constants.
#ifdef IMG_W
#define PW (IMG_W + 2)
#define PH (IMG_H + 2)
#define PLANE (PH * PW)
#endif
