// `pixloc export`: a checkpoint's network as an ONNX model (host/export/onnx_export.c), for
// onnxruntime, OpenCV's dnn module or any other ONNX runtime. Needs no OpenCL device.
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "onnx_export.h"
#include "pixloc.h"
#include "safetensors.h"

static void usage(void) {
    printf("Usage: pixloc export --model CKPT|RUN_DIR --onnx FILE\n\n"
           "Writes the trained network as an ONNX model (opset %d, IR version %d): input 'image',\n"
           "float32 N x 1 x H x W with pixel values 0..1 (8-bit / 255, as 'pixloc predict' reads\n"
           "images); output 'heatmap', float32 N x 1 x H x W, whose argmax is the bright pixel.\n"
           "N, H and W are free (dynamic). The layers are those of the checkpoint: per block a 3x3\n"
           "convolution with bias and zero padding 1, then ReLU and batch normalisation with the\n"
           "moving statistics (a BatchNormalization node) where the block has them; then the 1x1\n"
           "convolution head and Sigmoid. The file is written atomically (a temporary file renamed\n"
           "over FILE). No OpenCL device is used.\n\n"
           "  --model P    checkpoint file, or a run directory (uses its best.safetensors)\n"
           "  --onnx FILE  the ONNX file to write\n",
           ONNX_EXPORT_OPSET, ONNX_EXPORT_IR_VERSION);
}

int cmd_export(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    enum { O_MODEL = 256, O_ONNX, O_HELP };
    static const struct option opts[] = {{"model", required_argument, 0, O_MODEL},
                                         {"onnx", required_argument, 0, O_ONNX},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_MODEL: model = cli_path("--model", optarg); break;
        case O_ONNX: out = cli_path("--onnx", optarg); break;
        case O_HELP: usage(); return PX_EXIT_OK;
        default: cli_usage_error("export", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
    if (!model) cli_usage_error("export", "--model CKPT is required");
    if (!out) cli_usage_error("export", "--onnx FILE is required (the ONNX model to write)");

    char path[2048], err[1024];
    checkpoint_resolve(model, "best", path, sizeof path);
    train_settings s;
    if (checkpoint_read_settings(path, &s, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    if (px_same_file(out, path))
        px_die(PX_EXIT_USAGE, "--onnx %s is the checkpoint being exported: choose another file", out);
    if (px_check_writable(out) != 0) px_die(PX_EXIT_FAIL, "--onnx %s: cannot write there: %s", out, strerror(errno));
    st_file *f = st_open(path, err, sizeof err);
    if (!f) px_die(PX_EXIT_FAIL, "%s", err);
    int rc = onnx_export_write(&s.net, f, path, out, err, sizeof err);
    st_close(f);
    if (rc != 0) px_die(PX_EXIT_FAIL, "%s", err);
    printf("wrote %s (ONNX opset %d, %d blocks) from %s\n", out, ONNX_EXPORT_OPSET, s.net.nblocks, path);
    if (s.net.input_filter != NET_FILTER_NONE)
        px_warn("the model was trained with --input-filter %s, which the ONNX graph does not contain: apply it to "
                "the images before the graph (the model's doc string says how; metadata pixloc_input_filter)",
                input_filter_name(s.net.input_filter));
    return PX_EXIT_OK;
}
