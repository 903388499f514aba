/* libpixloc: find the one bright pixel in noisy images with a network trained by `pixloc train`,
 * on any OpenCL device, from C. Build with `pkg-config --cflags --libs pixloc` or CMake's
 * find_package(pixloc) and the target pixloc::pixloc.
 *
 *     pixloc *h;
 *     if (pixloc_open(NULL, &h) != PIXLOC_OK || pixloc_load(h, "runs/a") != PIXLOC_OK)
 *         fprintf(stderr, "%s\n", pixloc_last_error(h));
 *     int xy[2 * 8]; float peak[8];
 *     pixloc_predict(h, images, 8, 50, 50, xy, peak); // images: 8 x 50 x 50 floats
 *     pixloc_close(h);
 *
 * Every function returns a status (PIXLOC_OK or a PIXLOC_ERR_*) and keeps a message for it in
 * the handle; none prints anything or ends the process (an OpenCL failure, an allocation
 * failure or a device that does not exist comes back as a status). The library reads no
 * environment variable: a program that wants PIXLOC_DEVICE and the others passes them in
 * pixloc_options. A handle is used by one thread at a time; separate handles may be used from
 * separate threads. */
#ifndef PIXLOC_PUBLIC_PIXLOC_H
#define PIXLOC_PUBLIC_PIXLOC_H

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; pixloc_version() gives the library's (the same when the program
 * was built against the library it runs with). Checked against CMakeLists.txt's at configure. */
#define PIXLOC_VERSION_MAJOR  0
#define PIXLOC_VERSION_MINOR  1
#define PIXLOC_VERSION_PATCH  0
#define PIXLOC_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define PIXLOC_API __attribute__((visibility("default")))
#else
#define PIXLOC_API
#endif

typedef struct pixloc pixloc; /* a device, and the model loaded on it */

enum {
    PIXLOC_OK = 0,
    PIXLOC_ERR_ARGUMENT = 1,  /* a NULL pointer, a count or an image size out of range */
    PIXLOC_ERR_DEVICE = 2,    /* no OpenCL platform, or no device matches the selection */
    PIXLOC_ERR_MODEL = 3,     /* the checkpoint is missing, unreadable or not a pixloc checkpoint */
    PIXLOC_ERR_NO_MODEL = 4,  /* pixloc_predict before a successful pixloc_load */
    PIXLOC_ERR_TOO_LARGE = 5, /* one image of this size does not fit the device */
    PIXLOC_ERR_RUNTIME = 6    /* an OpenCL call, a kernel build or an allocation failed */
};

typedef struct {
    /* As pixloc's --platform, --device and --device-type flags: an index or a case-insensitive
     * part of the name or vendor; device_type "gpu", "cpu", "accelerator" or "all". NULL: the
     * default (the first GPU of any platform, else the first CPU device). */
    const char *platform, *device, *device_type;
    /* Compiled kernels and the tuning file (as PIXLOC_CACHE_DIR); NULL: no cache, every
     * pixloc_open builds its kernels again. The CLI's default is $XDG_CACHE_HOME/pixloc or
     * ~/.cache/pixloc. */
    const char *cache_dir;
    /* Optional: receives each line pixloc would otherwise print, without a newline: the chosen
     * device ("device: NAME | TYPE | ..."), and warnings ("warning: ...", e.g. a bad line in the
     * tuning file); NULL drops them. Called on the thread of the call that logs. */
    void (*log)(void *user, const char *line);
    void *log_user;
} pixloc_options;

/* Opens the selected device (options may be NULL: the defaults). *out is set to a handle even
 * when this fails (except when not even the handle could be allocated: *out is then NULL and
 * the status PIXLOC_ERR_RUNTIME), so that pixloc_last_error can tell why; always
 * pixloc_close it. */
PIXLOC_API int pixloc_open(const pixloc_options *options, pixloc **out);
/* Loads a checkpoint: a run directory of `pixloc train` (its best.safetensors) or a checkpoint
 * file, as `pixloc predict --model` accepts. Replaces the model loaded before, if any. */
PIXLOC_API int pixloc_load(pixloc *h, const char *model);
/* Predicts n images of height x width pixels (each side 1..4096), images[(i*height + y)*width
 * + x] in 0..1 as `pixloc predict` reads files (8-bit / 255); calls may use different sizes.
 * Writes xy[2*i] = x (column), xy[2*i+1] = y (row) of image i's heatmap peak and, when peaks is
 * not NULL, peaks[i] = the heatmap's value there: the numbers `pixloc predict` prints.
 * After PIXLOC_ERR_RUNTIME or PIXLOC_ERR_MODEL the model is unloaded: pixloc_load it again. */
PIXLOC_API int pixloc_predict(pixloc *h, const float *images, int n, int height, int width, int *xy, float *peaks);
/* The message of the last failed call on h ("" after a success); valid until the next call
 * on h. A NULL h gives the message for an allocation failure. */
PIXLOC_API const char *pixloc_last_error(const pixloc *h);
/* The device's name ("" when pixloc_open failed). */
PIXLOC_API const char *pixloc_device_name(const pixloc *h);
/* Frees the model, the device context and h; NULL is allowed. */
PIXLOC_API void pixloc_close(pixloc *h);
/* The library's version, "MAJOR.MINOR.PATCH". */
PIXLOC_API const char *pixloc_version(void);

#ifdef __cplusplus
}
#endif

#endif
