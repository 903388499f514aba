// Flag-value parsing shared by every subcommand: a bad value is a clear message
// naming the flag, the value and what was expected, and exit status 2.
#ifndef PIXLOC_CLI_H
#define PIXLOC_CLI_H

long cli_int(const char *flag, const char *value, long lo, long hi);
double cli_double(const char *flag, const char *value, double lo, double hi);
// Comma-separated positive integers ("32,64,128"); returns the count (dies on error).
int cli_int_list(const char *flag, const char *value, int *out, int max, long lo, long hi);
// "HxW" image size with each side in 1..4096 (dies on error).
void cli_size(const char *flag, const char *value, int *H, int *W);
// Unknown flag / missing argument / stray argument: prints the message and a
// pointer to `pixloc CMD --help`, exits 2.
void cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
