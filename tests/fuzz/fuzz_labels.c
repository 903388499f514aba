// Fuzz target: labels_parse_mem (the import CSV, parsed by libcsv). An accepted table must hold
// at least one row, each with a safe relative name (not empty, not absolute, no '..'
// component, no control byte) and a line number within the text, in increasing order; a
// refused one must leave the table empty and say "fuzz line L: ..." or "fuzz: ...".
#include <stdlib.h>
#include <string.h>

#include "fuzz_targets.h"
#include "labels.h"

int fuzz_labels(const uint8_t *data, size_t size) {
    char err[1024];
    err[0] = 0;
    fuzz_accepted = 0;
    label_table t;
    int rc = labels_parse_mem((const char *)data, size, "fuzz", &t, err, sizeof err);
    if (rc != 0) {
        FUZZ_CHECK(t.n == 0 && t.rows == NULL);
        FUZZ_CHECK((strncmp(err, "fuzz: ", 6) == 0 || strncmp(err, "fuzz line ", 10) == 0) && strlen(err) > 10);
        return 0;
    }
    fuzz_accepted = 1;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
    FUZZ_CHECK(t.n >= 1 && t.rows != NULL);
    int prev = 0;
    for (int i = 0; i < t.n; i++) {
        const label_row *r = &t.rows[i];
        FUZZ_CHECK(r->line > prev && (size_t)r->line <= lines);
        prev = r->line;
        size_t n = strlen(r->file);
        FUZZ_CHECK(n >= 1 && r->file[0] != '/');
        for (size_t k = 0; k < n; k++) FUZZ_CHECK((unsigned char)r->file[k] >= 0x20 && r->file[k] != 0x7f);
        const char *p = r->file;
        for (;;) { // no ".." component
            const char *e = strchr(p, '/');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            FUZZ_CHECK(!(len == 2 && p[0] == '.' && p[1] == '.'));
            if (!e) break;
            p = e + 1;
        }
    }
    labels_free(&t);
    FUZZ_CHECK(t.n == 0 && t.rows == NULL);
    return 0;
}
