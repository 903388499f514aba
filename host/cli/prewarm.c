// Kernels compiled in a child process on a cold cache; see include/cli/prewarm.h.
#include "prewarm.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "evaluate.h"
#include "kernel_cache.h"
#include "net.h"
#include "pixloc.h"
#include "rng.h"
#include "trainer.h"
#include "tuning.h"

extern char **environ;

static const char *env(const char *name) {
    const char *e = getenv(name);
    return e ? e : "";
}

static void hash_str(kcache_key *k, const char *s) { kcache_hash(k, s, strlen(s) + 1); }

static void hash_int(kcache_key *k, long v) { kcache_hash(k, &v, sizeof v); }

// The file's bytes (or a mark for "absent"), so a rebuilt binary or a new tuning file is
// another key.
static void hash_file(kcache_key *k, const char *path) {
    FILE *f = path[0] ? fopen(path, "rb") : NULL;
    if (!f) {
        hash_str(k, "(absent)");
        return;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) kcache_hash(k, buf, n);
    fclose(f);
}

static void hash_config(kcache_key *k, const net_config *cfg) {
    hash_int(k, cfg->nblocks);
    for (int i = 0; i < cfg->nblocks; i++) {
        hash_int(k, cfg->channels[i]);
        hash_int(k, cfg->relu[i]);
        hash_int(k, cfg->bn[i]);
    }
    hash_int(k, cfg->input_filter);
}

// The part of the key that no call in this process changes: the binary, the device, where PoCL
// keeps its cache, the variables that choose kernel variants, the tuning file. Hashed once:
// predict calls prewarm_inference for every image it reads.
static kcache_key process_key(const ocl_ctx *c) {
    static kcache_key k;
    static int done;
    if (done) return k;
    hash_str(&k, "pixloc prewarm 1");
    hash_file(&k, "/proc/self/exe");
    hash_str(&k, c->platform_version);
    hash_str(&k, c->device_name);
    hash_str(&k, c->driver_version);
    static const char *const vars[] = {"POCL_CACHE_DIR",      "XDG_CACHE_HOME",        "HOME",
                                       "PIXLOC_CONV_VARIANT", "PIXLOC_KERNEL_PROFILE", "PIXLOC_MAX_WORK_GROUP"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) hash_str(&k, env(vars[i]));
    char tpath[1200];
    tuning_path(c->cache_dir, c->platform_version, c->device_name, c->driver_version, tpath, sizeof tpath);
    hash_file(&k, tpath);
    done = 1;
    return k;
}

// "<cache dir>/prewarm-<32 hex digits>": everything that decides which programs are built and
// which kernels PoCL compiles, and where PoCL keeps them. For inference (train 0) not the batch:
// the programs' options and the kernels' local sizes do not depend on it (tests/cli_prewarm.sh
// checks that a child at batch 8 leaves PoCL nothing to compile for batches 1 and 64), and
// `extra` is tta; for training (train 1) `extra` is the batch, on which the weight gradient's
// chunks depend, and the loss is part of the key.
static void marker_path(const ocl_ctx *c, const net_config *cfg, int H, int W, int train, int extra, char *out,
                        size_t len) {
    kcache_key k = process_key(c);
    hash_config(&k, cfg);
    hash_int(&k, H);
    hash_int(&k, W);
    hash_int(&k, extra);
    if (train) {
        hash_str(&k, "training");
        hash_int(&k, cfg->loss);
    }
    snprintf(out, len, "%s/prewarm-%016llx%016llx", c->cache_dir, (unsigned long long)k.h[0],
             (unsigned long long)k.h[1]);
}

// An empty file at path: a child finished. An unwritable cache only means that the next run
// prewarms again, nothing worse.
static void write_marker(const char *path) {
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

static int wanted(const ocl_ctx *c, const ocl_options *o) {
    if (strcmp(env("PIXLOC_PREWARM"), "0") == 0) return 0;
    if (!c->is_cpu || !strstr(c->platform_name, "Portable Computing Language")) return 0; // PoCL's CPU device
    if (o->no_cache || !c->cache_dir[0] || c->kernel_dir[0]) return 0;
    if (strcmp(env("POCL_KERNEL_CACHE"), "0") == 0) return 0; // nothing the child compiles would be kept
    return access("/proc/self/exe", X_OK) == 0;
}

// Runs this binary as `argv` (NULL-terminated; "pixloc" and a command first) followed by the
// parent's device flags (the environment is inherited), stdin and stdout on /dev/null, stderr
// too unless PIXLOC_CACHE_DEBUG is set. Returns the child's pid, or -1.
static pid_t spawn(const ocl_ctx *c, const ocl_options *o, char *const *args) {
    char *argv[24];
    int n = 0;
    while (args[n] && n < 16) {
        argv[n] = args[n];
        n++;
    }
    if (o->platform) argv[n++] = "--platform", argv[n++] = (char *)o->platform;
    if (o->device) argv[n++] = "--device", argv[n++] = (char *)o->device;
    if (o->device_type) argv[n++] = "--device-type", argv[n++] = (char *)o->device_type;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    if (!c->cache_debug) posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    fflush(NULL);
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

void prewarm_inference(const ocl_ctx *c, const ocl_options *o, const char *ckpt, const net_config *cfg, int H, int W,
                       int batch, int tta) {
    if (!wanted(c, o)) return;
    int b = batch < PREWARM_BATCH ? batch : PREWARM_BATCH;
    char marker[1300];
    marker_path(c, cfg, H, W, 0, tta, marker, sizeof marker);
    static char tried[sizeof marker]; // once per process and key, even where no marker can be written
    if (strcmp(marker, tried) == 0 || access(marker, F_OK) == 0) return;
    snprintf(tried, sizeof tried, "%s", marker);

    char size[64], nb[32];
    snprintf(size, sizeof size, "%dx%d", H, W);
    snprintf(nb, sizeof nb, "%d", b);
    char *argv[] = {"pixloc", "__prewarm", (char *)ckpt, size, nb, tta ? "tta" : "plain", NULL};
    double t0 = px_now();
    pid_t pid = spawn(c, o, argv);
    int status = 0;
    if (pid > 0) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    int ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (c->cache_debug)
        fprintf(stderr, "pixloc: prewarm: child %s in %.3fs (%dx%d, batch %d%s)\n",
                ok ? "compiled the inference kernels" : "failed; compiling in this process", px_now() - t0, H, W, b,
                tta ? ", tta" : "");
    if (!ok) return;
    write_marker(marker);
}

int cmd_prewarm(int argc, char **argv) {
    ocl_options oo = {0};
    ocl_options_from_args(&oo, &argc, argv); // the device flags; then MODEL HxW BATCH tta|plain
    if (argc != 5 || (strcmp(argv[4], "tta") != 0 && strcmp(argv[4], "plain") != 0))
        px_die(PX_EXIT_USAGE, "__prewarm is internal (predict and eval run it): it takes MODEL HxW BATCH tta|plain");
    const char *model = argv[1];
    int H, W;
    cli_size("HxW", argv[2], &H, &W);
    int batch = (int)cli_int("BATCH", argv[3], 1, PREWARM_BATCH), tta = strcmp(argv[4], "tta") == 0;
    // The test hook for the parent's fallback (tests/cli_prewarm.sh).
    if (getenv("PIXLOC_TEST_PREWARM_FAIL")) px_die(PX_EXIT_FAIL, "PIXLOC_TEST_PREWARM_FAIL is set");
    char err[1024];
    train_settings s;
    if (checkpoint_read_settings(model, &s, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    ocl_ctx c;
    oo.quiet = 1;
    ocl_init(&c, &oo);
    net *nt = net_create_kind(&c, &s.net, H, W, batch, NET_KIND_INFERENCE);
    if (checkpoint_load(model, nt, NULL, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    float *img = px_calloc((size_t)batch * H * W, sizeof(float), "blank images");
    int64_t *idx = px_malloc((size_t)batch * sizeof(int64_t), "indices");
    int32_t *xy = px_malloc((size_t)batch * 2 * sizeof(int32_t), "predictions");
    for (int i = 0; i < batch; i++) idx[i] = i;
    predict_indices(nt, batch, tta, img, H, W, idx, batch, xy, NULL, NULL);
    free(img);
    free(idx);
    free(xy);
    net_free(nt);
    ocl_release(&c); // writes pixloc's cache entries
    return PX_EXIT_OK;
}

// ---- training ----

static pid_t train_child = -1;

void prewarm_training(const ocl_ctx *c, const ocl_options *o, const train_settings *s, int H, int W, int batch) {
    if (!wanted(c, o) || c->compute_units < 2) return; // one core: the child would only take turns with us
    char marker[1300];
    marker_path(c, &s->net, H, W, 1, batch, marker, sizeof marker);
    if (access(marker, F_OK) == 0) return;
    char *json;
    train_settings_json(s, &json);
    char size[64], nb[32];
    snprintf(size, sizeof size, "%dx%d", H, W);
    snprintf(nb, sizeof nb, "%d", batch);
    char *argv[] = {"pixloc", "__prewarm-train", json, size, nb, marker, NULL};
    train_child = spawn(c, o, argv);
    free(json);
    if (c->cache_debug)
        fprintf(stderr, "pixloc: prewarm: %s (%dx%d, batch %d)\n",
                train_child > 0 ? "a child compiles the training step's kernels, last first"
                                : "no child could start; compiling in this process",
                H, W, batch);
}

void prewarm_training_reap(void) {
    if (train_child > 0 && waitpid(train_child, NULL, WNOHANG) == train_child) train_child = -1;
}

int cmd_prewarm_train(int argc, char **argv) {
    ocl_options oo = {0};
    ocl_options_from_args(&oo, &argc, argv); // the device flags; then SETTINGS HxW BATCH MARKER
    if (argc != 5)
        px_die(PX_EXIT_USAGE, "__prewarm-train is internal (train runs it): it takes SETTINGS-JSON HxW BATCH MARKER");
    int H, W;
    cli_size("HxW", argv[2], &H, &W);
    int batch = (int)cli_int("BATCH", argv[3], 1, 1 << 20);
    if (getenv("PIXLOC_TEST_PREWARM_FAIL")) px_die(PX_EXIT_FAIL, "PIXLOC_TEST_PREWARM_FAIL is set");
    char err[1024];
    train_settings s;
    if (train_settings_from_json(&s, argv[1], err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    ocl_ctx c;
    oo.quiet = 1;
    oo.compile_helper = 1;
    ocl_init(&c, &oo);
    double t0 = px_now();
    net *nt = net_create(&c, &s.net, H, W, batch); // its programs last first (ocl_program_prefetch_list)
    rng_state g;
    rng_seed(&g, 1);
    net_init(nt, &g);
    size_t n = (size_t)batch * H * W;
    cl_mem img = ocl_buffer(&c, "blank images", n * sizeof(float));
    cl_mem hm = ocl_buffer(&c, "blank heatmaps", n * sizeof(float));
    cl_mem rows = ocl_buffer(&c, "rows", (size_t)batch * sizeof(int64_t));
    int64_t *idx = px_malloc((size_t)batch * sizeof(int64_t), "rows");
    for (int i = 0; i < batch; i++) idx[i] = i;
    ocl_write(&c, rows, 0, idx, (size_t)batch * sizeof(int64_t));
    ocl_fill_float(&c, img, 0.0f, n);
    ocl_fill_float(&c, hm, 0.0f, n);
    // The step's launches, then each kernel's last one, the step's last kernel first: the parent
    // compiles from the first, so the two meet in the middle.
    ocl_record_runs(&c);
    float out[2];
    cl_event done = NULL;
    train_step_enqueue(nt, batch, img, hm, rows, 0, 1e-3f, out, &done);
    ocl_run_recorded(&c);
    ocl_wait(&c, &done);
    if (c.cache_debug) fprintf(stderr, "pixloc: prewarm child: training step compiled in %.3fs\n", px_now() - t0);
    free(idx);
    ocl_free(&img);
    ocl_free(&hm);
    ocl_free(&rows);
    net_free(nt);
    ocl_release(&c);
    write_marker(argv[4]);
    return PX_EXIT_OK;
}
