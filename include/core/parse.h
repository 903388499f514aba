// The one parser for integer lists ("32,64,128") and image sizes ("50x50"): flag
// values, --channels, the training settings in checkpoints. They return errors
// and never exit (host/cli/cli.c wraps them, dying with the flag's name).
//
// Rules, the same for both: an item is optional spaces or tabs, a decimal
// integer (optional sign, at least one digit), optional spaces or tabs. A list
// is items separated by ','; no empty items, no trailing comma. A size is two
// items separated by 'x' or 'X'. Anything else (junk, a value that overflows
// long, one outside the bounds, too many items) is an error.
#ifndef PIXLOC_PARSE_H
#define PIXLOC_PARSE_H

#include <stddef.h>

// The largest image side accepted anywhere (flags, recipes, datasets).
#define PX_MAX_SIDE 4096

// Parses s into out[0..max) with each value in lo..hi; returns the count (>= 1),
// or -1 with a message in err (err may be NULL).
int px_parse_int_list(const char *s, int *out, int max, long lo, long hi, char *err, size_t errlen);
// Parses "HxW" with each side in 1..max_side; returns 0, or -1 with a message
// ("'S' is not HxW with 1..MAX each (e.g. 50x50)") in err (err may be NULL).
int px_parse_size(const char *s, int max_side, int *H, int *W, char *err, size_t errlen);

#endif
