// Minimal test harness shared by every C test: CHECK macros that count, a
// closing "N passed, N failed" line, and helpers for random data and comparing
// float arrays against a reference.
#ifndef PIXLOC_TEST_UTIL_H
#define PIXLOC_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int t_passed, t_failed;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            t_passed++;                                                                                                \
        } else {                                                                                                       \
            t_failed++;                                                                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

// Prints "N passed, N failed" and returns the process exit status (0 when none failed).
int t_summary(void);
// The test cannot run here (e.g. it needs a CPU device and PIXLOC_TEST_DEVICE chose a
// GPU): prints "SKIP: <why>" and exits T_SKIP, which CTest reports as skipped.
enum { T_SKIP = 77 };
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

// Deterministic test data: xorshift-based uniform in [lo, hi).
void t_fill_uniform(float *a, size_t n, float lo, float hi, uint64_t *state);
// Max |a-b| / (atol + rtol*|b|) style comparison: prints "OK"/"NOT OK" with the
// max absolute difference for `name` and counts one check. Returns 1 if close.
int t_compare(const char *name, const float *got, const double *want, size_t n, double atol, double rtol);
int t_compare_f(const char *name, const float *got, const float *want, size_t n, double atol, double rtol);
// A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); caller frees.
char *t_tmpdir(void);

#endif
