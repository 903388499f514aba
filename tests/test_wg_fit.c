// The work-group fit rule (include/runtime/wg_fit.h) on made-up limits: each
// limit refused with its name, a reqd_work_group_size kernel fits only its own
// size, and the shrink mode halves to a size within every limit.
#include <string.h>

#include "test_util.h"
#include "wg_fit.h"

// A GPU-like device: 1024 x 1024 x 64 items, 1024 per group, 48 KiB local memory;
// a kernel whose registers allow 256 work-items.
static ocl_wg_limits gpu(void) {
    ocl_wg_limits l = {.max_item = {1024, 1024, 64},
                       .max_wg = 1024,
                       .kernel_wg = 256,
                       .kernel_local_mem = 4096,
                       .device_local_mem = 48 * 1024};
    return l;
}

int main(void) {
    char why[512];
    ocl_wg_limits g = gpu();

    size_t a[3] = {16, 16, 1};
    CHECK(ocl_wg_fit(&g, 2, a, OCL_FIT_EXACT, why, sizeof why) && why[0] == 0, "16x16 fits: %s", why);
    size_t b[3] = {32, 16, 1};
    CHECK(!ocl_wg_fit(&g, 2, b, OCL_FIT_EXACT, why, sizeof why) && strstr(why, "CL_KERNEL_WORK_GROUP_SIZE") &&
              strstr(why, "512") && strstr(why, "256"),
          "32x16 over the kernel's 256: '%s'", why);
    CHECK(b[0] == 32 && b[1] == 16, "exact mode leaves local alone");
    size_t c[1] = {2048};
    g.kernel_wg = 0; // unknown: the device limits still apply
    CHECK(!ocl_wg_fit(&g, 1, c, OCL_FIT_EXACT, why, sizeof why) && strstr(why, "CL_DEVICE_MAX_WORK_ITEM_SIZES"),
          "2048 over the dimension's 1024: '%s'", why);
    size_t d[3] = {1, 1, 128};
    CHECK(!ocl_wg_fit(&g, 3, d, OCL_FIT_EXACT, why, sizeof why) && strstr(why, "dimension 2"),
          "128 in the third dimension over its 64: '%s'", why);
    size_t e[2] = {64, 32};
    CHECK(!ocl_wg_fit(&g, 2, e, OCL_FIT_EXACT, why, sizeof why) && strstr(why, "CL_DEVICE_MAX_WORK_GROUP_SIZE"),
          "64x32 = 2048 over the device's 1024: '%s'", why);
    g = gpu();
    g.kernel_local_mem = 64 * 1024;
    size_t f[1] = {64};
    CHECK(!ocl_wg_fit(&g, 1, f, OCL_FIT_EXACT, why, sizeof why) && strstr(why, "CL_DEVICE_LOCAL_MEM_SIZE"),
          "64 KiB of local memory on a 48 KiB device: '%s'", why);
    CHECK(!ocl_wg_fit(&g, 1, f, OCL_FIT_SHRINK, why, sizeof why), "local memory: shrinking the group cannot help");

    // reqd_work_group_size(16, 16, 1): that size only, even when shrinking.
    g = gpu();
    g.reqd[0] = 16;
    g.reqd[1] = 16;
    g.reqd[2] = 1;
    size_t r1[2] = {16, 16}, r2[2] = {8, 8};
    CHECK(ocl_wg_fit(&g, 2, r1, OCL_FIT_EXACT, why, sizeof why), "its own reqd size fits: %s", why);
    CHECK(!ocl_wg_fit(&g, 2, r2, OCL_FIT_SHRINK, why, sizeof why) && strstr(why, "reqd_work_group_size") &&
              strstr(why, "16x16"),
          "another size is refused: '%s'", why);

    // Shrink: 1024 element-wise work-items on the kernel's 256 -> 256; 2-D halves the larger side.
    g = gpu();
    size_t s1[1] = {1024};
    CHECK(ocl_wg_fit(&g, 1, s1, OCL_FIT_SHRINK, why, sizeof why) && s1[0] == 256, "1024 -> %zu", s1[0]);
    size_t s2[2] = {64, 16};
    CHECK(ocl_wg_fit(&g, 2, s2, OCL_FIT_SHRINK, why, sizeof why) && s2[0] * s2[1] <= 256 && s2[0] == 16 && s2[1] == 16,
          "64x16 -> %zux%zu", s2[0], s2[1]);
    // A small device: 8 items in dimension 1, 32 per group.
    ocl_wg_limits small = {.max_item = {32, 8, 1}, .max_wg = 32, .kernel_wg = 0, .device_local_mem = 16384};
    size_t s3[2] = {16, 16};
    CHECK(ocl_wg_fit(&small, 2, s3, OCL_FIT_SHRINK, why, sizeof why) && s3[1] <= 8 && s3[0] * s3[1] <= 32,
          "16x16 on a 32-item device -> %zux%zu", s3[0], s3[1]);
    size_t s4[1] = {0};
    CHECK(ocl_wg_fit(&small, 1, s4, OCL_FIT_SHRINK, why, sizeof why) && s4[0] == 1, "0 -> 1 (%zu)", s4[0]);
    CHECK(!ocl_wg_fit(&small, 4, s4, OCL_FIT_EXACT, why, sizeof why), "4 dimensions refused");
    return t_summary();
}
