// kernel_ab: A/B timing of one CPU-shaped Winograd kernel built from two kernel-source folders
// (say, the committed cl/ and an edited copy) with the same options, in one process: the two
// builds' launches alternate (A B, B A, ...) so that a shared machine's drift hits both alike.
// Prints each build's median and first-quartile milliseconds, their ratio, and whether the two
// builds wrote the same bits (the scratch output, and y for wino_output_input).
//
//   cc -O2 tools/kernel_ab.c -o /tmp/kernel_ab -lOpenCL
//   /tmp/kernel_ab DIR_A DIR_B FILE KERNEL "OPTIONS" C H W [NIMG [REPS [C2]]]
//
// FILE is conv_winograd.cl or wino_gemm.cl; OPTIONS the program's defines as
// host/nn/conv_winograd.c writes them (PX_GPU=0 is added). The kernels and what C, H, W mean:
//   wino_input, wino_dy     C planes of H x W images, NIMG images (global NIMG*C)
//   wino_output_input       C2 output planes and C input planes per image (AB_ONLY=in or out:
//                           only that half)
//   wino_gemm               cin = C, coutp = C2, H tiles, W = the row stride; AB_NXI matrices
//                           (default 16); the launch assumes -DTCO=4 -DTN=4 (the defaults)
//   wino_dw_gemm            cin = C, cout = coutp = C2, H tiles, W = the row stride, AB_NXI
//                           matrices; the launch assumes -DWD_TCI=4 -DWD_TCO=4 (the defaults)
//   (wino_input and wino_dy are the weight gradient's: OPTIONS with -DWINO_DW=1)
// Example (the seed network's 128->64 input gradient, F(4x4) transforms):
//   /tmp/kernel_ab cl /tmp/cl-edit conv_winograd.cl wino_output_input "-DCIN=128 -DCOUT=64
//   -DIMG_H=50 -DIMG_W=50 -DMARGIN=96 -DFLIP=1 -DHAS_BIAS=0 -DTCO=4 -DTSTRIDE=208 -DWM=4"
//   128 50 50 1 60 64
// Inputs are uniform in [-0.5, 0.5) (fixed seed); the batch-norm arguments point at a buffer of
// positive values. A development tool: its timings are not the benchmark's (bench/compare.sh).
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CK(e)                                                                                                          \
    do {                                                                                                               \
        cl_int err_ = (e);                                                                                             \
        if (err_) {                                                                                                    \
            fprintf(stderr, "kernel_ab: %s failed: %d\n", #e, err_);                                                   \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "kernel_ab: cannot read %s\n", path);
        exit(1);
    }
    b[n] = 0;
    fclose(f);
    return b;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static cl_mem buffer(cl_context ctx, size_t floats, const float *init) {
    cl_int e;
    cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, floats * sizeof(float), (void *)init, &e);
    CK(e);
    return m;
}

static int same(cl_command_queue q, cl_mem a, cl_mem b, size_t floats) {
    float *x = malloc(floats * sizeof(float)), *y = malloc(floats * sizeof(float));
    CK(clEnqueueReadBuffer(q, a, CL_TRUE, 0, floats * sizeof(float), x, 0, NULL, NULL));
    CK(clEnqueueReadBuffer(q, b, CL_TRUE, 0, floats * sizeof(float), y, 0, NULL, NULL));
    int r = !memcmp(x, y, floats * sizeof(float));
    free(x);
    free(y);
    return r;
}

// A kernel argument (its size and where its value is) and the setting of arguments 0..n-1.
typedef struct {
    size_t size;
    const void *value;
} karg;
static karg mem_arg(const cl_mem *b) { return (karg){sizeof(cl_mem), b}; }
static karg int_arg(const int *i) { return (karg){sizeof(int), i}; }
static karg float_arg(const float *f) { return (karg){sizeof(float), f}; }
static void set_args(cl_kernel k, const karg *a, int n) {
    for (int i = 0; i < n; i++) CK(clSetKernelArg(k, (cl_uint)i, a[i].size, a[i].value));
}

int main(int argc, char **argv) {
    if (argc < 9) {
        fprintf(stderr, "usage: kernel_ab DIR_A DIR_B FILE KERNEL OPTIONS C H W [NIMG [REPS [C2]]]\n");
        return 2;
    }
    const char *dirs[2] = {argv[1], argv[2]}, *file = argv[3], *kn = argv[4], *opts = argv[5];
    int C = atoi(argv[6]), H = atoi(argv[7]), W = atoi(argv[8]);
    int nimg = argc > 9 ? atoi(argv[9]) : 1, reps = argc > 10 ? atoi(argv[10]) : 60;
    int C2 = argc > 11 ? atoi(argv[11]) : C;
    const char *only = getenv("AB_ONLY");
    int gemm = !strcmp(kn, "wino_gemm"), outin = !strcmp(kn, "wino_output_input"), dwg = !strcmp(kn, "wino_dw_gemm");
    if (C < 1 || H < 1 || W < 1 || nimg < 1 || reps < 1 || C2 < 1) {
        fprintf(stderr, "kernel_ab: C, H, W, NIMG, REPS and C2 must be positive\n");
        return 2;
    }

    // The transforms' scratch rows must hold the chunk's tiles (and the 15 an output vector load
    // may read past them: host/nn/conv_winograd.c's tstride_for); with fewer, work-items of
    // neighbouring rows overwrite each other in an order that varies run to run (and the two
    // builds then "DIFFER" for no fault of theirs).
    if (!gemm && !dwg) {
        const char *ts = strstr(opts, "-DTSTRIDE="), *wm = strstr(opts, "-DWM=");
        int m = wm ? atoi(wm + 5) : 2;
        long tiles = (long)nimg * ((H + m - 1) / m) * ((W + m - 1) / m);
        if (!ts || atol(ts + 10) < tiles + 15) {
            fprintf(
                stderr,
                "kernel_ab: OPTIONS need -DTSTRIDE= of at least %ld (%d image(s) of %dx%d in F(%dx%d) tiles, + 15)\n",
                tiles + 15, nimg, H, W, m, m);
            return 2;
        }
    }

    cl_platform_id pl;
    cl_device_id dev;
    cl_int e;
    CK(clGetPlatformIDs(1, &pl, NULL));
    CK(clGetDeviceIDs(pl, CL_DEVICE_TYPE_ALL, 1, &dev, NULL));
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
    CK(e);
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &e);
    CK(e);

    // Activations: NIMG x max(C, C2) padded planes between margins; scratch: 256 MiB each.
    size_t pw = (size_t)W + 2, plane = pw * ((size_t)H + 2), margin = (pw + 1 + 32 + 15) / 16 * 16;
    size_t nx = 2 * margin + (size_t)nimg * (size_t)(C > C2 ? C : C2) * plane, ns = (size_t)64 << 20;
    float *hx = malloc(nx * sizeof(float)), *hz = calloc(ns, sizeof(float)), hb[4096];
    srand(1);
    for (size_t i = 0; i < nx; i++) hx[i] = (float)rand() / ((float)RAND_MAX + 1.0f) - 0.5f;
    for (int i = 0; i < 4096; i++) hb[i] = 0.5f + (float)(i % 7) * 0.1f;
    cl_mem x = buffer(ctx, nx, hx), u = buffer(ctx, nx, hx), m = buffer(ctx, ns, hz), bn = buffer(ctx, 4096, hb);
    cl_mem out[2] = {buffer(ctx, ns, hz), buffer(ctx, ns, hz)}, y[2] = {buffer(ctx, nx, hx), buffer(ctx, nx, hx)};

    cl_kernel k[2];
    for (int v = 0; v < 2; v++) {
        char path[4096], o[4096];
        snprintf(path, sizeof path, "%s/%s", dirs[v], file);
        const char *src = slurp(path);
        cl_program p = clCreateProgramWithSource(ctx, 1, &src, NULL, &e);
        CK(e);
        snprintf(o, sizeof o, "%s -I %s -DPX_GPU=0 -w", opts, dirs[v]);
        if (clBuildProgram(p, 1, &dev, o, NULL, NULL) != CL_SUCCESS) {
            static char log[1 << 16];
            clGetProgramBuildInfo(p, dev, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
            fprintf(stderr, "kernel_ab: %s does not build:\n%s\n", path, log);
            return 1;
        }
        k[v] = clCreateKernel(p, kn, &e);
        CK(e);
    }

    int zero = 0, relu = 1, nout = (only && !strcmp(only, "in")) ? 0 : nimg * C2;
    int nvec = (H + 15) / 16, nxi = getenv("AB_NXI") ? atoi(getenv("AB_NXI")) : 16;
    float inv_hw = 1.0f / (float)(H * W);
    size_t g1 = (size_t)nimg * (size_t)C, one = 1;
    size_t g3[3] = {((size_t)(nvec + 3) / 4 + 7) / 8 * 8, (size_t)C2 / 4, (size_t)nxi}, l3[3] = {8, 1, 1};
    if (outin) g1 = (size_t)nout + ((only && !strcmp(only, "out")) ? 0 : g1);
    int first = 1;
    for (int v = 0; v < 2; v++) {
        if (gemm) { // (v, u, m, nvec, cin, coutp, ts)
            const karg a[] = {mem_arg(&x), mem_arg(&u),  mem_arg(&out[v]), int_arg(&nvec),
                              int_arg(&C), int_arg(&C2), int_arg(&W)};
            set_args(k[v], a, sizeof a / sizeof a[0]);
        } else if (dwg) { // (v, z, ntiles, s, first, cin, cout, coutp, ts): cin = C, cout = C2, H tiles, W stride
            const karg a[] = {mem_arg(&x), mem_arg(&u),  int_arg(&H),  mem_arg(&out[v]), int_arg(&first),
                              int_arg(&C), int_arg(&C2), int_arg(&C2), int_arg(&W)};
            set_args(k[v], a, sizeof a / sizeof a[0]);
        } else if (outin) { // (m, n0, b, b_off, y, relu, mask, psum, pm2, inv_hw, nout, x, n0_in, v, bn)
            const karg a[] = {mem_arg(&m),    int_arg(&zero), mem_arg(&bn),   int_arg(&zero),   mem_arg(&y[v]),
                              int_arg(&relu), mem_arg(&bn),   mem_arg(&bn),   mem_arg(&bn),     float_arg(&inv_hw),
                              int_arg(&nout), mem_arg(&x),    int_arg(&zero), mem_arg(&out[v]), mem_arg(&bn)};
            set_args(k[v], a, sizeof a / sizeof a[0]);
        } else { // wino_input (x, n0, ntiles, v, bn) or wino_dy (dy, n0, ntiles, z)
            const karg a[] = {mem_arg(&x), int_arg(&zero), int_arg(&zero), mem_arg(&out[v]), mem_arg(&bn)};
            set_args(k[v], a, strcmp(kn, "wino_input") ? 4 : 5);
        }
    }

    double *t[2] = {malloc((size_t)reps * sizeof(double)), malloc((size_t)reps * sizeof(double))};
    for (int r = -3; r < reps; r++) // 3 untimed rounds, then alternating order
        for (int i = 0; i < 2; i++) {
            int v = (r & 1) ? 1 - i : i;
            double t0 = now();
            if (dwg) {
                size_t gd[3] = {(size_t)(C + 3) / 4, (size_t)(C2 + 3) / 4, (size_t)nxi}, ld[3] = {1, 1, 1};
                CK(clEnqueueNDRangeKernel(q, k[v], 3, NULL, gd, ld, 0, NULL, NULL));
            } else if (gemm)
                CK(clEnqueueNDRangeKernel(q, k[v], 3, NULL, g3, l3, 0, NULL, NULL));
            else
                CK(clEnqueueNDRangeKernel(q, k[v], 1, NULL, &g1, &one, 0, NULL, NULL));
            CK(clFinish(q));
            if (r >= 0) t[v][r] = (now() - t0) * 1e3;
        }
    for (int v = 0; v < 2; v++) qsort(t[v], (size_t)reps, sizeof(double), cmp_double);
    int s_out = same(q, out[0], out[1], ns), s_y = !outin || same(q, y[0], y[1], nx);
    printf("%s: A %.3f ms, B %.3f ms (median of %d; B/A %.3f; first quartile %.3f / %.3f); outputs %s\n", kn,
           t[0][reps / 2], t[1][reps / 2], reps, t[1][reps / 2] / t[0][reps / 2], t[0][reps / 4], t[1][reps / 4],
           s_out && s_y ? "the same bits" : "DIFFER");
    return s_out && s_y ? 0 : 3;
}
