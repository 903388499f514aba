// `pixloc train`: the seed's pipeline — data, splits, MSE + Adam training with
// per-epoch validation, checkpoints (last, best), history, metrics and report —
// resumable bit for bit.
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "evaluate.h"
#include "net.h"
#include "ocl.h"
#include "pixloc.h"
#include "report.h"
#include "safetensors.h"


static volatile sig_atomic_t g_stop; // set by SIGINT/SIGTERM: finish the step, save, exit

static void on_signal(int sig) { g_stop = sig; }

// Measured on this project's 2-core CI machine (PoCL); see README "Seed preset".
#define SEED_EPOCH_TIME_NOTE "147 s per epoch (measured),\n                     so about 3 hours for 75 epochs"

static void usage(void) {
    printf(
        "Usage: pixloc train [OPTIONS]\n\n"
        "Generates the synthetic dataset (or reads --data FILE), splits it as the seed notebook did\n"
        "(train_test_split 80/20 with the seed, then the last 10%% of the training part for\n"
        "validation), trains the heatmap CNN with MSE loss and Adam, validates every epoch and\n"
        "writes a run directory: config.json, history.csv, last.safetensors, best.safetensors\n"
        "(lowest validation loss), metrics.json (eval of the final model with the baselines) and\n"
        "report/index.html.\n\n"
        "Presets (flags after --preset override its values):\n"
        "  --preset default   channels 16,32,64,32,16, 5 epochs, lr 3e-3 cosine, head bias -4,\n"
        "                     BN momentum 0.9, BN re-estimated from 20 batches, fresh data every epoch;\n"
        "                     about 4 minutes here (2 cores, PoCL), better than the seed's CNN and\n"
        "                     the matched filter on the seed's test split (README)\n"
        "  --preset seed      the seed notebook exactly: 15000 samples, seed 42, 10800/1200/3000,\n"
        "                     75 epochs, batch 64, channels 32,64,128,64,32, lr 1e-3, head bias 0,\n"
        "                     BN momentum 0.99, no re-estimation, fixed data. On this project's\n"
        "                     2-core CPU with PoCL: " SEED_EPOCH_TIME_NOTE ".\n\n"
        "Data:\n"
        "  --samples N          dataset size when generated [preset]\n"
        "  --seed S             seed for data, split, initialisation and shuffling [42]\n"
        "  --data FILE          train on a dataset written by 'pixloc generate' instead\n"
        "  --size HxW           image size of generated data [50x50]\n"
        "  --fresh-data / --no-fresh-data   new synthetic training images every epoch\n"
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
        "Run:\n"
        "  --out DIR            run directory [runs/<timestamp>]\n"
        "  --resume DIR|CKPT    continue a run from DIR/last.safetensors (or a checkpoint file)\n"
        "  --no-report          do not write report/ at the end\n"
        "  --quiet              no progress output\n\n"
        "Ctrl-C (or SIGTERM) finishes the current step, saves a resumable checkpoint and exits 130.\n\n%s",
        OCL_OPTIONS_HELP);
}

static void preset_apply(train_settings *s, const char *name) {
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
    } else if (strcmp(name, "default") == 0) {
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
    } else {
        px_die(PX_EXIT_USAGE, "--preset '%s' is not one of: default, seed", name);
    }
}

static double lr_at(const train_settings *s, int64_t step, int64_t total) {
    if (strcmp(s->lr_schedule, "cosine") != 0 || total <= 1) return s->lr;
    double t = (double)step / (double)(total - 1);
    if (t > 1) t = 1;
    return s->lr * (s->lr_min_frac + (1 - s->lr_min_frac) * 0.5 * (1 + cos(M_PI * t)));
}

// Progress: one updating line on a terminal; elsewhere (logs, CI) a plain line every
// 30 seconds, so a long epoch still shows it is alive.
static void progress(int tty, int quiet, int epoch, int epochs, int step, int steps, double loss, double mae,
                     double rate, double eta) {
    static double last_plain;
    if (quiet) return;
    if (!tty) {
        double now = px_now();
        if (last_plain == 0) last_plain = now;
        if (now - last_plain < 30 || step == steps) return;
        last_plain = now;
        printf("Epoch %d/%d step %d/%d - loss: %.4e - mae: %.4f - %.0f samples/s - ETA %.0fs\n", epoch, epochs, step,
               steps, loss, mae, rate, eta);
        fflush(stdout);
        return;
    }
    char bar[31];
    int filled = steps ? step * 30 / steps : 30;
    for (int i = 0; i < 30; i++) bar[i] = i < filled ? '=' : (i == filled ? '>' : '.');
    bar[30] = 0;
    printf("\rEpoch %d/%d %4d/%-4d [%s] loss %.4e mae %.4f  %.0f samples/s  ETA %.0fs   ", epoch, epochs, step,
           steps, bar, loss, mae, rate, eta);
    fflush(stdout);
}

typedef struct {
    ocl_ctx *c;
    net *nt;
    const train_settings *s;
    cl_mem img_all, hm_all; // whole dataset (val/test and, without fresh data, train)
    cl_mem img_tr, hm_tr;   // fresh training data (or the same as *_all)
} train_data;

// Validation loss/MAE over idx (BN inference mode), sample-weighted like Keras.
static void validate(train_data *td, const int64_t *idx, int n, double *loss, double *mae) {
    double sl = 0, sm = 0;
    for (int s = 0; s < n; s += td->s->batch) {
        int N = n - s < td->s->batch ? n - s : td->s->batch;
        net_gather(td->nt, N, td->img_all, td->hm_all, idx + s);
        net_forward(td->nt, N, 0);
        float l, m;
        net_loss(td->nt, N, &l, &m);
        sl += (double)l * N;
        sm += (double)m * N;
    }
    *loss = n ? sl / n : NAN;
    *mae = n ? sm / n : NAN;
}

static void bn_reestimate(train_data *td, const int64_t *order, int n_train) {
    if (td->s->bn_reestimate <= 0) return;
    net_bn_reestimate_begin(td->nt);
    for (int b = 0; b < td->s->bn_reestimate; b++) {
        int start = (b * td->s->batch) % n_train;
        int N = n_train - start < td->s->batch ? n_train - start : td->s->batch;
        net_gather(td->nt, N, td->img_tr, td->hm_tr, order + start);
        net_forward(td->nt, N, 2);
    }
}

static void fill_heatmaps(float *hm, const int32_t *coords, int n, int H, int W, double sigma) {
    for (int i = 0; i < n; i++)
        heatmap_fill(hm + (size_t)i * H * W, H, W, coords[2 * i], coords[2 * i + 1], sigma);
}

static void write_config(const char *dir, const train_settings *s, const ocl_ctx *c, const net *nt,
                         double seconds) {
    char *js;
    train_settings_json(s, &js);
    char path[2048];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    // Settings object with device and version fields appended.
    size_t jl = strlen(js);
    if (jl > 0 && js[jl - 1] == '}') js[jl - 1] = 0;
    fprintf(f,
            "%s,\"device\":\"%s\",\"device_type\":\"%s\",\"driver\":\"%s\",\"platform\":\"%s\","
            "\"pixloc_version\":\"%s\",\"parameters\":%zu,\"non_trainable\":%zu",
            js, c->device_name, c->is_gpu ? "GPU" : (c->is_cpu ? "CPU" : "other"), c->driver_version,
            c->platform_name, PIXLOC_VERSION, net_trainable_count(nt) + net_nontrainable_count(nt),
            net_nontrainable_count(nt));
    if (seconds >= 0) fprintf(f, ",\"seconds_total\":%.1f", seconds);
    fprintf(f, "}\n");
    fclose(f);
    if (px_write_file_atomic(path, buf, len) != 0) px_die(PX_EXIT_FAIL, "%s: %s", path, strerror(errno));
    free(buf);
    free(js);
}

// Picks report samples from the test set: the first 4 and the 4 worst misses.
static void write_report_samples(const char *dir, net *nt, const dataset *d, const splits *sp, int batch,
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
            double dx = test_pred[2 * i] - d->coords[2 * g], dy = test_pred[2 * i + 1] - d->coords[2 * g + 1];
            double e = dx * dx + dy * dy;
            if (e > be) { be = e; best = i; }
        }
        pick[k++] = best;
    }
    size_t hw = (size_t)d->H * d->W;
    int64_t gidx[8];
    for (int i = 0; i < S; i++) gidx[i] = sp->test[pick[i]];
    float *imgs = px_malloc(S * hw * sizeof(float), "report"), *ht = px_malloc(S * hw * sizeof(float), "report"),
          *hp = px_malloc(S * hw * sizeof(float), "report");
    int32_t ct[16], cp[16];
    predict_indices(nt, batch, d->images, d->H, d->W, gidx, S, cp, hp, NULL);
    for (int i = 0; i < S; i++) {
        memcpy(imgs + i * hw, d->images + gidx[i] * hw, hw * sizeof(float));
        ct[2 * i] = d->coords[2 * gidx[i]];
        ct[2 * i + 1] = d->coords[2 * gidx[i] + 1];
        heatmap_fill(ht + i * hw, d->H, d->W, ct[2 * i], ct[2 * i + 1], d->rec.sigma);
    }
    int32_t *et = px_malloc((size_t)n * 2 * sizeof(int32_t), "report");
    for (int i = 0; i < n; i++) {
        et[2 * i] = d->coords[2 * sp->test[i]];
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
    free(imgs); free(ht); free(hp); free(et);
}

int cmd_train(int argc, char **argv) {
    ocl_options oo = {0};
    ocl_options_from_args(&oo, &argc, argv);
    // First pass: --preset and --resume decide the base settings; flags then override.
    const char *preset = "default", *resume = NULL, *out = NULL;
    int no_report = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) preset = argv[i + 1];
        else if (strncmp(argv[i], "--preset=", 9) == 0) preset = argv[i] + 9;
    }
    train_settings s;
    preset_apply(&s, preset);

    enum { O_SAMPLES = 256, O_SEED, O_DATA, O_SIZE, O_FRESH, O_NOFRESH, O_CHANNELS, O_EPOCHS, O_BATCH, O_LR,
           O_SCHED, O_HEADBIAS, O_BNMOM, O_BNRE, O_OUT, O_RESUME, O_NOREPORT, O_QUIET, O_PRESET, O_HELP };
    static const struct option opts[] = {
        {"samples", required_argument, 0, O_SAMPLES}, {"seed", required_argument, 0, O_SEED},
        {"data", required_argument, 0, O_DATA}, {"size", required_argument, 0, O_SIZE},
        {"fresh-data", no_argument, 0, O_FRESH}, {"no-fresh-data", no_argument, 0, O_NOFRESH},
        {"channels", required_argument, 0, O_CHANNELS}, {"epochs", required_argument, 0, O_EPOCHS},
        {"batch-size", required_argument, 0, O_BATCH}, {"lr", required_argument, 0, O_LR},
        {"lr-schedule", required_argument, 0, O_SCHED}, {"head-bias", required_argument, 0, O_HEADBIAS},
        {"bn-momentum", required_argument, 0, O_BNMOM}, {"bn-reestimate", required_argument, 0, O_BNRE},
        {"out", required_argument, 0, O_OUT}, {"resume", required_argument, 0, O_RESUME},
        {"no-report", no_argument, 0, O_NOREPORT}, {"quiet", no_argument, 0, O_QUIET},
        {"preset", required_argument, 0, O_PRESET}, {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};
    int set_epochs = -1, ch, given_data_flags = 0;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_SAMPLES: s.samples = (int)cli_int("--samples", optarg, 1, 10000000); given_data_flags++; break;
        case O_SEED: s.seed = (uint32_t)cli_int("--seed", optarg, 0, 4294967295L); given_data_flags++; break;
        case O_DATA: snprintf(s.data, sizeof s.data, "%s", optarg); given_data_flags++; break;
        case O_SIZE: cli_size("--size", optarg, &s.rec.H, &s.rec.W); given_data_flags++; break;
        case O_FRESH: s.fresh_data = 1; break;
        case O_NOFRESH: s.fresh_data = 0; break;
        case O_CHANNELS: {
            char err[256];
            if (net_config_channels(&s.net, optarg, err, sizeof err) != 0) px_die(PX_EXIT_USAGE, "--channels: %s", err);
            break;
        }
        case O_EPOCHS: set_epochs = (int)cli_int("--epochs", optarg, 1, 100000); break;
        case O_BATCH: s.batch = (int)cli_int("--batch-size", optarg, 1, 65536); break;
        case O_LR: s.lr = cli_double("--lr", optarg, 1e-9, 10); break;
        case O_SCHED:
            if (strcmp(optarg, "constant") && strcmp(optarg, "cosine"))
                px_die(PX_EXIT_USAGE, "--lr-schedule: '%s' is not constant or cosine", optarg);
            snprintf(s.lr_schedule, sizeof s.lr_schedule, "%s", optarg);
            break;
        case O_HEADBIAS: s.net.head_bias_init = (float)cli_double("--head-bias", optarg, -20, 20); break;
        case O_BNMOM: s.net.bn_momentum = (float)cli_double("--bn-momentum", optarg, 0, 0.99999); break;
        case O_BNRE: s.bn_reestimate = (int)cli_int("--bn-reestimate", optarg, 0, 100000); break;
        case O_OUT: out = optarg; break;
        case O_RESUME: resume = optarg; break;
        case O_NOREPORT: no_report = 1; break;
        case O_QUIET: quiet = 1; break;
        case O_PRESET: break;
        case O_HELP: usage(); return PX_EXIT_OK;
        default:
            cli_usage_error("train", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (set_epochs > 0) s.epochs = set_epochs;
    px_set_quiet(quiet);

    // Resume: settings come from the checkpoint; only --epochs may change.
    char ckpt_path[2048] = "", run_dir[1024];
    if (resume) {
        checkpoint_resolve(resume, "last", ckpt_path, sizeof ckpt_path);
        char err[1024];
        train_settings rs;
        if (checkpoint_read_settings(ckpt_path, &rs, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        if (given_data_flags) px_warn("--resume: data flags are ignored; the checkpoint's settings are used");
        if (set_epochs > 0) rs.epochs = set_epochs;
        s = rs;
        char *slash = strrchr(ckpt_path, '/');
        if (out) snprintf(run_dir, sizeof run_dir, "%s", out);
        else if (slash) snprintf(run_dir, sizeof run_dir, "%.*s", (int)(slash - ckpt_path), ckpt_path);
        else snprintf(run_dir, sizeof run_dir, ".");
    } else if (out) {
        snprintf(run_dir, sizeof run_dir, "%s", out);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(run_dir, sizeof run_dir, "runs/%Y%m%d-%H%M%S", &tm);
    }
    if (s.batch < 1) px_die(PX_EXIT_USAGE, "--batch-size must be at least 1");

    // Data.
    double t0 = px_now();
    dataset d;
    char err[1024];
    if (s.data[0]) {
        if (dataset_load(&d, s.data, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        s.rec = d.rec;
        s.samples = d.N;
    } else {
        dataset_generate(&d, &s.rec, s.samples, s.seed);
    }
    splits sp;
    dataset_split(d.N, s.seed, s.test_frac, s.val_frac, &sp);
    if (sp.n_train < 1)
        px_die(PX_EXIT_USAGE, "the dataset has %d samples: too few for a training split (need at least 2)", d.N);
    if (s.batch > sp.n_train)
        px_die(PX_EXIT_USAGE, "--batch-size %d is larger than the training split (%d samples of %d); use "
               "--batch-size %d or more --samples", s.batch, sp.n_train, d.N, sp.n_train);
    int H = d.H, W = d.W;
    size_t hw = (size_t)H * W;
    px_log("data: %d samples of %dx%d (%s), train %d / val %d / test %d, %.2fs", d.N, H, W,
           s.data[0] ? s.data : "generated", sp.n_train, sp.n_val, sp.n_test, px_now() - t0);

    if (px_mkdirs(run_dir) != 0) px_die(PX_EXIT_FAIL, "cannot create run directory %s: %s", run_dir, strerror(errno));
    if (access(run_dir, W_OK) != 0) px_die(PX_EXIT_FAIL, "run directory %s is not writable: %s", run_dir, strerror(errno));

    ocl_ctx c;
    oo.quiet = quiet;
    ocl_init(&c, &oo);
    net *nt = net_create(&c, &s.net, H, W, s.batch);

    // The whole dataset lives on the device (uploaded once); if it does not fit, the
    // remedy is fewer samples, not a smaller batch. Heatmaps are computed once on the
    // host (in double, as the seed did).
    train_data td = {&c, nt, &s, NULL, NULL, NULL, NULL};
    size_t dbytes = (size_t)d.N * hw * sizeof(float);
    td.img_all = ocl_buffer_try(&c, "dataset images", dbytes);
    td.hm_all = td.img_all ? ocl_buffer_try(&c, "dataset heatmaps", dbytes) : NULL;
    if (!td.hm_all)
        px_die(PX_EXIT_FAIL,
               "the dataset (%d images of %dx%d, %.1f MiB for images and as much for heatmaps) does not fit "
               "on %s (largest allocation %.1f MiB, global memory %.1f MiB): use fewer --samples (at most "
               "about %zu)", d.N, H, W, (double)dbytes / (1 << 20), c.device_name,
               (double)ocl_alloc_cap(&c) / (1 << 20), (double)c.global_mem / (1 << 20),
               ocl_alloc_cap(&c) / (hw * sizeof(float)));
    float *hm = px_malloc((size_t)d.N * hw * sizeof(float), "heatmaps");
    fill_heatmaps(hm, d.coords, d.N, H, W, s.rec.sigma);
    ocl_write(&c, td.img_all, 0, d.images, (size_t)d.N * hw * sizeof(float));
    ocl_write(&c, td.hm_all, 0, hm, (size_t)d.N * hw * sizeof(float));
    free(hm);
    float *fresh_img = NULL, *fresh_hm = NULL;
    int32_t *fresh_xy = NULL;
    if (s.fresh_data) {
        td.img_tr = ocl_buffer(&c, "fresh training images", (size_t)sp.n_train * hw * sizeof(float));
        td.hm_tr = ocl_buffer(&c, "fresh training heatmaps", (size_t)sp.n_train * hw * sizeof(float));
        fresh_img = px_malloc((size_t)sp.n_train * hw * sizeof(float), "fresh images");
        fresh_hm = px_malloc((size_t)sp.n_train * hw * sizeof(float), "fresh heatmaps");
        fresh_xy = px_malloc((size_t)sp.n_train * 2 * sizeof(int32_t), "fresh coords");
    } else {
        td.img_tr = td.img_all;
        td.hm_tr = td.hm_all;
    }

    // State: fresh start or resume.
    train_progress tp;
    memset(&tp, 0, sizeof tp);
    tp.best_val_loss = INFINITY;
    tp.best_epoch = 0;
    rng_state shuffle_rng, data_rng;
    if (resume) {
        if (checkpoint_load(ckpt_path, nt, &tp, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        rng_load(&shuffle_rng, tp.shuffle_rng);
        rng_load(&data_rng, tp.data_rng);
        px_log("resuming %s at epoch %lld step %lld", ckpt_path, (long long)tp.epoch + 1,
               (long long)tp.step_in_epoch);
    } else {
        rng_state init_rng;
        rng_seed(&init_rng, s.seed);
        net_init(nt, &init_rng);
        // Distinct streams for shuffling and fresh data, derived from the seed.
        rng_seed(&shuffle_rng, s.seed ^ 0x5eed5eedu);
        rng_seed(&data_rng, s.seed ^ 0xda7a0001u);
    }
    px_log("model: %d blocks (%s...), %zu parameters (%zu non-trainable), batch %d, %d epochs -> %s",
           s.net.nblocks, "conv-relu-bn", net_trainable_count(nt) + net_nontrainable_count(nt),
           net_nontrainable_count(nt), s.batch, s.epochs, run_dir);
    write_config(run_dir, &s, &c, nt, -1);

    char hist_path[2048], last_path[2048], best_path[2048];
    snprintf(hist_path, sizeof hist_path, "%s/history.csv", run_dir);
    snprintf(last_path, sizeof last_path, "%s/last.safetensors", run_dir);
    snprintf(best_path, sizeof best_path, "%s/best.safetensors", run_dir);
    // history.csv is rewritten whole (atomically) each epoch from the rows so far.
    char *hist = NULL;
    size_t hist_len = 0;
    {
        size_t n;
        char *old = resume ? px_read_file(hist_path, &n) : NULL;
        if (old) {
            // Keep only rows of completed epochs (<= tp.epoch).
            FILE *f = open_memstream(&hist, &hist_len);
            char *save, *line = strtok_r(old, "\n", &save);
            int first = 1;
            while (line) {
                int ep;
                if (first || (sscanf(line, "%d,", &ep) == 1 && ep <= tp.epoch)) fprintf(f, "%s\n", line);
                first = 0;
                line = strtok_r(NULL, "\n", &save);
            }
            fclose(f);
            free(old);
        } else {
            const char *hdr = "epoch,loss,mae,val_loss,val_mae,seconds,samples_per_s\n";
            hist = strdup(hdr);
            hist_len = strlen(hdr);
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = isatty(STDOUT_FILENO);

    // PIXLOC_TEST_NAN_STEP=K makes the loss of global step K NaN: the test hook for the
    // divergence path (stop, clear message, last good checkpoint kept).
    const char *nan_env = getenv("PIXLOC_TEST_NAN_STEP");
    long inject_nan_step = nan_env && *nan_env ? strtol(nan_env, NULL, 10) : -1;
    int steps = (sp.n_train + s.batch - 1) / s.batch;
    int64_t total_steps = (int64_t)steps * s.epochs;
    int64_t *order = px_malloc((size_t)sp.n_train * sizeof(int64_t), "order");
    int64_t *perm = px_malloc((size_t)sp.n_train * sizeof(int64_t), "permutation");
    int status = PX_EXIT_OK;
    double train_t0 = px_now() - tp.seconds;

    for (int epoch = (int)tp.epoch; epoch < s.epochs && !g_stop; epoch++) {
        // Remember where this epoch's random streams start (for a mid-epoch checkpoint).
        rng_save(&shuffle_rng, tp.shuffle_rng);
        rng_save(&data_rng, tp.data_rng);
        if (s.fresh_data) {
            dataset_draw(&data_rng, &s.rec, sp.n_train, fresh_img, fresh_xy);
            fill_heatmaps(fresh_hm, fresh_xy, sp.n_train, H, W, s.rec.sigma);
            ocl_write(&c, td.img_tr, 0, fresh_img, (size_t)sp.n_train * hw * sizeof(float));
            ocl_write(&c, td.hm_tr, 0, fresh_hm, (size_t)sp.n_train * hw * sizeof(float));
        }
        rng_permutation(&shuffle_rng, perm, sp.n_train);
        for (int i = 0; i < sp.n_train; i++) order[i] = s.fresh_data ? perm[i] : sp.train[perm[i]];

        int first_step = 0;
        double sum_loss = 0, sum_mae = 0;
        int64_t count = 0;
        if (epoch == tp.epoch && tp.step_in_epoch > 0) { // resuming mid-epoch
            first_step = (int)tp.step_in_epoch;
            sum_loss = tp.run_loss;
            sum_mae = tp.run_mae;
            count = tp.run_count;
        }
        double ep_t0 = px_now();
        int done_samples = 0;
        int interrupted = 0;
        for (int st = first_step; st < steps; st++) {
            int start = st * s.batch;
            int N = sp.n_train - start < s.batch ? sp.n_train - start : s.batch;
            int64_t step_no = (int64_t)epoch * steps + st; // global step, for the schedule
            net_gather(nt, N, td.img_tr, td.hm_tr, order + start);
            net_forward(nt, N, 1);
            float l, m;
            net_loss(nt, N, &l, &m);
            if (inject_nan_step >= 0 && step_no == inject_nan_step) l = NAN; // test hook
            if (!isfinite(l)) {
                if (tty && !quiet) printf("\n");
                px_die(PX_EXIT_FAIL,
                       "the loss became %s at epoch %d step %d: training diverged. The last good checkpoint "
                       "is %s (if any epoch finished); try a lower --lr", isnan(l) ? "NaN" : "infinite",
                       epoch + 1, st + 1, last_path);
            }
            net_backward(nt, N);
            net_adam_step(nt, (float)lr_at(&s, step_no, total_steps));
            sum_loss += (double)l * N;
            sum_mae += (double)m * N;
            count += N;
            done_samples += N;
            double el = px_now() - ep_t0;
            double rate = done_samples / (el > 1e-9 ? el : 1e-9);
            progress(tty, quiet, epoch + 1, s.epochs, st + 1, steps, sum_loss / count, sum_mae / count, rate,
                     (sp.n_train - start - N) / (rate > 0 ? rate : 1));
            if (g_stop && st + 1 < steps) {
                tp.epoch = epoch;
                tp.step_in_epoch = st + 1;
                tp.run_loss = sum_loss;
                tp.run_mae = sum_mae;
                tp.run_count = count;
                interrupted = 1;
                break;
            }
        }
        if (interrupted) break;
        // End of epoch: precise BN, validation, history, checkpoints.
        bn_reestimate(&td, order, sp.n_train);
        double vl = NAN, vm = NAN;
        if (sp.n_val) validate(&td, sp.val, sp.n_val, &vl, &vm);
        double ep_secs = px_now() - ep_t0;
        double rate = done_samples / (ep_secs > 1e-9 ? ep_secs : 1e-9);
        double tl = sum_loss / count, tm = sum_mae / count;
        if (!quiet) {
            if (tty) printf("\r\033[K");
            printf("Epoch %d/%d - %.1fs - loss: %.4e - mae: %.4f - val_loss: %.4e - val_mae: %.4f - %.0f samples/s\n",
                   epoch + 1, s.epochs, ep_secs, tl, tm, vl, vm, rate);
            fflush(stdout);
        }
        char row[256];
        snprintf(row, sizeof row, "%d,%.8g,%.8g,%.8g,%.8g,%.3f,%.1f\n", epoch + 1, tl, tm, vl, vm, ep_secs, rate);
        hist = realloc(hist, hist_len + strlen(row) + 1);
        memcpy(hist + hist_len, row, strlen(row) + 1);
        hist_len += strlen(row);
        if (px_write_file_atomic(hist_path, hist, hist_len) != 0)
            px_die(PX_EXIT_FAIL, "%s: %s", hist_path, strerror(errno));

        tp.epoch = epoch + 1;
        tp.step_in_epoch = 0;
        tp.run_loss = tp.run_mae = 0;
        tp.run_count = 0;
        rng_save(&shuffle_rng, tp.shuffle_rng);
        rng_save(&data_rng, tp.data_rng);
        tp.seconds = px_now() - train_t0;
        double crit = sp.n_val ? vl : tl;
        int is_best = crit < tp.best_val_loss;
        if (is_best) {
            tp.best_val_loss = crit;
            tp.best_epoch = epoch + 1;
        }
        if (checkpoint_save(last_path, nt, &s, &tp, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        if (is_best && checkpoint_save(best_path, nt, &s, &tp, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    }
    if (g_stop) {
        tp.seconds = px_now() - train_t0;
        if (tty && !quiet) printf("\n");
        if (tp.step_in_epoch > 0 && checkpoint_save(last_path, nt, &s, &tp, err, sizeof err) != 0)
            px_die(PX_EXIT_FAIL, "%s", err);
        fprintf(stderr, "pixloc: interrupted (%s) at epoch %lld step %lld; saved %s\n"
                "pixloc: resume with: pixloc train --resume %s\n", g_stop == SIGTERM ? "SIGTERM" : "SIGINT",
                (long long)tp.epoch + 1, (long long)tp.step_in_epoch, last_path, run_dir);
        status = PX_EXIT_INTERRUPTED;
    } else {
        double train_secs = px_now() - train_t0;
        // Final evaluation of the last model (as the seed did) with the baselines.
        double ev_t0 = px_now();
        eval_result r;
        int32_t *test_pred = NULL;
        evaluate(nt, s.batch, &d, &sp, &r, &test_pred);
        char mpath[2048];
        snprintf(mpath, sizeof mpath, "%s/metrics.json", run_dir);
        if (eval_write_json(mpath, &r, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        if (test_pred) write_report_samples(run_dir, nt, &d, &sp, s.batch, test_pred);
        free(test_pred);
        write_config(run_dir, &s, &c, nt, train_secs);
        if (!quiet) {
            printf("\nTrained %d epochs in %.1fs (best val_loss %.4e at epoch %lld). Metrics of the final model "
                   "(eval %.1fs):\n", s.epochs, train_secs, tp.best_val_loss, (long long)tp.best_epoch,
                   px_now() - ev_t0);
            eval_print_table(stdout, &r);
            printf("run directory: %s (last.safetensors, best.safetensors, history.csv, metrics.json)\n", run_dir);
        }
        if (!no_report) {
            if (report_write(run_dir, err, sizeof err) != 0) {
                px_warn("report: %s", err);
            } else if (!quiet) {
                printf("report: %s/report/index.html\n", run_dir);
            }
        }
    }
    free(order);
    free(perm);
    free(hist);
    free(fresh_img);
    free(fresh_hm);
    free(fresh_xy);
    if (s.fresh_data) {
        ocl_free(&td.img_tr);
        ocl_free(&td.hm_tr);
    }
    ocl_free(&td.img_all);
    ocl_free(&td.hm_all);
    net_free(nt);
    ocl_release(&c);
    splits_free(&sp);
    dataset_free(&d);
    return status;
}
