// Kernel targets and program lists (see include/runtime/ocl_target.h).
#include "ocl_target.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pixloc.h"

int ocl_target_hypothetical(const char *type, ocl_target *t) {
    if (type && strcasecmp(type, "gpu") == 0) {
        *t = (ocl_target){.gpu = 1, .local_mem = OCL_GPU_LOCAL_MEM, .max_wg = OCL_GPU_MAX_WG};
        return 0;
    }
    if (type && strcasecmp(type, "cpu") == 0) {
        *t = (ocl_target){.gpu = 0, .local_mem = 256ull * 1024, .max_wg = 4096};
        return 0;
    }
    return -1;
}

// -w: no warnings. PoCL 3.1's compiler prints "N warnings generated." straight to the process's
// stderr when it builds a program (seen on a Zen 3 CPU, not on the Zen 4 and Xeon machines before,
// and not from clang-14 on the same sources), which a user of pixloc, or of libpixloc, which must
// never print, would see; errors still come back in the build log, and the kernels are compiled
// with clang's warnings by the gpu_compile test.
void ocl_build_options(const ocl_target *t, const char *options, char *out, size_t len) {
    const char *o = options ? options : "";
    int n = snprintf(out, len, "%s%s-DPX_GPU=%d -w", o, *o ? " " : "", t->gpu ? 1 : 0);
    if (n < 0 || (size_t)n >= len) px_die(PX_EXIT_FAIL, "build options too long: %s", o);
}

void ocl_program_list_add(ocl_program_list *l, const ocl_target *t, const char *file, const char *options) {
    char full[OCL_PROGRAM_OPTIONS_MAX];
    ocl_build_options(t, options, full, sizeof full);
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->s[i].file, file) == 0 && strcmp(l->s[i].options, full) == 0) return;
    if (l->n == OCL_PROGRAM_LIST_MAX) px_die(PX_EXIT_FAIL, "more than %d programs to list", OCL_PROGRAM_LIST_MAX);
    snprintf(l->s[l->n].file, sizeof l->s[l->n].file, "%s", file);
    snprintf(l->s[l->n].options, sizeof l->s[l->n].options, "%s", full);
    l->n++;
}
