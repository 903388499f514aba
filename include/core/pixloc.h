// pixloc: common helpers shared by every host file — errors, logging, allocation.
// One way to do each thing: every fatal error goes through px_die, every
// allocation through px_malloc/px_calloc, every informational line through px_log.
#ifndef PIXLOC_H
#define PIXLOC_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PIXLOC_VERSION "0.1.0"

// Exit statuses used across the tool.
enum {
    PX_EXIT_OK = 0,
    PX_EXIT_FAIL = 1,  // runtime failure (I/O, device, numerical)
    PX_EXIT_USAGE = 2, // bad flags, bad input values, no matching device
    PX_EXIT_INTERRUPTED = 130
};

// Prints "pixloc: error: <message>\n" to stderr and exits with `status`.
void px_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
// Prints "pixloc: <message>\n" to stderr unless quiet mode is on.
void px_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Prints "pixloc: warning: <message>\n" to stderr (always).
void px_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void px_set_quiet(int quiet);

// Library mode (libpixloc, host/api/). The layers below stop on a fatal error through px_die
// from many places (CL_CHECK, px_malloc, the device choice, program builds); turning each into an
// error return through every caller would touch most of the code for a path the CLI does not
// need. Instead the API entry arms a trap on its thread before it calls into the layers:
// while one is armed, px_die keeps the status and message in it and longjmps back to the entry
// (which returns an error code and releases what its handle holds), and px_log/px_warn hand
// their line to the trap's log function (or drop it) instead of printing. Nothing is printed and
// the process never exits inside a library call. What a layer had allocated half-way when it
// died is not freed (it is lost, not corrupted): the handle stays usable and closable.
// Traps nest (prev); px_trap_arm/px_trap_disarm must pair in the same function as the setjmp.
typedef struct px_trap {
    jmp_buf env;
    int status;     // px_die's status (PX_EXIT_*)
    char msg[4096]; // px_die's message, without the "pixloc: error: " prefix
    // Receives each px_log line ("...") and px_warn line ("warning: ..."); NULL drops them.
    void (*log)(void *user, const char *line);
    void *user;
    struct px_trap *prev;
} px_trap;
void px_trap_arm(px_trap *t);
void px_trap_disarm(px_trap *t);

// Allocation that never returns NULL: on failure it dies naming what and how much.
void *px_malloc_(size_t bytes, const char *what, const char *file, int line);
void *px_calloc_(size_t n, size_t size, const char *what, const char *file, int line);
#define px_malloc(bytes, what)   px_malloc_((bytes), (what), __FILE__, __LINE__)
#define px_calloc(n, size, what) px_calloc_((n), (size), (what), __FILE__, __LINE__)

// Formats a message into err[errlen] (nothing when err is NULL or errlen 0). With
// px_errf_file the message is prefixed "NAME: " — the form every reader uses.
void px_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void px_errf_file(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

// Growing NUL-terminated text buffer; dies on out-of-memory. Zero-initialise, free(b.s).
typedef struct {
    char *s;
    size_t len, cap;
} px_sbuf;
void px_sbuf_add(px_sbuf *b, const char *s, size_t n);
void px_sbuf_str(px_sbuf *b, const char *s);
void px_sbuf_printf(px_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Monotonic wall clock in seconds.
double px_now(void);

// Whole-file read into a NUL-terminated malloc'd buffer; returns NULL (errno set) on failure:
// ENOTSUP for anything but a regular file (a device or FIFO could be read forever), EFBIG over
// PX_READ_FILE_MAX bytes.
#define PX_READ_FILE_MAX ((uint64_t)1 << 30)
char *px_read_file(const char *path, size_t *len_out);
// Atomic file write: data goes to "<path>.tmp.<pid>.<count>", is fsync'd, then renamed over path
// (and the directory fsync'd), so readers see the old file or the new one, never half of one.
// A symbolic link is followed (its target is replaced, the link stays); a character device or a
// FIFO is written in place (never replaced by a file); a directory (EISDIR) or any other kind of
// file (ENOTSUP) is refused. Returns 0 on success, -1 with errno set (the temporary file is
// removed) on failure.
int px_write_file_atomic(const char *path, const void *data, size_t len);
// mkdir -p; returns 0 or -1 with errno set.
int px_mkdirs(const char *path);
// 1 if both paths exist and name the same file (device and inode; links followed), else 0.
int px_same_file(const char *a, const char *b);
// 0 if a file could be created or replaced at path (its directory exists and is writable, and an
// existing path is writable); -1 with errno set otherwise. For checking an output before the work.
int px_check_writable(const char *path);

#endif
