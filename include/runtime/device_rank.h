// Which OpenCL devices pixloc can use, and which it takes by default: pure
// functions over a small struct of device properties (ocl.c fills it from
// clGetDeviceInfo), so the rule is unit-tested with made-up devices
// (tests/test_device_rank.c) on a machine without a GPU.
//
// A device is skipped when it is not available (CL_DEVICE_AVAILABLE), has no
// compiler (CL_DEVICE_COMPILER_AVAILABLE: pixloc builds its kernels at run time)
// or implements an OpenCL C older than OCL_MIN_CLC (the kernels are OpenCL C 1.1:
// no `static`, no 1.2 built-ins, so Mesa Clover's 1.1 runs them).
// Among the usable devices that match the selection, the first in this order wins:
//   1. GPUs, then CPUs, then any other kind (accelerators);
//   2. among GPUs, discrete before integrated (integrated = CL_DEVICE_HOST_UNIFIED_MEMORY);
//   3. more compute units x maximum clock (MHz) first;
//   4. the ICD loader's order (platform, then device index).
#ifndef PIXLOC_DEVICE_RANK_H
#define PIXLOC_DEVICE_RANK_H

#include <stddef.h>

#include "cl_include.h"

// The oldest OpenCL C the kernels compile as, major*10 + minor.
#define OCL_MIN_CLC 11

typedef struct {
    cl_device_type type;
    int available;          // CL_DEVICE_AVAILABLE
    int compiler;           // CL_DEVICE_COMPILER_AVAILABLE
    int clc_version;        // CL_DEVICE_OPENCL_C_VERSION as major*10+minor (12 for "OpenCL C 1.2 ..."); 0 unknown
    int unified;            // CL_DEVICE_HOST_UNIFIED_MEMORY (an integrated GPU, or a CPU)
    unsigned compute_units; // CL_DEVICE_MAX_COMPUTE_UNITS
    unsigned clock_mhz;     // CL_DEVICE_MAX_CLOCK_FREQUENCY
} ocl_dev_props;

// major*10+minor of a CL_DEVICE_OPENCL_C_VERSION string ("OpenCL C 1.2 PoCL" -> 12),
// or of a CL_DEVICE_VERSION string ("OpenCL 3.0 CUDA" -> 30); 0 if it has neither form.
int ocl_parse_clc_version(const char *s);
// 1 if pixloc cannot use the device, with the reason in why ("not available",
// "no OpenCL C compiler", "OpenCL C 1.0, the kernels need 1.1"); 0 if usable.
int ocl_device_skipped(const ocl_dev_props *d, char *why, size_t len);
// 1 if a ranks before b by rules 1-3 above (neither skipped is assumed).
int ocl_device_ranks_before(const ocl_dev_props *a, const ocl_dev_props *b);
// The index of the best-ranked usable device among devs[i] with match[i] != 0
// (devs in loader order: ties keep the earlier), or -1 if none is usable;
// *nmatch (if not NULL) gets how many matched at all, usable or not.
int ocl_pick_device(const ocl_dev_props *devs, const int *match, int n, int *nmatch);

#endif
