// The trainer; see include/train/trainer.h.
#include "trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "pixloc.h"

struct trainer {
    train_settings s;
    trainer_options o;
    dataset d;
    splits sp;
    ocl_ctx *c;
    net *nt;
    cl_mem img_all, hm_all; // whole dataset (val/test and, without fresh data, train)
    cl_mem img_tr, hm_tr;   // fresh training data (or the same as *_all)
    float *fresh_img, *fresh_hm;
    int32_t *fresh_xy;
    int64_t *order, *perm;
    rng_state shuffle_rng, data_rng;
    train_progress tp;
    int steps; // per epoch
    // The epoch under way.
    int in_epoch, epoch, st;
    double sum_loss, sum_mae, ep_t0;
    int64_t count;
    int done_samples;
    int clock_started;
    double t0; // training start, less the seconds of the run before a resume
};

int train_settings_preset(train_settings *s, const char *name) {
    if (strcmp(name, "seed") != 0 && strcmp(name, "default") != 0) return -1;
    memset(s, 0, sizeof *s);
    recipe_default(&s->rec);
    net_config_seed(&s->net);
    s->seed = 42;
    s->samples = 15000;
    s->batch = 64;
    s->test_frac = 0.2;
    s->val_frac = 0.1;
    s->lr_min_frac = 0.01;
    if (strcmp(name, "seed") == 0) {
        snprintf(s->preset, sizeof s->preset, "seed");
        s->epochs = 75;
        s->lr = 1e-3;
        snprintf(s->lr_schedule, sizeof s->lr_schedule, "constant");
    } else {
        snprintf(s->preset, sizeof s->preset, "default");
        int ch[5] = {16, 32, 64, 32, 16};
        memcpy(s->net.channels, ch, sizeof ch);
        s->epochs = 5;
        s->lr = 3e-3;
        snprintf(s->lr_schedule, sizeof s->lr_schedule, "cosine");
        s->net.head_bias_init = -4.0f;
        s->net.bn_momentum = 0.9f;
        s->bn_reestimate = 20;
        s->fresh_data = 1;
    }
    return 0;
}

double train_lr_at(const train_settings *s, int64_t step, int64_t total) {
    if (strcmp(s->lr_schedule, "cosine") != 0 || total <= 1) return s->lr;
    double t = (double)step / (double)(total - 1);
    if (t > 1) t = 1;
    return s->lr * (s->lr_min_frac + (1 - s->lr_min_frac) * 0.5 * (1 + cos(M_PI * t)));
}

int train_step(net *n, int N, cl_mem img, cl_mem hm, const int64_t *idx, float lr, int inject_nan, float *loss,
               float *mae) {
    float l, m;
    net_gather(n, N, img, hm, idx);
    net_forward(n, N, 1);
    net_loss(n, N, &l, &m);
    if (inject_nan) l = NAN;
    if (loss) *loss = l;
    if (mae) *mae = m;
    if (!isfinite(l)) return -1;
    net_backward(n, N);
    net_adam_step(n, lr);
    return 0;
}

static void fill_heatmaps(float *hm, const int32_t *coords, int n, int H, int W, double sigma) {
    for (int i = 0; i < n; i++)
        heatmap_fill(hm + (size_t)i * H * W, H, W, coords[(size_t)2 * i], coords[(size_t)2 * i + 1], sigma);
}

trainer *trainer_create(const train_settings *s, const trainer_options *o) {
    trainer *t = px_calloc(1, sizeof *t, "trainer");
    t->s = *s;
    if (o)
        t->o = *o;
    else
        t->o.nan_step = -1;
    double t0 = px_now();
    char err[1024];
    if (t->s.data[0]) {
        if (dataset_load(&t->d, t->s.data, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        t->s.rec = t->d.rec;
        t->s.samples = t->d.N;
    } else {
        dataset_generate(&t->d, &t->s.rec, t->s.samples, t->s.seed);
    }
    dataset_split(t->d.N, t->s.seed, t->s.test_frac, t->s.val_frac, &t->sp);
    if (t->sp.n_train < 1) {
        int need = t->d.N + 1; // the smallest dataset whose split leaves a training sample
        for (;; need++) {
            splits probe;
            dataset_split(need, t->s.seed, t->s.test_frac, t->s.val_frac, &probe);
            int n = probe.n_train;
            splits_free(&probe);
            if (n >= 1) break;
        }
        px_die(PX_EXIT_USAGE, "the dataset has %d samples: too few for a training split (need at least %d)", t->d.N,
               need);
    }
    if (t->s.batch > t->sp.n_train)
        px_die(PX_EXIT_USAGE,
               "--batch-size %d is larger than the training split (%d samples of %d); use "
               "--batch-size %d or more --samples",
               t->s.batch, t->sp.n_train, t->d.N, t->sp.n_train);
    px_log("data: %d samples of %dx%d (%s), train %d / val %d / test %d, %.2fs", t->d.N, t->d.H, t->d.W,
           t->s.data[0] ? t->s.data : "generated", t->sp.n_train, t->sp.n_val, t->sp.n_test, px_now() - t0);
    if (t->s.fresh_data)
        px_log("training on fresh synthetic images every epoch (%d per epoch, drawn from the data's recipe)%s",
               t->sp.n_train,
               t->s.data[0] ? ": the file's own training split is not used (--no-fresh-data uses it)" : "");
    t->steps = (t->sp.n_train + t->s.batch - 1) / t->s.batch;
    t->order = px_malloc((size_t)t->sp.n_train * sizeof(int64_t), "order");
    t->perm = px_malloc((size_t)t->sp.n_train * sizeof(int64_t), "permutation");
    return t;
}

// The whole dataset lives on the device (uploaded once); if it does not fit, the remedy is fewer
// samples, not a smaller batch. Heatmaps are computed once on the host (in double, as the seed did).
static void upload_dataset(trainer *t) {
    ocl_ctx *c = t->c;
    const dataset *d = &t->d;
    size_t hw = (size_t)d->H * d->W, dbytes = (size_t)d->N * hw * sizeof(float);
    t->img_all = ocl_buffer_try(c, "dataset images", dbytes);
    t->hm_all = t->img_all ? ocl_buffer_try(c, "dataset heatmaps", dbytes) : NULL;
    if (!t->hm_all)
        px_die(PX_EXIT_FAIL,
               "the dataset (%d images of %dx%d, %.1f MiB for images and as much for heatmaps) does not fit "
               "on %s (largest allocation %.1f MiB, global memory %.1f MiB): use fewer --samples (at most "
               "about %zu)",
               d->N, d->H, d->W, (double)dbytes / (1 << 20), c->device_name, (double)ocl_alloc_cap(c) / (1 << 20),
               (double)c->global_mem / (1 << 20), ocl_alloc_cap(c) / (hw * sizeof(float)));
    float *hm = px_malloc(dbytes, "heatmaps");
    fill_heatmaps(hm, d->coords, d->N, d->H, d->W, t->s.rec.sigma);
    ocl_write(c, t->img_all, 0, d->images, dbytes);
    ocl_write(c, t->hm_all, 0, hm, dbytes);
    free(hm);
    if (t->s.fresh_data) {
        size_t nb = (size_t)t->sp.n_train * hw * sizeof(float);
        t->img_tr = ocl_buffer(c, "fresh training images", nb);
        t->hm_tr = ocl_buffer(c, "fresh training heatmaps", nb);
        t->fresh_img = px_malloc(nb, "fresh images");
        t->fresh_hm = px_malloc(nb, "fresh heatmaps");
        t->fresh_xy = px_malloc((size_t)t->sp.n_train * 2 * sizeof(int32_t), "fresh coords");
    } else {
        t->img_tr = t->img_all;
        t->hm_tr = t->hm_all;
    }
}

void trainer_attach(trainer *t, ocl_ctx *c) {
    t->c = c;
    t->nt = net_create(c, &t->s.net, t->d.H, t->d.W, t->s.batch);
    upload_dataset(t);
    memset(&t->tp, 0, sizeof t->tp);
    t->tp.best_val_loss = INFINITY;
    t->tp.best_epoch = 0;
    rng_state init_rng;
    rng_seed(&init_rng, t->s.seed);
    net_init(t->nt, &init_rng);
    // Distinct streams for shuffling and fresh data, derived from the seed.
    rng_seed(&t->shuffle_rng, t->s.seed ^ 0x5eed5eedu);
    rng_seed(&t->data_rng, t->s.seed ^ 0xda7a0001u);
}

int trainer_resume(trainer *t, const char *ckpt_path, char *err, size_t errlen) {
    if (checkpoint_load(ckpt_path, t->nt, &t->tp, err, errlen) != 0) return -1;
    if (t->tp.step_in_epoch >= t->steps) {
        snprintf(err, errlen,
                 "%s: the checkpoint is at step %lld of an epoch of %d steps: damaged, or not made "
                 "with these settings",
                 ckpt_path, (long long)t->tp.step_in_epoch, t->steps);
        return -1;
    }
    rng_load(&t->shuffle_rng, t->tp.shuffle_rng);
    rng_load(&t->data_rng, t->tp.data_rng);
    t->in_epoch = 0;
    char note[4096];
    if (checkpoint_device_note(ckpt_path, t->nt, note, sizeof note)) px_warn("%s", note);
    px_log("resuming %s at epoch %lld step %lld", ckpt_path, (long long)t->tp.epoch + 1,
           (long long)t->tp.step_in_epoch);
    return 0;
}

// Validation loss/MAE over idx (BN inference mode), sample-weighted like Keras.
static void validate(trainer *t, const int64_t *idx, int n, double *loss, double *mae) {
    double sl = 0, sm = 0;
    int B = t->s.batch;
    for (int s = 0; s < n; s += B) {
        int N = n - s < B ? n - s : B;
        net_gather(t->nt, N, t->img_all, t->hm_all, idx + s);
        net_forward(t->nt, N, 0);
        float l, m;
        net_loss(t->nt, N, &l, &m);
        sl += (double)l * N;
        sm += (double)m * N;
    }
    *loss = n ? sl / n : NAN;
    *mae = n ? sm / n : NAN;
}

static void bn_reestimate(trainer *t) {
    int B = t->s.batch, n_train = t->sp.n_train;
    if (t->s.bn_reestimate <= 0) return;
    net_bn_reestimate_begin(t->nt);
    for (int b = 0; b < t->s.bn_reestimate; b++) {
        int start = (b * B) % n_train;
        int N = n_train - start < B ? n_train - start : B;
        net_gather(t->nt, N, t->img_tr, t->hm_tr, t->order + start);
        net_forward(t->nt, N, 2);
    }
}

// Fresh data (if on) and the shuffled order of the epoch tp.epoch; a resumed partial epoch picks up
// its position and running sums.
static void begin_epoch(trainer *t) {
    int n_train = t->sp.n_train, H = t->d.H, W = t->d.W;
    size_t hw = (size_t)H * W;
    // Remember where this epoch's random streams start (for a mid-epoch checkpoint).
    rng_save(&t->shuffle_rng, t->tp.shuffle_rng);
    rng_save(&t->data_rng, t->tp.data_rng);
    if (t->s.fresh_data) {
        dataset_draw(&t->data_rng, &t->s.rec, n_train, t->fresh_img, t->fresh_xy);
        fill_heatmaps(t->fresh_hm, t->fresh_xy, n_train, H, W, t->s.rec.sigma);
        ocl_write(t->c, t->img_tr, 0, t->fresh_img, (size_t)n_train * hw * sizeof(float));
        ocl_write(t->c, t->hm_tr, 0, t->fresh_hm, (size_t)n_train * hw * sizeof(float));
    }
    rng_permutation(&t->shuffle_rng, t->perm, n_train);
    for (int i = 0; i < n_train; i++) t->order[i] = t->s.fresh_data ? t->perm[i] : t->sp.train[t->perm[i]];
    t->epoch = (int)t->tp.epoch;
    t->st = 0;
    t->sum_loss = t->sum_mae = 0;
    t->count = 0;
    if (t->tp.step_in_epoch > 0) { // resuming mid-epoch
        t->st = (int)t->tp.step_in_epoch;
        t->sum_loss = t->tp.run_loss;
        t->sum_mae = t->tp.run_mae;
        t->count = t->tp.run_count;
    }
    t->ep_t0 = px_now();
    t->done_samples = 0;
    t->in_epoch = 1;
}

// End of epoch: precise BN, validation, the progress advanced to the next epoch.
static void end_epoch(trainer *t, trainer_epoch_result *r) {
    bn_reestimate(t);
    double vl = NAN, vm = NAN;
    if (t->sp.n_val) validate(t, t->sp.val, t->sp.n_val, &vl, &vm);
    double ep_secs = px_now() - t->ep_t0;
    trainer_epoch_result e = {.epoch = t->epoch + 1,
                              .step = t->steps,
                              .loss = t->sum_loss / t->count,
                              .mae = t->sum_mae / t->count,
                              .val_loss = vl,
                              .val_mae = vm,
                              .seconds = ep_secs,
                              .rate = t->done_samples / (ep_secs > 1e-9 ? ep_secs : 1e-9)};
    train_progress *tp = &t->tp;
    tp->epoch = t->epoch + 1;
    tp->step_in_epoch = 0;
    tp->run_loss = tp->run_mae = 0;
    tp->run_count = 0;
    rng_save(&t->shuffle_rng, tp->shuffle_rng);
    rng_save(&t->data_rng, tp->data_rng);
    tp->seconds = px_now() - t->t0;
    double crit = t->sp.n_val ? vl : e.loss;
    e.is_best = crit < tp->best_val_loss;
    if (e.is_best) {
        tp->best_val_loss = crit;
        tp->best_epoch = t->epoch + 1;
    }
    t->in_epoch = 0;
    if (r) *r = e;
}

trainer_status trainer_step(trainer *t, trainer_epoch_result *r) {
    if (!t->clock_started) {
        t->t0 = px_now() - t->tp.seconds;
        t->clock_started = 1;
    }
    if (!t->in_epoch) {
        if (t->tp.epoch >= t->s.epochs) return TRAINER_FINISHED;
        begin_epoch(t);
    }
    int B = t->s.batch, n_train = t->sp.n_train, st = t->st;
    int start = st * B;
    int N = n_train - start < B ? n_train - start : B;
    int64_t step_no = (int64_t)t->epoch * t->steps + st; // global step, for the schedule
    int64_t total = (int64_t)t->steps * t->s.epochs;
    int inject = t->o.nan_step >= 0 && step_no == t->o.nan_step;
    float l, m;
    if (train_step(t->nt, N, t->img_tr, t->hm_tr, t->order + start, (float)train_lr_at(&t->s, step_no, total), inject,
                   &l, &m) != 0) {
        if (r) *r = (trainer_epoch_result){.epoch = t->epoch + 1, .step = st + 1, .loss = l, .mae = m};
        return TRAINER_DIVERGED;
    }
    t->sum_loss += (double)l * N;
    t->sum_mae += (double)m * N;
    t->count += N;
    t->done_samples += N;
    t->st = st + 1;
    t->tp.step_in_epoch = t->st;
    t->tp.run_loss = t->sum_loss;
    t->tp.run_mae = t->sum_mae;
    t->tp.run_count = t->count;
    if (t->o.on_step) {
        double el = px_now() - t->ep_t0;
        double rate = t->done_samples / (el > 1e-9 ? el : 1e-9);
        trainer_step_info info = {
            t->epoch + 1,           t->s.epochs,           st + 1, t->steps,
            t->sum_loss / t->count, t->sum_mae / t->count, rate,   (n_train - start - N) / (rate > 0 ? rate : 1)};
        t->o.on_step(t->o.user, &info);
    }
    if (t->st == t->steps) {
        end_epoch(t, r);
        return TRAINER_EPOCH_DONE;
    }
    return TRAINER_STEP_DONE;
}

trainer_status trainer_run_epoch(trainer *t, trainer_epoch_result *r) {
    for (;;) {
        trainer_status st = trainer_step(t, r);
        if (st != TRAINER_STEP_DONE) return st;
        if (t->o.stop && *t->o.stop) {
            t->tp.seconds = px_now() - t->t0;
            if (r) *r = (trainer_epoch_result){.epoch = t->epoch + 1, .step = t->st, .loss = NAN, .mae = NAN};
            return TRAINER_STOPPED;
        }
    }
}

void trainer_set_history_row(trainer *t, const char *row) {
    snprintf(t->tp.history_row, sizeof t->tp.history_row, "%s", row);
}

int trainer_save(const trainer *t, const char *path, char *err, size_t errlen) {
    return checkpoint_save(path, t->nt, &t->s, &t->tp, err, errlen);
}

void trainer_free(trainer *t) {
    if (!t) return;
    if (t->s.fresh_data) {
        ocl_free(&t->img_tr);
        ocl_free(&t->hm_tr);
    }
    ocl_free(&t->img_all);
    ocl_free(&t->hm_all);
    free(t->fresh_img);
    free(t->fresh_hm);
    free(t->fresh_xy);
    free(t->order);
    free(t->perm);
    if (t->nt) net_free(t->nt);
    splits_free(&t->sp);
    dataset_free(&t->d);
    free(t);
}

const train_settings *trainer_settings(const trainer *t) { return &t->s; }
const train_progress *trainer_progress(const trainer *t) { return &t->tp; }
net *trainer_net(const trainer *t) { return t->nt; }
const dataset *trainer_dataset(const trainer *t) { return &t->d; }
const splits *trainer_splits(const trainer *t) { return &t->sp; }
int trainer_steps_per_epoch(const trainer *t) { return t->steps; }
double trainer_seconds(const trainer *t) { return t->clock_started ? px_now() - t->t0 : t->tp.seconds; }
