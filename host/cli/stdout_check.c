// Standard output must not fail silently: `pixloc predict ... > file` on a full disk, or into
// /dev/full, or with stdout closed, exits 1 with "write error" instead of 0. A broken pipe
// (`| head`) stays quiet, as coreutils do: SIGPIPE ends the process before this runs.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pixloc.h"

static int g_stdout_was_closed;

void stdout_guard_begin(void) {
    // A closed fd 1 would be reused by the next open(), and printf would write into a dataset
    // or checkpoint: hold the slot with /dev/null and report the closed stdout at the end.
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1 && errno == EBADF) {
        g_stdout_was_closed = 1;
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && fd != STDOUT_FILENO) close(fd); // fd 0 was closed too: leave it
    }
}

int stdout_guard_end(int status) {
    int failed = ferror(stdout);
    int e = errno;
    if (fclose(stdout) != 0) failed = 1, e = errno;
    if (g_stdout_was_closed) failed = 1, e = EBADF;
    if (!failed) return status;
    if (e == EPIPE) return status == PX_EXIT_OK ? PX_EXIT_FAIL : status;
    fprintf(stderr, "pixloc: error: write error on standard output: %s\n",
            g_stdout_was_closed ? "it is closed" : strerror(e ? e : EIO));
    return status == PX_EXIT_OK ? PX_EXIT_FAIL : status;
}
