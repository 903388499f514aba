// The trainer: one definition of a training step, and a training run (data, splits, the net, the
// device-resident dataset, the random streams and where the run stands) that `pixloc train`,
// `pixloc bench` and the tests drive in process. It prints nothing but log lines, reads no
// environment and installs no signal handler: the caller passes a stop flag and a progress
// callback in trainer_options.
#ifndef PIXLOC_TRAINER_H
#define PIXLOC_TRAINER_H

#include <signal.h>
#include <stdint.h>

#include "dataset.h"
#include "net.h"
#include "ocl.h"
#include "rng.h"

// Every setting of a training run.
typedef struct {
    char preset[16];
    int samples;        // dataset size when generated
    uint32_t seed;      // data, split, init and shuffling
    char data[1024];    // --data FILE ("" = generate)
    recipe rec;         // the data's recipe; rec.sigma is the training targets' (label_sigma, if set)
    double label_sigma; // label heatmap sigma of the training targets; 0: the data's (rec.sigma)
    net_config net;
    int epochs, batch;
    double lr;
    char lr_schedule[16]; // "constant" or "cosine" (to lr*lr_min_frac at the last step)
    double lr_min_frac;
    int bn_reestimate; // batches for precise-BN re-estimation before validation and at the end (0 = off)
    int fresh_data;    // 1: new synthetic training images every epoch (the seed's split stays for val/test)
    double test_frac, val_frac;
} train_settings;

// Where a run stands (for --resume; bit-identical continuation).
typedef struct {
    int64_t epoch;                         // completed epochs
    int64_t step_in_epoch;                 // steps done in the unfinished epoch (0 at an epoch boundary)
    uint32_t shuffle_rng[RNG_STATE_WORDS]; // generator state at the start of the unfinished epoch
    uint32_t data_rng[RNG_STATE_WORDS];    // fresh-data generator, same moment
    double run_loss, run_mae;              // sums over the steps done in the unfinished epoch (sample-weighted)
    int64_t run_count;
    double best_val_loss;
    int64_t best_epoch;
    double seconds; // training time so far
    // The run's history.csv row for the last completed epoch (saved in the checkpoint's metadata),
    // so a run killed between saving the checkpoint and appending the row gets the row back on
    // --resume; "" if none.
    char history_row[256];
} train_progress;

// The settings of a preset ("default", "accurate" or "seed"); returns -1 (s untouched) for
// another name.
int train_settings_preset(train_settings *s, const char *name);
// The learning rate of global step `step` of `total` under s's schedule.
double train_lr_at(const train_settings *s, int64_t step, int64_t total);

// The training step, the only one, in two schedules. Both gather rows rows[first..first+N) (a
// device buffer of int64 row indices: the epoch's order, uploaded once) of the device-resident
// images and heatmaps, run the forward pass in training mode and the loss, then the backward
// pass and an Adam step at lr.
// train_step waits for the loss and checks it first: it returns 0, or -1 when the loss is not
// finite (*loss is then NaN or infinite and the net is not updated). inject_nan != 0 makes the
// loss NaN (the test hook for the divergence path).
int train_step(net *n, int N, cl_mem img, cl_mem hm, cl_mem rows, size_t first, float lr, int inject_nan, float *loss,
               float *mae);
// train_step_enqueue waits for nothing: the loss and MAE land in out[0], out[1] when *done
// completes (ocl_wait), and the update is queued whatever they are; the caller checks the loss
// one step late (the trainer does).
void train_step_enqueue(net *n, int N, cl_mem img, cl_mem hm, cl_mem rows, size_t first, float lr, float out[2],
                        cl_event *done);

// Called after every step of trainer_run_epoch (1-based epoch and step; running sample-weighted
// means; samples per second of this epoch so far; seconds left in the epoch at that rate).
typedef struct {
    int epoch, epochs, step, steps;
    double loss, mae, rate, eta;
} trainer_step_info;

typedef struct {
    const volatile sig_atomic_t *stop; // nonzero: finish the current step and stop (may be NULL)
    void (*on_step)(void *user, const trainer_step_info *info); // may be NULL
    void *user;
    int64_t nan_step; // test hook: the loss of this global step (0-based) becomes NaN; -1 = off
    // 1: the synchronous schedule: each step's loss is read and checked before its update and
    // the next step, and fresh data is drawn at each epoch's start. 0 (the default): step k+1 is
    // queued before step k's loss is checked (the host never waits for an empty queue during an
    // epoch), and the next epoch's fresh data is drawn on a host thread and uploaded into a
    // second pair of buffers while this one trains. Both give bit-identical runs.
    int sync;
    // Data-parallel training over processes (include/train/dist.h; NULL: one process). Each
    // process runs its contiguous share of every global batch of `batch` samples on its own
    // net, whose batch norm and gradients are the whole batch's (net_set_split); the run's
    // progress, losses and validation are the same on every process. The schedule is the
    // default one (sync is ignored). The trainer sets split->global_rows before each forward.
    batch_split *split;
} trainer_options;

// The outcome of trainer_step and trainer_run_epoch.
typedef enum {
    TRAINER_STEP_DONE,  // a step inside an epoch
    TRAINER_EPOCH_DONE, // the step ended an epoch: BN re-estimated, validated, progress advanced
    TRAINER_STOPPED,    // the stop flag was seen mid-epoch: the progress is saveable and resumable
    TRAINER_DIVERGED,   // the loss was not finite: the run cannot go on. Synchronous schedule: that step
                        // was not applied. Default: it and the step after it were (the net is past the
                        // last good state; pixloc train saves nothing then)
    TRAINER_FINISHED    // every epoch is done; nothing was run
} trainer_status;

typedef struct {
    int epoch;                // 1-based epoch of the last step
    int step;                 // 1-based step in that epoch
    double loss, mae;         // epoch means (EPOCH_DONE) or the step's loss (DIVERGED)
    double val_loss, val_mae; // NaN without a validation split
    double seconds, rate;     // the epoch's wall time and samples per second
    int is_best;              // the epoch improved the best validation loss (train loss without val)
} trainer_epoch_result;

typedef struct trainer trainer;

// Loads (s->data) or generates the dataset and splits it; checks that the training split holds
// at least one batch (exits with a usage error otherwise, as `pixloc train` reports it). The
// settings are copied; a loaded dataset's recipe and size replace s's. No device is used yet.
trainer *trainer_create(const train_settings *s, const trainer_options *o);
// Creates the net on c, uploads the dataset (exits with advice when it does not fit) and starts
// a fresh run: weights and the shuffling and fresh-data streams from the seed.
void trainer_attach(trainer *t, ocl_ctx *c);
// Continues the run of a checkpoint (after trainer_attach): weights, Adam state, position and
// random streams. Returns -1 with a message in err.
int trainer_resume(trainer *t, const char *ckpt_path, char *err, size_t errlen);
// The line a resume logs ("resuming CKPT at epoch E step S", 1-based epoch): trainer_resume's,
// and train's for a finished run it resumes without a device.
void trainer_log_resume(const char *ckpt_path, int64_t epochs_done, int64_t step_in_epoch);
// Runs the next step of the run (starting the epoch when at its beginning). For EPOCH_DONE,
// DIVERGED and STOPPED, *r (may be NULL) says how it went. In the default schedule a
// STEP_DONE leaves that step in flight: its loss is checked (and the progress and the
// callback updated) in the next call, or by trainer_drain; the last step of an epoch is
// drained before EPOCH_DONE.
trainer_status trainer_step(trainer *t, trainer_epoch_result *r);
// Waits for the step in flight, if any, and counts it: STEP_DONE, or DIVERGED (with *r).
trainer_status trainer_drain(trainer *t, trainer_epoch_result *r);
// Runs steps to the end of the current epoch, checking the stop flag after each (a stop drains
// the step in flight first, so a STOPPED run's progress matches its net).
trainer_status trainer_run_epoch(trainer *t, trainer_epoch_result *r);
// Whether the run should stop: the stop flag, or with a split, the flag of any process as the
// processes agreed at the last step (every process gets the same answer at the same step).
int trainer_should_stop(const trainer *t);
// Saves the net and the run's progress (a resumable checkpoint) atomically; not with a step
// in flight (after EPOCH_DONE, STOPPED or trainer_drain).
// Sets the history row trainer_save puts in the checkpoint beside the epoch it describes.
void trainer_set_history_row(trainer *t, const char *row);
int trainer_save(const trainer *t, const char *path, char *err, size_t errlen);
void trainer_free(trainer *t);

const train_settings *trainer_settings(const trainer *t);
const train_progress *trainer_progress(const trainer *t);
net *trainer_net(const trainer *t);
const dataset *trainer_dataset(const trainer *t);
const splits *trainer_splits(const trainer *t);
int trainer_steps_per_epoch(const trainer *t);
// The most samples this process's net takes at once: the batch, or with a split its share.
int trainer_local_batch(const trainer *t);
// Fresh-data buffer pairs: 2 when the next epoch is drawn while this one trains, 1 when each
// epoch's data is drawn at its start, 0 without fresh data.
int trainer_fresh_pairs(const trainer *t);
// Training time of the run so far (earlier sessions of a resumed run included).
double trainer_seconds(const trainer *t);

#endif
