// `pixloc import`: a folder of labelled PNG/PGM images (and a labels CSV) into a dataset file,
// the same layout `pixloc generate` writes, for `pixloc train --data`.
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "import.h"
#include "labels.h"
#include "pixloc.h"
#include "trainer.h"

static void usage(void) {
    printf("Usage: pixloc import --images DIR --out FILE [--labels CSV] [--sigma S]\n\n"
           "Reads the images a labels CSV names and writes them, with their labels, as a dataset file\n"
           "for 'pixloc train --data FILE' (and eval, predict): the layout 'pixloc generate' writes,\n"
           "images F32 (N,H,W) in [0,1] and coords I32 (N,2) as (x, y), in the CSV's row order.\n\n"
           "  --images DIR   the folder of images; the CSV's file names are relative to it\n"
           "  --labels CSV   the labels [DIR/labels.csv]\n"
           "  --out FILE     the dataset (safetensors; written atomically, never over an input)\n"
           "  --sigma S      label heatmap sigma in pixels, kept in the file: the training targets'\n"
           "                 width where the training preset leaves it to the data (train --preset\n"
           "                 seed); the default and accurate presets use 0.8 (train --sigma) [1.8]\n\n"
           "The CSV (read with libcsv): one row file,x,y per image, optionally after a header line\n"
           "file,x,y (in any letter case). x is the column and y the row of the bright pixel, 0-based\n"
           "whole numbers (pixel indices: 0,0 is the top-left pixel). Fields may be quoted as in\n"
           "RFC 4180 (\"a,b.png\", a doubled \"\" for a quote); line ends LF, CRLF or CR; a UTF-8 byte\n"
           "order mark, blank lines and spaces around unquoted fields are ignored. File names may use\n"
           "subfolders but not an absolute path or '..'. 'pixloc generate --png DIR' writes such a CSV.\n\n"
           "Images: PNG (8 or 16 bits; gray, or colour converted to gray with BT.601 weights, alpha\n"
           "dropped) or PGM (P2/P5), all of one size; a value v becomes v/255 (8-bit), v/65535\n"
           "(16-bit PNG) or v/maxval (PGM). An 8-bit PNG that 'pixloc generate --png' wrote reads back\n"
           "as the generated image rounded to 1/255 steps, with the same coordinates.\n\n"
           "Errors (exit status 2) name the CSV line: a malformed line (not 3 fields, x or y not a\n"
           "whole number, bad quoting), a missing or unreadable image, one listed twice, one of\n"
           "another size than the first (both named, with their sizes), a label outside the image;\n"
           "an empty CSV is an error too.\n\n"
           "'pixloc train --data FILE' splits the file as the seed notebook did: 20%% test (rounded\n"
           "up), then the last 10%% of the rest for validation, by a permutation from --seed [42];\n"
           "the split is printed here. The file's recipe metadata holds only the size and --sigma\n"
           "(the generator's other fields are the defaults and describe nothing), so train it without\n"
           "--fresh-data, which would replace its images with synthetic ones.\n");
}

int cmd_import(int argc, char **argv) {
    const char *images = NULL, *labels = NULL, *out = NULL;
    double sigma = 1.8;
    enum { O_IMAGES = 256, O_LABELS, O_OUT, O_SIGMA, O_HELP };
    static const struct option opts[] = {
        {"images", required_argument, 0, O_IMAGES}, {"labels", required_argument, 0, O_LABELS},
        {"out", required_argument, 0, O_OUT},       {"sigma", required_argument, 0, O_SIGMA},
        {"help", no_argument, 0, O_HELP},           {0, 0, 0, 0}};
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_IMAGES: images = cli_path("--images", optarg); break;
        case O_LABELS: labels = cli_path("--labels", optarg); break;
        case O_OUT: out = cli_path("--out", optarg); break;
        case O_SIGMA: sigma = cli_double("--sigma", optarg, 1e-3, 1e4); break;
        case O_HELP: usage(); return PX_EXIT_OK;
        default: cli_usage_error("import", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) cli_usage_error("import", "unexpected argument '%s'", argv[optind]);
    if (!images) cli_usage_error("import", "--images DIR is required");
    if (!out) cli_usage_error("import", "--out FILE is required");
    char *default_labels = NULL;
    if (!labels) {
        size_t n = strlen(images) + sizeof "/labels.csv";
        default_labels = px_malloc(n, "labels path");
        snprintf(default_labels, n, "%s/labels.csv", images);
        labels = default_labels;
    }
    struct stat os;
    if (stat(out, &os) == 0 && S_ISDIR(os.st_mode))
        px_die(PX_EXIT_USAGE, "--out %s is a folder: name the dataset file to write (e.g. %s/data.safetensors)", out,
               out);
    if (px_check_writable(out) != 0) px_die(PX_EXIT_FAIL, "--out %s: cannot write there: %s", out, strerror(errno));

    char err[2048];
    double t0 = px_now();
    dataset d;
    if (dataset_import(&d, images, labels, sigma, out, err, sizeof err) != 0) px_die(PX_EXIT_USAGE, "%s", err);
    double t1 = px_now();
    printf("read %d image%s, %d wide and %d high (--size %dx%d), listed in %s in %.2f s\n", d.N, d.N == 1 ? "" : "s",
           d.W, d.H, d.H, d.W, labels, t1 - t0);
    if (dataset_save(&d, out, 0, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    double mb = (double)d.N * d.H * d.W * sizeof(float) / 1e6;
    printf("wrote %s (%.1f MB)\n", out, mb);
    // What `pixloc train --data` will do with it: the trainer's split with its default seed.
    train_settings ts;
    train_settings_preset(&ts, "default");
    splits sp;
    dataset_split(d.N, ts.seed, ts.test_frac, ts.val_frac, &sp);
    printf("pixloc train --data %s splits it into train %d / validation %d / test %d (with --seed %u)\n", out,
           sp.n_train, sp.n_val, sp.n_test, ts.seed);
    splits_free(&sp);
    dataset_free(&d);
    free(default_labels);
    return PX_EXIT_OK;
}
