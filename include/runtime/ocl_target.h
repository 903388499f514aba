// What the set of programs and their shapes depend on, apart from the network:
// the kernel profile of the device type and the limits that size work-groups
// and tiles. A live context has one (ocl_ctx.target, from its device); `pixloc
// kernels` makes one for a device that need not exist (ocl_target_hypothetical)
// and lists the programs the host would build for it (net_programs).
#ifndef PIXLOC_OCL_TARGET_H
#define PIXLOC_OCL_TARGET_H

#include <stddef.h>

typedef struct {
    int gpu;                      // 1: GPU-shaped kernels (every program is built with -DPX_GPU=1), 0: CPU-shaped
    unsigned long long local_mem; // bytes of local memory a work-group may use
    size_t max_wg;                // largest work-group
} ocl_target;

// GPU-like limits, also those a forced GPU profile on another device is clamped to:
// 48 KiB of local memory (NVIDIA's default per block) and work-groups of 256 (ROCm's
// default maximum), so the programs fit NVIDIA, AMD and Intel GPUs alike.
#define OCL_GPU_LOCAL_MEM (48ull * 1024)
#define OCL_GPU_MAX_WG    256

// A device of type `type` ("gpu" or "cpu") that need not exist: GPU-like limits
// above, or PoCL's (its CPU device: 4096 work-items, local memory taken as 256 KiB).
// Returns 0, or -1 for another type.
int ocl_target_hypothetical(const char *type, ocl_target *t);

// The exact options a program is built with on target t: the layer's `options`
// followed by the profile define (-DPX_GPU=0 or 1).
void ocl_build_options(const ocl_target *t, const char *options, char *out, size_t len);

// A list of programs as (file in cl/, exact build options), each once.
#define OCL_PROGRAM_OPTIONS_MAX 768
#define OCL_PROGRAM_LIST_MAX    96
typedef struct {
    char file[32];
    char options[OCL_PROGRAM_OPTIONS_MAX];
} ocl_program_spec;
typedef struct {
    int n;
    ocl_program_spec s[OCL_PROGRAM_LIST_MAX];
} ocl_program_list;
// Appends cl/<file> with the layer's `options` as target t builds it, unless listed already.
void ocl_program_list_add(ocl_program_list *l, const ocl_target *t, const char *file, const char *options);

#endif
