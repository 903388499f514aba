#include <errno.h>
// `pixloc eval`: coordinate metrics of a checkpoint on the seed's train/val/test
// split (or a whole dataset file), beside the brightest-pixel and matched-filter baselines.
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "evaluate.h"
#include "net.h"
#include "ocl.h"
#include "pixloc.h"
#include "prewarm.h"

static void usage(void) {
    printf("Usage: pixloc eval --model CKPT|RUN_DIR [--data FILE] [--split S] [--batch-size N] [--tta]\n"
           "                   [--json] [--out FILE]\n\n"
           "Predicts coordinates by argmax of the heatmap (the first maximum in row-major order, as\n"
           "numpy does) and reports MAE, MSE, RMSE (sklearn's convention: x and y averaged together),\n"
           "mean/std/median/95th percentile/max Euclidean error, exact-hit and within-1-pixel rates.\n"
           "Without --data the checkpoint's own dataset is regenerated from its recipe and seed and\n"
           "scored on its train, validation and test parts; with --data FILE the whole file is scored.\n"
           "The brightest-pixel and matched-filter baselines are scored on the test part (or the file).\n\n"
           "  --model P        checkpoint file, or a run directory (uses its best.safetensors)\n"
           "  --data FILE      a dataset written by 'pixloc generate' or 'pixloc import'\n"
           "  --split S        score only these parts of the checkpoint's own split: a comma list of\n"
           "                   train, val, test [all three]; not with a --data file that is not the\n"
           "                   training file (that is scored whole)\n"
           "  --batch-size N   " CLI_INFER_BATCH_HELP "\n"
           "  --tta            test-time augmentation: average the heatmaps of the image's 8 mirrors and\n"
           "                   transposes (4 mirrors if it is not square), each mapped back (8x the time)\n"
           "  --json           print JSON instead of a table\n"
           "  --out FILE       also write the JSON to FILE\n\n" PREWARM_HELP "%s",
           OCL_OPTIONS_HELP);
}

// "train,val,test" -> a mask of (1u << EVAL_TRAIN), ...; a usage error for another word.
static unsigned parse_sets(const char *list) {
    unsigned m = 0;
    // Word by word over the argument itself (no fixed-size copy), so a refusal names the word given.
    for (const char *w = list; *w;) {
        size_t len = strcspn(w, ",");
        int k = -1;
        for (int i = EVAL_TRAIN; i <= EVAL_TEST; i++)
            if (len == strlen(EVAL_SET_NAMES[i]) && strncmp(w, EVAL_SET_NAMES[i], len) == 0) k = i;
        if (k < 0 && len)
            cli_usage_error("eval", "--split: '%.*s' is not train, val or test (a comma list of them)", (int)len, w);
        if (k >= 0) m |= 1u << k;
        w += len + (w[len] == ',');
    }
    if (!m) cli_usage_error("eval", "--split: name at least one of train, val, test");
    return m;
}

int cmd_eval(int argc, char **argv) {
    ocl_options oo = {0};
    ocl_options_from_args(&oo, &argc, argv);
    const char *model = NULL, *data = NULL, *out = NULL;
    int batch = CLI_INFER_BATCH, json = 0, tta = 0;
    unsigned sets = EVAL_SETS_ALL;
    const char *split = NULL;
    enum { O_MODEL = 256, O_DATA, O_SPLIT, O_BATCH, O_TTA, O_JSON, O_OUT, O_HELP };
    static const struct option opts[] = {{"model", required_argument, 0, O_MODEL},
                                         {"data", required_argument, 0, O_DATA},
                                         {"split", required_argument, 0, O_SPLIT},
                                         {"batch-size", required_argument, 0, O_BATCH},
                                         {"tta", no_argument, 0, O_TTA},
                                         {"json", no_argument, 0, O_JSON},
                                         {"out", required_argument, 0, O_OUT},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_MODEL: model = optarg; break;
        case O_DATA: data = optarg; break;
        case O_SPLIT: sets = parse_sets(split = optarg); break;
        case O_BATCH: batch = (int)cli_int("--batch-size", optarg, 1, 65536); break;
        case O_TTA: tta = 1; break;
        case O_JSON: json = 1; break;
        case O_OUT: out = cli_path("--out", optarg); break;
        case O_HELP: usage(); return PX_EXIT_OK;
        default: cli_usage_error("eval", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!model) cli_usage_error("eval", "--model CKPT is required");

    char path[2048], err[1024];
    checkpoint_resolve(model, "best", path, sizeof path);
    train_settings s;
    if (checkpoint_read_settings(path, &s, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    dataset d;
    splits sp, *spp = NULL;
    if (!data && s.data[0]) data = s.data;
    if (out) { // before any work: an output that is an input (the model or the data), or unwritable
        if (px_same_file(out, path) || (data && px_same_file(out, data)))
            px_die(PX_EXIT_USAGE, "--out %s is an input of this evaluation (the %s): choose another file", out,
                   px_same_file(out, path) ? "model" : "dataset");
        if (px_check_writable(out) != 0) px_die(PX_EXIT_FAIL, "--out %s: cannot write there: %s", out, strerror(errno));
    }
    if (data) {
        // Streamed: the images stay in the file and are read a batch at a time.
        if (dataset_load_streamed(&d, data, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        // The training file itself (by default, or named with --split): score its splits.
        if (data == s.data || (split && s.data[0] && px_same_file(data, s.data))) {
            dataset_split(d.N, s.seed, s.test_frac, s.val_frac, &sp);
            spp = &sp;
        }
    } else {
        dataset_generate(&d, &s.rec, s.samples, s.seed);
        dataset_split(d.N, s.seed, s.test_frac, s.val_frac, &sp);
        spp = &sp;
    }
    if (split && !spp)
        px_die(PX_EXIT_USAGE, "--split %s: %s is scored whole (it is not the checkpoint's training file)", split, data);
    if (batch > d.N) batch = d.N > 0 ? d.N : 1; // never allocate for more images than there are
    ocl_ctx c;
    oo.quiet = json;
    ocl_init(&c, &oo);
    prewarm_inference(&c, &oo, path, &s.net, d.H, d.W, batch, tta);
    net *nt = net_create_kind(&c, &s.net, d.H, d.W, batch, NET_KIND_INFERENCE);
    if (checkpoint_load(path, nt, NULL, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    eval_result r;
    double t0 = px_now();
    evaluate(nt, batch, tta, sets, &d, spp, &r, NULL);
    if (out && eval_write_json(out, &r, NULL, NULL, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    if (json) {
        eval_json(stdout, &r);
    } else {
        printf("model %s on %s%s (%.1fs)\n", path, data ? data : "the checkpoint's regenerated dataset",
               tta ? ", test-time augmentation" : "", px_now() - t0);
        eval_print_table(stdout, &r);
    }
    net_free(nt);
    ocl_release(&c);
    if (spp) splits_free(spp);
    dataset_free(&d);
    return PX_EXIT_OK;
}
