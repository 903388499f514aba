// The device rule of include/runtime/device_rank.h: skip and rank, no OpenCL calls.
#include "device_rank.h"

#include <stdio.h>
#include <string.h>

int ocl_parse_clc_version(const char *s) {
    if (!s) return 0;
    const char *p = strstr(s, "OpenCL C ");
    if (p)
        p += 9;
    else if ((p = strstr(s, "OpenCL ")))
        p += 7;
    else
        return 0;
    int major = 0, minor = 0;
    if (sscanf(p, "%d.%d", &major, &minor) != 2 || major < 1 || major > 9 || minor < 0 || minor > 9) return 0;
    return major * 10 + minor;
}

int ocl_device_skipped(const ocl_dev_props *d, char *why, size_t len) {
    if (!d->available) {
        snprintf(why, len,
                 "not available (CL_DEVICE_AVAILABLE is false: in use in exclusive mode, or the driver "
                 "lost it)");
        return 1;
    }
    if (!d->compiler) {
        snprintf(why, len,
                 "no OpenCL C compiler (CL_DEVICE_COMPILER_AVAILABLE is false): pixloc builds its kernels "
                 "from source at run time");
        return 1;
    }
    if (d->clc_version < OCL_MIN_CLC) {
        if (d->clc_version > 0)
            snprintf(why, len, "OpenCL C %d.%d; the kernels need %d.%d or newer", d->clc_version / 10,
                     d->clc_version % 10, OCL_MIN_CLC / 10, OCL_MIN_CLC % 10);
        else
            snprintf(why, len, "OpenCL C version unknown; the kernels need %d.%d or newer", OCL_MIN_CLC / 10,
                     OCL_MIN_CLC % 10);
        return 1;
    }
    if (len) why[0] = 0;
    return 0;
}

static int kind_rank(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return 0;
    if (t & CL_DEVICE_TYPE_CPU) return 1;
    return 2;
}

int ocl_device_ranks_before(const ocl_dev_props *a, const ocl_dev_props *b) {
    int ka = kind_rank(a->type), kb = kind_rank(b->type);
    if (ka != kb) return ka < kb;
    if (ka == 0 && (a->unified != 0) != (b->unified != 0)) return !a->unified; // discrete first
    unsigned long long sa = (unsigned long long)a->compute_units * a->clock_mhz;
    unsigned long long sb = (unsigned long long)b->compute_units * b->clock_mhz;
    return sa > sb;
}

int ocl_pick_device(const ocl_dev_props *devs, const int *match, int n, int *nmatch) {
    int best = -1, m = 0;
    char why[256];
    for (int i = 0; i < n; i++) {
        if (!match[i]) continue;
        m++;
        if (ocl_device_skipped(&devs[i], why, sizeof why)) continue;
        if (best < 0 || ocl_device_ranks_before(&devs[i], &devs[best])) best = i;
    }
    if (nmatch) *nmatch = m;
    return best;
}
