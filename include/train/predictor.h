// A checkpoint ready to predict on images of any size: the net is rebuilt for each new image
// size (the network is fully convolutional) and loaded with the checkpoint's weights. Shared by
// `pixloc predict` and libpixloc (host/api/), so both give the same coordinates.
#ifndef PIXLOC_PREDICTOR_H
#define PIXLOC_PREDICTOR_H

#include "net.h"
#include "ocl.h"
#include "trainer.h"

typedef struct {
    ocl_ctx *c;
    char ckpt[2048];  // the checkpoint file
    train_settings s; // its settings (architecture)
    net *nt;          // NULL until the first predictor_size
    int H, W, batch;  // what nt was built for
} predictor;

// Resolves `model` (a checkpoint file, or a run directory: its best.safetensors) and reads its
// settings; no device work. Returns 0, or -1 with a message in err.
int predictor_open(predictor *p, ocl_ctx *c, const char *model, char *err, size_t errlen);
// A net for H x W images with the checkpoint's weights (rebuilt when the size changes or a
// larger batch is asked), at `batch` or, if that does not fit the device, the largest batch that
// does. Returns the batch to use; 0 with a message in err when not even one image of this size
// fits, -1 with a message when the weights cannot be loaded (p->nt is NULL after either).
int predictor_size(predictor *p, int H, int W, int batch, char *err, size_t errlen);
void predictor_free(predictor *p);

#endif
