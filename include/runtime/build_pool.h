// Background program builds for drivers that keep their own compile cache (PoCL):
// helper threads, each with a private OpenCL context on the same device, build
// programs ahead of need and write the compiled-program cache at the end, so the
// main context finds finished work instead of compiling serially.
//
// Why private contexts: PoCL serialises the LLVM work of a cl_context behind one lock.
// A program built in a helper context lands in PoCL's on-disk cache (keyed by device,
// options and the preprocessed source, not by context), and the main context's
// clBuildProgram of the same source then takes about 0.03-0.1 s instead of 0.2-1 s.
// PoCL 3.1, though, shares one LLVM context (and so one lock) among all the contexts of a
// process (GLOBAL_LLVM_CONTEXT in its pocl_llvm_utils.cc): there the helpers build ahead of
// the main thread but not in parallel with each other (measured: CPU time = wall time on a
// cold start). Training compiles in parallel with a second process instead (cli/prewarm.h).
//
// Why the store waits: clGetProgramInfo(CL_PROGRAM_BINARIES) makes PoCL compile every
// kernel of the program for a generic work-group size, 2-4 times the cost of the build
// itself. Done at build time, it sat on the path to the first training step; now the
// helpers do it in ocl_release (or when no helper runs, ocl.c stores at once as before).
//
// Used only by ocl.c; the main thread owns the ocl_ctx, helpers only read the
// copies made at start.
#ifndef PIXLOC_BUILD_POOL_H
#define PIXLOC_BUILD_POOL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "kernel_cache.h"

struct build_pool;

// Starts `threads` helpers (at most BUILD_POOL_MAX) for `device`; cache_dir "" = no
// compiled-program cache (stores are then never queued). NULL if threads < 1 or
// nothing could be started.
#define BUILD_POOL_MAX 8
struct build_pool *build_pool_start(cl_platform_id platform, cl_device_id device, int threads, const char *cache_dir);
// The number of helpers running.
int build_pool_helpers(const struct build_pool *bp);
// Queues a build of (file, options) whose expanded source is `src` (copied) and
// whose cache key is `key`: a helper builds it unless the main thread claims it first.
void build_pool_prefetch(struct build_pool *bp, const char *file, const char *options, const char *src,
                         const kcache_key *key);
// The main thread is about to build (file, options): a queued prefetch not yet
// started is dropped (the caller builds it itself); one running is waited for, so
// the caller's build finds the driver's cache warm. Returns 1 if it waited.
int build_pool_claim(struct build_pool *bp, const char *file, const char *options);
// Queues a compiled-program cache store of this program (built from source in this
// run), done by a helper in build_pool_finish. Once per key.
void build_pool_store_later(struct build_pool *bp, const char *src, const char *options, const kcache_key *key);
// Number of stores queued and not yet done.
int build_pool_pending_stores(struct build_pool *bp);
// Drops prefetches not started, waits for the running ones, does every queued store
// (in parallel on the helpers), stops the helpers and frees the pool. NULL-safe.
void build_pool_finish(struct build_pool *bp);

#endif
