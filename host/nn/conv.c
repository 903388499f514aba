// Launchers of the 3x3 convolution kernels in cl/conv.cl (see include/conv.h).
//
// One layer shape builds two programs from cl/conv.cl: the forward convolution
// (CIN=Cin, COUT=Cout), which also holds the weight-gradient kernels, and the
// input-gradient convolution (CIN=Cout, COUT=Cin), the same kernel run on dy with
// the weights flipped in space and transposed in channels (conv_pack_weights' flip
// argument) and no bias. The direction is in the launches' arguments, not the
// build options, so the second is the forward program of a Cout -> Cin layer (one
// program, its kernels compiled once, where a network has both shapes). Each call
// first repacks its weights into a scratch buffer (small: 9*Cin*Cout floats)
// padded to the channel tile, so the main kernels need no channel guards on loads.
#include "conv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_winograd.h"
#include "layout.h"
#include "pixloc.h"

// One direction's program shape: its output channels per work-item (tile) and,
// GPU tiled, its work-group of wg positions x wg_co channels.
typedef struct {
    int tile, wg, wg_co;
} conv_dir;
typedef struct {
    int wgc, wgk;
} dw_dims;

// Work-group of conv_pack_weights (along padded output channels).
#define CONV_PACK_WG 64

struct conv3x3 {
    ocl_ctx *c;
    int max_N, Cin, Cout, H, W;
    conv3x3_params prm;
    act_layout lx, ly;     // input and output layouts (capacity max_N)
    conv_dir dir_f, dir_b; // program shapes of the forward / input-gradient convolutions
    dw_dims dwd;           // GPU tiled weight-gradient work-group
    int seg, nseg;         // weight-gradient segments per image
    size_t pstride;        // floats per weight-gradient partial: 9*Cin*Cout + Cout
    cl_program prog_f, prog_b;
    cl_kernel pack_f, conv_f, pack_b, conv_b, dw, db, reduce;
    cl_mem wp_f, wp_b, part; // packed weights (forward, flipped) and partial sums
    conv_wino *wino;         // CONV_VARIANT_WINOGRAD: forward and input gradient
    int fwd_only;            // conv3x3_create_forward: no input-gradient or weight-gradient state
    int late_dx;             // conv3x3_create_input_layer: prog_b is built at the first backward_input
    int bn_fused;            // forward program built with BN_FUSED (bias buffer: bias, scale, shift)
    // A forward-only layer packs (or Winograd-transforms) its weights once: from (w_mem, w_at),
    // until conv3x3_weights_changed sets w_stale.
    int w_stale;
    cl_mem w_mem;
    size_t w_at;
};

// What a layer is built for: training (both directions), or inference forward, with or
// without the folded batch norm in the epilogue.
// CONV_FOR_TRAINING_LATE_DX: training, with the input-gradient program built at the first
// conv3x3_backward_input (conv3x3_create_input_layer).
enum { CONV_FOR_TRAINING = 0, CONV_FOR_INFERENCE = 1, CONV_FOR_INFERENCE_BN = 2, CONV_FOR_TRAINING_LATE_DX = 3 };
static int for_training(int purpose) { return purpose == CONV_FOR_TRAINING || purpose == CONV_FOR_TRAINING_LATE_DX; }

static const char *const VARIANT_NAMES[CONV_VARIANT_COUNT] = {[CONV_VARIANT_CPU] = "cpu",
                                                              [CONV_VARIANT_GPU] = "gpu",
                                                              [CONV_VARIANT_WINOGRAD] = "winograd",
                                                              [CONV_VARIANT_GPU_TILED] = "gpu_tiled"};

const char *conv3x3_variant_name(int variant) {
    return variant >= 0 && variant < CONV_VARIANT_COUNT ? VARIANT_NAMES[variant] : "?";
}

int conv3x3_variant_parse(const char *name) {
    for (int v = 0; v < CONV_VARIANT_COUNT; v++)
        if (!strcmp(name, VARIANT_NAMES[v])) return v;
    return -1;
}

// The variant the settings force (ocl_options.conv_variant), or -1.
static int forced_variant(const ocl_ctx *c) {
    const char *e = c->conv_variant;
    if (!*e) return -1;
    int v = conv3x3_variant_parse(e);
    if (v < 0)
        px_die(PX_EXIT_USAGE, "PIXLOC_CONV_VARIANT must be 'cpu', 'gpu', 'winograd' or 'gpu_tiled', not '%s'", e);
    return v;
}

int conv3x3_wino_m_parse(const char *s) { return !strcmp(s, "2") ? 2 : !strcmp(s, "4") ? 4 : -1; }

void conv3x3_force_wino_m(conv3x3_params *p, int m) {
    if (m && p->variant == CONV_VARIANT_WINOGRAD) p->wino_m = p->wino_m_dx = p->wino_m_dw = m;
}

// c->conv_wino_m (PIXLOC_WINO_M=2|4 for users): the Winograd layers' output tile side, training
// and inference alike (0 when unset: the table's or the tuning file's).
static int forced_wino_m(const ocl_ctx *c) {
    const char *e = c->conv_wino_m;
    if (!*e) return 0;
    int m = conv3x3_wino_m_parse(e);
    if (m < 0) px_die(PX_EXIT_USAGE, "PIXLOC_WINO_M must be 2 or 4, not '%s'", e);
    return m;
}

conv3x3_params conv3x3_forward_params(const ocl_target *t, const conv3x3_params *p) {
    conv3x3_params q = *p;
    if (q.variant == CONV_VARIANT_WINOGRAD && q.wino_m == 0 && !t->gpu) q.wino_m = 4;
    q.bn_in = q.bn_stats = 0;
    return q;
}

int conv3x3_bn_in_ok(const conv3x3_params *p) { return p->variant == CONV_VARIANT_WINOGRAD && p->wino_dw == 1; }
int conv3x3_bn_stats_ok(const ocl_target *t, const conv3x3_params *p) {
    return p->variant == CONV_VARIANT_WINOGRAD && !t->gpu;
}

// The per-device-type default table. CPU values were measured with
// the former bench/bench_conv.c on PoCL 3.1 (2-core Zen 4, batch 64, 50x50), in flop per
// CPU-second (the machine was shared): forward tile 16 ~105 GFLOP/s per core
// (tile 8: 97; work-group 1, 8, 16 alike); weight-gradient tile 6x4 ~91 (4x4: 81,
// 8x2: 66, 2x8: 65); one segment per 50x50 image beats 1024 (83 vs 79) and 512
// (69): fewer partials to reduce. GPU values are untuned placeholders.
static const conv3x3_params DEFAULTS_CPU = {
    .variant = CONV_VARIANT_CPU, .tile_co = 16, .wg = 8, .dw_tk = 6, .dw_tc = 4, .dw_seg = 4096};
static const conv3x3_params DEFAULTS_GPU = {
    .variant = CONV_VARIANT_GPU, .tile_co = 1, .wg = 64, .dw_tk = 1, .dw_tc = 1, .dw_seg = 512};
// Winograd (host/conv_winograd.c): tile_co is the GEMM's channel tile. GEMM tile 4 channels x
// 64 tiles, one image per chunk: 64->128 forward ~185 GFLOP per CPU-second (direct-convolution
// flops) against the CPU variant's ~107 (8x48 tiles: 178, 6x64: 169, 12x32: 163; chunks of 2
// images: 10-20% slower, scratch out of cache; the former bench/bench_conv.c, Zen 4).
// Rechecked on a 2-core AVX-512 Xeon with `pixloc bench` (seed network, 2 interleaved rounds;
// the inner loop is 4 loads, 4 broadcasts and 16 FMAs): 8 x 32 tiles 1% slower, 8 x 16 and
// 2 x 64 7-8% slower; chunks of 2 images on the default network's 32/64-channel layers: training
// 3% and inference 10% slower. Yet smaller images cost no less per tile (12 x 50 and 24 x 50
// against 50 x 50, forward), so chunks of part of an image would not be faster.
// Tile sides: wino_m = 0 is F(2x2,3x3) in training layers and F(4x4,3x3) in inference layers on
// CPUs (conv3x3_forward_params); the input gradient (wino_m_dx) and the weight gradient (wino_dw,
// wino_m_dw, 4 x 4 channel tiles, chunks of about 10 MiB of V and Z: conv_winograd.c) are F(4x4). Measured with
// `pixloc bench` (PoCL 3.1, 2-core Xeon with AVX-512, batch 64, 50x50, ms, F(4x4) vs F(2x2)):
// forward / input gradient 32->64 19.9/22.0 vs 24.8/26.7, 64->128 50.8/52.0 vs 65.8/67.6,
// 128->64 53.6/48.8 vs 66.7/62.6, 64->32 22.1/20.4 vs 27.8/26.3; weight gradient 64->128 55.4
// vs 81.2 (one-image chunks: 86), 128->64 57.4 vs 80.8, and on the 32-channel layers, against
// the CPU variant's kernels (F(2x2) Winograd was no faster there), 32->64 24.6 vs 37.5, 64->32
// 25.1 vs 34.5. Training at batch 64, seed network: 93 -> 102 samples/s with the F(4x4) weight
// gradient. F(4x4)'s rounding errors are larger (tests/test_conv.c: up to ~20x F(2x2)'s): with
// F(4x4) in the forward pass of any two of the seed network's four Winograd layers, the step-1
// gradients are only as accurate as TensorFlow's (test_keras: rms error 1.91e-5 against
// TensorFlow's 1.86e-5 on conv0's kernel) and miss test_keras's strict bound (1e-4 of the
// largest value), which F(2x2) forwards meet: the batch norms' statistics and their backward
// amplify the forward's rounding. The miss is all or nothing, not a growing error: F(4x4) in the
// forward of 64->128 alone or of 64->32 alone keeps the worst strict check at 0.06 and 0.10 of
// the bound (all F(2x2): 0.058), while 32->64 alone, 128->64 alone, or 64->128 and 64->32
// together, fail it by 50-72x with the same 140/8/17 failing entries of conv0's kernel, bias and
// bn0's gamma each time: some step-1 value sits within rounding of a ReLU's or a sign's edge
// and flips (TensorFlow's float32 flips it too). So a forward tile side cannot be chosen by error
// size alone; F(3x3,3x3) (float32 error ~2.9x F(2x2)'s against F(4x4)'s ~5.2x on random 64-channel
// tiles) was not built for that reason. The gradients' F(4x4) does not pass through them: with both
// (and F(2x2) forwards) the worst strict check is at 0.058 of the bound (all F(2x2): 0.046) and
// the weight gradients' rms error grows from 1.23e-9 to 1.43e-9 (conv1; TensorFlow's: 3.75e-6).
// `PIXLOC_WINO_M` or a tuning entry's wino_m / wino_m_dx / wino_m_dw override these.
static const conv3x3_params DEFAULTS_WINO = {.variant = CONV_VARIANT_WINOGRAD,
                                             .tile_co = 4,
                                             .wg = 8,
                                             .dw_tk = 4,
                                             .dw_tc = 4,
                                             .dw_seg = 4096,
                                             .wino_tn = 4,
                                             .wino_nb = 1,
                                             .wino_dw = 1,
                                             .wino_m_dx = 4,
                                             .wino_m_dw = 4};

// Winograd on a GPU (only when forced or tuned: gpu_tiled is the GPU default): the GEMM one
// channel x 16 tiles per work-item in groups of 64 (16 accumulators), the Winograd weight
// gradient with 1 x 1 channel tiles (16 accumulators, groups of 8 x 8: host/conv_winograd.c),
// 8 images per chunk so that a launch has enough work-items, F(2x2) in every direction (the
// F(4x4) GPU-shaped kernels are built and tested, unmeasured on a GPU). Untuned (no GPU at
// hand); no register spills on sm_75..sm_90 and gfx906..gfx1030 (tests/gpu_compile.sh).
static const conv3x3_params DEFAULTS_WINO_GPU = {.variant = CONV_VARIANT_WINOGRAD,
                                                 .tile_co = 1,
                                                 .wg = 64,
                                                 .dw_tk = 1,
                                                 .dw_tc = 1,
                                                 .dw_seg = 512,
                                                 .wino_tn = 1,
                                                 .wino_nb = 8,
                                                 .wino_dw = 1};

// GPU tiled: work-groups of 16 x 16, each work-item 4 positions x 4 channels (a
// 64 x 64 block); weight gradient 16 x 16 work-items of 4 x 4. Untuned guesses
// (no GPU was at hand): `pixloc tune` measures better ones per device. This is the
// default on every device that is not a CPU.
static const conv3x3_params DEFAULTS_GPU_TILED = {.variant = CONV_VARIANT_GPU_TILED,
                                                  .tile_co = 4,
                                                  .wg = 16,
                                                  .dw_tk = 4,
                                                  .dw_tc = 4,
                                                  .dw_seg = 512,
                                                  .tile_q = 4,
                                                  .wg_co = 16,
                                                  .dw_wg = 16};

conv3x3_params conv3x3_variant_defaults(int variant) {
    switch (variant) {
    case CONV_VARIANT_CPU: return DEFAULTS_CPU;
    case CONV_VARIANT_GPU: return DEFAULTS_GPU;
    case CONV_VARIANT_WINOGRAD: return DEFAULTS_WINO;
    default: return DEFAULTS_GPU_TILED;
    }
}

conv3x3_params conv3x3_target_variant_defaults(const ocl_target *t, int variant) {
    return t->gpu && variant == CONV_VARIANT_WINOGRAD ? DEFAULTS_WINO_GPU : conv3x3_variant_defaults(variant);
}

int conv3x3_gpu_safe(const conv3x3_params *p) {
    if (p->variant != CONV_VARIANT_WINOGRAD) return 1;
    return p->wino_dw == 1 && p->tile_co * conv_wino_tn(p) <= 2 && p->dw_tk * p->dw_tc <= 4;
}

// CPU layers where Winograd beats the CPU variant (the former bench/bench_conv.c, PoCL 3.1, Zen 4,
// batch 64, 50x50, GFLOP per CPU-second in direct-convolution flops, forward / input
// gradient, CPU vs Winograd): 32->64 105/105 vs 143/138, 64->128 108/108 vs 186/184,
// 128->64 107/107 vs 184/189, 64->32 106/105 vs 139/144; but 1->32 49/15 vs 9/7 (a
// GEMM with K = 1 or M = 1 is all overhead). Measured at 50x50 only.
static int winograd_wins(int Cin, int Cout) { return Cin >= 32 && Cout >= 32; }

conv3x3_params conv3x3_target_params(const ocl_target *t, int Cin, int Cout) {
    if (t->gpu) return DEFAULTS_GPU_TILED;
    return winograd_wins(Cin, Cout) ? DEFAULTS_WINO : DEFAULTS_CPU;
}

conv3x3_params conv3x3_default_params(const ocl_ctx *c, int Cin, int Cout, int H, int W) {
    int v = forced_variant(c), m = forced_wino_m(c);
    conv3x3_params p;
    if (!(conv3x3_tuned_params(c, Cin, Cout, H, W, &p) && (v < 0 || v == p.variant) &&
          (!c->target.gpu || conv3x3_gpu_safe(&p)))) // (a tuning file edited by hand could hold CPU tiles)
        p = v < 0 ? conv3x3_target_params(&c->target, Cin, Cout) : conv3x3_target_variant_defaults(&c->target, v);
    conv3x3_force_wino_m(&p, m);
    return p;
}

// CPU style: the asked tile, halved (down to 4) while half still covers all `cout`
// channels. GPU tiled, for narrow layers: first fewer channel lanes (the register
// tile stays), their work-items moved to positions while a block is smaller than
// a plane, then a smaller tile, while what is left still covers all channels.
// (Each output's sum runs in the same order whatever the tiles: results do not change.)
static conv_dir dir_for(const conv3x3_params *p, int cout, size_t plane) {
    conv_dir d = {p->tile_co, p->wg, 1};
    if (p->variant == CONV_VARIANT_GPU) {
        d.tile = 1;
    } else if (p->variant == CONV_VARIANT_GPU_TILED) {
        d.wg_co = p->wg_co;
        while (d.wg_co > 1 && d.wg_co / 2 * d.tile >= cout) {
            d.wg_co /= 2;
            if ((size_t)d.wg * p->tile_q < plane) d.wg *= 2;
        }
        while (d.tile > 1 && d.tile / 2 * d.wg_co >= cout) d.tile /= 2;
    } else {
        while (d.tile > 4 && d.tile / 2 >= cout) d.tile /= 2;
    }
    return d;
}

// Output channels the packed weights are padded to: one work-item's channel tile,
// or a GPU tiled work-group's.
static int pad_for(const conv3x3_params *p, conv_dir d) {
    return p->variant == CONV_VARIANT_GPU_TILED ? d.tile * d.wg_co : d.tile;
}

// Local memory of a GPU tiled weight-gradient block of wgk row x wgc channel lanes (cl/conv.cl).
static size_t dw_local_bytes(const conv3x3_params *p, int wgk, int wgc) {
    return (size_t)(p->dw_tk * wgk + p->dw_tc * wgc) * 17 * sizeof(float);
}

// GPU tiled weight gradient: a work-group of wgc channel x wgk row work-items (DW_WGC,
// DW_WGK in cl/conv.cl), dw_wg x dw_wg for wide layers; for narrow ones fewer channel
// lanes, their work-items moved to rows (KDIM + 1 of them), and no more row lanes than rows need.
static dw_dims dw_for(const conv3x3_params *p, int Cin, int Cout) {
    dw_dims d = {p->dw_wg, p->dw_wg};
    int rows = 9 * Cin + 1;
    while (d.wgc > 1 && d.wgc / 2 * p->dw_tc >= Cout) {
        d.wgc /= 2;
        // Rows take the freed lanes while the block's local memory stays within half of a GPU's
        // 48 KiB: 65->2 grew to 1 x 256 lanes (68 KiB) and fell back to 'gpu'.
        if (d.wgk * p->dw_tk < rows && dw_local_bytes(p, 2 * d.wgk, d.wgc) <= OCL_GPU_LOCAL_MEM / 2) d.wgk *= 2;
    }
    while (d.wgk > 1 && d.wgk / 2 * p->dw_tk >= rows) d.wgk /= 2;
    return d;
}

// GPU tiled: input channels staged per step (GT_KC in cl/conv.cl), at most 8 and
// within half the target's local memory (at most 24 KiB), so two work-groups can
// share a compute unit; for very wide images one channel within all of it (at most
// 48 KiB: a 4096-wide image needs 35 KiB); 0 if even that does not fit.
static int gt_kc(const ocl_target *t, const conv3x3_params *p, conv_dir d, int cin, int W) {
    size_t room = t->local_mem < OCL_GPU_LOCAL_MEM ? (size_t)t->local_mem : (size_t)OCL_GPU_LOCAL_MEM;
    size_t per_ci = sizeof(float) * ((size_t)d.wg * p->tile_q + 2 * (size_t)(W + 2) + 2 + 9 * (size_t)pad_for(p, d));
    size_t kc = room / 2 / per_ci;
    if (kc < 1) kc = room / per_ci;
    if (kc > 8) kc = 8;
    if (kc > (size_t)cin) kc = (size_t)cin;
    return (int)kc;
}

// Segments of the weight-gradient reduction, balanced, each a multiple of 16,
// and the floats of one partial (9*Cin*Cout + Cout).
static void segments(const conv3x3_params *p, int Cin, int Cout, int H, int W, int *nseg, int *seg, size_t *pstride) {
    int npos = (H + 1) * (W + 2) - (W + 2) / 16 * 16; // QEND - QB0 in cl/conv.cl
    *nseg = (npos + p->dw_seg - 1) / p->dw_seg;
    *seg = (int)ocl_round_up((size_t)((npos + *nseg - 1) / *nseg), 16);
    *pstride = 9 * (size_t)Cin * Cout + (size_t)Cout;
}

// The options of a program of cin -> cout convolutions (a forward one, or the input gradient
// of a cout -> cin layer) for H x W images. CONV_STYLE selects the kernels compiled in:
// 0 the CPU ones (conv_tile, conv_dw_tile, conv_db_tile; also Winograd's weight
// gradient), 1 the simple GPU ones, 2 GPU tiled: a program holds only the kernels
// its variant runs (the CPU ones spill on GPUs). Returns -1 when GPU tiled
// parameters do not fit the target's local memory.
// fwd_only/bn_fused (inference networks: FWD_ONLY drops the training kernels, BN_FUSED
// applies the next batch norm in the epilogue) are appended last, so the training programs'
// options (and cache keys) do not change.
static int program_options(const ocl_target *t, const conv3x3_params *p, int H, int W, int cin, int cout, int fwd_only,
                           int bn_fused, char *opt, size_t len) {
    int nseg, seg;
    size_t pstride;
    segments(p, cin, cout, H, W, &nseg, &seg, &pstride);
    conv_dir d = dir_for(p, cout, act_layout_make(1, 1, H, W).plane);
    // Winograd uses the CPU weight-gradient kernels (unless wino_dw); on a GPU it always has
    // wino_dw (conv3x3_gpu_safe), and its program gets the simple GPU kernels, never the CPU ones.
    int wino_gpu = p->variant == CONV_VARIANT_WINOGRAD && t->gpu;
    int style = p->variant == CONV_VARIANT_GPU_TILED ? 2 : p->variant == CONV_VARIANT_GPU || wino_gpu ? 1 : 0;
    int n = snprintf(opt, len,
                     "-DCIN=%d -DCOUT=%d -DIMG_H=%d -DIMG_W=%d -DMARGIN=%zu -DTILE_CO=%d "
                     "-DDW_TK=%d -DDW_TC=%d -DSEG=%d -DNSEG=%d -DCONV_STYLE=%d",
                     cin, cout, H, W, (size_t)ACT_MARGIN(W), d.tile, p->dw_tk, p->dw_tc, seg, nseg, style);
    if (style == 2) {
        int kc = gt_kc(t, p, d, cin, W);
        if (kc < 1) return -1;
        dw_dims e = dw_for(p, cin, cout); // used by the forward program only (the weight gradient)
        snprintf(opt + n, len - (size_t)n, " -DGT_WP=%d -DGT_WC=%d -DTILE_Q=%d -DGT_KC=%d -DDW_WGC=%d -DDW_WGK=%d",
                 d.wg, d.wg_co, p->tile_q, kc, e.wgc, e.wgk);
    }
    if (fwd_only) {
        size_t used = strlen(opt);
        snprintf(opt + used, len - used, " -DFWD_ONLY=1%s", bn_fused ? " -DBN_FUSED=1" : "");
    }
    return 0;
}

// The parameters as a layer uses them on target t (work-group capped by the target).
static conv3x3_params effective(const ocl_target *t, const conv3x3_params *p) {
    conv3x3_params e = *p;
    if ((size_t)e.wg > t->max_wg) e.wg = (int)t->max_wg;
    return e;
}

// 1 if GPU tiled parameters fit the target's work-group and local-memory limits.
static int tiled_fits(const ocl_target *t, const conv3x3_params *p, int Cin, int Cout) {
    dw_dims e = dw_for(p, Cin, Cout);
    return (size_t)p->wg * p->wg_co <= t->max_wg && (size_t)e.wgc * e.wgk <= t->max_wg &&
           dw_local_bytes(p, e.wgk, e.wgc) <= t->local_mem;
}

// What a layer given CPU-shaped Winograd parameters on a GPU runs instead (create_or_fallback):
// the GPU-shaped defaults, which have their own weight gradient, so bn_in stays.
static conv3x3_params gpu_substitute(const conv3x3_params *p) {
    conv3x3_params g = DEFAULTS_WINO_GPU;
    g.bn_in = p->bn_in;
    return g;
}

// 1 if the layer's weight gradient is Winograd's (host/conv_winograd.c), not this file's kernels.
static int wino_dw(const conv3x3_params *p) { return p->variant == CONV_VARIANT_WINOGRAD && p->wino_dw; }

// Which of this file's two programs a layer runs kernels from: a Winograd layer's forward and
// input gradient are host/conv_winograd.c's, so it needs the forward program only for this file's
// weight gradient (without wino_dw) and never the input-gradient one; the others need the forward
// program, and the input-gradient one when they train. (A program built and never run costs a
// compile at start-up: 0.1-0.5 s of CPU each on PoCL.)
static int needs_prog_f(const conv3x3_params *p, int fwd_only) {
    return p->variant != CONV_VARIANT_WINOGRAD || (!fwd_only && !p->wino_dw);
}
static int needs_prog_b(const conv3x3_params *p, int fwd_only) {
    return p->variant != CONV_VARIANT_WINOGRAD && !fwd_only;
}
// Whether the input-gradient program may wait for its first use (conv3x3_create_input_layer):
// not with GPU tiled parameters, whose create() checks the program builds and fits.
static int late_dx_ok(const conv3x3_params *p) { return p->variant != CONV_VARIANT_GPU_TILED; }

void conv3x3_programs(const ocl_target *t, const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, int dx,
                      ocl_program_list *out) {
    if (t->gpu && !conv3x3_gpu_safe(p)) { // as conv3x3_create_with substitutes
        conv3x3_params g = gpu_substitute(p);
        conv3x3_programs(t, &g, max_N, Cin, Cout, H, W, dx, out);
        return;
    }
    conv3x3_params e = effective(t, p);
    char f[OCL_PROGRAM_OPTIONS_MAX], b[OCL_PROGRAM_OPTIONS_MAX];
    if ((e.variant == CONV_VARIANT_GPU_TILED && !tiled_fits(t, &e, Cin, Cout)) ||
        program_options(t, &e, H, W, Cin, Cout, 0, 0, f, sizeof f) ||
        program_options(t, &e, H, W, Cout, Cin, 0, 0, b, sizeof b)) {
        conv3x3_params g = DEFAULTS_GPU; // as conv3x3_create_with falls back
        conv3x3_programs(t, &g, max_N, Cin, Cout, H, W, dx, out);
        return;
    }
    if (needs_prog_f(&e, 0)) ocl_program_list_add(out, t, "conv.cl", f);
    if (needs_prog_b(&e, 0) && (dx || !late_dx_ok(&e))) ocl_program_list_add(out, t, "conv.cl", b);
    if (e.variant == CONV_VARIANT_WINOGRAD) conv_wino_programs(t, &e, max_N, Cin, Cout, H, W, out);
}

static cl_program build(conv3x3 *k, int cin, int cout, int try_only) {
    char opt[OCL_PROGRAM_OPTIONS_MAX];
    if (program_options(&k->c->target, &k->prm, k->H, k->W, cin, cout, k->fwd_only, k->bn_fused, opt, sizeof opt))
        return NULL;
    if (!try_only) return ocl_program(k->c, "conv.cl", opt);
    char *log = NULL;
    cl_program p = ocl_program_try(k->c, "conv.cl", opt, &log);
    free(log);
    return p;
}

// 1 if the layer runs this file's CPU kernels (Winograd's CPU weight gradient included).
static int cpu_kernels(const conv3x3 *k) {
    return k->prm.variant == CONV_VARIANT_CPU || (k->prm.variant == CONV_VARIANT_WINOGRAD && !k->c->target.gpu);
}

// The convolution kernel's name in the layer's programs.
static const char *conv_kernel_name(const conv3x3 *k) {
    return cpu_kernels(k) ? "conv_tile" : k->prm.variant == CONV_VARIANT_GPU_TILED ? "conv_gpu_tiled" : "conv_simple";
}

// The input-gradient kernels from prog_b.
static void dx_kernels(conv3x3 *k) {
    k->pack_b = ocl_kernel(k->c, k->prog_b, "conv_pack_weights");
    k->conv_b = ocl_kernel(k->c, k->prog_b, conv_kernel_name(k));
}

// The buffers create() allocates itself, in order: packed weights, then (training
// only) flipped weights and weight-gradient partials (indexed with int).
static void own_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, int fwd_only,
                        nn_buffers *out) {
    int nseg, seg;
    size_t pstride, plane = act_layout_make(1, 1, H, W).plane;
    segments(p, Cin, Cout, H, W, &nseg, &seg, &pstride);
    size_t coutp = ocl_round_up((size_t)Cout, (size_t)pad_for(p, dir_for(p, Cout, plane)));
    size_t cinp = ocl_round_up((size_t)Cin, (size_t)pad_for(p, dir_for(p, Cin, plane)));
    int direct = p->variant != CONV_VARIANT_WINOGRAD; // (Winograd packs its own weights)
    if (direct) nn_buffers_add(out, "conv packed weights", 9 * (size_t)Cin * coutp * sizeof(float), 0);
    if (fwd_only) return;
    if (direct) nn_buffers_add(out, "conv flipped weights", 9 * (size_t)Cout * cinp * sizeof(float), 0);
    if (wino_dw(p)) return; // its weight gradient keeps its own sums (host/conv_winograd.c)
    nn_buffers_add(out, "conv weight-gradient partials", (size_t)max_N * nseg * pstride * sizeof(float),
                   NN_INT_INDEXED_LIMIT);
}

// 1 if the kernel can run work-groups of `size` work-items on this device.
static int wg_fits(const conv3x3 *k, cl_kernel kern, size_t size) {
    size_t max = 0;
    CL_CHECK(clGetKernelWorkGroupInfo(kern, k->c->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max, &max, NULL));
    return size <= max;
}

void conv3x3_prefetch(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p, int dx) {
    if (!ocl_build_threads(c) || max_N < 1 || Cin < 1 || Cout < 1 || H < 1 || W < 1 || p->variant < 0 ||
        p->variant >= CONV_VARIANT_COUNT)
        return;
    ocl_program_list *l = px_calloc(1, sizeof *l, "program list");
    conv3x3_programs(&c->target, p, max_N, Cin, Cout, H, W, dx, l); // what create() builds, as `pixloc kernels` lists
    ocl_program_prefetch_list(c, l);
    free(l);
}

// try_only: return NULL instead of exiting when the parameters are bad or do
// not fit the device.
static conv3x3 *create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p, int try_only,
                       int purpose) {
    if (max_N < 1 || Cin < 1 || Cout < 1 || H < 1 || W < 1)
        px_die(PX_EXIT_FAIL, "conv3x3: bad shape N=%d Cin=%d Cout=%d H=%d W=%d", max_N, Cin, Cout, H, W);
    int tiled = p->variant == CONV_VARIANT_GPU_TILED;
    if (p->variant < 0 || p->variant >= CONV_VARIANT_COUNT || p->tile_co < 1 || p->wg < 1 || p->dw_tk < 1 ||
        p->dw_tc < 1 || p->dw_seg < 16 || (tiled && (p->tile_q < 1 || p->wg_co < 1 || p->dw_wg < 1)) ||
        (p->variant == CONV_VARIANT_WINOGRAD &&
         (p->wino_tn < 0 || p->wino_tn > 4 || p->wino_nb < 0 || p->wino_nb_dw < 0 || p->wino_dw < 0 || p->wino_dw > 1 ||
          (p->wino_m != 0 && p->wino_m != 2 && p->wino_m != 4) ||
          (p->wino_m_dx != 0 && p->wino_m_dx != 2 && p->wino_m_dx != 4) ||
          (p->wino_m_dw != 0 && p->wino_m_dw != 2 && p->wino_m_dw != 4))) ||
        (p->bn_in && (!conv3x3_bn_in_ok(p) || !for_training(purpose))) ||
        (p->bn_stats && (!conv3x3_bn_stats_ok(&c->target, p) || !for_training(purpose)))) {
        if (try_only) return NULL;
        px_die(PX_EXIT_FAIL, "conv3x3: bad tuning parameters");
    }
    if (tiled && !tiled_fits(&c->target, p, Cin, Cout)) return NULL;
    // CPU-shaped Winograd tiles spill on a GPU (create_or_fallback substitutes them first).
    if (c->target.gpu && !conv3x3_gpu_safe(p)) return NULL;
    conv3x3 *k = px_calloc(1, sizeof *k, "conv3x3");
    k->c = c;
    k->max_N = max_N;
    k->Cin = Cin;
    k->Cout = Cout;
    k->H = H;
    k->W = W;
    k->prm = effective(&c->target, p);
    k->fwd_only = !for_training(purpose);
    k->bn_fused = purpose == CONV_FOR_INFERENCE_BN;
    k->w_stale = 1;
    k->lx = act_layout_make(max_N, Cin, H, W);
    k->ly = act_layout_make(max_N, Cout, H, W);
    // Kernels index with int: the largest activation buffer must fit.
    if (act_floats(&k->lx) > INT_MAX || act_floats(&k->ly) > INT_MAX)
        px_die(PX_EXIT_FAIL, "conv3x3: activations of %d x %d x %dx%d are too large", max_N, Cin, H, W);
    // This layer's programs, in parallel where helpers run (training layers only: the list
    // is the training programs').
    int late_dx = purpose == CONV_FOR_TRAINING_LATE_DX && late_dx_ok(p);
    if (!k->fwd_only) conv3x3_prefetch(c, max_N, Cin, Cout, H, W, p, !late_dx);

    segments(p, Cin, Cout, H, W, &k->nseg, &k->seg, &k->pstride);
    k->dir_f = dir_for(&k->prm, Cout, k->lx.plane);
    k->dir_b = dir_for(&k->prm, Cin, k->lx.plane);
    k->dwd = dw_for(&k->prm, Cin, Cout);
    // dx_prog: the layer has an input-gradient program, built here (need_b) or at its first use.
    int need_f = needs_prog_f(&k->prm, k->fwd_only), dx_prog = needs_prog_b(&k->prm, k->fwd_only);
    int need_b = dx_prog && !late_dx;
    k->late_dx = dx_prog && late_dx;
    k->prog_f = need_f ? build(k, Cin, Cout, try_only || tiled) : NULL;
    k->prog_b = need_b && k->prog_f ? build(k, Cout, Cin, try_only || tiled) : NULL;
    if ((need_f && !k->prog_f) || (need_b && !k->prog_b)) {
        ocl_program_release(c, &k->prog_f);
        free(k);
        return NULL;
    }
    // Winograd: CPU kernels for the weight gradient (unless wino_dw: conv_winograd.c's)
    int wino = k->prm.variant == CONV_VARIANT_WINOGRAD;
    int cpu = cpu_kernels(k);
    if (!wino) {
        k->pack_f = ocl_kernel(c, k->prog_f, "conv_pack_weights");
        k->conv_f = ocl_kernel(c, k->prog_f, conv_kernel_name(k));
    }
    if (need_b) dx_kernels(k);
    if (!k->fwd_only && !wino_dw(&k->prm)) {
        k->dw = ocl_kernel(c, k->prog_f, cpu ? "conv_dw_tile" : tiled ? "conv_dw_gpu_tiled" : "conv_dw_simple");
        k->db = cpu ? ocl_kernel(c, k->prog_f, "conv_db_tile") : NULL;
        k->reduce = ocl_kernel(c, k->prog_f, "conv_dw_reduce");
    }
    if (tiled && (!wg_fits(k, k->conv_f, (size_t)k->dir_f.wg * k->dir_f.wg_co) ||
                  (!k->fwd_only && (!wg_fits(k, k->conv_b, (size_t)k->dir_b.wg * k->dir_b.wg_co) ||
                                    !wg_fits(k, k->dw, (size_t)k->dwd.wgc * k->dwd.wgk))))) {
        conv3x3_free(k);
        return NULL;
    }

    nn_buffers bl = {0};
    own_buffers(p, max_N, Cin, Cout, H, W, k->fwd_only, &bl);
    int nb = 0; // own_buffers' list, in its order
    if (!wino) {
        k->wp_f = ocl_buffer(c, bl.b[nb].name, bl.b[nb].bytes);
        nb++;
    }
    if (dx_prog) {
        k->wp_b = ocl_buffer(c, bl.b[nb].name, bl.b[nb].bytes);
        nb++;
    }
    if (!k->fwd_only && !wino_dw(&k->prm)) {
        if (bl.b[nb].bytes > bl.b[nb].limit) px_die(PX_EXIT_FAIL, "conv3x3: weight-gradient partials too large");
        k->part = ocl_buffer(c, bl.b[nb].name, bl.b[nb].bytes);
    }
    if (k->prm.variant == CONV_VARIANT_WINOGRAD)
        k->wino = conv_wino_create_for(c, max_N, Cin, Cout, H, W, &k->prm, k->fwd_only, k->bn_fused);
    return k;
}

void conv3x3_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out) {
    own_buffers(p, max_N, Cin, Cout, H, W, 0, out);
    if (p->variant == CONV_VARIANT_WINOGRAD) conv_wino_buffers(p, max_N, Cin, Cout, H, W, out);
}

void conv3x3_forward_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out) {
    own_buffers(p, max_N, Cin, Cout, H, W, 1, out);
    if (p->variant == CONV_VARIANT_WINOGRAD) conv_wino_forward_buffers(p, max_N, Cin, Cout, H, W, out);
}

size_t conv3x3_bytes(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W) {
    nn_buffers bl = {0};
    conv3x3_buffers(p, max_N, Cin, Cout, H, W, &bl);
    return nn_buffers_total(&bl);
}

conv3x3 *conv3x3_create_try(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p) {
    return create(c, max_N, Cin, Cout, H, W, p, 1, CONV_FOR_TRAINING);
}

static conv3x3 *create_or_fallback(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p,
                                   int purpose) {
    if (c->target.gpu && !conv3x3_gpu_safe(p)) {
        px_warn("conv3x3 %d->%d at %dx%d: Winograd parameters shaped for a CPU (GEMM tile %d x %d, weight gradient "
                "%s) would spill registers on %s; this layer uses the GPU-shaped Winograd defaults",
                Cin, Cout, H, W, p->tile_co, p->wino_tn, p->wino_dw ? "tile too large" : "by the CPU kernels",
                c->device_name);
        conv3x3_params g = gpu_substitute(p);
        return create(c, max_N, Cin, Cout, H, W, &g, 0, purpose);
    }
    conv3x3 *k = create(c, max_N, Cin, Cout, H, W, p, 0, purpose);
    if (!k) { // only GPU tiled parameters that do not fit the device
        px_warn("conv3x3 %d->%d at %dx%d: GPU tiled parameters (work-group %dx%d, tile %dx%d) do not fit %s "
                "(work-groups of %zu, %llu bytes of local memory) or do not build there; this layer uses the "
                "slower 'gpu' variant",
                Cin, Cout, H, W, p->wg, p->wg_co, p->tile_q, p->tile_co, c->device_name, c->target.max_wg,
                c->target.local_mem);
        conv3x3_params g = DEFAULTS_GPU;
        k = create(c, max_N, Cin, Cout, H, W, &g, 0, purpose);
    }
    return k;
}

conv3x3 *conv3x3_create_with(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p) {
    return create_or_fallback(c, max_N, Cin, Cout, H, W, p, CONV_FOR_TRAINING);
}

conv3x3 *conv3x3_create_input_layer(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p) {
    return create_or_fallback(c, max_N, Cin, Cout, H, W, p, CONV_FOR_TRAINING_LATE_DX);
}

conv3x3 *conv3x3_create_forward(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p,
                                int bn_fused) {
    return create_or_fallback(c, max_N, Cin, Cout, H, W, p, bn_fused ? CONV_FOR_INFERENCE_BN : CONV_FOR_INFERENCE);
}

conv3x3 *conv3x3_create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W) {
    conv3x3_params p = conv3x3_default_params(c, Cin, Cout, H, W);
    return conv3x3_create_with(c, max_N, Cin, Cout, H, W, &p);
}

void conv3x3_free(conv3x3 *k) {
    if (!k) return;
    cl_kernel ks[] = {k->pack_f, k->conv_f, k->pack_b, k->conv_b, k->dw, k->db, k->reduce};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        if (ks[i]) clReleaseKernel(ks[i]);
    ocl_program_release(k->c, &k->prog_f); // this layer's programs, given back with it
    ocl_program_release(k->c, &k->prog_b);
    ocl_free(&k->wp_f);
    ocl_free(&k->wp_b);
    ocl_free(&k->part);
    conv_wino_free(k->wino);
    free(k);
}

static int as_int(size_t v, const char *what) {
    if (v > INT_MAX) px_die(PX_EXIT_FAIL, "conv3x3: %s offset %zu too large", what, v);
    return (int)v;
}

static void check_n(const conv3x3 *k, int N) {
    if (N < 1 || N > k->max_N) px_die(PX_EXIT_FAIL, "conv3x3: batch %d outside 1..%d", N, k->max_N);
}

static void check_backward(const conv3x3 *k) {
    if (k->fwd_only)
        px_die(PX_EXIT_FAIL, "conv3x3: a backward pass on a forward-only layer (conv3x3_create_forward): "
                             "create it with conv3x3_create_with for training");
}

// flip: the input gradient's packing (conv_pack_weights).
static void pack(conv3x3 *k, cl_kernel pk, cl_mem w, size_t w_off, cl_mem wp, int cout, int cin, conv_dir d, int flip) {
    int off = as_int(w_off, "weight"), coutp = (int)ocl_round_up((size_t)cout, (size_t)pad_for(&k->prm, d));
    KARG(pk, 0, w);
    KARG(pk, 1, off);
    KARG(pk, 2, wp);
    KARG(pk, 3, flip);
    size_t g[3] = {ocl_round_up((size_t)coutp, CONV_PACK_WG), (size_t)cin, 9}, l[3] = {CONV_PACK_WG, 1, 1};
    ocl_run(k->c, pk, 3, g, l);
}

// Runs the program's convolution from `in` (cin channels) to `out` (cout channels).
static void run_conv(conv3x3 *k, cl_kernel ck, int N, cl_mem in, cl_mem wp, cl_mem b, int b_off, int has_bias,
                     cl_mem out, int relu, int cout, conv_dir d) {
    KARG(ck, 0, in);
    KARG(ck, 1, wp);
    KARG(ck, 2, b);
    KARG(ck, 3, b_off);
    KARG(ck, 4, out);
    KARG(ck, 5, relu);
    KARG(ck, 6, has_bias);
    size_t wg = (size_t)d.wg, tile = (size_t)d.tile;
    size_t local[3] = {wg, 1, 1};
    if (k->prm.variant == CONV_VARIANT_GPU_TILED) {
        size_t bq = wg * k->prm.tile_q, wc = (size_t)d.wg_co, pad = wc * tile;
        size_t global[3] = {(k->lx.plane + bq - 1) / bq * wg, ocl_round_up((size_t)cout, pad) / pad * wc, (size_t)N};
        size_t lt[3] = {wg, wc, 1};
        ocl_run(k->c, ck, 3, global, lt);
    } else if (k->prm.variant == CONV_VARIANT_CPU) {
        size_t nchunk = ((size_t)k->H * (k->W + 2) + 15) / 16;
        size_t global[3] = {ocl_round_up(nchunk, wg), (size_t)(cout + tile - 1) / tile, (size_t)N};
        ocl_run(k->c, ck, 3, global, local);
    } else {
        size_t global[3] = {ocl_round_up(k->lx.plane, wg), (size_t)cout, (size_t)N};
        ocl_run(k->c, ck, 3, global, local);
    }
}

void conv3x3_weights_changed(conv3x3 *k) { k->w_stale = 1; }

void conv3x3_forward(conv3x3 *k, int N, cl_mem x, cl_mem w, size_t w_off, cl_mem b, size_t b_off, cl_mem y, int relu) {
    check_n(k, N);
    // A training layer's packed weights are rewritten by its input gradient (and its weights
    // change every step): it packs on every call.
    int packed = k->fwd_only && !k->w_stale && k->w_mem == w && k->w_at == w_off;
    k->w_stale = 0;
    k->w_mem = w;
    k->w_at = w_off;
    if (k->wino) {
        conv_wino_forward(k->wino, N, x, w, as_int(w_off, "weight"), b, as_int(b_off, "bias"), y, relu != 0, !packed);
        return;
    }
    if (!packed) pack(k, k->pack_f, w, w_off, k->wp_f, k->Cout, k->Cin, k->dir_f, 0);
    run_conv(k, k->conv_f, N, x, k->wp_f, b, as_int(b_off, "bias"), 1, y, relu != 0, k->Cout, k->dir_f);
}

void conv3x3_backward_input(conv3x3 *k, int N, cl_mem dy, cl_mem w, size_t w_off, cl_mem dx) {
    check_n(k, N);
    check_backward(k);
    if (k->wino) {
        conv_wino_backward_input(k->wino, N, dy, w, as_int(w_off, "weight"), dx);
        return;
    }
    if (k->late_dx && !k->prog_b) {
        k->prog_b = build(k, k->Cout, k->Cin, 0);
        dx_kernels(k);
    }
    pack(k, k->pack_b, w, w_off, k->wp_b, k->Cin, k->Cout, k->dir_b, 1);
    // No bias (has_bias 0): the bias argument is unused, any buffer will do.
    run_conv(k, k->conv_b, N, dy, k->wp_b, k->wp_b, 0, 0, dx, 0, k->Cin, k->dir_b);
}

void conv3x3_backward_weights(conv3x3 *k, int N, cl_mem x, cl_mem dy, cl_mem dw, size_t dw_off, cl_mem db,
                              size_t db_off) {
    check_n(k, N);
    check_backward(k);
    if (k->wino && wino_dw(&k->prm)) {
        conv_wino_backward_weights(k->wino, N, x, dy, dw, as_int(dw_off, "dw"), db, as_int(db_off, "db"));
        return;
    }
    size_t nparts = (size_t)N * k->nseg;
    if (k->prm.variant == CONV_VARIANT_GPU_TILED) {
        // One GEMM over rows 0..9*Cin (the last is the bias row), see cl/conv.cl.
        KARG(k->dw, 0, x);
        KARG(k->dw, 1, dy);
        KARG(k->dw, 2, k->part);
        size_t ec = (size_t)k->dwd.wgc, ek = (size_t)k->dwd.wgk, bc = ec * k->prm.dw_tc, bk = ek * k->prm.dw_tk;
        size_t g[3] = {((size_t)k->Cout + bc - 1) / bc * ec, (9 * (size_t)k->Cin + 1 + bk - 1) / bk * ek, nparts};
        size_t l[3] = {ec, ek, 1};
        ocl_run(k->c, k->dw, 3, g, l);
    } else if (k->prm.variant != CONV_VARIANT_GPU) {
        KARG(k->dw, 0, x);
        KARG(k->dw, 1, dy);
        KARG(k->dw, 2, k->part);
        size_t g[3] = {(size_t)(k->Cout + k->prm.dw_tc - 1) / k->prm.dw_tc,
                       (9 * (size_t)k->Cin + k->prm.dw_tk - 1) / k->prm.dw_tk, nparts};
        size_t l[3] = {1, 1, 1};
        ocl_run(k->c, k->dw, 3, g, l);
        KARG(k->db, 0, dy);
        KARG(k->db, 1, k->part);
        size_t gb[2] = {(size_t)k->Cout, nparts}, lb[2] = {1, 1};
        ocl_run(k->c, k->db, 2, gb, lb);
    } else {
        KARG(k->dw, 0, x);
        KARG(k->dw, 1, dy);
        KARG(k->dw, 2, k->part);
        size_t wg = (size_t)k->prm.wg;
        size_t g[2] = {ocl_round_up(k->pstride, wg), nparts}, l[2] = {wg, 1};
        ocl_run(k->c, k->dw, 2, g, l);
    }
    int np = (int)nparts, dwo = as_int(dw_off, "dw"), dbo = as_int(db_off, "db");
    KARG(k->reduce, 0, k->part);
    KARG(k->reduce, 1, np);
    KARG(k->reduce, 2, dw);
    KARG(k->reduce, 3, dwo);
    KARG(k->reduce, 4, db);
    KARG(k->reduce, 5, dbo);
    size_t wg = k->c->target.max_wg < 64 ? k->c->target.max_wg : 64;
    size_t g = ocl_round_up(k->pstride, wg);
    ocl_run(k->c, k->reduce, 1, &g, &wg);
}

const conv3x3_params *conv3x3_params_of(const conv3x3 *k) { return &k->prm; }

void conv3x3_set_output_bn(conv3x3 *k, cl_mem mask, cl_mem psum, cl_mem pm2, float inv_hw) {
    if (!k->prm.bn_stats) px_die(PX_EXIT_FAIL, "conv3x3: batch-norm sums for a layer made without bn_stats");
    conv_wino_set_output_bn(k->wino, mask, psum, pm2, inv_hw);
}

void conv3x3_set_input_bn(conv3x3 *k, cl_mem bn_state) {
    if (!k->prm.bn_in) px_die(PX_EXIT_FAIL, "conv3x3: an input batch norm for a layer made without bn_in");
    conv_wino_set_input_bn(k->wino, bn_state);
}
