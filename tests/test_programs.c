// Program lifetime: a layer owns the programs it builds and gives them back when it
// is freed; the programs no layer holds are kept for reuse, at most
// OCL_PROGRAM_MEMO_MAX of them. Nets of 30 image sizes are built and freed in one
// context: while a net lives the context counts exactly the references its layers
// hold (the same number at every size), after net_free none, and the kept programs
// never exceed the bound (30 sizes' conv programs exceed it, so some are freed).
// A network's first layer builds its input-gradient program at its first use
// (conv3x3_create_input_layer). A deliberate leak shows in the count.
#include <stdio.h>
#include <string.h>

#include "conv.h"
#include "layout.h"
#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "test_util.h"

enum { SIZES = 30 };

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    ocl_options_from_env(&o);
    o.quiet = 1;
    o.conv_variant = "cpu"; // the same layers on every device
    ocl_init(&c, &o);
    CHECK(c.programs_owned == 0 && c.programs_cached == 0, "a new context holds no programs");

    net_config cfg;
    char err[256];
    net_config_seed(&cfg);
    CHECK(net_config_channels(&cfg, "2", err, sizeof err) == 0, "one block of 2 channels: %s", err);
    int per_net = -1;
    for (int i = 0; i < SIZES; i++) {
        int H = 5 + i, W = 4 + (i * 7) % 11;
        net *n = net_create(&c, &cfg, H, W, 1);
        if (per_net < 0) per_net = c.programs_owned;
        CHECK(c.programs_owned == per_net, "%dx%d: %d program references held, %d at the first size", H, W,
              c.programs_owned, per_net);
        net_free(n);
        CHECK(c.programs_owned == 0, "%dx%d: %d program references left after net_free", H, W, c.programs_owned);
        CHECK(c.programs_cached <= OCL_PROGRAM_MEMO_MAX, "%dx%d: %d programs kept, over the bound %d", H, W,
              c.programs_cached, OCL_PROGRAM_MEMO_MAX);
        CHECK(ocl_program_count(&c) == c.programs_cached, "%dx%d: %d programs alive, %d counted", H, W,
              ocl_program_count(&c), c.programs_cached);
    }
    // The conv's forward (its input gradient, a first layer's, is not built: nothing asked for
    // it), batch norm, head, Adam, the batch gather.
    CHECK(per_net == 5, "a one-block net holds %d program references (5 expected)", per_net);
    CHECK(c.programs_cached == OCL_PROGRAM_MEMO_MAX, "%d programs kept after %d sizes (the bound %d expected)",
          c.programs_cached, SIZES, OCL_PROGRAM_MEMO_MAX);

    // Kept programs are reused: the last size again builds nothing.
    int builds = c.builds, hits = c.cache_hits, misses = c.cache_misses;
    net *n = net_create(&c, &cfg, 5 + SIZES - 1, 4 + ((SIZES - 1) * 7) % 11, 1);
    CHECK(c.builds == builds && c.cache_hits == hits && c.cache_misses == misses, "kept programs reused");
    net_free(n);

    // A first layer's input-gradient program: built by its first backward_input, not before.
    conv3x3_params fp = conv3x3_default_params(&c, 2, 3, 6, 6);
    conv3x3 *first = conv3x3_create_input_layer(&c, 1, 2, 3, 6, 6, &fp);
    int at_create = c.programs_owned;
    act_layout lx = act_layout_make(1, 2, 6, 6), ly = act_layout_make(1, 3, 6, 6);
    cl_mem dy = ocl_buffer(&c, "dy", act_floats(&ly) * sizeof(float));
    cl_mem dx = ocl_buffer(&c, "dx", act_floats(&lx) * sizeof(float));
    cl_mem w = ocl_buffer(&c, "w", 9 * 2 * 3 * sizeof(float));
    conv3x3_backward_input(first, 1, dy, w, 0, dx);
    ocl_finish(&c);
    CHECK(c.programs_owned == at_create + 1,
          "first layer: %d program references at create, %d after backward_input "
          "(one more expected)",
          at_create, c.programs_owned);
    conv3x3_free(first);
    CHECK(c.programs_owned == 0, "first layer freed: %d references left", c.programs_owned);
    ocl_free(&dy);
    ocl_free(&dx);
    ocl_free(&w);

    // A deliberate leak (a program taken and never given back) shows.
    cl_program leak = ocl_program(&c, "batch.cl", "");
    conv3x3 *k = conv3x3_create(&c, 1, 2, 3, 6, 6);
    conv3x3_free(k);
    CHECK(c.programs_owned == 1, "one leaked reference counted (%d)", c.programs_owned);
    ocl_program_release(&c, &leak);
    CHECK(c.programs_owned == 0 && leak == NULL, "given back");
    ocl_release(&c);
    CHECK(c.programs == NULL && c.programs_cached == 0, "ocl_release frees every program");
    printf("OK     program lifetime over %d image sizes (%d references per net, at most %d kept)\n", SIZES, per_net,
           OCL_PROGRAM_MEMO_MAX);
    return t_summary();
}
