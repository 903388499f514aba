// The tuning file written by `pixloc tune` (host/cmd_tune.c) as conv3x3_default_params
// reads it: an entry's parameters are picked up for exactly its (Cin, Cout, H, W),
// fields left out take the variant's table values, PIXLOC_CONV_VARIANT still
// overrides, and a malformed file is ignored (a warning, never fatal). Also the
// line parser on good and bad lines. Each case uses its own cache directory: the
// file is read once per process per path.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "kernel_cache.h"
#include "ocl.h"
#include "pixloc.h"
#include "test_util.h"

static char g_root[256];

// Points PIXLOC_CACHE_DIR at a fresh directory and writes `text` (if any) as the device's tuning file.
static void use_tuning_file(const ocl_ctx *c, const char *name, const char *text) {
    char dir[512], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", g_root, name);
    setenv("PIXLOC_CACHE_DIR", dir, 1);
    if (!text) return;
    CHECK(px_mkdirs(dir) == 0, "mkdir %s", dir);
    CHECK(ocl_tuning_path(c->platform_version, c->device_name, c->driver_version, path, sizeof path),
          "tuning path");
    CHECK(px_write_file_atomic(path, text, strlen(text)) == 0, "write %s", path);
}

static int same(const conv3x3_params *a, const conv3x3_params *b) { return !memcmp(a, b, sizeof *a); }

static conv3x3_params device_defaults(const ocl_ctx *c) {
    return conv3x3_variant_defaults(c->is_cpu ? CONV_VARIANT_CPU : CONV_VARIANT_GPU_TILED);
}

static void check_parser(void) {
    int shape[4];
    conv3x3_params p;
    char err[256];
    const char *good = "conv3x3 32 64 50 50 variant=gpu_tiled tile_co=2 tile_q=3 wg=8 wg_co=4 dw_tk=5 dw_tc=6 "
                       "dw_seg=64 dw_wg=8 wino_tn=0 wino_nb=0 fwd_ms=1.5 dx_ms=2 dw_ms=0.25";
    CHECK(conv3x3_tuning_parse_line(good, shape, &p, err, sizeof err) == 0, "good line rejected: %s", err);
    CHECK(shape[0] == 32 && shape[1] == 64 && shape[2] == 50 && shape[3] == 50, "shape parsed");
    CHECK(p.variant == CONV_VARIANT_GPU_TILED && p.tile_co == 2 && p.tile_q == 3 && p.wg == 8 && p.wg_co == 4 &&
              p.dw_tk == 5 && p.dw_tc == 6 && p.dw_seg == 64 && p.dw_wg == 8,
          "fields parsed");
    const char *bad[] = {
        "",                                               // empty
        "garbage \x01\x02",                               // not ours
        "conv3x3 32 64 50 variant=cpu",                   // short shape
        "conv3x3 32 64 50 50",                            // no variant
        "conv3x3 32 64 50 50 variant=fast",               // unknown variant
        "conv3x3 32 64 50 50 variant=cpu colour=blue",    // unknown key
        "conv3x3 32 64 50 50 variant=cpu dw_seg=20",      // not a multiple of 16
        "conv3x3 32 64 50 50 variant=cpu tile_co=0",      // out of range
        "conv3x3 32 64 50 50 variant=cpu tile_co=4x",     // not a number
        "conv3x3 32 64 50 50 variant=cpu fwd_ms=-1",      // negative time
        "conv3x3 0 64 50 50 variant=cpu",                 // zero channels
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(conv3x3_tuning_parse_line(bad[i], shape, &p, err, sizeof err) != 0, "bad line %zu accepted: '%s'",
              i, bad[i]);
    printf("OK     tuning-file line parser\n");
}

int main(void) {
    check_parser();
    snprintf(g_root, sizeof g_root, "/tmp/pixloc-test-tuning-XXXXXX");
    CHECK(mkdtemp(g_root) != NULL, "mkdtemp");
    unsetenv("PIXLOC_CONV_VARIANT");

    ocl_options o = {0};
    o.quiet = 1;
    o.no_cache = 1; // the tuning file does not depend on the kernel cache being used
    ocl_ctx c;
    ocl_init(&c, &o);
    const conv3x3_params def = device_defaults(&c);

    // No file: the device type's defaults.
    use_tuning_file(&c, "none", NULL);
    conv3x3_params p = conv3x3_default_params(&c, 3, 5, 9, 7);
    CHECK(same(&p, &def), "no tuning file: defaults expected");

    // An entry with specific parameters is used for exactly its shape.
    use_tuning_file(&c, "cpu",
                    "conv3x3 3 5 9 7 variant=cpu tile_co=8 tile_q=0 wg=4 wg_co=0 dw_tk=3 dw_tc=2 dw_seg=48 "
                    "dw_wg=0 wino_tn=0 wino_nb=0 fwd_ms=0.1 dx_ms=0.1 dw_ms=0.1\n"
                    "conv3x3 5 3 9 7 variant=gpu_tiled wg=8 dw_seg=64\n");
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    conv3x3_params want = conv3x3_variant_defaults(CONV_VARIANT_CPU);
    want.tile_co = 8; want.wg = 4; want.dw_tk = 3; want.dw_tc = 2; want.dw_seg = 48;
    want.tile_q = 0; want.wg_co = 0; want.dw_wg = 0; want.wino_tn = 0; want.wino_nb = 0;
    CHECK(same(&p, &want), "tuned entry 3->5 9x7 not picked up (variant %d tile_co %d wg %d dw %dx%d seg %d)",
          p.variant, p.tile_co, p.wg, p.dw_tk, p.dw_tc, p.dw_seg);
    // Fields left out take the variant's table values.
    p = conv3x3_default_params(&c, 5, 3, 9, 7);
    want = conv3x3_variant_defaults(CONV_VARIANT_GPU_TILED);
    want.wg = 8; want.dw_seg = 64;
    CHECK(same(&p, &want), "partial entry 5->3: table values for the fields left out");
    // Other shapes (even the same channels at another size) keep the defaults.
    p = conv3x3_default_params(&c, 3, 5, 7, 9);
    CHECK(same(&p, &def), "3->5 7x9 is not tuned: defaults expected");
    p = conv3x3_default_params(&c, 1, 3, 9, 7);
    CHECK(same(&p, &def), "1->3 9x7 is not tuned: defaults expected");
    // PIXLOC_CONV_VARIANT overrides: another variant gives its table row, the tuned
    // variant keeps the tuned parameters.
    setenv("PIXLOC_CONV_VARIANT", "gpu", 1);
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    want = conv3x3_variant_defaults(CONV_VARIANT_GPU);
    CHECK(same(&p, &want), "PIXLOC_CONV_VARIANT=gpu must override the tuned cpu entry");
    setenv("PIXLOC_CONV_VARIANT", "cpu", 1);
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    CHECK(p.variant == CONV_VARIANT_CPU && p.tile_co == 8 && p.dw_seg == 48,
          "PIXLOC_CONV_VARIANT=cpu keeps the tuned cpu entry");
    unsetenv("PIXLOC_CONV_VARIANT");
    // The tuned parameters build and run.
    conv3x3 *k = conv3x3_create(&c, 2, 3, 5, 9, 7);
    CHECK(k != NULL, "conv3x3_create with tuned parameters");
    conv3x3_free(k);

    // A malformed file (one bad line among good ones) is ignored whole: defaults, no exit.
    use_tuning_file(&c, "bad",
                    "conv3x3 3 5 9 7 variant=cpu tile_co=8\n"
                    "conv3x3 5 3 9 7 variant=warp_drive\n");
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    CHECK(same(&p, &def), "malformed tuning file: defaults expected");
    // Garbage, binary data included.
    use_tuning_file(&c, "garbage", "\x7f" "ELF\x01\x02 not a tuning file\n\n\xff\xfe");
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    CHECK(same(&p, &def), "garbage tuning file: defaults expected");

    ocl_release(&c);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_root);
    printf("OK     tuning file lookups\n");
    return t_summary();
}
