// `pixloc predict`: bright-pixel coordinates of PNG/PGM images (any size: the
// network is fully convolutional) or of every image in a safetensors dataset.
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "evaluate.h"
#include "image_io.h"
#include "json_text.h"
#include "net.h"
#include "ocl.h"
#include "pixloc.h"
#include "prewarm.h"
#include "predictor.h"
#include "safetensors.h"

static void usage(void) {
    printf("Usage: pixloc predict --model CKPT|RUN_DIR [--json] [--tta] [--heatmap-out DIR [--heatmap-format F]]\n"
           "                      INPUT...\n\n"
           "INPUT is a PNG or PGM image (8 or 16 bit; colour is converted to gray; any size) or a\n"
           "safetensors dataset ('pixloc generate' or 'pixloc import'). Prints one line per image: the file\n"
           "(or file:index for a dataset), x (column), y (row) and the heatmap's peak value, as CSV\n"
           "with a header, or as a JSON array with --json. Pixel values are read as 0..1 (8-bit /255,\n"
           "16-bit /65535), as the training data is. An unreadable input is reported on stderr and\n"
           "the others are still processed; the exit status is then 1.\n\n"
           "  --model P          checkpoint file, or a run directory (uses its best.safetensors)\n"
           "  --json             JSON output\n"
           "  --tta              test-time augmentation: average the heatmaps of the image's 8 mirrors and\n"
           "                     transposes (4 mirrors if it is not square), each mapped back (8x the time);\n"
           "                     the heatmaps written are the averaged ones\n"
           "  --heatmap-out DIR  write the predicted heatmaps into DIR (created if missing)\n"
           "  --heatmap-format F png: one 8-bit PNG per image (0..1 -> 0..255), DIR/NAME.heatmap.png\n"
           "                     (DIR/NAME.I.heatmap.png for image I of a dataset); safetensors: the\n"
           "                     float32 values, DIR/NAME.heatmap.safetensors with tensor 'heatmap'\n"
           "                     (H,W), or for a dataset DIR/NAME.heatmaps.safetensors with 'heatmaps'\n"
           "                     (N,H,W) [png]\n"
           "  --batch-size N     " CLI_INFER_BATCH_HELP "\n\n" PREWARM_HELP "%s",
           OCL_OPTIONS_HELP);
}

static int n_out;
static void emit(int json, const char *name, long index, int x, int y, float peak) {
    if (json) {
        // One object a line, rendered by cJSON; a name that is not valid UTF-8 gets U+FFFD.
        cJSON *o = cJSON_CreateObject();
        json_add_string(o, "input", name);
        if (index >= 0) cJSON_AddNumberToObject(o, "index", (double)index);
        cJSON_AddNumberToObject(o, "x", x);
        cJSON_AddNumberToObject(o, "y", y);
        json_add_number6(o, "peak", (double)peak);
        printf("%s\n  ", n_out ? "," : "[");
        json_write(stdout, o, 0);
        cJSON_Delete(o);
    } else {
        if (n_out == 0) printf("input,x,y,peak\n");
        // CSV: quote names with commas or quotes.
        if (strpbrk(name, ",\"\n")) {
            putchar('"');
            for (const char *q = name; *q; q++) {
                if (*q == '"') putchar('"');
                putchar(*q);
            }
            putchar('"');
        } else {
            fputs(name, stdout);
        }
        if (index >= 0) printf(":%ld", index);
        printf(",%d,%d,%.6g\n", x, y, (double)peak);
    }
    n_out++;
}

static int write_heatmap(const char *dir, const char *name, long index, const float *h, int H, int W) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    char path[4096], err[1024];
    if (index >= 0)
        snprintf(path, sizeof path, "%s/%s.%ld.heatmap.png", dir, base, index);
    else
        snprintf(path, sizeof path, "%s/%s.heatmap.png", dir, base);
    uint8_t *pix = px_malloc((size_t)H * W, "heatmap png");
    for (size_t i = 0; i < (size_t)H * W; i++) {
        float v = h[i] < 0 ? 0 : (h[i] > 1 ? 1 : h[i]);
        pix[i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    int rc = png_write_gray8(path, H, W, pix, err, sizeof err);
    free(pix);
    if (rc != 0) fprintf(stderr, "pixloc: error: %s\n", err);
    return rc;
}

// --heatmap-format safetensors: the float heatmaps of one input in one file, DIR/BASE.heatmap.safetensors
// ("heatmap", (H,W)) for an image, DIR/BASE.heatmaps.safetensors ("heatmaps", (N,H,W)) for a dataset.
static int write_heatmaps_f32(const char *dir, const char *name, int dataset, const float *h, int N, int H, int W) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/%s.%s.safetensors", dir, base, dataset ? "heatmaps" : "heatmap");
    st_writer *w = st_writer_new();
    int64_t shape[3] = {N, H, W};
    if (dataset)
        st_writer_add_borrowed(w, "heatmaps", ST_F32, 3, shape, h);
    else
        st_writer_add_borrowed(w, "heatmap", ST_F32, 2, shape + 1, h);
    st_writer_meta(w, "format", "pixloc-heatmaps");
    int rc = st_writer_save(w, path, err, sizeof err);
    st_writer_free(w);
    if (rc != 0) fprintf(stderr, "pixloc: error: %s\n", err);
    return rc;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

// --heatmap-out names each heatmap after its input's file name: two inputs with one name in
// different folders would overwrite each other's heatmap, so that is refused before any work.
static void check_heatmap_names(const char *hdir, int f32, char **inputs, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(base_name(inputs[i]), base_name(inputs[j])) == 0)
                px_die(PX_EXIT_USAGE,
                       "--heatmap-out: inputs %s and %s would both write %s/%s.heatmap.%s: give them "
                       "in separate runs with separate --heatmap-out folders",
                       inputs[j], inputs[i], hdir, base_name(inputs[i]), f32 ? "safetensors" : "png");
}

static int is_safetensors(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot && strcmp(dot, ".safetensors") == 0;
}

int cmd_predict(int argc, char **argv) {
    ocl_options oo = {0};
    ocl_options_from_args(&oo, &argc, argv);
    const char *model = NULL, *hdir = NULL;
    int json = 0, batch = CLI_INFER_BATCH, f32 = 0, hfmt_given = 0, tta = 0;
    enum { O_MODEL = 256, O_JSON, O_TTA, O_HDIR, O_HFMT, O_BATCH, O_HELP };
    static const struct option opts[] = {{"model", required_argument, 0, O_MODEL},
                                         {"json", no_argument, 0, O_JSON},
                                         {"tta", no_argument, 0, O_TTA},
                                         {"heatmap-out", required_argument, 0, O_HDIR},
                                         {"heatmap-format", required_argument, 0, O_HFMT},
                                         {"batch-size", required_argument, 0, O_BATCH},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_MODEL: model = optarg; break;
        case O_JSON: json = 1; break;
        case O_TTA: tta = 1; break;
        case O_HDIR: hdir = optarg; break;
        case O_HFMT:
            hfmt_given = 1;
            if (strcmp(optarg, "png") == 0)
                f32 = 0;
            else if (strcmp(optarg, "safetensors") == 0)
                f32 = 1;
            else
                cli_usage_error("predict", "--heatmap-format: '%s' is not png or safetensors", optarg);
            break;
        case O_BATCH: batch = (int)cli_int("--batch-size", optarg, 1, 65536); break;
        case O_HELP: usage(); return PX_EXIT_OK;
        default: cli_usage_error("predict", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (!model) cli_usage_error("predict", "--model CKPT is required");
    if (optind >= argc) cli_usage_error("predict", "no INPUT given (PNG, PGM or .safetensors files)");
    if (hfmt_given && !hdir) cli_usage_error("predict", "--heatmap-format needs --heatmap-out DIR");
    char err[1024];
    ocl_ctx c;
    predictor p;
    if (predictor_open(&p, &c, model, err, sizeof err) != 0) px_die(PX_EXIT_FAIL, "%s", err);
    if (hdir) check_heatmap_names(hdir, f32, argv + optind, argc - optind);
    if (hdir && px_mkdirs(hdir) != 0) px_die(PX_EXIT_FAIL, "cannot create %s: %s", hdir, strerror(errno));
    oo.quiet = 1;
    ocl_init(&c, &oo);
    int failures = 0;
    for (int a = optind; a < argc; a++) {
        const char *in = argv[a];
        if (is_safetensors(in)) {
            dataset d;
            // Streamed: the images stay in the file and are read a batch at a time.
            if (dataset_load_streamed(&d, in, err, sizeof err) != 0) {
                fprintf(stderr, "pixloc: error: %s\n", err);
                failures++;
                continue;
            }
            int want = d.N < batch ? d.N : batch;
            prewarm_inference(&c, &oo, p.ckpt, &p.s.net, d.H, d.W, want, tta);
            int b = predictor_size(&p, d.H, d.W, want, err, sizeof err);
            if (b < 0) px_die(PX_EXIT_FAIL, "%s", err); // the checkpoint itself is bad: no input can work
            if (b == 0) {
                fprintf(stderr, "pixloc: error: %s: %s\n", in, err);
                failures++;
                dataset_free(&d);
                continue;
            }
            // A batch at a time: memory does not grow with the dataset.
            int64_t *idx = px_malloc((size_t)b * sizeof(int64_t), "indices");
            int32_t *xy = px_malloc((size_t)b * 2 * sizeof(int32_t), "predictions");
            float *peaks = px_malloc((size_t)b * sizeof(float), "peaks");
            size_t hw = (size_t)d.H * d.W;
            // A batch at a time: memory does not grow with the dataset (except with
            // --heatmap-format safetensors, whose one file per dataset holds every heatmap).
            float *heat = hdir ? px_malloc((size_t)(f32 ? d.N : b) * hw * sizeof(float), "heatmaps") : NULL;
            for (int s0 = 0; s0 < d.N; s0 += b) {
                int m = d.N - s0 < b ? d.N - s0 : b;
                for (int i = 0; i < m; i++) idx[i] = s0 + i;
                float *hb = heat && f32 ? heat + (size_t)s0 * hw : heat;
                predict_dataset(p.nt, b, tta, &d, idx, m, xy, hb, peaks);
                for (int i = 0; i < m; i++) {
                    emit(json, in, s0 + i, xy[(size_t)2 * i], xy[(size_t)2 * i + 1], peaks[i]);
                    if (hdir && !f32 && write_heatmap(hdir, in, s0 + i, heat + i * hw, d.H, d.W) != 0) failures++;
                }
            }
            if (hdir && f32 && write_heatmaps_f32(hdir, in, 1, heat, d.N, d.H, d.W) != 0) failures++;
            free(idx);
            free(xy);
            free(peaks);
            free(heat);
            dataset_free(&d);
            continue;
        }
        int H, W;
        float *img = image_read_gray(in, &H, &W, err, sizeof err);
        if (!img) {
            fprintf(stderr, "pixloc: error: %s\n", err);
            failures++;
            continue;
        }
        prewarm_inference(&c, &oo, p.ckpt, &p.s.net, H, W, 1, tta);
        int b = predictor_size(&p, H, W, 1, err, sizeof err);
        if (b < 0) px_die(PX_EXIT_FAIL, "%s", err);
        if (b == 0) {
            fprintf(stderr, "pixloc: error: %s: %s\n", in, err);
            failures++;
            free(img);
            continue;
        }
        int64_t zero = 0;
        int32_t xy[2];
        float peak;
        float *heat = hdir ? px_malloc((size_t)H * W * sizeof(float), "heatmap") : NULL;
        predict_indices(p.nt, 1, tta, img, H, W, &zero, 1, xy, heat, &peak);
        emit(json, in, -1, xy[0], xy[1], peak);
        if (hdir &&
            (f32 ? write_heatmaps_f32(hdir, in, 0, heat, 1, H, W) : write_heatmap(hdir, in, -1, heat, H, W)) != 0)
            failures++;
        free(heat);
        free(img);
    }
    if (json) printf(n_out ? "\n]\n" : "[]\n");
    predictor_free(&p);
    ocl_release(&c);
    if (failures) fprintf(stderr, "pixloc: %d input(s) failed\n", failures);
    return failures ? PX_EXIT_FAIL : PX_EXIT_OK;
}
