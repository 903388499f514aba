// Common helpers declared in pixloc.h.
#include "pixloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int g_quiet;
// The innermost armed trap of this thread (pixloc.h: library mode); NULL in the CLI.
static _Thread_local px_trap *g_trap;

void px_set_quiet(int quiet) { g_quiet = quiet; }

void px_trap_arm(px_trap *t) {
    t->status = 0;
    t->msg[0] = '\0';
    t->prev = g_trap;
    g_trap = t;
}

void px_trap_disarm(px_trap *t) { g_trap = t->prev; }

// A px_log/px_warn line under a trap: to its log function, or nowhere.
static void trap_log(px_trap *t, const char *prefix, const char *fmt, va_list ap) {
    if (!t->log) return;
    char line[4096];
    size_t k = (size_t)snprintf(line, sizeof line, "%s", prefix);
    vsnprintf(line + k, sizeof line - k, fmt, ap);
    t->log(t->user, line);
}

void px_die(int status, const char *fmt, ...) {
    va_list ap;
    px_trap *t = g_trap;
    if (t) {
        t->status = status;
        va_start(ap, fmt);
        vsnprintf(t->msg, sizeof t->msg, fmt, ap);
        va_end(ap);
        longjmp(t->env, 1);
    }
    fflush(stdout);
    fputs("pixloc: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

void px_log(const char *fmt, ...) {
    va_list ap;
    if (g_trap) {
        va_start(ap, fmt);
        trap_log(g_trap, "", fmt, ap);
        va_end(ap);
        return;
    }
    if (g_quiet) return;
    fputs("pixloc: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void px_warn(const char *fmt, ...) {
    va_list ap;
    if (g_trap) {
        va_start(ap, fmt);
        trap_log(g_trap, "warning: ", fmt, ap);
        va_end(ap);
        return;
    }
    fputs("pixloc: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *px_malloc_(size_t bytes, const char *what, const char *file, int line) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) px_die(PX_EXIT_FAIL, "out of host memory allocating %zu bytes for %s (%s:%d)", bytes, what, file, line);
    return p;
}

void *px_calloc_(size_t n, size_t size, const char *what, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        px_die(PX_EXIT_FAIL, "out of host memory allocating %zu x %zu bytes for %s (%s:%d)", n, size, what, file, line);
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
    // O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused below.
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return NULL;
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return NULL;
    }
    // Only regular files, and not absurdly large ones: /dev/zero or a FIFO would be read forever.
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = ENOTSUP;
        return NULL;
    }
    if ((uint64_t)st.st_size > PX_READ_FILE_MAX) {
        close(fd);
        errno = EFBIG;
        return NULL;
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        if (len + 1 >= cap) {
            // Full: probe for EOF before growing, so a file whose size fstat told us
            // is read without doubling the buffer.
            char probe;
            ssize_t r = read(fd, &probe, 1);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                int e = errno;
                free(buf);
                close(fd);
                errno = e;
                return NULL;
            }
            if (r == 0) break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap *= 2;
            buf[len++] = probe;
            continue;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

static int write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

// The file a write to `path` must change: symbolic links in the last component are followed
// (a chain of up to 40), so the link's target is replaced and the link itself stays.
static char *write_target(const char *path) {
    char *cur = strdup(path);
    for (int depth = 0; cur && depth < 40; depth++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur;
        char link[4096];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) {
            int e = errno;
            free(cur);
            errno = e;
            return NULL;
        }
        link[n] = 0;
        const char *slash = strrchr(cur, '/');
        int dir = link[0] != '/' && slash ? (int)(slash - cur) + 1 : 0; // a relative link: from cur's directory
        size_t need = (size_t)dir + (size_t)n + 1;
        char *next = malloc(need);
        if (next) snprintf(next, need, "%.*s%s", dir, cur, link);
        free(cur);
        cur = next;
    }
    free(cur);
    errno = ELOOP;
    return NULL;
}

int px_write_file_atomic(const char *path, const void *data, size_t len) {
    // The path itself first, links followed by the kernel: /dev/stdout is a link into /proc whose
    // text ("pipe:[N]") names no file, yet it opens the pipe.
    struct stat st;
    int special = stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode));
    char *real = special ? strdup(path) : write_target(path);
    if (!real) return -1;
    if (stat(real, &st) == 0 && !S_ISREG(st.st_mode)) {
        // A character device or a pipe is written in place, as a shell redirection would: renaming
        // over it would replace /dev/null with a file. Anything else is refused.
        int rc = -1, e = S_ISDIR(st.st_mode) ? EISDIR : ENOTSUP;
        if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
            int fd = open(real, O_WRONLY | O_CLOEXEC);
            rc = fd >= 0 && write_all(fd, data, len) == 0 ? 0 : -1;
            e = errno;
            if (fd >= 0 && close(fd) != 0 && rc == 0) rc = -1, e = errno;
        }
        free(real);
        errno = e;
        return rc;
    }
    // A regular file (or none): a temporary file in the target's own directory, fsync'd and
    // renamed over it, so readers see the old file or the new one, never half of one.
    size_t plen = strlen(real) + 32;
    char *tmp = malloc(plen);
    if (!tmp) {
        free(real);
        errno = ENOMEM;
        return -1;
    }
    // pid and a per-process count: two threads (libpixloc handles) writing one file at once
    // each write their own temporary file, and the last rename wins.
    static atomic_uint writes;
    snprintf(tmp, plen, "%s.tmp.%ld.%u", real, (long)getpid(), atomic_fetch_add(&writes, 1u));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = -1, e = 0;
    if (fd < 0) {
        e = errno;
    } else if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        e = errno;
        close(fd);
        unlink(tmp);
    } else if (close(fd) != 0 || rename(tmp, real) != 0) {
        e = errno;
        unlink(tmp);
    } else {
        rc = 0;
        // fsync the directory so the rename itself survives a crash.
        char *dcopy = strdup(real);
        if (dcopy) {
            int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(dcopy);
        }
    }
    free(tmp);
    free(real);
    errno = e;
    return rc;
}

int px_mkdirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
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
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
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
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    // "afile/x" where afile is a plain file: access() on afile would say yes.
    struct stat st;
    if (stat(dir, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return access(dir, W_OK);
}
