// JSON text in pixloc's layouts, every key and value rendered (escaped) by cJSON. A non-finite
// number becomes null.
#ifndef PIXLOC_JSON_TEXT_H
#define PIXLOC_JSON_TEXT_H

#include <cjson/cJSON.h>
#include <stdio.h>

// Adds a number rounded to 6 significant digits (the precision of pixloc's JSON numbers).
cJSON *json_add_number6(cJSON *obj, const char *key, double v);
// Adds a string after replacing invalid UTF-8 (utf8_sanitize).
cJSON *json_add_string(cJSON *obj, const char *key, const char *s);
// Writes item: objects and arrays nested fewer than inline_depth levels deep one entry per line
// (two-space indent, "key": value), deeper ones on one line as {"key": value, "key": value}.
// inline_depth 0 writes everything on one line. Returns 0, or -1 if cJSON could not render.
int json_write(FILE *f, const cJSON *item, int inline_depth);

#endif
