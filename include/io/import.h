// Datasets from a folder of labelled images (`pixloc import`): a labels CSV (labels.h) naming
// PNG or PGM files relative to the folder, read with image_read_gray into the dataset layout
// `pixloc generate` writes and `pixloc train --data` reads: images F32 (N,H,W) in [0,1] (an 8-bit
// value v becomes v/255, a 16-bit one v/65535, a PGM one v/maxval; colour becomes BT.601 gray),
// coords I32 (N,2) as (x, y), in the CSV's row order.
#ifndef PIXLOC_IMPORT_H
#define PIXLOC_IMPORT_H

#include <stddef.h>

#include "dataset.h"

// Largest import (the images tensor, held in memory twice while the file is written).
#define IMPORT_MAX_BYTES (4ull << 30)

// Fills d from the labels file and the images it names under images_dir. sigma is the label
// heatmap sigma stored in the recipe metadata (the trainer's targets). `avoid` (may be NULL) is
// the output path: an input that is the same file is an error. Returns 0, or -1 with a message
// naming the labels file and line ("labels.csv line 7: ...") in err and d empty. Every -1 is bad
// input (exit status 2); out of memory dies.
int dataset_import(dataset *d, const char *images_dir, const char *labels_path, double sigma, const char *avoid,
                   char *err, size_t errlen);

#endif
