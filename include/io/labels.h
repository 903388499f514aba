// Label tables: a CSV file of "file,x,y" rows (one labelled image each), read with libcsv.
// The format (what `pixloc import` reads and `pixloc generate --png` writes):
//   - comma-separated, RFC 4180 quoting ("a,b.png" and "say ""hi"".png" are one field each);
//   - an optional first line that is exactly the header file,x,y (letter case ignored);
//   - x the column and y the row of the bright pixel, 0-based whole numbers (pixel indices,
//     the centre of pixel (x, y); what the dataset's coords hold);
//   - line ends LF, CRLF or CR; a UTF-8 byte order mark is skipped; blank lines are skipped;
//     spaces and tabs around an unquoted field are dropped;
//   - file names relative to the images folder: an absolute path, a '..' component, an empty
//     name or one with a NUL or control byte is an error.
// Every error names the file and the line the record starts on: "NAME line L: problem".
#ifndef PIXLOC_LABELS_H
#define PIXLOC_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "pixloc.h"

#define LABELS_HEADER   "file,x,y"
#define LABELS_MAX_ROWS 10000000 // far above any folder of images that fits in memory

typedef struct {
    char *file; // as written in the CSV (relative to the images folder)
    int32_t x, y;
    int line; // the line of the CSV file the record starts on (1-based)
} label_row;

typedef struct {
    label_row *rows;
    int n;
    int header; // 1 when the first line was the header file,x,y
} label_table;

// Parses CSV text (len bytes; need not be NUL-terminated). Returns 0 with at least one row, or
// -1 with "NAME line L: problem" (or "NAME: problem" for the whole file) in err; *t is then empty.
int labels_parse_mem(const char *bytes, size_t len, const char *name, label_table *t, char *err, size_t errlen);
// Reads and parses the file at path (a regular file, at most PX_READ_FILE_MAX bytes).
int labels_read(const char *path, label_table *t, char *err, size_t errlen);
void labels_free(label_table *t);
// Appends one row "file,x,y\n" to b, quoting the file name when it holds a comma, a quote, a
// line break or leading/trailing spaces (what labels_parse_mem reads back unchanged).
void labels_append(px_sbuf *b, const char *file, int x, int y);

#endif
