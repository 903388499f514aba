// Adam kernel (cl/adam.cl) against the double Keras reference: several steps from
// step 0 and from a late step, odd sizes, zero gradients, bit-identical reruns.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "ref_ops.h"
#include "test_util.h"

static void test_size(ocl_ctx *c, adam *a, size_t n, int64_t step0, double lr, uint64_t *rs) {
    char name[128];
    float *w = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    float *m = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    t_fill_uniform(w, n, -1.0f, 1.0f, rs);
    t_fill_uniform(m, n, -0.01f, 0.01f, rs);
    t_fill_uniform(v, n, 0.0f, 1e-4f, rs);
    if (step0 == 0) {
        memset(m, 0, n * sizeof(float));
        memset(v, 0, n * sizeof(float));
    }
    double *wd = malloc(n * sizeof(double)), *gd = malloc(n * sizeof(double));
    double *md = malloc(n * sizeof(double)), *vd = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        wd[i] = w[i];
        md[i] = m[i];
        vd[i] = v[i];
    }
    cl_mem bw = ocl_buffer(c, "w", n * 4), bg = ocl_buffer(c, "g", n * 4);
    cl_mem bm = ocl_buffer(c, "m", n * 4), bv = ocl_buffer(c, "v", n * 4);
    ocl_write(c, bw, 0, w, n * 4);
    ocl_write(c, bm, 0, m, n * 4);
    ocl_write(c, bv, 0, v, n * 4);
    for (int s = 0; s < 3; s++) {
        t_fill_uniform(g, n, -0.1f, 0.1f, rs);
        for (size_t i = 0; i < n; i += 7) g[i] = 0.0f; // zero gradients (and m, v at step 0)
        for (size_t i = 0; i < n; i++) gd[i] = g[i];
        ocl_write(c, bg, 0, g, n * 4);
        adam_update(a, n, bw, bg, bm, bv, step0 + s, lr, 0.9, 0.999, 1e-7);
        ref_adam(wd, gd, md, vd, n, step0 + s, lr, 0.9, 0.999, 1e-7);
    }
    ocl_read(c, bw, 0, w, n * 4);
    ocl_read(c, bm, 0, m, n * 4);
    ocl_read(c, bv, 0, v, n * 4);
    snprintf(name, sizeof name, "adam w n=%zu step %lld", n, (long long)step0);
    t_compare(name, w, wd, n, 1e-3 * lr, 1e-6); // each update moves w by about lr
    snprintf(name, sizeof name, "adam m n=%zu step %lld", n, (long long)step0);
    t_compare(name, m, md, n, 1e-9, 1e-5);
    snprintf(name, sizeof name, "adam v n=%zu step %lld", n, (long long)step0);
    t_compare(name, v, vd, n, 1e-12, 1e-5);

    // Bit-identical rerun of one step from the same state.
    float *w2 = malloc(n * sizeof(float));
    ocl_write(c, bw, 0, w, n * 4);
    ocl_write(c, bm, 0, m, n * 4);
    ocl_write(c, bv, 0, v, n * 4);
    adam_update(a, n, bw, bg, bm, bv, 7, lr, 0.9, 0.999, 1e-7);
    ocl_read(c, bw, 0, w2, n * 4);
    ocl_write(c, bw, 0, w, n * 4);
    ocl_write(c, bm, 0, m, n * 4);
    ocl_write(c, bv, 0, v, n * 4);
    adam_update(a, n, bw, bg, bm, bv, 7, lr, 0.9, 0.999, 1e-7);
    ocl_read(c, bw, 0, w, n * 4);
    CHECK(memcmp(w, w2, n * 4) == 0, "adam n=%zu: reruns differ", n);
    ocl_free(&bw);
    ocl_free(&bg);
    ocl_free(&bm);
    ocl_free(&bv);
    free(w);
    free(g);
    free(m);
    free(v);
    free(w2);
    free(wd);
    free(gd);
    free(md);
    free(vd);
}

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    ocl_options_from_env(&o); // the cache directory and settings, as the CLI reads them
    o.quiet = 1;
    ocl_init(&c, &o);
    const char *tiny = getenv("PIXLOC_TEST_TINY");
    int only_tiny = tiny && *tiny && strcmp(tiny, "0") != 0;
    adam *a = adam_create(&c);
    uint64_t rs = 777;
    static const size_t sizes[] = {1, 17, 1000, 186241 - 640};
    int ns = only_tiny ? 3 : 4;
    for (int i = 0; i < ns; i++) {
        test_size(&c, a, sizes[i], 0, 1e-3, &rs);
        test_size(&c, a, sizes[i], 5000, 3e-3, &rs);
    }
    adam_free(a);
    ocl_release(&c);
    return t_summary();
}
