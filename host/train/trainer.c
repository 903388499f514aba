// The trainer; see include/train/trainer.h.
#include "trainer.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "pixloc.h"

// A step whose loss is still on its way back (the pipelined schedule): its ring slot.
typedef struct {
    float *out;    // MSE, MAE, once done completes (in the trainer's pinned loss_host)
    cl_event done; // the loss's non-blocking read
    int st, N;     // 0-based step in the epoch, batch size
    int64_t step_no;
} pending_step;

// One epoch of fresh training data, on the host and on the device.
typedef struct {
    float *img, *hm;          // (n_train, H, W) host copies (the upload's source)
    ocl_host_mem img_h, hm_h; // where img and hm live (pinned when the driver allows)
    int32_t *xy;              // (n_train, 2) bright-pixel coordinates
    cl_mem d_img, d_hm;
    cl_event up[2]; // the uploads of img and hm (the host copies are busy until they complete)
} fresh_pair;

struct trainer {
    train_settings s;
    trainer_options o;
    dataset d;
    splits sp;
    ocl_ctx *c;
    net *nt;
    cl_mem img_all, hm_all; // whole dataset (val/test and, without fresh data, train)
    cl_mem img_tr, hm_tr;   // the epoch's training data: a fresh pair's, or the same as *_all
    // Fresh data, double-buffered: epoch e trains on pair[cur] while a host thread draws epoch
    // e+1 into the other pair (npairs 2; 1 under the synchronous schedule or when two do not fit).
    fresh_pair pair[2];
    int npairs, cur;
    pthread_t gen; // the thread drawing the next epoch (while gen_on)
    int gen_on, gen_slot, gen_uploaded;
    atomic_int gen_done; // set by the thread when pair[gen_slot]'s host copies are complete
    rng_state gen_rng;   // the thread's copy of data_rng: at the next epoch's start, then after it
    int64_t *order, *perm;
    cl_mem rows, val_rows;  // (n_train), (n_val) int64: the epoch's order and the validation rows
    cl_event rows_up;       // the order's upload (order is busy until it completes)
    pending_step pend[2];   // ring of two: step k in pend[k & 1]
    ocl_host_mem loss_host; // 4 floats: pend[0].out, pend[1].out
    int pending;            // the step in flight whose loss is unchecked, -1 if none
    rng_state shuffle_rng, data_rng;
    train_progress tp;
    int steps;    // per epoch
    int lb;       // the most samples of a batch this process takes (the batch, or its share of a split)
    int stop_any; // with a split: some process's stop flag was set, as agreed at the last step
    // The epoch under way.
    int in_epoch, epoch, st;
    double sum_loss, sum_mae, ep_t0;
    int64_t count;
    int done_samples;
    int clock_started;
    double t0; // training start, less the seconds of the run before a resume
};

#define ACCURATE_EPOCHS    20
#define PRESET_LABEL_SIGMA 0.8

int train_settings_preset(train_settings *s, const char *name) {
    int accurate = strcmp(name, "accurate") == 0;
    if (strcmp(name, "seed") != 0 && strcmp(name, "default") != 0 && !accurate) return -1;
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
        // The impulse filter on half the training images (docs/accuracy.md): on the recipe's float
        // images the model gets the filter's gain; on 8-bit ones (where the filter finds nothing)
        // it does as well as a model trained without the filter.
        s->net.input_filter = NET_FILTER_IMPULSE;
        s->net.filter_fraction = 0.5f;
        // Targets 0.8 px wide, not the data's 1.8 (docs/accuracy.md: sigma 2.4, 1.8, 1.3, 1.0, 0.8
        // and 0.6 measured; a sharper peak moved exact hits from 89% to 91% and halved far misses).
        s->label_sigma = PRESET_LABEL_SIGMA;
        if (accurate) { // docs/accuracy.md: the search that chose it
            snprintf(s->preset, sizeof s->preset, "accurate");
            s->epochs = ACCURATE_EPOCHS;
            s->net.filter_fraction = 1.0f;
        }
    }
    return 0;
}

double train_lr_at(const train_settings *s, int64_t step, int64_t total) {
    if (strcmp(s->lr_schedule, "cosine") != 0 || total <= 1) return s->lr;
    double t = (double)step / (double)(total - 1);
    if (t > 1) t = 1;
    return s->lr * (s->lr_min_frac + (1 - s->lr_min_frac) * 0.5 * (1 + cos(M_PI * t)));
}

// The step's two halves, shared by both schedules: the batch and the forward pass in
// training mode; the backward pass and the Adam step.
static void step_forward(net *n, int N, cl_mem img, cl_mem hm, cl_mem rows, size_t first) {
    net_gather_rows(n, N, img, hm, rows, first);
    net_forward(n, N, BN_TRAINING);
}

static void step_update(net *n, int N, float lr) {
    net_backward(n, N);
    net_adam_step(n, lr);
}

int train_step(net *n, int N, cl_mem img, cl_mem hm, cl_mem rows, size_t first, float lr, int inject_nan, float *loss,
               float *mae) {
    float l, m;
    step_forward(n, N, img, hm, rows, first);
    net_loss(n, N, &l, &m);
    if (inject_nan) l = NAN;
    if (loss) *loss = l;
    if (mae) *mae = m;
    if (!isfinite(l)) return -1;
    step_update(n, N, lr);
    return 0;
}

void train_step_enqueue(net *n, int N, cl_mem img, cl_mem hm, cl_mem rows, size_t first, float lr, float out[2],
                        cl_event *done) {
    step_forward(n, N, img, hm, rows, first);
    net_loss_enqueue(n, N, out, done);
    step_update(n, N, lr);
}

static void fill_heatmaps(float *hm, const int32_t *coords, int n, int H, int W, double sigma) {
    for (int i = 0; i < n; i++)
        heatmap_fill(hm + (size_t)i * H * W, H, W, coords[(size_t)2 * i], coords[(size_t)2 * i + 1], sigma);
}

// ---- a batch split across processes (trainer_options.split) ----

// This process's rows of the global batch of N rows from row `start`: sets *first and returns the
// count (process p of K takes N/K rows, one more when p < N % K, after processes 0..p-1); sets
// the split's global_rows. Without a split, the whole batch.
static int my_share(trainer *t, int N, int start, size_t *first) {
    batch_split *s = t->o.split;
    *first = (size_t)start;
    if (!s) return N;
    int K = s->nprocs, q = N / K, r = N % K, me = s->rank;
    *first += (size_t)me * (size_t)q + (size_t)(me < r ? me : r);
    s->global_rows = N;
    return q + (me < r);
}

// Every batch the run takes (training steps and BN re-estimation) must give each process a row.
static void check_split(trainer *t) {
    int K = t->o.split->nprocs, B = t->s.batch, n_train = t->sp.n_train;
    int smallest = n_train - (t->steps - 1) * B; // the epoch's last batch
    for (int b = 0; b < t->s.bn_reestimate; b++) {
        int start = (int)((int64_t)b * B % n_train), N = n_train - start < B ? n_train - start : B;
        if (N < smallest) smallest = N;
    }
    if (smallest < K)
        px_die(PX_EXIT_USAGE,
               "%d processes need at least %d samples in every batch, but with %d training samples and "
               "--batch-size %d a batch has %d: change --batch-size or --samples, or run fewer processes",
               K, K, n_train, B, smallest);
    t->o.sync = 0; // the pipelined schedule only: its loss check is the processes' agreement point
    t->lb = (B + K - 1) / K;
    t->o.split->max_rows = B;
    px_log("data parallel: %d processes, this one (%d) takes %d of each batch of %d", K, t->o.split->rank,
           B / K + (t->o.split->rank < B % K), B);
}

// The step's loss and MAE over the whole batch (sample-weighted, summed in process order) and
// whether any process wants to stop, from every process's (loss, MAE, rows, stop); returns the
// whole batch's rows. The same on every process.
static int combine_loss(trainer *t, int N, float *l, float *m) {
    const batch_split *s = t->o.split;
    float mine[4] = {*l, *m, (float)N, (float)(t->o.stop && *t->o.stop)},
          *all = px_malloc((size_t)s->nprocs * sizeof mine, "losses");
    int k = s->gather(s, mine, 1, 4, all);
    double sl = 0, sm = 0;
    int n = 0;
    for (int r = 0; r < k; r++) {
        const float *p = all + (size_t)4 * r; // process r's loss, MAE, rows, stop
        sl += (double)p[0] * p[2];
        sm += (double)p[1] * p[2];
        n += (int)p[2];
        if (p[3] != 0) t->stop_any = 1;
    }
    free(all);
    *l = (float)(sl / n);
    *m = (float)(sm / n);
    return n;
}

// Every process must hold the same weights and BN statistics (the same gathered sums, added in
// the same order): checked at each epoch's end by a hash of every tensor's bits, so that a
// divergence (a bug, never rounding) stops the run instead of training K different models.
static void check_same_weights(trainer *t) {
    const batch_split *s = t->o.split;
    uint32_t h = 2166136261u; // FNV-1a over the bytes of every tensor
    for (int i = 0; i < net_tensor_count(t->nt); i++) {
        const net_tensor *nt = net_tensor_at(t->nt, i);
        float *v = px_malloc(nt->count * sizeof(float), "weights check");
        net_get_tensor(t->nt, i, v);
        const unsigned char *b = (const unsigned char *)v;
        for (size_t k = 0; k < nt->count * sizeof(float); k++) h = (h ^ b[k]) * 16777619u;
        free(v);
    }
    float mine, *all = px_malloc((size_t)s->nprocs * sizeof(float), "weights check");
    memcpy(&mine, &h, sizeof mine); // the bits travel as a float (MPI copies them unchanged)
    int k = s->gather(s, &mine, 1, 1, all);
    uint32_t h0, hr;
    memcpy(&h0, &all[0], sizeof h0); // every process compares the same hashes: all stop or none
    for (int r = 1; r < k; r++) {
        memcpy(&hr, &all[r], sizeof hr);
        if (hr != h0)
            px_die(PX_EXIT_FAIL,
                   "data parallel: after epoch %d process %d holds other weights than process 0: the processes "
                   "have diverged (a bug: please report it with the command line)",
                   t->epoch + 1, r);
    }
    free(all);
}

int trainer_should_stop(const trainer *t) { return t->o.split ? t->stop_any : t->o.stop && *t->o.stop; }

trainer *trainer_create(const train_settings *s, const trainer_options *o) {
    trainer *t = px_calloc(1, sizeof *t, "trainer");
    t->s = *s;
    if (o)
        t->o = *o;
    else
        t->o.nan_step = -1;
    t->pending = -1;
    double t0 = px_now();
    char err[1024];
    if (t->s.data[0]) {
        if (dataset_load(&t->d, t->s.data, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        t->s.rec = t->d.rec;
        t->s.samples = t->d.N;
    } else {
        dataset_generate(&t->d, &t->s.rec, t->s.samples, t->s.seed);
    }
    if (t->s.label_sigma > 0) t->s.rec.sigma = t->s.label_sigma; // the targets' width is a training setting
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
    // Fresh images come from the file's recipe; an imported file's recipe fields describe nothing.
    if (t->s.fresh_data && dataset_imported(&t->d))
        px_die(PX_EXIT_USAGE,
               "--fresh-data draws synthetic images from the recipe of a generated dataset, but %s was made by "
               "'pixloc import' (its images have no recipe): train on its own images (drop --fresh-data)",
               t->s.data);
    px_log("data: %d samples of %dx%d (%s), train %d / val %d / test %d, %.2fs", t->d.N, t->d.H, t->d.W,
           t->s.data[0] ? t->s.data : "generated", t->sp.n_train, t->sp.n_val, t->sp.n_test, px_now() - t0);
    if (t->s.fresh_data)
        px_log("training on fresh synthetic images every epoch (%d per epoch, drawn from the data's recipe)%s",
               t->sp.n_train,
               t->s.data[0] ? ": the file's own training split is not used (--no-fresh-data uses it)" : "");
    t->steps = (t->sp.n_train + t->s.batch - 1) / t->s.batch;
    t->lb = t->s.batch;
    if (t->o.split) check_split(t);
    t->order = px_malloc((size_t)t->sp.n_train * sizeof(int64_t), "order");
    t->perm = px_malloc((size_t)t->sp.n_train * sizeof(int64_t), "permutation");
    return t;
}

// What upload_dataset does with each row of the dataset (row_uses).
enum { ROW_FILTERED = 0, ROW_RAW = 1, ROW_UNUSED = 2 };

// Each row's use: with fresh data the file's training split is never read on the device (the
// epochs' images are drawn), so its rows get neither the filter nor heatmaps (their heatmaps stay
// zero, their images raw); without it, a filter fraction below 1 keeps the training images that
// input_filter_selects does not choose (by their place in the split) raw. Validation and test
// images are filtered, as at inference (upload_images: where there is a filter).
static unsigned char *row_uses(const trainer *t) {
    unsigned char *use = px_calloc((size_t)t->d.N, 1, "row uses");
    for (int k = 0; k < t->sp.n_train; k++)
        if (t->s.fresh_data)
            use[t->sp.train[k]] = ROW_UNUSED;
        else if (!input_filter_selects(t->s.net.filter_fraction, (size_t)k))
            use[t->sp.train[k]] = ROW_RAW;
    return use;
}

// The dataset's images to img_all, through the model's input filter where `use` says so (a chunk
// at a time, on a copy: the host images stay as they are for scoring, where net_set_batch
// filters them).
static void upload_images(trainer *t, const float *images, int n, const unsigned char *use) {
    size_t hw = (size_t)t->d.H * t->d.W;
    const net_config *cfg = &t->s.net;
    if (cfg->input_filter == NET_FILTER_NONE) {
        ocl_write(t->c, t->img_all, 0, images, (size_t)n * hw * sizeof(float));
        return;
    }
    enum { CHUNK = 512 };
    float *buf = px_malloc(CHUNK * hw * sizeof(float), "filtered images");
    size_t pixels = 0, left = 0, kept_raw = 0, unused = 0;
    for (int s = 0; s < n; s += CHUNK) {
        int m = n - s < CHUNK ? n - s : CHUNK;
        memcpy(buf, images + (size_t)s * hw, (size_t)m * hw * sizeof(float));
        for (int i = 0; i < m; i++) {
            if (use[s + i] != ROW_FILTERED) {
                kept_raw += use[s + i] == ROW_RAW;
                unused += use[s + i] == ROW_UNUSED;
                continue;
            }
            size_t l;
            pixels += input_filter_apply(cfg->input_filter, buf + (size_t)i * hw, 1, t->d.H, t->d.W, &l);
            left += l;
        }
        ocl_write(t->c, t->img_all, (size_t)s * hw * sizeof(float), buf, (size_t)m * hw * sizeof(float));
    }
    free(buf);
    char raw_note[64] = "";
    if (kept_raw) snprintf(raw_note, sizeof raw_note, "%zu training images kept raw by --filter-fraction; ", kept_raw);
    size_t nf = (size_t)n - kept_raw - unused;
    px_log("input filter %s: %zu pixels replaced in %zu of %zu %simages (%sthe others have no single repeated value)",
           input_filter_name(cfg->input_filter), pixels, nf - left, (size_t)n - unused,
           unused ? "validation and test " : "", raw_note);
}

// The model's input filter on an epoch's n fresh training images: those input_filter_selects
// chooses by their place in the epoch.
static void filter_fresh(const net_config *cfg, float *img, int n, int H, int W) {
    size_t hw = (size_t)H * W;
    for (int k = 0; k < n; k++)
        if (input_filter_selects(cfg->filter_fraction, (size_t)k))
            input_filter_apply(cfg->input_filter, img + (size_t)k * hw, 1, H, W, NULL);
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
    unsigned char *use = row_uses(t);
    float *hm = px_calloc(dbytes, 1, "heatmaps");
    for (int i = 0; i < d->N; i++)
        if (use[i] != ROW_UNUSED)
            fill_heatmaps(hm + (size_t)i * hw, d->coords + (size_t)2 * i, 1, d->H, d->W, t->s.rec.sigma);
    upload_images(t, d->images, d->N, use);
    ocl_write(c, t->hm_all, 0, hm, dbytes);
    free(hm);
    free(use);
    if (t->s.fresh_data) {
        size_t nb = (size_t)t->sp.n_train * hw * sizeof(float);
        // A second pair lets the next epoch's data be drawn and uploaded while this one trains;
        // without room for it, each epoch's data is drawn at its start.
        int want = t->o.sync || t->s.epochs < 2 ? 1 : 2;
        for (int i = 0; i < want; i++) {
            fresh_pair *p = &t->pair[i];
            if (i == 0) {
                p->d_img = ocl_buffer(c, "fresh training images", nb);
                p->d_hm = ocl_buffer(c, "fresh training heatmaps", nb);
            } else {
                p->d_img = ocl_buffer_try(c, "fresh training images (next epoch)", nb);
                p->d_hm = p->d_img ? ocl_buffer_try(c, "fresh training heatmaps (next epoch)", nb) : NULL;
                if (!p->d_hm) {
                    ocl_free(&p->d_img);
                    px_log("fresh data: no room on %s for a second pair of training buffers (%.1f MiB): each "
                           "epoch's images are drawn at its start",
                           c->device_name, 2.0 * (double)nb / (1 << 20));
                    break;
                }
            }
            p->img = ocl_host_alloc(c, &p->img_h, nb, "fresh images");
            p->hm = ocl_host_alloc(c, &p->hm_h, nb, "fresh heatmaps");
            p->xy = px_malloc((size_t)t->sp.n_train * 2 * sizeof(int32_t), "fresh coords");
            t->npairs = i + 1;
        }
    } else {
        t->img_tr = t->img_all;
        t->hm_tr = t->hm_all;
    }
    t->rows = ocl_buffer(c, "epoch order", (size_t)t->sp.n_train * sizeof(int64_t));
    t->val_rows = ocl_buffer(c, "validation rows", (size_t)t->sp.n_val * sizeof(int64_t));
    ocl_write(c, t->val_rows, 0, t->sp.val, (size_t)t->sp.n_val * sizeof(int64_t));
    float *loss = ocl_host_alloc(c, &t->loss_host, 4 * sizeof(float), "loss slots");
    t->pend[0].out = loss;
    t->pend[1].out = loss + 2;
}

void trainer_attach(trainer *t, ocl_ctx *c) {
    t->c = c;
    t->nt = net_create(c, &t->s.net, t->d.H, t->d.W, t->lb);
    if (t->o.split) net_set_split(t->nt, t->o.split);
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
    trainer_log_resume(ckpt_path, t->tp.epoch, t->tp.step_in_epoch);
    return 0;
}

void trainer_log_resume(const char *ckpt_path, int64_t epochs_done, int64_t step_in_epoch) {
    px_log("resuming %s at epoch %lld step %lld", ckpt_path, (long long)epochs_done + 1, (long long)step_in_epoch);
}

// Validation loss/MAE over the validation rows (BN inference mode), sample-weighted like Keras.
// Each batch's loss is read without waiting; one finish at the end, then the sums in order.
// With a split, each process takes a contiguous range of the batches and all gather the losses.
static void validate(trainer *t, double *loss, double *mae) {
    int n = t->sp.n_val, B = t->lb, nb = (n + B - 1) / B;
    const batch_split *sp = t->o.split;
    int K = sp ? sp->nprocs : 1, me = sp ? sp->rank : 0;
    int b0 = (int)((int64_t)nb * me / K), b1 = (int)((int64_t)nb * (me + 1) / K);
    float *out = px_malloc((size_t)(nb ? nb : 1) * 2 * sizeof(float), "validation losses");
    float *mine = sp ? px_malloc((size_t)(nb ? nb : 1) * 2 * sizeof(float), "validation losses") : out;
    for (int b = b0; b < b1; b++) {
        int s = b * B, N = n - s < B ? n - s : B;
        net_gather_rows(t->nt, N, t->img_all, t->hm_all, t->val_rows, (size_t)s);
        net_forward(t->nt, N, BN_INFERENCE);
        net_loss_enqueue(t->nt, N, mine + (size_t)2 * (b - b0), NULL);
    }
    ocl_finish(t->c);
    if (sp) {
        sp->gather(sp, mine, b1 - b0, 2, out); // every batch's, in batch order
        free(mine);
    }
    double sl = 0, sm = 0;
    for (int b = 0; b < nb; b++) {
        int N = n - b * B < B ? n - b * B : B;
        sl += (double)out[(size_t)2 * b] * N;
        sm += (double)out[(size_t)2 * b + 1] * N;
    }
    free(out);
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
        size_t first;
        N = my_share(t, N, start, &first);
        net_gather_rows(t->nt, N, t->img_tr, t->hm_tr, t->rows, first);
        net_forward(t->nt, N, BN_REESTIMATE);
    }
}

// ---- fresh data ----

// One epoch of fresh data from g into p's host copies, and its heatmaps.
static void draw_fresh(const trainer *t, rng_state *g, fresh_pair *p) {
    dataset_draw(g, &t->s.rec, t->sp.n_train, p->img, p->xy);
    filter_fresh(&t->s.net, p->img, t->sp.n_train, t->d.H, t->d.W);
    fill_heatmaps(p->hm, p->xy, t->sp.n_train, t->d.H, t->d.W, t->s.rec.sigma);
}

// Queues the copies of p's host data to its device buffers (no wait).
static void upload_fresh(trainer *t, fresh_pair *p) {
    size_t nb = (size_t)t->sp.n_train * t->d.H * t->d.W * sizeof(float);
    ocl_write_async(t->c, p->d_img, 0, p->img, nb, &p->up[0]);
    ocl_write_async(t->c, p->d_hm, 0, p->hm, nb, &p->up[1]);
    ocl_flush(t->c);
}

// The thread's work: the next epoch's data from gen_rng (which ends after it, as data_rng would).
static void *draw_thread(void *arg) {
    trainer *t = arg;
    draw_fresh(t, &t->gen_rng, &t->pair[t->gen_slot]);
    atomic_store(&t->gen_done, 1);
    return NULL;
}

// Starts drawing the next epoch into pair `slot` on a host thread (if one cannot start, that
// epoch's data is drawn at its start instead).
static void start_prefetch(trainer *t, int slot) {
    fresh_pair *p = &t->pair[slot];
    ocl_wait(t->c, &p->up[0]); // its host copies were uploaded an epoch ago: long done
    ocl_wait(t->c, &p->up[1]);
    t->gen_rng = t->data_rng;
    t->gen_slot = slot;
    t->gen_uploaded = 0;
    atomic_store(&t->gen_done, 0);
    t->gen_on = pthread_create(&t->gen, NULL, draw_thread, t) == 0;
}

// Once the thread has drawn the next epoch, its upload is queued behind the steps in flight.
static void poll_prefetch(trainer *t) {
    if (t->gen_on && !t->gen_uploaded && atomic_load(&t->gen_done)) {
        upload_fresh(t, &t->pair[t->gen_slot]);
        t->gen_uploaded = 1;
    }
}

// Waits for the thread; data_rng takes the state it ended at. Returns the pair it filled.
static int join_prefetch(trainer *t) {
    pthread_join(t->gen, NULL);
    t->gen_on = 0;
    t->data_rng = t->gen_rng;
    if (!t->gen_uploaded) upload_fresh(t, &t->pair[t->gen_slot]);
    return t->gen_slot;
}

// This epoch's fresh data (drawn by the thread during the last epoch, or now), and the next
// epoch's started on the thread. Either way epoch e's images are the e-th draw from data_rng.
static void fresh_epoch(trainer *t) {
    int slot = t->cur;
    if (t->gen_on) {
        slot = join_prefetch(t);
    } else {
        fresh_pair *p = &t->pair[slot];
        ocl_wait(t->c, &p->up[0]);
        ocl_wait(t->c, &p->up[1]);
        draw_fresh(t, &t->data_rng, p);
        upload_fresh(t, p);
    }
    t->cur = slot;
    t->img_tr = t->pair[slot].d_img;
    t->hm_tr = t->pair[slot].d_hm;
    if (t->npairs == 2 && t->tp.epoch + 1 < t->s.epochs) start_prefetch(t, 1 - slot);
}

// ---- epochs and steps ----

// Fresh data (if on) and the shuffled order of the epoch tp.epoch, uploaded once; a resumed
// partial epoch picks up its position and running sums.
static void begin_epoch(trainer *t) {
    int n_train = t->sp.n_train;
    // Remember where this epoch's random streams start (for a mid-epoch checkpoint).
    rng_save(&t->shuffle_rng, t->tp.shuffle_rng);
    rng_save(&t->data_rng, t->tp.data_rng);
    if (t->s.fresh_data) fresh_epoch(t);
    rng_permutation(&t->shuffle_rng, t->perm, n_train);
    ocl_wait(t->c, &t->rows_up); // the last epoch's upload of order (long done)
    for (int i = 0; i < n_train; i++) t->order[i] = t->s.fresh_data ? t->perm[i] : t->sp.train[t->perm[i]];
    ocl_write_async(t->c, t->rows, 0, t->order, (size_t)n_train * sizeof(int64_t), &t->rows_up);
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
    if (t->o.split) check_same_weights(t);
    double vl = NAN, vm = NAN;
    if (t->sp.n_val) validate(t, &vl, &vm);
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

// Step st (0-based, batch N, global step step_no) has come back with loss l and MAE m: DIVERGED if
// the loss is not finite; else the running sums, the progress and the callback.
static trainer_status account(trainer *t, int st, int N, float l, float m, trainer_epoch_result *r) {
    if (!isfinite(l)) {
        if (r) *r = (trainer_epoch_result){.epoch = t->epoch + 1, .step = st + 1, .loss = l, .mae = m};
        return TRAINER_DIVERGED;
    }
    int start = st * t->s.batch, n_train = t->sp.n_train;
    t->sum_loss += (double)l * N;
    t->sum_mae += (double)m * N;
    t->count += N;
    t->done_samples += N;
    t->tp.step_in_epoch = st + 1;
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
    return TRAINER_STEP_DONE;
}

trainer_status trainer_drain(trainer *t, trainer_epoch_result *r) {
    if (t->pending < 0) return TRAINER_STEP_DONE;
    pending_step *p = &t->pend[t->pending & 1];
    t->pending = -1;
    ocl_wait(t->c, &p->done);
    float l = p->out[0], m = p->out[1];
    if (t->o.nan_step >= 0 && p->step_no == t->o.nan_step) l = NAN;
    int N = t->o.split ? combine_loss(t, p->N, &l, &m) : p->N;
    return account(t, p->st, N, l, m, r);
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
    size_t first;
    N = my_share(t, N, start, &first);
    int64_t step_no = (int64_t)t->epoch * t->steps + st; // global step, for the schedule
    int64_t total = (int64_t)t->steps * t->s.epochs;
    float lr = (float)train_lr_at(&t->s, step_no, total);
    trainer_status s;
    if (t->o.sync) { // each loss read and checked before the update and the next step
        int inject = t->o.nan_step >= 0 && step_no == t->o.nan_step;
        float l, m;
        train_step(t->nt, N, t->img_tr, t->hm_tr, t->rows, first, lr, inject, &l, &m);
        s = account(t, st, N, l, m, r);
    } else { // step st queued, then step st-1's loss (back by now) checked while st runs
        pending_step *p = &t->pend[st & 1];
        p->st = st;
        p->N = N;
        p->step_no = step_no;
        train_step_enqueue(t->nt, N, t->img_tr, t->hm_tr, t->rows, first, lr, p->out, &p->done);
        ocl_flush(t->c);
        poll_prefetch(t);
        s = trainer_drain(t, r);
        t->pending = st;
        if (s == TRAINER_STEP_DONE && st + 1 == t->steps) s = trainer_drain(t, r);
    }
    if (s != TRAINER_STEP_DONE) return s;
    t->st = st + 1;
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
        if (trainer_should_stop(t)) {
            st = trainer_drain(t, r); // the step in flight is finished and counted
            if (st != TRAINER_STEP_DONE) return st;
            t->tp.seconds = px_now() - t->t0;
            if (r)
                *r = (trainer_epoch_result){
                    .epoch = t->epoch + 1, .step = (int)t->tp.step_in_epoch, .loss = NAN, .mae = NAN};
            return TRAINER_STOPPED;
        }
    }
}

void trainer_set_history_row(trainer *t, const char *row) {
    snprintf(t->tp.history_row, sizeof t->tp.history_row, "%s", row);
}

int trainer_save(const trainer *t, const char *path, char *err, size_t errlen) {
    if (t->pending >= 0) // the net already holds the update of a step the progress does not count
        px_die(PX_EXIT_FAIL, "trainer_save: a step is in flight (call trainer_drain first)");
    return checkpoint_save(path, t->nt, &t->s, &t->tp, err, errlen);
}

void trainer_free(trainer *t) {
    if (!t) return;
    if (t->gen_on) pthread_join(t->gen, NULL); // a run stopped mid-epoch: its next epoch is not needed
    if (t->c) ocl_finish(t->c);                // nothing queued still reads a host copy freed below
    for (int i = 0; i < 2; i++) {
        fresh_pair *p = &t->pair[i];
        for (int k = 0; k < 2; k++)
            if (p->up[k]) clReleaseEvent(p->up[k]);
        if (t->pend[i].done) clReleaseEvent(t->pend[i].done);
        ocl_free(&p->d_img);
        ocl_free(&p->d_hm);
        if (p->img) ocl_host_free(t->c, &p->img_h);
        if (p->hm) ocl_host_free(t->c, &p->hm_h);
        free(p->xy);
    }
    if (t->rows_up) clReleaseEvent(t->rows_up);
    if (t->loss_host.ptr) ocl_host_free(t->c, &t->loss_host);
    ocl_free(&t->rows);
    ocl_free(&t->val_rows);
    ocl_free(&t->img_all);
    ocl_free(&t->hm_all);
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
int trainer_local_batch(const trainer *t) { return t->lb; }
int trainer_fresh_pairs(const trainer *t) { return t->npairs; }
double trainer_seconds(const trainer *t) { return t->clock_started ? px_now() - t->t0 : t->tp.seconds; }
