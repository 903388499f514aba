// The tuning file's format: reading and writing of conv3x3 entries (see conv.h).
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "kernel_cache.h"
#include "pixloc.h"

// --- the tuning file -----------------------------------------------------------

typedef struct {
    const char *key;
    size_t off; // offset of the int field in conv3x3_params
    int min;    // smallest valid value
} param_key;

#define PK(f, m) {#f, offsetof(conv3x3_params, f), m}
// Fields another variant does not use are 0 in its table row (conv3x3_create checks
// the ones its variant uses).
static const param_key PARAM_KEYS[] = {PK(tile_co, 1), PK(tile_q, 0), PK(wg, 1),     PK(wg_co, 0),
                                       PK(dw_tk, 1),   PK(dw_tc, 1),  PK(dw_seg, 16), PK(dw_wg, 0),
                                       PK(wino_tn, 0), PK(wino_nb, 0)};
#define NKEYS (sizeof PARAM_KEYS / sizeof PARAM_KEYS[0])
static const char *const TIME_KEYS[] = {"fwd_ms", "dx_ms", "dw_ms"};

int conv3x3_tuning_parse_line(const char *line, int shape[4], conv3x3_params *p, char *err, size_t errlen) {
    char buf[1024];
    if (strlen(line) >= sizeof buf) return snprintf(err, errlen, "line too long"), -1;
    snprintf(buf, sizeof buf, "%s", line);
    char *save = NULL, *tok = strtok_r(buf, " \t\r\n", &save);
    if (!tok || strcmp(tok, "conv3x3") != 0) return snprintf(err, errlen, "does not start with 'conv3x3'"), -1;
    for (int i = 0; i < 4; i++) {
        tok = strtok_r(NULL, " \t\r\n", &save);
        char *end;
        long v = tok ? strtol(tok, &end, 10) : 0;
        if (!tok || *end || v < 1 || v > 65536) return snprintf(err, errlen, "bad shape (Cin Cout H W)"), -1;
        shape[i] = (int)v;
    }
    int got[NKEYS] = {0}, vals[NKEYS] = {0}, variant = -1;
    while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
        char *eq = strchr(tok, '=');
        if (!eq) return snprintf(err, errlen, "'%s' is not key=value", tok), -1;
        *eq = '\0';
        const char *val = eq + 1;
        char *end;
        if (!strcmp(tok, "variant")) {
            if ((variant = conv3x3_variant_parse(val)) < 0) return snprintf(err, errlen, "unknown variant '%s'", val), -1;
            continue;
        }
        size_t k;
        for (k = 0; k < NKEYS && strcmp(tok, PARAM_KEYS[k].key); k++) {}
        if (k < NKEYS) {
            long v = strtol(val, &end, 10);
            if (!*val || *end || v < PARAM_KEYS[k].min || v > 65536 || (!strcmp(tok, "dw_seg") && v % 16))
                return snprintf(err, errlen, "bad value %s=%s", tok, val), -1;
            got[k] = 1;
            vals[k] = (int)v;
            continue;
        }
        int timed = 0;
        for (size_t t = 0; t < 3; t++) timed |= !strcmp(tok, TIME_KEYS[t]);
        double d = strtod(val, &end);
        if (!timed) return snprintf(err, errlen, "unknown key '%s'", tok), -1;
        if (!*val || *end || !(d >= 0)) return snprintf(err, errlen, "bad value %s=%s", tok, val), -1;
    }
    if (variant < 0) return snprintf(err, errlen, "no variant=NAME"), -1;
    *p = conv3x3_variant_defaults(variant);
    for (size_t k = 0; k < NKEYS; k++)
        if (got[k]) *(int *)((char *)p + PARAM_KEYS[k].off) = vals[k];
    return 0;
}


// The entries of the last tuning file read, by path: read once per process.
static struct {
    char path[1200];
    int loaded;
    tuned_entry *e;
    int n;
} g_tuned;

// Parses a whole file; returns the entry count, or -1 with "line L: reason" in err.
int conv3x3_tuning_parse_file(const char *text, tuned_entry **out, char *err, size_t errlen) {
    int n = 0, cap = 0, lineno = 0;
    tuned_entry *e = NULL;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        lineno++;
        if (len >= sizeof line) {
            snprintf(err, errlen, "line %d: too long", lineno);
            free(e);
            return -1;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (nl != NULL);
        if (strspn(line, " \t\r") == len) continue; // blank line
        char why[256];
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            tuned_entry *grown = realloc(e, (size_t)cap * sizeof *e);
            if (!grown) px_die(PX_EXIT_FAIL, "out of memory reading a tuning file");
            e = grown;
        }
        if (conv3x3_tuning_parse_line(line, e[n].shape, &e[n].p, why, sizeof why) != 0) {
            snprintf(err, errlen, "line %d: %s", lineno, why);
            free(e);
            return -1;
        }
        n++;
    }
    *out = e;
    return n;
}

int conv3x3_tuned_params(const ocl_ctx *c, int Cin, int Cout, int H, int W, conv3x3_params *out) {
    char path[1200];
    if (!ocl_tuning_path(c->platform_version, c->device_name, c->driver_version, path, sizeof path)) return 0;
    if (!g_tuned.loaded || strcmp(path, g_tuned.path) != 0) {
        free(g_tuned.e);
        g_tuned.e = NULL;
        g_tuned.n = 0;
        g_tuned.loaded = 1;
        snprintf(g_tuned.path, sizeof g_tuned.path, "%s", path);
        size_t len;
        char *text = px_read_file(path, &len);
        if (text) {
            char err[300];
            if (strlen(text) != len) snprintf(err, sizeof err, "binary data");
            int n = strlen(text) != len ? -1 : conv3x3_tuning_parse_file(text, &g_tuned.e, err, sizeof err);
            if (n < 0)
                px_warn("ignoring the tuning file %s (%s); run 'pixloc tune' again or delete it", path, err);
            else g_tuned.n = n;
            free(text);
        }
    }
    for (int i = 0; i < g_tuned.n; i++) {
        const int *s = g_tuned.e[i].shape;
        if (s[0] == Cin && s[1] == Cout && s[2] == H && s[3] == W) {
            *out = g_tuned.e[i].p;
            return 1;
        }
    }
    return 0;
}

void conv3x3_tuning_format_line(char *out, size_t len, const int shape[4], const conv3x3_params *p, const double ms[3]) {
    int n = snprintf(out, len, "conv3x3 %d %d %d %d variant=%s", shape[0], shape[1], shape[2], shape[3],
                     conv3x3_variant_name(p->variant));
    for (size_t k = 0; k < NKEYS; k++)
        n += snprintf(out + n, len - (size_t)n, " %s=%d", PARAM_KEYS[k].key,
                      *(const int *)((const char *)p + PARAM_KEYS[k].off));
    snprintf(out + n, len - (size_t)n, " fwd_ms=%.3f dx_ms=%.3f dw_ms=%.3f\n", ms[0], ms[1], ms[2]);
}

