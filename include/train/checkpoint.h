// Checkpoints: safetensors files with every net tensor by name, and for resuming
// the Adam moments and step, the epoch/step position, the RNG states and the
// running sums of a partial epoch. The architecture, the data recipe and every
// training setting are in the metadata, so eval/predict/--resume need no flags.
#ifndef PIXLOC_CHECKPOINT_H
#define PIXLOC_CHECKPOINT_H

#include <stdint.h>
#include "dataset.h"
#include "net.h"
#include "ocl.h"
#include "rng.h"
#include "trainer.h" // train_settings, train_progress

void train_settings_json(const train_settings *s, char **out); // malloc'd JSON text
int train_settings_from_json(train_settings *s, const char *json, char *err, size_t errlen);
// config.json's text (malloc'd, one line and a newline): the settings object of train_settings_json
// with "device", "device_type", "driver", "platform", "pixloc_version", "parameters",
// "non_trainable", "processes" (how many train it together: mpirun -np K) and, if seconds >= 0, "seconds_total" appended, every value through cJSON
// (names that are not valid UTF-8 get U+FFFD).
char *train_config_json(const train_settings *s, const ocl_ctx *c, size_t parameters, size_t non_trainable,
                        int processes, double seconds);

// Saves atomically. progress may be NULL (weights only).
int checkpoint_save(const char *path, net *n, const train_settings *s, const train_progress *p, char *err,
                    size_t errlen);
// A checkpoint's "device" metadata records the device name, driver, platform and each
// layer's kernel variant (net_kernels_describe). For --resume: 1 if any of them differs
// from what n runs with now, with a warning in msg naming each difference (the
// continuation is valid but not bit-identical); 0 if the same, or if the checkpoint
// records no device (older files) or cannot be read (checkpoint_load reports that).
int checkpoint_device_note(const char *path, const net *n, char *msg, size_t len);
// Reads the settings (architecture, recipe...) of a checkpoint without a device.
int checkpoint_read_settings(const char *path, train_settings *s, char *err, size_t errlen);
// Reads a resumable checkpoint's training position (epochs done, steps done in the unfinished
// one) and history row without a device or a net: for a run that may have nothing left to do.
// -1 (err set) if the file has no such state or its position is out of range (damaged);
// checkpoint_load checks everything else.
int checkpoint_read_position(const char *path, int64_t *epoch, int64_t *step_in_epoch, char *history_row,
                             size_t row_len, char *err, size_t errlen);
// Loads tensors into a net created from the same settings; checks every shape.
// progress may be NULL; if given and the file has no training state, returns -1.
int checkpoint_load(const char *path, net *n, train_progress *p, char *err, size_t errlen);
// "DIR" -> "DIR/last.safetensors"; a file path is returned as is.
void checkpoint_resolve(const char *dir_or_file, const char *which, char *out, size_t len);

#endif
