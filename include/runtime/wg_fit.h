// Whether an explicit local (work-group) size fits a kernel on a device, as a pure
// function over the limits that decide it, so it is unit-tested without the
// hardware (tests/test_wg_fit.c). Layers call ocl_fit_local (ocl.h), which reads
// the limits of the device and the built kernel and calls this.
#ifndef PIXLOC_WG_FIT_H
#define PIXLOC_WG_FIT_H

#include <stddef.h>

typedef struct {
    size_t max_item[3];      // CL_DEVICE_MAX_WORK_ITEM_SIZES, per dimension
    size_t max_wg;           // CL_DEVICE_MAX_WORK_GROUP_SIZE (capped by PIXLOC_MAX_WORK_GROUP)
    size_t kernel_wg;        // CL_KERNEL_WORK_GROUP_SIZE: this kernel's limit (registers); 0 = unknown
    size_t reqd[3];          // CL_KERNEL_COMPILE_WORK_GROUP_SIZE (reqd_work_group_size); 0,0,0 = none
    size_t kernel_local_mem; // CL_KERNEL_LOCAL_MEM_SIZE: its __local arrays and the __local arguments set
    size_t device_local_mem; // CL_DEVICE_LOCAL_MEM_SIZE
} ocl_wg_limits;

enum {
    OCL_FIT_EXACT = 0,  // the kernel needs exactly this local size: fit or fail
    OCL_FIT_SHRINK = 1, // any local size works (the caller rounds the global size up to it):
                        // halve the largest dimension until it fits
};

// 1 if local[0..dims) fits (in OCL_FIT_SHRINK mode, after shrinking local in place);
// 0 if not, with the reason in why (which limit, its value, and what was asked).
int ocl_wg_fit(const ocl_wg_limits *lim, unsigned dims, size_t *local, int mode, char *why, size_t len);

#endif
