// On-disk cache of compiled OpenCL programs. An entry's key hashes every byte of
// the expanded source (included headers too), the build options, the platform
// version, the device name, the driver version and the cache format version.
// Entries are written to a temporary file and renamed; a corrupt, truncated or
// foreign entry is ignored (and replaced), never fatal. It sits below ocl.c and
// knows no ocl_ctx (ocl.c includes this header, not the other way round).
#ifndef PIXLOC_KERNEL_CACHE_H
#define PIXLOC_KERNEL_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "cl_include.h"

#define KCACHE_FORMAT_VERSION 1

typedef struct {
    uint64_t h[2];
} kcache_key;

// 128-bit FNV-1a-style hash of a byte string, continuing from h (two lanes).
void kcache_hash(kcache_key *k, const void *data, size_t len);
void kcache_key_make(kcache_key *k, const char *source, const char *options, const char *platform_version,
                     const char *device_name, const char *driver_version);
// "<cache_dir>/<32 hex digits>.clbin"
void kcache_path(const char *cache_dir, const kcache_key *k, char *out, size_t len);
// The entry's program built for `device` in `ctx`, or NULL (missing, corrupt, foreign;
// with debug set, an unusable entry is named on stderr).
cl_program kcache_load(cl_context ctx, cl_device_id device, const char *cache_dir, int debug, const kcache_key *k);
void kcache_store(const char *cache_dir, const kcache_key *k, cl_program p);

#endif
