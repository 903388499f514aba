// `pixloc tune`: for each 3x3 layer shape of a network, times the convolution
// variants and tile sizes (a small grid per device type) on the selected device,
// discards any whose output differs from the default parameters' output, and
// writes the fastest correct choice per shape to the device's tuning file, which
// conv3x3_default_params then reads in every later run on that device.
// The file is the tuning store (host/runtime/tuning.c); conv3x3's entries are
// parsed and formatted by host/nn/conv_tuning.c.
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "conv.h"
#include "layout.h"
#include "net.h"
#include "ocl.h"
#include "op_harness.h"
#include "pixloc.h"
#include "rng.h"
#include "tuning.h"

// --- options -------------------------------------------------------------------

typedef struct {
    int reps;
    double budget;
    int variants[CONV_VARIANT_COUNT], nvariants; // 0: the device type's list
    cli_net_shape net;                           // --batch-size, --channels, --size
} tune_opts;

static void usage(void) {
    printf("Usage: pixloc tune [--channels LIST] [--size HxW] [--batch-size N] [--budget SECONDS]\n"
           "                   [--reps N] [--variants LIST]\n\n"
           "For each distinct 3x3 layer shape (Cin, Cout, H, W) of the network, times on the selected device\n"
           "the forward, input-gradient and weight-gradient convolution of the default parameters and of a\n"
           "small grid of kernel variants and tile / work-group sizes, checks every candidate's outputs\n"
           "against the default's (within 1e-4 of the largest magnitude; incorrect ones are discarded),\n"
           "and keeps the fastest correct combination. The default is always measured; other candidates\n"
           "are tried while the layer's share of --budget lasts (program builds count). The default is\n"
           "the first variant's defaults (of --variants, or the device type's list below); a variant whose\n"
           "defaults do not fit the device (work-group or local memory over its limits) is skipped for\n"
           "that layer with a message, and the next one's defaults are the reference.\n\n"
           "The choices go to the device's tuning file, <cache dir>/tuning-<device hash>.txt (the cache\n"
           "directory of compiled kernels: PIXLOC_CACHE_DIR, else $XDG_CACHE_HOME/pixloc or\n"
           "~/.cache/pixloc), one line per layer shape; entries for other shapes already there are kept.\n"
           "Every later run on this device (same platform version, device name and driver) uses them for\n"
           "layers of exactly those shapes, at any batch size; PIXLOC_CONV_VARIANT still overrides.\n"
           "'pixloc devices' shows the device as tuned; delete the file to go back to the defaults.\n"
           "Prints a table of the choices with their speed-up over the defaults.\n\n"
           "  --channels LIST    output channels of the conv blocks [32,64,128,64,32]\n"
           "  --size HxW         image size [50x50]\n"
           "  --batch-size N     batch used for timing [64]\n"
           "  --budget SECONDS   time for the whole search, roughly [120]\n"
           "  --reps N           timed repetitions per candidate and operation; the median counts [3]\n"
           "  --variants LIST    variants to try, of cpu, gpu, winograd, gpu_tiled\n"
           "                     [CPUs: cpu,winograd; other devices: gpu_tiled,gpu]\n"
           "  --help             this text\n\n%s",
           OCL_OPTIONS_HELP);
}

static void parse(tune_opts *o, int argc, char **argv) {
    cli_net_shape_default(&o->net);
    o->reps = 3;
    o->budget = 120;
    o->nvariants = 0;
    enum { O_BATCH = 256, O_CHANNELS, O_SIZE, O_BUDGET, O_REPS, O_VARIANTS, O_HELP };
    static const struct option opts[] = {{"batch-size", required_argument, 0, O_BATCH},
                                         {"channels", required_argument, 0, O_CHANNELS},
                                         {"size", required_argument, 0, O_SIZE},
                                         {"budget", required_argument, 0, O_BUDGET},
                                         {"reps", required_argument, 0, O_REPS},
                                         {"variants", required_argument, 0, O_VARIANTS},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int ch, idx = 0;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        switch (ch) {
        case O_BATCH:
        case O_CHANNELS:
        case O_SIZE: // the shared network-shape flags
            cli_net_shape_flag(&o->net, opts[idx].name, optarg);
            break;
        case O_BUDGET: o->budget = cli_double("--budget", optarg, 1, 86400); break;
        case O_REPS: o->reps = (int)cli_int("--reps", optarg, 1, 1000); break;
        case O_VARIANTS: {
            char list[256];
            snprintf(list, sizeof list, "%s", optarg);
            o->nvariants = 0;
            for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int v = conv3x3_variant_parse(t);
                if (v < 0) px_die(PX_EXIT_USAGE, "--variants: unknown variant '%s' (cpu, gpu, winograd, gpu_tiled)", t);
                int dup = 0;
                for (int i = 0; i < o->nvariants; i++) dup |= o->variants[i] == v;
                if (!dup) o->variants[o->nvariants++] = v;
            }
            if (o->nvariants == 0) px_die(PX_EXIT_USAGE, "--variants: empty list");
            break;
        }
        case O_HELP: usage(); exit(PX_EXIT_OK);
        default: cli_usage_error("tune", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) cli_usage_error("tune", "unexpected argument '%s'", argv[optind]);
}

// --- candidates ----------------------------------------------------------------

enum { NOPS = OP_COUNT };
enum { M_FWD = 1, M_DW = 2 }; // which operations a candidate is timed on (M_FWD: forward and dx)

typedef struct {
    conv3x3_params p;
    int mask;
    double ms[NOPS]; // median; INFINITY if not timed
    int ok;          // built, correct and timed
} cand;

// The grid of one variant: its table row (timed on everything), then rows that
// change only forward / input-gradient fields or only weight-gradient fields.
static int grid(const ocl_target *t, int v, cand *out) {
    conv3x3_params d = conv3x3_target_variant_defaults(t, v), p;
    int n = 0;
    out[n++] = (cand){.p = d, .mask = M_FWD | M_DW};
#define ADD(mask_, ...)                                                                                                \
    do {                                                                                                               \
        p = d;                                                                                                         \
        __VA_ARGS__;                                                                                                   \
        out[n++] = (cand){.p = p, .mask = (mask_)};                                                                    \
    } while (0)
    switch (v) {
    case CONV_VARIANT_CPU: // see the measurements beside the table in host/conv.c
        ADD(M_FWD, p.tile_co = 8);
        ADD(M_FWD, p.wg = 1);
        ADD(M_FWD, p.wg = 16);
        ADD(M_DW, p.dw_tk = 4; p.dw_tc = 4);
        ADD(M_DW, p.dw_tk = 8; p.dw_tc = 2);
        ADD(M_DW, p.dw_tk = 4; p.dw_tc = 6);
        ADD(M_DW, p.dw_seg = 1024);
        break;
    case CONV_VARIANT_WINOGRAD:
        if (t->gpu) { // GPU-shaped only (conv3x3_gpu_safe): always its own weight gradient
            ADD(M_FWD, p.wg = 128);
            ADD(M_FWD, p.wg = 256);
            ADD(M_FWD, p.tile_co = 2);
            ADD(M_FWD, p.wino_nb = 32);
            ADD(M_DW, p.dw_tk = 2; p.dw_tc = 2); // (wino_nb comes with the forward fields: M_FWD above)
            break;
        }
        // its own weight gradient (wino_dw, the table row's) is tuned here; the CPU variant's
        // kernels (wino_dw = 0) are the CPU grid's candidates
        ADD(M_FWD, p.wino_tn = 2);
        ADD(M_FWD, p.wino_nb = 16);
        ADD(M_FWD, p.tile_co = 8);
        ADD(M_DW, p.dw_tk = 6; p.dw_tc = 4);
        ADD(M_DW, p.dw_tk = 2; p.dw_tc = 8);
        ADD(M_DW, p.wino_m_dw = 2);
        break;
    case CONV_VARIANT_GPU: // wg is shared by both kernels: whole candidates
        ADD(M_FWD | M_DW, p.wg = 128);
        ADD(M_FWD | M_DW, p.wg = 256);
        ADD(M_FWD | M_DW, p.wg = 32);
        ADD(M_FWD | M_DW, p.dw_seg = 2048);
        break;
    default: // GPU tiled
        ADD(M_FWD, p.wg_co = 8; p.tile_co = 8);
        ADD(M_FWD, p.wg = 32; p.wg_co = 8; p.tile_q = 2);
        ADD(M_FWD, p.tile_q = 2; p.tile_co = 2);
        ADD(M_FWD, p.wg = 64; p.wg_co = 4; p.tile_q = 1; p.tile_co = 8);
        ADD(M_FWD, p.wg = 8; p.wg_co = 8; p.tile_q = 8; p.tile_co = 8);
        ADD(M_DW, p.dw_tk = 2; p.dw_tc = 2);
        ADD(M_DW, p.dw_wg = 8);
        ADD(M_DW, p.dw_tk = 8);
        ADD(M_DW, p.dw_seg = 2048);
        ADD(M_DW, p.dw_seg = 128);
        break;
    }
#undef ADD
    return n;
}

// Which other variant's weight-gradient candidates a variant may take: Winograd the CPU ones
// (wino_dw = 0; its own, wino_dw = 1, are in its grid), except on a GPU, where it always has its own.
static int dw_family(const ocl_target *t, int v) {
    return v == CONV_VARIANT_WINOGRAD && !t->gpu ? CONV_VARIANT_CPU : v;
}

// --- timing one layer shape ------------------------------------------------------

typedef struct {
    ocl_ctx *c;
    int reps;
    op_buffers b; // x, dy, w (+bias), y, dx, dw (+db)
    float *ref[NOPS], *got;
    double deadline;
} layer;

// Largest |got - ref| over the largest |ref|; NaN where exactly one is NaN
// (unwritten outputs are NaN, margins stay NaN in both) counts as infinite.
static double rel_error(const float *ref, const float *got, size_t n) {
    double big = 0, err = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(ref[i]) && fabs(ref[i]) > big) big = fabs(ref[i]);
    for (size_t i = 0; i < n; i++) {
        if (isnan(ref[i]) || isnan(got[i])) {
            if (isnan(ref[i]) != isnan(got[i])) return INFINITY;
            continue;
        }
        double d = fabs((double)ref[i] - got[i]);
        if (d > err) err = d;
    }
    return big > 0 ? err / big : err;
}

// Runs op once into a NaN-filled output (the first run may compile) and checks or
// records it, then times it. Stops early when a repetition is 3x slower than `best`.
// Returns the median ms, or -1 if the output is wrong.
static double time_op(layer *L, conv3x3 *k, int op, int record, double best) {
    size_t nf = op_output_floats(&L->b, op);
    cl_mem out = op_output(&L->b, op);
    ocl_fill_float(L->c, out, NAN, nf);
    op_run(k, op, &L->b, 0);
    float *dst = record ? L->ref[op] : L->got;
    ocl_read(L->c, out, 0, dst, nf * sizeof(float));
    if (!record && !(rel_error(L->ref[op], dst, nf) <= 1e-4)) return -1;
    double t[64];
    int n = 0;
    while (n < L->reps && n < 64) {
        ocl_finish(L->c);
        double t0 = px_now();
        op_run(k, op, &L->b, 0);
        ocl_finish(L->c);
        t[n++] = 1e3 * (px_now() - t0);
        if (t[n - 1] > 3 * best) break;
    }
    qsort(t, (size_t)n, sizeof *t, op_cmp_double);
    return t[n / 2];
}

typedef struct {
    int tried, wrong, unfit, skipped;
} tally;

// Measures one candidate on the operations of its mask; record: it is the reference.
static void measure(layer *L, cand *cd, int record, const double best[NOPS], tally *ty) {
    for (int op = 0; op < NOPS; op++) cd->ms[op] = INFINITY;
    cd->ok = 0;
    conv3x3 *k = conv3x3_create_try(L->c, L->b.N, L->b.cin, L->b.cout, L->b.H, L->b.W, &cd->p);
    ty->tried++;
    if (!k) {
        ty->unfit++;
        return;
    }
    for (int op = 0; op < NOPS; op++) {
        if (!(cd->mask & (op == OP_DW ? M_DW : M_FWD))) continue;
        double ms = time_op(L, k, op, record, best[op]);
        if (ms < 0) {
            ty->wrong++;
            conv3x3_free(k);
            return;
        }
        cd->ms[op] = ms;
    }
    cd->ok = 1;
    conv3x3_free(k);
}

typedef struct {
    int shape[4];
    conv3x3_params def, chosen;
    double def_ms[NOPS], ms[NOPS];
} layer_result;

static double fwd_dx(const cand *c) { return c->ms[OP_FWD] + c->ms[OP_DX]; }

static void describe(char *out, size_t len, const conv3x3_params *p);

static void tune_layer(ocl_ctx *c, const tune_opts *o, int cin, int cout, double deadline, const int *variants,
                       int nvariants, layer_result *r, tally *ty) {
    layer L = {.c = c, .reps = o->reps, .deadline = deadline};
    rng_state g;
    rng_seed(&g, 7);
    op_buffers_make(&L.b, c, &g, o->net.batch, cin, cout, o->net.H, o->net.W, -1.0f, 1.0f, -1.0f, 1.0f, "tune");
    for (int op = 0; op < NOPS; op++)
        L.ref[op] = px_malloc(op_output_floats(&L.b, op) * sizeof(float), "tune reference");
    size_t most = 0;
    for (int op = 0; op < NOPS; op++)
        if (op_output_floats(&L.b, op) > most) most = op_output_floats(&L.b, op);
    L.got = px_malloc(most * sizeof(float), "tune output");

    // The reference: the first variant's defaults, untuned (the device type's default
    // variant unless --variants says otherwise). A variant whose defaults do not fit
    // this device (a work-group or local memory over its limits: gpu_tiled on a small
    // GPU) or do not build is skipped for this layer, with a message, and the next
    // variant's defaults are the reference.
    double inf[NOPS] = {INFINITY, INFINITY, INFINITY};
    cand def = {0};
    int vlist[CONV_VARIANT_COUNT], nv = 0;
    for (int i = 0; i < nvariants; i++) {
        if (nv == 0) {
            def = (cand){.p = conv3x3_target_variant_defaults(&c->target, variants[i]), .mask = M_FWD | M_DW};
            measure(&L, &def, 1, inf, ty);
            if (!def.ok) {
                char d[96];
                describe(d, sizeof d, &def.p);
                printf("%d->%d: the %s defaults (%s) do not fit or do not build on %s: skipping %s for this layer\n",
                       cin, cout, conv3x3_variant_name(variants[i]), d, c->device_name,
                       conv3x3_variant_name(variants[i]));
                fflush(stdout);
                continue;
            }
        }
        vlist[nv++] = variants[i];
    }
    if (nv == 0)
        px_die(PX_EXIT_FAIL, "tune: %d->%d: the defaults of no variant tried fit or build on %s (see above)", cin, cout,
               c->device_name);
    variants = vlist;
    nvariants = nv;
    double best[NOPS] = {def.ms[0], def.ms[1], def.ms[2]};

    cand cands[CONV_VARIANT_COUNT][16];
    int ncand[CONV_VARIANT_COUNT] = {0};
    for (int i = 0; i < nvariants; i++) ncand[variants[i]] = grid(&c->target, variants[i], cands[variants[i]]);
    // Round robin over the variants, so a short budget samples each.
    for (int j = 0; j < 16; j++)
        for (int i = 0; i < nvariants; i++) {
            int v = variants[i];
            if (j >= ncand[v]) continue;
            cand *cd = &cands[v][j];
            if (!memcmp(&cd->p, &def.p, sizeof def.p)) { // the reference itself
                memcpy(cd->ms, def.ms, sizeof def.ms);
                cd->ok = 1;
                continue;
            }
            if (px_now() > deadline) {
                cd->ok = 0;
                ty->skipped++;
                continue;
            }
            measure(&L, cd, 0, best, ty);
            for (int op = 0; op < NOPS; op++)
                if (cd->ok && cd->ms[op] < best[op]) best[op] = cd->ms[op];
        }

    // Per variant: its best forward+dx fields with its weight-gradient family's best
    // dw fields (the GPU variant's kernels share wg: whole candidates only).
    conv3x3_params choice = def.p;
    double choice_ms = def.ms[0] + def.ms[1] + def.ms[2];
    for (int i = 0; i < nvariants; i++) {
        int v = variants[i], fam = dw_family(&c->target, v);
        const cand *bf = NULL, *bd = NULL;
        for (int j = 0; j < ncand[v]; j++) {
            const cand *cd = &cands[v][j];
            if (cd->ok && (cd->mask & M_FWD) && (!bf || fwd_dx(cd) < fwd_dx(bf))) bf = cd;
        }
        if (v == CONV_VARIANT_GPU) {
            for (int j = 0; j < ncand[v]; j++) {
                const cand *cd = &cands[v][j];
                if (cd->ok && (!bd || fwd_dx(cd) + cd->ms[OP_DW] < fwd_dx(bd) + bd->ms[OP_DW])) bd = cd;
            }
            bf = bd;
        } else {
            int fam_ok = 0; // the family's candidates exist only if that variant was tried
            for (int k = 0; k < nvariants; k++) fam_ok |= variants[k] == fam;
            const cand *pool = fam_ok ? cands[fam] : NULL;
            for (int j = 0; pool && j < ncand[fam]; j++) {
                const cand *cd = &pool[j];
                if (cd->ok && (cd->mask & M_DW) && (!bd || cd->ms[OP_DW] < bd->ms[OP_DW])) bd = cd;
            }
            for (int j = 0; fam != v && j < ncand[v]; j++) { // a variant's own weight gradients
                const cand *cd = &cands[v][j];
                if (cd->ok && (cd->mask & M_DW) && (!bd || cd->ms[OP_DW] < bd->ms[OP_DW])) bd = cd;
            }
            if (!bd && dw_family(&c->target, def.p.variant) == fam) bd = &def;
        }
        if (!bf || !bd) continue;
        double t = fwd_dx(bf) + bd->ms[OP_DW];
        // 3% better than the best so far at least: timing noise should not pick.
        if (t < 0.97 * choice_ms) {
            choice_ms = t;
            choice = bf->p;
            choice.dw_tk = bd->p.dw_tk;
            choice.dw_tc = bd->p.dw_tc;
            choice.dw_seg = bd->p.dw_seg;
            choice.dw_wg = bd->p.dw_wg;
            choice.wino_dw = bd->p.variant == CONV_VARIANT_WINOGRAD ? bd->p.wino_dw : 0;
            choice.wino_m_dw = choice.wino_dw ? bd->p.wino_m_dw : 0;
            choice.wino_nb_dw = choice.wino_dw ? bd->p.wino_nb_dw : 0;
        }
    }

    // The combination is built and checked once more; its times are the ones reported.
    cand fin = {.p = choice, .mask = M_FWD | M_DW};
    if (memcmp(&choice, &def.p, sizeof choice) != 0) {
        measure(&L, &fin, 0, inf, ty);
        if (!fin.ok) { // cannot happen unless a kernel reads a define it should not
            px_warn("tune: %d->%d: the combined choice failed its check; keeping the defaults", cin, cout);
            fin = def;
        } else if (fin.ms[0] + fin.ms[1] + fin.ms[2] >= def.ms[0] + def.ms[1] + def.ms[2]) {
            fin = def; // slower on the second look: noise picked it
        }
    } else {
        fin = def;
    }
    r->shape[0] = cin;
    r->shape[1] = cout;
    r->shape[2] = o->net.H;
    r->shape[3] = o->net.W;
    r->def = def.p;
    r->chosen = fin.p;
    memcpy(r->def_ms, def.ms, sizeof def.ms);
    memcpy(r->ms, fin.ms, sizeof fin.ms);

    for (int op = 0; op < NOPS; op++) free(L.ref[op]);
    free(L.got);
    op_buffers_free(&L.b);
}

// --- the command ---------------------------------------------------------------------

static void describe(char *out, size_t len, const conv3x3_params *p) {
    switch (p->variant) {
    case CONV_VARIANT_CPU:
        snprintf(out, len, "cpu co%d wg%d dw%dx%d seg%d", p->tile_co, p->wg, p->dw_tk, p->dw_tc, p->dw_seg);
        break;
    case CONV_VARIANT_GPU: snprintf(out, len, "gpu wg%d seg%d", p->wg, p->dw_seg); break;
    case CONV_VARIANT_WINOGRAD:
        if (p->wino_dw)
            snprintf(out, len, "winograd F(%d)/F(%d)/F(%d) co%d tn%d nb%d/%d dw%dx%d (winograd)", conv_wino_m(p),
                     conv_wino_m_dx(p), conv_wino_m_dw(p), p->tile_co, p->wino_tn, p->wino_nb, p->wino_nb_dw, p->dw_tk,
                     p->dw_tc);
        else
            snprintf(out, len, "winograd F(%d)/F(%d) co%d tn%d nb%d dw%dx%d seg%d", conv_wino_m(p), conv_wino_m_dx(p),
                     p->tile_co, p->wino_tn, p->wino_nb, p->dw_tk, p->dw_tc, p->dw_seg);
        break;
    default:
        snprintf(out, len, "gpu_tiled %dx%d*%dx%d dw%d*%dx%d seg%d", p->wg, p->wg_co, p->tile_q, p->tile_co, p->dw_wg,
                 p->dw_tk, p->dw_tc, p->dw_seg);
    }
}

int cmd_tune(int argc, char **argv) {
    double t_start = px_now();
    ocl_options oo = {0};
    ocl_options_from_args(&oo, &argc, argv);
    tune_opts o;
    parse(&o, argc, argv);
    ocl_ctx c;
    ocl_init(&c, &oo);
    char path[1200];
    if (!tuning_path(c.cache_dir, c.platform_version, c.device_name, c.driver_version, path, sizeof path))
        px_die(PX_EXIT_USAGE, "tune: the tuning file lives in the cache directory, which is off "
                              "(--no-kernel-cache, PIXLOC_CACHE_DIR=off, or no HOME): set PIXLOC_CACHE_DIR to a "
                              "directory");
    if (o.nvariants == 0) {
        if (!c.target.gpu) { // the kernel profile's variants (PIXLOC_KERNEL_PROFILE=gpu tunes the GPU ones)
            o.variants[0] = CONV_VARIANT_CPU;
            o.variants[1] = CONV_VARIANT_WINOGRAD;
        } else {
            o.variants[0] = CONV_VARIANT_GPU_TILED;
            o.variants[1] = CONV_VARIANT_GPU;
        }
        o.nvariants = 2;
    }

    // Distinct layer shapes, in network order.
    int shapes[NET_MAX_BLOCKS][2], nshape = 0;
    for (int i = 0; i < o.net.cfg.nblocks; i++) {
        int cin = i == 0 ? 1 : o.net.cfg.channels[i - 1], cout = o.net.cfg.channels[i], dup = 0;
        for (int j = 0; j < nshape; j++) dup |= shapes[j][0] == cin && shapes[j][1] == cout;
        if (!dup) {
            shapes[nshape][0] = cin;
            shapes[nshape][1] = cout;
            nshape++;
        }
    }
    printf("pixloc tune on %s (%s, driver %s)\n", c.device_name, c.platform_name, c.driver_version);
    printf("images %dx%d, batch %d, channels %s, budget %.0f s, median of %d repetitions\n", o.net.H, o.net.W,
           o.net.batch, o.net.channels, o.budget, o.reps);
    fflush(stdout);

    layer_result res[NET_MAX_BLOCKS];
    tally ty = {0};
    double deadline = t_start + o.budget;
    for (int i = 0; i < nshape; i++) {
        double now = px_now(), share = (deadline - now) / (nshape - i);
        tune_layer(&c, &o, shapes[i][0], shapes[i][1], now + (share > 0 ? share : 0), o.variants, o.nvariants, &res[i],
                   &ty);
    }

    // Table.
    printf("\n%-11s | %-27s | %-44s | %7s %7s %7s | %s\n", "layer", "default fwd/dx/dw ms", "chosen", "fwd ms", "dx ms",
           "dw ms", "speed-up");
    double tdef = 0, tch = 0;
    for (int i = 0; i < nshape; i++) {
        const layer_result *r = &res[i];
        char name[32], dd[80];
        snprintf(name, sizeof name, "%d->%d", r->shape[0], r->shape[1]);
        describe(dd, sizeof dd, &r->chosen);
        double a = r->def_ms[0] + r->def_ms[1] + r->def_ms[2], b = r->ms[0] + r->ms[1] + r->ms[2];
        char dms[40];
        snprintf(dms, sizeof dms, "%.2f/%.2f/%.2f", r->def_ms[0], r->def_ms[1], r->def_ms[2]);
        printf("%-11s | %-27s | %-44s | %7.2f %7.2f %7.2f | %.2fx\n", name, dms, dd, r->ms[0], r->ms[1], r->ms[2],
               a / b);
        tdef += a;
        tch += b;
    }
    printf("%-11s | %-27.2f | %-44s | %23.2f | %.2fx\n", "all (ms)", tdef, "", tch, tdef / tch);
    printf("%d candidates built: %d incorrect (discarded), %d do not fit this device; %d skipped for the "
           "budget; %.0f s\n",
           ty.tried, ty.wrong, ty.unfit, ty.skipped, px_now() - t_start);

    // The file: the new entries, then the old file's valid entries for other shapes.
    const tuning_store *old = ocl_tuning(&c);
    tuning_store out = {0};
    snprintf(out.path, sizeof out.path, "%s", path);
    for (int i = 0; i < nshape; i++) {
        char params[TUNING_LINE_MAX];
        conv3x3_tuning_format(params, sizeof params, &res[i].chosen, res[i].ms);
        tuning_store_put(&out, CONV3X3_TUNING_KIND, res[i].shape, params);
    }
    int kept = 0;
    for (int i = 0; i < old->n; i++) {
        tuning_entry *e = &old->e[i];
        if (tuning_store_find(&out, e->kind, e->shape)) continue;
        conv3x3_params p;
        char err[300];
        if (!strcmp(e->kind, CONV3X3_TUNING_KIND) && conv3x3_tuning_parse(e->params, &p, err, sizeof err) != 0) {
            px_warn("dropping line %d of the tuning file %s (%s)", e->line, path, err);
            continue;
        }
        tuning_store_put(&out, e->kind, e->shape, e->params);
        kept++;
    }
    if (kept) printf("kept %d entries for other shapes\n", kept);
    if (tuning_store_save(&out) != 0) px_die(PX_EXIT_FAIL, "tune: cannot write %s: %s", path, strerror(errno));
    tuning_store_free(&out);
    printf("wrote %s\n", path);
    ocl_release(&c);
    return PX_EXIT_OK;
}
