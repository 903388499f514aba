// conv3x3's entries in the tuning store (include/runtime/tuning.h): the
// key=value text of one layer shape, parsed into conv3x3_params (see conv.h).
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "pixloc.h"
#include "tuning.h"

// --- the tuning file -----------------------------------------------------------

typedef struct {
    const char *key;
    size_t off;   // offset of the int field in conv3x3_params
    int min, max; // valid values
} param_key;

#define PK(f, lo, hi)                                                                                                  \
    { #f, offsetof(conv3x3_params, f), lo, hi }
// Fields another variant does not use are 0 in its table row (conv3x3_create checks
// the ones its variant uses). Every field is bounded: the register tiles (tile_co,
// tile_q, dw_tk x dw_tc) are unrolled by the kernel compiler, which takes minutes
// or fails on huge ones; work-group sizes beyond 1024 exist on no device;
// conv_winograd.c takes at most 4 GEMM tiles per work-item.
static const param_key PARAM_KEYS[] = {
    PK(tile_co, 1, 32), PK(tile_q, 0, 16),     PK(wg, 1, 1024),     PK(wg_co, 0, 1024),  PK(dw_tk, 1, 8),
    PK(dw_tc, 1, 8),    PK(dw_seg, 16, 65536), PK(dw_wg, 0, 64),    PK(wino_tn, 0, 4),   PK(wino_nb, 0, 1024),
    PK(wino_dw, 0, 1),  PK(wino_m, 0, 4),      PK(wino_m_dx, 0, 4), PK(wino_m_dw, 0, 4), PK(wino_nb_dw, 0, 1024)};
#define NKEYS (sizeof PARAM_KEYS / sizeof PARAM_KEYS[0])
static const char *const TIME_KEYS[] = {"fwd_ms", "dx_ms", "dw_ms"};

int conv3x3_tuning_parse(const char *params, conv3x3_params *p, char *err, size_t errlen) {
    char buf[TUNING_LINE_MAX];
    if (strlen(params) >= sizeof buf) return snprintf(err, errlen, "line too long"), -1;
    snprintf(buf, sizeof buf, "%s", params);
    char *save = NULL, *tok;
    int got[NKEYS] = {0}, vals[NKEYS] = {0}, variant = -1;
    for (tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return snprintf(err, errlen, "'%s' is not key=value", tok), -1;
        *eq = '\0';
        const char *val = eq + 1;
        char *end;
        if (!strcmp(tok, "variant")) {
            if ((variant = conv3x3_variant_parse(val)) < 0)
                return snprintf(err, errlen, "unknown variant '%s'", val), -1;
            continue;
        }
        size_t k;
        for (k = 0; k < NKEYS && strcmp(tok, PARAM_KEYS[k].key) != 0; k++) {}
        if (k < NKEYS) {
            long v = strtol(val, &end, 10);
            int seg = !strcmp(tok, "dw_seg"), wm = !strncmp(tok, "wino_m", 6);
            if (!*val || *end || v < PARAM_KEYS[k].min || v > PARAM_KEYS[k].max || (seg && v % 16) || (wm && v % 2))
                return snprintf(err, errlen, "bad value %s=%s (expected %d..%d%s)", tok, val, PARAM_KEYS[k].min,
                                PARAM_KEYS[k].max,
                                seg  ? ", a multiple of 16"
                                : wm ? "; 0, 2 or 4"
                                     : ""),
                       -1;
            got[k] = 1;
            vals[k] = (int)v;
            continue;
        }
        int timed = 0;
        for (size_t t = 0; t < 3; t++) timed |= !strcmp(tok, TIME_KEYS[t]);
        double d = strtod(val, &end);
        if (!timed) return snprintf(err, errlen, "unknown key '%s'", tok), -1;
        if (!*val || *end || !(d >= 0) || !isfinite(d)) return snprintf(err, errlen, "bad value %s=%s", tok, val), -1;
    }
    if (variant < 0) return snprintf(err, errlen, "no variant=NAME"), -1;
    *p = conv3x3_variant_defaults(variant);
    for (size_t k = 0; k < NKEYS; k++)
        if (got[k]) *(int *)((char *)p + PARAM_KEYS[k].off) = vals[k];
    return 0;
}

int conv3x3_tuning_parse_line(const char *line, int shape[4], conv3x3_params *p, char *err, size_t errlen) {
    char kind[TUNING_KIND_MAX];
    const char *params;
    if (tuning_parse_line(line, kind, shape, &params, err, errlen) != 0) return -1;
    if (strcmp(kind, CONV3X3_TUNING_KIND) != 0)
        return snprintf(err, errlen, "does not start with '%s'", CONV3X3_TUNING_KIND), -1;
    return conv3x3_tuning_parse(params, p, err, errlen);
}

int conv3x3_tuned_params(const ocl_ctx *c, int Cin, int Cout, int H, int W, conv3x3_params *out) {
    tuning_store *s = ocl_tuning(c);
    const int shape[4] = {Cin, Cout, H, W};
    tuning_entry *e = tuning_store_find(s, CONV3X3_TUNING_KIND, shape);
    if (!e) return 0;
    char err[300];
    conv3x3_params p;
    if (conv3x3_tuning_parse(e->params, &p, err, sizeof err) != 0) {
        tuning_entry_warn(e, s->path, err); // once; the defaults stand for this shape
        return 0;
    }
    *out = p;
    return 1;
}

void conv3x3_tuning_format(char *out, size_t len, const conv3x3_params *p, const double ms[3]) {
    int n = snprintf(out, len, "variant=%s", conv3x3_variant_name(p->variant));
    for (size_t k = 0; k < NKEYS; k++)
        n += snprintf(out + n, len - (size_t)n, " %s=%d", PARAM_KEYS[k].key,
                      *(const int *)((const char *)p + PARAM_KEYS[k].off));
    snprintf(out + n, len - (size_t)n, " fwd_ms=%.3f dx_ms=%.3f dw_ms=%.3f", ms[0], ms[1], ms[2]);
}
