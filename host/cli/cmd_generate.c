// `pixloc generate`: the synthetic dataset (the seed notebook's recipe, bit for bit
// with numpy/OpenCV for the same seed) written to a safetensors file.
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "image_io.h"
#include "labels.h"
#include "pixloc.h"

// The whole file is assembled in memory before the atomic write, so the tensors
// (images, plus heatmaps when asked) are capped well below a typical machine's RAM.
#define GENERATE_MAX_BYTES   (4ull << 30)
#define GENERATE_MAX_SAMPLES 10000000L

static void usage(void) {
    printf("Usage: pixloc generate --out FILE [--samples N] [--seed S] [--heatmaps]\n"
           "                       [--png DIR [--png-count K]] [recipe options]\n\n"
           "Writes N synthetic images, each one bright pixel blurred and buried in noise, with its\n"
           "(x, y) coordinates, to a safetensors file: images F32 (N,H,W) in [0,1], coords I32 (N,2)\n"
           "as (x, y) with x the column, and with --heatmaps the label heatmaps F32 (N,H,W).\n"
           "The recipe and seed go into the file's metadata. With the defaults the data are\n"
           "bit-identical to the seed notebook's numpy/OpenCV generator for the same seed\n"
           "(np.random.seed(S), per image: x, y, blur, normal noise, background mask and value).\n\n"
           "  --out FILE        output file (written atomically: the old file or the new, never half)\n"
           "  --samples N       number of images, 1..%ld [15000]\n"
           "  --seed S          numpy RandomState seed, 0..4294967295 [42]\n"
           "  --heatmaps        also store the label heatmaps\n"
           "  --png DIR         also write the first images as 8-bit PNG files DIR/sample_NNNNN.png\n"
           "                    (values rounded to 1/255) and their labels as DIR/labels.csv (file,x,y,\n"
           "                    the format 'pixloc import --images DIR' reads)\n"
           "  --png-count K     how many PNG files, 1..1000 [8]\n\n"
           "Recipe (defaults are the seed notebook's):\n"
           "  --size HxW        image size, each side 1..%d [50x50]\n"
           "  --height H, --width W   the same, one side at a time\n"
           "  --blur K          OpenCV GaussianBlur ksize with sigma 0: 0 (none), 3, 5 or 7 [5]\n"
           "  --noise-std S     additive Gaussian noise std, on the 0..255 scale [10]\n"
           "  --bg-prob P       per-pixel probability of background noise, 0..1 [0.02]\n"
           "  --bg-range LO,HI  background value, one per image, drawn from LO..HI-1\n"
           "                    (HI exclusive, like numpy randint), 0 <= LO < HI <= 256 [5,40]\n"
           "  --sigma S         label heatmap sigma in pixels [1.8]\n\n"
           "The tensors are held in memory (twice, while the file is written); their size is\n"
           "capped at %llu GiB.\n",
           GENERATE_MAX_SAMPLES, RECIPE_MAX_SIDE, GENERATE_MAX_BYTES >> 30);
}

static void parse_size(const char *v, recipe *r) { cli_size("--size", v, &r->H, &r->W); }

// Fails early (exit 1) if FILE's directory is missing or not writable, before minutes of work.
static void check_writable(const char *path) {
    char *copy = strdup(path);
    if (!copy) px_die(PX_EXIT_FAIL, "out of memory");
    const char *dir = dirname(copy);
    if (access(dir, W_OK) != 0) {
        int e = errno;
        free(copy);
        px_die(PX_EXIT_FAIL, "cannot write %s: %s", path, strerror(e));
    }
    free(copy);
}

static void write_pngs(const dataset *d, const char *dir, int count) {
    if (px_mkdirs(dir) != 0) px_die(PX_EXIT_FAIL, "cannot create %s: %s", dir, strerror(errno));
    size_t hw = (size_t)d->H * d->W;
    uint8_t *pix = px_malloc(hw, "PNG pixels");
    char path[4096], err[512];
    if (count > d->N) count = d->N;
    px_sbuf csv = {0};
    px_sbuf_str(&csv, LABELS_HEADER "\n");
    for (int i = 0; i < count; i++) {
        for (size_t k = 0; k < hw; k++) pix[k] = (uint8_t)lrintf(d->images[(size_t)i * hw + k] * 255.0f);
        char name[32];
        snprintf(name, sizeof name, "sample_%05d.png", i);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (png_write_gray8(path, d->H, d->W, pix, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
        labels_append(&csv, name, d->coords[2 * (size_t)i], d->coords[2 * (size_t)i + 1]);
    }
    free(pix);
    // The labels in the format `pixloc import` reads, written after the images they name.
    snprintf(path, sizeof path, "%s/labels.csv", dir);
    if (px_write_file_atomic(path, csv.s, csv.len) != 0)
        px_die(PX_EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
    free(csv.s);
    printf("wrote %d PNG file%s and labels.csv to %s (sample_00000.png: x=%d, y=%d)\n", count, count == 1 ? "" : "s",
           dir, d->coords[0], d->coords[1]);
}

int cmd_generate(int argc, char **argv) {
    recipe rec;
    recipe_default(&rec);
    const char *out = NULL, *png_dir = NULL;
    long samples = 15000, png_count = 8;
    uint32_t seed = 42;
    int heatmaps = 0;
    enum {
        O_OUT = 256,
        O_SAMPLES,
        O_SEED,
        O_HEATMAPS,
        O_PNG,
        O_PNG_COUNT,
        O_SIZE,
        O_HEIGHT,
        O_WIDTH,
        O_BLUR,
        O_NOISE,
        O_BGP,
        O_BGR,
        O_SIGMA,
        O_HELP
    };
    static const struct option opts[] = {{"out", required_argument, 0, O_OUT},
                                         {"samples", required_argument, 0, O_SAMPLES},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"heatmaps", no_argument, 0, O_HEATMAPS},
                                         {"png", required_argument, 0, O_PNG},
                                         {"png-count", required_argument, 0, O_PNG_COUNT},
                                         {"size", required_argument, 0, O_SIZE},
                                         {"height", required_argument, 0, O_HEIGHT},
                                         {"width", required_argument, 0, O_WIDTH},
                                         {"blur", required_argument, 0, O_BLUR},
                                         {"noise-std", required_argument, 0, O_NOISE},
                                         {"bg-prob", required_argument, 0, O_BGP},
                                         {"bg-range", required_argument, 0, O_BGR},
                                         {"sigma", required_argument, 0, O_SIGMA},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int ch, range[2];
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_OUT: out = optarg; break;
        case O_SAMPLES: samples = cli_int("--samples", optarg, 1, GENERATE_MAX_SAMPLES); break;
        case O_SEED: seed = (uint32_t)cli_int("--seed", optarg, 0, 4294967295L); break;
        case O_HEATMAPS: heatmaps = 1; break;
        case O_PNG: png_dir = optarg; break;
        case O_PNG_COUNT: png_count = cli_int("--png-count", optarg, 1, 1000); break;
        case O_SIZE: parse_size(optarg, &rec); break;
        case O_HEIGHT: rec.H = (int)cli_int("--height", optarg, 1, RECIPE_MAX_SIDE); break;
        case O_WIDTH: rec.W = (int)cli_int("--width", optarg, 1, RECIPE_MAX_SIDE); break;
        case O_BLUR:
            rec.blur = (int)cli_int("--blur", optarg, 0, 7);
            if (rec.blur != 0 && rec.blur != 3 && rec.blur != 5 && rec.blur != 7)
                px_die(PX_EXIT_USAGE, "--blur: %d is not supported (expected 0, 3, 5 or 7)", rec.blur);
            break;
        case O_NOISE: rec.noise_std = cli_double("--noise-std", optarg, 0, 1e6); break;
        case O_BGP: rec.bg_prob = cli_double("--bg-prob", optarg, 0, 1); break;
        case O_BGR:
            if (cli_int_list("--bg-range", optarg, range, 2, 0, 256) != 2)
                px_die(PX_EXIT_USAGE, "--bg-range: '%s' is not LO,HI (e.g. 5,40)", optarg);
            if (range[0] >= range[1])
                px_die(PX_EXIT_USAGE, "--bg-range: LO %d must be below HI %d (HI is exclusive)", range[0], range[1]);
            rec.bg_lo = range[0];
            rec.bg_hi = range[1];
            break;
        case O_SIGMA: rec.sigma = cli_double("--sigma", optarg, 1e-3, 1e4); break;
        case O_HELP: usage(); return PX_EXIT_OK;
        default: cli_usage_error("generate", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) cli_usage_error("generate", "unexpected argument '%s'", argv[optind]);
    if (!out) cli_usage_error("generate", "--out FILE is required");
    char err[512];
    if (recipe_validate(&rec, err, sizeof err) != 0) px_die(PX_EXIT_USAGE, "%s", err);
    double bytes = (double)samples * rec.H * rec.W * sizeof(float) * (heatmaps ? 2 : 1);
    if (bytes > (double)GENERATE_MAX_BYTES)
        px_die(PX_EXIT_USAGE,
               "%ld samples of %dx%d%s need %.1f GiB, over the %llu GiB limit (the file is assembled in "
               "memory): use fewer samples or a smaller size",
               samples, rec.H, rec.W, heatmaps ? " with heatmaps" : "", bytes / (1 << 30), GENERATE_MAX_BYTES >> 30);
    check_writable(out);

    char rs[256];
    recipe_to_string(&rec, rs, sizeof rs);
    double t0 = px_now();
    dataset d;
    dataset_generate(&d, &rec, (int)samples, seed);
    double t1 = px_now();
    printf("generated %ld samples (%s, seed %u) in %.2f s\n", samples, rs, seed, t1 - t0);
    if (dataset_save(&d, out, heatmaps, err, sizeof err) != 0) {
        dataset_free(&d);
        px_die(PX_EXIT_FAIL, "%s", err);
    }
    printf("wrote %s (%.1f MB%s) in %.2f s\n", out, bytes / 1e6, heatmaps ? ", with heatmaps" : "", px_now() - t1);
    if (png_dir) write_pngs(&d, png_dir, (int)png_count);
    dataset_free(&d);
    return PX_EXIT_OK;
}
