// The training pipeline through the CLI: a tiny run produces every file; training
// 2 epochs in one go equals 1 epoch + --resume for 1 more, bit for bit; a
// checkpoint saved and loaded predicts identical heatmaps; predict on PNG and PGM
// files; clear errors for truncated and mismatched checkpoints, nothing overwritten.
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "checkpoint.h"
#include "dataset.h"
#include "evaluate.h"
#include "image_io.h"
#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "pixloc.h"
#include "safetensors.h"
#include "test_util.h"

static const char *px;
static char *tmp;

// Runs a shell command; returns its exit status and, if out != NULL, its output (malloc'd).
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...) {
    char cmd[4096], path[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    char full[8192];
    snprintf(full, sizeof full, "(%s) > '%s' 2>&1", cmd, path);
    int st = system(full);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    if (out) *out = px_read_file(path, NULL);
    return rc;
}

static int exists(const char *dir, const char *name) {
    char p[2048];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && st.st_size > 0;
}

// Every tensor of a and b has the same dtype, shape and bytes.
static int same_tensors(const char *a, const char *b, const char *skip_prefix) {
    char err[1024];
    st_file *fa = st_open(a, err, sizeof err), *fb = st_open(b, err, sizeof err);
    if (!fa || !fb) {
        fprintf(stderr, "%s\n", err);
        return 0;
    }
    int ok = st_count(fa) == st_count(fb) && st_count(fa) > 0;
    for (int i = 0; ok && i < st_count(fa); i++) {
        const st_tensor *ta = st_at(fa, i);
        if (skip_prefix && strncmp(ta->name, skip_prefix, strlen(skip_prefix)) == 0) continue;
        const st_tensor *tb = st_find(fb, ta->name);
        if (!tb || tb->nbytes != ta->nbytes || memcmp(ta->data, tb->data, ta->nbytes) != 0) {
            fprintf(stderr, "tensor %s differs between %s and %s\n", ta->name, a, b);
            ok = 0;
        }
    }
    st_close(fa);
    st_close(fb);
    return ok;
}

// A constant learning rate: with the cosine schedule the rate depends on the total
// number of epochs, so "1 epoch of 1" is not the first half of "2 epochs".
#define TINY "--samples 320 --size 12x12 --channels 4,4 --batch-size 16 --seed 7 --quiet --lr-schedule constant"

int main(void) {
    px = getenv("PIXLOC_BIN");
    if (!px || !*px) {
        fprintf(stderr, "PIXLOC_BIN is not set\n");
        return 1;
    }
    tmp = t_tmpdir();
    char a[1024], b[1024], c[1024], p[2048], err[1024];
    snprintf(a, sizeof a, "%s/A", tmp);
    snprintf(b, sizeof b, "%s/B", tmp);
    snprintf(c, sizeof c, "%s/C", tmp);

    // 1. A tiny run end to end: every file.
    int rc = run(NULL, "%s train " TINY " --epochs 2 --out %s", px, a);
    CHECK(rc == 0, "tiny train exited %d", rc);
    const char *files[] = {"config.json",      "history.csv",  "last.safetensors",
                           "best.safetensors", "metrics.json", "report_samples.safetensors",
                           "report/index.html"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) CHECK(exists(a, files[i]), "run dir has %s", files[i]);
    snprintf(p, sizeof p, "%s/history.csv", a);
    char *hist = px_read_file(p, NULL);
    const char *hdr = "epoch,loss,mae,val_loss,val_mae,seconds,samples_per_s\n";
    CHECK(hist && strncmp(hist, hdr, strlen(hdr)) == 0, "history header");
    int rows = 0;
    for (char *q = hist; q && *q; q++) rows += *q == '\n';
    CHECK(rows == 3, "history has a header and 2 epochs (%d lines)", rows);
    free(hist);
    snprintf(p, sizeof p, "%s/config.json", a);
    char *cfg = px_read_file(p, NULL);
    CHECK(cfg && strstr(cfg, "\"device\"") && strstr(cfg, "\"channels\":\"4,4\"") && strstr(cfg, "\"pixloc_version\""),
          "config.json has settings, device and version: %s", cfg ? cfg : "");
    free(cfg);

    // 2. Resume: 1 epoch, then --resume for a second, equals 2 epochs in one go.
    rc = run(NULL, "%s train " TINY " --epochs 1 --no-report --out %s", px, b);
    CHECK(rc == 0, "1-epoch run exited %d", rc);
    rc = run(NULL, "%s train --resume %s --epochs 2 --no-report --quiet", px, b);
    CHECK(rc == 0, "resume exited %d", rc);
    char la[2048], lb[2048];
    snprintf(la, sizeof la, "%s/last.safetensors", a);
    snprintf(lb, sizeof lb, "%s/last.safetensors", b);
    // train/sums holds wall-clock seconds, which differ; everything else must be identical.
    CHECK(same_tensors(la, lb, "train/sums"), "2 epochs == 1 epoch + resume, bit for bit");

    // 3. Eval from the CLI: a table with the baselines; JSON parses as an object with sets.
    char *out = NULL;
    rc = run(&out, "%s eval --model %s --quiet 2>/dev/null || %s eval --model %s", px, a, px, a);
    CHECK(rc == 0 && out && strstr(out, "test") && strstr(out, "matched(test)") && strstr(out, "brightest(test)"),
          "eval table: rc %d: %s", rc, out ? out : "");
    free(out);
    rc = run(&out, "%s eval --model %s --json", px, la);
    CHECK(rc == 0 && out && out[0] == '{' && strstr(out, "\"baselines\"") && strstr(out, "\"matched_filter\""),
          "eval --json: %s", out ? out : "");
    free(out);

    // 4. A checkpoint saved and loaded predicts identical heatmaps.
    ocl_options oo = {0};
    ocl_options_from_env(&oo); // the cache directory and settings, as the CLI reads them
    oo.quiet = 1;
    ocl_ctx ctx;
    ocl_init(&ctx, &oo);
    train_settings s;
    CHECK(checkpoint_read_settings(la, &s, err, sizeof err) == 0, "read settings: %s", err);
    dataset d;
    dataset_generate(&d, &s.rec, 40, 99);
    net *n1 = net_create(&ctx, &s.net, d.H, d.W, 40);
    CHECK(checkpoint_load(la, n1, NULL, err, sizeof err) == 0, "load: %s", err);
    size_t hw = (size_t)d.H * d.W;
    float *h1 = malloc(40 * hw * sizeof(float)), *h2 = malloc(40 * hw * sizeof(float));
    net_set_batch(n1, 40, d.images, NULL);
    net_forward(n1, 40, 0);
    net_read_heatmaps(n1, 40, h1);
    char saved[2048];
    snprintf(saved, sizeof saved, "%s/resaved.safetensors", tmp);
    CHECK(checkpoint_save(saved, n1, &s, NULL, err, sizeof err) == 0, "save: %s", err);
    net *n2 = net_create(&ctx, &s.net, d.H, d.W, 40);
    CHECK(checkpoint_load(saved, n2, NULL, err, sizeof err) == 0, "reload: %s", err);
    net_set_batch(n2, 40, d.images, NULL);
    net_forward(n2, 40, 0);
    net_read_heatmaps(n2, 40, h2);
    CHECK(memcmp(h1, h2, 40 * hw * sizeof(float)) == 0, "identical heatmaps after save/load");
    // A weights-only checkpoint cannot be resumed from.
    train_progress tp;
    CHECK(checkpoint_load(saved, n2, &tp, err, sizeof err) != 0 && strstr(err, "resumable"),
          "weights-only checkpoint refused for resume: %s", err);

    // 5. Mismatched architecture: settings say 4,4 but the tensors come from 4,5.
    train_settings s45 = s;
    int ch45[2] = {4, 5};
    memcpy(s45.net.channels, ch45, sizeof ch45);
    net *n3 = net_create(&ctx, &s45.net, d.H, d.W, 4);
    rng_state g;
    rng_seed(&g, 1);
    net_init(n3, &g);
    char mism[2048];
    snprintf(mism, sizeof mism, "%s/mismatch.safetensors", tmp);
    CHECK(checkpoint_save(mism, n3, &s, NULL, err, sizeof err) == 0, "save mismatched: %s", err);
    rc = run(&out, "%s eval --model %s", px, mism);
    CHECK(rc != 0 && out && strstr(out, "does not match"), "mismatched checkpoint: rc %d: %s", rc, out ? out : "");
    free(out);
    net_free(n1);
    net_free(n2);
    net_free(n3);

    // 6. Truncated checkpoint: clear error; and a resume from it does not overwrite anything.
    char trunc[2048];
    snprintf(trunc, sizeof trunc, "%s/trunc.safetensors", tmp);
    rc = run(NULL, "head -c 3000 %s > %s", la, trunc);
    rc = run(&out, "%s eval --model %s", px, trunc);
    CHECK(rc != 0 && out && strstr(out, "trunc.safetensors"), "truncated checkpoint: rc %d: %s", rc, out ? out : "");
    free(out);
    struct stat before, after;
    stat(la, &before);
    rc = run(&out, "%s train --resume %s --epochs 3 --no-report --quiet", px, trunc);
    stat(la, &after);
    CHECK(rc != 0 && before.st_mtime == after.st_mtime && before.st_size == after.st_size,
          "failed resume leaves the run untouched (rc %d): %s", rc, out ? out : "");
    free(out);

    // 6b. A NaN loss (injected at global step 25: epoch 2, as an epoch is 15 steps) stops training
    //     with a clear message, exit 1, and the checkpoint of epoch 1 stays intact and loadable.
    char nanrun[1024];
    snprintf(nanrun, sizeof nanrun, "%s/N", tmp);
    rc = run(&out, "PIXLOC_TEST_NAN_STEP=25 %s train " TINY " --epochs 3 --no-report --out %s", px, nanrun);
    CHECK(rc == 1 && out && strstr(out, "NaN") && strstr(out, "epoch 2") && strstr(out, "last good checkpoint"),
          "NaN loss stops training: rc %d: %s", rc, out ? out : "");
    free(out);
    snprintf(p, sizeof p, "%s/last.safetensors", nanrun);
    train_progress tpn;
    net *n4 = net_create(&ctx, &s.net, d.H, d.W, 4);
    CHECK(checkpoint_load(p, n4, &tpn, err, sizeof err) == 0 && tpn.epoch == 1 && tpn.step_in_epoch == 0,
          "epoch-1 checkpoint survives the NaN (%s, epoch %lld)", err, (long long)tpn.epoch);
    net_free(n4);

    // 7. predict on PNG and PGM files of the same 8-bit pixels: same answers; a corrupt file
    //    fails on its own and the others are still processed.
    uint8_t pix[12 * 12];
    for (size_t i = 0; i < hw; i++) pix[i] = (uint8_t)lrintf(d.images[i] * 255.0f);
    char png[2048], pgm[2048], bad[2048];
    snprintf(png, sizeof png, "%s/img.png", tmp);
    snprintf(pgm, sizeof pgm, "%s/img.pgm", tmp);
    snprintf(bad, sizeof bad, "%s/bad.png", tmp);
    CHECK(png_write_gray8(png, 12, 12, pix, err, sizeof err) == 0, "write png: %s", err);
    FILE *f = fopen(pgm, "wb");
    fprintf(f, "P5\n12 12\n255\n");
    fwrite(pix, 1, hw, f);
    fclose(f);
    f = fopen(bad, "wb");
    fputs("\x89PNG\r\n\x1a\nnot really", f);
    fclose(f);
    rc = run(&out, "%s predict --model %s %s %s %s", px, la, png, bad, pgm);
    CHECK(rc == 1, "predict with one bad file exits 1 (got %d)", rc);
    int x1 = -1, y1 = -1, x2 = -2, y2 = -2;
    char *l1 = out ? strstr(out, "img.png,") : NULL, *l2 = out ? strstr(out, "img.pgm,") : NULL;
    if (l1) sscanf(l1 + 8, "%d,%d", &x1, &y1);
    if (l2) sscanf(l2 + 8, "%d,%d", &x2, &y2);
    CHECK(out && strstr(out, "input,x,y,peak") && l1 && l2 && x1 == x2 && y1 == y2 && x1 >= 0 && x1 < 12 && y1 >= 0 &&
              y1 < 12,
          "predict PNG == PGM: %s", out ? out : "");
    CHECK(out && strstr(out, "bad.png"), "the bad file is named: %s", out ? out : "");
    free(out);
    char hdir[2048];
    snprintf(hdir, sizeof hdir, "%s/heat", tmp);
    rc = run(&out, "%s predict --model %s --json --heatmap-out %s %s", px, la, hdir, png);
    CHECK(rc == 0 && out && strstr(out, "\"x\": ") && exists(hdir, "img.png.heatmap.png"),
          "predict --json + heatmap: %s", out ? out : "");
    free(out);

    free(h1);
    free(h2);
    dataset_free(&d);
    ocl_release(&ctx);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return t_summary();
}
