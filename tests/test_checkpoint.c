// Hand-made and damaged checkpoints are refused at load, naming what is wrong: settings out of
// range (bn_eps <= 0, val_frac >= 1, batch 0 ...), non-finite weights or Adam moments, and a
// training position that cannot be (negative step, best epoch after the current one). Each
// case starts from a real checkpoint of a tiny net, changes one thing and expects the error.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "net.h"
#include "ocl.h"
#include "pixloc.h"
#include "safetensors.h"
#include "test_util.h"

// Copies checkpoint `in` to `out`, replacing `key` (a JSON key inside the settings metadata) by
// `value` if key != NULL, and element `elem` of tensor `tensor` by `fval` (F32) / `ival` (I64).
static void copy_changed(const char *in, const char *out, const char *key, const char *value, const char *tensor,
                         size_t elem, float fval, int64_t ival) {
    char err[512];
    st_file *f = st_open(in, err, sizeof err);
    if (!f) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    st_writer *w = st_writer_new();
    for (int i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        void *data = malloc(t->nbytes ? t->nbytes : 1);
        memcpy(data, t->data, t->nbytes);
        if (tensor && strcmp(t->name, tensor) == 0) {
            if (t->dtype == ST_F32) ((float *)data)[elem] = fval;
            if (t->dtype == ST_I64) ((int64_t *)data)[elem] = ival;
        }
        st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, data);
        free(data);
    }
    for (int i = 0; i < st_meta_count(f); i++) {
        const char *k, *v;
        st_meta_at(f, i, &k, &v);
        if (key && strcmp(k, "settings") == 0) {
            // "key":<old value> -> "key":value (values in the settings JSON have no ',' inside numbers).
            char pat[64];
            snprintf(pat, sizeof pat, "\"%s\":", key);
            const char *at = strstr(v, pat);
            if (!at) {
                fprintf(stderr, "no %s in settings\n", key);
                exit(1);
            }
            const char *end = at + strlen(pat);
            while (*end && *end != ',' && *end != '}') end++;
            px_sbuf b = {0};
            px_sbuf_add(&b, v, (size_t)(at - v));
            px_sbuf_printf(&b, "%s%s", pat, value);
            px_sbuf_str(&b, end);
            st_writer_meta(w, k, b.s);
            free(b.s);
        } else {
            st_writer_meta(w, k, v);
        }
    }
    if (st_writer_save(w, out, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    st_writer_free(w);
    st_close(f);
}

// Loads `path` into a net of the settings; returns 0/-1 and the message in err.
static int load(ocl_ctx *c, const char *path, char *err, size_t errlen) {
    train_settings s;
    if (checkpoint_read_settings(path, &s, err, errlen) != 0) return -1;
    net *n = net_create(c, &s.net, s.rec.H, s.rec.W, 2);
    train_progress p;
    int rc = checkpoint_load(path, n, &p, err, errlen);
    net_free(n);
    return rc;
}

static void expect_refused(ocl_ctx *c, const char *what, const char *path, const char *fragment) {
    char err[1024] = "";
    int rc = load(c, path, err, sizeof err);
    CHECK(rc != 0, "%s: loaded", what);
    CHECK(strstr(err, fragment) != NULL, "%s: message '%s' lacks '%s'", what, err, fragment);
}

// checkpoint_read_position (train --resume's early look at a run) on `path`: accepted (want_ok)
// or refused as out of range, as checkpoint_load refuses it.
static void expect_position(const char *what, const char *path, int want_ok) {
    char err[1024] = "", row[256];
    int64_t epoch = -1, step = -1;
    int rc = checkpoint_read_position(path, &epoch, &step, row, sizeof row, err, sizeof err);
    if (want_ok)
        CHECK(rc == 0 && epoch >= 0 && step >= 0, "%s: position read: rc %d, epoch %lld, step %lld (%s)", what, rc,
              (long long)epoch, (long long)step, err);
    else
        CHECK(rc != 0 && strstr(err, "training position is out of range") != NULL,
              "%s: position accepted: rc %d, message '%s'", what, rc, err);
}

int main(void) {
    ocl_ctx c;
    ocl_options oo = {0};
    oo.quiet = 1;
    ocl_init(&c, &oo);
    char *dir = t_tmpdir(), good[1024], bad[1024];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);

    train_settings s;
    CHECK(train_settings_preset(&s, "default") == 0, "preset");
    s.rec.H = s.rec.W = 6;
    s.samples = 20;
    s.batch = 2;
    char err[1024];
    CHECK(net_config_channels(&s.net, "2,3", err, sizeof err) == 0, "%s", err);
    net *n = net_create(&c, &s.net, 6, 6, 2);
    rng_state g;
    rng_seed(&g, 5);
    net_init(n, &g);
    train_progress p = {0};
    p.epoch = 2;
    p.best_epoch = 1;
    p.best_val_loss = 0.5;
    CHECK(checkpoint_save(good, n, &s, &p, err, sizeof err) == 0, "%s", err);
    net_free(n);

    // The unchanged file loads, and so does an unchanged copy (the copier itself is sound).
    CHECK(load(&c, good, err, sizeof err) == 0, "good checkpoint: %s", err);
    copy_changed(good, bad, NULL, NULL, NULL, 0, 0, 0);
    CHECK(load(&c, bad, err, sizeof err) == 0, "unchanged copy: %s", err);

    static const struct {
        const char *key, *value, *fragment;
    } settings[] = {
        {"bn_eps", "-1", "'bn_eps' is out of range"},
        {"bn_eps", "0", "'bn_eps' is out of range"},
        {"val_frac", "1.5", "'val_frac' is out of range"},
        {"test_frac", "-0.1", "'test_frac' is out of range"},
        {"batch_size", "0", "'batch_size' is out of range"},
        {"lr", "-1", "'lr' is out of range"},
        {"bn_momentum", "1.5", "'bn_momentum' is out of range"},
        {"epochs", "0", "'epochs' is out of range"},
        {"samples", "-3", "'samples' is out of range"},
        {"lr_min_frac", "2", "'lr_min_frac' is out of range"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        copy_changed(good, bad, settings[i].key, settings[i].value, NULL, 0, 0, 0);
        char what[96];
        snprintf(what, sizeof what, "%s=%s", settings[i].key, settings[i].value);
        expect_refused(&c, what, bad, settings[i].fragment);
    }
    copy_changed(good, bad, NULL, NULL, "conv1.kernel", 7, NAN, 0);
    expect_refused(&c, "NaN weight", bad, "tensor 'conv1.kernel' element 7 is NaN");
    copy_changed(good, bad, NULL, NULL, "head.bias", 0, INFINITY, 0);
    expect_refused(&c, "infinite head bias", bad, "tensor 'head.bias' element 0 is infinite");
    copy_changed(good, bad, NULL, NULL, "bn0.moving_variance", 1, NAN, 0);
    expect_refused(&c, "NaN moving variance", bad, "'bn0.moving_variance' element 1 is NaN");
    copy_changed(good, bad, NULL, NULL, "adam/v", 3, NAN, 0);
    expect_refused(&c, "NaN Adam moment", bad, "tensor 'adam/v' element 3 is NaN");
    expect_position("the good checkpoint", good, 1);
    copy_changed(good, bad, NULL, NULL, "train/position", 1, 0, -4);
    expect_refused(&c, "negative step in epoch", bad, "training position is out of range");
    expect_position("negative step in epoch", bad, 0);
    copy_changed(good, bad, NULL, NULL, "train/position", 0, 0, -1);
    expect_refused(&c, "negative epoch", bad, "training position is out of range");
    expect_position("negative epoch", bad, 0);
    copy_changed(good, bad, NULL, NULL, "train/position", 0, 0, 200000);
    expect_refused(&c, "epoch past any run", bad, "training position is out of range");
    expect_position("epoch past any run", bad, 0);
    copy_changed(good, bad, NULL, NULL, "train/counts", 1, 0, 9);
    expect_refused(&c, "best epoch after the current one", bad, "best epoch 9");

    remove(good);
    remove(bad);
    free(dir);
    ocl_release(&c);
    return t_summary();
}
