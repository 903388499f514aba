// On-disk cache of compiled OpenCL programs. An entry's key hashes every byte of
// the expanded source (included headers too), the build options, the platform
// version, the device name, the driver version and the cache format version.
// Entries are written to a temporary file and renamed; a corrupt, truncated or
// foreign entry is ignored (and replaced), never fatal.
#ifndef PIXLOC_KERNEL_CACHE_H
#define PIXLOC_KERNEL_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "ocl.h"

#define KCACHE_FORMAT_VERSION 1

typedef struct { uint64_t h[2]; } kcache_key;

// 128-bit FNV-1a-style hash of a byte string, continuing from h (two lanes).
void kcache_hash(kcache_key *k, const void *data, size_t len);
void kcache_key_make(kcache_key *k, const char *source, const char *options, const char *platform_version,
                     const char *device_name, const char *driver_version);
// "<cache_dir>/<32 hex digits>.clbin"
void kcache_path(const ocl_ctx *c, const kcache_key *k, char *out, size_t len);
cl_program kcache_load(ocl_ctx *c, const kcache_key *k);
void kcache_store(ocl_ctx *c, const kcache_key *k, cl_program p);

// Per-device tuning choices (written by `pixloc tune`), stored beside the cache
// as "<cache_dir>/tuning-<device hash>.txt". Returns 1 and a one-line summary if the
// device described by (platform version, device name, driver) has one.
int ocl_tuning_describe(const char *platform_version, const char *device_name, const char *driver_version,
                        char *out, size_t len);
// Path of the tuning file for a device (cache dir from the same rules as ocl_init); 0 if caching is off.
int ocl_tuning_path(const char *platform_version, const char *device_name, const char *driver_version,
                    char *out, size_t len);

#endif
