// The device rule (include/runtime/device_rank.h) on made-up devices, so it is
// checked without the hardware: Mesa Clover's OpenCL C 1.1 GPU, an unavailable
// device, a GPU without a compiler, an integrated GPU listed before a discrete
// one, ties, and the selection's matches.
#include <string.h>

#include "device_rank.h"
#include "test_util.h"

#define GPU CL_DEVICE_TYPE_GPU
#define CPU CL_DEVICE_TYPE_CPU
#define ACC CL_DEVICE_TYPE_ACCELERATOR

// A usable device of a type, unified memory flag, compute units and clock.
static ocl_dev_props dev(cl_device_type t, int unified, unsigned cu, unsigned mhz) {
    ocl_dev_props d = {.type = t,
                       .available = 1,
                       .compiler = 1,
                       .clc_version = 12,
                       .unified = unified,
                       .compute_units = cu,
                       .clock_mhz = mhz};
    return d;
}

static int pick(const ocl_dev_props *d, int n) {
    int all[16];
    for (int i = 0; i < n; i++) all[i] = 1;
    return ocl_pick_device(d, all, n, NULL);
}

int main(void) {
    char why[256];

    // Version strings as drivers report them.
    CHECK(ocl_parse_clc_version("OpenCL C 1.2 PoCL") == 12, "PoCL");
    CHECK(ocl_parse_clc_version("OpenCL C 1.1 ") == 11, "Clover");
    CHECK(ocl_parse_clc_version("OpenCL C 3.0 ") == 30, "OpenCL C 3.0");
    CHECK(ocl_parse_clc_version("OpenCL 3.0 CUDA") == 30, "a CL_DEVICE_VERSION string");
    CHECK(ocl_parse_clc_version("OpenCL C 1.2 (Oclgrind 21.10)") == 12, "Oclgrind");
    CHECK(ocl_parse_clc_version("garbage") == 0 && ocl_parse_clc_version("") == 0 && ocl_parse_clc_version(NULL) == 0 &&
              ocl_parse_clc_version("OpenCL C x.y") == 0,
          "unparsable versions read as 0");

    // Skips, each with its reason.
    ocl_dev_props clover = dev(GPU, 0, 64, 1500);
    clover.clc_version = 11;
    CHECK(!ocl_device_skipped(&clover, why, sizeof why), "an OpenCL C 1.1 GPU (Mesa Clover) is usable: %s", why);
    ocl_dev_props old = clover;
    old.clc_version = 10;
    CHECK(ocl_device_skipped(&old, why, sizeof why) && strstr(why, "OpenCL C 1.0") && strstr(why, "1.1"),
          "OpenCL C 1.0 skipped, naming both versions: '%s'", why);
    ocl_dev_props unknown = clover;
    unknown.clc_version = 0;
    CHECK(ocl_device_skipped(&unknown, why, sizeof why) && strstr(why, "unknown"), "unknown version: '%s'", why);
    ocl_dev_props gone = dev(GPU, 0, 132, 1980);
    gone.available = 0;
    CHECK(ocl_device_skipped(&gone, why, sizeof why) && strstr(why, "not available"), "unavailable: '%s'", why);
    ocl_dev_props nocc = dev(GPU, 0, 132, 1980);
    nocc.compiler = 0;
    CHECK(ocl_device_skipped(&nocc, why, sizeof why) && strstr(why, "compiler"), "no compiler: '%s'", why);

    // An unavailable discrete GPU, then a CPU: the CPU.
    {
        ocl_dev_props d[] = {gone, dev(CPU, 1, 16, 3000)};
        CHECK(pick(d, 2) == 1, "unavailable GPU passed over (%d)", pick(d, 2));
    }
    // A GPU without a compiler beside a usable Clover GPU and a CPU: the Clover GPU.
    {
        ocl_dev_props d[] = {nocc, dev(CPU, 1, 16, 3000), clover};
        CHECK(pick(d, 3) == 2, "compiler-less GPU passed over for the 1.1 GPU (%d)", pick(d, 3));
    }
    // An integrated GPU listed first, with more compute units x clock, and a discrete one: the discrete.
    {
        ocl_dev_props d[] = {dev(GPU, 1, 96, 2400), dev(GPU, 0, 40, 1500)};
        CHECK(pick(d, 2) == 1, "discrete before integrated (%d)", pick(d, 2));
        ocl_dev_props e[] = {dev(GPU, 0, 40, 1500), dev(GPU, 1, 96, 2400)};
        CHECK(pick(e, 2) == 0, "discrete before integrated, other order (%d)", pick(e, 2));
    }
    // Two discrete GPUs: more compute units x clock first; a tie keeps the loader's order.
    {
        ocl_dev_props d[] = {dev(GPU, 0, 40, 1500), dev(GPU, 0, 132, 1980), dev(GPU, 0, 132, 1980)};
        CHECK(pick(d, 3) == 1, "larger GPU, earlier of a tie (%d)", pick(d, 3));
        ocl_dev_props e[] = {dev(GPU, 0, 80, 1000), dev(GPU, 0, 40, 2000)};
        CHECK(pick(e, 2) == 0, "a tie in compute units x clock keeps the first (%d)", pick(e, 2));
    }
    // Kinds: any GPU before a bigger CPU, a CPU before an accelerator; a unified CPU is no "integrated GPU".
    {
        ocl_dev_props d[] = {dev(CPU, 1, 192, 3700), dev(GPU, 1, 8, 1100)};
        CHECK(pick(d, 2) == 1, "an integrated GPU before a large CPU (%d)", pick(d, 2));
        ocl_dev_props e[] = {dev(ACC, 0, 1000, 1000), dev(CPU, 1, 2, 2000), dev(CPU, 0, 4, 2000)};
        CHECK(pick(e, 3) == 2, "CPUs before an accelerator, the larger CPU first (%d)", pick(e, 3));
    }
    // Only matching devices count; when everything that matches is skipped, -1 and how many matched.
    {
        ocl_dev_props d[] = {dev(GPU, 0, 132, 1980), gone, dev(CPU, 1, 2, 2000)};
        int match[] = {0, 1, 1}, n = -1;
        CHECK(ocl_pick_device(d, match, 3, &n) == 2 && n == 2, "the selection's matches only (n %d)", n);
        int only_gone[] = {0, 1, 0};
        CHECK(ocl_pick_device(d, only_gone, 3, &n) == -1 && n == 1, "a skipped match gives -1, 1 match (n %d)", n);
        int none[] = {0, 0, 0};
        CHECK(ocl_pick_device(d, none, 3, &n) == -1 && n == 0, "no match: -1, 0 matches (n %d)", n);
    }
    return t_summary();
}
