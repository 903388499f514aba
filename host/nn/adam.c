// Launcher for cl/adam.cl (see include/adam.h).
#include "adam.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "pixloc.h"

#define ADAM_WG 256 // one parameter per work-item, in groups of this many

struct adam {
    ocl_ctx *c;
    cl_kernel k;
};

void adam_programs(const ocl_target *t, ocl_program_list *out) { ocl_program_list_add(out, t, "adam.cl", ""); }

adam *adam_create(ocl_ctx *c) {
    adam *a = px_calloc(1, sizeof *a, "adam");
    a->c = c;
    a->k = ocl_kernel(c, ocl_program(c, "adam.cl", ""), "adam_step");
    return a;
}

void adam_free(adam *a) {
    if (!a) return;
    ocl_kernel_program_release(a->c, a->k); // the program it built, given back with it
    clReleaseKernel(a->k);
    free(a);
}

void adam_update(adam *a, size_t n, cl_mem w, cl_mem g, cl_mem m, cl_mem v, int64_t step, double lr, double beta1,
                 double beta2, double eps) {
    if (n > (size_t)INT_MAX) px_die(PX_EXIT_FAIL, "adam: %zu parameters exceed INT_MAX", n);
    double t = (double)(step + 1);
    float alpha = (float)(lr * sqrt(1.0 - pow(beta2, t)) / (1.0 - pow(beta1, t)));
    float omb1 = (float)(1.0 - beta1), omb2 = (float)(1.0 - beta2), e = (float)eps;
    int ni = (int)n;
    KARG(a->k, 0, w);
    KARG(a->k, 1, g);
    KARG(a->k, 2, m);
    KARG(a->k, 3, v);
    KARG(a->k, 4, ni);
    KARG(a->k, 5, alpha);
    KARG(a->k, 6, omb1);
    KARG(a->k, 7, omb2);
    KARG(a->k, 8, e);
    size_t local = ADAM_WG, global = ocl_round_up(n, local); // adam_step checks i < n
    ocl_run(a->c, a->k, 1, &global, &local);
}
