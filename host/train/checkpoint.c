// Checkpoints; see include/checkpoint.h.
#include "checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json_text.h"
#include "parse.h"
#include "pixloc.h"
#include "safetensors.h"

static void ints_to_string(const int *v, int n, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < len; i++) o += (size_t)snprintf(buf + o, len - o, i ? ",%d" : "%d", v[i]);
}

void train_settings_json(const train_settings *s, char **out) {
    cJSON *j = cJSON_CreateObject();
    char buf[512];
    cJSON_AddStringToObject(j, "preset", s->preset);
    cJSON_AddNumberToObject(j, "samples", s->samples);
    cJSON_AddNumberToObject(j, "seed", s->seed);
    cJSON_AddStringToObject(j, "data", s->data);
    recipe_to_string(&s->rec, buf, sizeof buf);
    cJSON_AddStringToObject(j, "recipe", buf);
    ints_to_string(s->net.channels, s->net.nblocks, buf, sizeof buf);
    cJSON_AddStringToObject(j, "channels", buf);
    ints_to_string(s->net.relu, s->net.nblocks, buf, sizeof buf);
    cJSON_AddStringToObject(j, "relu", buf);
    ints_to_string(s->net.bn, s->net.nblocks, buf, sizeof buf);
    cJSON_AddStringToObject(j, "bn", buf);
    cJSON_AddNumberToObject(j, "bn_momentum", s->net.bn_momentum);
    cJSON_AddNumberToObject(j, "bn_eps", s->net.bn_eps);
    cJSON_AddNumberToObject(j, "head_bias_init", s->net.head_bias_init);
    cJSON_AddStringToObject(j, "loss", net_loss_name(s->net.loss));
    cJSON_AddStringToObject(j, "input_filter", input_filter_name(s->net.input_filter));
    cJSON_AddNumberToObject(j, "filter_fraction", s->net.filter_fraction);
    cJSON_AddNumberToObject(j, "label_sigma", s->label_sigma);
    cJSON_AddNumberToObject(j, "epochs", s->epochs);
    cJSON_AddNumberToObject(j, "batch_size", s->batch);
    cJSON_AddNumberToObject(j, "lr", s->lr);
    cJSON_AddStringToObject(j, "lr_schedule", s->lr_schedule);
    cJSON_AddNumberToObject(j, "lr_min_frac", s->lr_min_frac);
    cJSON_AddNumberToObject(j, "bn_reestimate", s->bn_reestimate);
    cJSON_AddBoolToObject(j, "fresh_data", s->fresh_data);
    cJSON_AddNumberToObject(j, "test_frac", s->test_frac);
    cJSON_AddNumberToObject(j, "val_frac", s->val_frac);
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
}

// See include/train/checkpoint.h.
char *train_config_json(const train_settings *s, const ocl_ctx *c, size_t parameters, size_t non_trainable,
                        int processes, double seconds) {
    char *js;
    train_settings_json(s, &js);
    cJSON *j = cJSON_Parse(js);
    free(js);
    if (!j) px_die(PX_EXIT_FAIL, "config.json: the training settings do not parse");
    json_add_string(j, "device", c->device_name);
    cJSON_AddStringToObject(j, "device_type", c->is_gpu ? "GPU" : (c->is_cpu ? "CPU" : "other"));
    json_add_string(j, "driver", c->driver_version);
    json_add_string(j, "platform", c->platform_name);
    json_add_string(j, "pixloc_version", PIXLOC_VERSION);
    cJSON_AddNumberToObject(j, "parameters", (double)parameters);
    cJSON_AddNumberToObject(j, "non_trainable", (double)non_trainable);
    cJSON_AddNumberToObject(j, "processes", processes);
    if (seconds >= 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.1f", seconds);
        cJSON_AddNumberToObject(j, "seconds_total", strtod(buf, NULL));
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) px_die(PX_EXIT_FAIL, "config.json: out of memory");
    size_t n = strlen(text);
    char *out = px_malloc(n + 2, "config.json");
    memcpy(out, text, n);
    out[n] = '\n';
    out[n + 1] = 0;
    cJSON_free(text);
    return out;
}

static int parse_int_list(const char *s, int *out, int max) {
    return px_parse_int_list(s, out, max, INT_MIN, INT_MAX, NULL, 0); // the rules of parse.h
}

// An optional number key: *out is the value, or dflt when the key is absent. 0, or -1 with
// "training settings: 'KEY' must be a number in RANGE" when it is not a number in [lo, hi]
// (lo itself excluded when lo_open).
static int optional_number(const cJSON *j, const char *key, double dflt, double lo, int lo_open, double hi,
                           const char *range, double *out, char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *out = dflt;
    if (!v) return 0;
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(x >= lo && x <= hi && !(lo_open && x == lo))) {
        snprintf(err, errlen, "training settings: '%s' must be a number in %s", key, range);
        return -1;
    }
    *out = x;
    return 0;
}

int train_settings_from_json(train_settings *s, const char *json, char *err, size_t errlen) {
    cJSON *j = cJSON_Parse(json);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(err, errlen, "training settings are not a JSON object");
        return -1;
    }
    memset(s, 0, sizeof *s);
    net_config_seed(&s->net);
    recipe_default(&s->rec);
    int rc = 0;
#define STR(key, dst)                                                                                                  \
    do {                                                                                                               \
        cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);                                                           \
        if (!cJSON_IsString(v)) {                                                                                      \
            snprintf(err, errlen, "training settings lack '%s'", key);                                                 \
            rc = -1;                                                                                                   \
            goto done;                                                                                                 \
        }                                                                                                              \
        snprintf((dst), sizeof(dst), "%s", v->valuestring);                                                            \
    } while (0)
// A number outside the destination type's range [lo, hi] is an error (converting it would be undefined).
#define NUM(key, dst, type, lo, hi)                                                                                    \
    do {                                                                                                               \
        cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);                                                           \
        if (!cJSON_IsNumber(v)) {                                                                                      \
            snprintf(err, errlen, "training settings lack '%s'", key);                                                 \
            rc = -1;                                                                                                   \
            goto done;                                                                                                 \
        }                                                                                                              \
        if (!(v->valuedouble >= (lo) && v->valuedouble <= (hi))) {                                                     \
            snprintf(err, errlen, "training settings: '%s' is out of range (%g)", key, v->valuedouble);                \
            rc = -1;                                                                                                   \
            goto done;                                                                                                 \
        }                                                                                                              \
        (dst) = (type)v->valuedouble;                                                                                  \
    } while (0)
    char rec[512], ch[512], relu[512], bn[512];
    STR("preset", s->preset);
    NUM("samples", s->samples, int, 1, 10000000);
    NUM("seed", s->seed, uint32_t, 0, UINT32_MAX);
    STR("data", s->data);
    STR("recipe", rec);
    STR("channels", ch);
    STR("relu", relu);
    STR("bn", bn);
    NUM("bn_momentum", s->net.bn_momentum, float, 0, 0.99999);
    NUM("bn_eps", s->net.bn_eps, float, 1e-12, 1);
    NUM("head_bias_init", s->net.head_bias_init, float, -20, 20);
    NUM("epochs", s->epochs, int, 1, 100000);
    NUM("batch_size", s->batch, int, 1, 65536);
    NUM("lr", s->lr, double, 1e-9, 10);
    STR("lr_schedule", s->lr_schedule);
    NUM("lr_min_frac", s->lr_min_frac, double, 0, 1);
    NUM("bn_reestimate", s->bn_reestimate, int, 0, 100000);
    NUM("test_frac", s->test_frac, double, 0, 0.99);
    NUM("val_frac", s->val_frac, double, 0, 0.99);
    {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "fresh_data");
        s->fresh_data = cJSON_IsTrue(v);
        // "loss" came with the cross-entropy option: a checkpoint without it trained with MSE.
        v = cJSON_GetObjectItemCaseSensitive(j, "loss");
        if (v && (!cJSON_IsString(v) || (s->net.loss = net_loss_parse(v->valuestring)) < 0)) {
            snprintf(err, errlen, "training settings: 'loss' must be \"mse\" or \"bce\"");
            rc = -1;
            goto done;
        }
        // "input_filter" came with the impulse filter: a checkpoint without it had none.
        v = cJSON_GetObjectItemCaseSensitive(j, "input_filter");
        if (v && (!cJSON_IsString(v) || (s->net.input_filter = input_filter_parse(v->valuestring)) < 0)) {
            snprintf(err, errlen, "training settings: 'input_filter' must be \"none\" or \"impulse\"");
            rc = -1;
            goto done;
        }
        // Keys later versions added; a checkpoint without one had its default.
        // "filter_fraction" came with --filter-fraction (absent: the filter on every image) and
        // "label_sigma" with train --sigma (absent: 0, the data's sigma).
        double ff, ls;
        if (optional_number(j, "filter_fraction", 1, 0, 1, 1, "(0, 1]", &ff, err, errlen) != 0 ||
            optional_number(j, "label_sigma", 0, 0, 0, 1e4, "[0, 10000] (0: the data's)", &ls, err, errlen) != 0) {
            rc = -1;
            goto done;
        }
        s->net.filter_fraction = (float)ff;
        s->label_sigma = ls;
    }
    if (recipe_from_string(&s->rec, rec, err, errlen) != 0) {
        rc = -1;
        goto done;
    }
    int n1 = parse_int_list(ch, s->net.channels, NET_MAX_BLOCKS);
    int n2 = parse_int_list(relu, s->net.relu, NET_MAX_BLOCKS);
    int n3 = parse_int_list(bn, s->net.bn, NET_MAX_BLOCKS);
    if (n1 <= 0 || n1 != n2 || n1 != n3) {
        snprintf(err, errlen, "architecture in the settings is malformed (channels '%s')", ch);
        rc = -1;
        goto done;
    }
    for (int i = 0; i < n1; i++)
        if ((s->net.relu[i] != 0 && s->net.relu[i] != 1) || (s->net.bn[i] != 0 && s->net.bn[i] != 1)) {
            snprintf(err, errlen, "architecture in the settings: relu/bn flags must be 0 or 1 ('%s', '%s')", relu, bn);
            rc = -1;
            goto done;
        }
    for (int i = 0; i < n1; i++)
        if (s->net.channels[i] < 1 || s->net.channels[i] > 4096) {
            snprintf(err, errlen, "architecture in the settings has a bad channel count %d", s->net.channels[i]);
            rc = -1;
            goto done;
        }
    s->net.nblocks = n1;
    if (s->batch < 1 || s->epochs < 0 || s->rec.H < 1 || s->rec.W < 1) {
        snprintf(err, errlen, "training settings out of range");
        rc = -1;
    }
#undef STR
#undef NUM
done:
    cJSON_Delete(j);
    return rc;
}

// The "device" metadata: what decides the bits a training step computes besides the
// settings: the device, its driver and platform, and each layer's kernel variant.
static char *device_json(const net *n) {
    const ocl_ctx *c = net_ctx(n);
    char kernels[4096];
    net_kernels_describe(n, kernels, sizeof kernels);
    cJSON *j = cJSON_CreateObject();
    json_add_string(j, "name", c->device_name);
    json_add_string(j, "driver", c->driver_version);
    json_add_string(j, "platform", c->platform_name);
    json_add_string(j, "platform_version", c->platform_version);
    cJSON_AddStringToObject(j, "type", c->is_gpu ? "GPU" : (c->is_cpu ? "CPU" : "other"));
    json_add_string(j, "kernels", kernels);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) px_die(PX_EXIT_FAIL, "checkpoint: out of memory");
    return text;
}

// One field of a "device" object ("" if missing).
static const char *dev_field(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

int checkpoint_device_note(const char *path, const net *n, char *msg, size_t len) {
    if (len) msg[0] = 0;
    char err[512];
    st_file *f = st_open(path, err, sizeof err);
    if (!f) return 0;
    const char *rec = st_meta(f, "device");
    cJSON *was = rec ? cJSON_Parse(rec) : NULL;
    st_close(f);
    if (!was) return 0; // older checkpoints record no device: nothing to compare
    char *now_text = device_json(n);
    cJSON *now = cJSON_Parse(now_text);
    cJSON_free(now_text);
    static const char *const keys[] = {"name", "driver", "platform", "platform_version", "kernels"};
    static const char *const what[] = {"device", "driver", "platform", "platform version", "kernel variants"};
    size_t o = 0;
    int differs = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *a = dev_field(was, keys[i]), *b = now ? dev_field(now, keys[i]) : "";
        if (strcmp(a, b) == 0) continue;
        if (!differs++ && o < len)
            o += (size_t)snprintf(msg + o, len - o,
                                  "%s was trained with other kernels than this run uses, so the continuation will "
                                  "not be bit-identical to an uninterrupted run (it is still a valid continuation):",
                                  path);
        if (o < len) o += (size_t)snprintf(msg + o, len - o, "\n  %s: '%s' then, '%s' now", what[i], a, b);
    }
    cJSON_Delete(was);
    cJSON_Delete(now);
    return differs != 0;
}

int checkpoint_save(const char *path, net *n, const train_settings *s, const train_progress *p, char *err,
                    size_t errlen) {
    st_writer *w = st_writer_new();
    int nt = net_tensor_count(n);
    size_t maxc = 0;
    for (int i = 0; i < nt; i++)
        if (net_tensor_at(n, i)->count > maxc) maxc = net_tensor_at(n, i)->count;
    float *buf = px_malloc(maxc * sizeof(float), "checkpoint tensor");
    for (int i = 0; i < nt; i++) {
        const net_tensor *t = net_tensor_at(n, i);
        net_get_tensor(n, i, buf);
        st_writer_add(w, t->name, ST_F32, t->ndim, t->shape, buf);
    }
    free(buf);
    char *json;
    train_settings_json(s, &json);
    st_writer_meta(w, "format", "pixloc-checkpoint");
    st_writer_meta(w, "pixloc_version", PIXLOC_VERSION);
    st_writer_meta(w, "settings", json);
    free(json);
    char *dev = device_json(n);
    st_writer_meta(w, "device", dev);
    cJSON_free(dev);
    if (p) {
        size_t np = net_trainable_count(n);
        float *m = px_malloc(np * sizeof(float), "adam m"), *v = px_malloc(np * sizeof(float), "adam v");
        int64_t step;
        net_get_adam(n, m, v, &step);
        int64_t shp[1] = {(int64_t)np};
        st_writer_add(w, "adam/m", ST_F32, 1, shp, m);
        st_writer_add(w, "adam/v", ST_F32, 1, shp, v);
        free(m);
        free(v);
        int64_t one[1] = {1}, words[1] = {RNG_STATE_WORDS}, two[1] = {2};
        st_writer_add(w, "adam/step", ST_I64, 1, one, &step);
        int64_t pos[2] = {p->epoch, p->step_in_epoch};
        st_writer_add(w, "train/position", ST_I64, 1, two, pos);
        st_writer_add(w, "train/shuffle_rng", ST_U32, 1, words, p->shuffle_rng);
        st_writer_add(w, "train/data_rng", ST_U32, 1, words, p->data_rng);
        double sums[4] = {p->run_loss, p->run_mae, p->best_val_loss, p->seconds};
        int64_t four[1] = {4};
        st_writer_add(w, "train/sums", ST_F64, 1, four, sums);
        int64_t counts[2] = {p->run_count, p->best_epoch};
        st_writer_add(w, "train/counts", ST_I64, 1, two, counts);
        if (p->history_row[0]) st_writer_meta(w, "history_row", p->history_row);
    }
    int rc = st_writer_save(w, path, err, errlen);
    st_writer_free(w);
    return rc;
}

// Every value of a float tensor must be finite (a NaN weight would give plausible-looking
// coordinates from a broken model); returns -1 naming the tensor and the element.
static int check_finite(const char *path, const char *name, const float *x, size_t n, char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) {
            snprintf(err, errlen, "%s: tensor '%s' element %zu is %s: the checkpoint is damaged", path, name, i,
                     isnan(x[i]) ? "NaN" : "infinite");
            return -1;
        }
    return 0;
}

static st_file *open_checkpoint(const char *path, train_settings *s, char *err, size_t errlen) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen,
                 "%s: is a directory, not a checkpoint file (give DIR/best.safetensors or "
                 "DIR/last.safetensors)",
                 path);
        return NULL;
    }
    st_file *f = st_open(path, err, errlen);
    if (!f) return NULL;
    const char *fmt = st_meta(f, "format");
    const char *js = st_meta(f, "settings");
    if (!fmt || strcmp(fmt, "pixloc-checkpoint") != 0 || !js) {
        snprintf(err, errlen, "%s: not a pixloc checkpoint (metadata 'format' is %s%s%s)", path, fmt ? "'" : "",
                 fmt ? fmt : "missing", fmt ? "'" : "");
        st_close(f);
        return NULL;
    }
    char e2[512];
    if (train_settings_from_json(s, js, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "%s: %s", path, e2);
        st_close(f);
        return NULL;
    }
    return f;
}

int checkpoint_read_settings(const char *path, train_settings *s, char *err, size_t errlen) {
    st_file *f = open_checkpoint(path, s, err, errlen);
    if (!f) return -1;
    st_close(f);
    return 0;
}

// The history row a checkpoint carries, "" where it has none (or one too long for len).
static void read_history_row(st_file *f, char *out, size_t len) {
    const char *row = st_meta(f, "history_row");
    snprintf(out, len, "%s", row && strlen(row) < len ? row : "");
}

// Whether a stored training position (epochs done, steps into the next) is in range.
static int position_ok(const int64_t pos[2]) { return pos[0] >= 0 && pos[0] <= 100000 && pos[1] >= 0; }

int checkpoint_read_position(const char *path, int64_t *epoch, int64_t *step_in_epoch, char *history_row,
                             size_t row_len, char *err, size_t errlen) {
    train_settings s;
    st_file *f = open_checkpoint(path, &s, err, errlen);
    if (!f) return -1;
    int64_t two[1] = {2}, pos[2];
    const st_tensor *x = st_expect(f, "train/position", ST_I64, 1, two, err, errlen);
    int ok = 0;
    if (x) {
        memcpy(pos, x->data, sizeof pos);
        ok = position_ok(pos); // (a damaged one: checkpoint_load says so)
        if (!ok) snprintf(err, errlen, "%s: the training position is out of range", path);
        *epoch = pos[0];
        *step_in_epoch = pos[1];
        read_history_row(f, history_row, row_len);
    }
    st_close(f);
    return ok ? 0 : -1;
}

int checkpoint_load(const char *path, net *n, train_progress *p, char *err, size_t errlen) {
    train_settings s;
    st_file *f = open_checkpoint(path, &s, err, errlen);
    if (!f) return -1;
    int rc = -1;
    int nt = net_tensor_count(n);
    for (int i = 0; i < nt; i++) {
        const net_tensor *t = net_tensor_at(n, i);
        const st_tensor *x = st_expect(f, t->name, ST_F32, t->ndim, t->shape, err, errlen);
        if (!x) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, " (the checkpoint's architecture does not match this network)");
            goto out;
        }
        if (check_finite(path, t->name, (const float *)x->data, t->count, err, errlen) != 0) goto out;
        net_set_tensor(n, i, (const float *)x->data);
    }
    if (p) {
        int64_t np = (int64_t)net_trainable_count(n);
        int64_t shp[1] = {np}, one[1] = {1}, two[1] = {2}, four[1] = {4}, words[1] = {RNG_STATE_WORDS};
        const st_tensor *m = st_expect(f, "adam/m", ST_F32, 1, shp, err, errlen);
        const st_tensor *v = m ? st_expect(f, "adam/v", ST_F32, 1, shp, err, errlen) : NULL;
        const st_tensor *step = v ? st_expect(f, "adam/step", ST_I64, 1, one, err, errlen) : NULL;
        const st_tensor *pos = step ? st_expect(f, "train/position", ST_I64, 1, two, err, errlen) : NULL;
        const st_tensor *sr = pos ? st_expect(f, "train/shuffle_rng", ST_U32, 1, words, err, errlen) : NULL;
        const st_tensor *dr = sr ? st_expect(f, "train/data_rng", ST_U32, 1, words, err, errlen) : NULL;
        const st_tensor *sums = dr ? st_expect(f, "train/sums", ST_F64, 1, four, err, errlen) : NULL;
        const st_tensor *cnt = sums ? st_expect(f, "train/counts", ST_I64, 1, two, err, errlen) : NULL;
        if (!cnt) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, " (not a resumable checkpoint: it has no training state)");
            goto out;
        }
        int64_t st_step, ipos[2], icnt[2];
        double dsums[4];
        memcpy(&st_step, step->data, 8);
        memcpy(ipos, pos->data, 16);
        memcpy(icnt, cnt->data, 16);
        memcpy(dsums, sums->data, 32);
        if (check_finite(path, "adam/m", (const float *)m->data, (size_t)np, err, errlen) != 0 ||
            check_finite(path, "adam/v", (const float *)v->data, (size_t)np, err, errlen) != 0)
            goto out;
        if (st_step < 0 || !position_ok(ipos) || icnt[0] < 0 || icnt[1] < 0 || icnt[1] > ipos[0] ||
            !isfinite(dsums[0]) || !isfinite(dsums[1]) || !(dsums[3] >= 0)) {
            snprintf(err, errlen,
                     "%s: the training position is out of range (epoch %lld, step %lld, best epoch "
                     "%lld): the checkpoint is damaged",
                     path, (long long)ipos[0], (long long)ipos[1], (long long)icnt[1]);
            goto out;
        }
        net_set_adam(n, (const float *)m->data, (const float *)v->data, st_step);
        p->epoch = ipos[0];
        p->step_in_epoch = ipos[1];
        memcpy(p->shuffle_rng, sr->data, sizeof p->shuffle_rng);
        memcpy(p->data_rng, dr->data, sizeof p->data_rng);
        p->run_loss = dsums[0];
        p->run_mae = dsums[1];
        p->best_val_loss = dsums[2];
        p->seconds = dsums[3];
        p->run_count = icnt[0];
        p->best_epoch = icnt[1];
        read_history_row(f, p->history_row, sizeof p->history_row);
    }
    rc = 0;
out:
    st_close(f);
    return rc;
}

void checkpoint_resolve(const char *dir_or_file, const char *which, char *out, size_t len) {
    struct stat st;
    if (stat(dir_or_file, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, len, "%s/%s.safetensors", dir_or_file, which);
    else
        snprintf(out, len, "%s", dir_or_file);
}
