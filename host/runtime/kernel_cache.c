// Compiled-program cache on disk; see include/kernel_cache.h.
#include "kernel_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pixloc.h"

static const char MAGIC[8] = {'P', 'X', 'L', 'K', 'C', 'A', 'C', 'H'};

void kcache_hash(kcache_key *k, const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t a = k->h[0], b = k->h[1];
    for (size_t i = 0; i < len; i++) {
        a = (a ^ p[i]) * 0x100000001b3ULL;
        b = (b ^ p[i]) * 0x100000001b3ULL;
        b ^= b >> 29;
    }
    // Separate fields: hash the length too, so ("ab","c") != ("a","bc").
    uint64_t n = len;
    for (int i = 0; i < 8; i++) {
        a = (a ^ ((n >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
        b = (b ^ ((n >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
    }
    k->h[0] = a;
    k->h[1] = b;
}

void kcache_key_make(kcache_key *k, const char *source, const char *options, const char *platform_version,
                     const char *device_name, const char *driver_version) {
    k->h[0] = 0xcbf29ce484222325ULL;
    k->h[1] = 0x84222325cbf29ce4ULL;
    uint32_t ver = KCACHE_FORMAT_VERSION;
    kcache_hash(k, &ver, sizeof ver);
    kcache_hash(k, source, strlen(source));
    kcache_hash(k, options, strlen(options));
    kcache_hash(k, platform_version, strlen(platform_version));
    kcache_hash(k, device_name, strlen(device_name));
    kcache_hash(k, driver_version, strlen(driver_version));
}

void kcache_path(const char *cache_dir, const kcache_key *k, char *out, size_t len) {
    snprintf(out, len, "%s/%016llx%016llx.clbin", cache_dir, (unsigned long long)k->h[0], (unsigned long long)k->h[1]);
}

static uint64_t checksum(const unsigned char *p, size_t n) {
    kcache_key k = {{0xcbf29ce484222325ULL, 0}};
    kcache_hash(&k, p, n);
    return k.h[0];
}

// Entry: MAGIC, key (16 bytes), binary size (8), checksum of binary (8), binary.
#define HEADER_BYTES (8 + 16 + 8 + 8)

cl_program kcache_load(cl_context ctx, cl_device_id device, const char *cache_dir, int debug, const kcache_key *k) {
    char path[1200];
    kcache_path(cache_dir, k, path, sizeof path);
    size_t len;
    char *buf = px_read_file(path, &len);
    if (!buf) return NULL;
    cl_program p = NULL;
    uint64_t size, sum;
    if (len < HEADER_BYTES || memcmp(buf, MAGIC, 8) != 0 || memcmp(buf + 8, k->h, 16) != 0) goto out;
    memcpy(&size, buf + 24, 8);
    memcpy(&sum, buf + 32, 8);
    if (size != len - HEADER_BYTES || size == 0) goto out;
    const unsigned char *bin = (const unsigned char *)buf + HEADER_BYTES;
    if (checksum(bin, (size_t)size) != sum) goto out;
    size_t bsize = (size_t)size;
    cl_int status = CL_SUCCESS, err;
    p = clCreateProgramWithBinary(ctx, 1, &device, &bsize, &bin, &status, &err);
    if (err != CL_SUCCESS || status != CL_SUCCESS) {
        if (p) clReleaseProgram(p);
        p = NULL;
        goto out;
    }
    if (clBuildProgram(p, 1, &device, NULL, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(p);
        p = NULL;
    }
out:
    if (!p && debug) fprintf(stderr, "pixloc: kernel cache entry %s unusable\n", path);
    free(buf);
    return p;
}

void kcache_store(const char *cache_dir, const kcache_key *k, cl_program p) {
    size_t bsize = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof bsize, &bsize, NULL) != CL_SUCCESS || bsize == 0) return;
    unsigned char *buf = malloc(HEADER_BYTES + bsize);
    if (!buf) return;
    unsigned char *bin = buf + HEADER_BYTES;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) != CL_SUCCESS) {
        free(buf);
        return;
    }
    uint64_t size = bsize, sum = checksum(bin, bsize);
    memcpy(buf, MAGIC, 8);
    memcpy(buf + 8, k->h, 16);
    memcpy(buf + 24, &size, 8);
    memcpy(buf + 32, &sum, 8);
    char path[1200];
    kcache_path(cache_dir, k, path, sizeof path);
    if (px_mkdirs(cache_dir) != 0 || px_write_file_atomic(path, buf, HEADER_BYTES + bsize) != 0) {
        static _Thread_local int warned; // once per thread (libpixloc handles may run on several)
        if (!warned++)
            px_warn("cannot write the kernel cache in %s (%s); continuing without it", cache_dir, strerror(errno));
    }
    free(buf);
}
