// The tuning store: per-device choices written by `pixloc tune` and read by the
// layers that were tuned. One text file per device,
//   "<cache dir>/tuning-<device hash>.txt"
// (the cache directory of compiled kernels: with the cache off there is no store),
// one entry per line:
//   KIND D1 D2 D3 D4 key=value key=value ...
// e.g. "conv3x3 32 64 50 50 variant=cpu tile_co=16 ...". The store knows entries
// by (KIND, shape) and holds their key=value text; what the keys mean is the
// business of the layer that owns KIND (conv3x3: host/nn/conv_tuning.c).
#ifndef PIXLOC_TUNING_H
#define PIXLOC_TUNING_H

#include <stddef.h>

#define TUNING_KIND_MAX 32
#define TUNING_DIM_MAX  65536 // each of the four shape numbers is 1..TUNING_DIM_MAX
#define TUNING_LINE_MAX 1024

typedef struct {
    char kind[TUNING_KIND_MAX]; // [a-z0-9_]+
    int shape[4];
    char *params; // "key=value ..." (single spaces), malloc'd
    int line;     // line number in the file it was read from; 0 if put in this process
    int warned;   // for its owner: 1 once a warning about this entry was printed
} tuning_entry;

typedef struct tuning_store {
    char path[1200]; // "" when there is no file (cache directory off)
    int loaded;      // 1 once tuning_store_load ran
    tuning_entry *e;
    int n, cap;
} tuning_store;

// Path of a device's tuning file in cache_dir; 0 (and "") if cache_dir is NULL or "" (off).
int tuning_path(const char *cache_dir, const char *platform_version, const char *device_name,
                const char *driver_version, char *out, size_t len);
// Parses one line: "KIND D1 D2 D3 D4" and then only key=value tokens. Returns 0 with
// *params pointing into `line` (the rest after the shape, whitespace-trimmed), or -1
// with a reason in err (also for a blank line: reason "blank").
int tuning_parse_line(const char *line, char kind[TUNING_KIND_MAX], int shape[4], const char **params, char *err,
                      size_t errlen);
// Sets the store's path and reads the file (a missing file is an empty store). A line
// that does not parse is skipped with a warning naming the file and the line; a file
// with NUL bytes is ignored whole, with one warning. Never fatal.
void tuning_store_load(tuning_store *s, const char *path);
// The entry for (kind, shape), or NULL.
tuning_entry *tuning_store_find(const tuning_store *s, const char *kind, const int shape[4]);
// Adds the entry, or replaces the text of the one with the same (kind, shape).
void tuning_store_put(tuning_store *s, const char *kind, const int shape[4], const char *params);
// Writes every entry, one line each, in order (directory created, temp file + rename).
// Returns 0, or -1 with errno set.
int tuning_store_save(const tuning_store *s);
void tuning_store_free(tuning_store *s);
// Prints "warning: ignoring the tuning file PATH line L (WHY); <rest>" once per entry.
void tuning_entry_warn(tuning_entry *e, const char *path, const char *why);
// "yes, N tuned entries in PATH" if the device's file exists (1), else 0.
int tuning_describe(const char *cache_dir, const char *platform_version, const char *device_name,
                    const char *driver_version, char *out, size_t len);

#endif
