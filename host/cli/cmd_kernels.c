// `pixloc kernels`: writes every program the host would build for a device type and
// network (expanded source and exact build options) without that device: for
// compiling them offline for GPUs (tests/gpu_compile.sh) and for reading them.
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "conv.h"
#include "net.h"
#include "ocl.h"
#include "pixloc.h"

static void usage(void) {
    printf("Usage: pixloc kernels --out DIR [--device-type gpu|cpu] [--channels LIST] [--size HxW]\n"
           "                      [--batch-size N] [--conv-variant cpu|gpu|winograd|gpu_tiled]\n"
           "                      [--wino-m 2|4] [--kernel-dir DIR]\n\n"
           "Writes every OpenCL program pixloc would build for a device of that type and this network,\n"
           "with no such device needed (no OpenCL call is made): for each program NN-NAME.cl (the\n"
           "kernel file with its #include lines expanded, as the host hands it to the driver) and\n"
           "NN-NAME.options (the exact build options: the layer's -D defines and -DPX_GPU), and\n"
           "programs.tsv (index, file, options). Each layer's parameters are the device type's\n"
           "defaults (nothing tuned; a variant forced only by --conv-variant). A GPU is taken to allow\n"
           "work-groups of 256 and 48 KiB of local memory (what NVIDIA, AMD and Intel GPUs all give).\n\n"
           "  --out DIR            directory to write (created if missing)\n"
           "  --device-type T      gpu or cpu [gpu]\n"
           "  --channels LIST      conv widths [32,64,128,64,32]\n"
           "  --size HxW           image size [50x50]\n"
           "  --batch-size N       largest batch (sizes the Winograd scratch) [64]\n"
           "  --conv-variant cpu|gpu|winograd|gpu_tiled\n"
           "                       every conv layer's variant, as PIXLOC_CONV_VARIANT forces it [the\n"
           "                       device type's default per layer]\n"
           "  --wino-m 2|4         the Winograd layers' output tiles in every direction (forward, input\n"
           "                       and weight gradient): F(2x2,3x3) or F(4x4,3x3), as PIXLOC_WINO_M forces\n"
           "                       them [on CPUs: training forwards 2, gradients 4, inference networks 4;\n"
           "                       Winograd on GPUs: 2]\n"
           "  --kernel-dir DIR     read kernel sources from DIR instead of the built-in copies\n");
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (px_write_file_atomic(path, text, strlen(text)) != 0)
        px_die(PX_EXIT_FAIL, "kernels: cannot write %s: %s", path, strerror(errno));
}

int cmd_kernels(int argc, char **argv) {
    cli_net_shape net;
    cli_net_shape_default(&net);
    const char *out = NULL, *type = "gpu", *kernel_dir = NULL;
    int variant = -1, wino_m = 0;
    enum { O_OUT = 256, O_TYPE, O_BATCH, O_CHANNELS, O_SIZE, O_KDIR, O_VARIANT, O_WINO_M, O_HELP };
    static const struct option opts[] = {{"out", required_argument, 0, O_OUT},
                                         {"device-type", required_argument, 0, O_TYPE},
                                         {"batch-size", required_argument, 0, O_BATCH},
                                         {"channels", required_argument, 0, O_CHANNELS},
                                         {"size", required_argument, 0, O_SIZE},
                                         {"kernel-dir", required_argument, 0, O_KDIR},
                                         {"conv-variant", required_argument, 0, O_VARIANT},
                                         {"wino-m", required_argument, 0, O_WINO_M},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int ch, idx = 0;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        switch (ch) {
        case O_OUT: out = cli_path("--out", optarg); break;
        case O_TYPE: type = optarg; break;
        case O_BATCH:
        case O_CHANNELS:
        case O_SIZE: cli_net_shape_flag(&net, opts[idx].name, optarg); break;
        case O_KDIR: kernel_dir = cli_path("--kernel-dir", optarg); break;
        case O_VARIANT:
            if ((variant = conv3x3_variant_parse(optarg)) < 0)
                cli_usage_error("kernels", "--conv-variant '%s' is not cpu, gpu, winograd or gpu_tiled", optarg);
            break;
        case O_WINO_M:
            if ((wino_m = conv3x3_wino_m_parse(optarg)) < 0)
                cli_usage_error("kernels", "--wino-m '%s' is not 2 or 4", optarg);
            break;
        case O_HELP: usage(); return PX_EXIT_OK;
        default: cli_usage_error("kernels", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) cli_usage_error("kernels", "unexpected argument '%s'", argv[optind]);
    if (!out) cli_usage_error("kernels", "--out DIR is required");
    ocl_target t;
    if (ocl_target_hypothetical(type, &t) != 0)
        cli_usage_error("kernels", "--device-type '%s' is not gpu or cpu", type);

    ocl_program_list *list = px_calloc(1, sizeof *list, "program list");
    net_programs_variant(&t, &net.cfg, net.H, net.W, net.batch, variant, wino_m, list);
    if (px_mkdirs(out) != 0) px_die(PX_EXIT_FAIL, "kernels: cannot create %s: %s", out, strerror(errno));
    ocl_ctx sources = {0}; // only its kernel directory: ocl_source reads no device
    if (kernel_dir) snprintf(sources.kernel_dir, sizeof sources.kernel_dir, "%s", kernel_dir);
    px_sbuf index = {0};
    for (int i = 0; i < list->n; i++) {
        const ocl_program_spec *s = &list->s[i];
        char *src = ocl_source(&sources, s->file);
        if (!src)
            px_die(PX_EXIT_FAIL, "kernels: kernel source cl/%s not found (%s)", s->file,
                   kernel_dir ? kernel_dir : "built-in sources");
        char stem[64], name[96];
        snprintf(stem, sizeof stem, "%s", s->file);
        char *dot = strrchr(stem, '.');
        if (dot) *dot = '\0';
        snprintf(name, sizeof name, "%02d-%s.cl", i, stem);
        write_text(out, name, src);
        free(src);
        snprintf(name, sizeof name, "%02d-%s.options", i, stem);
        char opt[OCL_PROGRAM_OPTIONS_MAX + 2];
        snprintf(opt, sizeof opt, "%s\n", s->options);
        write_text(out, name, opt);
        px_sbuf_printf(&index, "%02d\t%s\t%s\n", i, s->file, s->options);
    }
    write_text(out, "programs.tsv", index.s ? index.s : "");
    free(index.s);
    printf("wrote %d programs for a %s (channels %s, %dx%d, batch %d%s%s) to %s\n", list->n, t.gpu ? "GPU" : "CPU",
           net.channels, net.H, net.W, net.batch, variant < 0 ? "" : ", conv variant ",
           variant < 0 ? "" : conv3x3_variant_name(variant), out);
    free(list);
    return PX_EXIT_OK;
}
