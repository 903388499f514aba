// The tuning store; see include/runtime/tuning.h.
#include "tuning.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_cache.h"
#include "pixloc.h"

int tuning_path(const char *cache_dir, const char *platform_version, const char *device_name,
                const char *driver_version, char *out, size_t len) {
    if (len) out[0] = '\0';
    if (!cache_dir || !*cache_dir) return 0;
    kcache_key k = {{0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL}};
    kcache_hash(&k, platform_version, strlen(platform_version));
    kcache_hash(&k, device_name, strlen(device_name));
    kcache_hash(&k, driver_version, strlen(driver_version));
    snprintf(out, len, "%s/tuning-%016llx.txt", cache_dir, (unsigned long long)k.h[0]);
    return 1;
}

static int is_word_char(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'; }

int tuning_parse_line(const char *line, char kind[TUNING_KIND_MAX], int shape[4], const char **params, char *err,
                      size_t errlen) {
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p || *p == '\r' || *p == '\n') return snprintf(err, errlen, "blank"), -1;
    if (strlen(line) >= TUNING_LINE_MAX) return snprintf(err, errlen, "line too long"), -1;
    size_t n = 0;
    while (is_word_char(p[n])) n++;
    if (n == 0 || n >= TUNING_KIND_MAX || (p[n] != ' ' && p[n] != '\t'))
        return snprintf(err, errlen, "does not start with a layer kind and its shape"), -1;
    memcpy(kind, p, n);
    kind[n] = '\0';
    p += n;
    for (int i = 0; i < 4; i++) {
        while (*p == ' ' || *p == '\t') p++;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || !(*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n' || !*end) || errno || v < 1 ||
            v > TUNING_DIM_MAX)
            return snprintf(err, errlen, "bad shape (four numbers 1..%d after '%s')", TUNING_DIM_MAX, kind), -1;
        shape[i] = (int)v;
        p = end;
    }
    while (*p == ' ' || *p == '\t') p++;
    *params = p;
    // Only key=value tokens, printable, keys of [a-z0-9_].
    for (const char *q = p; *q && *q != '\r' && *q != '\n';) {
        const char *t = q;
        while (is_word_char(*q)) q++;
        if (q == t || *q != '=') return snprintf(err, errlen, "'%.40s' is not key=value", t), -1;
        q++;
        while (*q && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n') {
            if (!isgraph((unsigned char)*q)) return snprintf(err, errlen, "unprintable character"), -1;
            q++;
        }
        while (*q == ' ' || *q == '\t') q++;
    }
    return 0;
}

// The key=value text of params with runs of blanks as single spaces and no line end.
static char *normalise(const char *params) {
    size_t len = strlen(params);
    char *out = px_malloc(len + 1, "tuning entry"), *o = out;
    for (const char *p = params; *p && *p != '\r' && *p != '\n'; p++) {
        if (*p == ' ' || *p == '\t') {
            if (o > out && o[-1] != ' ') *o++ = ' ';
        } else {
            *o++ = *p;
        }
    }
    while (o > out && o[-1] == ' ') o--;
    *o = '\0';
    return out;
}

tuning_entry *tuning_store_find(const tuning_store *s, const char *kind, const int shape[4]) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].kind, kind) && !memcmp(s->e[i].shape, shape, 4 * sizeof(int))) return &s->e[i];
    return NULL;
}

static tuning_entry *put(tuning_store *s, const char *kind, const int shape[4], const char *params, int line) {
    tuning_entry *e = tuning_store_find(s, kind, shape);
    if (e) {
        free(e->params);
    } else {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 16;
            tuning_entry *grown = realloc(s->e, (size_t)s->cap * sizeof *grown);
            if (!grown) px_die(PX_EXIT_FAIL, "out of memory (tuning store)");
            s->e = grown;
        }
        e = &s->e[s->n++];
        snprintf(e->kind, sizeof e->kind, "%s", kind);
        memcpy(e->shape, shape, 4 * sizeof(int));
    }
    e->params = normalise(params);
    e->line = line;
    e->warned = 0;
    return e;
}

void tuning_store_put(tuning_store *s, const char *kind, const int shape[4], const char *params) {
    put(s, kind, shape, params, 0);
}

void tuning_entry_warn(tuning_entry *e, const char *path, const char *why) {
    if (e->warned) return;
    e->warned = 1;
    px_warn("ignoring the tuning file %s line %d (%s); using the defaults for %s %d %d %d %d", path, e->line, why,
            e->kind, e->shape[0], e->shape[1], e->shape[2], e->shape[3]);
}

void tuning_store_load(tuning_store *s, const char *path) {
    snprintf(s->path, sizeof s->path, "%s", path ? path : "");
    s->loaded = 1;
    if (!s->path[0]) return;
    size_t len;
    char *text = px_read_file(s->path, &len);
    if (!text) return;
    if (strlen(text) != len) {
        px_warn("ignoring the tuning file %s (binary data)", s->path);
        free(text);
        return;
    }
    int lineno = 0, bad = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        lineno++;
        char kind[TUNING_KIND_MAX], err[200];
        int shape[4];
        const char *params;
        if (tuning_parse_line(p, kind, shape, &params, err, sizeof err) == 0) {
            put(s, kind, shape, params, lineno);
        } else if (strcmp(err, "blank") != 0 && ++bad <= 3) {
            px_warn("ignoring the tuning file %s line %d (%s)", s->path, lineno, err);
        }
        if (!nl) break;
        p = nl + 1;
    }
    if (bad > 3) px_warn("%d more malformed lines in %s ignored", bad - 3, s->path);
    free(text);
}

int tuning_store_save(const tuning_store *s) {
    if (!s->path[0]) {
        errno = ENOENT;
        return -1;
    }
    px_sbuf b = {0};
    for (int i = 0; i < s->n; i++) {
        char head[TUNING_KIND_MAX + 64];
        const tuning_entry *e = &s->e[i];
        snprintf(head, sizeof head, "%s %d %d %d %d%s", e->kind, e->shape[0], e->shape[1], e->shape[2], e->shape[3],
                 e->params[0] ? " " : "");
        px_sbuf_add(&b, head, strlen(head));
        px_sbuf_add(&b, e->params, strlen(e->params));
        px_sbuf_add(&b, "\n", 1);
    }
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", s->path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    int rc = (slash && px_mkdirs(dir) != 0) ? -1 : px_write_file_atomic(s->path, b.s ? b.s : "", b.len);
    int saved = errno;
    free(b.s);
    errno = saved;
    return rc;
}

void tuning_store_free(tuning_store *s) {
    for (int i = 0; i < s->n; i++) free(s->e[i].params);
    free(s->e);
    s->e = NULL;
    s->n = s->cap = 0;
    s->loaded = 0;
}

int tuning_describe(const char *cache_dir, const char *platform_version, const char *device_name,
                    const char *driver_version, char *out, size_t len) {
    char path[1200];
    if (!tuning_path(cache_dir, platform_version, device_name, driver_version, path, sizeof path)) return 0;
    size_t n;
    char *text = px_read_file(path, &n);
    if (!text) return 0;
    int lines = 0;
    for (char *p = text; *p; p++)
        if (*p == '\n') lines++;
    snprintf(out, len, "yes, %d tuned entries in %s", lines, path);
    free(text);
    return 1;
}
