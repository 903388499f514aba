// Integer lists and HxW sizes (see include/core/parse.h).
#include "parse.h"

#include <limits.h>
#include <stdio.h>

#include "pixloc.h"

static const char *skip_blank(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

// One item at *pp: blanks, [+-]digits, blanks. Returns 0 (value in *v), -1 if
// there is no number, -2 if it overflows long; *pp moves past what was read.
static int item(const char **pp, long *v) {
    const char *p = skip_blank(*pp);
    int neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (*p < '0' || *p > '9') {
        *pp = p;
        return -1;
    }
    unsigned long lim = neg ? (unsigned long)LONG_MAX + 1 : (unsigned long)LONG_MAX, acc = 0;
    int over = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (acc > (lim - d) / 10)
            over = 1;
        else
            acc = acc * 10 + d;
    }
    *pp = skip_blank(p);
    if (over) return -2;
    *v = neg ? (acc == (unsigned long)LONG_MAX + 1 ? LONG_MIN : -(long)acc) : (long)acc;
    return 0;
}

int px_parse_int_list(const char *s, int *out, int max, long lo, long hi, char *err, size_t errlen) {
    if (!s || !*skip_blank(s)) {
        px_errf(err, errlen, "empty list (expected e.g. 32,64,128)");
        return -1;
    }
    if (lo < INT_MIN) lo = INT_MIN; // values are stored as int
    if (hi > INT_MAX) hi = INT_MAX;
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *start = p;
        long v = 0;
        int r = item(&p, &v);
        if (r == -1) {
            if (*p == ',' || !*p)
                px_errf(err, errlen, "empty item in '%s'", s);
            else
                px_errf(err, errlen, "'%s' is not a comma-separated list of whole numbers", s);
            return -1;
        }
        if (r == -2 || v < lo || v > hi) {
            int len = (int)(p - start);
            px_errf(err, errlen, "%.*s in '%s' is out of range (expected %ld..%ld)", len, skip_blank(start), s, lo, hi);
            return -1;
        }
        if (n >= max) {
            px_errf(err, errlen, "more than %d values in '%s'", max, s);
            return -1;
        }
        out[n++] = (int)v;
        if (!*p) return n;
        if (*p != ',') {
            px_errf(err, errlen, "unexpected '%c' in '%s' (expected a comma-separated list of whole numbers)", *p, s);
            return -1;
        }
        p++;
    }
}

int px_parse_size(const char *s, int max_side, int *H, int *W, char *err, size_t errlen) {
    long h = 0, w = 0;
    const char *p = s ? s : "";
    int ok = item(&p, &h) == 0 && (*p == 'x' || *p == 'X');
    if (ok) {
        p++;
        ok = item(&p, &w) == 0 && !*p;
    }
    if (!ok || h < 1 || w < 1 || h > max_side || w > max_side) {
        px_errf(err, errlen, "'%s' is not HxW with 1..%d each (e.g. 50x50)", s ? s : "", max_side);
        return -1;
    }
    *H = (int)h;
    *W = (int)w;
    return 0;
}
