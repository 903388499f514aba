// `pixloc bench`: throughput of a training step and of inference for a network
// shape, and the time and GFLOP/s of each 3x3 convolution (forward, input
// gradient, weight gradient) on the selected device. Every figure is the median
// of --reps timed repetitions after --warmup untimed ones (the first enqueue of a
// kernel may compile it). Times are wall clock around the launches, closed by
// ocl_finish, so they include launch overhead as training sees it.
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
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
#include "trainer.h"

#define BENCH_MAX_INFER 8

typedef struct {
    int reps, warmup, json, profile, layers;
    int ninfer, infer[BENCH_MAX_INFER];
    cli_net_shape net; // --batch-size, --channels, --size
} bench_opts;

typedef struct {
    int cin, cout;
    double gflop;                     // 2*9*Cin*Cout*H*W*N, per call
    double fwd_ms, bwi_ms, bww_ms;    // medians
    double fwd_min, bwi_min, bww_min; // fastest repetition
} conv_result;

typedef struct {
    double startup_s;
    double train_ms, train_min_ms;
    double infer_ms[BENCH_MAX_INFER], infer_min_ms[BENCH_MAX_INFER];
    int nconv;
    conv_result conv[NET_MAX_BLOCKS];
} bench_result;

static void usage(void) {
    printf("Usage: pixloc bench [--batch-size N] [--channels LIST] [--size HxW] [--reps N] [--warmup N]\n"
           "                    [--infer-batches LIST] [--no-layers] [--json] [--profile]\n\n"
           "Times, on the selected device, after --warmup untimed repetitions, the median of --reps\n"
           "repetitions of:\n"
           "  - a training step at --batch-size: gather a batch from device-resident data, forward\n"
           "    (training mode), MSE loss, backward, Adam update -> samples/s;\n"
           "  - inference at each of --infer-batches: upload images, forward of the inference network\n"
           "    predict and eval use (batch norm folded into the convolutions), read the heatmaps\n"
           "    back -> images/s (its programs are built after start-up, untimed);\n"
           "  - each 3x3 layer's forward, input-gradient and weight-gradient convolution at\n"
           "    --batch-size -> ms and GFLOP/s, counting 2*9*Cin*Cout*H*W*N floating-point operations.\n"
           "Times are wall clock around the launches, closed by a queue finish. Also reports start-up\n"
           "time (startup_s): from entering the command until the device is initialised and every\n"
           "kernel is built (from the compiled-kernel cache when warm), before the large buffers.\n"
           "Inputs are random; weights use the Keras initialisation.\n\n"
           "  --batch-size N        training and per-layer batch [64]\n"
           "  --channels LIST       output channels of the conv blocks [32,64,128,64,32]\n"
           "  --size HxW            image size [50x50]\n"
           "  --reps N              timed repetitions; the median is reported [5]\n"
           "  --warmup N            untimed repetitions before timing [2]\n"
           "  --infer-batches LIST  inference batches [N,4N with N = --batch-size: 64,256]; at batch 1 the\n"
           "                        time per image is the latency of one image\n"
           "  --no-layers           skip the per-layer convolution timings (the JSON's \"conv\" is empty)\n"
           "  --json                print JSON (device, driver, settings and every figure) instead of tables\n"
           "  --profile             also time each op of one more training step (a queue finish after\n"
           "                        every op) and print that breakdown to stderr\n"
           "  --help                this text\n\n%s",
           OCL_OPTIONS_HELP);
}

static void parse(bench_opts *o, int argc, char **argv) {
    cli_net_shape_default(&o->net);
    o->reps = 5;
    o->warmup = 2;
    o->json = 0;
    o->profile = 0;
    o->layers = 1;
    o->ninfer = 0;
    enum { O_BATCH = 256, O_CHANNELS, O_SIZE, O_REPS, O_WARMUP, O_INFER, O_NO_LAYERS, O_JSON, O_PROFILE, O_HELP };
    static const struct option opts[] = {{"batch-size", required_argument, 0, O_BATCH},
                                         {"channels", required_argument, 0, O_CHANNELS},
                                         {"size", required_argument, 0, O_SIZE},
                                         {"reps", required_argument, 0, O_REPS},
                                         {"warmup", required_argument, 0, O_WARMUP},
                                         {"infer-batches", required_argument, 0, O_INFER},
                                         {"no-layers", no_argument, 0, O_NO_LAYERS},
                                         {"json", no_argument, 0, O_JSON},
                                         {"profile", no_argument, 0, O_PROFILE},
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
        case O_REPS: o->reps = (int)cli_int("--reps", optarg, 1, 1000); break;
        case O_WARMUP: o->warmup = (int)cli_int("--warmup", optarg, 0, 1000); break;
        case O_INFER: o->ninfer = cli_int_list("--infer-batches", optarg, o->infer, BENCH_MAX_INFER, 1, 65536); break;
        case O_NO_LAYERS: o->layers = 0; break;
        case O_JSON: o->json = 1; break;
        case O_PROFILE: o->profile = 1; break;
        case O_HELP: usage(); exit(PX_EXIT_OK);
        default: cli_usage_error("bench", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    if (o->ninfer == 0) {
        o->infer[0] = o->net.batch;
        o->infer[1] = o->net.batch * 4;
        o->ninfer = 2;
    }
}

// Median of t[0..n) (sorts t); the smallest value goes to *min.
static double median(double *t, int n, double *min) {
    qsort(t, (size_t)n, sizeof *t, op_cmp_double);
    *min = t[0];
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static void fill_uniform(rng_state *g, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)rng_double(g);
}

// --- whole-network steps ---------------------------------------------------

// The trainer's step (gather, forward in training mode, loss, backward, Adam) at lr 1e-3, as
// the trainer queues it: rows from a device buffer, the loss read without blocking.
static void bench_step(ocl_ctx *c, net *nt, int B, cl_mem img, cl_mem hm, cl_mem rows, size_t first) {
    float out[2];
    cl_event done;
    train_step_enqueue(nt, B, img, hm, rows, first, 1e-3f, out, &done);
    ocl_wait(c, &done);
}

static void bench_network(ocl_ctx *c, const bench_opts *o, double t_entry, bench_result *r) {
    int maxb = o->net.batch;
    for (int i = 0; i < o->ninfer; i++)
        if (o->infer[i] > maxb) maxb = o->infer[i];
    // Start-up: device init + every program (a batch-1 net builds them all; from the
    // compiled-kernel cache when warm). Allocating and zeroing the benchmark's large
    // buffers comes after and is not part of it.
    net_free(net_create(c, &o->net.cfg, o->net.H, o->net.W, 1));
    r->startup_s = px_now() - t_entry;
    net *nt = net_create(c, &o->net.cfg, o->net.H, o->net.W, maxb);

    rng_state g;
    rng_seed(&g, 42);
    net_init(nt, &g);
    size_t hw = (size_t)o->net.H * o->net.W, npool = (size_t)maxb;
    float *host = px_malloc(npool * hw * sizeof(float), "bench images");
    float *heat = px_malloc(npool * hw * sizeof(float), "bench heatmaps");
    fill_uniform(&g, host, npool * hw, 0.0f, 1.0f);
    fill_uniform(&g, heat, npool * hw, 0.0f, 1.0f);
    cl_mem img = ocl_buffer(c, "bench images", npool * hw * sizeof(float));
    cl_mem hm = ocl_buffer(c, "bench heatmaps", npool * hw * sizeof(float));
    ocl_write(c, img, 0, host, npool * hw * sizeof(float));
    ocl_write(c, hm, 0, heat, npool * hw * sizeof(float));
    // Every rep's batch rows, drawn up front and uploaded once (as the trainer uploads an epoch's order).
    size_t nsteps = (size_t)o->warmup + (size_t)o->reps, B = (size_t)o->net.batch;
    int64_t *idx = px_malloc(nsteps * B * sizeof(int64_t), "bench batch indices");
    for (size_t i = 0; i < nsteps * B; i++) idx[i] = rng_randint(&g, 0, (int64_t)npool);
    cl_mem rows = ocl_buffer(c, "bench batch rows", nsteps * B * sizeof(int64_t));
    ocl_write(c, rows, 0, idx, nsteps * B * sizeof(int64_t));
    double *t = px_malloc((size_t)o->reps * sizeof(double), "bench times");

    for (int rep = -o->warmup; rep < o->reps; rep++) {
        size_t first = (size_t)(rep + o->warmup) * B;
        ocl_finish(c);
        double t0 = px_now();
        bench_step(c, nt, o->net.batch, img, hm, rows, first);
        ocl_finish(c);
        if (rep >= 0) t[rep] = 1e3 * (px_now() - t0);
    }
    r->train_ms = median(t, o->reps, &r->train_min_ms);
    if (o->profile) {
        net_profile(nt, 1);
        bench_step(c, nt, o->net.batch, img, hm, rows, 0);
        net_profile(nt, 0);
        fprintf(stderr, "training step at batch %d, per op (a queue finish after each):\n", o->net.batch);
        net_profile_report(nt, stderr);
    }

    // Inference as predict and eval run it: an inference network (NET_KIND_INFERENCE: two
    // ping-pong activation buffers, batch norm folded into the convolutions) with the
    // training net's parameters; its programs are built here, outside the timed part.
    int maxi = 1;
    for (int k = 0; k < o->ninfer; k++)
        if (o->infer[k] > maxi) maxi = o->infer[k];
    net *inf = net_create_kind(c, &o->net.cfg, o->net.H, o->net.W, maxi, NET_KIND_INFERENCE);
    for (int i = 0; i < net_tensor_count(nt); i++) {
        const net_tensor *tt = net_tensor_at(nt, i);
        float *v = px_malloc(tt->count * sizeof(float), "bench tensor");
        net_get_tensor(nt, i, v);
        net_set_tensor(inf, i, v);
        free(v);
    }
    for (int k = 0; k < o->ninfer; k++) {
        int B = o->infer[k];
        for (int rep = -o->warmup; rep < o->reps; rep++) {
            ocl_finish(c);
            double t0 = px_now();
            net_set_batch(inf, B, host, NULL);
            net_forward(inf, B, BN_INFERENCE);
            net_read_heatmaps(inf, B, heat);
            if (rep >= 0) t[rep] = 1e3 * (px_now() - t0);
        }
        r->infer_ms[k] = median(t, o->reps, &r->infer_min_ms[k]);
    }
    net_free(inf);
    free(t);
    free(idx);
    free(heat);
    free(host);
    ocl_free(&rows);
    ocl_free(&img);
    ocl_free(&hm);
    net_free(nt);
}

// --- single convolutions -----------------------------------------------------

static void bench_conv(ocl_ctx *c, const bench_opts *o, int cin, int cout, conv_result *r) {
    int N = o->net.batch, H = o->net.H, W = o->net.W;
    rng_state g;
    rng_seed(&g, 7);
    r->cin = cin;
    r->cout = cout;
    r->gflop = 2.0 * 9 * cin * cout * (double)H * W * N * 1e-9;
    conv3x3 *k = conv3x3_create(c, N, cin, cout, H, W);
    op_buffers b; // weights uniform in [-0.1, 0.1), activations in [-0.5, 0.5)
    op_buffers_make(&b, c, &g, N, cin, cout, H, W, -0.1f, 0.1f, -0.5f, 0.5f, "bench");
    double *t = px_malloc((size_t)o->reps * sizeof(double), "bench times");
    double *ms[3] = {&r->fwd_ms, &r->bwi_ms, &r->bww_ms}, *mn[3] = {&r->fwd_min, &r->bwi_min, &r->bww_min};
    for (int op = OP_FWD; op <= OP_DW; op++) {
        for (int rep = -o->warmup; rep < o->reps; rep++) {
            ocl_finish(c);
            double t0 = px_now();
            op_run(k, op, &b, 1);
            ocl_finish(c);
            if (rep >= 0) t[rep] = 1e3 * (px_now() - t0);
        }
        *ms[op] = median(t, o->reps, mn[op]);
    }
    free(t);
    op_buffers_free(&b);
    conv3x3_free(k);
}

// --- reporting ---------------------------------------------------------------

static double gflops(double gflop, double ms) { return gflop / (ms * 1e-3); }

// 3x3-convolution GFLOP of one training step: every forward and weight gradient,
// and the input gradients of all layers but the first (training skips that one).
static double train_gflop(const bench_result *r) {
    double s = 0;
    for (int i = 0; i < r->nconv; i++) s += (i > 0 ? 3.0 : 2.0) * r->conv[i].gflop;
    return s;
}

static cJSON *timing(double ms, double min_ms, double gflop) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "ms", ms);
    cJSON_AddNumberToObject(j, "ms_min", min_ms);
    cJSON_AddNumberToObject(j, "gflops", gflops(gflop, ms));
    return j;
}

static void print_json(const ocl_ctx *c, const bench_opts *o, const bench_result *r) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "device", c->device_name);
    cJSON_AddStringToObject(j, "device_vendor", c->device_vendor);
    cJSON_AddStringToObject(j, "device_version", c->device_version);
    cJSON_AddStringToObject(j, "driver", c->driver_version);
    cJSON_AddStringToObject(j, "platform", c->platform_name);
    cJSON_AddStringToObject(j, "platform_version", c->platform_version);
    cJSON_AddStringToObject(j, "pixloc_version", PIXLOC_VERSION);
    cJSON_AddNumberToObject(j, "batch_size", o->net.batch);
    cJSON_AddNumberToObject(j, "height", o->net.H);
    cJSON_AddNumberToObject(j, "width", o->net.W);
    cJSON *chs = cJSON_AddArrayToObject(j, "channels");
    for (int i = 0; i < o->net.cfg.nblocks; i++) cJSON_AddItemToArray(chs, cJSON_CreateNumber(o->net.cfg.channels[i]));
    cJSON_AddNumberToObject(j, "reps", o->reps);
    cJSON_AddNumberToObject(j, "warmup", o->warmup);
    cJSON_AddNumberToObject(j, "startup_s", r->startup_s);

    cJSON *tr = cJSON_AddObjectToObject(j, "train");
    cJSON_AddNumberToObject(tr, "batch", o->net.batch);
    cJSON_AddNumberToObject(tr, "ms", r->train_ms);
    cJSON_AddNumberToObject(tr, "ms_min", r->train_min_ms);
    cJSON_AddNumberToObject(tr, "samples_per_s", o->net.batch / (r->train_ms * 1e-3));
    cJSON_AddNumberToObject(tr, "conv_gflop", train_gflop(r));
    cJSON_AddNumberToObject(tr, "conv_gflops", gflops(train_gflop(r), r->train_ms));

    double fwd_gflop = 0;
    for (int i = 0; i < r->nconv; i++) fwd_gflop += r->conv[i].gflop / o->net.batch;
    cJSON *inf = cJSON_AddArrayToObject(j, "inference");
    for (int k = 0; k < o->ninfer; k++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "batch", o->infer[k]);
        cJSON_AddNumberToObject(e, "ms", r->infer_ms[k]);
        cJSON_AddNumberToObject(e, "ms_min", r->infer_min_ms[k]);
        cJSON_AddNumberToObject(e, "images_per_s", o->infer[k] / (r->infer_ms[k] * 1e-3));
        cJSON_AddNumberToObject(e, "ms_per_image", r->infer_ms[k] / o->infer[k]);
        cJSON_AddNumberToObject(e, "conv_gflops", gflops(fwd_gflop * o->infer[k], r->infer_ms[k]));
        cJSON_AddItemToArray(inf, e);
    }

    cJSON *cv = cJSON_AddArrayToObject(j, "conv");
    for (int i = 0; i < (o->layers ? r->nconv : 0); i++) {
        const conv_result *q = &r->conv[i];
        cJSON *e = cJSON_CreateObject();
        char name[16];
        snprintf(name, sizeof name, "conv%d", i);
        cJSON_AddStringToObject(e, "layer", name);
        cJSON_AddNumberToObject(e, "cin", q->cin);
        cJSON_AddNumberToObject(e, "cout", q->cout);
        cJSON_AddNumberToObject(e, "batch", o->net.batch);
        cJSON_AddNumberToObject(e, "gflop", q->gflop);
        cJSON_AddItemToObject(e, "forward", timing(q->fwd_ms, q->fwd_min, q->gflop));
        cJSON_AddItemToObject(e, "backward_input", timing(q->bwi_ms, q->bwi_min, q->gflop));
        cJSON_AddItemToObject(e, "backward_weights", timing(q->bww_ms, q->bww_min, q->gflop));
        cJSON_AddItemToArray(cv, e);
    }
    char *s = cJSON_Print(j);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

static void print_table(const ocl_ctx *c, const bench_opts *o, const bench_result *r) {
    printf("pixloc bench on %s (%s, driver %s)\n", c->device_name, c->platform_name, c->driver_version);
    printf("images %dx%d, channels %s, median of %d repetitions after %d warm-up\n", o->net.H, o->net.W,
           o->net.channels, o->reps, o->warmup);
    printf("start-up (device init + building all kernels): %.3f s\n\n", r->startup_s);
    printf("%-16s %6s %11s %11s %14s\n", "step", "batch", "ms", "best ms", "per second");
    printf("%-16s %6d %11.2f %11.2f %9.1f samples  (3x3 convs: %.1f GFLOP/s)\n", "training", o->net.batch, r->train_ms,
           r->train_min_ms, o->net.batch / (r->train_ms * 1e-3), gflops(train_gflop(r), r->train_ms));
    for (int k = 0; k < o->ninfer; k++)
        printf("%-16s %6d %11.2f %11.2f %9.1f images\n", "inference", o->infer[k], r->infer_ms[k], r->infer_min_ms[k],
               o->infer[k] / (r->infer_ms[k] * 1e-3));
    if (!o->layers) return;
    printf("\n3x3 convolutions at batch %d (GFLOP = 2*9*Cin*Cout*H*W*N per call; ms and GFLOP/s)\n", o->net.batch);
    printf("%-6s %5s %5s %7s | %9s %8s | %9s %8s | %9s %8s\n", "layer", "Cin", "Cout", "GFLOP", "fwd ms", "GFLOP/s",
           "dx ms", "GFLOP/s", "dw ms", "GFLOP/s");
    double tf = 0, ti = 0, tw = 0, tg = 0;
    for (int i = 0; i < r->nconv; i++) {
        const conv_result *q = &r->conv[i];
        char name[16];
        snprintf(name, sizeof name, "conv%d", i);
        printf("%-6s %5d %5d %7.2f | %9.2f %8.1f | %9.2f %8.1f | %9.2f %8.1f\n", name, q->cin, q->cout, q->gflop,
               q->fwd_ms, gflops(q->gflop, q->fwd_ms), q->bwi_ms, gflops(q->gflop, q->bwi_ms), q->bww_ms,
               gflops(q->gflop, q->bww_ms));
        tf += q->fwd_ms;
        ti += q->bwi_ms;
        tw += q->bww_ms;
        tg += q->gflop;
    }
    printf("%-6s %5s %5s %7.2f | %9.2f %8.1f | %9.2f %8.1f | %9.2f %8.1f\n", "total", "", "", tg, tf, gflops(tg, tf),
           ti, gflops(tg, ti), tw, gflops(tg, tw));
}

int cmd_bench(int argc, char **argv) {
    double t_entry = px_now();
    ocl_options oo = {0};
    ocl_options_from_args(&oo, &argc, argv);
    bench_opts o;
    parse(&o, argc, argv);

    ocl_ctx c;
    oo.quiet = o.json;
    ocl_init(&c, &oo);
    bench_result r;
    memset(&r, 0, sizeof r);
    bench_network(&c, &o, t_entry, &r);
    r.nconv = o.net.cfg.nblocks;
    for (int i = 0; i < r.nconv; i++) {
        conv_result *q = &r.conv[i];
        q->cin = i == 0 ? 1 : o.net.cfg.channels[i - 1];
        q->cout = o.net.cfg.channels[i];
        q->gflop = 2.0 * 9 * q->cin * q->cout * (double)o.net.H * o.net.W * o.net.batch * 1e-9;
        if (o.layers) bench_conv(&c, &o, q->cin, q->cout, q);
    }

    if (o.json)
        print_json(&c, &o, &r);
    else
        print_table(&c, &o, &r);
    ocl_release(&c);
    return PX_EXIT_OK;
}
