// Replays the fuzzers' committed inputs through the same entry points the
// libFuzzer targets use (tests/fuzz/fuzz_*.c), without libFuzzer, so the normal
// build (and the sanitizer build in CI) checks them on every run:
//   tests/fuzz/corpus/<target>/*       seeds, valid and broken: must not crash
//   tests/fuzz/regressions/<target>/*  inputs that once crashed a reader or broke
//                                      its contract: must not crash, and must now
//                                      be rejected with a message (a file named
//                                      *.accept.* must be accepted instead)
// A crash, an abort from a fuzz check or a sanitizer report fails the test.
// The bodies are compiled into this one file because every tests/test_*.c is
// built as a single-source test (tests/CMakeLists.txt).
#define _GNU_SOURCE // memfd_create in fuzz_safetensors.c: before any system header
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.c"
#include "fuzz/fuzz_image.c"
#include "fuzz/fuzz_labels.c"
#include "fuzz/fuzz_safetensors.c"
#include "fuzz/fuzz_settings.c"
#include "pixloc.h"
#include "test_util.h"

typedef struct {
    const char *name;
    int (*fn)(const uint8_t *, size_t);
} target;

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Runs every file of DIR through fn; returns the number of files (-1 if DIR is missing).
static int replay_dir(const target *t, const char *dir, int regressions) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    char *names[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, name_cmp);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        char *bytes = px_read_file(path, &len);
        CHECK(bytes != NULL, "cannot read %s", path);
        if (bytes) {
            t->fn((const uint8_t *)bytes, len); // a crash or a failed fuzz check aborts here
            if (regressions) {
                int want = strstr(names[i], ".accept.") != NULL;
                CHECK(fuzz_accepted == want, "%s: %s, expected %s", path, fuzz_accepted ? "accepted" : "rejected",
                      want ? "accepted" : "rejected");
            }
            free(bytes);
        }
        free(names[i]);
    }
    return n;
}

int main(void) {
    static const target targets[] = {{"fuzz_safetensors", fuzz_safetensors},
                                     {"fuzz_image", fuzz_image},
                                     {"fuzz_settings", fuzz_settings},
                                     {"fuzz_labels", fuzz_labels}};
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", PIXLOC_SOURCE_DIR, targets[k].name);
        int nc = replay_dir(&targets[k], dir, 0);
        CHECK(nc > 0, "no seed corpus in %s", dir);
        snprintf(dir, sizeof dir, "%s/tests/fuzz/regressions/%s", PIXLOC_SOURCE_DIR, targets[k].name);
        int nr = replay_dir(&targets[k], dir, 1);
        printf("%-17s %3d corpus files, %3d regressions replayed\n", targets[k].name, nc, nr < 0 ? 0 : nr);
    }
    return t_summary();
}
