// The machine's practical limit for pixloc's convolutions: OpenBLAS sgemm on the
// GEMM shapes of the seed network's two largest 3x3 layers (a convolution over
// a batch as one GEMM: M = Cout, N = batch*H*W, K = 9*Cin), and a square 2048^3
// for reference. Row-major C(M,N) = A(M,K) B(K,N). Prints JSON on stdout.
//
// Build (bench/compare.sh does this):
//   cc -O2 bench/sgemm.c -I/usr/include/x86_64-linux-gnu/openblas-pthread
//      -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -o bench/.venv/sgemm
// Run: OPENBLAS_NUM_THREADS=2 bench/.venv/sgemm [reps] [warmup]
//      OPENBLAS_NUM_THREADS=2 bench/.venv/sgemm probe   (a few seconds: the 64->128 shape's
//      GFLOP/s alone, as a gauge of how loaded the shared machine is right now)
//      bench/.venv/sgemm corename   (the core type OpenBLAS picked: detected, or OPENBLAS_CORETYPE)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *filled(size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "sgemm: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

// Median and best ms of `reps` sgemm calls after `warmup` untimed ones; prints a
// JSON object (unless name is NULL) and returns the median GFLOP/s.
static double run(const char *name, int M, int N, int K, int reps, int warmup, int last) {
    float *A = filled((size_t)M * K), *B = filled((size_t)K * N), *C = filled((size_t)M * N);
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = -warmup; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        if (r >= 0) t[r] = 1e3 * (now() - t0);
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    double gflop = 2.0 * M * (double)N * K * 1e-9;
    if (name)
        printf("    {\"name\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, \"gflop\": %.6f, \"ms\": %.4f, \"ms_min\": %.4f, "
               "\"gflops\": %.3f}%s\n",
               name, M, N, K, gflop, med, t[0], gflop / (med * 1e-3), last ? "" : ",");
    free(t);
    free(A);
    free(B);
    free(C);
    return gflop / (med * 1e-3);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "corename")) {
        printf("%s\n", openblas_get_corename());
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "probe")) {
        printf("%.3f\n", run(NULL, 128, 64 * 2500, 576, 3, 1, 1));
        return 0;
    }
    int reps = argc > 1 ? atoi(argv[1]) : 5, warmup = argc > 2 ? atoi(argv[2]) : 2;
    if (reps < 1 || warmup < 0) {
        fprintf(stderr, "usage: sgemm [reps>=1] [warmup>=0]\n");
        return 2;
    }
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("{\n  \"corename\": \"%s\",\n  \"config\": \"%s\",\n  \"threads\": %d,\n  \"coretype_env\": \"%s\",\n"
           "  \"reps\": %d,\n  \"warmup\": %d,\n  \"shapes\": [\n",
           openblas_get_corename(), openblas_get_config(), openblas_get_num_threads(), ct ? ct : "", reps, warmup);
    // conv 64->128 forward at batch 64 on 50x50: M=Cout, N=64*2500, K=9*Cin.
    run("conv_64_128", 128, 64 * 2500, 576, reps, warmup, 0);
    run("conv_128_64", 64, 64 * 2500, 1152, reps, warmup, 0);
    run("square_2048", 2048, 2048, 2048, reps, warmup, 1);
    printf("  ]\n}\n");
    return 0;
}
