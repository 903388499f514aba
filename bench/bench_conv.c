// Times the 3x3 convolution kernels on the seed network's layers (batch 64,
// 50x50): forward, input gradient and weight gradient per layer, median of 5
// runs after a warm-up, with GFLOP/s counting 2*9*Cin*Cout*H*W*N.
//
// Build by hand against a build directory's library (not a CTest test):
//   gcc -O2 -std=gnu11 -Wall -Wextra -I include -DCL_TARGET_OPENCL_VERSION=120 bench/bench_conv.c
//       build-conv/libpixloc_core.a -lOpenCL -lpng -lcjson -lplplot -lm -lpthread -o build-conv/bench_conv
// Usage: bench_conv [N] [tile_co wg dw_tk dw_tc dw_seg]   (defaults: 64, the device's table)
// PIXLOC_CONV_VARIANT=cpu|gpu picks the variant.
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "conv.h"
#include "layout.h"
#include "ocl.h"
#include "pixloc.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { REPS = 5 };

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

    printf("device: %s; batch %d, %dx%d; median of %d after a warm-up\n", c.device_name, N, H, W, REPS);
    printf("GFLOP/s is per wall second; 'c' is per CPU second of the process (per core busy)\n");
    printf("%-10s %9s %8s %6s %9s %8s %6s %9s %8s %6s\n", "layer", "fwd ms", "GFLOP/s", "c", "dx ms", "GFLOP/s",
           "c", "dw ms", "GFLOP/s", "c");
    double tot[3] = {0, 0, 0}, ctot[3] = {0, 0, 0}, tot_flop = 0;
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        int Cin = layers[li][0], Cout = layers[li][1];
        conv3x3_params p = conv3x3_default_params(&c, Cin, Cout, H, W);
        if (argc > 6) {
            p.tile_co = atoi(argv[2]); p.wg = atoi(argv[3]); p.dw_tk = atoi(argv[4]);
            p.dw_tc = atoi(argv[5]); p.dw_seg = atoi(argv[6]);
        }
        conv3x3 *k = conv3x3_create_with(&c, N, Cin, Cout, H, W, &p);
        act_layout lx = act_layout_make(N, Cin, H, W), ly = act_layout_make(N, Cout, H, W);
        size_t nw = 9 * (size_t)Cin * Cout;
        cl_mem x = ocl_buffer(&c, "x", act_floats(&lx) * 4), y = ocl_buffer(&c, "y", act_floats(&ly) * 4);
        cl_mem dx = ocl_buffer(&c, "dx", act_floats(&lx) * 4), dy = ocl_buffer(&c, "dy", act_floats(&ly) * 4);
        cl_mem prm = ocl_buffer(&c, "params", (nw + Cout) * 4), g = ocl_buffer(&c, "grads", (nw + Cout) * 4);
        // Data values do not change the timing; fill with something finite and nonzero.
        ocl_fill_float(&c, prm, 0.01f, nw + Cout);
        conv3x3_forward(k, N, x, prm, 0, prm, nw, y, 1); // y: a valid activation, used as x below
        ocl_fill_float(&c, x, 0.5f, act_floats(&lx));
        conv3x3_forward(k, N, x, prm, 0, prm, nw, dy, 0);

        double t[3][REPS], ct[3][REPS];
        for (int r = -1; r < REPS; r++) {
            for (int op = 0; op < 3; op++) {
                double t0 = px_now(), c0 = cpu_now();
                if (op == 0) conv3x3_forward(k, N, x, prm, 0, prm, nw, y, 1);
                if (op == 1) conv3x3_backward_input(k, N, dy, prm, 0, dx);
                if (op == 2) conv3x3_backward_weights(k, N, x, dy, g, 0, g, nw);
                ocl_finish(&c);
                if (r >= 0) { t[op][r] = px_now() - t0; ct[op][r] = cpu_now() - c0; }
            }
        }
        double flop = 2.0 * 9 * Cin * Cout * H * W * N;
        char name[32];
        snprintf(name, sizeof name, "%d->%d", Cin, Cout);
        printf("%-10s", name);
        for (int i = 0; i < 3; i++) {
            qsort(t[i], REPS, sizeof(double), cmp_double);
            qsort(ct[i], REPS, sizeof(double), cmp_double);
            double med = t[i][REPS / 2], cmed = ct[i][REPS / 2];
            tot[i] += med;
            ctot[i] += cmed;
            printf(" %9.2f %8.1f %6.1f", med * 1e3, flop / med * 1e-9, flop / cmed * 1e-9);
        }
        printf("\n");
        tot_flop += flop;
        ocl_free(&x); ocl_free(&y); ocl_free(&dx); ocl_free(&dy); ocl_free(&prm); ocl_free(&g);
        conv3x3_free(k);
    }
    printf("%-10s", "total");
    for (int i = 0; i < 3; i++)
        printf(" %9.2f %8.1f %6.1f", tot[i] * 1e3, tot_flop / tot[i] * 1e-9, tot_flop / ctot[i] * 1e-9);
    printf("\n");
    ocl_release(&c);
    return 0;
}
