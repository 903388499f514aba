// The environment, read once, and the common device flags; see include/cli/ocl_flags.h.
// This file and the other files of host/cli/ are the only places that call getenv.
#include "ocl_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pixloc.h"

const char *const OCL_OPTIONS_HELP =
    "Device selection (environment defaults in brackets; flags win):\n"
    "  --platform P        platform index or case-insensitive name/vendor substring [PIXLOC_PLATFORM]\n"
    "  --device D          device index or case-insensitive name/vendor substring [PIXLOC_DEVICE]\n"
    "  --device-type T     gpu, cpu, accelerator or all [PIXLOC_DEVICE_TYPE]\n"
    "                      default: the best usable device: GPUs (discrete before integrated, then\n"
    "                      compute units x clock), else CPUs; `pixloc devices` shows skipped ones and why\n"
    "  --kernel-dir DIR    read kernel sources from DIR instead of the built-in copies [PIXLOC_KERNEL_DIR]\n"
    "  --no-kernel-cache   do not read or write the compiled-kernel cache [PIXLOC_CACHE_DIR=off]\n"
    "  PIXLOC_KERNEL_PROFILE=gpu|cpu  build that device type's kernels on any device (for tests)\n";

const char *const OCL_UNTUNED_NOTE = " (run `pixloc tune` to time kernel variants on this device)";

static const char *env(const char *name) {
    const char *e = getenv(name);
    return (e && *e) ? e : NULL;
}

// The cache directory: PIXLOC_CACHE_DIR ("off": none), else $XDG_CACHE_HOME/pixloc,
// else $HOME/.cache/pixloc, else none.
static void cache_dir_resolve(char *out, size_t len) {
    out[0] = '\0';
    const char *d = env("PIXLOC_CACHE_DIR");
    if (d) {
        if (strcasecmp(d, "off") != 0) snprintf(out, len, "%s", d);
        return;
    }
    const char *xdg = env("XDG_CACHE_HOME"), *home = env("HOME");
    if (xdg)
        snprintf(out, len, "%s/pixloc", xdg);
    else if (home)
        snprintf(out, len, "%s/.cache/pixloc", home);
}

void ocl_options_from_env(ocl_options *o) {
    o->platform = env("PIXLOC_PLATFORM");
    o->device = env("PIXLOC_DEVICE");
    o->device_type = env("PIXLOC_DEVICE_TYPE");
    o->platform_from = "PIXLOC_PLATFORM";
    o->device_from = "PIXLOC_DEVICE";
    o->device_type_from = "PIXLOC_DEVICE_TYPE";
    o->kernel_dir = env("PIXLOC_KERNEL_DIR");
    cache_dir_resolve(o->cache_dir, sizeof o->cache_dir);
    o->cache_debug = getenv("PIXLOC_CACHE_DEBUG") != NULL;
    // PIXLOC_QUEUE_PROFILING=1: event times on the queue, which PoCL's tracing prints
    // (POCL_TRACING=text; tools/kernel_times.py sums them per kernel).
    o->queue_profiling = getenv("PIXLOC_QUEUE_PROFILING") != NULL;
    o->max_alloc_mb = 0;
    const char *mb = env("PIXLOC_MAX_ALLOC_MB");
    if (mb) {
        char *end;
        unsigned long long v = strtoull(mb, &end, 10);
        if (*end == 0 && v > 0) o->max_alloc_mb = v;
    }
    o->conv_variant = env("PIXLOC_CONV_VARIANT");
    o->conv_wino_m = env("PIXLOC_WINO_M");
    o->kernel_profile = env("PIXLOC_KERNEL_PROFILE");
    // PIXLOC_BN_SEPARATE=1: batch norms write their outputs rather than the next convolution
    // applying them as it loads its input (the same numbers; for comparison and benchmarks).
    const char *bs = env("PIXLOC_BN_SEPARATE");
    o->bn_separate = bs && strcmp(bs, "0") != 0;
    // PIXLOC_BUILD_THREADS=N: helper threads for background builds (0: none). PoCL's
    // cache off (POCL_KERNEL_CACHE=0) leaves helpers nothing to hand over: none.
    o->build_threads = 0;
    const char *bt = env("PIXLOC_BUILD_THREADS"), *pc = env("POCL_KERNEL_CACHE");
    if (bt) {
        char *end;
        long v = strtol(bt, &end, 10);
        if (*end == 0 && v >= 0) o->build_threads = v == 0 ? -1 : (int)(v > 64 ? 64 : v);
    }
    if (pc && strcmp(pc, "0") == 0) o->build_threads = -1;
    // A smaller work-group limit than the device's, as on a small GPU (for tests).
    o->max_wg_cap = 0;
    const char *wg = env("PIXLOC_MAX_WORK_GROUP");
    if (wg) {
        char *end;
        unsigned long long v = strtoull(wg, &end, 10);
        if (*end == 0 && v > 0 && v <= 1u << 20) o->max_wg_cap = (size_t)v;
    }
}

void ocl_options_from_args(ocl_options *o, int *argc, char **argv) {
    ocl_options_from_env(o);
    static const char *const with_value[] = {"--platform", "--device", "--device-type", "--kernel-dir"};
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--") == 0) { // everything after -- is positional: keep as is
            for (; i < *argc; i++) argv[out++] = argv[i];
            break;
        }
        if (strcmp(a, "--no-kernel-cache") == 0) {
            o->no_cache = 1;
            continue;
        }
        int matched = 0;
        for (size_t f = 0; f < sizeof with_value / sizeof *with_value; f++) {
            size_t fl = strlen(with_value[f]);
            const char *val = NULL;
            if (strcmp(a, with_value[f]) == 0) {
                if (i + 1 >= *argc) {
                    fprintf(stderr, "pixloc: error: %s needs a value\n", a);
                    exit(PX_EXIT_USAGE);
                }
                val = argv[++i];
            } else if (strncmp(a, with_value[f], fl) == 0 && a[fl] == '=') {
                val = a + fl + 1;
            } else {
                continue;
            }
            matched = 1;
            if (f == 0)
                o->platform = val, o->platform_from = "--platform";
            else if (f == 1)
                o->device = val, o->device_from = "--device";
            else if (f == 2)
                o->device_type = val, o->device_type_from = "--device-type";
            else
                o->kernel_dir = val;
            break;
        }
        if (!matched) argv[out++] = a;
    }
    argv[out] = NULL;
    *argc = out;
}
