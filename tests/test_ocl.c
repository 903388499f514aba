// The OpenCL runtime: device selection, a kernel built and run, the disk cache
// (hit, miss on changed source or options, corrupt entries rebuilt) and a broken
// kernel reported through ocl_program_try's build log.
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel_cache.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "pixloc.h"
#include "test_util.h"

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

// Runs axpb from `program` and checks y = a*x + scale*i.
static void run_axpb(ocl_ctx *c, cl_program p, float scale, const char *what) {
    enum { N = 37 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = (float)i * 0.5f - 3.0f;
    cl_mem bx = ocl_buffer(c, "x", sizeof x), by = ocl_buffer(c, "y", sizeof y);
    ocl_write(c, bx, 0, x, sizeof x);
    ocl_fill_float(c, by, NAN, N);
    cl_kernel k = ocl_kernel(c, p, "axpb");
    float a = 2.5f;
    int n = N;
    KARG(k, 0, bx);
    KARG(k, 1, by);
    KARG(k, 2, a);
    KARG(k, 3, n);
    size_t g = 64;
    ocl_run(c, k, 1, &g, NULL);
    ocl_read(c, by, 0, y, sizeof y);
    int bad = 0;
    for (int i = 0; i < N; i++)
        if (y[i] != a * x[i] + scale * (float)i) bad++;
    CHECK(bad == 0, "%s: %d of %d outputs wrong (y[1]=%g)", what, bad, N, (double)y[1]);
    clReleaseKernel(k);
    ocl_free(&bx);
    ocl_free(&by);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".clbin")) n++;
    closedir(d);
    return n;
}

int main(void) {
    char *tmp = t_tmpdir();
    char cache[1024], kdir[1024], path[2048];
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(kdir, sizeof kdir, "%s/cl", tmp);
    mkdir(kdir, 0755);
    setenv("PIXLOC_CACHE_DIR", cache, 1);
    unsetenv("PIXLOC_KERNEL_DIR");

    // Selection. The test device's selectors (PIXLOC_PLATFORM, PIXLOC_DEVICE,
    // PIXLOC_DEVICE_TYPE from tests/on_test_device.sh) are kept: every check below
    // runs on the device the suite was asked to run on, whatever its type.
    ocl_options o = {0};
    ocl_options_from_env(&o); // the cache directory and settings, as the CLI reads them
    o.quiet = 1;
    ocl_ctx c;
    ocl_init(&c, &o);
    CHECK(c.device != NULL && c.ctx != NULL && c.queue != NULL, "the test device");
    char first_name[256];
    snprintf(first_name, sizeof first_name, "%s", c.device_name);
    int first_cpu = c.is_cpu, first_gpu = c.is_gpu;
    char pidx[16], didx[16];
    snprintf(pidx, sizeof pidx, "%d", c.platform_index);
    snprintf(didx, sizeof didx, "%d", c.device_index);
    CHECK(c.clc_version >= 11 && c.cl_version >= 10 && c.max_item[0] >= 1 && c.max_wg >= 1,
          "versions and limits read (OpenCL C %d, OpenCL %d, items %zu, group %zu)", c.clc_version, c.cl_version,
          c.max_item[0], c.max_wg);
    ocl_release(&c);

    // With no selector at all: pixloc's own default rule gives some usable device.
    ocl_options none = o;
    none.platform = none.device = none.device_type = NULL;
    ocl_init(&c, &none);
    CHECK(c.device != NULL && strlen(c.device_name) > 0, "default rule: '%s'", c.device_name);
    ocl_release(&c);

    // By index (platform and device as `pixloc devices` numbers them): the same device.
    ocl_options by_index = none;
    by_index.platform = pidx;
    by_index.device = didx;
    ocl_init(&c, &by_index);
    CHECK(strcmp(c.device_name, first_name) == 0, "platform %s device %s: '%s'", pidx, didx, c.device_name);
    ocl_release(&c);

    // A substring of the test device's name, upper-cased: must select it.
    char sub[8] = {0};
    for (int i = 0; i < 4 && first_name[i]; i++)
        sub[i] = (char)(first_name[i] >= 'a' && first_name[i] <= 'z' ? first_name[i] - 32 : first_name[i]);
    ocl_options by_sub = o;
    by_sub.device = sub;
    ocl_init(&c, &by_sub);
    CHECK(strcmp(c.device_name, first_name) == 0, "substring '%s' selected '%s'", sub, c.device_name);
    ocl_release(&c);

    // By the test device's type, as a setting and through PIXLOC_DEVICE_TYPE (any case).
    if (first_cpu || first_gpu) {
        const char *type = first_gpu ? "gpu" : "cpu";
        ocl_options by_type = o;
        by_type.device_type = type;
        ocl_init(&c, &by_type);
        CHECK(first_gpu ? c.is_gpu : c.is_cpu, "--device-type %s gives a %s device", type, type);
        ocl_release(&c);
        const char *saved = getenv("PIXLOC_DEVICE_TYPE");
        char keep[64] = "";
        if (saved) snprintf(keep, sizeof keep, "%s", saved);
        setenv("PIXLOC_DEVICE_TYPE", first_gpu ? "GPU" : "CPU", 1);
        ocl_options by_env = {0};
        ocl_options_from_env(&by_env);
        by_env.quiet = 1;
        ocl_init(&c, &by_env);
        CHECK(first_gpu ? c.is_gpu : c.is_cpu, "PIXLOC_DEVICE_TYPE=%s gives a %s device", first_gpu ? "GPU" : "CPU",
              type);
        ocl_release(&c);
        if (saved)
            setenv("PIXLOC_DEVICE_TYPE", keep, 1);
        else
            unsetenv("PIXLOC_DEVICE_TYPE");
    }

    // A kernel built from the embedded sources and run; the cache fills.
    ocl_init(&c, &o);
    CHECK(strcmp(c.cache_dir, cache) == 0, "cache dir from PIXLOC_CACHE_DIR: '%s'", c.cache_dir);
    cl_program p = ocl_program(&c, "selftest.cl", "-DSCALE=1.0f");
    run_axpb(&c, p, 1.0f, "embedded selftest.cl");
    CHECK(c.cache_misses == 1 && c.cache_hits == 0 && c.builds == 1, "first build is a miss (%d/%d/%d)", c.cache_misses,
          c.cache_hits, c.builds);
    // With helper threads (PoCL) the entry is written when the context is released
    // (build_pool.h: the binary query compiles every kernel, kept off the start-up path);
    // without them, at once.
    int helpers = ocl_build_threads(&c);
    CHECK(count_entries(cache) == (helpers ? 0 : 1), "%d cache entries before release with %d helpers",
          count_entries(cache), helpers);
    // Same program again in this process: memoised, no new lookup.
    ocl_program(&c, "selftest.cl", "-DSCALE=1.0f");
    CHECK(c.cache_misses == 1 && c.builds == 1, "in-process memo");
    // Enqueue-time limits on a real kernel: twice the device's work-group size is
    // refused with the limit named; shrinking gives a size within it.
    {
        cl_kernel k = ocl_kernel(&c, p, "axpb");
        char why[640];
        size_t l[1] = {c.max_wg * 2};
        CHECK(!ocl_fit_local(&c, k, 1, l, OCL_FIT_EXACT, why, sizeof why) && strstr(why, "axpb") &&
                  strstr(why, c.device_name) && strstr(why, "CL_"),
              "a local size of twice the maximum is refused: '%s'", why);
        CHECK(ocl_fit_local(&c, k, 1, l, OCL_FIT_SHRINK, why, sizeof why) && l[0] >= 1 && l[0] <= c.max_wg,
              "shrunk to %zu (device %zu)", l[0], c.max_wg);
        size_t one[1] = {1};
        CHECK(ocl_fit_local(&c, k, 1, one, OCL_FIT_EXACT, NULL, 0), "a local size of 1 fits");
        clReleaseKernel(k);
    }
    ocl_release(&c);
    // PIXLOC_MAX_WORK_GROUP caps the work-group limit as pixloc sees it.
    {
        setenv("PIXLOC_MAX_WORK_GROUP", "16", 1);
        ocl_options wg = {0};
        ocl_options_from_env(&wg);
        wg.quiet = 1;
        unsetenv("PIXLOC_MAX_WORK_GROUP");
        CHECK(wg.max_wg_cap == 16, "PIXLOC_MAX_WORK_GROUP=16 read (%zu)", wg.max_wg_cap);
        ocl_init(&c, &wg);
        CHECK(c.max_wg <= 16 && c.max_item[0] <= 16, "capped at 16 (%zu, %zu)", c.max_wg, c.max_item[0]);
        cl_program q = ocl_program(&c, "selftest.cl", "-DSCALE=1.0f");
        cl_kernel k = ocl_kernel(&c, q, "axpb");
        size_t l[1] = {32};
        char why[640];
        CHECK(!ocl_fit_local(&c, k, 1, l, OCL_FIT_EXACT, why, sizeof why) && strstr(why, "32"), "32 over the cap: '%s'",
              why);
        clReleaseKernel(k);
    }
    ocl_release(&c);
    CHECK(count_entries(cache) == 1, "one cache entry written (%d)", count_entries(cache));

    // A new context (as a new process would be): cache hit, no compile.
    ocl_init(&c, &o);
    p = ocl_program(&c, "selftest.cl", "-DSCALE=1.0f");
    CHECK(c.cache_hits == 1 && c.builds == 0, "second build is a cache hit (hits %d builds %d)", c.cache_hits,
          c.builds);
    run_axpb(&c, p, 1.0f, "program from cache");
    // Changed options: a miss.
    p = ocl_program(&c, "selftest.cl", "-DSCALE=2.0f");
    CHECK(c.cache_misses == 1 && c.builds == 1, "changed options miss (misses %d)", c.cache_misses);
    run_axpb(&c, p, 2.0f, "SCALE=2");
    ocl_release(&c);

    // Prefetch: announced programs (one good, one that does not build) come out of
    // ocl_program / ocl_program_try exactly as without the announcement.
    {
        ocl_options pf = o;
        pf.kernel_dir = kdir;
        snprintf(path, sizeof path, "%s/selftest.cl", kdir);
        write_text(path, "__kernel void axpb(__global const float *x, __global float *y, const float a, const int "
                         "n) { int i = get_global_id(0); if (i < n) y[i] = a * x[i] + SCALE * (float)i; }\n");
        snprintf(path, sizeof path, "%s/broken.cl", kdir);
        write_text(path, "__kernel void broken(__global float *y) { y[0] = undefined_symbol_xyz; }\n");
        ocl_init(&c, &pf);
        ocl_program_prefetch(&c, "selftest.cl", "-DSCALE=7.0f");
        ocl_program_prefetch(&c, "broken.cl", "-DBAR=1");
        ocl_program_prefetch(&c, "missing.cl", "");
        usleep(300 * 1000); // let a helper start on them
        p = ocl_program(&c, "selftest.cl", "-DSCALE=7.0f");
        run_axpb(&c, p, 7.0f, "prefetched program");
        CHECK(c.builds == 1 && c.cache_misses == 1, "prefetched program built once here (builds %d)", c.builds);
        char *plog = NULL;
        CHECK(ocl_program_try(&c, "broken.cl", "-DBAR=1", &plog) == NULL && plog &&
                  strstr(plog, "undefined_symbol_xyz"),
              "prefetched broken program reports its log: %s", plog ? plog : "(null)");
        free(plog);
        ocl_release(&c);
    }

    // Corrupt every cache entry (truncate one, scribble in another): rebuilt, not fatal.
    {
        DIR *d = opendir(cache);
        struct dirent *e;
        int i = 0;
        while (d && (e = readdir(d))) {
            if (!strstr(e->d_name, ".clbin")) continue;
            snprintf(path, sizeof path, "%s/%s", cache, e->d_name);
            if (i++ == 0) {
                CHECK(truncate(path, 20) == 0, "truncate %s", path);
            } else {
                FILE *f = fopen(path, "r+b");
                fseek(f, 60, SEEK_SET);
                fputs("garbage garbage garbage", f);
                fclose(f);
            }
        }
        if (d) closedir(d);
    }
    ocl_init(&c, &o);
    p = ocl_program(&c, "selftest.cl", "-DSCALE=1.0f");
    CHECK(c.cache_hits == 0 && c.builds == 1, "corrupt entry rebuilt (hits %d builds %d)", c.cache_hits, c.builds);
    run_axpb(&c, p, 1.0f, "after corrupt cache");
    p = ocl_program(&c, "selftest.cl", "-DSCALE=2.0f");
    CHECK(c.builds == 2, "scribbled entry rebuilt (builds %d)", c.builds);
    run_axpb(&c, p, 2.0f, "after scribbled cache");
    ocl_release(&c);
    ocl_init(&c, &o);
    ocl_program(&c, "selftest.cl", "-DSCALE=1.0f");
    CHECK(c.cache_hits == 1 && c.builds == 0, "rewritten entry is a hit again");
    ocl_release(&c);

    // --kernel-dir: a changed source misses; an #include'd header's change misses too.
    snprintf(path, sizeof path, "%s/scale.h", kdir);
    write_text(path, "#define SCALE 3.0f\n");
    snprintf(path, sizeof path, "%s/selftest.cl", kdir);
    write_text(path, "#include \"scale.h\"\n__kernel void axpb(__global const float *x, __global float *y, "
                     "const float a, const int n) { int i = get_global_id(0); if (i < n) y[i] = a * x[i] + "
                     "SCALE * (float)i; }\n");
    ocl_options od = o;
    od.kernel_dir = kdir;
    ocl_init(&c, &od);
    p = ocl_program(&c, "selftest.cl", "");
    CHECK(c.cache_misses == 1, "source from --kernel-dir misses");
    run_axpb(&c, p, 3.0f, "kernel-dir source with include");
    ocl_release(&c);
    snprintf(path, sizeof path, "%s/scale.h", kdir);
    write_text(path, "#define SCALE 4.0f\n");
    ocl_init(&c, &od);
    p = ocl_program(&c, "selftest.cl", "");
    CHECK(c.cache_misses == 1 && c.cache_hits == 0, "changed header misses");
    run_axpb(&c, p, 4.0f, "changed header");
    ocl_release(&c);

    // A broken kernel: the build log comes back with the file and options.
    snprintf(path, sizeof path, "%s/broken.cl", kdir);
    write_text(path, "__kernel void broken(__global float *y) { y[0] = undefined_symbol_xyz; }\n");
    ocl_init(&c, &od);
    char *log = NULL;
    cl_program bad = ocl_program_try(&c, "broken.cl", "-DFOO=1", &log);
    CHECK(bad == NULL, "broken kernel does not build");
    CHECK(log && strstr(log, "broken.cl") && strstr(log, "-DFOO=1") && strstr(log, "undefined_symbol_xyz"),
          "build log names file, options and the error: %s", log ? log : "(null)");
    free(log);
    log = NULL;
    CHECK(ocl_program_try(&c, "missing.cl", "", &log) == NULL && log && strstr(log, "missing.cl"),
          "missing source reported");
    free(log);
    ocl_release(&c);

    // Cache off: nothing read or written.
    setenv("PIXLOC_CACHE_DIR", "off", 1);
    ocl_options off = {0};
    ocl_options_from_env(&off);
    off.quiet = 1;
    CHECK(off.cache_dir[0] == 0, "PIXLOC_CACHE_DIR=off: no cache directory");
    ocl_init(&c, &off);
    CHECK(c.cache_dir[0] == 0, "PIXLOC_CACHE_DIR=off disables the cache");
    ocl_program(&c, "selftest.cl", "-DSCALE=5.0f");
    CHECK(c.cache_hits == 0 && c.cache_misses == 0 && c.builds == 1, "no cache lookups when off");
    ocl_release(&c);
    setenv("PIXLOC_CACHE_DIR", cache, 1);
    ocl_options nc = o;
    nc.no_cache = 1;
    ocl_init(&c, &nc);
    CHECK(c.cache_dir[0] == 0, "--no-kernel-cache disables the cache");
    ocl_release(&c);

    // Error names.
    CHECK(strcmp(cl_errstr(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES") == 0, "symbolic error names");
    CHECK(strcmp(cl_errstr(-5), "CL_OUT_OF_RESOURCES") == 0, "-5 is CL_OUT_OF_RESOURCES");

    // Allocation cap: a buffer over PIXLOC_MAX_ALLOC_MB does not fit.
    setenv("PIXLOC_MAX_ALLOC_MB", "1", 1);
    ocl_options capped = {0};
    ocl_options_from_env(&capped);
    capped.quiet = 1;
    CHECK(capped.max_alloc_mb == 1, "PIXLOC_MAX_ALLOC_MB=1 read (%llu)", capped.max_alloc_mb);
    ocl_init(&c, &capped);
    cl_mem big = ocl_buffer_try(&c, "big", 2u << 20);
    CHECK(big == NULL, "2 MiB buffer refused under a 1 MiB cap");
    cl_mem small = ocl_buffer_try(&c, "small", 1u << 19);
    CHECK(small != NULL, "512 KiB buffer fits under a 1 MiB cap");
    ocl_free(&small);
    ocl_release(&c);
    unsetenv("PIXLOC_MAX_ALLOC_MB");
    // The same cap as a setting, without the environment.
    ocl_options cap2 = o;
    cap2.max_alloc_mb = 1;
    ocl_init(&c, &cap2);
    CHECK(ocl_alloc_cap(&c) == (1u << 20), "max_alloc_mb = 1 caps allocations at 1 MiB");
    ocl_release(&c);

    // The environment as the CLI reads it: the cache directory falls back to
    // $XDG_CACHE_HOME/pixloc, then $HOME/.cache/pixloc; an unusable cap is ignored.
    {
        ocl_options e = {0};
        unsetenv("PIXLOC_CACHE_DIR");
        setenv("XDG_CACHE_HOME", "/x/y", 1);
        ocl_options_from_env(&e);
        CHECK(strcmp(e.cache_dir, "/x/y/pixloc") == 0, "XDG_CACHE_HOME: '%s'", e.cache_dir);
        unsetenv("XDG_CACHE_HOME");
        setenv("HOME", "/h", 1);
        ocl_options_from_env(&e);
        CHECK(strcmp(e.cache_dir, "/h/.cache/pixloc") == 0, "HOME: '%s'", e.cache_dir);
        setenv("PIXLOC_MAX_ALLOC_MB", "12x", 1);
        setenv("PIXLOC_CONV_VARIANT", "gpu", 1);
        setenv("PIXLOC_CACHE_DEBUG", "1", 1);
        ocl_options_from_env(&e);
        CHECK(e.max_alloc_mb == 0 && e.conv_variant && !strcmp(e.conv_variant, "gpu") && e.cache_debug,
              "PIXLOC_MAX_ALLOC_MB=12x ignored, PIXLOC_CONV_VARIANT and PIXLOC_CACHE_DEBUG read");
        unsetenv("PIXLOC_MAX_ALLOC_MB");
        unsetenv("PIXLOC_CONV_VARIANT");
        unsetenv("PIXLOC_CACHE_DEBUG");
        setenv("PIXLOC_CACHE_DIR", cache, 1);
    }

    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    free(tmp);
    return t_summary();
}
