// Checkpoints: safetensors files with every net tensor by name, and for resuming
// the Adam moments and step, the epoch/step position, the RNG states and the
// running sums of a partial epoch. The architecture, the data recipe and every
// training setting are in the metadata, so eval/predict/--resume need no flags.
#ifndef PIXLOC_CHECKPOINT_H
#define PIXLOC_CHECKPOINT_H

#include <stdint.h>
#include "dataset.h"
#include "net.h"
#include "rng.h"

// Every setting of a training run.
typedef struct {
    char preset[16];
    int samples;        // dataset size when generated
    uint32_t seed;      // data, split, init and shuffling
    char data[1024];    // --data FILE ("" = generate)
    recipe rec;
    net_config net;
    int epochs, batch;
    double lr;
    char lr_schedule[16]; // "constant" or "cosine" (to lr*lr_min_frac at the last step)
    double lr_min_frac;
    int bn_reestimate;  // batches for precise-BN re-estimation before validation and at the end (0 = off)
    int fresh_data;     // 1: new synthetic training images every epoch (the seed's split stays for val/test)
    double test_frac, val_frac;
} train_settings;

// Where a run stands (for --resume; bit-identical continuation).
typedef struct {
    int64_t epoch;          // completed epochs
    int64_t step_in_epoch;  // steps done in the unfinished epoch (0 at an epoch boundary)
    uint32_t shuffle_rng[RNG_STATE_WORDS]; // generator state at the start of the unfinished epoch
    uint32_t data_rng[RNG_STATE_WORDS];    // fresh-data generator, same moment
    double run_loss, run_mae; // sums over the steps done in the unfinished epoch (sample-weighted)
    int64_t run_count;
    double best_val_loss;
    int64_t best_epoch;
    double seconds;         // training time so far
} train_progress;

void train_settings_json(const train_settings *s, char **out); // malloc'd JSON text
int train_settings_from_json(train_settings *s, const char *json, char *err, size_t errlen);

// Saves atomically. progress may be NULL (weights only).
int checkpoint_save(const char *path, net *n, const train_settings *s, const train_progress *p, char *err,
                    size_t errlen);
// Reads the settings (architecture, recipe...) of a checkpoint without a device.
int checkpoint_read_settings(const char *path, train_settings *s, char *err, size_t errlen);
// Loads tensors into a net created from the same settings; checks every shape.
// progress may be NULL; if given and the file has no training state, returns -1.
int checkpoint_load(const char *path, net *n, train_progress *p, char *err, size_t errlen);
// "DIR" -> "DIR/last.safetensors"; a file path is returned as is.
void checkpoint_resolve(const char *dir_or_file, const char *which, char *out, size_t len);

#endif
