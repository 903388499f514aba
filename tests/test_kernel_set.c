// The program set `pixloc kernels` writes is the one the host builds: for the GPU
// and the CPU kernel profile (PIXLOC_KERNEL_PROFILE, on whatever device runs the
// tests), a net is created and the (file, exact options) of every program in the
// context's registry must equal net_programs' list for the context's target, and
// vice versa. The net has a block without batch norm (relu.cl), one 1-channel
// side and awkward sizes, so every layer kind and the narrow-layer tiles are listed;
// on the CPU profile 64->33 is a Winograd layer and 64->64 one with the Winograd weight
// gradient (its forward program holds the gradient kernels and has other options).
// check_defaults pins which layers get which variant, and Winograd's GPU shape.
#include <stdio.h>
#include <string.h>

#include "conv.h"
#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "test_util.h"
#include "tuning.h"

static int listed(const ocl_program_list *l, const ocl_program_spec *s) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->s[i].file, s->file) && !strcmp(l->s[i].options, s->options)) return 1;
    return 0;
}

static void check_profile(const char *profile) {
    ocl_options o = {0};
    ocl_options_from_env(&o);
    o.quiet = 1;
    o.conv_variant = NULL; // the defaults of the profile, untuned
    o.no_cache = 0;
    o.kernel_profile = profile;
    ocl_ctx c;
    ocl_init(&c, &o);
    CHECK(c.target.gpu == !strcmp(profile, "gpu"), "%s profile: target.gpu = %d", profile, c.target.gpu);
    c.tuning->loaded = 1; // an empty tuning store: the defaults, whatever this machine has tuned

    net_config cfg;
    char err[256];
    net_config_seed(&cfg);
    CHECK(net_config_channels(&cfg, "3,64,64,33,2", err, sizeof err) == 0, "channels: %s", err);
    cfg.bn[2] = 0; // ReLU alone: relu.cl
    net *n = net_create(&c, &cfg, 7, 5, 3);
    static ocl_program_list built, want;
    ocl_program_registry(&c, &built);
    want.n = 0;
    net_programs(&c.target, &cfg, 7, 5, 3, &want);
    CHECK(built.n == want.n, "%s profile: %d programs built, %d listed", profile, built.n, want.n);
    for (int i = 0; i < built.n; i++)
        CHECK(listed(&want, &built.s[i]), "%s profile: built but not listed: %s %s", profile, built.s[i].file,
              built.s[i].options);
    for (int i = 0; i < want.n; i++)
        CHECK(listed(&built, &want.s[i]), "%s profile: listed but not built: %s %s", profile, want.s[i].file,
              want.s[i].options);
    net_free(n);
    ocl_release(&c);
}

// The untuned defaults by layer width (host/nn/conv.c: winograd_wins; Winograd layers take
// F(4x4) gradients, the weight gradient by Winograd too, and F(2x2) training forwards).
static void check_defaults(void) {
    ocl_target cpu = {0}, gpu = {0};
    gpu.gpu = 1;
    static const struct {
        int cin, cout, variant, wino_dw;
    } rows[] = {{1, 32, CONV_VARIANT_CPU, 0},        {16, 32, CONV_VARIANT_CPU, 0},
                {31, 64, CONV_VARIANT_CPU, 0},       {64, 31, CONV_VARIANT_CPU, 0},
                {32, 64, CONV_VARIANT_WINOGRAD, 1},  {64, 32, CONV_VARIANT_WINOGRAD, 1},
                {63, 128, CONV_VARIANT_WINOGRAD, 1}, {64, 64, CONV_VARIANT_WINOGRAD, 1},
                {64, 128, CONV_VARIANT_WINOGRAD, 1}, {128, 64, CONV_VARIANT_WINOGRAD, 1}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        conv3x3_params p = conv3x3_target_params(&cpu, rows[i].cin, rows[i].cout);
        CHECK(p.variant == rows[i].variant && p.wino_dw == rows[i].wino_dw,
              "cpu defaults %d->%d: variant %d wino_dw %d, want %d %d", rows[i].cin, rows[i].cout, p.variant, p.wino_dw,
              rows[i].variant, rows[i].wino_dw);
        if (p.variant == CONV_VARIANT_WINOGRAD)
            CHECK(conv_wino_m(&p) == 2 && conv_wino_m_dx(&p) == 4 && conv_wino_m_dw(&p) == 4,
                  "cpu defaults %d->%d: tile sides %d/%d/%d, want 2/4/4", rows[i].cin, rows[i].cout, conv_wino_m(&p),
                  conv_wino_m_dx(&p), conv_wino_m_dw(&p));
        p = conv3x3_target_params(&gpu, rows[i].cin, rows[i].cout);
        CHECK(p.variant == CONV_VARIANT_GPU_TILED && p.wino_dw == 0, "gpu defaults %d->%d: variant %d wino_dw %d",
              rows[i].cin, rows[i].cout, p.variant, p.wino_dw);
    }
    // Winograd forced or tuned on a GPU: GPU-shaped (its own weight gradient, small GEMM tiles);
    // the CPU row is not (tests/gpu_compile.sh measured it spilling on every GPU target).
    conv3x3_params wg = conv3x3_target_variant_defaults(&gpu, CONV_VARIANT_WINOGRAD);
    conv3x3_params wc = conv3x3_target_variant_defaults(&cpu, CONV_VARIANT_WINOGRAD);
    CHECK(wg.variant == CONV_VARIANT_WINOGRAD && wg.wino_dw == 1 && conv3x3_gpu_safe(&wg),
          "GPU Winograd defaults: wino_dw %d, GEMM %dx%d, dw %dx%d", wg.wino_dw, wg.tile_co, wg.wino_tn, wg.dw_tk,
          wg.dw_tc);
    CHECK(!conv3x3_gpu_safe(&wc), "the CPU Winograd row passes as GPU-shaped");
    conv3x3_params cp = conv3x3_variant_defaults(CONV_VARIANT_CPU);
    CHECK(conv3x3_gpu_safe(&cp), "a variant other than Winograd judged by Winograd's rule");
}

// A narrow layer after a wide one (65->2) stays GPU tiled on a GPU: its weight-gradient block
// once grew to 1 x 256 lanes, 68 KiB of local memory, and the layer fell back to 'gpu'.
static void check_narrow_tiled(void) {
    ocl_target t;
    CHECK(ocl_target_hypothetical("gpu", &t) == 0, "hypothetical GPU target");
    static ocl_program_list l;
    l.n = 0;
    conv3x3_params p = conv3x3_target_params(&t, 65, 2);
    conv3x3_programs(&t, &p, 3, 65, 2, 7, 5, 1, &l);
    int tiled = 0;
    for (int i = 0; i < l.n; i++) tiled += strstr(l.s[i].options, "-DCONV_STYLE=2") != NULL;
    CHECK(l.n == 2 && tiled == 2, "65->2 on a GPU: %d of %d programs GPU tiled", tiled, l.n);
}

// On the GPU profile, a layer given the CPU's Winograd parameters runs the GPU-shaped ones
// (with a warning) instead of building spilling kernels, and conv3x3_programs (what a network
// prefetches and `pixloc kernels` writes) lists the programs it builds, not the CPU-shaped ones.
static void check_gpu_substitution(void) {
    ocl_options o = {0};
    ocl_options_from_env(&o);
    o.quiet = 1;
    o.conv_variant = NULL;
    o.kernel_profile = "gpu";
    ocl_ctx c;
    ocl_init(&c, &o);
    conv3x3_params p = conv3x3_variant_defaults(CONV_VARIANT_WINOGRAD);
    conv3x3 *k = conv3x3_create_with(&c, 2, 32, 32, 6, 5, &p);
    const conv3x3_params *q = conv3x3_params_of(k);
    CHECK(q->variant == CONV_VARIANT_WINOGRAD && conv3x3_gpu_safe(q), "CPU Winograd tiles kept on a GPU: %dx%d dw %d",
          q->tile_co, q->wino_tn, q->wino_dw);
    static ocl_program_list given, built;
    given.n = built.n = 0;
    conv3x3_programs(&c.target, &p, 2, 32, 32, 6, 5, 1, &given);
    conv3x3_programs(&c.target, q, 2, 32, 32, 6, 5, 1, &built);
    int same = given.n == built.n && given.n > 0;
    for (int i = 0; same && i < given.n; i++)
        same = !strcmp(given.s[i].file, built.s[i].file) && !strcmp(given.s[i].options, built.s[i].options);
    CHECK(same, "conv3x3_programs lists %d programs for CPU Winograd tiles on a GPU, not the %d the layer builds",
          given.n, built.n);
    conv3x3_free(k);
    ocl_release(&c);
}

int main(void) {
    check_defaults();
    check_gpu_substitution();
    check_narrow_tiled();
    check_profile("gpu");
    check_profile("cpu");
    return t_summary();
}
