// OpenCL runtime: device discovery and selection, kernel sources (embedded or
// from --kernel-dir) with #include expansion, program builds (owned by the layers
// that ask for them, shared while held, a bounded number kept for reuse)
// and cached on disk, buffers and launches. See include/ocl.h.
#include "ocl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "build_pool.h"
#include "device_rank.h"
#include "kernel_cache.h"
#include "pixloc.h"
#include "tuning.h"

// ---------------------------------------------------------------------------
// Errors

const char *cl_errstr(cl_int err) {
    switch (err) {
#define E(x)                                                                                                           \
    case x: return #x
        E(CL_SUCCESS);
        E(CL_DEVICE_NOT_FOUND);
        E(CL_DEVICE_NOT_AVAILABLE);
        E(CL_COMPILER_NOT_AVAILABLE);
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE);
        E(CL_OUT_OF_RESOURCES);
        E(CL_OUT_OF_HOST_MEMORY);
        E(CL_PROFILING_INFO_NOT_AVAILABLE);
        E(CL_MEM_COPY_OVERLAP);
        E(CL_IMAGE_FORMAT_MISMATCH);
        E(CL_IMAGE_FORMAT_NOT_SUPPORTED);
        E(CL_BUILD_PROGRAM_FAILURE);
        E(CL_MAP_FAILURE);
        E(CL_MISALIGNED_SUB_BUFFER_OFFSET);
        E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
        E(CL_COMPILE_PROGRAM_FAILURE);
        E(CL_LINKER_NOT_AVAILABLE);
        E(CL_LINK_PROGRAM_FAILURE);
        E(CL_DEVICE_PARTITION_FAILED);
        E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
        E(CL_INVALID_VALUE);
        E(CL_INVALID_DEVICE_TYPE);
        E(CL_INVALID_PLATFORM);
        E(CL_INVALID_DEVICE);
        E(CL_INVALID_CONTEXT);
        E(CL_INVALID_QUEUE_PROPERTIES);
        E(CL_INVALID_COMMAND_QUEUE);
        E(CL_INVALID_HOST_PTR);
        E(CL_INVALID_MEM_OBJECT);
        E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
        E(CL_INVALID_IMAGE_SIZE);
        E(CL_INVALID_SAMPLER);
        E(CL_INVALID_BINARY);
        E(CL_INVALID_BUILD_OPTIONS);
        E(CL_INVALID_PROGRAM);
        E(CL_INVALID_PROGRAM_EXECUTABLE);
        E(CL_INVALID_KERNEL_NAME);
        E(CL_INVALID_KERNEL_DEFINITION);
        E(CL_INVALID_KERNEL);
        E(CL_INVALID_ARG_INDEX);
        E(CL_INVALID_ARG_VALUE);
        E(CL_INVALID_ARG_SIZE);
        E(CL_INVALID_KERNEL_ARGS);
        E(CL_INVALID_WORK_DIMENSION);
        E(CL_INVALID_WORK_GROUP_SIZE);
        E(CL_INVALID_WORK_ITEM_SIZE);
        E(CL_INVALID_GLOBAL_OFFSET);
        E(CL_INVALID_EVENT_WAIT_LIST);
        E(CL_INVALID_EVENT);
        E(CL_INVALID_OPERATION);
        E(CL_INVALID_GL_OBJECT);
        E(CL_INVALID_BUFFER_SIZE);
        E(CL_INVALID_MIP_LEVEL);
        E(CL_INVALID_GLOBAL_WORK_SIZE);
        E(CL_INVALID_PROPERTY);
        E(CL_INVALID_IMAGE_DESCRIPTOR);
        E(CL_INVALID_COMPILER_OPTIONS);
        E(CL_INVALID_LINKER_OPTIONS);
        E(CL_INVALID_DEVICE_PARTITION_COUNT);
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL platform installed)";
    default: return "unknown OpenCL error";
    }
}

static const char *const INSTALL_HINT =
    "To run on the CPU, install PoCL (Debian/Ubuntu: apt-get install pocl-opencl-icd ocl-icd-libopencl1); "
    "for a GPU, install the vendor's OpenCL driver (NVIDIA: nvidia-opencl-icd, AMD: ROCm or mesa-opencl-icd, "
    "Intel: intel-opencl-icd).";

// A blocking call (a read, a write, clFinish) reports the failure of any command
// queued before it, so an error there may belong to an earlier kernel.
static int blocking_call(const char *call) {
    return strstr(call, "clFinish") || strstr(call, "CL_TRUE") || strstr(call, "clWaitForEvents") ||
           strstr(call, "fill_floats") || strstr(call, "waiting for a queued command");
}

// The fatal errors below go through px_die (one message, however many lines), so that under
// libpixloc's trap (pixloc.h) they return to the API entry instead of printing and exiting.
void ocl_fail_(const char *call, cl_int err, const char *file, int line) {
    const char *hint = "";
    if (err == CL_OUT_OF_HOST_MEMORY)
        hint = "\n  the host ran out of memory: try a smaller --batch-size or close other programs";
    else if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE)
        hint = "\n  the device could not back a buffer with memory (drivers allocate at first use): try a "
               "smaller --batch-size or image size";
    else if (err == CL_OUT_OF_RESOURCES && blocking_call(call))
        hint = "\n  a command queued before this call failed on the device. On a GPU that is usually a kernel that "
               "faulted (an out-of-bounds access: a bug, please report it with the output of `pixloc devices`) or "
               "that the driver stopped for running too long (a watchdog, on a GPU that drives a display), and "
               "only sometimes memory; the kernel log says which on NVIDIA (dmesg: Xid 13/31 a fault, Xid 8 a "
               "timeout). A smaller --batch-size helps only with the last two";
    else if (err == CL_OUT_OF_RESOURCES)
        hint = "\n  the device lacks the resources for this command (memory, or registers / local memory "
               "for a kernel's work-group): try a smaller --batch-size";
    px_die(PX_EXIT_FAIL, "OpenCL call failed: %s\n  -> %s (%d) at %s:%d%s", call, cl_errstr(err), (int)err, file, line,
           hint);
}

// ---------------------------------------------------------------------------
// Discovery

typedef struct {
    cl_platform_id id;
    char name[256], vendor[256], version[256];
    cl_uint ndev;
    cl_device_id *devs;
    ocl_dev_props *props; // per device: what the selection rule reads (device_rank.h)
} plat_info;

static void str_info_p(cl_platform_id p, cl_platform_info what, char *buf, size_t len) {
    buf[0] = 0;
    if (clGetPlatformInfo(p, what, len, buf, NULL) != CL_SUCCESS) snprintf(buf, len, "?");
    buf[len - 1] = 0;
}
static void str_info_d(cl_device_id d, cl_device_info what, char *buf, size_t len) {
    buf[0] = 0;
    if (clGetDeviceInfo(d, what, len, buf, NULL) != CL_SUCCESS) snprintf(buf, len, "?");
    buf[len - 1] = 0;
}

static cl_device_type dev_type(cl_device_id d) {
    cl_device_type t = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    return t;
}

// A property query that fails reads as "no" / 0 (a device whose driver cannot
// answer CL_DEVICE_AVAILABLE is not one to run on).
static void read_props(cl_device_id d, ocl_dev_props *p) {
    cl_bool avail = CL_FALSE, comp = CL_FALSE, unified = CL_FALSE;
    cl_uint cu = 0, mhz = 0;
    char clc[256];
    memset(p, 0, sizeof *p);
    p->type = dev_type(d);
    if (clGetDeviceInfo(d, CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL) == CL_SUCCESS) p->available = avail != 0;
    if (clGetDeviceInfo(d, CL_DEVICE_COMPILER_AVAILABLE, sizeof comp, &comp, NULL) == CL_SUCCESS)
        p->compiler = comp != 0;
    if (clGetDeviceInfo(d, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL) == CL_SUCCESS)
        p->unified = unified != 0;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL) == CL_SUCCESS) p->compute_units = cu;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof mhz, &mhz, NULL) == CL_SUCCESS) p->clock_mhz = mhz;
    str_info_d(d, CL_DEVICE_OPENCL_C_VERSION, clc, sizeof clc);
    p->clc_version = ocl_parse_clc_version(clc);
}

// Returns the number of platforms (0 if none); *out malloc'd.
static int discover(plat_info **out) {
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err != CL_SUCCESS || np == 0) {
        *out = NULL;
        return 0;
    }
    cl_platform_id *ids = px_calloc(np, sizeof(cl_platform_id), "platform ids");
    CL_CHECK(clGetPlatformIDs(np, ids, NULL));
    plat_info *p = px_calloc(np, sizeof *p, "platforms");
    for (cl_uint i = 0; i < np; i++) {
        p[i].id = ids[i];
        str_info_p(ids[i], CL_PLATFORM_NAME, p[i].name, sizeof p[i].name);
        str_info_p(ids[i], CL_PLATFORM_VENDOR, p[i].vendor, sizeof p[i].vendor);
        str_info_p(ids[i], CL_PLATFORM_VERSION, p[i].version, sizeof p[i].version);
        cl_uint nd = 0;
        if (clGetDeviceIDs(ids[i], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS) nd = 0;
        p[i].ndev = nd;
        if (nd) {
            p[i].devs = px_calloc(nd, sizeof(cl_device_id), "device ids");
            if (clGetDeviceIDs(ids[i], CL_DEVICE_TYPE_ALL, nd, p[i].devs, NULL) != CL_SUCCESS) p[i].ndev = 0;
            p[i].props = px_calloc(nd, sizeof *p[i].props, "device properties");
            for (cl_uint j = 0; j < p[i].ndev; j++) read_props(p[i].devs[j], &p[i].props[j]);
        }
    }
    free(ids);
    *out = p;
    return (int)np;
}

static void free_discovery(plat_info *p, int np) {
    for (int i = 0; i < np; i++) {
        free(p[i].devs);
        free(p[i].props);
    }
    free(p);
}

static int ci_contains(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    if (n == 0) return 1;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return 0;
}

static int is_index(const char *s, long *v) {
    if (!s || !*s) return 0;
    for (const char *q = s; *q; q++)
        if (!isdigit((unsigned char)*q)) return 0;
    *v = strtol(s, NULL, 10);
    return 1;
}

static const char *type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

// Parses --device-type; exits 2 on an unknown value.
static cl_device_type parse_type(const char *s) {
    if (!s) return CL_DEVICE_TYPE_ALL;
    if (strcasecmp(s, "gpu") == 0) return CL_DEVICE_TYPE_GPU;
    if (strcasecmp(s, "cpu") == 0) return CL_DEVICE_TYPE_CPU;
    if (strcasecmp(s, "accelerator") == 0) return CL_DEVICE_TYPE_ACCELERATOR;
    if (strcasecmp(s, "all") == 0) return CL_DEVICE_TYPE_ALL;
    px_die(PX_EXIT_USAGE, "--device-type '%s' is not one of gpu, cpu, accelerator, all", s);
}

typedef struct {
    int plat, dev;
    int nmatch; // devices that match the selection, usable or not
} choice;

static int platform_matches(const plat_info *p, int index, const char *sel) {
    long v;
    if (!sel) return 1;
    if (is_index(sel, &v)) return v == index;
    return ci_contains(p->name, sel) || ci_contains(p->vendor, sel);
}

static int device_matches(cl_device_id d, int index, const char *sel, cl_device_type want) {
    if (want != CL_DEVICE_TYPE_ALL && !(dev_type(d) & want)) return 0;
    long v;
    if (!sel) return 1;
    if (is_index(sel, &v)) return v == index;
    char name[256], vendor[256];
    str_info_d(d, CL_DEVICE_NAME, name, sizeof name);
    str_info_d(d, CL_DEVICE_VENDOR, vendor, sizeof vendor);
    return ci_contains(name, sel) || ci_contains(vendor, sel);
}

// The selection rule (include/runtime/device_rank.h): of the devices that match the
// platform, device and type selectors (device indices are per platform, as `pixloc
// devices` shows), the best-ranked usable one. {-1, -1} if none; nmatch tells
// "nothing matches" (0) from "what matches is skipped".
static choice select_device(plat_info *p, int np, const char *psel, const char *dsel, cl_device_type want) {
    int n = 0;
    for (int i = 0; i < np; i++) n += (int)p[i].ndev;
    choice c = {-1, -1, 0};
    if (n == 0) return c;
    ocl_dev_props *props = px_calloc((size_t)n, sizeof *props, "device properties");
    int *match = px_calloc((size_t)n, sizeof *match, "device matches");
    int k = 0;
    for (int i = 0; i < np; i++)
        for (cl_uint j = 0; j < p[i].ndev; j++, k++) {
            props[k] = p[i].props[j];
            match[k] = platform_matches(&p[i], i, psel) && device_matches(p[i].devs[j], (int)j, dsel, want);
        }
    int best = ocl_pick_device(props, match, n, &c.nmatch);
    free(props);
    free(match);
    for (int i = 0, base = 0; best >= 0 && i < np; base += (int)p[i].ndev, i++)
        if (best < base + (int)p[i].ndev) {
            c.plat = i;
            c.dev = best - base;
            break;
        }
    return c;
}

static void print_listing(FILE *f, plat_info *p, int np, choice def, const char *cache_dir, const char *untuned_note) {
    for (int i = 0; i < np; i++) {
        fprintf(f, "platform %d: %s (%s) %s\n", i, p[i].name, p[i].vendor, p[i].version);
        if (p[i].ndev == 0) fprintf(f, "  (no devices)\n");
        for (cl_uint j = 0; j < p[i].ndev; j++) {
            cl_device_id d = p[i].devs[j];
            const ocl_dev_props *pr = &p[i].props[j];
            char name[256], vendor[256], ver[256], drv[256], clc[256], why[256];
            cl_ulong gmem = 0, maxalloc = 0;
            str_info_d(d, CL_DEVICE_NAME, name, sizeof name);
            str_info_d(d, CL_DEVICE_VENDOR, vendor, sizeof vendor);
            str_info_d(d, CL_DEVICE_VERSION, ver, sizeof ver);
            str_info_d(d, CL_DRIVER_VERSION, drv, sizeof drv);
            str_info_d(d, CL_DEVICE_OPENCL_C_VERSION, clc, sizeof clc);
            clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
            clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
            int is_def = def.plat == i && def.dev == (int)j;
            const char *memory = !(pr->type & CL_DEVICE_TYPE_GPU) ? "" : pr->unified ? ", integrated" : ", discrete";
            fprintf(f,
                    "  device %d:%s %s\n"
                    "    vendor %s, type %s%s, %s (%s), driver %s\n"
                    "    compute units %u at %u MHz, global memory %.1f GiB, largest allocation %.1f GiB\n",
                    (int)j, is_def ? " [default]" : "", name, vendor, type_name(pr->type), memory, ver, clc, drv,
                    pr->compute_units, pr->clock_mhz, (double)gmem / (1 << 30), (double)maxalloc / (1 << 30));
            if (ocl_device_skipped(pr, why, sizeof why)) fprintf(f, "    skipped: %s\n", why);
            char tuned[512];
            if (tuning_describe(cache_dir, p[i].version, name, drv, tuned, sizeof tuned))
                fprintf(f, "    tuned: %s\n", tuned);
            else
                fprintf(f, "    tuned: no%s\n", untuned_note ? untuned_note : "");
        }
    }
}

static const char *cache_dir_of(const ocl_options *o) { return o->no_cache ? "" : o->cache_dir; }

// " --device 'x'" (or " PIXLOC_DEVICE='x'": the source the selector came from) for each selector.
static void describe_selection(FILE *f, const ocl_options *o) {
    const char *v[3] = {o->platform, o->device, o->device_type};
    const char *from[3] = {o->platform_from, o->device_from, o->device_type_from};
    const char *flag[3] = {"--platform", "--device", "--device-type"};
    for (int i = 0; i < 3; i++) {
        if (!v[i]) continue;
        const char *src = from[i] ? from[i] : flag[i];
        fprintf(f, src[0] == '-' ? " %s '%s'" : " %s='%s'", src, v[i]);
    }
}

// Says why the selection gave no device: nothing matches, or each device that
// matches is skipped (each named, with its reason). The caller exits 2.
static void report_no_device(FILE *f, plat_info *p, int np, const ocl_options *o, cl_device_type want, choice ch) {
    int any_selector = o->platform || o->device || o->device_type;
    if (ch.nmatch == 0) {
        fprintf(f, "pixloc: error: no OpenCL device matches");
        describe_selection(f, o);
        fprintf(f, "\n");
        return;
    }
    if (any_selector) {
        fprintf(f, "pixloc: error: pixloc cannot use the OpenCL device%s that match%s", ch.nmatch > 1 ? "s" : "",
                ch.nmatch > 1 ? "" : "es");
        describe_selection(f, o);
        fprintf(f, ":\n");
    } else {
        fprintf(f, "pixloc: error: no usable OpenCL device:\n");
    }
    for (int i = 0; i < np; i++) {
        if (!platform_matches(&p[i], i, o->platform)) continue;
        for (cl_uint j = 0; j < p[i].ndev; j++) {
            char name[256], why[256];
            if (!device_matches(p[i].devs[j], (int)j, o->device, want)) continue;
            if (!ocl_device_skipped(&p[i].props[j], why, sizeof why)) continue;
            str_info_d(p[i].devs[j], CL_DEVICE_NAME, name, sizeof name);
            fprintf(f, "  platform %d device %d (%s): %s\n", i, (int)j, name, why);
        }
    }
}

int ocl_list_devices(const ocl_options *o, const char *untuned_note) {
    plat_info *p;
    int np = discover(&p);
    if (np == 0) {
        fprintf(stderr, "pixloc: error: no OpenCL platform found. %s\n", INSTALL_HINT);
        return PX_EXIT_USAGE;
    }
    cl_device_type want = parse_type(o->device_type);
    choice def = select_device(p, np, o->platform, o->device, want);
    print_listing(stdout, p, np, def, cache_dir_of(o), untuned_note);
    // Like every other command: exit 2 when the selection gives no device (after the listing).
    if (def.plat < 0) {
        fflush(stdout);
        report_no_device(stderr, p, np, o, want, def);
    }
    free_discovery(p, np);
    return def.plat >= 0 ? PX_EXIT_OK : PX_EXIT_USAGE;
}

// ---------------------------------------------------------------------------
// Context

// The kernel profile: the device type's, or the forced one ("gpu" on PoCL or Oclgrind runs
// the GPU-shaped kernels, with GPU-like limits, to test them without a GPU).
static void target_of(ocl_ctx *c, const char *profile) {
    c->target = (ocl_target){.gpu = !c->is_cpu, .local_mem = c->local_mem, .max_wg = c->max_wg};
    if (!profile || !*profile) return;
    if (strcasecmp(profile, "gpu") == 0) {
        c->target.gpu = 1;
        if (c->target.local_mem > OCL_GPU_LOCAL_MEM) c->target.local_mem = OCL_GPU_LOCAL_MEM;
        if (c->target.max_wg > OCL_GPU_MAX_WG) c->target.max_wg = OCL_GPU_MAX_WG;
    } else if (strcasecmp(profile, "cpu") == 0) {
        c->target.gpu = 0;
    } else {
        px_die(PX_EXIT_USAGE, "PIXLOC_KERNEL_PROFILE must be 'gpu' or 'cpu', not '%s'", profile);
    }
}

// Helper threads for background builds: only on PoCL, whose on-disk compile cache
// carries a helper context's build over to the main context (build_pool.h). They start
// on the first program that must be built from source (pool()), so a warm start-up,
// where every program comes from the cache, creates no thread nor context.
static void plan_pool(ocl_ctx *c, const ocl_options *o) {
    c->pool = NULL;
    c->pool_threads = 0;
    if (o->build_threads < 0 || o->compile_helper || !strstr(c->platform_name, "Portable Computing Language")) return;
    int n = o->build_threads > 0 ? o->build_threads : (int)c->compute_units;
    c->pool_threads = n > BUILD_POOL_MAX ? BUILD_POOL_MAX : n;
}

// The pool, started on first use; NULL where none is planned or none could start.
static struct build_pool *pool(ocl_ctx *c) {
    if (!c->pool && c->pool_threads > 0) {
        c->pool = build_pool_start(c->platform, c->device, c->pool_threads, c->cache_dir);
        if (!c->pool) c->pool_threads = 0; // no helper: build and store as without one
    }
    return c->pool;
}

int ocl_build_threads(const ocl_ctx *c) { return c->pool_threads; }

void ocl_init(ocl_ctx *c, const ocl_options *o) {
    memset(c, 0, sizeof *c);
    const char *psel = o->platform, *dsel = o->device, *tsel = o->device_type;
    cl_device_type want = parse_type(tsel); // before discover: a bad type leaves nothing allocated
    plat_info *p;
    int np = discover(&p);
    if (np == 0)
        px_die(PX_EXIT_USAGE, "no OpenCL platform found (the ICD loader sees no installed driver). %s", INSTALL_HINT);
    choice ch = select_device(p, np, psel, dsel, want);
    if (ch.plat < 0) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f) px_die(PX_EXIT_USAGE, "no OpenCL device matches the selection (and no memory to list them)");
        report_no_device(f, p, np, o, want, ch);
        fprintf(f, "These exist:\n");
        print_listing(f, p, np, (choice){-1, -1, 0}, cache_dir_of(o), NULL);
        fprintf(f, "Select by index or by a case-insensitive part of the name. %s", INSTALL_HINT);
        fclose(f);
        free_discovery(p, np);
        // Copied, so that nothing is left allocated when px_die returns to libpixloc; px_die
        // adds the "pixloc: error: " that report_no_device's first line starts with.
        static const char prefix[] = "pixloc: error: ";
        const char *body = text ? text : "";
        if (strncmp(body, prefix, sizeof prefix - 1) == 0) body += sizeof prefix - 1;
        char msg[16384];
        snprintf(msg, sizeof msg, "%s", body);
        free(text);
        px_die(PX_EXIT_USAGE, "%s", msg);
    }
    c->platform = p[ch.plat].id;
    c->device = p[ch.plat].devs[ch.dev];
    c->platform_index = ch.plat;
    c->device_index = ch.dev;
    snprintf(c->platform_name, sizeof c->platform_name, "%s", p[ch.plat].name);
    snprintf(c->platform_version, sizeof c->platform_version, "%s", p[ch.plat].version);
    free_discovery(p, np);

    str_info_d(c->device, CL_DEVICE_NAME, c->device_name, sizeof c->device_name);
    str_info_d(c->device, CL_DEVICE_VENDOR, c->device_vendor, sizeof c->device_vendor);
    str_info_d(c->device, CL_DRIVER_VERSION, c->driver_version, sizeof c->driver_version);
    str_info_d(c->device, CL_DEVICE_VERSION, c->device_version, sizeof c->device_version);
    c->type = dev_type(c->device);
    c->is_cpu = (c->type & CL_DEVICE_TYPE_CPU) != 0;
    c->is_gpu = (c->type & CL_DEVICE_TYPE_GPU) != 0;
    c->host_fill = strstr(c->platform_name, "Oclgrind") != NULL; // see fill_floats
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof c->compute_units, &c->compute_units, NULL));
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof c->global_mem, &c->global_mem, NULL));
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof c->max_alloc, &c->max_alloc, NULL));
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof c->local_mem, &c->local_mem, NULL));
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof c->max_wg, &c->max_wg, NULL));
    cl_uint dims = 0;
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, sizeof dims, &dims, NULL));
    size_t items[16] = {0};
    if (dims > 16) dims = 16;
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, dims * sizeof(size_t), items, NULL));
    for (int i = 0; i < 3; i++) c->max_item[i] = i < (int)dims ? items[i] : 1;
    if (o->max_wg_cap > 0 && o->max_wg_cap < c->max_wg) c->max_wg = o->max_wg_cap;
    for (int i = 0; i < 3; i++)
        if (c->max_item[i] > c->max_wg) c->max_item[i] = c->max_wg;
    char clc[256];
    str_info_d(c->device, CL_DEVICE_OPENCL_C_VERSION, clc, sizeof clc);
    c->clc_version = ocl_parse_clc_version(clc);
    c->cl_version = ocl_parse_clc_version(c->device_version);
    // clEnqueueFillBuffer is OpenCL 1.2: a 1.1 device (Mesa Clover) zeroes by host writes.
    if (c->cl_version > 0 && c->cl_version < 12) c->host_fill = 1;

    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)c->platform, 0};
    c->ctx = clCreateContext(props, 1, &c->device, NULL, NULL, &err);
    CL_CHECK(err);
    c->queue = clCreateCommandQueue(c->ctx, c->device, o->queue_profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    CL_CHECK(err);

    if (o->kernel_dir && *o->kernel_dir) snprintf(c->kernel_dir, sizeof c->kernel_dir, "%s", o->kernel_dir);
    // One cache directory for compiled programs and the tuning file alike.
    snprintf(c->cache_dir, sizeof c->cache_dir, "%s", cache_dir_of(o));
    c->cache_debug = o->cache_debug;
    c->max_alloc_mb = o->max_alloc_mb;
    if (o->conv_variant) snprintf(c->conv_variant, sizeof c->conv_variant, "%s", o->conv_variant);
    if (o->conv_wino_m) snprintf(c->conv_wino_m, sizeof c->conv_wino_m, "%s", o->conv_wino_m);
    c->bn_separate = o->bn_separate;
    target_of(c, o->kernel_profile);
    c->tuning = px_calloc(1, sizeof *c->tuning, "tuning store");
    c->quiet = o->quiet;
    c->compile_helper = o->compile_helper;
    plan_pool(c, o);
    if (!o->quiet)
        px_log("device: %s | %s | driver %s | platform %s (%s)", c->device_name, type_name(c->type), c->driver_version,
               c->platform_name, c->platform_version);
}

// The registry of built programs, keyed by file + options. An entry is held
// (refs > 0) while layers own it, and kept for reuse when given back, the
// OCL_PROGRAM_MEMO_MAX most recently given back at most.
struct ocl_program_entry {
    struct ocl_program_entry *next;
    char *file, *options;
    cl_program prog;
    int refs;
    unsigned long last_use;
};

static void entry_free(struct ocl_program_entry *m) {
    clReleaseProgram(m->prog);
    free(m->file);
    free(m->options);
    free(m);
}

// A kernel's last launch while recording (ocl_record_runs).
struct ocl_recorded {
    cl_kernel k;
    cl_uint dims;
    int has_local;
    size_t global[3], local[3];
};

// Drops the recorded launches (run or not) and stops recording.
static void forget_recorded(ocl_ctx *c) {
    for (int i = 0; i < c->nrecorded; i++) clReleaseKernel(c->recorded[i].k);
    free(c->recorded);
    c->recorded = NULL;
    c->nrecorded = c->cap_recorded = c->recording = 0;
}

void ocl_release(ocl_ctx *c) {
    forget_recorded(c);
    if (c->pool) {
        int n = build_pool_pending_stores(c->pool);
        double t0 = px_now();
        if (n > 0 && !c->quiet) px_log("saving %d newly built program%s to the kernel cache", n, n == 1 ? "" : "s");
        build_pool_finish(c->pool);
        c->pool = NULL;
        if (n > 0 && c->cache_debug) fprintf(stderr, "pixloc: kernel cache stores took %.3fs\n", px_now() - t0);
    }
    while (c->programs) {
        struct ocl_program_entry *m = c->programs;
        c->programs = m->next;
        entry_free(m);
    }
    c->programs_owned = c->programs_cached = 0;
    if (c->tuning) {
        tuning_store_free(c->tuning);
        free(c->tuning);
        c->tuning = NULL;
    }
    if (c->queue) clReleaseCommandQueue(c->queue);
    if (c->ctx) clReleaseContext(c->ctx);
    c->queue = NULL;
    c->ctx = NULL;
}

struct tuning_store *ocl_tuning(const ocl_ctx *c) {
    if (!c->tuning->loaded) {
        char path[1200];
        tuning_path(c->cache_dir, c->platform_version, c->device_name, c->driver_version, path, sizeof path);
        tuning_store_load(c->tuning, path);
    }
    return c->tuning;
}

// ---------------------------------------------------------------------------
// Sources

struct px_cl_source {
    const char *name;
    const char *text;
    size_t len;
};
extern const struct px_cl_source px_cl_sources[];

static char *raw_source(ocl_ctx *c, const char *file) {
    if (strchr(file, '/') || strstr(file, "..")) return NULL;
    if (c->kernel_dir[0]) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", c->kernel_dir, file);
        return px_read_file(path, NULL);
    }
    for (const struct px_cl_source *s = px_cl_sources; s->name; s++)
        if (strcmp(s->name, file) == 0) {
            char *t = px_malloc(s->len + 1, "kernel source");
            memcpy(t, s->text, s->len);
            t[s->len] = 0;
            return t;
        }
    return NULL;
}

// Expands `#include "x"` lines (each header once), depth-limited.
static int expand(ocl_ctx *c, const char *file, px_sbuf *out, char seen[][64], int *nseen, int depth) {
    if (depth > 8) return -1;
    char *src = raw_source(c, file);
    if (!src) return -1;
    const char *p = src;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p + 1) : strlen(p);
        const char *q = p;
        while (q < p + n && (*q == ' ' || *q == '\t')) q++;
        if (strncmp(q, "#include", 8) == 0) {
            const char *a = strchr(q, '"');
            const char *b = a ? strchr(a + 1, '"') : NULL;
            if (a && b && b < p + n && (size_t)(b - a - 1) < 64) {
                char inc[64];
                memcpy(inc, a + 1, (size_t)(b - a - 1));
                inc[b - a - 1] = 0;
                int already = 0;
                for (int i = 0; i < *nseen; i++)
                    if (strcmp(seen[i], inc) == 0) already = 1;
                if (!already && *nseen < 32) {
                    snprintf(seen[(*nseen)++], 64, "%s", inc);
                    char marker[160];
                    snprintf(marker, sizeof marker, "// ---- begin %s\n", inc);
                    px_sbuf_add(out, marker, strlen(marker));
                    if (expand(c, inc, out, seen, nseen, depth + 1) != 0) {
                        free(src);
                        return -1;
                    }
                    snprintf(marker, sizeof marker, "// ---- end %s\n", inc);
                    px_sbuf_add(out, marker, strlen(marker));
                }
                p += n;
                continue;
            }
        }
        px_sbuf_add(out, p, n);
        p += n;
    }
    free(src);
    return 0;
}

char *ocl_source(ocl_ctx *c, const char *file) {
    px_sbuf out = {0};
    char seen[32][64];
    int nseen = 0;
    if (expand(c, file, &out, seen, &nseen, 0) != 0) {
        free(out.s);
        return NULL;
    }
    if (!out.s) px_sbuf_add(&out, "", 0);
    return out.s;
}

// ---------------------------------------------------------------------------
// Programs

static cl_program build_from_source(ocl_ctx *c, const char *file, const char *src, const char *options, char **log) {
    cl_int err;
    size_t len = strlen(src);
    cl_program p = clCreateProgramWithSource(c->ctx, 1, &src, &len, &err);
    CL_CHECK(err);
    c->builds++;
    err = clBuildProgram(p, 1, &c->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t n = 0;
        clGetProgramBuildInfo(p, c->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
        char *buf = px_malloc(n + 256, "build log");
        buf[0] = 0;
        clGetProgramBuildInfo(p, c->device, CL_PROGRAM_BUILD_LOG, n, buf, NULL);
        buf[n] = 0;
        char *msg = px_malloc(n + 1024, "build message");
        snprintf(msg, n + 1024, "building cl/%s failed with %s\n  options: %s\n  device: %s\n--- build log ---\n%s",
                 file, cl_errstr(err), options && *options ? options : "(none)", c->device_name, buf);
        free(buf);
        clReleaseProgram(p);
        if (log)
            *log = msg;
        else
            free(msg);
        return NULL;
    }
    return p;
}

// ocl_program_try's work, for options as ocl_build_options made them.
static cl_program program_exact(ocl_ctx *c, const char *file, const char *options, char **log) {
    if (log) *log = NULL;
    // Orders the registry's entries by last use; per thread, as libpixloc handles may run on
    // several (an order across threads would only change which unused program is freed first).
    static _Thread_local unsigned long use_clock;
    for (struct ocl_program_entry *m = c->programs; m; m = m->next)
        if (strcmp(m->file, file) == 0 && strcmp(m->options, options) == 0) {
            if (m->refs++ == 0) c->programs_cached--;
            c->programs_owned++;
            m->last_use = ++use_clock;
            return m->prog;
        }

    char *src = ocl_source(c, file);
    if (!src) {
        if (log) {
            size_t n = 2048;
            *log = px_malloc(n, "message");
            snprintf(*log, n, "kernel source cl/%s not found (%s)", file,
                     c->kernel_dir[0] ? c->kernel_dir : "built-in sources");
        }
        return NULL;
    }
    cl_program p = NULL;
    kcache_key key;
    int use_cache = c->cache_dir[0] != 0;
    double t0 = px_now();
    if (use_cache) {
        kcache_key_make(&key, src, options, c->platform_version, c->device_name, c->driver_version);
        p = kcache_load(c->ctx, c->device, c->cache_dir, c->cache_debug, &key);
        if (p) {
            c->cache_hits++;
            if (c->cache_debug) fprintf(stderr, "pixloc: kernel cache HIT %s %s\n", file, options);
        } else {
            c->cache_misses++;
            if (c->cache_debug) fprintf(stderr, "pixloc: kernel cache MISS %s %s\n", file, options);
        }
    }
    int waited = 0;
    if (!p) {
        if (c->pool) waited = build_pool_claim(c->pool, file, options); // a helper's build warms PoCL's cache
        p = build_from_source(c, file, src, options, log);
        if (p && use_cache && !c->compile_helper) {
            if (pool(c))
                build_pool_store_later(c->pool, src, options, &key);
            else
                kcache_store(c->cache_dir, &key, p);
        }
    }
    free(src);
    if (!p) return NULL;
    if (c->cache_debug)
        fprintf(stderr, "pixloc: program %s ready in %.3fs%s\n", file, px_now() - t0,
                waited ? " (after a helper's build)" : "");
    struct ocl_program_entry *m = px_calloc(1, sizeof *m, "program registry");
    m->file = strdup(file);
    m->options = strdup(options);
    m->prog = p;
    m->refs = 1;
    m->last_use = ++use_clock;
    m->next = c->programs;
    c->programs = m;
    c->programs_owned++;
    return p;
}

cl_program ocl_program_try(ocl_ctx *c, const char *file, const char *layer_options, char **log) {
    char options[OCL_PROGRAM_OPTIONS_MAX]; // the layer's, and the kernel profile's
    ocl_build_options(&c->target, layer_options, options, sizeof options);
    return program_exact(c, file, options, log);
}

// program_exact, or the build log and exit 1.
static cl_program program_or_die(ocl_ctx *c, const char *file, const char *options) {
    char *log = NULL;
    cl_program p = program_exact(c, file, options, &log);
    if (!p) {
        // log is not freed: px_die ends the process, or (libpixloc) loses it with the rest of the call.
        px_die(PX_EXIT_FAIL, "%s", log ? log : "program build failed");
    }
    return p;
}

// options: the exact (full) build options, as ocl_program_try makes them.
static void prefetch(ocl_ctx *c, const char *file, const char *options) {
    for (struct ocl_program_entry *m = c->programs; m; m = m->next)
        if (strcmp(m->file, file) == 0 && strcmp(m->options, options) == 0) return;
    char *src = ocl_source(c, file);
    if (!src) return; // ocl_program reports it
    kcache_key key = {{0, 0}};
    int cached = 0;
    if (c->cache_dir[0]) {
        kcache_key_make(&key, src, options, c->platform_version, c->device_name, c->driver_version);
        char path[1200];
        kcache_path(c->cache_dir, &key, path, sizeof path);
        cached = access(path, R_OK) == 0; // ocl_program loads it: nothing to build ahead
    }
    if (!cached && pool(c)) build_pool_prefetch(c->pool, file, options, src, &key);
    free(src);
}

void ocl_program_prefetch(ocl_ctx *c, const char *file, const char *layer_options) {
    if (c->pool_threads <= 0) return;
    char options[OCL_PROGRAM_OPTIONS_MAX];
    ocl_build_options(&c->target, layer_options, options, sizeof options);
    prefetch(c, file, options);
}

void ocl_program_prefetch_list(ocl_ctx *c, const ocl_program_list *l) {
    if (c->compile_helper) {
        // Built now, the last first (the parent builds them first to last); kept for reuse.
        for (int i = l->n - 1; i >= 0; i--) {
            cl_program p = program_or_die(c, l->s[i].file, l->s[i].options);
            ocl_program_release(c, &p);
        }
        return;
    }
    if (c->pool_threads <= 0) return;
    for (int i = 0; i < l->n; i++) prefetch(c, l->s[i].file, l->s[i].options);
}

int ocl_prefetches(const ocl_ctx *c) { return c->pool_threads > 0 || c->compile_helper; }

void ocl_program_release(ocl_ctx *c, cl_program *p) {
    if (!*p) return;
    struct ocl_program_entry **pp = &c->programs;
    while (*pp && (*pp)->prog != *p) pp = &(*pp)->next;
    *p = NULL;
    if (!*pp || (*pp)->refs <= 0) return; // not ours, or given back twice: nothing to drop
    c->programs_owned--;
    if (--(*pp)->refs > 0) return;
    c->programs_cached++;
    // Over the bound: free the least recently used program nobody holds.
    while (c->programs_cached > OCL_PROGRAM_MEMO_MAX) {
        struct ocl_program_entry **old = NULL;
        for (struct ocl_program_entry **q = &c->programs; *q; q = &(*q)->next)
            if ((*q)->refs == 0 && (!old || (*q)->last_use < (*old)->last_use)) old = q;
        if (!old) break; // every cached program is held (cannot happen: cached ones have no refs)
        struct ocl_program_entry *m = *old;
        *old = m->next;
        entry_free(m);
        c->programs_cached--;
    }
}

cl_program ocl_program(ocl_ctx *c, const char *file, const char *options) {
    char full[OCL_PROGRAM_OPTIONS_MAX]; // the layer's, and the kernel profile's
    ocl_build_options(&c->target, options, full, sizeof full);
    return program_or_die(c, file, full);
}

void ocl_program_registry(const ocl_ctx *c, ocl_program_list *out) {
    out->n = 0;
    for (const struct ocl_program_entry *m = c->programs; m; m = m->next) {
        if (out->n == OCL_PROGRAM_LIST_MAX) break;
        snprintf(out->s[out->n].file, sizeof out->s[0].file, "%s", m->file);
        snprintf(out->s[out->n].options, sizeof out->s[0].options, "%s", m->options);
        out->n++;
    }
}

int ocl_program_count(const ocl_ctx *c) {
    int n = 0;
    for (const struct ocl_program_entry *m = c->programs; m; m = m->next) n++;
    return n;
}

void ocl_kernel_program_release(ocl_ctx *c, cl_kernel k) {
    cl_program p = NULL;
    if (k && clGetKernelInfo(k, CL_KERNEL_PROGRAM, sizeof(cl_program), &p, NULL) == CL_SUCCESS)
        ocl_program_release(c, &p);
}

cl_kernel ocl_kernel(ocl_ctx *c, cl_program p, const char *name) {
    cl_int err;
    cl_kernel k = clCreateKernel(p, name, &err);
    if (err != CL_SUCCESS) {
        // Name the file the program came from.
        const char *file = "?";
        for (struct ocl_program_entry *m = c->programs; m; m = m->next)
            if (m->prog == p) file = m->file;
        px_die(PX_EXIT_FAIL, "kernel '%s' not found in cl/%s on %s: %s", name, file, c->device_name, cl_errstr(err));
    }
    return k;
}

// ---------------------------------------------------------------------------
// Buffers and launches

// Waits for one command: the wait's error, else the command's own (a negative
// execution status, e.g. an allocation that failed on first use).
static cl_int wait_event(ocl_ctx *c, const cl_event *ev) {
    c->event_waits++;
    cl_int err = clWaitForEvents(1, ev), st = CL_COMPLETE;
    if (err == CL_SUCCESS) err = clGetEventInfo(*ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
    return err != CL_SUCCESS ? err : st < 0 ? st : CL_SUCCESS;
}

// Fills on the device (clEnqueueFillBuffer, no host copy, no wait), except on Oclgrind
// (host_fill): its uninitialized-value checker does not count a filled buffer as written
// and floods the reports with false errors, so there the fill is host writes of the value.
static cl_int fill_floats(ocl_ctx *c, cl_mem m, float value, size_t count, cl_event *done) {
    if (!c->host_fill) {
        if (!count) return CL_SUCCESS;
        return clEnqueueFillBuffer(c->queue, m, &value, sizeof value, 0, count * sizeof(float), 0, NULL, done);
    }
    enum { CHUNK = 1 << 18 }; // floats per write (1 MiB)
    size_t n = count < CHUNK ? count : CHUNK;
    float *buf = malloc((n ? n : 1) * sizeof(float));
    if (!buf) return CL_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < n; i++) buf[i] = value;
    cl_int err = CL_SUCCESS;
    for (size_t off = 0; off < count && err == CL_SUCCESS; off += n) {
        size_t k = count - off < n ? count - off : n;
        err = clEnqueueWriteBuffer(c->queue, m, CL_TRUE, off * sizeof(float), k * sizeof(float), buf, 0, NULL, NULL);
        c->queue_drains++;
    }
    free(buf);
    return err;
}

size_t ocl_alloc_cap(const ocl_ctx *c) {
    size_t cap = (size_t)c->max_alloc;
    unsigned long long mb = c->max_alloc_mb;
    if (mb > 0 && mb * 1024 * 1024 < cap) cap = (size_t)(mb * 1024 * 1024);
    return cap;
}

cl_mem ocl_buffer_try(ocl_ctx *c, const char *name, size_t bytes) {
    (void)name;
    if (bytes == 0) bytes = 4;
    if (bytes > ocl_alloc_cap(c)) return NULL;
    cl_int err;
    cl_mem m = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) return NULL;
    // Allocation is lazy on most drivers: touch the buffer now (zero it) and wait for
    // that, so an out-of-memory shows up here, named, and buffers start as zeros. (Buffers
    // are made when a net or a run is set up, never during a training step.)
    cl_event zeroed = NULL;
    err = fill_floats(c, m, 0.0f, bytes / sizeof(float), &zeroed);
    if (err == CL_SUCCESS && zeroed) err = wait_event(c, &zeroed);
    if (zeroed) clReleaseEvent(zeroed);
    if (err != CL_SUCCESS) {
        clReleaseMemObject(m);
        return NULL;
    }
    return m;
}

cl_mem ocl_buffer(ocl_ctx *c, const char *name, size_t bytes) {
    cl_mem m = ocl_buffer_try(c, name, bytes);
    if (!m) {
        size_t cap = ocl_alloc_cap(c);
        px_die(PX_EXIT_FAIL,
               "cannot allocate device buffer '%s' of %.1f MiB on %s: the largest allocation is %.1f MiB "
               "(global memory %.1f MiB)%s; use a smaller batch or image size",
               name, (double)bytes / (1 << 20), c->device_name, (double)cap / (1 << 20),
               (double)c->global_mem / (1 << 20), cap < c->max_alloc ? " [capped by PIXLOC_MAX_ALLOC_MB]" : "");
    }
    return m;
}

void ocl_free(cl_mem *m) {
    if (*m) clReleaseMemObject(*m);
    *m = NULL;
}

void ocl_write(ocl_ctx *c, cl_mem m, size_t offset, const void *src, size_t bytes) {
    if (!bytes) return;
    CL_CHECK(clEnqueueWriteBuffer(c->queue, m, CL_TRUE, offset, bytes, src, 0, NULL, NULL));
    c->queue_drains++;
}

void ocl_read(ocl_ctx *c, cl_mem m, size_t offset, void *dst, size_t bytes) {
    if (!bytes) return;
    CL_CHECK(clEnqueueReadBuffer(c->queue, m, CL_TRUE, offset, bytes, dst, 0, NULL, NULL));
    c->queue_drains++;
}

void ocl_write_async(ocl_ctx *c, cl_mem m, size_t offset, const void *src, size_t bytes, cl_event *done) {
    if (done) *done = NULL;
    if (bytes) CL_CHECK(clEnqueueWriteBuffer(c->queue, m, CL_FALSE, offset, bytes, src, 0, NULL, done));
}

void ocl_read_async(ocl_ctx *c, cl_mem m, size_t offset, void *dst, size_t bytes, cl_event *done) {
    if (done) *done = NULL;
    if (bytes) CL_CHECK(clEnqueueReadBuffer(c->queue, m, CL_FALSE, offset, bytes, dst, 0, NULL, done));
}

void *ocl_host_alloc(ocl_ctx *c, ocl_host_mem *h, size_t bytes, const char *what) {
    size_t n = bytes ? bytes : 4;
    cl_int err;
    h->ptr = NULL;
    h->buf = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, n, NULL, &err);
    if (err != CL_SUCCESS) h->buf = NULL;
    if (h->buf) { // mapped once, when a net or a run is set up
        h->ptr = clEnqueueMapBuffer(c->queue, h->buf, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, n, 0, NULL, NULL, &err);
        c->queue_drains++;
        if (err != CL_SUCCESS || !h->ptr) {
            clReleaseMemObject(h->buf);
            h->buf = NULL;
            h->ptr = NULL;
        }
    }
    if (!h->ptr) h->ptr = px_malloc(n, what);
    return h->ptr;
}

void ocl_host_free(ocl_ctx *c, ocl_host_mem *h) {
    if (h->buf) {
        CL_CHECK(clEnqueueUnmapMemObject(c->queue, h->buf, h->ptr, 0, NULL, NULL));
        clReleaseMemObject(h->buf); // freed once the unmap has run
    } else {
        free(h->ptr);
    }
    h->buf = NULL;
    h->ptr = NULL;
}

void ocl_wait(ocl_ctx *c, cl_event *ev) {
    if (!*ev) return;
    cl_int err = wait_event(c, ev);
    clReleaseEvent(*ev);
    *ev = NULL;
    if (err != CL_SUCCESS) ocl_fail_("waiting for a queued command", err, __FILE__, __LINE__);
}

void ocl_flush(ocl_ctx *c) { CL_CHECK(clFlush(c->queue)); }

void ocl_fill_float(ocl_ctx *c, cl_mem m, float value, size_t count) {
    CL_CHECK(fill_floats(c, m, value, count, NULL));
}

int ocl_fit_local(const ocl_ctx *c, cl_kernel k, cl_uint dims, size_t *local, int mode, char *why, size_t len) {
    ocl_wg_limits lim = {.max_wg = c->max_wg, .device_local_mem = (size_t)c->local_mem};
    for (int i = 0; i < 3; i++) lim.max_item[i] = c->max_item[i];
    cl_ulong kmem = 0;
    if (clGetKernelWorkGroupInfo(k, c->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof lim.kernel_wg, &lim.kernel_wg, NULL) !=
        CL_SUCCESS)
        lim.kernel_wg = 0;
    if (clGetKernelWorkGroupInfo(k, c->device, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof lim.reqd, lim.reqd, NULL) !=
        CL_SUCCESS)
        lim.reqd[0] = lim.reqd[1] = lim.reqd[2] = 0;
    if (clGetKernelWorkGroupInfo(k, c->device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof kmem, &kmem, NULL) == CL_SUCCESS)
        lim.kernel_local_mem = (size_t)kmem;
    char reason[512];
    if (ocl_wg_fit(&lim, dims, local, mode, reason, sizeof reason)) {
        if (why && len) why[0] = 0;
        return 1;
    }
    if (why && len) {
        char name[128] = "?";
        clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
        snprintf(why, len, "kernel '%s' on %s: %s", name, c->device_name, reason);
    }
    return 0;
}

static void record_run(ocl_ctx *c, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local) {
    int i = 0;
    while (i < c->nrecorded && c->recorded[i].k != k) i++;
    if (i == c->nrecorded) {
        if (c->nrecorded == c->cap_recorded) {
            c->cap_recorded = c->cap_recorded ? 2 * c->cap_recorded : 64;
            struct ocl_recorded *more = realloc(c->recorded, (size_t)c->cap_recorded * sizeof *more);
            if (!more) px_die(PX_EXIT_FAIL, "out of memory recording kernel launches");
            c->recorded = more;
        }
        CL_CHECK(clRetainKernel(k));
        c->recorded[c->nrecorded++].k = k;
    }
    struct ocl_recorded *r = &c->recorded[i];
    r->dims = dims;
    r->has_local = local != NULL;
    for (cl_uint d = 0; d < dims && d < 3; d++) {
        r->global[d] = global[d];
        r->local[d] = local ? local[d] : 0;
    }
}

void ocl_record_runs(ocl_ctx *c) { c->recording = 1; }

void ocl_run_recorded(ocl_ctx *c) {
    c->recording = 0;
    for (int i = c->nrecorded - 1; i >= 0; i--) {
        struct ocl_recorded *r = &c->recorded[i];
        ocl_run(c, r->k, r->dims, r->global, r->has_local ? r->local : NULL);
        CL_CHECK(clFinish(c->queue)); // one compile at a time, in this order
    }
    forget_recorded(c);
}

void ocl_run(ocl_ctx *c, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local) {
    for (cl_uint i = 0; i < dims; i++)
        if (global[i] == 0) return; // nothing to do (e.g. an empty tail)
    if (c->recording) {
        record_run(c, k, dims, global, local);
        return;
    }
    cl_int err = clEnqueueNDRangeKernel(c->queue, k, dims, NULL, global, local, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        char name[128] = "?";
        clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
        px_sbuf b = {0};
        px_sbuf_printf(&b, "global %zu", global[0]);
        for (cl_uint i = 1; i < dims; i++) px_sbuf_printf(&b, "x%zu", global[i]);
        if (local) {
            px_sbuf_printf(&b, ", local %zu", local[0]);
            for (cl_uint i = 1; i < dims; i++) px_sbuf_printf(&b, "x%zu", local[i]);
        }
        char shape[256], fit[600] = "", why[640] = "";
        snprintf(shape, sizeof shape, "%s", b.s);
        free(b.s);
        size_t l[3] = {1, 1, 1};
        for (cl_uint i = 0; local && i < dims && i < 3; i++) l[i] = local[i];
        if (local && dims <= 3 && !ocl_fit_local(c, k, dims, l, OCL_FIT_EXACT, fit, sizeof fit))
            snprintf(why, sizeof why, "\n  %s", fit);
        else if (local && err == CL_INVALID_WORK_GROUP_SIZE)
            snprintf(why, sizeof why, "\n  the global size must be a multiple of the local size in every dimension");
        px_die(PX_EXIT_FAIL, "launching kernel '%s' (%s) on %s failed: %s%s", name, shape, c->device_name,
               cl_errstr(err), why);
    }
}

void ocl_finish(ocl_ctx *c) {
    CL_CHECK(clFinish(c->queue));
    c->queue_drains++;
}
