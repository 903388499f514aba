// Times the 3x3 convolution kernels on the seed network's layers (batch 64,
// 50x50): forward, input gradient and weight gradient per layer, median of 5
// runs after a warm-up, with GFLOP/s counting 2*9*Cin*Cout*H*W*N.
//
// Build by hand against a build directory's library (not a CTest test):
//   gcc -O2 -std=gnu11 -Wall -Wextra -I include -DCL_TARGET_OPENCL_VERSION=120 bench/bench_conv.c
//       build-conv/libpixloc_core.a -lOpenCL -lpng -lcjson -lplplot -lm -lpthread -o build-conv/bench_conv
// Usage: bench_conv [N] [tile_co wg dw_tk dw_tc dw_seg]   (defaults: 64, the device's table)
// PIXLOC_CONV_VARIANT=cpu|gpu|winograd picks the variant.
// PIXLOC_BENCH_VARIANTS="spec,spec,..." compares several configurations in one run:
// each rep times every spec in turn (alternating, so machine load hits all alike);
// a spec is NAME[:tile_co[:wino_tn[:wino_nb]]] with NAME cpu, gpu or winograd,
// e.g. PIXLOC_BENCH_VARIANTS=cpu,winograd,winograd:8:2:4. PIXLOC_BENCH_REPS sets the reps.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "conv.h"
#include "layout.h"
#include "ocl.h"
#include "pixloc.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { MAX_REPS = 64, MAX_SPECS = 8 };

typedef struct {
    char label[48];
    int variant, tile_co, wino_tn, wino_nb; // 0: the table's value
} spec;

static int parse_specs(const char *s, spec *out) {
    int n = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < MAX_SPECS; t = strtok_r(NULL, ",", &save)) {
        spec *p = &out[n];
        memset(p, 0, sizeof *p);
        snprintf(p->label, sizeof p->label, "%s", t);
        char name[32] = "";
        sscanf(t, "%31[^:]:%d:%d:%d", name, &p->tile_co, &p->wino_tn, &p->wino_nb);
        if (!strcmp(name, "cpu")) p->variant = CONV_VARIANT_CPU;
        else if (!strcmp(name, "gpu")) p->variant = CONV_VARIANT_GPU;
        else if (!strcmp(name, "winograd")) p->variant = CONV_VARIANT_WINOGRAD;
        else px_die(PX_EXIT_USAGE, "PIXLOC_BENCH_VARIANTS: unknown variant '%s'", name);
        n++;
    }
    return n;
}

// CPU seconds of this process (all threads, PoCL's workers included): on a shared,
// loaded machine, flop per CPU-second shows a kernel's efficiency when wall time cannot.
static double cpu_now(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec + 1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

int main(int argc, char **argv) {
    int N = argc > 1 ? atoi(argv[1]) : 64;
    const int H = 50, W = 50;
    const int layers[][2] = {{1, 32}, {32, 64}, {64, 128}, {128, 64}, {64, 32}};
    ocl_options o = {0};
    ocl_ctx c;
    ocl_init(&c, &o);

    int REPS = getenv("PIXLOC_BENCH_REPS") ? atoi(getenv("PIXLOC_BENCH_REPS")) : 5;
    if (REPS < 1 || REPS > MAX_REPS) REPS = 5;
    spec specs[MAX_SPECS];
    int nspec = 0;
    const char *sv = getenv("PIXLOC_BENCH_VARIANTS");
    if (sv && *sv) nspec = parse_specs(sv, specs);
    int table_only = nspec == 0;
    if (table_only) {
        nspec = 1;
        memset(&specs[0], 0, sizeof specs[0]);
        snprintf(specs[0].label, sizeof specs[0].label, "default");
    }

    printf("device: %s; batch %d, %dx%d; median of %d after a warm-up\n", c.device_name, N, H, W, REPS);
    printf("GFLOP/s is per wall second; 'c' is per CPU second of the process (per core busy)\n");
    printf("%-10s %-18s %9s %8s %6s %9s %8s %6s %9s %8s %6s\n", "layer", "config", "fwd ms", "GFLOP/s", "c", "dx ms",
           "GFLOP/s", "c", "dw ms", "GFLOP/s", "c");
    double tot[MAX_SPECS][3] = {{0}}, ctot[MAX_SPECS][3] = {{0}}, tot_flop = 0;
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        int Cin = layers[li][0], Cout = layers[li][1];
        // PIXLOC_BENCH_LAYERS="2,3": only those layers (0-based) of the list above.
        const char *sel = getenv("PIXLOC_BENCH_LAYERS");
        if (sel && *sel) {
            char want[8];
            snprintf(want, sizeof want, "%zu", li);
            int found = 0;
            for (const char *q = sel; *q;) {
                size_t n = strcspn(q, ",");
                if (n == strlen(want) && !strncmp(q, want, n)) found = 1;
                q += n + (q[n] == ',');
            }
            if (!found) continue;
        }
        conv3x3 *k[MAX_SPECS];
        for (int si = 0; si < nspec; si++) {
            conv3x3_params p = conv3x3_default_params(&c, Cin, Cout, H, W);
            if (!table_only) {
                const char *names[] = {"cpu", "gpu", "winograd"};
                setenv("PIXLOC_CONV_VARIANT", names[specs[si].variant], 1);
                p = conv3x3_default_params(&c, Cin, Cout, H, W);
                unsetenv("PIXLOC_CONV_VARIANT");
                if (specs[si].tile_co) p.tile_co = specs[si].tile_co;
                if (specs[si].wino_tn) p.wino_tn = specs[si].wino_tn;
                if (specs[si].wino_nb) p.wino_nb = specs[si].wino_nb;
            }
            if (argc > 6) {
                p.tile_co = atoi(argv[2]); p.wg = atoi(argv[3]); p.dw_tk = atoi(argv[4]);
                p.dw_tc = atoi(argv[5]); p.dw_seg = atoi(argv[6]);
            }
            k[si] = conv3x3_create_with(&c, N, Cin, Cout, H, W, &p);
        }
        act_layout lx = act_layout_make(N, Cin, H, W), ly = act_layout_make(N, Cout, H, W);
        size_t nw = 9 * (size_t)Cin * Cout;
        cl_mem x = ocl_buffer(&c, "x", act_floats(&lx) * 4), y = ocl_buffer(&c, "y", act_floats(&ly) * 4);
        cl_mem dx = ocl_buffer(&c, "dx", act_floats(&lx) * 4), dy = ocl_buffer(&c, "dy", act_floats(&ly) * 4);
        cl_mem prm = ocl_buffer(&c, "params", (nw + Cout) * 4), g = ocl_buffer(&c, "grads", (nw + Cout) * 4);
        // Data values do not change the timing; fill with something finite and nonzero.
        ocl_fill_float(&c, prm, 0.01f, nw + Cout);
        conv3x3_forward(k[0], N, x, prm, 0, prm, nw, y, 1); // y: a valid activation, used as x below
        ocl_fill_float(&c, x, 0.5f, act_floats(&lx));
        conv3x3_forward(k[0], N, x, prm, 0, prm, nw, dy, 0);

        static double t[MAX_SPECS][3][MAX_REPS], ct[MAX_SPECS][3][MAX_REPS];
        for (int r = -1; r < REPS; r++) {
            for (int si = 0; si < nspec; si++) {
                for (int op = 0; op < 3; op++) {
                    double t0 = px_now(), c0 = cpu_now();
                    if (op == 0) conv3x3_forward(k[si], N, x, prm, 0, prm, nw, y, 1);
                    if (op == 1) conv3x3_backward_input(k[si], N, dy, prm, 0, dx);
                    if (op == 2) conv3x3_backward_weights(k[si], N, x, dy, g, 0, g, nw);
                    ocl_finish(&c);
                    if (r >= 0) { t[si][op][r] = px_now() - t0; ct[si][op][r] = cpu_now() - c0; }
                }
            }
        }
        double flop = 2.0 * 9 * Cin * Cout * H * W * N;
        char name[32];
        snprintf(name, sizeof name, "%d->%d", Cin, Cout);
        for (int si = 0; si < nspec; si++) {
            printf("%-10s %-18s", name, specs[si].label);
            for (int i = 0; i < 3; i++) {
                qsort(t[si][i], REPS, sizeof(double), cmp_double);
                qsort(ct[si][i], REPS, sizeof(double), cmp_double);
                double med = t[si][i][REPS / 2], cmed = ct[si][i][REPS / 2];
                tot[si][i] += med;
                ctot[si][i] += cmed;
                printf(" %9.2f %8.1f %6.1f", med * 1e3, flop / med * 1e-9, flop / cmed * 1e-9);
            }
            printf("\n");
            conv3x3_free(k[si]);
        }
        fflush(stdout);
        tot_flop += flop;
        ocl_free(&x); ocl_free(&y); ocl_free(&dx); ocl_free(&dy); ocl_free(&prm); ocl_free(&g);
    }
    for (int si = 0; si < nspec; si++) {
        printf("%-10s %-18s", "total", specs[si].label);
        for (int i = 0; i < 3; i++)
            printf(" %9.2f %8.1f %6.1f", tot[si][i] * 1e3, tot_flop / tot[si][i] * 1e-9,
                   tot_flop / ctot[si][i] * 1e-9);
        printf("\n");
    }
    ocl_release(&c);
    return 0;
}
