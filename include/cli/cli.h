// Flag-value parsing shared by every subcommand: a bad value is a clear message
// naming the flag, the value and what was expected, and exit status 2.
#ifndef PIXLOC_CLI_H
#define PIXLOC_CLI_H

#include "net.h"
#include "ocl_flags.h"

// A flag value that names a file or directory: returned as is, or exit 2 when it is empty.
const char *cli_path(const char *flag, const char *value);
long cli_int(const char *flag, const char *value, long lo, long hi);
double cli_double(const char *flag, const char *value, double lo, double hi);
// Comma-separated integers in lo..hi ("32,64,128", rules of parse.h); returns the count (dies on error).
int cli_int_list(const char *flag, const char *value, int *out, int max, long lo, long hi);
// "HxW" image size with each side in 1..PX_MAX_SIDE (parse.h; dies on error).
void cli_size(const char *flag, const char *value, int *H, int *W);
// The network-shape flags bench and tune share: --batch-size, --channels, --size.
typedef struct {
    net_config cfg;
    char channels[256]; // the --channels text, for reports
    int batch, H, W;
} cli_net_shape;
// The seed network (32,64,128,64,32) on 50x50 images, batch 64.
void cli_net_shape_default(cli_net_shape *s);
// Applies flag `name` ("batch-size", "channels" or "size", without dashes) with its
// value; returns 0 if `name` is none of them. Bad values die with status 2.
int cli_net_shape_flag(cli_net_shape *s, const char *name, const char *value);
// The default inference batch of predict and eval. Inference (NET_KIND_INFERENCE) holds two
// activation buffers of batch x channels x (H+2)(W+2) floats, so memory grows with the batch:
// at 64 the seed network on 50x50 images needs ~140 MB of them, at 256 four times that, for
// the same images/s on a CPU (`pixloc bench`: 320.8 at 64, 316.1 at 256 in the README).
#define CLI_INFER_BATCH 64
#define CLI_INFER_BATCH_HELP                                                                                           \
    "inference batch [64]; memory grows with it: two buffers of N x channels x (H+2)(W+2)\n"                           \
    "                   floats for the two widest alternating layers (~140 MB at 64 for the seed\n"                    \
    "                   network on 50x50 images)"

// Unknown flag / missing argument / stray argument: prints the message and a
// pointer to `pixloc CMD --help`, exits 2.
void cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

// Standard output's errors (host/cli/stdout_check.c): call stdout_guard_begin first thing in
// main and return stdout_guard_end(status): a failed write or close of stdout turns a success
// into exit 1 with "write error on standard output: ...".
void stdout_guard_begin(void);
int stdout_guard_end(int status);

#endif
