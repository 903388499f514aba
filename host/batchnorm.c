// Launchers for cl/batchnorm.cl (see include/batchnorm.h).
#include "batchnorm.h"

#include <limits.h>
#include <stdlib.h>

#include "layout.h"
#include "pixloc.h"

struct batchnorm {
    ocl_ctx *c;
    int max_N, C, H, W, margin;
    cl_mem psum, psq; // (C, P) partial sums of x and of (x - mean)^2
    cl_mem pbwd;      // (2, C, P) backward partials: sum dy, sum dy*xhat
    cl_mem st;   // (4, C): mean, invstd, scale, shift
    cl_kernel k_sum, k_sq, k_final, k_apply, k_bwd_partial, k_bwd_final, k_bwd_apply, k_relu_bwd;
};

// Row chunks per channel: a function of the shape only, so results do not depend
// on the device.
static int bn_chunks(int N, int H) { return N * H < 64 ? N * H : 64; }

static int as_int(size_t v, const char *what) {
    if (v > (size_t)INT_MAX) px_die(PX_EXIT_FAIL, "batchnorm: %s offset %zu exceeds INT_MAX", what, v);
    return (int)v;
}

batchnorm *batchnorm_create(ocl_ctx *c, int max_N, int C, int H, int W) {
    batchnorm *b = px_calloc(1, sizeof *b, "batchnorm");
    b->c = c;
    b->max_N = max_N; b->C = C; b->H = H; b->W = W;
    b->margin = (int)ACT_MARGIN(W);
    size_t P = (size_t)bn_chunks(max_N, H);
    b->psum = ocl_buffer(c, "batchnorm partial sums", (size_t)C * P * sizeof(float));
    b->psq = ocl_buffer(c, "batchnorm partial squares", (size_t)C * P * sizeof(float));
    b->pbwd = ocl_buffer(c, "batchnorm backward partials", 2 * (size_t)C * P * sizeof(float));
    b->st = ocl_buffer(c, "batchnorm batch statistics", 4 * (size_t)C * sizeof(float));
    cl_program p = ocl_program(c, "batchnorm.cl", "");
    b->k_sum = ocl_kernel(c, p, "bn_partial_sum");
    b->k_sq = ocl_kernel(c, p, "bn_partial_sq");
    b->k_final = ocl_kernel(c, p, "bn_finalize");
    b->k_apply = ocl_kernel(c, p, "bn_apply");
    b->k_bwd_partial = ocl_kernel(c, p, "bn_bwd_partial");
    b->k_bwd_final = ocl_kernel(c, p, "bn_bwd_finalize");
    b->k_bwd_apply = ocl_kernel(c, p, "bn_bwd_apply");
    b->k_relu_bwd = ocl_kernel(c, p, "relu_bwd");
    return b;
}

void batchnorm_free(batchnorm *b) {
    if (!b) return;
    ocl_free(&b->psum);
    ocl_free(&b->psq);
    ocl_free(&b->pbwd);
    ocl_free(&b->st);
    clReleaseKernel(b->k_sum); clReleaseKernel(b->k_sq); clReleaseKernel(b->k_final);
    clReleaseKernel(b->k_apply); clReleaseKernel(b->k_bwd_partial); clReleaseKernel(b->k_bwd_final);
    clReleaseKernel(b->k_bwd_apply); clReleaseKernel(b->k_relu_bwd);
    free(b);
}

static void check_batch(const batchnorm *b, int N) {
    if (N < 1 || N > b->max_N) px_die(PX_EXIT_FAIL, "batchnorm: batch %d outside 1..%d", N, b->max_N);
}

void batchnorm_forward(batchnorm *b, int N, cl_mem x, cl_mem y, cl_mem params, size_t gamma_off,
                       size_t beta_off, cl_mem stats, size_t mean_off, size_t var_off, int mode,
                       float momentum, float eps, float inv_k) {
    check_batch(b, N);
    int C = b->C, H = b->H, W = b->W, margin = b->margin, P = bn_chunks(N, H);
    int go = as_int(gamma_off, "gamma"), bo = as_int(beta_off, "beta");
    int mo = as_int(mean_off, "moving mean"), vo = as_int(var_off, "moving variance");
    float omm = (float)(1.0 - (double)momentum);
    if (mode != 0) {
        size_t g2[2] = {(size_t)P, (size_t)C};
        KARG(b->k_sum, 0, x); KARG(b->k_sum, 1, b->psum); KARG(b->k_sum, 2, N); KARG(b->k_sum, 3, C);
        KARG(b->k_sum, 4, H); KARG(b->k_sum, 5, W); KARG(b->k_sum, 6, margin); KARG(b->k_sum, 7, P);
        ocl_run(b->c, b->k_sum, 2, g2, NULL);
        KARG(b->k_sq, 0, x); KARG(b->k_sq, 1, b->psum); KARG(b->k_sq, 2, b->psq); KARG(b->k_sq, 3, N);
        KARG(b->k_sq, 4, C); KARG(b->k_sq, 5, H); KARG(b->k_sq, 6, W); KARG(b->k_sq, 7, margin);
        KARG(b->k_sq, 8, P);
        ocl_run(b->c, b->k_sq, 2, g2, NULL);
    }
    cl_kernel k = b->k_final;
    KARG(k, 0, b->psum); KARG(k, 1, b->psq); KARG(k, 2, params); KARG(k, 3, go); KARG(k, 4, bo);
    KARG(k, 5, stats); KARG(k, 6, mo); KARG(k, 7, vo); KARG(k, 8, b->st); KARG(k, 9, N);
    KARG(k, 10, C); KARG(k, 11, H); KARG(k, 12, W); KARG(k, 13, P); KARG(k, 14, mode);
    KARG(k, 15, momentum); KARG(k, 16, omm); KARG(k, 17, inv_k); KARG(k, 18, eps);
    size_t g1 = (size_t)C;
    ocl_run(b->c, k, 1, &g1, NULL);
    k = b->k_apply;
    KARG(k, 0, x); KARG(k, 1, y); KARG(k, 2, b->st); KARG(k, 3, C); KARG(k, 4, H); KARG(k, 5, W);
    KARG(k, 6, margin);
    size_t g3[3] = {(size_t)W + 2, (size_t)H + 2, (size_t)N * C};
    ocl_run(b->c, k, 3, g3, NULL);
}

void batchnorm_backward(batchnorm *b, int N, cl_mem x, cl_mem g, cl_mem params, size_t gamma_off,
                        cl_mem grads, size_t dgamma_off, size_t dbeta_off, int relu) {
    check_batch(b, N);
    int C = b->C, H = b->H, W = b->W, margin = b->margin, P = bn_chunks(N, H);
    int go = as_int(gamma_off, "gamma"), dgo = as_int(dgamma_off, "dgamma"),
        dbo = as_int(dbeta_off, "dbeta");
    cl_kernel k = b->k_bwd_partial;
    KARG(k, 0, x); KARG(k, 1, g); KARG(k, 2, b->st); KARG(k, 3, b->pbwd); KARG(k, 4, N);
    KARG(k, 5, C); KARG(k, 6, H); KARG(k, 7, W); KARG(k, 8, margin); KARG(k, 9, P);
    size_t g2[2] = {(size_t)P, (size_t)C};
    ocl_run(b->c, k, 2, g2, NULL);
    k = b->k_bwd_final;
    KARG(k, 0, b->pbwd); KARG(k, 1, grads); KARG(k, 2, dgo); KARG(k, 3, dbo); KARG(k, 4, C);
    KARG(k, 5, P);
    size_t g1 = (size_t)C;
    ocl_run(b->c, k, 1, &g1, NULL);
    k = b->k_bwd_apply;
    KARG(k, 0, x); KARG(k, 1, g); KARG(k, 2, b->st); KARG(k, 3, params); KARG(k, 4, go);
    KARG(k, 5, grads); KARG(k, 6, dgo); KARG(k, 7, dbo); KARG(k, 8, N); KARG(k, 9, C);
    KARG(k, 10, H); KARG(k, 11, W); KARG(k, 12, margin); KARG(k, 13, relu);
    size_t g3[3] = {(size_t)W + 2, (size_t)H + 2, (size_t)N * C};
    ocl_run(b->c, k, 3, g3, NULL);
}

void batchnorm_relu_backward(batchnorm *b, int N, cl_mem x, cl_mem g) {
    check_batch(b, N);
    cl_kernel k = b->k_relu_bwd;
    KARG(k, 0, x); KARG(k, 1, g); KARG(k, 2, b->H); KARG(k, 3, b->W); KARG(k, 4, b->margin);
    size_t g3[3] = {(size_t)b->W + 2, (size_t)b->H + 2, (size_t)N * b->C};
    ocl_run(b->c, k, 3, g3, NULL);
}
