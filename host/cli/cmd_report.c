// `pixloc report RUN_DIR`: writes RUN_DIR/report/ (see report.h) and prints the
// path of its index.html.
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pixloc.h"
#include "report.h"

int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'h') {
            printf("Usage: pixloc report RUN_DIR\n\n"
                   "Writes RUN_DIR/report/ from what `pixloc train` left in RUN_DIR:\n"
                   "  index.html   one self-contained page: settings, device, timing, metrics\n"
                   "               (train/val/test and two baselines), the history per epoch\n"
                   "  loss.png     training and validation loss per epoch (log scale)\n"
                   "  mae.png      training and validation MAE per epoch (log scale)\n"
                   "  samples.png  test inputs with true and predicted heatmaps, worst misses\n"
                   "  errors.png   histograms of |x|, |y| and Euclidean errors on the test set\n\n"
                   "Needs config.json and history.csv; metrics.json and\n"
                   "report_samples.safetensors are optional (their sections are left out).\n"
                   "Prints the path of index.html.\n");
            return PX_EXIT_OK;
        }
        cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind >= argc) cli_usage_error("report", "missing RUN_DIR");
    if (optind + 1 < argc) cli_usage_error("report", "unexpected argument '%s'", argv[optind + 1]);
    const char *run_dir = argv[optind];
    char err[1024];
    if (report_write(run_dir, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    size_t n = strlen(run_dir);
    printf("%s%sreport/index.html\n", run_dir, n && run_dir[n - 1] == '/' ? "" : "/");
    return PX_EXIT_OK;
}
