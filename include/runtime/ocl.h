// OpenCL runtime: platform/device selection, run-time program builds with an
// on-disk cache of compiled binaries, buffers and launches with checked errors.
#ifndef PIXLOC_OCL_H
#define PIXLOC_OCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>

// Symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES").
const char *cl_errstr(cl_int err);

// Checks one OpenCL call: on failure prints the call's text, the symbolic error
// and file:line, then exits 1. Call sites stay one line long.
#define CL_CHECK(call)                                                         \
    do {                                                                       \
        cl_int cl_check_err_ = (call);                                         \
        if (cl_check_err_ != CL_SUCCESS)                                       \
            ocl_fail_(#call, cl_check_err_, __FILE__, __LINE__);               \
    } while (0)
void ocl_fail_(const char *call, cl_int err, const char *file, int line) __attribute__((noreturn));

// Sets kernel argument i to the value v (any lvalue: cl_mem, int, float ...).
#define KARG(kernel, i, v) CL_CHECK(clSetKernelArg((kernel), (i), sizeof(v), &(v)))

// How the user asked for a device. NULL fields mean "not given"; ocl_init
// falls back to the PIXLOC_PLATFORM / PIXLOC_DEVICE / PIXLOC_DEVICE_TYPE /
// PIXLOC_KERNEL_DIR / PIXLOC_CACHE_DIR environment variables, flags winning.
typedef struct {
    const char *platform;    // index or case-insensitive substring of platform name/vendor
    const char *device;      // index or case-insensitive substring of device name/vendor
    const char *device_type; // "gpu", "cpu", "accelerator" or "all"
    const char *kernel_dir;  // read .cl files from here instead of the embedded copies
    int no_cache;            // 1: never read or write the compiled-program cache
    int quiet;               // 1: do not print the chosen device
} ocl_options;

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue queue;
    cl_device_type type;
    int is_cpu; // CPU device: choose CPU-style kernel variants (wide vectors, no local memory)
    int is_gpu;
    char platform_name[256], platform_version[256];
    char device_name[256], device_vendor[256], driver_version[256], device_version[256];
    cl_uint compute_units;
    cl_ulong global_mem, max_alloc, local_mem;
    size_t max_wg;
    char kernel_dir[1024]; // "" = embedded sources
    char cache_dir[1024];  // "" = cache disabled
    // Counters, for tests and the cache HIT/MISS debug output (PIXLOC_CACHE_DEBUG=1).
    int cache_hits, cache_misses, builds;
} ocl_ctx;

// Reads the common device flags from argv (--platform, --device, --device-type,
// --kernel-dir, --no-kernel-cache) and removes them, so each subcommand parses
// only its own flags. Exits 2 on a device flag without its value.
void ocl_options_from_args(ocl_options *o, int *argc, char **argv);
// The help text of those flags, for each subcommand's --help.
extern const char *const OCL_OPTIONS_HELP;

// Selects a device as asked (default: first GPU of any platform, else first CPU),
// creates a context and an in-order queue, prints the choice to stderr unless
// quiet. No platform, or nothing matching: message listing what exists and how
// to install PoCL, exit 2.
void ocl_init(ocl_ctx *c, const ocl_options *o);
void ocl_release(ocl_ctx *c);
// `pixloc devices`: lists every platform and device; returns an exit status.
int ocl_list_devices(const ocl_options *o);

// Builds cl/<file> (e.g. "conv.cl") with `options` (a string of -D defines).
// `#include "x.h"` lines are expanded from cl/ (embedded or --kernel-dir).
// Uses the disk cache; on a build failure prints the build log, file, options
// and exits 1. Programs are also memoised in-process by (file, options).
cl_program ocl_program(ocl_ctx *c, const char *file, const char *options);
// Creates a kernel; a missing name exits 1 naming file and kernel.
cl_kernel ocl_kernel(ocl_ctx *c, cl_program p, const char *name);
// Same as ocl_program but returns NULL instead of exiting and puts the build log
// in *log (malloc'd) — for tests and for the tuner trying variants.
cl_program ocl_program_try(ocl_ctx *c, const char *file, const char *options, char **log);

// Expanded source text of cl/<file> (includes resolved), malloc'd; NULL if missing.
char *ocl_source(ocl_ctx *c, const char *file);

// Device buffer of `bytes`, named for errors. Exceeding the device's largest
// allocation (or PIXLOC_MAX_ALLOC_MB, a cap for tests) or an allocation failure
// gives a message naming the buffer, its size and the limit, and exits 1.
cl_mem ocl_buffer(ocl_ctx *c, const char *name, size_t bytes);
// Same, but returns NULL (after printing nothing) when it does not fit, so a caller
// can suggest a smaller batch.
cl_mem ocl_buffer_try(ocl_ctx *c, const char *name, size_t bytes);
// The largest single allocation: the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE, or
// PIXLOC_MAX_ALLOC_MB when that is smaller (for testing out-of-memory handling).
size_t ocl_alloc_cap(const ocl_ctx *c);
void ocl_free(cl_mem *m);
void ocl_write(ocl_ctx *c, cl_mem m, size_t offset, const void *src, size_t bytes);
void ocl_read(ocl_ctx *c, cl_mem m, size_t offset, void *dst, size_t bytes);
void ocl_fill_float(ocl_ctx *c, cl_mem m, float value, size_t count);
// Enqueues an ND-range; local may be NULL. Errors name the kernel.
void ocl_run(ocl_ctx *c, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local);
void ocl_finish(ocl_ctx *c);

// Round x up to a multiple of m.
static inline size_t ocl_round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

#endif
