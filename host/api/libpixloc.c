// libpixloc: the public C API (include/api/pixloc/pixloc.h) over the layers below it. Each entry
// runs its work under a px_trap (include/core/pixloc.h): a px_die anywhere below (an OpenCL
// error, an allocation failure, a missing device) longjmps back here and becomes a status and a
// message in the handle, and px_log/px_warn lines go to the user's log function, so a library
// call never prints nor exits. The alternative, turning every px_die of the lower layers into an
// error return through each caller, would change most of the code for a path only the library
// needs; the trap keeps those layers as they are. After a trapped failure the entry drops the
// model (its net may be half-built), so the handle is always in a state pixloc_close can free.
#include <pixloc/pixloc.h>

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "ocl.h"
#include "parse.h"
#include "pixloc.h"
#include "predictor.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "pixloc_predict's xy is written as int32_t");

struct pixloc {
    ocl_ctx c;
    int has_device; // ocl_init succeeded: c must be released
    predictor p;
    int has_model; // pixloc_load succeeded: p holds a checkpoint's settings
    int holds_init_lock;
    void (*log)(void *, const char *);
    void *log_user;
    char err[4096];
};

// Images are predicted this many at a time (and the net built for at most this batch, or the
// largest that fits the device): bounds the host buffers whatever n is.
enum { CHUNK = 256 };

static int fail(pixloc *h, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(pixloc *h, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->err, sizeof h->err, fmt, ap);
    va_end(ap);
    return status;
}

// px_die's status -> the API's: PX_EXIT_USAGE comes from the device choice (no platform, no
// match); everything else is a runtime failure.
static int status_of_die(int px_status) { return px_status == PX_EXIT_USAGE ? PIXLOC_ERR_DEVICE : PIXLOC_ERR_RUNTIME; }

// Opening devices is serialised: two threads discovering platforms and creating contexts at
// once made one of them see a platform with no devices (ocl-icd + PoCL 3.1 here;
// tests/api_threads.c). Everything after the context exists runs in parallel.
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

typedef int (*work_fn)(pixloc *h, void *arg);

// Runs fn(h, arg) under a trap. On a px_die: the message and a status go into h, the model is
// dropped (once: a second px_die while dropping it leaves the rest unfreed rather than loop).
static int guarded(pixloc *h, work_fn fn, void *arg) {
    px_trap t;
    memset(&t, 0, sizeof t);
    t.log = h->log;
    t.user = h->log_user;
    volatile int jumps = 0;
    int rc;
    px_trap_arm(&t);
    if (setjmp(t.env) == 0) {
        rc = fn(h, arg);
    } else {
        rc = status_of_die(t.status);
        snprintf(h->err, sizeof h->err, "%s", t.msg);
        if (h->holds_init_lock) { // px_die inside ocl_init
            h->holds_init_lock = 0;
            pthread_mutex_unlock(&init_lock);
        }
        if (++jumps == 1 && h->has_model) {
            predictor_free(&h->p);
            h->has_model = 0;
        }
    }
    px_trap_disarm(&t);
    return rc;
}

static int open_work(pixloc *h, void *arg) {
    const pixloc_options *o = arg;
    ocl_options oo = {0}; // not quiet: the device line goes to the log function (if any), as on the CLI
    if (o) {
        oo.platform = o->platform;
        oo.device = o->device;
        oo.device_type = o->device_type;
        if (o->cache_dir) snprintf(oo.cache_dir, sizeof oo.cache_dir, "%s", o->cache_dir);
    }
    oo.no_cache = oo.cache_dir[0] == '\0';
    pthread_mutex_lock(&init_lock);
    h->holds_init_lock = 1;
    ocl_init(&h->c, &oo);
    h->holds_init_lock = 0;
    pthread_mutex_unlock(&init_lock);
    h->has_device = 1;
    return PIXLOC_OK;
}

int pixloc_open(const pixloc_options *options, pixloc **out) {
    if (!out) return PIXLOC_ERR_ARGUMENT;
    pixloc *h = calloc(1, sizeof *h);
    *out = h;
    if (!h) return PIXLOC_ERR_RUNTIME;
    if (options) {
        h->log = options->log;
        h->log_user = options->log_user;
    }
    return guarded(h, open_work, (void *)options);
}

static int load_work(pixloc *h, void *arg) {
    const char *model = arg;
    if (h->has_model) predictor_free(&h->p);
    h->has_model = 0;
    if (predictor_open(&h->p, &h->c, model, h->err, sizeof h->err) != 0) return PIXLOC_ERR_MODEL;
    h->has_model = 1;
    return PIXLOC_OK;
}

int pixloc_load(pixloc *h, const char *model) {
    if (!h) return PIXLOC_ERR_ARGUMENT;
    h->err[0] = '\0';
    if (!model || !*model) return fail(h, PIXLOC_ERR_ARGUMENT, "pixloc_load: no model path given");
    if (!h->has_device) return fail(h, PIXLOC_ERR_DEVICE, "pixloc_load: the handle has no device (pixloc_open failed)");
    return guarded(h, load_work, (void *)model);
}

typedef struct {
    const float *images;
    int n, H, W;
    int *xy;
    float *peaks;
} predict_args;

static int predict_work(pixloc *h, void *arg) {
    const predict_args *a = arg;
    int b = predictor_size(&h->p, a->H, a->W, a->n < CHUNK ? a->n : CHUNK, h->err, sizeof h->err);
    if (b < 0) {
        h->has_model = 0; // the weights did not load: load again
        return PIXLOC_ERR_MODEL;
    }
    if (b == 0) return PIXLOC_ERR_TOO_LARGE;
    int64_t order[CHUNK]; // predict_indices picks images by index: the chunk's, in order
    for (int i = 0; i < CHUNK; i++) order[i] = i;
    size_t hw = (size_t)a->H * a->W;
    for (int s = 0; s < a->n; s += CHUNK) {
        int m = a->n - s < CHUNK ? a->n - s : CHUNK;
        predict_indices(h->p.nt, b, 0, a->images + (size_t)s * hw, a->H, a->W, order, m,
                        (int32_t *)a->xy + (size_t)2 * s, NULL, a->peaks ? a->peaks + s : NULL);
    }
    return PIXLOC_OK;
}

int pixloc_predict(pixloc *h, const float *images, int n, int height, int width, int *xy, float *peaks) {
    if (!h) return PIXLOC_ERR_ARGUMENT;
    h->err[0] = '\0';
    if (n < 0) return fail(h, PIXLOC_ERR_ARGUMENT, "pixloc_predict: n = %d images: give 0 or more", n);
    if (height < 1 || height > PX_MAX_SIDE || width < 1 || width > PX_MAX_SIDE)
        return fail(h, PIXLOC_ERR_ARGUMENT, "pixloc_predict: image size %d x %d: each side must be 1..%d", height,
                    width, PX_MAX_SIDE);
    if (n > 0 && (!images || !xy))
        return fail(h, PIXLOC_ERR_ARGUMENT, "pixloc_predict: images and xy must not be NULL");
    if (!h->has_model) return fail(h, PIXLOC_ERR_NO_MODEL, "pixloc_predict: no model loaded (call pixloc_load first)");
    if (n == 0) return PIXLOC_OK;
    predict_args a = {images, n, height, width, xy, peaks};
    return guarded(h, predict_work, &a);
}

const char *pixloc_last_error(const pixloc *h) { return h ? h->err : "out of memory allocating the pixloc handle"; }

const char *pixloc_device_name(const pixloc *h) { return h && h->has_device ? h->c.device_name : ""; }

static int close_work(pixloc *h, void *arg) {
    (void)arg;
    if (h->has_model) predictor_free(&h->p);
    h->has_model = 0;
    if (h->has_device) ocl_release(&h->c);
    h->has_device = 0;
    return PIXLOC_OK;
}

void pixloc_close(pixloc *h) {
    if (!h) return;
    guarded(h, close_work, NULL);
    free(h);
}

const char *pixloc_version(void) { return PIXLOC_VERSION; }
