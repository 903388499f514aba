// OpenCL runtime: platform/device selection, run-time program builds with an
// on-disk cache of compiled binaries, buffers and launches with checked errors.
#ifndef PIXLOC_OCL_H
#define PIXLOC_OCL_H

#include "cl_include.h"
#include "wg_fit.h"
#include <stddef.h>

#include "ocl_target.h"

// Symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES").
const char *cl_errstr(cl_int err);

// Checks one OpenCL call: on failure prints the call's text, the symbolic error
// and file:line, then exits 1. Call sites stay one line long.
#define CL_CHECK(call)                                                                                                 \
    do {                                                                                                               \
        cl_int cl_check_err_ = (call);                                                                                 \
        if (cl_check_err_ != CL_SUCCESS) ocl_fail_(#call, cl_check_err_, __FILE__, __LINE__);                          \
    } while (0)
void ocl_fail_(const char *call, cl_int err, const char *file, int line) __attribute__((noreturn));

// Sets kernel argument i to the value v (any lvalue: cl_mem, int, float ...).
#define KARG(kernel, i, v) CL_CHECK(clSetKernelArg((kernel), (i), sizeof(__typeof__(v)), &(v)))

struct ocl_program_entry;
struct tuning_store;
struct build_pool;

// How the user asked for a device, and the run's settings, filled by the caller
// (the CLI reads the environment and the flags: host/cli/ocl_flags.c). Library
// code reads no environment variable. NULL / 0 / "" fields mean "not given".
typedef struct {
    const char *platform;            // index or case-insensitive substring of platform name/vendor
    const char *device;              // index or case-insensitive substring of device name/vendor
    const char *device_type;         // "gpu", "cpu", "accelerator" or "all"
    const char *kernel_dir;          // read .cl files from here instead of the embedded copies
    int no_cache;                    // 1: never read or write the compiled-program cache nor the tuning file
    int quiet;                       // 1: do not print the chosen device
    char cache_dir[1024];            // compiled programs and tuning files live here; "" = off
    int cache_debug;                 // 1: print cache HIT/MISS and build times to stderr
    int queue_profiling;             // 1: the queue records event times (for PoCL's POCL_TRACING=text)
    unsigned long long max_alloc_mb; // > 0: cap on one device allocation, in MiB (for tests)
    size_t max_wg_cap;               // > 0: cap on the device's work-group size (for tests: PIXLOC_MAX_WORK_GROUP)
    const char *conv_variant;        // a forced convolution variant by name (nn/conv.c reads it); NULL = none
    const char *conv_wino_m;         // a forced Winograd tile side, "2" or "4" (nn/conv.c reads it); NULL = none
    const char *kernel_profile;      // "gpu" or "cpu": that device type's kernels on any device; NULL = the device's
    int bn_separate; // 1: every batch norm writes its output (nn/net.c's plan_bn_fusion), for comparison
    // Helper threads for background program builds and cache stores (build_pool.h):
    // 0 = automatic (on PoCL with its compile cache on: one per compute unit, at most 8;
    // elsewhere none), -1 = none, N > 0 = N (PoCL only).
    int build_threads;
    // 1: this process only compiles, for another one (the training prewarm child, cli/prewarm.h):
    // no helper threads, ocl_program_prefetch_list builds its programs at once in reverse order,
    // and pixloc's program cache is read but never written.
    int compile_helper;
    // Where platform, device and device_type came from, for messages ("--device" or
    // "PIXLOC_DEVICE"); NULL reads as the flag.
    const char *platform_from, *device_from, *device_type_from;
} ocl_options;

// At most this many compiled programs that no layer holds are kept for reuse.
#define OCL_PROGRAM_MEMO_MAX 32

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue queue;
    cl_device_type type;
    int platform_index, device_index; // as `pixloc devices` numbers them
    int is_cpu;                       // CPU device: choose CPU-style kernel variants (wide vectors, no local memory)
    int is_gpu;
    int host_fill;     // fill buffers by host writes, not clEnqueueFillBuffer (Oclgrind: see ocl.c)
    ocl_target target; // the kernel profile (GPU- or CPU-shaped) and the limits programs are sized for
    char platform_name[256], platform_version[256];
    char device_name[256], device_vendor[256], driver_version[256], device_version[256];
    cl_uint compute_units;
    cl_ulong global_mem, max_alloc, local_mem;
    size_t max_wg;         // CL_DEVICE_MAX_WORK_GROUP_SIZE, or options.max_wg_cap when smaller
    size_t max_item[3];    // CL_DEVICE_MAX_WORK_ITEM_SIZES (per dimension)
    int cl_version;        // CL_DEVICE_VERSION as major*10+minor (12: clEnqueueFillBuffer exists)
    int clc_version;       // CL_DEVICE_OPENCL_C_VERSION as major*10+minor
    char kernel_dir[1024]; // "" = embedded sources
    char cache_dir[1024];  // "" = cache (and tuning file) disabled
    int cache_debug;
    unsigned long long max_alloc_mb; // 0 = no cap below the device's
    char conv_variant[64];           // "" = none forced
    char conv_wino_m[8];             // "" = none forced
    int bn_separate;                 // ocl_options.bn_separate
    // Counters, for tests and the cache HIT/MISS debug output.
    int cache_hits, cache_misses, builds;
    // Host waits: queue_drains counts the calls that wait for the whole queue (blocking
    // reads and writes, ocl_finish); event_waits the waits for one command (ocl_wait).
    long queue_drains, event_waits;
    // Programs: programs_owned counts the references layers hold (each ocl_program
    // call makes one, each ocl_program_release drops one); programs_cached the
    // built programs no layer holds, kept for reuse (at most OCL_PROGRAM_MEMO_MAX).
    int programs_owned, programs_cached;
    struct ocl_program_entry *programs; // ocl.c's registry of built programs
    struct tuning_store *tuning;        // this device's tuning file, read on first use
    struct build_pool *pool;            // background builds (NULL: none yet; see build_pool.h)
    int pool_threads;                   // helpers the pool starts with on first need (0: no pool)
    int quiet;
    int compile_helper; // ocl_options.compile_helper
    // ocl_record_runs: each kernel's last launch, in the order of their first (ocl.c).
    int recording, nrecorded, cap_recorded;
    struct ocl_recorded *recorded;
} ocl_ctx;

// Selects a device as asked: the best-ranked usable device among those the
// selectors match (the rule and the skips: include/runtime/device_rank.h),
// creates a context and an in-order queue, prints the choice to stderr unless
// quiet. No platform, nothing matching, or only skipped devices matching: a
// message saying which (each skipped device with its reason), listing what
// exists and how to install PoCL, exit 2.
void ocl_init(ocl_ctx *c, const ocl_options *o);
// Frees the context. With helper threads, first writes the compiled-program cache
// entries of the programs this context built from source (deferred from build time,
// see build_pool.h), several at once.
void ocl_release(ocl_ctx *c);
// `pixloc devices`: lists every platform and device, each with a "tuned:" line (the
// device's tuning file, or "no" followed by untuned_note); returns an exit status.
int ocl_list_devices(const ocl_options *o, const char *untuned_note);
// This device's tuning store, read on first use (never NULL; an empty store, with
// no path, when the cache directory is off).
struct tuning_store *ocl_tuning(const ocl_ctx *c);

// Builds cl/<file> (e.g. "conv.cl") with `options` (a string of -D defines).
// `#include "x.h"` lines are expanded from cl/ (embedded or --kernel-dir).
// Uses the disk cache; on a build failure prints the build log, file, options
// and exits 1. The caller owns the program: ocl_program_release gives it back.
// Programs are shared in-process by (file, options) while held, and the last
// OCL_PROGRAM_MEMO_MAX given back are kept for reuse; ocl_release frees the rest.
cl_program ocl_program(ocl_ctx *c, const char *file, const char *options);
// Announces that ocl_program(c, file, options) will follow soon: where helper
// threads run (PoCL), one starts building it now (in parallel where the driver compiles
// in parallel: not PoCL 3.1, see build_pool.h); elsewhere, or when the program is built
// or cached already, nothing happens.
// Results are the same either way (the later ocl_program builds the same source).
void ocl_program_prefetch(ocl_ctx *c, const char *file, const char *options);
// The same for programs listed with their exact options (conv3x3_programs, net_programs).
void ocl_program_prefetch_list(ocl_ctx *c, const ocl_program_list *l);
// The number of helper threads for background builds (0: none), started on the first
// program that must be built from source.
int ocl_build_threads(const ocl_ctx *c);
// Whether ocl_program_prefetch_list does anything here (helper threads, or a compile helper):
// callers may skip making their lists when it does not.
int ocl_prefetches(const ocl_ctx *c);
// Gives back a program from ocl_program / ocl_program_try; NULL-safe, sets *p to NULL.
void ocl_program_release(ocl_ctx *c, cl_program *p);
// Gives back the program (from ocl_program) that kernel k was created from: for a
// layer that keeps only its kernels. Call it once per ocl_program call, before
// releasing the kernel.
void ocl_kernel_program_release(ocl_ctx *c, cl_kernel k);
// The programs alive in this context: held by a layer or kept for reuse.
int ocl_program_count(const ocl_ctx *c);
// Their (file, exact build options), newest first (at most OCL_PROGRAM_LIST_MAX).
void ocl_program_registry(const ocl_ctx *c, ocl_program_list *out);
// Creates a kernel; a missing name exits 1 naming file and kernel.
cl_kernel ocl_kernel(ocl_ctx *c, cl_program p, const char *name);
// Same as ocl_program but returns NULL instead of exiting and puts the build log
// in *log (malloc'd) — for tests and for the tuner trying variants.
cl_program ocl_program_try(ocl_ctx *c, const char *file, const char *options, char **log);

// Expanded source text of cl/<file> (includes resolved), malloc'd; NULL if missing.
char *ocl_source(ocl_ctx *c, const char *file);

// Device buffer of `bytes`, named for errors. Exceeding the device's largest
// allocation (or max_alloc_mb, a cap for tests: PIXLOC_MAX_ALLOC_MB) or an allocation failure
// gives a message naming the buffer, its size and the limit, and exits 1.
cl_mem ocl_buffer(ocl_ctx *c, const char *name, size_t bytes);
// Same, but returns NULL (after printing nothing) when it does not fit, so a caller
// can suggest a smaller batch.
cl_mem ocl_buffer_try(ocl_ctx *c, const char *name, size_t bytes);
// The largest single allocation: the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE, or
// the options' max_alloc_mb when that is smaller (for testing out-of-memory handling).
size_t ocl_alloc_cap(const ocl_ctx *c);
void ocl_free(cl_mem *m);
// Blocking copies: they return when the queue has run up to and including the copy.
void ocl_write(ocl_ctx *c, cl_mem m, size_t offset, const void *src, size_t bytes);
void ocl_read(ocl_ctx *c, cl_mem m, size_t offset, void *dst, size_t bytes);
// Copies queued without waiting: src / dst must stay untouched until *done (set to NULL
// when bytes is 0) completes; ocl_wait waits for it and releases it. done may be NULL
// (no event: an ocl_finish or a later event of this in-order queue covers the copy).
void ocl_write_async(ocl_ctx *c, cl_mem m, size_t offset, const void *src, size_t bytes, cl_event *done);
void ocl_read_async(ocl_ctx *c, cl_mem m, size_t offset, void *dst, size_t bytes, cl_event *done);
// Host memory for the source or destination of those copies that the device reaches without
// staging it (pinned: a CL_MEM_ALLOC_HOST_PTR buffer, mapped for the whole of its life), so a
// driver can run the copy without holding the host (NVIDIA stages pageable memory); plain
// malloc'd memory when the driver gives none. Returns h->ptr; ocl_host_free gives it back.
typedef struct {
    cl_mem buf; // NULL: ptr is malloc'd
    void *ptr;
} ocl_host_mem;
void *ocl_host_alloc(ocl_ctx *c, ocl_host_mem *h, size_t bytes, const char *what);
void ocl_host_free(ocl_ctx *c, ocl_host_mem *h);
// Waits for *ev (nothing if NULL), exits 1 if its command failed, releases it, sets *ev to NULL.
void ocl_wait(ocl_ctx *c, cl_event *ev);
// Submits what is queued to the device without waiting.
void ocl_flush(ocl_ctx *c);
// Queues a fill of the first count floats of m with value (no wait; on Oclgrind a host write).
void ocl_fill_float(ocl_ctx *c, cl_mem m, float value, size_t count);
// Enqueue-time limits, in one place. Whether the explicit local size local[0..dims)
// fits kernel k on this device: each dimension within CL_DEVICE_MAX_WORK_ITEM_SIZES,
// their product within CL_DEVICE_MAX_WORK_GROUP_SIZE (as capped by
// PIXLOC_MAX_WORK_GROUP) and the kernel's CL_KERNEL_WORK_GROUP_SIZE (its registers),
// equal to its reqd_work_group_size if it was compiled with one, and its
// CL_KERNEL_LOCAL_MEM_SIZE within CL_DEVICE_LOCAL_MEM_SIZE (call it after setting
// the kernel's __local arguments: their sizes count). Rules: include/runtime/wg_fit.h.
//   mode OCL_FIT_EXACT (the kernel's indexing needs exactly this size): 1 if it fits,
//     else 0 and the reason, naming the kernel, the device and the limit, in why;
//   mode OCL_FIT_SHRINK (any size works, e.g. element-wise kernels): shrinks local in
//     place (halving the largest dimension) until it fits and returns 1; the caller
//     then rounds its global size up to the new local size (ocl_round_up) and the
//     kernel guards the tail. 0 only when nothing fits (local memory over the device's).
// why may be NULL. Typical use, once per kernel at creation, not per launch:
//   size_t l[1] = {256};
//   if (!ocl_fit_local(c, k, 1, l, OCL_FIT_SHRINK, why, sizeof why)) px_die(PX_EXIT_FAIL, "%s", why);
int ocl_fit_local(const ocl_ctx *c, cl_kernel k, cl_uint dims, size_t *local, int mode, char *why, size_t len);
// Enqueues an ND-range; local may be NULL. Errors name the kernel; a local size the
// kernel or device cannot take is explained with ocl_fit_local's reason.
void ocl_run(ocl_ctx *c, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local);
// For a compile helper (PoCL compiles a kernel at its first launch for each local size): after
// ocl_record_runs, ocl_run only notes each kernel's last launch (sizes; its arguments stay
// set on the kernel); ocl_run_recorded then runs those launches, the last-noted kernel first,
// one at a time, and stops recording. A re-run of a kernel's last launch reads what it read
// then, so the buffers it names must still exist; their contents may be anything.
void ocl_record_runs(ocl_ctx *c);
void ocl_run_recorded(ocl_ctx *c);
void ocl_finish(ocl_ctx *c);

// Round x up to a multiple of m.
static inline size_t ocl_round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

#endif
