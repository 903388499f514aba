// Flag-value parsing shared by every subcommand; see include/cli.h.
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "pixloc.h"

long cli_int(const char *flag, const char *value, long lo, long hi) {
    char *end;
    errno = 0;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || !*value || *end || errno == ERANGE)
        px_die(PX_EXIT_USAGE, "%s: '%s' is not a whole number (expected %ld..%ld)", flag, value ? value : "", lo, hi);
    if (v < lo || v > hi) px_die(PX_EXIT_USAGE, "%s: %ld is out of range (expected %ld..%ld)", flag, v, lo, hi);
    return v;
}

double cli_double(const char *flag, const char *value, double lo, double hi) {
    char *end;
    errno = 0;
    double v = value ? strtod(value, &end) : 0;
    if (!value || !*value || *end || errno == ERANGE || !isfinite(v))
        px_die(PX_EXIT_USAGE, "%s: '%s' is not a number (expected %g..%g)", flag, value ? value : "", lo, hi);
    if (v < lo || v > hi) px_die(PX_EXIT_USAGE, "%s: %g is out of range (expected %g..%g)", flag, v, lo, hi);
    return v;
}

int cli_int_list(const char *flag, const char *value, int *out, int max, long lo, long hi) {
    char err[512];
    int n = px_parse_int_list(value, out, max, lo, hi, err, sizeof err);
    if (n < 0) px_die(PX_EXIT_USAGE, "%s: %s", flag, err);
    return n;
}

void cli_size(const char *flag, const char *value, int *H, int *W) {
    char err[512];
    if (px_parse_size(value, PX_MAX_SIDE, H, W, err, sizeof err) != 0) px_die(PX_EXIT_USAGE, "%s: %s", flag, err);
}

void cli_net_shape_default(cli_net_shape *s) {
    net_config_seed(&s->cfg);
    snprintf(s->channels, sizeof s->channels, "32,64,128,64,32");
    s->batch = 64;
    s->H = 50;
    s->W = 50;
}

int cli_net_shape_flag(cli_net_shape *s, const char *name, const char *value) {
    if (strcmp(name, "batch-size") == 0) {
        s->batch = (int)cli_int("--batch-size", value, 1, 65536);
    } else if (strcmp(name, "channels") == 0) {
        char err[256];
        if (net_config_channels(&s->cfg, value, err, sizeof err) != 0) px_die(PX_EXIT_USAGE, "--channels: %s", err);
        snprintf(s->channels, sizeof s->channels, "%s", value);
    } else if (strcmp(name, "size") == 0) {
        cli_size("--size", value, &s->H, &s->W);
    } else {
        return 0;
    }
    return 1;
}

void cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fputs("pixloc: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'pixloc %s --help' for usage.\n", cmd);
    exit(PX_EXIT_USAGE);
}

const char *cli_path(const char *flag, const char *value) {
    if (!*value) px_die(PX_EXIT_USAGE, "%s: the path is empty", flag);
    return value;
}
