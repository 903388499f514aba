// safetensors reader and writer (format of github.com/huggingface/safetensors).
// The reader trusts nothing: every length, offset, shape and dtype in the header
// is checked, with overflow-safe arithmetic, before a single tensor byte is used.
// Its rules follow the reference implementation: tensors must tile the data
// section exactly (sorted by offset: no gap, no overlap, nothing after the last).
#include "safetensors.h"

#include "pixloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// The reference implementation refuses headers over 100 MB; so do we.
#define ST_MAX_HEADER 100000000ull
// Integers in the JSON header arrive as doubles: only exact ones are accepted.
#define ST_MAX_JSON_INT 9007199254740992.0 // 2^53

struct st_file {
    char *name;         // for messages
    unsigned char *buf; // file bytes; after validation the data section starts at buf[0]
    st_tensor *t;
    void **copies; // per tensor: an aligned private copy when its offset was misaligned
    int n;
    char **mkey, **mval;
    int nmeta;
    int fd; // st_open_header: the open file tensors are read from (st_pread); else -1
};

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8}, [ST_I32] = {"I32", 4}, [ST_I64] = {"I64", 8},
    [ST_U8] = {"U8", 1},   [ST_U32] = {"U32", 4}, [ST_U64] = {"U64", 8},
};
#define N_DTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

const char *st_dtype_name(st_dtype t) { return (int)t >= 0 && (int)t < N_DTYPES ? dtypes[t].name : "?"; }
size_t st_dtype_size(st_dtype t) { return (int)t >= 0 && (int)t < N_DTYPES ? dtypes[t].size : 0; }

static void file_free(st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->t[i].name);
        if (f->copies) free(f->copies[i]);
    }
    for (int i = 0; i < f->nmeta; i++) {
        free(f->mkey[i]);
        free(f->mval[i]);
    }
    free(f->t);
    free(f->copies);
    free(f->mkey);
    free(f->mval);
    free(f->buf);
    free(f->name);
    if (f->fd >= 0) close(f->fd);
    free(f);
}

void st_close(st_file *f) { file_free(f); }

// A non-negative integer that a double represents exactly; -1 if not one.
static int json_uint(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (!(d >= 0) || d > ST_MAX_JSON_INT || d != (double)(uint64_t)d) return -1;
    *out = (uint64_t)d;
    return 0;
}

typedef struct {
    uint64_t begin;
    int index;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

// Parses and validates one tensor entry into t (name already set); returns 0 or -1 with err.
static int parse_entry(const cJSON *e, st_tensor *t, uint64_t *begin, uint64_t *end, const char *fname, char *err,
                       size_t errlen) {
    const char *nm = t->name;
    if (!cJSON_IsObject(e)) {
        px_errf_file(err, errlen, fname, "header entry '%s' is not an object", nm);
        return -1;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt)) {
        px_errf_file(err, errlen, fname, "tensor '%s': missing or non-string \"dtype\"", nm);
        return -1;
    }
    int k;
    for (k = 0; k < N_DTYPES; k++)
        if (strcmp(dt->valuestring, dtypes[k].name) == 0) break;
    if (k == N_DTYPES) {
        px_errf_file(err, errlen, fname,
                     "tensor '%s': unsupported dtype '%.32s' (supported: F32 F64 I32 I64 U8 U32 U64)", nm,
                     dt->valuestring);
        return -1;
    }
    t->dtype = (st_dtype)k;
    if (!cJSON_IsArray(sh)) {
        px_errf_file(err, errlen, fname, "tensor '%s': missing or non-array \"shape\"", nm);
        return -1;
    }
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_DIMS) {
        px_errf_file(err, errlen, fname, "tensor '%s': %d dimensions, at most %d supported", nm, nd, ST_MAX_DIMS);
        return -1;
    }
    t->ndim = nd;
    uint64_t count = 1;
    int overflow = 0;
    for (int d = 0; d < nd; d++) {
        uint64_t v;
        if (json_uint(cJSON_GetArrayItem(sh, d), &v) != 0) {
            px_errf_file(err, errlen, fname, "tensor '%s': shape[%d] is not a non-negative integer below 2^53", nm, d);
            return -1;
        }
        t->shape[d] = (int64_t)v;
        if (__builtin_mul_overflow(count, v, &count)) overflow = 1;
    }
    uint64_t nbytes;
    if (overflow || __builtin_mul_overflow(count, (uint64_t)dtypes[k].size, &nbytes) || nbytes > SIZE_MAX) {
        px_errf_file(err, errlen, fname, "tensor '%s': shape too large (element count overflows)", nm);
        return -1;
    }
    t->nbytes = (size_t)nbytes;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || json_uint(cJSON_GetArrayItem(off, 0), begin) != 0 ||
        json_uint(cJSON_GetArrayItem(off, 1), end) != 0) {
        px_errf_file(err, errlen, fname, "tensor '%s': \"data_offsets\" must be two non-negative integers", nm);
        return -1;
    }
    if (*end < *begin) {
        px_errf_file(err, errlen, fname, "tensor '%s': data_offsets [%llu, %llu] end before they begin", nm,
                     (unsigned long long)*begin, (unsigned long long)*end);
        return -1;
    }
    if (*end - *begin != nbytes) {
        px_errf_file(err, errlen, fname,
                     "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but dtype %s and its shape need %llu", nm,
                     (unsigned long long)*begin, (unsigned long long)*end, (unsigned long long)(*end - *begin),
                     dtypes[k].name, (unsigned long long)nbytes);
        return -1;
    }
    return 0;
}

// The "__metadata__" entry e: string keys and values into f->mkey / f->mval.
static int read_metadata(st_file *f, const cJSON *e, const char *name, char *err, size_t errlen) {
    if (f->mkey) {
        px_errf_file(err, errlen, name, "header has two __metadata__ entries");
        return -1;
    }
    if (!cJSON_IsObject(e)) {
        px_errf_file(err, errlen, name, "__metadata__ is not an object");
        return -1;
    }
    int nm = cJSON_GetArraySize(e);
    f->mkey = calloc((size_t)nm + 1, sizeof *f->mkey);
    f->mval = calloc((size_t)nm + 1, sizeof *f->mval);
    if (!f->mkey || !f->mval) {
        px_errf_file(err, errlen, name, "out of memory");
        return -1;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, e) {
        if (!cJSON_IsString(m)) {
            px_errf_file(err, errlen, name, "__metadata__ value for '%.64s' is not a string", m->string);
            return -1;
        }
        f->mkey[f->nmeta] = strdup(m->string);
        f->mval[f->nmeta] = strdup(m->valuestring);
        f->nmeta++;
        if (!f->mkey[f->nmeta - 1] || !f->mval[f->nmeta - 1]) {
            px_errf_file(err, errlen, name, "out of memory");
            return -1;
        }
    }
    return 0;
}

// Tensors sorted by offset (order) must tile the data section of data_len bytes exactly.
static int check_tiling(const st_file *f, const uint64_t *beg, const uint64_t *end, const span *order, size_t data_len,
                        const char *name, char *err, size_t errlen) {
    uint64_t at = 0;
    for (int k = 0; k < f->n; k++) {
        int i = order[k].index;
        if (end[i] > data_len) {
            px_errf_file(err, errlen, name,
                         "tensor '%s': data_offsets [%llu, %llu] run past the data (%zu bytes): truncated?",
                         f->t[i].name, (unsigned long long)beg[i], (unsigned long long)end[i], data_len);
            return -1;
        }
        if (beg[i] < at) {
            px_errf_file(err, errlen, name,
                         "tensor '%s': data_offsets [%llu, %llu] overlap the previous tensor (ends at %llu)",
                         f->t[i].name, (unsigned long long)beg[i], (unsigned long long)end[i], (unsigned long long)at);
            return -1;
        }
        if (beg[i] > at) {
            px_errf_file(err, errlen, name, "tensor '%s': data_offsets [%llu, %llu] leave a gap after byte %llu",
                         f->t[i].name, (unsigned long long)beg[i], (unsigned long long)end[i], (unsigned long long)at);
            return -1;
        }
        at = end[i];
    }
    if (at != data_len) {
        px_errf_file(err, errlen, name, "%llu unclaimed bytes after the last tensor",
                     (unsigned long long)(data_len - at));
        return -1;
    }
    return 0;
}

// Moves the data section to the (malloc-aligned) start of the buffer so that tensors at
// aligned offsets are aligned in memory; copies any that are not.
static int place_data(st_file *f, const uint64_t *beg, size_t data_off, size_t data_len, const char *name, char *err,
                      size_t errlen) {
    memmove(f->buf, f->buf + data_off, data_len);
    for (int i = 0; i < f->n; i++) {
        st_tensor *t = &f->t[i];
        size_t sz = dtypes[t->dtype].size;
        if (beg[i] % sz == 0) {
            t->data = f->buf + beg[i];
        } else {
            f->copies[i] = malloc(t->nbytes ? t->nbytes : 1);
            if (!f->copies[i]) {
                px_errf_file(err, errlen, name, "out of memory");
                return -1;
            }
            memcpy(f->copies[i], f->buf + beg[i], t->nbytes);
            t->data = f->copies[i];
        }
    }
    return 0;
}

// Takes ownership of buf (malloc'd) and of fd (-1 for none). buf holds the whole
// file of len bytes, or (header_only) its first 8 + header-length bytes, the data
// staying in the file (fd) for st_pread. Returns NULL with err on failure.
static st_file *open_buffer(unsigned char *buf, size_t len, int header_only, int fd, const char *name, char *err,
                            size_t errlen) {
    st_file *f = calloc(1, sizeof *f);
    cJSON *root = NULL;
    uint64_t *beg = NULL, *end = NULL;
    span *order = NULL;
    if (!f) {
        free(buf);
        if (fd >= 0) close(fd);
        px_errf_file(err, errlen, name, "out of memory");
        return NULL;
    }
    f->buf = buf;
    f->fd = fd;
    f->name = strdup(name);
    if (!f->name) {
        px_errf_file(err, errlen, name, "out of memory");
        goto fail;
    }
    if (len < 8) {
        px_errf_file(err, errlen, name, "truncated: %zu bytes, a safetensors file starts with an 8-byte header length",
                     len);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | buf[i];
    if (hlen > ST_MAX_HEADER) {
        px_errf_file(err, errlen, name, "header length %llu is absurd (limit %llu bytes): not a safetensors file?",
                     (unsigned long long)hlen, ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > len - 8) {
        px_errf_file(err, errlen, name, "header length %llu runs past the end of the file (%zu bytes): truncated?",
                     (unsigned long long)hlen, len);
        goto fail;
    }
    if (hlen < 2 || buf[8] != '{') {
        px_errf_file(err, errlen, name, "header is not a JSON object (it must start with '{')");
        goto fail;
    }
    const char *hdr = (const char *)buf + 8, *pend = NULL;
    root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &pend, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long pos = at && at >= hdr && at <= hdr + hlen ? (long)(at - hdr) : -1;
        px_errf_file(err, errlen, name, "header is not valid JSON (error near byte %ld of %llu)", pos,
                     (unsigned long long)hlen);
        goto fail;
    }
    for (const char *p = pend; p && p < hdr + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            px_errf_file(err, errlen, name, "header has trailing bytes after its JSON object");
            goto fail;
        }
    if (!cJSON_IsObject(root)) {
        px_errf_file(err, errlen, name, "header is not a JSON object");
        goto fail;
    }
    int nent = cJSON_GetArraySize(root);
    f->t = calloc((size_t)nent + 1, sizeof *f->t);
    f->copies = calloc((size_t)nent + 1, sizeof *f->copies);
    beg = calloc((size_t)nent + 1, sizeof *beg);
    end = calloc((size_t)nent + 1, sizeof *end);
    order = calloc((size_t)nent + 1, sizeof *order);
    if (!f->t || !f->copies || !beg || !end || !order) {
        px_errf_file(err, errlen, name, "out of memory");
        goto fail;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (!e->string) continue;
        if (strcmp(e->string, "__metadata__") == 0) {
            if (read_metadata(f, e, name, err, errlen) != 0) goto fail;
            continue;
        }
        for (int i = 0; i < f->n; i++)
            if (strcmp(f->t[i].name, e->string) == 0) {
                px_errf_file(err, errlen, name, "tensor '%.64s' appears twice in the header", e->string);
                goto fail;
            }
        st_tensor *t = &f->t[f->n];
        t->name = strdup(e->string);
        f->n++;
        if (!t->name) {
            px_errf_file(err, errlen, name, "out of memory");
            goto fail;
        }
        if (parse_entry(e, t, &beg[f->n - 1], &end[f->n - 1], name, err, errlen) != 0) goto fail;
    }
    // The data section: tensors sorted by offset must tile it exactly.
    size_t data_off = 8 + (size_t)hlen, data_len = len - data_off;
    for (int i = 0; i < f->n; i++) order[i] = (span){beg[i], i};
    qsort(order, (size_t)f->n, sizeof *order, cmp_span);
    if (check_tiling(f, beg, end, order, data_len, name, err, errlen) != 0) goto fail;
    for (int i = 0; i < f->n; i++) f->t[i].offset = data_off + (size_t)beg[i];
    if (!header_only && place_data(f, beg, data_off, data_len, name, err, errlen) != 0) goto fail;
    cJSON_Delete(root);
    free(beg);
    free(end);
    free(order);
    return f;
fail:
    cJSON_Delete(root);
    free(beg);
    free(end);
    free(order);
    file_free(f);
    return NULL;
}

// Opens path for reading (close-on-exec) if it is a regular file: the descriptor and its size in
// *len, or -1 with the message in err.
static int open_regular(const char *path, size_t *len, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        px_errf_file(err, errlen, path, "%s", strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        px_errf_file(err, errlen, path, "%s", strerror(e));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        px_errf_file(err, errlen, path, "%s", S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
        return -1;
    }
    *len = (size_t)sb.st_size;
    return fd;
}

st_file *st_open(const char *path, char *err, size_t errlen) {
    size_t len;
    int fd = open_regular(path, &len, err, errlen);
    if (fd < 0) return NULL;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        px_errf_file(err, errlen, path, "out of memory reading %zu bytes", len);
        return NULL;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    int e = errno;
    close(fd);
    if (got != len) {
        free(buf);
        px_errf_file(err, errlen, path, "short read (%zu of %zu bytes): %s", got, len, strerror(e));
        return NULL;
    }
    return open_buffer(buf, len, 0, -1, path, err, errlen);
}

// Reads exactly n bytes at off; 0, or -1 with errno set (EIO for an early end of file).
static int pread_all(int fd, void *dst, size_t n, size_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)dst + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) {
            errno = EIO;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

st_file *st_open_header(const char *path, char *err, size_t errlen) {
    size_t len;
    int fd = open_regular(path, &len, err, errlen);
    if (fd < 0) return NULL;
    unsigned char head[8];
    uint64_t hlen = 0;
    if (len >= 8) {
        if (pread_all(fd, head, 8, 0) != 0) {
            int e = errno;
            close(fd);
            px_errf_file(err, errlen, path, "reading the header length: %s", strerror(e));
            return NULL;
        }
        for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | head[i];
    }
    // What open_buffer checks first (a short file, an absurd or overlong header) needs no more bytes.
    size_t have = len < 8 || hlen > ST_MAX_HEADER || hlen > len - 8 ? (len < 8 ? len : 8) : 8 + (size_t)hlen;
    unsigned char *buf = malloc(have ? have : 1);
    if (!buf) {
        close(fd);
        px_errf_file(err, errlen, path, "out of memory reading a %zu-byte header", have);
        return NULL;
    }
    if (have && pread_all(fd, buf, have, 0) != 0) {
        int e = errno;
        free(buf);
        close(fd);
        px_errf_file(err, errlen, path, "reading the header: %s", strerror(e));
        return NULL;
    }
    return open_buffer(buf, len, 1, fd, path, err, errlen);
}

int st_pread(const st_file *f, const st_tensor *t, size_t off, void *dst, size_t n, char *err, size_t errlen) {
    if (off > t->nbytes || n > t->nbytes - off) {
        px_errf_file(err, errlen, f->name, "tensor '%s': bytes [%zu, %zu) are outside its %zu", t->name, off, off + n,
                     t->nbytes);
        return -1;
    }
    if (n == 0) return 0;
    if (f->fd < 0) {
        memcpy(dst, (const char *)t->data + off, n);
        return 0;
    }
    if (pread_all(f->fd, dst, n, t->offset + off) != 0) {
        px_errf_file(err, errlen, f->name, "reading tensor '%s' (bytes %zu..%zu): %s%s", t->name, off, off + n,
                     strerror(errno), errno == EIO ? " (was the file truncated after it was opened?)" : "");
        return -1;
    }
    return 0;
}

st_file *st_open_mem(const void *bytes, size_t len, const char *name, char *err, size_t errlen) {
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        px_errf_file(err, errlen, name, "out of memory");
        return NULL;
    }
    if (len) memcpy(buf, bytes, len);
    return open_buffer(buf, len, 0, -1, name, err, errlen);
}

int st_count(const st_file *f) { return f->n; }
const st_tensor *st_at(const st_file *f, int i) { return i >= 0 && i < f->n ? &f->t[i] : NULL; }

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, len - k, "(");
    for (int d = 0; d < ndim && k < len; d++) {
        if (shape[d] < 0)
            k += (size_t)snprintf(buf + k, len - k, "%s*", d ? ", " : "");
        else
            k += (size_t)snprintf(buf + k, len - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    }
    if (k < len) snprintf(buf + k, len - k, ")");
}

const st_tensor *st_expect(const st_file *f, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                           char *err, size_t errlen) {
    const st_tensor *t = st_find(f, name);
    char got[160], want[160];
    if (!t) {
        px_errf_file(err, errlen, f->name, "no tensor '%s'", name);
        return NULL;
    }
    if (t->dtype != dtype) {
        px_errf_file(err, errlen, f->name, "tensor '%s' has dtype %s, expected %s", name, st_dtype_name(t->dtype),
                     st_dtype_name(dtype));
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = shape[d] < 0 || shape[d] == t->shape[d];
    if (!ok) {
        shape_str(got, sizeof got, t->ndim, t->shape);
        shape_str(want, sizeof want, ndim, shape);
        px_errf_file(err, errlen, f->name, "tensor '%s' has shape %s, expected %s", name, got, want);
        return NULL;
    }
    return t;
}

const char *st_meta(const st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->mkey[i], key) == 0) return f->mval[i];
    return NULL;
}
int st_meta_count(const st_file *f) { return f->nmeta; }
void st_meta_at(const st_file *f, int i, const char **key, const char **value) {
    int ok = i >= 0 && i < f->nmeta;
    if (key) *key = ok ? f->mkey[i] : NULL;
    if (value) *value = ok ? f->mval[i] : NULL;
}

// ---------------------------------------------------------------- writer

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t nbytes;
    const void *data;
    int owned; // data is our copy
} wtensor;

struct st_writer {
    wtensor *t;
    int n, cap;
    char **mkey, **mval;
    int nmeta, mcap;
    char problem[200]; // first misuse (bad shape, duplicate name), reported by save
};

st_writer *st_writer_new(void) { return px_calloc(1, sizeof(st_writer), "safetensors writer"); }

static void writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape, const void *data,
                       int copy) {
    if (w->problem[0]) return;
    if ((int)dtype < 0 || (int)dtype >= N_DTYPES || ndim < 0 || ndim > ST_MAX_DIMS ||
        strcmp(name, "__metadata__") == 0) {
        snprintf(w->problem, sizeof w->problem, "tensor '%.64s': bad dtype, rank or name", name);
        return;
    }
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0) {
            snprintf(w->problem, sizeof w->problem, "tensor '%.64s' added twice", name);
            return;
        }
    size_t count = dtypes[dtype].size;
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || __builtin_mul_overflow(count, (size_t)shape[d], &count)) {
            snprintf(w->problem, sizeof w->problem, "tensor '%.64s': bad shape", name);
            return;
        }
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 8;
        wtensor *nt = realloc(w->t, (size_t)w->cap * sizeof *nt);
        if (!nt) px_die(PX_EXIT_FAIL, "out of host memory for the safetensors writer");
        w->t = nt;
    }
    wtensor *t = &w->t[w->n++];
    t->name = strdup(name);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->nbytes = count;
    t->owned = copy;
    if (copy) {
        void *c = px_malloc(count, "safetensors tensor copy");
        if (count) memcpy(c, data, count);
        t->data = c;
    } else {
        t->data = data;
    }
    if (!t->name) px_die(PX_EXIT_FAIL, "out of host memory for the safetensors writer");
}

void st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape, const void *data) {
    writer_add(w, name, dtype, ndim, shape, data, 1);
}

void st_writer_add_borrowed(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                            const void *data) {
    writer_add(w, name, dtype, ndim, shape, data, 0);
}

void st_writer_meta(st_writer *w, const char *key, const char *value) {
    for (int i = 0; i < w->nmeta; i++)
        if (strcmp(w->mkey[i], key) == 0) {
            free(w->mval[i]);
            w->mval[i] = strdup(value);
            return;
        }
    if (w->nmeta == w->mcap) {
        w->mcap = w->mcap ? 2 * w->mcap : 8;
        char **k = realloc(w->mkey, (size_t)w->mcap * sizeof *k);
        if (k) w->mkey = k;
        char **v = realloc(w->mval, (size_t)w->mcap * sizeof *v);
        if (v) w->mval = v;
        if (!k || !v) px_die(PX_EXIT_FAIL, "out of host memory for the safetensors writer");
    }
    w->mkey[w->nmeta] = strdup(key);
    w->mval[w->nmeta] = strdup(value);
    w->nmeta++;
}

void st_writer_free(st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        free(w->t[i].name);
        if (w->t[i].owned) free((void *)w->t[i].data);
    }
    for (int i = 0; i < w->nmeta; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->t);
    free(w->mkey);
    free(w->mval);
    free(w);
}

static void sb_json_string(px_sbuf *b, const char *s) {
    px_sbuf_str(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            px_sbuf_add(b, e, 2);
        } else if (*p < 0x20) {
            px_sbuf_printf(b, "\\u%04x", *p);
        } else {
            px_sbuf_add(b, (const char *)p, 1);
        }
    }
    px_sbuf_str(b, "\"");
}

static const wtensor *g_sort_base; // qsort without _r for the writer is fine: single-threaded save
static int cmp_layout(const void *a, const void *b) {
    const wtensor *x = &g_sort_base[*(const int *)a], *y = &g_sort_base[*(const int *)b];
    // Like the reference writer: larger element size first (keeps every tensor
    // naturally aligned), then by name.
    size_t sx = dtypes[x->dtype].size, sy = dtypes[y->dtype].size;
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

int st_writer_save(st_writer *w, const char *path, char *err, size_t errlen) {
    if (w->problem[0]) {
        px_errf_file(err, errlen, path, "%s", w->problem);
        return -1;
    }
    int *order = px_malloc(((size_t)w->n + 1) * sizeof *order, "safetensors layout");
    for (int i = 0; i < w->n; i++) order[i] = i;
    g_sort_base = w->t;
    qsort(order, (size_t)w->n, sizeof *order, cmp_layout);

    px_sbuf h = {0};
    px_sbuf_str(&h, "{");
    int first = 1;
    if (w->nmeta) {
        px_sbuf_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < w->nmeta; i++) {
            if (i) px_sbuf_str(&h, ",");
            sb_json_string(&h, w->mkey[i]);
            px_sbuf_str(&h, ":");
            sb_json_string(&h, w->mval[i]);
        }
        px_sbuf_str(&h, "}");
        first = 0;
    }
    size_t off = 0;
    for (int k = 0; k < w->n; k++) {
        const wtensor *t = &w->t[order[k]];
        if (!first) px_sbuf_str(&h, ",");
        first = 0;
        sb_json_string(&h, t->name);
        px_sbuf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[t->dtype].name);
        for (int d = 0; d < t->ndim; d++) px_sbuf_printf(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        px_sbuf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + t->nbytes);
        off += t->nbytes;
    }
    px_sbuf_str(&h, "}");
    while (h.len % 8) px_sbuf_str(&h, " "); // data section starts 8-aligned

    size_t total = 8 + h.len + off;
    unsigned char *out = malloc(total);
    if (!out) {
        free(h.s);
        free(order);
        px_errf_file(err, errlen, path, "out of memory assembling %zu bytes", total);
        return -1;
    }
    uint64_t hl = h.len;
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(hl >> (8 * i));
    memcpy(out + 8, h.s, h.len);
    size_t at = 8 + h.len;
    for (int k = 0; k < w->n; k++) {
        const wtensor *t = &w->t[order[k]];
        if (t->nbytes) memcpy(out + at, t->data, t->nbytes);
        at += t->nbytes;
    }
    int rc = px_write_file_atomic(path, out, total);
    int e = errno;
    free(out);
    free(h.s);
    free(order);
    if (rc != 0) {
        px_errf_file(err, errlen, path, "cannot write: %s", strerror(e));
        return -1;
    }
    return 0;
}
