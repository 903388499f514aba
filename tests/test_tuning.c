// The tuning file written by `pixloc tune` (host/cli/cmd_tune.c) as conv3x3_default_params
// reads it: an entry's parameters are picked up for exactly its (Cin, Cout, H, W),
// fields left out take the variant's table values, a forced variant (the setting
// PIXLOC_CONV_VARIANT gives) still overrides, and a malformed line is skipped (a
// warning naming the file and line, never fatal) while the good lines are used.
// Also the line parser on good and bad lines, every field bounded, and the store
// (host/runtime/tuning.c) read and written. Each case uses its own cache directory
// and context: the file is read once per context.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "ocl.h"
#include "pixloc.h"
#include "test_util.h"
#include "tuning.h"

static char g_root[256];

// A fresh context whose cache directory is g_root/name, holding `text` (if any) as
// the device's tuning file.
static void use_tuning_file(ocl_ctx *c, const char *name, const char *text) {
    char dir[512], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", g_root, name);
    if (c->ctx) ocl_release(c);
    ocl_options o = {0};
    o.quiet = 1;
    snprintf(o.cache_dir, sizeof o.cache_dir, "%s", dir);
    ocl_init(c, &o);
    if (!text) return;
    CHECK(px_mkdirs(dir) == 0, "mkdir %s", dir);
    CHECK(tuning_path(c->cache_dir, c->platform_version, c->device_name, c->driver_version, path, sizeof path),
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
        "",                                                             // empty
        "garbage \x01\x02",                                             // not ours
        "conv3x3 32 64 50 variant=cpu",                                 // short shape
        "conv3x3 32 64 50 50",                                          // no variant
        "conv3x3 32 64 50 50 variant=fast",                             // unknown variant
        "conv3x3 32 64 50 50 variant=cpu colour=blue",                  // unknown key
        "conv3x3 32 64 50 50 variant=cpu dw_seg=20",                    // not a multiple of 16
        "conv3x3 32 64 50 50 variant=cpu tile_co=0",                    // out of range
        "conv3x3 32 64 50 50 variant=cpu tile_co=4x",                   // not a number
        "conv3x3 32 64 50 50 variant=cpu fwd_ms=-1",                    // negative time
        "conv3x3 0 64 50 50 variant=cpu",                               // zero channels
        "conv3x3 32 64 50 50 variant=cpu dw_tk=65536",                  // hangs the kernel compiler
        "conv3x3 32 64 50 50 variant=cpu dw_tc=9",                      // register tile too large
        "conv3x3 32 64 50 50 variant=cpu tile_co=33",                   // register tile too large
        "conv3x3 32 64 50 50 variant=gpu_tiled tile_q=17",              // register tile too large
        "conv3x3 32 64 50 50 variant=winograd wino_tn=65536",           // conv_winograd.c takes at most 4
        "conv3x3 32 64 50 50 variant=winograd wino_tn=5",               //
        "conv3x3 32 64 50 50 variant=winograd wino_nb=1025",            //
        "conv3x3 32 64 50 50 variant=winograd wino_dw=2",               // 0 or 1
        "conv3x3 32 64 50 50 variant=cpu wg=1025",                      // no such work-group
        "conv3x3 32 64 50 50 variant=gpu_tiled wg_co=65536",            //
        "conv3x3 32 64 50 50 variant=gpu_tiled dw_wg=65",               //
        "conv3x3 32 64 50 50 variant=cpu dw_seg=65552",                 // over the bound
        "conv3x3 32 64 50 50 variant=cpu fwd_ms=inf",                   // not finite
        "conv3x3 32 64 50 65537 variant=cpu",                           // shape out of range
        "conv3x3 32 64 50 50 variant=cpu tile_co=99999999999999999999", // overflow
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(conv3x3_tuning_parse_line(bad[i], shape, &p, err, sizeof err) != 0, "bad line %zu accepted: '%s'", i,
              bad[i]);
    // The largest value of every field is accepted.
    const char *top = "conv3x3 1 1 1 1 variant=gpu_tiled tile_co=32 tile_q=16 wg=1024 wg_co=1024 dw_tk=8 dw_tc=8 "
                      "dw_seg=65536 dw_wg=64 wino_tn=4 wino_nb=1024 wino_dw=1 wino_m=4 wino_m_dx=4 wino_m_dw=4 "
                      "wino_nb_dw=1024 fwd_ms=0 dx_ms=0 dw_ms=0";
    CHECK(conv3x3_tuning_parse_line(top, shape, &p, err, sizeof err) == 0, "largest values rejected: %s", err);
    CHECK(p.wino_dw == 1, "wino_dw=1 parsed");
    CHECK(conv3x3_tuning_parse_line("conv3x3 1 1 1 1 variant=winograd", shape, &p, err, sizeof err) == 0 &&
              p.wino_dw == 1 && p.wino_m_dw == 4,
          "wino_dw, wino_m_dw left out: the table's 1, 4");
    CHECK(conv3x3_tuning_parse_line("conv3x3 1 1 1 1 variant=winograd wino_dw=0 wino_m_dw=2 wino_nb_dw=3", shape, &p,
                                    err, sizeof err) == 0 &&
              p.wino_dw == 0 && p.wino_m_dw == 2 && p.wino_nb_dw == 3,
          "wino_dw=0 wino_m_dw=2 wino_nb_dw=3 parsed");
    CHECK(conv3x3_tuning_parse_line("conv3x3 1 1 1 1 variant=winograd wino_m_dw=3", shape, &p, err, sizeof err) != 0,
          "wino_m_dw=3 accepted");
    printf("OK     tuning-file line parser\n");
}

int main(void) {
    check_parser();
    snprintf(g_root, sizeof g_root, "/tmp/pixloc-test-tuning-XXXXXX");
    CHECK(mkdtemp(g_root) != NULL, "mkdtemp");

    ocl_ctx c = {0};
    use_tuning_file(&c, "none", NULL);
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
    want.tile_co = 8;
    want.wg = 4;
    want.dw_tk = 3;
    want.dw_tc = 2;
    want.dw_seg = 48;
    want.tile_q = 0;
    want.wg_co = 0;
    want.dw_wg = 0;
    want.wino_tn = 0;
    want.wino_nb = 0;
    CHECK(same(&p, &want), "tuned entry 3->5 9x7 not picked up (variant %d tile_co %d wg %d dw %dx%d seg %d)",
          p.variant, p.tile_co, p.wg, p.dw_tk, p.dw_tc, p.dw_seg);
    // Fields left out take the variant's table values.
    p = conv3x3_default_params(&c, 5, 3, 9, 7);
    want = conv3x3_variant_defaults(CONV_VARIANT_GPU_TILED);
    want.wg = 8;
    want.dw_seg = 64;
    CHECK(same(&p, &want), "partial entry 5->3: table values for the fields left out");
    // Other shapes (even the same channels at another size) keep the defaults.
    p = conv3x3_default_params(&c, 3, 5, 7, 9);
    CHECK(same(&p, &def), "3->5 7x9 is not tuned: defaults expected");
    p = conv3x3_default_params(&c, 1, 3, 9, 7);
    CHECK(same(&p, &def), "1->3 9x7 is not tuned: defaults expected");
    // A forced variant (PIXLOC_CONV_VARIANT) overrides: another variant gives its table
    // row, the tuned variant keeps the tuned parameters.
    snprintf(c.conv_variant, sizeof c.conv_variant, "gpu");
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    want = conv3x3_variant_defaults(CONV_VARIANT_GPU);
    CHECK(same(&p, &want), "PIXLOC_CONV_VARIANT=gpu must override the tuned cpu entry");
    snprintf(c.conv_variant, sizeof c.conv_variant, "cpu");
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    CHECK(p.variant == CONV_VARIANT_CPU && p.tile_co == 8 && p.dw_seg == 48,
          "PIXLOC_CONV_VARIANT=cpu keeps the tuned cpu entry");
    c.conv_variant[0] = '\0';
    // The tuned parameters build and run.
    conv3x3 *k = conv3x3_create(&c, 2, 3, 5, 9, 7);
    CHECK(k != NULL, "conv3x3_create with tuned parameters");
    conv3x3_free(k);

    // A malformed line among good ones is skipped (a warning naming the file and the
    // line): its shape gets the defaults, the good lines are used, no exit.
    use_tuning_file(&c, "bad",
                    "conv3x3 3 5 9 7 variant=cpu tile_co=8\n"
                    "conv3x3 5 3 9 7 variant=warp_drive\n"
                    "conv3x3 1 3 9 7 variant=cpu dw_tk=65536\n"
                    "conv3x3 3 1 9 7 variant=winograd wino_tn=65536\n"
                    "conv3x3 5 5 9 7 variant=cpu tile_co=4x\n"
                    "not a line at all\n");
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    want = conv3x3_variant_defaults(CONV_VARIANT_CPU);
    want.tile_co = 8;
    CHECK(same(&p, &want), "the good line of a file with bad ones is used");
    const int bad_shapes[][2] = {{5, 3}, {1, 3}, {3, 1}, {5, 5}};
    for (size_t i = 0; i < sizeof bad_shapes / sizeof *bad_shapes; i++) {
        p = conv3x3_default_params(&c, bad_shapes[i][0], bad_shapes[i][1], 9, 7);
        CHECK(same(&p, &def), "bad line for %d->%d: defaults expected", bad_shapes[i][0], bad_shapes[i][1]);
    }
    // wino_tn=65536 used to reach conv_winograd.c and exit; now the layer builds with the defaults.
    k = conv3x3_create(&c, 1, 3, 1, 9, 7);
    CHECK(k != NULL, "conv3x3_create over a bad tuning line");
    conv3x3_free(k);
    // Garbage, binary data included.
    use_tuning_file(&c, "garbage",
                    "\x7f"
                    "ELF\x01\x02 not a tuning file\n\n\xff\xfe");
    p = conv3x3_default_params(&c, 3, 5, 9, 7);
    CHECK(same(&p, &def), "garbage tuning file: defaults expected");

    // The store: entries put, saved, read back in order with their key=value text.
    {
        tuning_store s = {0};
        snprintf(s.path, sizeof s.path, "%s/store/tuning-x.txt", g_root);
        const int a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
        tuning_store_put(&s, "conv3x3", a, "variant=cpu  tile_co=8");
        tuning_store_put(&s, "other_kind", b, "k=v");
        tuning_store_put(&s, "conv3x3", a, "variant=gpu"); // replaces
        CHECK(tuning_store_save(&s) == 0, "store saved");
        char path[1200];
        snprintf(path, sizeof path, "%s", s.path);
        tuning_store_free(&s);
        char *text = px_read_file(path, NULL);
        CHECK(text && !strcmp(text, "conv3x3 1 2 3 4 variant=gpu\nother_kind 5 6 7 8 k=v\n"), "store file: '%s'",
              text ? text : "(none)");
        free(text);
        tuning_store r = {0};
        tuning_store_load(&r, path);
        const tuning_entry *e = tuning_store_find(&r, "other_kind", b);
        CHECK(r.n == 2 && e && !strcmp(e->params, "k=v") && e->line == 2, "store read back");
        tuning_store_free(&r);
        CHECK(!tuning_path("", "p", "d", "v", path, sizeof path), "no cache directory: no tuning file");
    }

    ocl_release(&c);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_root);
    printf("OK     tuning file lookups\n");
    return t_summary();
}
