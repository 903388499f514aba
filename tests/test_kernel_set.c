// The program set `pixloc kernels` writes is the one the host builds: for the GPU
// and the CPU kernel profile (PIXLOC_KERNEL_PROFILE, on whatever device runs the
// tests), a net is created and the (file, exact options) of every program in the
// context's registry must equal net_programs' list for the context's target, and
// vice versa. The net has a block without batch norm (relu.cl), one 1-channel
// side and awkward sizes, so every layer kind and the narrow-layer tiles are listed.
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "test_util.h"
#include "tuning.h"

static int listed(const ocl_program_list *l, const ocl_program_spec *s) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->s[i].file, s->file) && !strcmp(l->s[i].options, s->options)) return 1;
    return 0;
}

static void check_profile(const char *profile) {
    ocl_options o = {0};
    ocl_options_from_env(&o);
    o.quiet = 1;
    o.conv_variant = NULL; // the defaults of the profile, untuned
    o.no_cache = 0;
    o.kernel_profile = profile;
    ocl_ctx c;
    ocl_init(&c, &o);
    CHECK(c.target.gpu == !strcmp(profile, "gpu"), "%s profile: target.gpu = %d", profile, c.target.gpu);
    c.tuning->loaded = 1; // an empty tuning store: the defaults, whatever this machine has tuned

    net_config cfg;
    char err[256];
    net_config_seed(&cfg);
    CHECK(net_config_channels(&cfg, "3,33,40,2", err, sizeof err) == 0, "channels: %s", err);
    cfg.bn[2] = 0; // ReLU alone: relu.cl
    net *n = net_create(&c, &cfg, 7, 5, 3);
    static ocl_program_list built, want;
    ocl_program_registry(&c, &built);
    want.n = 0;
    net_programs(&c.target, &cfg, 7, 5, 3, &want);
    CHECK(built.n == want.n, "%s profile: %d programs built, %d listed", profile, built.n, want.n);
    for (int i = 0; i < built.n; i++)
        CHECK(listed(&want, &built.s[i]), "%s profile: built but not listed: %s %s", profile, built.s[i].file,
              built.s[i].options);
    for (int i = 0; i < want.n; i++)
        CHECK(listed(&built, &want.s[i]), "%s profile: listed but not built: %s %s", profile, want.s[i].file,
              want.s[i].options);
    net_free(n);
    ocl_release(&c);
}

int main(void) {
    check_profile("gpu");
    check_profile("cpu");
    return t_summary();
}
