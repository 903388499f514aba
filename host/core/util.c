// Common helpers declared in pixloc.h.
#include "pixloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int g_quiet;

void px_set_quiet(int quiet) { g_quiet = quiet; }

void px_die(int status, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fputs("pixloc: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

void px_log(const char *fmt, ...) {
    if (g_quiet) return;
    va_list ap;
    fputs("pixloc: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void px_warn(const char *fmt, ...) {
    va_list ap;
    fputs("pixloc: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *px_malloc_(size_t bytes, const char *what, const char *file, int line) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        px_die(PX_EXIT_FAIL, "out of host memory allocating %zu bytes for %s (%s:%d)", bytes, what, file,
               line);
    return p;
}

void *px_calloc_(size_t n, size_t size, const char *what, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        px_die(PX_EXIT_FAIL, "out of host memory allocating %zu x %zu bytes for %s (%s:%d)", n, size, what,
               file, line);
    return p;
}

static void verrf(char *err, size_t errlen, const char *name, const char *fmt, va_list ap) {
    if (!err || errlen == 0) return;
    int k = name ? snprintf(err, errlen, "%s: ", name) : 0;
    if (k < 0 || (size_t)k >= errlen) return;
    vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
}

void px_errf(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verrf(err, errlen, NULL, fmt, ap);
    va_end(ap);
}

void px_errf_file(char *err, size_t errlen, const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verrf(err, errlen, name ? name : "(input)", fmt, ap);
    va_end(ap);
}

void px_sbuf_add(px_sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) px_die(PX_EXIT_FAIL, "out of host memory (%zu bytes of text)", cap);
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void px_sbuf_str(px_sbuf *b, const char *s) { px_sbuf_add(b, s, strlen(s)); }

void px_sbuf_printf(px_sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        px_sbuf_add(b, tmp, (size_t)n);
        return;
    }
    char *big = px_malloc((size_t)n + 1, "text");
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    px_sbuf_add(b, big, (size_t)n);
    free(big);
}

double px_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *px_read_file(const char *path, size_t *len_out) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) { int e = errno; close(fd); errno = e; return NULL; }
    if (S_ISDIR(st.st_mode)) { close(fd); errno = EISDIR; return NULL; }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) { close(fd); errno = ENOMEM; return NULL; }
    for (;;) {
        if (len + 1 >= cap) {
            // Full: probe for EOF before growing, so a file whose size fstat told us
            // is read without doubling the buffer.
            char probe;
            ssize_t r = read(fd, &probe, 1);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) { int e = errno; free(buf); close(fd); errno = e; return NULL; }
            if (r == 0) break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); close(fd); errno = ENOMEM; return NULL; }
            buf = nb; cap *= 2;
            buf[len++] = probe;
            continue;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0) { if (errno == EINTR) continue; int e = errno; free(buf); close(fd); errno = e; return NULL; }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

int px_write_file_atomic(const char *path, const void *data, size_t len) {
    size_t plen = strlen(path) + 32;
    char *tmp = malloc(plen);
    if (!tmp) { errno = ENOMEM; return -1; }
    snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { int e = errno; free(tmp); errno = e; return -1; }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno; close(fd); unlink(tmp); free(tmp); errno = e; return -1;
        }
        p += w; left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) { int e = errno; unlink(tmp); free(tmp); errno = e; return -1; }
    if (rename(tmp, path) != 0) { int e = errno; unlink(tmp); free(tmp); errno = e; return -1; }
    free(tmp);
    // fsync the directory so the rename itself survives a crash.
    char *dcopy = strdup(path);
    if (dcopy) {
        int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) { fsync(dfd); close(dfd); }
        free(dcopy);
    }
    return 0;
}

int px_mkdirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    struct stat st;
    if (stat(buf, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return -1; }
    return 0;
}

int px_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int px_check_writable(const char *path) {
    if (access(path, F_OK) == 0) return access(path, W_OK);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    return access(dir, W_OK);
}
