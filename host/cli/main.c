// pixloc: find the one bright pixel in a noisy image with a heatmap CNN trained
// and run through OpenCL on any vendor's device. This file dispatches subcommands.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ocl_flags.h"
#include "pixloc.h"
#include "prewarm.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"devices", cmd_devices, "list OpenCL platforms and devices, and which one is chosen by default"},
    {"generate", cmd_generate, "write a synthetic dataset (the seed's recipe) to a safetensors file"},
    {"import", cmd_import, "turn a folder of labelled PNG/PGM images (a file,x,y CSV) into a dataset file"},
    {"train", cmd_train, "train the heatmap CNN (generates the data, or --data FILE), write a run directory"},
    {"eval", cmd_eval, "coordinate metrics of a checkpoint on train/val/test, beside two classical baselines"},
    {"predict", cmd_predict, "bright-pixel coordinates of PNG/PGM images or a dataset file"},
    {"export", cmd_export, "write a checkpoint's network as an ONNX model (onnxruntime, OpenCV dnn)"},
    {"report", cmd_report, "write RUN_DIR/report/: training curves, sample heatmaps, error histograms, index.html"},
    {"bench", cmd_bench, "time training and inference steps and each convolution on the selected device"},
    {"tune", cmd_tune, "time kernel variants on the selected device and remember the fastest"},
    {"kernels", cmd_kernels, "write the OpenCL programs pixloc builds for a device type, without the device"},
};
#define NCOMMANDS (int)(sizeof COMMANDS / sizeof *COMMANDS)

static void usage(FILE *f) {
    fprintf(f,
            "pixloc %s — find the one bright pixel in a noisy image, with a heatmap CNN on OpenCL\n\n"
            "Usage: pixloc COMMAND [OPTIONS]\n\nCommands:\n",
            PIXLOC_VERSION);
    for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f,
            "\nRun 'pixloc COMMAND --help' for a command's options.\n"
            "  --help      this text\n"
            "  --version   print the version\n\n%s",
            OCL_OPTIONS_HELP);
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return PX_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return PX_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("pixloc %s\n", PIXLOC_VERSION);
        return PX_EXIT_OK;
    }
    if (strcmp(cmd, "__prewarm") == 0) return cmd_prewarm(argc - 1, argv + 1); // internal: prewarm.h
    if (strcmp(cmd, "__prewarm-train") == 0) return cmd_prewarm_train(argc - 1, argv + 1);
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(cmd, COMMANDS[i].name) == 0) return COMMANDS[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "pixloc: error: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return PX_EXIT_USAGE;
}

int main(int argc, char **argv) {
    stdout_guard_begin();
    return stdout_guard_end(dispatch(argc, argv));
}
