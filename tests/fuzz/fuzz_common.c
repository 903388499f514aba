// Shared by every fuzz target; see fuzz_targets.h.
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_targets.h"

int fuzz_accepted;

void fuzz_fail(const char *file, int line, const char *what) {
    fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
    abort();
}
