// libpixloc's error paths, linked against the shared library only (as a user's program is):
// every bad call returns its status and a message, the process goes on, and nothing at all is
// written to stdout or stderr while the library runs (both are redirected to files and checked
// empty at the end). Run by tests/cli_libpixloc.sh with a run directory it trained:
//   api_errors RUN_DIR SCRATCH_DIR
#include <fcntl.h>
#include <pixloc/pixloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char failures[16384];
static int passed, failed;
#define EXPECT(cond)                                                                                                   \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            passed++;                                                                                                  \
        } else {                                                                                                       \
            failed++;                                                                                                  \
            size_t k_ = strlen(failures);                                                                              \
            snprintf(failures + k_, sizeof failures - k_, "FAIL line %d: %s\n", __LINE__, #cond);                      \
        }                                                                                                              \
    } while (0)

static int contains(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

// Opens with no kernel cache and checks the handle works.
static pixloc *open_default(void) {
    pixloc *h = NULL;
    EXPECT(pixloc_open(NULL, &h) == PIXLOC_OK && h != NULL);
    EXPECT(strlen(pixloc_device_name(h)) > 0);
    return h;
}

// The log function gets the lines pixloc would print (here: the chosen device's), none printed.
static char logged[4096];
static void log_line(void *user, const char *line) {
    size_t k = strlen(logged);
    snprintf(logged + k, sizeof logged - k, "%s%s\n", (const char *)user, line);
}

static void log_function(void) {
    pixloc_options o = {NULL, NULL, NULL, NULL, log_line, "user> "};
    pixloc *h = NULL;
    EXPECT(pixloc_open(&o, &h) == PIXLOC_OK);
    EXPECT(strncmp(logged, "user> device: ", 14) == 0 && contains(logged, pixloc_device_name(h)));
    pixloc_close(h);
}

static void bad_device(void) {
    pixloc_options o = {NULL, "no-such-device-anywhere", NULL, NULL, NULL, NULL};
    pixloc *h = NULL;
    EXPECT(pixloc_open(&o, &h) == PIXLOC_ERR_DEVICE); // px_die in ocl_init, trapped
    EXPECT(h != NULL && contains(pixloc_last_error(h), "no-such-device-anywhere"));
    EXPECT(pixloc_load(h, "whatever") == PIXLOC_ERR_DEVICE);
    pixloc_close(h);
    o.device = NULL;
    o.device_type = "nonsense-type";
    EXPECT(pixloc_open(&o, &h) != PIXLOC_OK);
    pixloc_close(h);
    EXPECT(pixloc_open(NULL, NULL) == PIXLOC_ERR_ARGUMENT);
}

static void bad_models(pixloc *h, const char *run, const char *scratch) {
    float img[64] = {0};
    int xy[2];
    EXPECT(pixloc_predict(h, img, 1, 8, 8, xy, NULL) == PIXLOC_ERR_NO_MODEL);
    EXPECT(pixloc_load(h, "/nonexistent/dir/model.safetensors") == PIXLOC_ERR_MODEL);
    EXPECT(contains(pixloc_last_error(h), "/nonexistent/dir/model.safetensors"));
    EXPECT(pixloc_load(h, NULL) == PIXLOC_ERR_ARGUMENT);
    char path[4096], ckpt[4096];
    snprintf(path, sizeof path, "%s/garbage.safetensors", scratch);
    write_file(path, "this is not a checkpoint at all", 31);
    EXPECT(pixloc_load(h, path) == PIXLOC_ERR_MODEL);
    // A real checkpoint cut in half: its header may still read, but the weights cannot load.
    snprintf(ckpt, sizeof ckpt, "%s/best.safetensors", run);
    long n = file_size(ckpt);
    EXPECT(n > 100);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    FILE *f = fopen(ckpt, "rb");
    size_t got = f && buf ? fread(buf, 1, (size_t)n, f) : 0;
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/half.safetensors", scratch);
    write_file(path, buf, got / 2);
    int rc = pixloc_load(h, path);
    if (rc == PIXLOC_OK) rc = pixloc_predict(h, img, 1, 8, 8, xy, NULL);
    EXPECT(rc == PIXLOC_ERR_MODEL);
    EXPECT(strlen(pixloc_last_error(h)) > 0);
    EXPECT(pixloc_predict(h, img, 1, 8, 8, xy, NULL) == PIXLOC_ERR_NO_MODEL); // unloaded after the failure
    free(buf);
}

static void bad_sizes_then_good(pixloc *h, const char *run) {
    float img[2 * 8 * 8] = {0};
    int xy[4] = {-1, -1, -1, -1};
    float peak[2];
    img[3 * 8 + 5] = 1.0f; // a bright pixel at x=5, y=3 in image 0
    img[64 + 6 * 8 + 2] = 1.0f;
    EXPECT(pixloc_load(h, run) == PIXLOC_OK && pixloc_last_error(h)[0] == '\0');
    EXPECT(pixloc_predict(h, img, 1, 0, 8, xy, peak) == PIXLOC_ERR_ARGUMENT);
    EXPECT(contains(pixloc_last_error(h), "0 x 8"));
    EXPECT(pixloc_predict(h, img, 1, 8, 0, xy, peak) == PIXLOC_ERR_ARGUMENT);
    EXPECT(pixloc_predict(h, img, 1, 8, 5000, xy, peak) == PIXLOC_ERR_ARGUMENT);
    EXPECT(pixloc_predict(h, img, -1, 8, 8, xy, peak) == PIXLOC_ERR_ARGUMENT);
    EXPECT(pixloc_predict(h, NULL, 1, 8, 8, xy, peak) == PIXLOC_ERR_ARGUMENT);
    EXPECT(pixloc_predict(h, img, 1, 8, 8, NULL, peak) == PIXLOC_ERR_ARGUMENT);
    EXPECT(pixloc_predict(NULL, img, 1, 8, 8, xy, peak) == PIXLOC_ERR_ARGUMENT);
    EXPECT(pixloc_predict(h, img, 0, 8, 8, xy, peak) == PIXLOC_OK && xy[0] == -1); // nothing to do
    // The handle still works after all of that.
    EXPECT(pixloc_predict(h, img, 2, 8, 8, xy, peak) == PIXLOC_OK);
    EXPECT(xy[0] >= 0 && xy[0] < 8 && xy[1] >= 0 && xy[1] < 8 && xy[2] >= 0 && xy[2] < 8 && xy[3] >= 0 && xy[3] < 8);
    EXPECT(peak[0] >= 0.0f && peak[0] <= 1.0f && peak[1] >= 0.0f && peak[1] <= 1.0f);
}

int main(int argc, char **argv) {
    if (argc != 3) return fprintf(stderr, "usage: api_errors RUN_DIR SCRATCH_DIR\n"), 2;
    char out_path[4096], err_path[4096];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", argv[2]);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", argv[2]);
    int saved_out = dup(1), saved_err = dup(2);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644),
        fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (saved_out < 0 || saved_err < 0 || fo < 0 || fe < 0) return fprintf(stderr, "api_errors: cannot redirect\n"), 2;
    dup2(fo, 1);
    dup2(fe, 2);
    EXPECT(strcmp(pixloc_version(), PIXLOC_VERSION_STRING) == 0);
    bad_device();
    log_function();
    pixloc *h = open_default();
    bad_models(h, argv[1], argv[2]);
    bad_sizes_then_good(h, argv[1]);
    pixloc_close(h);
    pixloc_close(NULL);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    long printed_out = file_size(out_path), printed_err = file_size(err_path);
    EXPECT(printed_out == 0);
    EXPECT(printed_err == 0);
    fputs(failures, stdout);
    if (printed_out != 0 || printed_err != 0)
        printf("the library printed %ld bytes to stdout and %ld to stderr (in %s, %s)\n", printed_out, printed_err,
               out_path, err_path);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
