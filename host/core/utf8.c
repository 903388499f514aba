// UTF-8 replacement of invalid bytes; see include/core/utf8.h.
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#include "pixloc.h"

// The length of the valid UTF-8 sequence at s (1..4), or 0 if the byte at s does not start one.
static int valid_seq(const unsigned char *s) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n;
    unsigned min, cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        min = 0x80;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        min = 0x800;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0; // also stops at the terminating 0
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

char *utf8_sanitize(const char *s) {
    if (!s) s = "";
    size_t len = strlen(s);
    char *out = px_malloc(3 * len + 1, "UTF-8 text"); // each byte becomes at most 3 (U+FFFD)
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        int n = valid_seq(p);
        if (n) {
            memcpy(out + o, p, (size_t)n);
            o += (size_t)n;
            p += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        }
    }
    out[o] = 0;
    return out;
}
