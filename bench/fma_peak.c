// The machine's physical float32 limit: fused multiply-adds on independent vector
// accumulators of the widest ISA this compiler targets (-march=native: AVX-512 16
// lanes, AVX/AVX2 8, else SSE 4), one thread per requested core, no memory traffic.
// ACC accumulators hide the FMA latency (4-5 cycles) over the 2 FMA ports of recent
// x86 cores (needs latency x ports = 8-10 chains; 12 leave margin and, with the two
// constants, fit in the 16 registers AVX2 has).
//
// Build (bench/compare.sh does this):
//   cc -O2 -march=native -pthread bench/fma_peak.c -o bench/.venv/fma_peak
// Run: bench/.venv/fma_peak [threads [reps]]   -> JSON on stdout: the median GFLOP/s
// (2 flops per lane per FMA) of `reps` runs of about 0.5 s each, with that many
// threads and with one.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#define ISA "avx512f"
#elif defined(__AVX__)
#define LANES 8
#define ISA "avx"
#else
#define LANES 4
#define ISA "sse"
#endif
#define ACC 12

typedef float vec __attribute__((vector_size(LANES * sizeof(float))));

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    long iters;
    float sink;
} job;

// ACC independent chains acc = acc * a + b (contracted to one FMA each: GCC's default
// -ffp-contract=fast; compare.sh checks the binary holds vfmadd instructions).
static void *spin(void *arg) {
    job *j = arg;
    vec acc[ACC], a, b;
    for (int l = 0; l < LANES; l++) {
        a[l] = 0.999999f;
        b[l] = 1e-7f * (float)(l + 1);
    }
    for (int i = 0; i < ACC; i++)
        for (int l = 0; l < LANES; l++) acc[i][l] = (float)(i + l) * 1e-3f;
    for (long n = 0; n < j->iters; n++) {
#pragma GCC unroll 12
        for (int i = 0; i < ACC; i++) acc[i] = acc[i] * a + b;
    }
    float s = 0;
    for (int i = 0; i < ACC; i++)
        for (int l = 0; l < LANES; l++) s += acc[i][l];
    j->sink = s;
    return NULL;
}

// Seconds for `threads` threads to run `iters` iterations each.
static double run(int threads, long iters) {
    pthread_t th[256];
    job jobs[256];
    double t0 = now();
    for (int t = 0; t < threads; t++) {
        jobs[t].iters = iters;
        if (pthread_create(&th[t], NULL, spin, &jobs[t]) != 0) {
            fprintf(stderr, "fma_peak: cannot start thread %d\n", t);
            exit(1);
        }
    }
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    double s = now() - t0;
    volatile float keep = 0;
    for (int t = 0; t < threads; t++) keep += jobs[t].sink;
    (void)keep;
    return s;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

// Median GFLOP/s of reps runs with `threads` threads.
static double measure(int threads, int reps) {
    long iters = 1000000;
    while (run(1, iters) < 0.1) iters *= 2; // ~0.5 s per run
    iters *= 5;
    double g[64];
    for (int r = 0; r < reps; r++) {
        double s = run(threads, iters);
        g[r] = 2.0 * LANES * ACC * (double)iters * threads / s * 1e-9;
    }
    qsort(g, (size_t)reps, sizeof g[0], cmp);
    return reps % 2 ? g[reps / 2] : 0.5 * (g[reps / 2 - 1] + g[reps / 2]);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 5;
    if (threads < 1 || threads > 256 || reps < 1 || reps > 64) {
        fprintf(stderr, "usage: fma_peak [threads 1..256 [reps 1..64]]\n");
        return 2;
    }
    double one = measure(1, reps), all = threads > 1 ? measure(threads, reps) : one;
    printf("{\"isa\": \"%s\", \"lanes\": %d, \"accumulators\": %d, \"threads\": %d, \"reps\": %d, "
           "\"gflops\": %.3f, \"gflops_1thread\": %.3f}\n",
           ISA, LANES, ACC, threads, reps, all, one);
    return 0;
}
