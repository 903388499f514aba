// One training step of the seed network (batch 64, 50x50) on the chosen device,
// timed per op: gather, conv forward / backward (weights, input), BN forward /
// backward, head, loss, Adam. Each op is followed by clFinish while profiling, so
// the split adds launch gaps; the unprofiled step time is printed too.
//
// Build (after building build-net):
//   cc -O2 -Iinclude bench/bench_step.c build-net/libpixloc_core.a -lOpenCL -lpng -lcjson
//      -lplplot -lm -lpthread -o build-net/bench_step      (one line)
// Run: build-net/bench_step [batch] [steps]
#include <stdio.h>
#include <stdlib.h>

#include "net.h"
#include "ocl.h"
#include "pixloc.h"
#include "rng.h"

int main(int argc, char **argv) {
    ocl_options o = {0};
    ocl_options_from_args(&o, &argc, argv);
    int B = argc > 1 ? atoi(argv[1]) : 64, steps = argc > 2 ? atoi(argv[2]) : 3;
    const int H = 50, W = 50;
    ocl_ctx c;
    ocl_init(&c, &o);
    net_config cfg;
    net_config_seed(&cfg);
    net *n = net_create(&c, &cfg, H, W, B);
    rng_state g;
    rng_seed(&g, 1);
    net_init(n, &g);
    float *img = malloc((size_t)B * H * W * sizeof(float)), *heat = malloc((size_t)B * H * W * sizeof(float));
    for (size_t i = 0; i < (size_t)B * H * W; i++) {
        img[i] = (float)rng_double(&g);
        heat[i] = (float)rng_double(&g) * 0.01f;
    }
    float loss, mae;
    // Warm-up: compiles kernels and picks work-group sizes.
    net_set_batch(n, B, img, heat);
    net_forward(n, B, 1);
    net_loss(n, B, &loss, &mae);
    net_backward(n, B);
    net_adam_step(n, 1e-3f);
    ocl_finish(&c);

    double t0 = px_now();
    for (int s = 0; s < steps; s++) {
        net_set_batch(n, B, img, heat);
        net_forward(n, B, 1);
        net_loss(n, B, &loss, &mae);
        net_backward(n, B);
        net_adam_step(n, 1e-3f);
    }
    ocl_finish(&c);
    double step = (px_now() - t0) / steps;
    printf("%s: batch %d, unprofiled step %.3f s (%.1f samples/s), loss %.5f\n", c.device_name, B, step,
           B / step, loss);

    net_profile(n, 1);
    for (int s = 0; s < steps; s++) {
        net_set_batch(n, B, img, heat);
        net_forward(n, B, 1);
        net_loss(n, B, &loss, &mae);
        net_backward(n, B);
        net_adam_step(n, 1e-3f);
    }
    printf("per op (mean of %d profiled steps):\n", steps);
    net_profile_report(n, stdout);
    net_free(n);
    free(img);
    free(heat);
    ocl_release(&c);
    return 0;
}
