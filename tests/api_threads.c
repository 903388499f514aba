// libpixloc handles on separate threads (the header says they may be): two threads, each with
// its own handle, predict the same images several times at once, sharing one new kernel cache
// folder (so both build and write the same programs together); every answer must be the one a
// single handle gives alone, bit for bit. Run by tests/cli_libpixloc.sh:
//   api_threads RUN_DIR CACHE_DIR
#include <pixloc/pixloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum { N = 5, H = 23, W = 17, ROUNDS = 4, THREADS = 2 };
static float images[N * H * W];
static const char *run, *cache;

typedef struct {
    int xy[2 * N];
    float peak[N];
    int status;
} answer;

static void predict(answer *a) {
    pixloc_options o = {NULL, NULL, NULL, cache, NULL, NULL};
    pixloc *h;
    a->status = pixloc_open(&o, &h);
    if (a->status == PIXLOC_OK) a->status = pixloc_load(h, run);
    if (a->status == PIXLOC_OK) a->status = pixloc_predict(h, images, N, H, W, a->xy, a->peak);
    if (a->status != PIXLOC_OK) fprintf(stderr, "api_threads: %s\n", pixloc_last_error(h));
    pixloc_close(h);
}

static void *worker(void *arg) {
    answer *out = arg;
    for (int r = 0; r < ROUNDS; r++) predict(&out[r]);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) return fprintf(stderr, "usage: api_threads RUN_DIR CACHE_DIR\n"), 2;
    run = argv[1];
    cache = argv[2];
    unsigned s = 12345;
    for (int i = 0; i < N * H * W; i++) images[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 255) / 1020.0f;
    for (int i = 0; i < N; i++) images[i * H * W + (i * 7 % H) * W + i * 3 % W] = 1.0f;
    static answer got[THREADS][ROUNDS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, got[i]);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    answer alone;
    predict(&alone);
    int failed = alone.status != PIXLOC_OK;
    for (int i = 0; i < THREADS; i++)
        for (int r = 0; r < ROUNDS; r++)
            if (got[i][r].status != PIXLOC_OK || memcmp(got[i][r].xy, alone.xy, sizeof alone.xy) != 0 ||
                memcmp(got[i][r].peak, alone.peak, sizeof alone.peak) != 0) {
                printf("FAIL thread %d round %d: status %d, image 0 at (%d,%d) vs (%d,%d) alone\n", i, r,
                       got[i][r].status, got[i][r].xy[0], got[i][r].xy[1], alone.xy[0], alone.xy[1]);
                failed++;
            }
    printf("%d threads x %d rounds: %s\n", THREADS, ROUNDS, failed ? "NOT OK" : "all equal to one handle alone");
    return failed ? 1 : 0;
}
