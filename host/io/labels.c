// Label tables (labels.h): CSV parsed by libcsv (Debian's libcsv-dev, strict mode), which
// owns the quoting rules; this file adds line numbers, the header, and the checks of each
// field. The text is fed to libcsv one physical line at a time so that every record knows
// the line it starts on, even when a quoted field spans lines.
#include "labels.h"

#include <csv.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LABELS_MAX_NAME 4095 // bytes of a file name (PATH_MAX less the terminator)

typedef struct {
    label_table *t;
    int cap;
    const char *name;
    char *err;
    size_t errlen;
    int failed;
    int line;     // the physical line being fed (1-based)
    int rec_line; // the line the current record started on (0 between records)
    int nfields;
    int records; // records handled so far (the first may be the header)
    char *field[3];
} parse_state;

static void fail(parse_state *s, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(parse_state *s, int line, const char *fmt, ...) {
    if (s->failed) return;
    s->failed = 1;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    px_errf(s->err, s->errlen, "%s line %d: %s", s->name, line, msg);
}

static void on_field(void *bytes, size_t len, void *data) {
    parse_state *s = data;
    if (s->failed) return;
    if (s->nfields < 3) {
        if (memchr(bytes, 0, len)) {
            fail(s, s->rec_line, "field %d holds a NUL byte", s->nfields + 1);
            return;
        }
        s->field[s->nfields] = px_malloc(len + 1, "CSV field");
        memcpy(s->field[s->nfields], bytes, len);
        s->field[s->nfields][len] = 0;
    }
    s->nfields++;
}

static void clear_fields(parse_state *s) {
    for (int i = 0; i < 3; i++) {
        free(s->field[i]);
        s->field[i] = NULL;
    }
    s->nfields = 0;
    s->rec_line = 0;
}

// A whole number in int32 range: optional sign, digits, nothing else. -1: not a whole number,
// -2: out of range.
static int parse_coord(const char *v, int32_t *out) {
    const char *p = v;
    if (*p == '+' || *p == '-') p++;
    if (*p < '0' || *p > '9') return -1;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return -1;
    errno = 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < INT32_MIN || n > INT32_MAX) return -2; // digits, but too many
    *out = (int32_t)n;
    return 0;
}

// Refuses names that are empty, absolute, climb out of the folder or hold control bytes.
static int check_name(parse_state *s, int line, const char *f) {
    size_t len = strlen(f);
    if (len == 0) {
        fail(s, line, "the file name is empty");
        return -1;
    }
    if (len > LABELS_MAX_NAME) {
        fail(s, line, "the file name is %zu bytes long (at most %d)", len, LABELS_MAX_NAME);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)f; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            fail(s, line, "the file name holds a control character (byte 0x%02x)", *p);
            return -1;
        }
    if (f[0] == '/') {
        fail(s, line, "'%s' is an absolute path: file names are relative to the images folder", f);
        return -1;
    }
    for (const char *p = f; *p;) { // each '/'-separated component
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            fail(s, line, "'%s' leaves the images folder ('..' is not allowed in file names)", f);
            return -1;
        }
        p += n;
        if (*p == '/') p++;
    }
    return 0;
}

static void on_record(int c, void *data) {
    (void)c;
    parse_state *s = data;
    if (s->failed) {
        clear_fields(s);
        return;
    }
    int line = s->rec_line ? s->rec_line : s->line;
    // A line of spaces alone is one empty field: skipped like a blank line.
    if (s->nfields == 0 || (s->nfields == 1 && s->field[0][0] == 0)) {
        clear_fields(s);
        return;
    }
    int first = s->records++ == 0;
    if (s->nfields != 3) {
        fail(s, line, "%d field%s, expected 3 (file,x,y)", s->nfields, s->nfields == 1 ? "" : "s");
    } else if (first && !strcasecmp(s->field[0], "file") && !strcasecmp(s->field[1], "x") &&
               !strcasecmp(s->field[2], "y")) {
        s->t->header = 1;
    } else {
        label_row r = {.line = line};
        const char *hint = first ? " (a header line, if any, must be exactly file,x,y)" : "";
        int ex = parse_coord(s->field[1], &r.x), ey = ex ? 0 : parse_coord(s->field[2], &r.y);
        if (ex || ey) {
            int is_x = ex != 0;
            fail(s, line, "%s '%.40s' is %s: %s is the 0-based %s of the bright pixel%s", is_x ? "x" : "y",
                 s->field[is_x ? 1 : 2], (is_x ? ex : ey) == -2 ? "out of range" : "not a whole number",
                 is_x ? "x" : "y", is_x ? "column" : "row", hint);
        } else if (check_name(s, line, s->field[0]) == 0) {
            if (s->t->n >= LABELS_MAX_ROWS) {
                fail(s, line, "more than %d rows", LABELS_MAX_ROWS);
            } else {
                if (s->t->n == s->cap) {
                    s->cap = s->cap ? 2 * s->cap : 64;
                    label_row *nr = realloc(s->t->rows, (size_t)s->cap * sizeof *nr);
                    if (!nr) px_die(PX_EXIT_FAIL, "out of memory for %d label rows", s->cap);
                    s->t->rows = nr;
                }
                r.file = s->field[0];
                s->field[0] = NULL; // owned by the row now
                s->t->rows[s->t->n++] = r;
            }
        }
    }
    clear_fields(s);
}

// 1 when the line holds something besides spaces, tabs and its line end.
static int line_has_text(const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n') return 1;
    return 0;
}

// Length of the physical line at b (through its terminator: LF, CRLF or CR).
static size_t line_length(const char *b, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (b[i] == '\n') return i + 1;
        if (b[i] == '\r') return i + 1 < len && b[i + 1] == '\n' ? i + 2 : i + 1;
    }
    return len;
}

void labels_free(label_table *t) {
    for (int i = 0; i < t->n; i++) free(t->rows[i].file);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

static void quote_error(parse_state *s) {
    fail(s, s->rec_line ? s->rec_line : s->line,
         "malformed quoting: a quote inside an unquoted field, or text after a closing quote "
         "(quote a whole field, and double a quote inside it: \"a \"\"b\"\".png\")");
}

int labels_parse_mem(const char *bytes, size_t len, const char *name, label_table *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    if (!name) name = "(labels)";
    parse_state s = {.t = t, .name = name, .err = err, .errlen = errlen, .line = 1};
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) px_die(PX_EXIT_FAIL, "out of memory for the CSV parser");
    size_t pos = 0;
    if (len >= 3 && !memcmp(bytes, "\xEF\xBB\xBF", 3)) pos = 3; // UTF-8 byte order mark
    while (pos < len && !s.failed) {
        size_t n = line_length(bytes + pos, len - pos);
        // Between records, the first line with text starts the next one (libcsv skips blank
        // lines); a record ends within the line that holds its terminator.
        if (s.rec_line == 0 && line_has_text(bytes + pos, n)) s.rec_line = s.line;
        if (csv_parse(&p, bytes + pos, n, on_field, on_record, &s) != n) {
            if (csv_error(&p) == CSV_EPARSE)
                quote_error(&s);
            else
                px_die(PX_EXIT_FAIL, "%s: cannot parse: %s", name, csv_strerror(csv_error(&p)));
        }
        pos += n;
        if (!s.failed) s.line++;
    }
    if (!s.failed && csv_fini(&p, on_field, on_record, &s) != 0) {
        if (!s.failed) s.line--; // the last line, not the one after it
        fail(&s, s.rec_line ? s.rec_line : s.line, "a quoted field is not closed before the end of the file");
    }
    csv_free(&p);
    clear_fields(&s);
    if (!s.failed && t->n == 0) {
        px_errf(err, errlen, "%s: no labelled images: the file %s", name,
                t->header ? "holds only the header file,x,y" : "is empty (expected rows file,x,y)");
        s.failed = 1;
    }
    if (s.failed) {
        labels_free(t);
        return -1;
    }
    return 0;
}

int labels_read(const char *path, label_table *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    size_t len = 0;
    char *bytes = px_read_file(path, &len);
    if (!bytes) {
        px_errf_file(err, errlen, path, "cannot read: %s",
                     errno == ENOTSUP ? "not a regular file (a device, FIFO or socket)" : strerror(errno));
        return -1;
    }
    int rc = labels_parse_mem(bytes, len, path, t, err, errlen);
    free(bytes);
    return rc;
}

void labels_append(px_sbuf *b, const char *file, int x, int y) {
    size_t n = strlen(file);
    int quote = n == 0 || file[0] == ' ' || file[0] == '\t' || file[n - 1] == ' ' || file[n - 1] == '\t' ||
                strpbrk(file, ",\"\r\n") != NULL;
    if (quote) {
        px_sbuf_add(b, "\"", 1);
        for (const char *p = file; *p; p++) px_sbuf_add(b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
        px_sbuf_add(b, "\"", 1);
    } else {
        px_sbuf_add(b, file, n);
    }
    px_sbuf_printf(b, ",%d,%d\n", x, y);
}
