// step_ab: A/B of a whole training step or inference batch in one process. Two settings, A and
// B, each get their own OpenCL context and network on the same device; their steps alternate
// (A B, B A, ...) so that a shared machine's drift (on this project's 2-core VMs timings swing 2x
// within minutes) hits both alike, and the median of the per-round ratios says which is faster.
// It also says whether the two ended with the same bits (training: every parameter after the
// rounds; inference: the last batch's heatmaps): exit status 3 when they differ.
//
//   cmake --build build --target step_ab
//   A_PIXLOC_KERNEL_DIR=/tmp/old-cl B_PIXLOC_KERNEL_DIR=cl build/step_ab [--infer] [--channels LIST]
//       [--batch N] [--size HxW] [--rounds R]
//
// A side's settings are the environment's PIXLOC_* variables with its A_ or B_ versions set over
// them while its context is made (ocl_options_from_env, as the CLI reads them): kernel-source
// folders (PIXLOC_KERNEL_DIR), PIXLOC_BN_SEPARATE, PIXLOC_WINO_M, PIXLOC_CONV_VARIANT, ... So a
// kernel change is compared against a copy of the old cl/ (`git archive HEAD cl | tar -x -C
// /tmp/old`), a switch against itself. Defaults: the seed network (32,64,128,64,32), 50x50,
// batch 64 (training) or 256 (--infer), 20 rounds after 2 untimed. A development tool: its
// figures are not the benchmark's (bench/compare.sh).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "rng.h"

extern char **environ;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define MAX_VARS 32

// Makes side's context (prefix "A_" or "B_"): its PIXLOC_* overrides set, the options read, the
// environment put back. Prints the overrides.
static void side_init(ocl_ctx *c, const char *prefix) {
    char *names[MAX_VARS], *values[MAX_VARS], *olds[MAX_VARS];
    int n = 0;
    size_t pl = strlen(prefix);
    printf("%c:", prefix[0]);
    for (char **e = environ; *e && n < MAX_VARS; e++) {
        if (strncmp(*e, prefix, pl) != 0 || strncmp(*e + pl, "PIXLOC_", 7) != 0) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        names[n] = strndup(*e + pl, (size_t)(eq - *e) - pl);
        values[n] = strdup(eq + 1); // (copies: setenv below may move environ's strings)
        const char *old = getenv(names[n]);
        olds[n] = old ? strdup(old) : NULL;
        printf(" %s=%s", names[n], values[n]);
        n++;
    }
    printf(n ? "\n" : " (the environment as it is)\n");
    for (int i = 0; i < n; i++) setenv(names[i], values[i], 1);
    ocl_options o = {0};
    ocl_options_from_env(&o);
    o.quiet = 1;
    ocl_init(c, &o); // (copies the strings it keeps)
    for (int i = 0; i < n; i++) {
        if (olds[i])
            setenv(names[i], olds[i], 1);
        else
            unsetenv(names[i]);
        free(names[i]);
        free(olds[i]);
        free(values[i]);
    }
}

// 1 if every parameter tensor of a and b has the same bits.
static int same_params(net *a, net *b) {
    int same = net_tensor_count(a) == net_tensor_count(b);
    for (int i = 0; same && i < net_tensor_count(a); i++) {
        const net_tensor *t = net_tensor_at(a, i);
        float *x = malloc(t->count * sizeof(float)), *y = malloc(t->count * sizeof(float));
        net_get_tensor(a, i, x);
        net_get_tensor(b, i, y);
        same = memcmp(x, y, t->count * sizeof(float)) == 0;
        free(x);
        free(y);
    }
    return same;
}

int main(int argc, char **argv) {
    const char *channels = "32,64,128,64,32";
    int infer = 0, batch = 0, H = 50, W = 50, rounds = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--infer"))
            infer = 1;
        else if (!strcmp(argv[i], "--channels") && i + 1 < argc)
            channels = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc && sscanf(argv[i + 1], "%dx%d", &H, &W) == 2)
            i++;
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: [A_PIXLOC_...=...] [B_PIXLOC_...=...] step_ab [--infer] [--channels LIST] "
                            "[--batch N] [--size HxW] [--rounds R]\n");
            return 2;
        }
    }
    if (!batch) batch = infer ? 256 : 64;
    if (batch < 1 || H < 1 || W < 1 || rounds < 1 || rounds > 10000) {
        fprintf(stderr, "step_ab: --batch, --size and --rounds (at most 10000) must be positive\n");
        return 2;
    }
    net_config cfg;
    net_config_seed(&cfg);
    char err[256];
    if (net_config_channels(&cfg, channels, err, sizeof err) != 0) {
        fprintf(stderr, "step_ab: --channels: %s\n", err);
        return 2;
    }

    ocl_ctx c[2];
    net *n[2];
    side_init(&c[0], "A_");
    side_init(&c[1], "B_");
    for (int v = 0; v < 2; v++) {
        n[v] = net_create_kind(&c[v], &cfg, H, W, batch, infer ? NET_KIND_INFERENCE : NET_KIND_TRAINING);
        rng_state g;
        rng_seed(&g, 7);
        net_init(n[v], &g);
    }
    size_t px = (size_t)batch * (size_t)H * (size_t)W;
    float *img = malloc(px * sizeof(float)), *target = calloc(px, sizeof(float));
    float *heat[2] = {malloc(px * sizeof(float)), malloc(px * sizeof(float))};
    rng_state g;
    rng_seed(&g, 11);
    for (size_t i = 0; i < px; i++) img[i] = (float)rng_double(&g);
    for (int s = 0; s < batch; s++) target[(size_t)s * H * W + (size_t)(s * 37) % ((size_t)H * W)] = 1.0f;

    double *t[2] = {malloc((size_t)rounds * sizeof(double)), malloc((size_t)rounds * sizeof(double))};
    double *ratio = malloc((size_t)rounds * sizeof(double));
    for (int r = -2; r < rounds; r++) // 2 untimed rounds, then alternating order
        for (int i = 0; i < 2; i++) {
            int v = (r & 1) ? 1 - i : i;
            double t0 = now();
            if (infer) {
                net_set_batch(n[v], batch, img, NULL);
                net_forward(n[v], batch, BN_INFERENCE);
                net_read_heatmaps(n[v], batch, heat[v]);
            } else {
                net_set_batch(n[v], batch, img, target);
                net_forward(n[v], batch, BN_TRAINING);
                net_backward(n[v], batch);
                net_adam_step(n[v], 1e-3f);
                ocl_finish(&c[v]);
            }
            if (r >= 0) t[v][r] = now() - t0;
        }
    for (int r = 0; r < rounds; r++) ratio[r] = t[0][r] / t[1][r];
    qsort(t[0], (size_t)rounds, sizeof(double), cmp_double);
    qsort(t[1], (size_t)rounds, sizeof(double), cmp_double);
    qsort(ratio, (size_t)rounds, sizeof(double), cmp_double);
    int same = infer ? memcmp(heat[0], heat[1], px * sizeof(float)) == 0 : same_params(n[0], n[1]);
    const char *unit = infer ? "images/s" : "samples/s";
    printf("%s %s, batch %d, %dx%d, %d rounds: A %.1f %s, B %.1f %s (medians); B's speed / A's: median %.3f, "
           "quartiles %.3f-%.3f, range %.3f-%.3f; %s %s\n",
           infer ? "inference" : "training", channels, batch, H, W, rounds, batch / t[0][rounds / 2], unit,
           batch / t[1][rounds / 2], unit, ratio[rounds / 2], ratio[rounds / 4], ratio[(3 * rounds) / 4], ratio[0],
           ratio[rounds - 1], infer ? "heatmaps" : "parameters", same ? "the same bits" : "DIFFER");
    for (int v = 0; v < 2; v++) {
        net_free(n[v]);
        ocl_release(&c[v]);
        free(t[v]);
        free(heat[v]);
    }
    free(ratio);
    free(img);
    free(target);
    return same ? 0 : 3;
}
