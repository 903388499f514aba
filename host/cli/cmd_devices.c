// `pixloc devices`: every OpenCL platform and device, and the default choice.
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ocl.h"
#include "pixloc.h"

int cmd_devices(int argc, char **argv) {
    ocl_options o = {0};
    ocl_options_from_args(&o, &argc, argv);
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'h') {
            printf("Usage: pixloc devices [--platform P] [--device D] [--device-type T]\n\n"
                   "Lists every OpenCL platform and device with its index, name, vendor, type (GPUs:\n"
                   "integrated or discrete), OpenCL and OpenCL C version, driver version, compute units\n"
                   "and clock, global memory and largest allocation, and marks [default] the device the\n"
                   "other commands would use with the same selection flags. A device pixloc cannot use\n"
                   "(not available, no compiler, OpenCL C below 1.1) gets a 'skipped:' line saying why.\n"
                   "Exits 2 when the selection matches no usable device.\n\n%s",
                   OCL_OPTIONS_HELP);
            return PX_EXIT_OK;
        }
        cli_usage_error("devices", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc) cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);
    return ocl_list_devices(&o, OCL_UNTUNED_NOTE);
}
