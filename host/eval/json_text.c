// JSON text through cJSON; see include/eval/json_text.h.
#include "json_text.h"

#include <math.h>
#include <stdlib.h>

#include "utf8.h"

cJSON *json_add_number6(cJSON *obj, const char *key, double v) {
    if (isfinite(v)) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.6g", v);
        v = strtod(buf, NULL);
    }
    return cJSON_AddNumberToObject(obj, key, v);
}

cJSON *json_add_string(cJSON *obj, const char *key, const char *s) {
    char *clean = utf8_sanitize(s);
    cJSON *r = cJSON_AddStringToObject(obj, key, clean);
    free(clean);
    return r;
}

static int write_scalar(FILE *f, const cJSON *item) {
    char *t = cJSON_PrintUnformatted(item);
    if (!t) return -1;
    fputs(t, f);
    cJSON_free(t);
    return 0;
}

static int write_key(FILE *f, const char *key) {
    cJSON *k = cJSON_CreateString(key);
    int rc = k ? write_scalar(f, k) : -1;
    cJSON_Delete(k);
    fputs(": ", f);
    return rc;
}

static int write_at(FILE *f, const cJSON *item, int depth, int inline_depth) {
    if (!cJSON_IsObject(item) && !cJSON_IsArray(item)) return write_scalar(f, item);
    int obj = cJSON_IsObject(item), rc = 0, multi = depth < inline_depth;
    fputc(obj ? '{' : '[', f);
    for (const cJSON *c = item->child; c; c = c->next) {
        if (multi)
            fprintf(f, "%s\n%*s", c == item->child ? "" : ",", 2 * (depth + 1), "");
        else if (c != item->child)
            fputs(", ", f);
        if (obj) rc |= write_key(f, c->string);
        rc |= write_at(f, c, depth + 1, inline_depth);
    }
    if (multi) fprintf(f, "\n%*s", 2 * depth, "");
    fputc(obj ? '}' : ']', f);
    return rc;
}

int json_write(FILE *f, const cJSON *item, int inline_depth) { return write_at(f, item, 0, inline_depth); }
