// net_create's memory plan against a real allocation cap: the "largest batch
// that fits" it reports really allocates (net_create succeeds under the cap) and
// one more image does not (the first buffer the plan rejects is one the device
// refuses, and net_create exits 1 naming the same largest batch). Shapes where
// the conv weight-gradient partials (64->64 channels on small images), the
// Winograd scratch and the BN scratch are part of the plan.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net.h"
#include "ocl.h"
#include "test_util.h"

// The one place the test sets the allocation cap (today an environment
// variable read by ocl_alloc_cap).
static void set_alloc_cap_mb(ocl_ctx *c, int mb) { c->max_alloc_mb = (unsigned long long)mb; }

// net_create(batch) in a child process: its exit status and stderr.
static int create_in_child(ocl_ctx *c, const net_config *cfg, int H, int W, int batch, char *err, size_t len) {
    char path[] = "/tmp/pixloc_plan_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        net *n = net_create(c, cfg, H, W, batch);
        net_free(n);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    ssize_t got = pread(fd, err, len - 1, 0);
    err[got > 0 ? got : 0] = 0;
    close(fd);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void check_cap(ocl_ctx *c, const char *channels, int bn, int H, int W, int cap_mb) {
    net_config cfg;
    net_config_seed(&cfg);
    char e[256];
    CHECK(net_config_channels(&cfg, channels, e, sizeof e) == 0, "%s", e);
    for (int i = 0; i < cfg.nblocks; i++) cfg.bn[i] = bn;
    set_alloc_cap_mb(c, cap_mb);
    long b = net_largest_batch(c, &cfg, H, W);
    printf("channels %s bn %d %dx%d cap %d MiB: largest batch %ld\n", channels, bn, H, W, cap_mb, b);
    CHECK(b >= 1 && b < 100000, "%s: largest batch %ld", channels, b);
    if (b < 1) return;
    CHECK(net_plan_check(c, &cfg, H, W, (int)b, NULL, NULL) == 1, "%s: batch %ld does not fit its plan", channels, b);
    // The reported batch really allocates under the cap.
    net *n = net_create(c, &cfg, H, W, (int)b);
    CHECK(n != NULL, "%s: net_create(%ld)", channels, b);
    net_free(n);
    // One more does not: the plan's first rejected buffer is over the cap for the device too.
    const char *name = NULL;
    size_t bytes = 0;
    CHECK(net_plan_check(c, &cfg, H, W, (int)b + 1, &name, &bytes) == 0, "%s: batch %ld fits", channels, b + 1);
    if (name && strcmp(name, "all buffers together") != 0) {
        printf("  batch %ld: '%s' (%zu bytes) does not fit\n", b + 1, name, bytes);
        cl_mem m = ocl_buffer_try(c, name, bytes);
        CHECK(m == NULL, "%s: the device accepted '%s' of %zu bytes", channels, name, bytes);
        if (m) ocl_free(&m);
    }
    char err[4096], want[64];
    int rc = create_in_child(c, &cfg, H, W, (int)b + 1, err, sizeof err);
    snprintf(want, sizeof want, "the largest batch that fits is %ld", b);
    CHECK(rc == 1, "%s: net_create(%ld) exited %d", channels, b + 1, rc);
    CHECK(strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", channels, err, want);
}

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    o.quiet = 1;
    ocl_init(&c, &o);
    // 64->64 on 8x8: the weight-gradient partials (~144 KiB per image) are the largest buffer.
    check_cap(&c, "64,64", 0, 8, 8, 1);
    check_cap(&c, "64,64", 1, 8, 8, 1);
    // The seed's channels with BN on 16x16 images.
    check_cap(&c, "32,64,128,64,32", 1, 16, 16, 2);
    ocl_release(&c);
    return t_summary();
}
