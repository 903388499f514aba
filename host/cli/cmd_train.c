// `pixloc train`: the seed's pipeline — data, splits, MSE + Adam training with
// per-epoch validation, checkpoints (last, best), history, metrics and report —
// resumable bit for bit. This file is the command's edge: flags, the environment
// (PIXLOC_TEST_NAN_STEP, PIXLOC_TRAIN_SYNC), signals, progress output and the run directory's files; the
// training itself is the trainer's (host/train/trainer.c).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "dist.h"
#include "evaluate.h"
#include "json_text.h"
#include "net.h"
#include "ocl.h"
#include "pixloc.h"
#include "prewarm.h"
#include "report.h"
#include "safetensors.h"
#include "trainer.h"

static volatile sig_atomic_t g_stop; // set by SIGINT/SIGTERM/SIGHUP: finish the step, save, exit

static void on_signal(int sig) { g_stop = sig; }
static const char *signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "SIGINT"; }

// Measured on this project's 2-core Xeon (PoCL); see README "Seed preset".
#define SEED_EPOCH_TIME_NOTE                                                                                           \
    "112-131 s per epoch (measured on a Xeon),\n                     so 2.3-2.7 hours for 75 epochs"

static void usage(void) {
    printf("Usage: pixloc train [OPTIONS]\n\n"
           "Generates the synthetic dataset (or reads --data FILE), splits it as the seed notebook did\n"
           "(train_test_split 80/20 with the seed, then the last 10%% of the training part for\n"
           "validation), trains the heatmap CNN with MSE loss and Adam, validates every epoch and\n"
           "writes a run directory: config.json, history.csv, last.safetensors, best.safetensors\n"
           "(lowest validation loss), metrics.json (eval of the final model with the baselines, and of\n"
           "the best checkpoint when it is another epoch's: eval and predict on a run directory use it)\n"
           "and report/index.html.\n\n"
           "Presets (flags after --preset override its values):\n"
           "  --preset default   channels 16,32,64,32,16, 5 epochs, lr 3e-3 cosine, head bias -4,\n"
           "                     BN momentum 0.9, BN re-estimated from 20 batches, fresh data every epoch,\n"
           "                     --input-filter impulse on half the training images (--filter-fraction\n"
           "                     0.5: the model serves float and 8-bit images), target heatmaps 0.8 px\n"
           "                     wide (--sigma 0.8, the seed's 1.8); 4-4.5 minutes of training\n"
           "                     on a 2-core Xeon or Zen 4 with PoCL (16 on a Zen 3), better than the seed's\n"
           "                     CNN and the matched filter on the seed's test split (README)\n"
           "  --preset accurate  the default preset with the filter on every training image and 20\n"
           "                     epochs: close to the Bayes limit on the recipe's float images (score\n"
           "                     it with eval --tta): 19 minutes of training on a 2-core AVX-512 Xeon\n"
           "                     with PoCL, 57 on a 2-core Zen 3 (measured) (docs/accuracy.md). Not for\n"
           "                     8-bit images: the filter cannot act on them, and there the default\n"
           "                     preset's model is the better one\n"
           "  --preset seed      the seed notebook exactly: 15000 samples, seed 42, 10800/1200/3000,\n"
           "                     75 epochs, batch 64, channels 32,64,128,64,32, lr 1e-3, head bias 0,\n"
           "                     BN momentum 0.99, no re-estimation, fixed data. On this project's\n"
           "                     2-core CPU with PoCL: " SEED_EPOCH_TIME_NOTE ".\n\n"
           "Data:\n"
           "  --samples N          dataset size when generated [preset]\n"
           "  --seed S             seed for data, split, initialisation and shuffling [42]\n"
           "  --data FILE          train on this dataset's training split (a file from 'pixloc generate'\n"
           "                       or 'pixloc import'); its validation and test splits are used as well\n"
           "  --size HxW           image size of generated data [50x50]\n"
           "  --fresh-data / --no-fresh-data   new synthetic training images every epoch, drawn from\n"
           "                       the data's recipe [preset; off with --data unless given]\n"
           "Model and optimiser:\n"
           "  --channels LIST      conv block widths, e.g. 8,16,32,16,8\n"
           "  --epochs N           epochs to train (with --resume: the total to reach; note that the\n"
           "                       cosine schedule spans the total, so changing it changes the rates)\n"
           "  --batch-size N       [64]\n"
           "  --lr X               Adam learning rate\n"
           "  --lr-schedule S      constant or cosine (decays to lr*0.01 at the last step)\n"
           "  --head-bias X        initial bias of the sigmoid head (negative starts at background)\n"
           "  --bn-momentum X      Keras BN momentum (0.99 in the seed)\n"
           "  --bn-reestimate K    re-estimate BN statistics from K training batches before each\n"
           "                       validation and at the end (0 = off)\n"
           "  --loss L             mse (the seed's) or bce: binary cross-entropy of the sigmoid heatmap\n"
           "                       against the target heatmap; its gradient is not damped by the\n"
           "                       sigmoid, so confident wrong peaks cost more [mse]\n"
           "  --sigma S            label heatmap sigma of the training targets, in pixels: a narrower\n"
           "                       peak or a wider one than the data's (its recipe's, 1.8 in the seed's)\n"
           "                       [preset: 0.8; --preset seed: the data's]\n"
           "  --input-filter F     none, or impulse: before the network sees an image, pixels holding\n"
           "                       its one exactly repeated value (the recipe's background noise) are\n"
           "                       replaced by the mean of their neighbours; part of the model (eval,\n"
           "                       predict and the library apply it); alone not for 8-bit images\n"
           "                       (see --filter-fraction) [preset]\n"
           "  --filter-fraction F  the share of training images the input filter is applied to, in\n"
           "                       (0, 1]; the others are seen raw, so that the model also serves\n"
           "                       images the filter cannot act on (8-bit ones) [preset]\n"
           "Run:\n"
           "  --out DIR            run directory [runs/<timestamp>]\n"
           "  --resume DIR|CKPT    continue a run from DIR/last.safetensors (or a checkpoint file) with\n"
           "                       its own settings: only --epochs, --out, --no-report, --quiet and the\n"
           "                       device flags may be given with it\n"
           "  --force              replace the run already in --out DIR (its checkpoints, history,\n"
           "                       metrics and report are deleted first)\n"
           "  --no-report          do not write report/ at the end\n"
           "  --quiet              no progress output\n\n"
           "A run directory that already holds a run is refused without --resume or --force, and one\n"
           "that another 'pixloc train' is using (a lock on DIR/.lock) is refused.\n"
           "Ctrl-C (or SIGTERM, SIGHUP) finishes the current step, saves a resumable checkpoint and\n"
           "exits 130.\n\n"
           "On PoCL with an empty kernel cache and 2 or more cores, a second process compiles the\n"
           "training step's kernels from the other end while this one compiles from the first, so the\n"
           "first step comes sooner (PoCL compiles on one thread per process); PIXLOC_PREWARM=0 turns\n"
           "it off. The trained model is the same either way.\n\n%s",
           OCL_OPTIONS_HELP);
}

// Progress: one updating line on a terminal; elsewhere (logs, CI) a plain line every
// 30 seconds, so a long epoch still shows it is alive.
typedef struct {
    int tty, quiet;
    double last_plain;
    double t_entry; // px_now() on entering the command
    int reports;    // steps reported, counted up to 2 (the start-up line)
} progress_out;

static void progress(void *user, const trainer_step_info *i) {
    progress_out *p = user;
    // How long a first run waits for its first whole step, kernel builds included. A step is
    // reported when its loss is back, which comes before its backward pass and update have
    // run (or, on PoCL, even been compiled); the second report means the first step is done.
    if (p->reports < 2 && ++p->reports == 2)
        px_log("first step done %.2fs after start (its update included)", px_now() - p->t_entry);
    if (p->quiet) return;
    if (!p->tty) {
        double now = px_now();
        if (p->last_plain == 0) p->last_plain = now;
        if (now - p->last_plain < 30 || i->step == i->steps) return;
        p->last_plain = now;
        printf("Epoch %d/%d step %d/%d - loss: %.4e - mae: %.4f - %.0f samples/s - ETA %.0fs\n", i->epoch, i->epochs,
               i->step, i->steps, i->loss, i->mae, i->rate, i->eta);
        fflush(stdout);
        return;
    }
    char bar[31];
    int filled = i->steps ? i->step * 30 / i->steps : 30;
    for (int k = 0; k < 30; k++) bar[k] = k < filled ? '=' : (k == filled ? '>' : '.');
    bar[30] = 0;
    printf("\rEpoch %d/%d %4d/%-4d [%s] loss %.4e mae %.4f  %.0f samples/s  ETA %.0fs   ", i->epoch, i->epochs, i->step,
           i->steps, bar, i->loss, i->mae, i->rate, i->eta);
    fflush(stdout);
}

static int g_processes = 1; // training processes (mpirun -np K), recorded in config.json

static void write_config(const char *dir, const train_settings *s, const ocl_ctx *c, net *nt, double seconds) {
    char path[2048];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *buf = train_config_json(s, c, net_trainable_count(nt) + net_nontrainable_count(nt),
                                  net_nontrainable_count(nt), g_processes, seconds);
    if (px_write_file_atomic(path, buf, strlen(buf)) != 0) px_die(PX_EXIT_FAIL, "%s: %s", path, strerror(errno));
    free(buf);
}

// Picks report samples from the test set: the first 4 and the 4 worst misses.
// The true heatmaps drawn are the training targets (sigma: the settings' rec.sigma).
static void write_report_samples(const char *dir, net *nt, const dataset *d, const splits *sp, int batch, double sigma,
                                 const int32_t *test_pred) {
    int n = sp->n_test;
    if (n == 0) return;
    int S = n < 8 ? n : 8;
    int64_t pick[8];
    int k = 0;
    for (int i = 0; i < S / 2; i++) pick[k++] = i;
    // Worst by Euclidean error among the rest (ties: first).
    while (k < S) {
        int best = -1;
        double be = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++)
                if (pick[j] == i) taken = 1;
            if (taken) continue;
            int64_t g = sp->test[i];
            double dx = test_pred[(size_t)2 * i] - d->coords[(size_t)2 * g],
                   dy = test_pred[(size_t)2 * i + 1] - d->coords[(size_t)2 * g + 1];
            double e = dx * dx + dy * dy;
            if (e > be) {
                be = e;
                best = i;
            }
        }
        pick[k++] = best;
    }
    size_t hw = (size_t)d->H * d->W;
    int64_t gidx[8];
    for (int i = 0; i < S; i++) gidx[i] = sp->test[pick[i]];
    float *imgs = px_malloc(S * hw * sizeof(float), "report"), *ht = px_malloc(S * hw * sizeof(float), "report"),
          *hp = px_malloc(S * hw * sizeof(float), "report");
    int32_t ct[16], cp[16];
    predict_indices(nt, batch, 0, d->images, d->H, d->W, gidx, S, cp, hp, NULL);
    for (int i = 0; i < S; i++) {
        memcpy(imgs + i * hw, d->images + gidx[i] * hw, hw * sizeof(float));
        ct[(size_t)2 * i] = d->coords[(size_t)2 * gidx[i]];
        ct[2 * i + 1] = d->coords[2 * gidx[i] + 1];
        heatmap_fill(ht + i * hw, d->H, d->W, ct[(size_t)2 * i], ct[(size_t)2 * i + 1], sigma);
    }
    int32_t *et = px_malloc((size_t)n * 2 * sizeof(int32_t), "report");
    for (int i = 0; i < n; i++) {
        et[(size_t)2 * i] = d->coords[(size_t)2 * sp->test[i]];
        et[2 * i + 1] = d->coords[2 * sp->test[i] + 1];
    }
    st_writer *w = st_writer_new();
    int64_t sh3[3] = {S, d->H, d->W}, sh2[2] = {S, 2}, she[2] = {n, 2};
    st_writer_add(w, "images", ST_F32, 3, sh3, imgs);
    st_writer_add(w, "heatmaps_true", ST_F32, 3, sh3, ht);
    st_writer_add(w, "heatmaps_pred", ST_F32, 3, sh3, hp);
    st_writer_add(w, "coords_true", ST_I32, 2, sh2, ct);
    st_writer_add(w, "coords_pred", ST_I32, 2, sh2, cp);
    st_writer_add(w, "errors_true", ST_I32, 2, she, et);
    st_writer_add(w, "errors_pred", ST_I32, 2, she, test_pred);
    char path[2048], err[1024];
    snprintf(path, sizeof path, "%s/report_samples.safetensors", dir);
    if (st_writer_save(w, path, err, sizeof err) != 0) px_warn("%s", err);
    st_writer_free(w);
    free(imgs);
    free(ht);
    free(hp);
    free(et);
}

// What the command line says beyond the settings.
typedef struct {
    const char *resume, *out, *preset;
    int no_report, quiet, set_epochs, force, fresh_given, filter_fraction_given;
    char fixed[256]; // the flags given that a --resume cannot honour, ", "-separated
} train_cli;

// Notes a flag that sets something a resumed run keeps from its checkpoint.
static void note_fixed(train_cli *a, const char *flag) {
    size_t n = strlen(a->fixed);
    if (!strstr(a->fixed, flag)) snprintf(a->fixed + n, sizeof a->fixed - n, "%s%s", n ? ", " : "", flag);
}

// Flags after the preset's settings; returns 1 if --help was printed.
static int parse_flags(int argc, char **argv, train_settings *s, train_cli *a) {
    enum {
        O_SAMPLES = 256,
        O_SEED,
        O_DATA,
        O_SIZE,
        O_FRESH,
        O_NOFRESH,
        O_CHANNELS,
        O_EPOCHS,
        O_BATCH,
        O_LR,
        O_SCHED,
        O_HEADBIAS,
        O_BNMOM,
        O_BNRE,
        O_LOSS,
        O_SIGMA,
        O_FILTER,
        O_FILTERFRAC,
        O_OUT,
        O_RESUME,
        O_NOREPORT,
        O_QUIET,
        O_PRESET,
        O_HELP,
        O_FORCE
    };
    static const struct option opts[] = {{"samples", required_argument, 0, O_SAMPLES},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"data", required_argument, 0, O_DATA},
                                         {"size", required_argument, 0, O_SIZE},
                                         {"fresh-data", no_argument, 0, O_FRESH},
                                         {"no-fresh-data", no_argument, 0, O_NOFRESH},
                                         {"channels", required_argument, 0, O_CHANNELS},
                                         {"epochs", required_argument, 0, O_EPOCHS},
                                         {"batch-size", required_argument, 0, O_BATCH},
                                         {"lr", required_argument, 0, O_LR},
                                         {"lr-schedule", required_argument, 0, O_SCHED},
                                         {"head-bias", required_argument, 0, O_HEADBIAS},
                                         {"bn-momentum", required_argument, 0, O_BNMOM},
                                         {"bn-reestimate", required_argument, 0, O_BNRE},
                                         {"loss", required_argument, 0, O_LOSS},
                                         {"sigma", required_argument, 0, O_SIGMA},
                                         {"input-filter", required_argument, 0, O_FILTER},
                                         {"filter-fraction", required_argument, 0, O_FILTERFRAC},
                                         {"out", required_argument, 0, O_OUT},
                                         {"resume", required_argument, 0, O_RESUME},
                                         {"no-report", no_argument, 0, O_NOREPORT},
                                         {"quiet", no_argument, 0, O_QUIET},
                                         {"preset", required_argument, 0, O_PRESET},
                                         {"help", no_argument, 0, O_HELP},
                                         {"force", no_argument, 0, O_FORCE},
                                         {0, 0, 0, 0}};
    int ch, li = -1;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, &li)) != -1) {
        switch (ch) {
        case O_SAMPLES: s->samples = (int)cli_int("--samples", optarg, 1, 10000000); break;
        case O_SEED: s->seed = (uint32_t)cli_int("--seed", optarg, 0, 4294967295L); break;
        case O_DATA:
            if (strlen(cli_path("--data", optarg)) >= sizeof s->data)
                px_die(PX_EXIT_USAGE, "--data: the path is too long");
            snprintf(s->data, sizeof s->data, "%s", optarg);
            break;
        case O_SIZE: cli_size("--size", optarg, &s->rec.H, &s->rec.W); break;
        case O_FRESH:
            s->fresh_data = 1;
            a->fresh_given = 1;
            break;
        case O_NOFRESH:
            s->fresh_data = 0;
            a->fresh_given = 1;
            break;
        case O_CHANNELS: {
            char err[256];
            if (net_config_channels(&s->net, optarg, err, sizeof err) != 0)
                px_die(PX_EXIT_USAGE, "--channels: %s", err);
            break;
        }
        case O_EPOCHS: a->set_epochs = (int)cli_int("--epochs", optarg, 1, 100000); break;
        case O_BATCH: s->batch = (int)cli_int("--batch-size", optarg, 1, 65536); break;
        case O_LR: s->lr = cli_double("--lr", optarg, 1e-9, 10); break;
        case O_SCHED:
            if (strcmp(optarg, "constant") != 0 && strcmp(optarg, "cosine") != 0)
                px_die(PX_EXIT_USAGE, "--lr-schedule: '%s' is not constant or cosine", optarg);
            snprintf(s->lr_schedule, sizeof s->lr_schedule, "%s", optarg);
            break;
        case O_HEADBIAS: s->net.head_bias_init = (float)cli_double("--head-bias", optarg, -20, 20); break;
        case O_BNMOM: s->net.bn_momentum = (float)cli_double("--bn-momentum", optarg, 0, 0.99999); break;
        case O_BNRE: s->bn_reestimate = (int)cli_int("--bn-reestimate", optarg, 0, 100000); break;
        case O_LOSS:
            if ((s->net.loss = net_loss_parse(optarg)) < 0)
                px_die(PX_EXIT_USAGE, "--loss: '%s' is not mse or bce", optarg);
            break;
        case O_SIGMA: s->label_sigma = cli_double("--sigma", optarg, 0.1, 100); break;
        case O_FILTER:
            if ((s->net.input_filter = input_filter_parse(optarg)) < 0)
                px_die(PX_EXIT_USAGE, "--input-filter: '%s' is not none or impulse", optarg);
            break;
        case O_FILTERFRAC:
            s->net.filter_fraction = (float)cli_double("--filter-fraction", optarg, 1e-6, 1);
            a->filter_fraction_given = 1;
            break;
        case O_OUT: a->out = cli_path("--out", optarg); break;
        case O_RESUME: a->resume = cli_path("--resume", optarg); break;
        case O_FORCE: a->force = 1; break;
        case O_NOREPORT: a->no_report = 1; break;
        case O_QUIET: a->quiet = 1; break;
        case O_PRESET: a->preset = optarg; break;
        case O_HELP: usage(); return 1;
        default: cli_usage_error("train", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
        if ((ch >= O_SAMPLES && ch <= O_FILTERFRAC && ch != O_EPOCHS) || ch == O_PRESET) {
            char name[40];
            snprintf(name, sizeof name, "--%s", opts[li].name);
            note_fixed(a, name);
        }
    }
    if (optind < argc) cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    return 0;
}

// Resume: settings come from the checkpoint; only --epochs may change. Picks the run directory.
static void resolve_run(const train_cli *a, train_settings *s, char *ckpt_path, size_t ckpt_len, char *run_dir,
                        size_t dir_len) {
    ckpt_path[0] = 0;
    if (a->resume) {
        checkpoint_resolve(a->resume, "last", ckpt_path, ckpt_len);
        char err[1024];
        train_settings rs;
        if (checkpoint_read_settings(ckpt_path, &rs, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        if (a->set_epochs > 0) rs.epochs = a->set_epochs;
        *s = rs;
        char *slash = strrchr(ckpt_path, '/');
        if (a->out)
            snprintf(run_dir, dir_len, "%s", a->out);
        else if (slash)
            snprintf(run_dir, dir_len, "%.*s", (int)(slash - ckpt_path), ckpt_path);
        else
            snprintf(run_dir, dir_len, ".");
    } else if (a->out) {
        snprintf(run_dir, dir_len, "%s", a->out);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(run_dir, dir_len, "runs/%Y%m%d-%H%M%S", &tm);
    }
}

// history.csv is rewritten whole (atomically) each epoch from the rows so far; a resumed run keeps
// only the rows of completed epochs (<= epochs_done).
typedef struct {
    char path[2048];
    char *text;
    size_t len;
} history;

// Appends a row and rewrites the file atomically.
static void history_append(history *h, const char *row) {
    size_t rl = strlen(row);
    char *grown = realloc(h->text, h->len + rl + 1);
    if (!grown) px_die(PX_EXIT_FAIL, "out of memory");
    h->text = grown;
    memcpy(h->text + h->len, row, rl + 1);
    h->len += rl;
    if (px_write_file_atomic(h->path, h->text, h->len) != 0) px_die(PX_EXIT_FAIL, "%s: %s", h->path, strerror(errno));
}

// A run killed after saving an epoch's checkpoint but before appending its row: the checkpoint
// carries the row (last_row, "epoch,..."), which is appended when the history lacks it.
static void history_recover(history *h, int64_t epochs_done, const char *last_row) {
    int ep = 0;
    if (!last_row[0] || sscanf(last_row, "%d,", &ep) != 1 || ep != epochs_done) return;
    char want[32];
    int n = snprintf(want, sizeof want, "\n%d,", ep);
    if (h->len >= (size_t)n - 1 && strstr(h->text, want)) return; // already there
    history_append(h, last_row);
    px_warn("%s lacked epoch %d's row (the run stopped between its checkpoint and its history row): restored from "
            "the checkpoint",
            h->path, ep);
}

static void history_open(history *h, const char *run_dir, int resumed, int64_t epochs_done, const char *last_row) {
    snprintf(h->path, sizeof h->path, "%s/history.csv", run_dir);
    size_t n;
    char *old = resumed ? px_read_file(h->path, &n) : NULL;
    h->text = NULL;
    h->len = 0;
    if (old) {
        FILE *f = open_memstream(&h->text, &h->len);
        char *save, *line = strtok_r(old, "\n", &save);
        int first = 1;
        while (line) {
            int ep;
            if (first || (sscanf(line, "%d,", &ep) == 1 && ep <= epochs_done)) fprintf(f, "%s\n", line);
            first = 0;
            line = strtok_r(NULL, "\n", &save);
        }
        fclose(f);
        free(old);
    } else {
        const char *hdr = "epoch,loss,mae,val_loss,val_mae,seconds,samples_per_s\n";
        h->text = strdup(hdr);
        h->len = strlen(hdr);
    }
    // Also when history.csv was never written: a kill between the first checkpoint and its row.
    if (resumed) history_recover(h, epochs_done, last_row);
}

// One epoch's history.csv row (with its newline).
static void history_row(char *row, size_t len, const trainer_epoch_result *e) {
    snprintf(row, len, "%d,%.8g,%.8g,%.8g,%.8g,%.3f,%.1f\n", e->epoch, e->loss, e->mae, e->val_loss, e->val_mae,
             e->seconds, e->rate);
}

// The epochs: per epoch a summary line, a history row and the checkpoints (last, best); on a
// signal a resumable checkpoint. Returns the exit status.
static int train_epochs(trainer *t, const char *run_dir, int resumed, const progress_out *po, int writer) {
    const train_settings *s = trainer_settings(t);
    char last_path[2048], best_path[2048], err[1024];
    snprintf(last_path, sizeof last_path, "%s/last.safetensors", run_dir);
    snprintf(best_path, sizeof best_path, "%s/best.safetensors", run_dir);
    history h = {0};
    if (writer) history_open(&h, run_dir, resumed, trainer_progress(t)->epoch, trainer_progress(t)->history_row);
    int status = PX_EXIT_OK;
    while (!trainer_should_stop(t)) {
        trainer_epoch_result e;
        trainer_status st = trainer_run_epoch(t, &e);
        if (st == TRAINER_FINISHED || st == TRAINER_STOPPED) break;
        if (st == TRAINER_DIVERGED) {
            if (po->tty && !po->quiet) printf("\n");
            px_die(PX_EXIT_FAIL,
                   "the loss became %s at epoch %d step %d: training diverged. The last good checkpoint "
                   "is %s (if any epoch finished); try a lower --lr",
                   isnan(e.loss) ? "NaN" : "infinite", e.epoch, e.step, last_path);
        }
        if (!po->quiet) {
            if (po->tty) printf("\r\033[K");
            printf("Epoch %d/%d - %.1fs - loss: %.4e - mae: %.4f - val_loss: %.4e - val_mae: %.4f - %.0f samples/s\n",
                   e.epoch, s->epochs, e.seconds, e.loss, e.mae, e.val_loss, e.val_mae, e.rate);
            fflush(stdout);
        }
        // The checkpoint first (carrying the row): a history row never describes an epoch that no
        // checkpoint holds, and a row lost to a kill in between comes back on --resume.
        char row[256];
        history_row(row, sizeof row, &e);
        trainer_set_history_row(t, row);
        if (!writer) continue; // one writer: process 0 of a data-parallel run
        if (trainer_save(t, last_path, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        if (e.is_best && trainer_save(t, best_path, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        history_append(&h, row);
    }
    if (trainer_should_stop(t) && !writer) {
        status = PX_EXIT_INTERRUPTED;
    } else if (trainer_should_stop(t)) {
        const train_progress *tp = trainer_progress(t);
        if (po->tty && !po->quiet) printf("\n");
        if (tp->step_in_epoch > 0 && trainer_save(t, last_path, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        fprintf(stderr,
                "pixloc: interrupted (%s) at epoch %lld step %lld; saved %s\n"
                "pixloc: resume with: pixloc train --resume %s\n",
                signal_name(g_stop), (long long)tp->epoch + 1, (long long)tp->step_in_epoch, last_path, run_dir);
        status = PX_EXIT_INTERRUPTED;
    }
    free(h.text);
    return status;
}

// The best checkpoint's scores on the validation and test splits (no baselines: they do not
// depend on the model) when it is not the final model, as {"epoch": E, "sets": {...}} with the
// result in *rb; NULL when the final model is the best, or when the checkpoint cannot be read
// (a warning: the final model's metrics stand).
static cJSON *best_checkpoint_eval(trainer *t, ocl_ctx *c, const char *run_dir, eval_result *rb) {
    const train_settings *s = trainer_settings(t);
    const train_progress *tp = trainer_progress(t);
    if (tp->best_epoch <= 0 || tp->best_epoch == s->epochs) return NULL;
    char path[2048], err[1024];
    snprintf(path, sizeof path, "%s/best.safetensors", run_dir);
    const dataset *d = trainer_dataset(t);
    int batch = trainer_local_batch(t);
    net *nb = net_create_kind(c, &s->net, d->H, d->W, batch, NET_KIND_INFERENCE);
    if (checkpoint_load(path, nb, NULL, err, sizeof err) != 0) {
        px_warn("the best checkpoint was not evaluated: %s", err);
        net_free(nb);
        return NULL;
    }
    evaluate(nb, batch, 0, (1u << EVAL_VAL) | (1u << EVAL_TEST) | EVAL_NO_BASELINES, d, trainer_splits(t), rb, NULL);
    net_free(nb);
    cJSON *j = eval_cjson(rb);
    cJSON_AddNumberToObject(j, "epoch", (double)tp->best_epoch);
    return j;
}

// Final evaluation of the last model (as the seed did) with the baselines: metrics.json, the
// report's samples, config.json with the training time, the table and the report.
static int finish(trainer *t, ocl_ctx *c, const char *run_dir, const train_cli *a) {
    const train_settings *s = trainer_settings(t);
    const train_progress *tp = trainer_progress(t);
    double train_secs = trainer_seconds(t), ev_t0 = px_now();
    char err[1024];
    eval_result r;
    int32_t *test_pred = NULL;
    evaluate(trainer_net(t), trainer_local_batch(t), 0, EVAL_SETS_ALL, trainer_dataset(t), trainer_splits(t), &r,
             &test_pred);
    // The best checkpoint, when it is not the final model: eval and predict on a run directory
    // use it, and with an unstable recipe (the seed's) the final epoch can land on a spike.
    eval_result rb;
    cJSON *best = g_stop ? NULL : best_checkpoint_eval(t, c, run_dir, &rb);
    if (g_stop) { // the training is saved; the evaluation is what was cut short
        free(test_pred);
        cJSON_Delete(best);
        fprintf(stderr,
                "pixloc: interrupted (%s) during the final evaluation; the trained model is saved in "
                "%s/last.safetensors\npixloc: evaluate it with: pixloc eval --model %s\n",
                signal_name(g_stop), run_dir, run_dir);
        return PX_EXIT_INTERRUPTED;
    }
    char mpath[2048];
    snprintf(mpath, sizeof mpath, "%s/metrics.json", run_dir);
    if (eval_write_json(mpath, &r, "best_checkpoint", best, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    if (test_pred)
        write_report_samples(run_dir, trainer_net(t), trainer_dataset(t), trainer_splits(t), trainer_local_batch(t),
                             trainer_settings(t)->rec.sigma, test_pred);
    free(test_pred);
    cJSON_Delete(best);
    write_config(run_dir, s, c, trainer_net(t), train_secs);
    if (!a->quiet) {
        printf("\nTrained %d epochs in %.1fs (best val_loss %.4e at epoch %lld). Metrics of the final model "
               "(eval %.1fs):\n",
               s->epochs, train_secs, tp->best_val_loss, (long long)tp->best_epoch, px_now() - ev_t0);
        eval_print_table(stdout, &r);
        if (best) {
            printf("\nThe best checkpoint (epoch %lld, best.safetensors), which 'pixloc eval' and 'pixloc predict' "
                   "use on this run directory:\n",
                   (long long)tp->best_epoch);
            eval_print_table(stdout, &rb);
        } else if (tp->best_epoch == s->epochs) {
            printf("The final model is also the best checkpoint (best.safetensors).\n");
        }
        printf("run directory: %s (last.safetensors, best.safetensors, history.csv, metrics.json)\n", run_dir);
    }
    if (!a->no_report) {
        if (report_write(run_dir, err, sizeof err) != 0) {
            px_warn("report: %s", err);
        } else if (!a->quiet) {
            printf("report: %s/report/index.html\n", run_dir);
        }
    }
    return PX_EXIT_OK;
}

// The files a run writes into its directory (report/ holds only what the report writes).
static const char *const RUN_FILES[] = {"config.json",      "history.csv",  "last.safetensors",
                                        "best.safetensors", "metrics.json", "report_samples.safetensors"};
static const char *const REPORT_FILES[] = {"index.html", "loss.png", "mae.png", "errors.png", "samples.png"};
#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

// Holds an exclusive lock on DIR/.lock for the life of the process (the descriptor stays open);
// another holder is named by the pid it wrote there.
static void lock_run_dir(const char *run_dir) {
    char path[2048];
    snprintf(path, sizeof path, "%s/.lock", run_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) px_die(PX_EXIT_FAIL, "%s: cannot open the run directory's lock: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        px_die(PX_EXIT_FAIL,
               "run directory %s is in use by another 'pixloc train' (pid %s); wait for it to end or "
               "choose another --out",
               run_dir, pid[0] ? pid : "unknown");
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        px_die(PX_EXIT_FAIL, "%s: cannot write the lock: %s", path, strerror(errno));
}

// A directory that already holds a run is refused unless the run is resumed or --force replaces
// it; with --force, what the new run would not rewrite is deleted first.
static void claim_run_dir(const char *run_dir, const train_cli *a) {
    char path[2048], found[512] = "";
    for (size_t i = 0; i < NELEMS(RUN_FILES); i++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, RUN_FILES[i]);
        if (access(path, F_OK) != 0) continue;
        size_t n = strlen(found);
        snprintf(found + n, sizeof found - n, "%s%s", n ? ", " : "", RUN_FILES[i]);
        if (a->force && unlink(path) != 0) px_die(PX_EXIT_FAIL, "--force: cannot delete %s: %s", path, strerror(errno));
    }
    if (found[0] && !a->force && !a->resume)
        px_die(PX_EXIT_USAGE,
               "run directory %s already holds a run (%s): continue it with --resume %s, replace it "
               "with --force, or choose another --out",
               run_dir, found, run_dir);
    if (!a->force) return;
    for (size_t i = 0; i < NELEMS(REPORT_FILES); i++) {
        snprintf(path, sizeof path, "%s/report/%s", run_dir, REPORT_FILES[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            px_die(PX_EXIT_FAIL, "--force: cannot delete %s: %s", path, strerror(errno));
    }
    snprintf(path, sizeof path, "%s/report", run_dir);
    rmdir(path); // only if empty: anything else in it is not ours
}

// The flags the preset and the data decide, checked once all are parsed.
static void check_flags(train_cli *a, train_settings *s) {
    if (a->resume && a->fixed[0])
        px_die(PX_EXIT_USAGE,
               "--resume continues a run with the settings in its checkpoint: %s cannot change "
               "(only --epochs, --out, --no-report, --quiet and the device flags can be given with --resume)",
               a->fixed);
    if (a->resume && a->force) px_die(PX_EXIT_USAGE, "--force replaces a run and --resume continues one: give one");
    // Data the user brings is what the model trains on, unless fresh synthetic data is asked for.
    if (s->data[0] && !a->fresh_given) s->fresh_data = 0;
    if (a->resume) return;
    if (s->net.input_filter == NET_FILTER_NONE) {
        if (a->filter_fraction_given)
            px_die(PX_EXIT_USAGE, "--filter-fraction is the share of training images the input filter is applied "
                                  "to: it needs --input-filter impulse");
        s->net.filter_fraction = 1.0f; // no filter: nothing was left raw
    }
}

// Data-parallel training: MPI is started when an MPI launcher started this process (Open MPI's,
// or a PMI one such as Slurm's); a launch of several processes without MPI in the build is refused
// (each would train alone into the same directory).
static dist *start_dist(void) {
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (!n || atoi(n) < 1) return NULL;
    if (!PIXLOC_HAVE_MPI && atoi(n) > 1)
        px_die(PX_EXIT_USAGE,
               "started as one of %s processes by an MPI launcher, but this pixloc was built without MPI: "
               "rebuild it with cmake -DPIXLOC_MPI=ON (README \"Training on several devices\")",
               n);
    return dist_start();
}

// --device A,B,...: the list is indexed by the process's rank on its machine.
static void device_for_rank(ocl_options *oo, const dist *dp, char *buf, size_t len) {
    if (!oo->device || !strchr(oo->device, ',')) return;
    int want = dist_local_rank(dp), i = 0;
    const char *p = oo->device;
    for (; i < want && p; i++) {
        p = strchr(p, ',');
        if (p) p++;
    }
    if (!p || dist_size(dp) < 2)
        px_die(PX_EXIT_USAGE, "%s '%s' is a list of devices, one per training process on a machine (mpirun -np K); %s",
               oo->device_from ? oo->device_from : "--device", oo->device,
               dist_size(dp) < 2 ? "this is a single process: give one device"
                                 : "this machine runs more processes than the list names");
    snprintf(buf, len, "%.*s", (int)strcspn(p, ","), p);
    oo->device = buf;
}

// A resumed run continues bit for bit only with the number of processes it was trained with
// (config.json's "processes"; 1 when absent): another number is allowed, with a warning.
static void warn_other_processes(const char *run_dir) {
    char path[2048];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    char *text = px_read_file(path, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "processes");
    int was = cJSON_IsNumber(v) ? v->valueint : 1;
    cJSON_Delete(j);
    if (was != g_processes)
        px_warn("this run was trained by %d process%s and is resumed by %d: it goes on, but not bit-identically to "
                "a run that kept %d (mpirun -np %d)",
                was, was == 1 ? "" : "es", g_processes, was, was);
}

int cmd_train(int argc, char **argv) {
    double t_entry = px_now();
    ocl_options oo = {0};
    ocl_options_from_args(&oo, &argc, argv);
    // First pass: --preset (however abbreviated) decides the base settings; the second pass's
    // flags then override them.
    train_settings s;
    train_cli a = {.set_epochs = -1, .preset = "default"};
    train_settings_preset(&s, "default");
    if (parse_flags(argc, argv, &s, &a)) return PX_EXIT_OK;
    const char *preset = a.preset;
    if (train_settings_preset(&s, preset) != 0)
        px_die(PX_EXIT_USAGE, "--preset '%s' is not one of: default, accurate, seed", preset);
    a = (train_cli){.set_epochs = -1, .preset = preset};
    parse_flags(argc, argv, &s, &a);
    check_flags(&a, &s);
    if (a.set_epochs > 0) s.epochs = a.set_epochs;
    px_set_quiet(a.quiet);
    char ckpt_path[2048], run_dir[1024], err[1024];
    resolve_run(&a, &s, ckpt_path, sizeof ckpt_path, run_dir, sizeof run_dir);
    if (s.batch < 1) px_die(PX_EXIT_USAGE, "--batch-size must be at least 1");
    dist *dp = start_dist();
    int writer = dist_rank(dp) == 0; // process 0 alone writes the run directory
    g_processes = dist_size(dp);
    if (a.resume && writer) warn_other_processes(run_dir);
    char dev[256];
    device_for_rank(&oo, dp, dev, sizeof dev);
    if (!writer) {
        a.quiet = a.no_report = 1;
        px_set_quiet(1);
    }

    // PIXLOC_TEST_NAN_STEP=K makes the loss of global step K NaN: the test hook for the
    // divergence path (stop, clear message, last good checkpoint kept).
    const char *nan_env = getenv("PIXLOC_TEST_NAN_STEP");
    // PIXLOC_TRAIN_SYNC=1: the synchronous schedule (each loss checked before the next step, fresh
    // data drawn between epochs), which gives the same run bit for bit: for tests comparing them.
    const char *sync_env = getenv("PIXLOC_TRAIN_SYNC");
    progress_out po = {isatty(STDOUT_FILENO), a.quiet, 0, t_entry, 0};
    trainer_options to = {&g_stop,
                          progress,
                          &po,
                          nan_env && *nan_env ? strtol(nan_env, NULL, 10) : -1,
                          sync_env && strcmp(sync_env, "1") == 0,
                          dist_split(dp)};
    trainer *t = trainer_create(&s, &to);

    if (writer) {
        if (px_mkdirs(run_dir) != 0)
            px_die(PX_EXIT_FAIL, "cannot create run directory %s: %s", run_dir, strerror(errno));
        if (access(run_dir, W_OK) != 0)
            px_die(PX_EXIT_FAIL, "run directory %s is not writable: %s", run_dir, strerror(errno));
        lock_run_dir(run_dir);
        claim_run_dir(run_dir, &a);
    }
    // A finished run resumed: nothing to do, said before any device work (kernel builds, and on
    // a cold cache the prewarm child). A row lost between the last checkpoint and its history
    // row comes back. A file without a readable position goes on to trainer_resume's errors.
    int64_t done_epochs, done_steps;
    char row[sizeof(train_progress){0}.history_row];
    if (a.resume &&
        checkpoint_read_position(ckpt_path, &done_epochs, &done_steps, row, sizeof row, err, sizeof err) == 0 &&
        done_epochs >= s.epochs && done_steps == 0) {
        trainer_log_resume(ckpt_path, done_epochs, done_steps); // (as trainer_resume would have)
        history h = {0};
        if (writer) history_open(&h, run_dir, 1, done_epochs, row);
        free(h.text);
        if (writer)
            printf("%s is already trained to %d epochs: nothing to do (give --epochs N with N > %d to train further)\n",
                   ckpt_path, s.epochs, s.epochs);
        trainer_free(t);
        dist_end(dp);
        return PX_EXIT_OK;
    }
    ocl_ctx c;
    oo.quiet = a.quiet;
    ocl_init(&c, &oo);
    if (g_processes == 1)
        prewarm_training(&c, &oo, trainer_settings(t), trainer_dataset(t)->H, trainer_dataset(t)->W,
                         trainer_local_batch(t));
    trainer_attach(t, &c);
    if (a.resume && trainer_resume(t, ckpt_path, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    const train_settings *ts = trainer_settings(t);
    net *nt = trainer_net(t);
    px_log("model: %d blocks (%s...), %zu parameters (%zu non-trainable), batch %d, %d epochs -> %s", ts->net.nblocks,
           "conv-relu-bn", net_trainable_count(nt) + net_nontrainable_count(nt), net_nontrainable_count(nt), ts->batch,
           ts->epochs, run_dir);
    if (writer) write_config(run_dir, ts, &c, nt, -1);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    int status = train_epochs(t, run_dir, a.resume != NULL, &po, writer);
    if (status == PX_EXIT_OK && writer) status = finish(t, &c, run_dir, &a);
    trainer_free(t);
    ocl_release(&c);
    prewarm_training_reap();
    dist_end(dp); // after process 0's evaluation: the others wait for it here
    return status;
}
