// JSON written through cJSON: config.json for a device whose name and driver hold quotes,
// backslashes, control characters and invalid UTF-8 reads back with cJSON, every value intact
// and each invalid byte replaced by U+FFFD, in the same field order as before; eval JSON with NaN
// metrics parses (NaN as null) and keeps its layout; utf8_sanitize on the classic invalid forms.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "evaluate.h"
#include "json_text.h"
#include "pixloc.h"
#include "test_util.h"
#include "trainer.h"
#include "utf8.h"

static void check_sanitize(const char *in, const char *want) {
    char *got = utf8_sanitize(in);
    CHECK(strcmp(got, want) == 0, "utf8_sanitize: got '%s', want '%s'", got, want);
    free(got);
}

#define FFFD "\xef\xbf\xbd"

static void test_utf8(void) {
    check_sanitize("plain ascii", "plain ascii");
    check_sanitize("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    check_sanitize("a\xff"
                   "b",
                   "a" FFFD "b");
    check_sanitize("\xc0\xaf", FFFD FFFD);                   // overlong '/'
    check_sanitize("\xed\xa0\x80", FFFD FFFD FFFD);          // surrogate U+D800
    check_sanitize("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); // past U+10FFFF
    check_sanitize("x\xe2\x82", "x" FFFD FFFD);              // truncated at the end
    check_sanitize("\xc3(", FFFD "(");                       // bad continuation
    check_sanitize(NULL, "");
}

static const char *str_field(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_config(void) {
    train_settings s;
    CHECK(train_settings_preset(&s, "default") == 0, "preset default");
    CHECK(train_settings_preset(&s, "bogus") == -1, "preset bogus is refused");
    ocl_ctx c;
    memset(&c, 0, sizeof c);
    snprintf(c.device_name, sizeof c.device_name, "Dev \"quoted\" back\\slash\ttab\x01\x1f bad\xff\xfe end");
    snprintf(c.driver_version, sizeof c.driver_version, "drv\\\"\n\xc3(\xe2\x82\xac");
    snprintf(c.platform_name, sizeof c.platform_name, "Portable");
    c.is_cpu = 1;
    char *text = train_config_json(&s, &c, 1234, 56, 3, 12.34);
    size_t n = strlen(text);
    CHECK(n > 0 && text[n - 1] == '\n' && strchr(text, '\n') == text + n - 1, "config.json is one line: %s", text);
    cJSON *j = cJSON_Parse(text);
    CHECK(j != NULL, "config.json parses: %s", text);
    if (j) {
        const char *dev = str_field(j, "device"), *drv = str_field(j, "driver");
        const char *want_dev = "Dev \"quoted\" back\\slash\ttab\x01\x1f bad" FFFD FFFD " end";
        const char *want_drv = "drv\\\"\n" FFFD "(\xe2\x82\xac";
        CHECK(dev && strcmp(dev, want_dev) == 0, "device round-trips: '%s'", dev ? dev : "(missing)");
        CHECK(drv && strcmp(drv, want_drv) == 0, "driver round-trips: '%s'", drv ? drv : "(missing)");
        CHECK(str_field(j, "device_type") && strcmp(str_field(j, "device_type"), "CPU") == 0, "device_type");
        CHECK(str_field(j, "channels") && strcmp(str_field(j, "channels"), "16,32,64,32,16") == 0, "channels");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "parameters");
        const cJSON *secs = cJSON_GetObjectItemCaseSensitive(j, "seconds_total");
        CHECK(cJSON_IsNumber(p) && p->valuedouble == 1234, "parameters");
        const cJSON *np = cJSON_GetObjectItemCaseSensitive(j, "processes");
        CHECK(cJSON_IsNumber(np) && np->valueint == 3, "processes");
        CHECK(cJSON_IsNumber(secs) && secs->valuedouble == 12.3, "seconds_total to 0.1 s");
        // The settings first (as in a checkpoint), then the appended fields in their order.
        const char *tail[] = {"val_frac",       "device",     "device_type",   "driver",    "platform",
                              "pixloc_version", "parameters", "non_trainable", "processes", "seconds_total"};
        const cJSON *it = j->child;
        CHECK(it && strcmp(it->string, "preset") == 0, "preset is the first field");
        while (it && strcmp(it->string, "val_frac") != 0) it = it->next;
        for (size_t k = 0; k < sizeof tail / sizeof *tail; k++, it = it ? it->next : NULL)
            CHECK(it && strcmp(it->string, tail[k]) == 0, "field %zu is %s (got %s)", k, tail[k],
                  it ? it->string : "(end)");
        CHECK(it == NULL, "no field after seconds_total");
        // The settings part still reads back as training settings.
        train_settings back;
        char err[256];
        CHECK(train_settings_from_json(&back, text, err, sizeof err) == 0 && back.epochs == s.epochs &&
                  back.lr == s.lr && back.net.nblocks == s.net.nblocks,
              "config.json's settings read back: %s", err);
    }
    cJSON_Delete(j);
    free(text);
    text = train_config_json(&s, &c, 1, 0, 1, -1);
    CHECK(strstr(text, "seconds_total") == NULL, "no seconds_total before training ends");
    CHECK(strstr(text, "\"input_filter\":\"impulse\"") != NULL && strstr(text, "\"filter_fraction\":0.5") != NULL,
          "the default preset has the input filter on half the training images: %s", text);
    CHECK(s.label_sigma == 0.8 && strstr(text, "\"label_sigma\":0.8") != NULL,
          "the default preset trains on targets 0.8 px wide: %s", text);
    free(text);
    // The accurate preset: the default's settings with the impulse filter and more epochs, and
    // the filter survives the settings' JSON.
    train_settings acc, back;
    char err[256];
    CHECK(train_settings_preset(&acc, "accurate") == 0, "preset accurate");
    CHECK(acc.net.input_filter == NET_FILTER_IMPULSE && acc.net.filter_fraction == 1.0f && acc.epochs > s.epochs &&
              acc.label_sigma == s.label_sigma && acc.net.nblocks == s.net.nblocks && acc.lr == s.lr &&
              acc.fresh_data && strcmp(acc.preset, "accurate") == 0,
          "accurate preset: filter %d, %d epochs", acc.net.input_filter, acc.epochs);
    text = train_config_json(&acc, &c, 1, 0, 1, -1);
    CHECK(train_settings_from_json(&back, text, err, sizeof err) == 0 && back.net.input_filter == NET_FILTER_IMPULSE &&
              strcmp(back.preset, "accurate") == 0,
          "the accurate preset's settings read back with their filter: %s", err);
    char *f = strstr(text, "\"impulse\"");
    CHECK(f != NULL, "the filter is in the JSON");
    if (f) memcpy(f + 1, "impulze", 7); // the same settings with an unknown filter
    CHECK(train_settings_from_json(&back, text, err, sizeof err) != 0 && strstr(err, "input_filter"),
          "an unknown filter is refused: %s", err);
    free(text);
    // The filter fraction: read back; outside (0, 1] refused; absent (older checkpoints) is 1.
    acc.net.filter_fraction = 0.25f;
    text = train_config_json(&acc, &c, 1, 0, 1, -1);
    CHECK(train_settings_from_json(&back, text, err, sizeof err) == 0 && back.net.filter_fraction == 0.25f,
          "the filter fraction reads back (%g): %s", (double)back.net.filter_fraction, err);
    f = strstr(text, "\"filter_fraction\":0.25");
    CHECK(f != NULL, "the fraction is in the JSON: %s", text);
    if (f) memcpy(f + 18, "1.25", 4);
    CHECK(train_settings_from_json(&back, text, err, sizeof err) != 0 && strstr(err, "filter_fraction"),
          "a fraction above 1 is refused: %s", err);
    if (f) memcpy(f, "\"filter_fractioX\"", 17); // an unknown key, as in a checkpoint from before the option
    CHECK(train_settings_from_json(&back, text, err, sizeof err) == 0 && back.net.filter_fraction == 1.0f,
          "a checkpoint without the fraction filtered all (%g): %s", (double)back.net.filter_fraction, err);
    free(text);
    train_settings sd;
    CHECK(train_settings_preset(&sd, "seed") == 0 && sd.label_sigma == 0,
          "the seed preset trains on the data's sigma (the notebook's 1.8): %g", sd.label_sigma);
    // The label sigma (train --sigma): read back; negative refused; absent (older checkpoints) is 0,
    // the data's.
    acc.label_sigma = 1.25;
    text = train_config_json(&acc, &c, 1, 0, 1, -1);
    CHECK(train_settings_from_json(&back, text, err, sizeof err) == 0 && back.label_sigma == 1.25,
          "the label sigma reads back (%g): %s", back.label_sigma, err);
    f = strstr(text, "\"label_sigma\":1.25");
    CHECK(f != NULL, "the label sigma is in the JSON: %s", text);
    if (f) memcpy(f + 14, "-1.5", 4);
    CHECK(train_settings_from_json(&back, text, err, sizeof err) != 0 && strstr(err, "label_sigma"),
          "a negative label sigma is refused: %s", err);
    if (f) memcpy(f, "\"label_sigmX\"", 13);
    CHECK(train_settings_from_json(&back, text, err, sizeof err) == 0 && back.label_sigma == 0,
          "a checkpoint without the label sigma trained on its data's (%g): %s", back.label_sigma, err);
    free(text);
}

static void fill_metrics(coord_metrics *m, double v) {
    memset(m, 0, sizeof *m);
    m->n = 3000;
    m->mae = m->mse = m->rmse = m->euclid_mean = m->euclid_std = v;
    m->euclid_median = m->euclid_p95 = m->euclid_max = m->exact = m->within1 = v;
}

static char *eval_text(const eval_result *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    eval_json(f, r);
    fclose(f);
    return buf;
}

static void test_eval_json(void) {
    eval_result r;
    memset(&r, 0, sizeof r);
    r.has[EVAL_TEST] = 1;
    fill_metrics(&r.sets[EVAL_TEST], NAN);
    r.sets[EVAL_TEST].mae = 0.1441873;
    r.has[EVAL_VAL] = 1;
    fill_metrics(&r.sets[EVAL_VAL], INFINITY);
    r.has_baselines = 1;
    fill_metrics(&r.brightest, NAN);
    fill_metrics(&r.matched, 2.5);
    r.baseline_set = "test";
    char *text = eval_text(&r);
    cJSON *j = cJSON_Parse(text);
    CHECK(j != NULL, "eval JSON with NaN metrics parses: %s", text);
    if (j) {
        const cJSON *test = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "sets"), "test");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "sets"), "val");
        const cJSON *mf =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "baselines"), "matched_filter");
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(test, "rmse")), "NaN is null");
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(val, "mae")), "infinity is null");
        const cJSON *mae = cJSON_GetObjectItemCaseSensitive(test, "mae");
        CHECK(cJSON_IsNumber(mae) && mae->valuedouble == 0.144187, "6 significant digits");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(test, "n");
        CHECK(cJSON_IsNumber(n) && n->valueint == 3000, "n");
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(mf, "exact");
        CHECK(cJSON_IsNumber(ex) && ex->valuedouble == 2.5, "baseline values");
        CHECK(str_field(j, "baseline_set") && strcmp(str_field(j, "baseline_set"), "test") == 0, "baseline_set");
    }
    cJSON_Delete(j);
    free(text);
    // The layout is the one metrics.json always had (sets in order, one record a line).
    memset(&r, 0, sizeof r);
    r.has[EVAL_TEST] = 1;
    fill_metrics(&r.sets[EVAL_TEST], 0.5);
    r.sets[EVAL_TEST].n = 2;
    text = eval_text(&r);
    const char *want = "{\n  \"sets\": {\n    \"test\": {\"n\": 2, \"mae\": 0.5, \"mse\": 0.5, \"rmse\": 0.5, "
                       "\"euclid_mean\": 0.5, \"euclid_std\": 0.5, \"euclid_median\": 0.5, \"euclid_p95\": 0.5, "
                       "\"euclid_max\": 0.5, \"exact\": 0.5, \"within1\": 0.5, \"far_misses\": 0}\n  }\n}\n";
    CHECK(strcmp(text, want) == 0, "eval JSON layout:\n%s", text);
    free(text);
}

int main(void) {
    test_utf8();
    test_config();
    test_eval_json();
    return t_summary();
}
