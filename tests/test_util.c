#include "test_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int t_passed, t_failed;

void t_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(T_SKIP);
}

int t_summary(void) {
    printf("%d passed, %d failed\n", t_passed, t_failed);
    return t_failed ? 1 : 0;
}

void t_fill_uniform(float *a, size_t n, float lo, float hi, uint64_t *state) {
    for (size_t i = 0; i < n; i++) {
        uint64_t x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        a[i] = lo + (hi - lo) * (float)((x >> 40) * (1.0 / 16777216.0));
    }
}

static int compare_impl(const char *name, const float *got, const float *want_f, const double *want_d, size_t n,
                        double atol, double rtol) {
    double max_abs = 0, worst_ratio = 0;
    size_t worst = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double w = want_d ? want_d[i] : (double)want_f[i];
        double g = got[i];
        double d = fabs(g - w);
        if (!(d == d) || isnan(g) || isnan(w)) { d = INFINITY; }
        double tol = atol + rtol * fabs(w);
        double ratio = d / tol;
        if (d > max_abs) max_abs = d;
        if (ratio > worst_ratio || !(ratio == ratio)) {
            worst_ratio = ratio;
            worst = i;
        }
        if (!(d <= tol)) bad++;
    }
    int ok = bad == 0;
    printf("%-6s %-40s n=%-8zu max|diff|=%.3g", ok ? "OK" : "NOT OK", name, n, max_abs);
    if (!ok)
        printf("  (%d bad; worst at %zu: got %.9g want %.9g)", bad, worst, (double)got[worst],
               want_d ? want_d[worst] : (double)want_f[worst]);
    printf("\n");
    if (ok)
        t_passed++;
    else
        t_failed++;
    return ok;
}

int t_compare(const char *name, const float *got, const double *want, size_t n, double atol, double rtol) {
    return compare_impl(name, got, NULL, want, n, atol, rtol);
}
int t_compare_f(const char *name, const float *got, const float *want, size_t n, double atol, double rtol) {
    return compare_impl(name, got, want, NULL, n, atol, rtol);
}

char *t_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    size_t len = strlen(base) + 32;
    char *p = malloc(len);
    snprintf(p, len, "%s/pixloc-test-XXXXXX", base);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(1);
    }
    return p;
}
