// The work-group fit rule of include/runtime/wg_fit.h: no OpenCL calls.
#include "wg_fit.h"

#include <stdio.h>

static size_t product(const size_t *l, unsigned dims) {
    size_t p = 1;
    for (unsigned i = 0; i < dims; i++) p *= l[i];
    return p;
}

static void shape(char *out, size_t len, const size_t *l, unsigned dims) {
    int n = snprintf(out, len, "%zu", l[0]);
    for (unsigned i = 1; i < dims && n > 0 && (size_t)n < len; i++)
        n += snprintf(out + n, len - (size_t)n, "x%zu", l[i]);
}

// The first limit local breaks, as a message; 0 if none.
static int broken(const ocl_wg_limits *lim, unsigned dims, const size_t *local, char *why, size_t len) {
    char s[96];
    shape(s, sizeof s, local, dims);
    size_t n = product(local, dims);
    if (lim->reqd[0]) {
        int same = 1;
        for (unsigned i = 0; i < dims; i++) same &= local[i] == (lim->reqd[i] ? lim->reqd[i] : 1);
        if (!same) {
            char r[96];
            shape(r, sizeof r, lim->reqd, dims);
            snprintf(why, len, "work-group %s: the kernel was compiled for %s (reqd_work_group_size)", s, r);
            return 1;
        }
    }
    for (unsigned i = 0; i < dims; i++)
        if (local[i] == 0 || local[i] > lim->max_item[i]) {
            snprintf(why, len,
                     "work-group %s: %zu in dimension %u is over the device's %zu (CL_DEVICE_MAX_WORK_ITEM_SIZES)", s,
                     local[i], i, lim->max_item[i]);
            return 1;
        }
    if (n > lim->max_wg) {
        snprintf(why, len, "work-group %s = %zu work-items is over the device's %zu (CL_DEVICE_MAX_WORK_GROUP_SIZE)", s,
                 n, lim->max_wg);
        return 1;
    }
    if (lim->kernel_wg && n > lim->kernel_wg) {
        snprintf(why, len,
                 "work-group %s = %zu work-items is over this kernel's %zu (CL_KERNEL_WORK_GROUP_SIZE: its registers "
                 "or local memory allow no more)",
                 s, n, lim->kernel_wg);
        return 1;
    }
    if (lim->kernel_local_mem > lim->device_local_mem) {
        snprintf(why, len,
                 "local memory %zu bytes (CL_KERNEL_LOCAL_MEM_SIZE) is over the device's %zu "
                 "(CL_DEVICE_LOCAL_MEM_SIZE)",
                 lim->kernel_local_mem, lim->device_local_mem);
        return 1;
    }
    return 0;
}

int ocl_wg_fit(const ocl_wg_limits *lim, unsigned dims, size_t *local, int mode, char *why, size_t len) {
    if (dims < 1 || dims > 3) {
        snprintf(why, len, "%u work dimensions (1 to 3)", dims);
        return 0;
    }
    if (len) why[0] = 0;
    if (!broken(lim, dims, local, why, len)) return 1;
    if (mode != OCL_FIT_SHRINK || lim->reqd[0]) return 0;
    // Local memory does not shrink with the work-group here (the caller sized it): no retry.
    if (lim->kernel_local_mem > lim->device_local_mem) return 0;
    // Each dimension within its own limit first, then the largest halved until the whole fits.
    size_t l[3] = {1, 1, 1};
    for (unsigned i = 0; i < dims; i++) {
        l[i] = local[i] ? local[i] : 1;
        if (l[i] > lim->max_item[i]) l[i] = lim->max_item[i] ? lim->max_item[i] : 1;
    }
    char tmp[8];
    while (broken(lim, dims, l, tmp, sizeof tmp)) {
        unsigned big = 0;
        for (unsigned i = 1; i < dims; i++)
            if (l[i] > l[big]) big = i;
        if (l[big] <= 1) return 0;
        l[big] = (l[big] + 1) / 2;
    }
    for (unsigned i = 0; i < dims; i++) local[i] = l[i];
    if (len) why[0] = 0;
    return 1;
}
