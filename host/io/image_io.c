// Image files: PNG (libpng) and PGM (P2/P5) read into grayscale floats in [0, 1];
// 8-bit gray and RGB PNG written atomically. Readers never trust the input: a
// corrupt or truncated file is an error message "NAME: problem", never a crash.
#include "image_io.h"

#include <errno.h>
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "pixloc.h"

// Largest image accepted (pixels): far above anything pixloc uses (50x50), small
// enough that a forged header cannot make us allocate gigabytes.
#define IMG_MAX_PIXELS ((size_t)1 << 24) // 4096 x 4096

static int size_ok(long long H, long long W, const char *name, char *err, size_t errlen) {
    if (H <= 0 || W <= 0) {
        px_errf_file(err, errlen, name, "image size %lldx%lld is empty", W, H);
        return 0;
    }
    // Each side at most PX_MAX_SIDE, the limit every other part of pixloc uses: a 1 x 16M-pixel
    // image would pass the pixel count, yet cost libpng hundreds of MiB of row buffers.
    if (H > PX_MAX_SIDE || W > PX_MAX_SIDE || (size_t)H * (size_t)W > IMG_MAX_PIXELS) {
        px_errf_file(err, errlen, name, "image size %lldx%lld is too large (limit %dx%d)", W, H, PX_MAX_SIDE,
                     PX_MAX_SIDE);
        return 0;
    }
    return 1;
}

// ---------------------------------------------------------------------------
// PNG reading

typedef struct {
    const unsigned char *bytes;
    size_t len, pos;
    char msg[256]; // libpng's error text, copied before longjmp
    jmp_buf jmp;
} png_src;

// State owned by the caller of png_decode, so nothing the setjmp frame allocates
// lives in one of its (possibly clobbered) automatic variables.
typedef struct {
    png_structp png;
    png_infop info;
    unsigned char *pixels;
    png_bytep *rows;
} png_state;

static void png_err_fn(png_structp png, png_const_charp msg) {
    png_src *src = png_get_error_ptr(png);
    snprintf(src->msg, sizeof src->msg, "%s", msg);
    longjmp(src->jmp, 1);
}

static void png_warn_fn(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; // warnings (e.g. unknown ancillary chunks) are not the user's business
}

static void png_read_mem_fn(png_structp png, png_bytep out, size_t n) {
    png_src *src = png_get_io_ptr(png);
    if (n > src->len - src->pos) png_error(png, "file is truncated");
    memcpy(out, src->bytes + src->pos, n);
    src->pos += n;
}

// Decodes into st->pixels as 8- or 16-bit gray or RGB (alpha stripped). Returns
// 0 or -1 with err set. All allocations are in *st; the caller frees them.
static int png_decode(png_src *src, png_state *st, const char *name, int *H, int *W, int *channels, int *depth,
                      char *err, size_t errlen) {
    st->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, src, png_err_fn, png_warn_fn);
    if (!st->png) {
        px_errf_file(err, errlen, name, "cannot initialise libpng");
        return -1;
    }
    st->info = png_create_info_struct(st->png);
    if (!st->info) {
        px_errf_file(err, errlen, name, "cannot initialise libpng");
        return -1;
    }
    if (setjmp(src->jmp)) {
        px_errf_file(err, errlen, name, "invalid PNG: %s", src->msg);
        return -1;
    }
    png_set_read_fn(st->png, src, png_read_mem_fn);
    png_set_user_limits(st->png, 1u << 24, 1u << 24);
    png_read_info(st->png, st->info);

    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(st->png, st->info, &w, &h, &bit_depth, &color_type, NULL, NULL, NULL);
    if (!size_ok(h, w, name, err, errlen)) return -1;

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(st->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(st->png);
    // tRNS is transparency metadata, not intensity: ignored. Palette expansion turns a tRNS chunk
    // into an alpha channel, which is stripped like a real one.
    if ((color_type & PNG_COLOR_MASK_ALPHA) ||
        (color_type == PNG_COLOR_TYPE_PALETTE && png_get_valid(st->png, st->info, PNG_INFO_tRNS)))
        png_set_strip_alpha(st->png);
    png_set_interlace_handling(st->png);
    png_read_update_info(st->png, st->info);

    int ch = png_get_channels(st->png, st->info);
    int bd = png_get_bit_depth(st->png, st->info);
    size_t rowbytes = png_get_rowbytes(st->png, st->info);
    if ((ch != 1 && ch != 3) || (bd != 8 && bd != 16) || rowbytes != (size_t)w * ch * (bd / 8)) {
        px_errf_file(err, errlen, name, "unsupported PNG layout (%d channels, %d bits)", ch, bd);
        return -1;
    }
    st->pixels = malloc(rowbytes * h);
    st->rows = malloc(sizeof(png_bytep) * h);
    if (!st->pixels || !st->rows) {
        px_errf_file(err, errlen, name, "out of memory for a %ux%u image", (unsigned)w, (unsigned)h);
        return -1;
    }
    for (png_uint_32 r = 0; r < h; r++) st->rows[r] = st->pixels + r * rowbytes;
    png_read_image(st->png, st->rows);
    png_read_end(st->png, NULL);
    *H = (int)h;
    *W = (int)w;
    *channels = ch;
    *depth = bd;
    return 0;
}

// Checks, before libpng sees the file, that every chunk up to IEND fits in the len bytes after
// the 8-byte signature. libpng (1.6.39) allocates an ancillary chunk's buffer at the length its
// header claims before reading the data: a 57-byte file claiming a 2 GB sPLT chunk made it
// allocate 2 GB (found by fuzz_image; tests/test_image_io.c). A chunk cut off without a
// claimed length past the end is left to libpng ("file is truncated"). 0 or -1 with err set.
static int png_chunks_fit(const unsigned char *b, size_t len, const char *name, char *err, size_t errlen) {
    size_t pos = 8;
    while (len - pos >= 8) {
        png_uint_32 n = png_get_uint_32(b + pos); // the chunk's data length (big-endian)
        char type[5];
        for (int i = 0; i < 4; i++) {
            unsigned char c = b[pos + 4 + i];
            type[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? (char)c : '?';
        }
        type[4] = 0;
        size_t left = len - pos - 8; // bytes after this chunk's header
        if ((size_t)n > left || left - n < 4) {
            px_errf_file(err, errlen, name,
                         "invalid PNG: chunk '%s' at byte %zu claims %lu bytes of data and a CRC, but only %zu "
                         "byte%s follow%s: the file is truncated or corrupt",
                         type, pos, (unsigned long)n, left, left == 1 ? "" : "s", left == 1 ? "s" : "");
            return -1;
        }
        pos += 12 + (size_t)n;
        if (strcmp(type, "IEND") == 0) break;
    }
    return 0;
}

static float *png_read_gray_mem(const void *bytes, size_t len, const char *name, int *H, int *W, char *err,
                                size_t errlen) {
    if (png_chunks_fit(bytes, len, name, err, errlen) != 0) return NULL;
    png_src src = {.bytes = bytes, .len = len, .pos = 0};
    png_state st = {0};
    int h = 0, w = 0, ch = 0, bd = 0;
    float *out = NULL;
    if (png_decode(&src, &st, name, &h, &w, &ch, &bd, err, errlen) == 0) {
        size_t n = (size_t)h * (size_t)w;
        out = malloc(n * sizeof(float));
        if (!out) {
            px_errf_file(err, errlen, name, "out of memory");
        } else {
            const double maxv = bd == 16 ? 65535.0 : 255.0;
            const unsigned char *p = st.pixels;
            for (size_t i = 0; i < n; i++) {
                unsigned v[3] = {0, 0, 0};
                for (int c = 0; c < ch; c++) {
                    v[c] = bd == 16 ? (unsigned)p[0] << 8 | p[1] : p[0];
                    p += bd / 8;
                }
                double g;
                if (ch == 1 || (v[0] == v[1] && v[1] == v[2]))
                    g = v[0]; // gray stays exact
                else
                    g = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2]; // ITU-R BT.601 luma
                out[i] = (float)(g / maxv);
            }
            *H = h;
            *W = w;
        }
    }
    if (st.png) png_destroy_read_struct(&st.png, st.info ? &st.info : NULL, NULL);
    free(st.rows);
    free(st.pixels);
    return out;
}

// ---------------------------------------------------------------------------
// PGM reading (Netpbm P2 plain / P5 raw)

// Skips whitespace and '#' comments (to end of line). Returns the new position.
static size_t pgm_skip(const unsigned char *b, size_t len, size_t pos) {
    while (pos < len) {
        if (b[pos] == '#') {
            while (pos < len && b[pos] != '\n' && b[pos] != '\r') pos++;
        } else if (b[pos] == ' ' || b[pos] == '\t' || b[pos] == '\n' || b[pos] == '\r' || b[pos] == '\v' ||
                   b[pos] == '\f') {
            pos++;
        } else {
            break;
        }
    }
    return pos;
}

// Parses a decimal unsigned integer (no sign) after whitespace/comments.
// Returns 0, or -1 if there is none or it exceeds `limit`.
static int pgm_uint(const unsigned char *b, size_t len, size_t *pos, unsigned long limit, unsigned long *out) {
    size_t p = pgm_skip(b, len, *pos);
    if (p >= len || b[p] < '0' || b[p] > '9') return -1;
    unsigned long v = 0;
    while (p < len && b[p] >= '0' && b[p] <= '9') {
        v = v * 10 + (unsigned long)(b[p] - '0');
        if (v > limit) return -1;
        p++;
    }
    *pos = p;
    *out = v;
    return 0;
}

static float *pgm_read_gray_mem(const unsigned char *b, size_t len, const char *name, int *H, int *W, char *err,
                                size_t errlen) {
    const int plain = b[1] == '2';
    size_t pos = 2;
    if (pos < len && !(b[pos] == ' ' || b[pos] == '\t' || b[pos] == '\n' || b[pos] == '\r' || b[pos] == '#')) {
        px_errf_file(err, errlen, name, "invalid PGM: no whitespace after the magic number");
        return NULL;
    }
    unsigned long w, h, maxval;
    if (pgm_uint(b, len, &pos, IMG_MAX_PIXELS, &w)) {
        px_errf_file(err, errlen, name, "invalid PGM header: missing or absurd width");
        return NULL;
    }
    if (pgm_uint(b, len, &pos, IMG_MAX_PIXELS, &h)) {
        px_errf_file(err, errlen, name, "invalid PGM header: missing or absurd height");
        return NULL;
    }
    if (pgm_uint(b, len, &pos, 65535, &maxval) || maxval == 0) {
        px_errf_file(err, errlen, name, "invalid PGM header: maxval must be 1..65535");
        return NULL;
    }
    if (!size_ok((long long)h, (long long)w, name, err, errlen)) return NULL;
    size_t n = (size_t)w * h;
    // Exactly one whitespace byte separates the header from raw (P5) data.
    if (pos >= len || !(b[pos] == ' ' || b[pos] == '\t' || b[pos] == '\n' || b[pos] == '\r')) {
        px_errf_file(err, errlen, name, "truncated PGM: no pixel data after the header");
        return NULL;
    }
    pos++;
    // The pixel data must fit in what is left before anything is allocated: a forged
    // 20-byte header must not cost a 256 MB allocation (P2 needs a digit and a separator per value).
    const size_t min_data = plain ? 2 * n - 1 : n * (maxval > 255 ? 2 : 1);
    if (len - pos < min_data) {
        px_errf_file(err, errlen, name, "truncated PGM: %zu bytes of pixel data, %lux%lu pixels need at least %zu",
                     len - pos, w, h, min_data);
        return NULL;
    }
    float *out = malloc(n * sizeof(float));
    if (!out) {
        px_errf_file(err, errlen, name, "out of memory for a %lux%lu image", w, h);
        return NULL;
    }
    const double scale = 1.0 / (double)maxval;
    if (plain) {
        for (size_t i = 0; i < n; i++) {
            unsigned long v;
            size_t p = pgm_skip(b, len, pos);
            if (p >= len) {
                px_errf_file(err, errlen, name, "truncated PGM: %zu of %zu pixel values present", i, n);
                free(out);
                return NULL;
            }
            if (pgm_uint(b, len, &pos, 65535, &v)) {
                px_errf_file(err, errlen, name, "invalid PGM: pixel %zu is not a number in 0..65535", i);
                free(out);
                return NULL;
            }
            if (v > maxval) {
                px_errf_file(err, errlen, name, "invalid PGM: pixel %zu value %lu exceeds maxval %lu", i, v, maxval);
                free(out);
                return NULL;
            }
            out[i] = (float)(v * scale);
        }
    } else {
        const size_t bpp = maxval > 255 ? 2 : 1; // 16-bit samples are big-endian
        const size_t need = n * bpp;
        if (len - pos < need) {
            px_errf_file(err, errlen, name, "truncated PGM: %zu bytes of pixel data, expected %zu", len - pos, need);
            free(out);
            return NULL;
        }
        const unsigned char *p = b + pos;
        for (size_t i = 0; i < n; i++) {
            unsigned long v = bpp == 2 ? (unsigned long)p[2 * i] << 8 | p[2 * i + 1] : p[i];
            if (v > maxval) {
                px_errf_file(err, errlen, name, "invalid PGM: pixel %zu value %lu exceeds maxval %lu", i, v, maxval);
                free(out);
                return NULL;
            }
            out[i] = (float)(v * scale);
        }
    }
    *H = (int)h;
    *W = (int)w;
    return out;
}

// ---------------------------------------------------------------------------
// Public readers

float *image_read_gray_mem(const void *bytes, size_t len, const char *name, int *H, int *W, char *err, size_t errlen) {
    const unsigned char *b = bytes;
    if (!name) name = "(memory)";
    if (len >= 8 && png_sig_cmp(b, 0, 8) == 0) return png_read_gray_mem(bytes, len, name, H, W, err, errlen);
    if (len >= 2 && b[0] == 'P' && (b[1] == '2' || b[1] == '5'))
        return pgm_read_gray_mem(b, len, name, H, W, err, errlen);
    if (len >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') {
        px_errf_file(err, errlen, name, "Netpbm format P%c is not supported (only PGM P2/P5)", b[1]);
        return NULL;
    }
    if (len == 0)
        px_errf_file(err, errlen, name, "file is empty");
    else
        px_errf_file(err, errlen, name, "not a PNG or PGM image (unrecognised magic bytes)");
    return NULL;
}

float *image_read_gray(const char *path, int *H, int *W, char *err, size_t errlen) {
    size_t len = 0;
    char *bytes = px_read_file(path, &len);
    if (!bytes) {
        px_errf_file(err, errlen, path, "cannot read: %s",
                     errno == ENOTSUP ? "not a regular file (a device, FIFO or socket)" : strerror(errno));
        return NULL;
    }
    float *out = image_read_gray_mem(bytes, len, path, H, W, err, errlen);
    free(bytes);
    return out;
}

// ---------------------------------------------------------------------------
// PNG writing: encoded into memory, then written atomically.

typedef struct {
    unsigned char *buf;
    size_t len, cap;
    int oom;
    char msg[256];
    jmp_buf jmp;
} png_sink;

static void png_werr_fn(png_structp png, png_const_charp msg) {
    png_sink *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    longjmp(s->jmp, 1);
}

static void png_write_mem_fn(png_structp png, png_bytep data, size_t n) {
    png_sink *s = png_get_io_ptr(png);
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n) cap *= 2;
        unsigned char *nb = realloc(s->buf, cap);
        if (!nb) {
            s->oom = 1;
            png_error(png, "out of memory");
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

static void png_flush_fn(png_structp png) { (void)png; }

// Encodes into s->buf; 0 or -1 (s->msg set). Separate function so the caller's
// automatic variables are untouched by longjmp.
static int png_encode(png_sink *s, int H, int W, int channels, const uint8_t *pix) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, s, png_werr_fn, png_warn_fn);
    if (!png) {
        snprintf(s->msg, sizeof s->msg, "cannot initialise libpng");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(s->msg, sizeof s->msg, "cannot initialise libpng");
        return -1;
    }
    if (setjmp(s->jmp)) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, s, png_write_mem_fn, png_flush_fn);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int r = 0; r < H; r++) png_write_row(png, (png_const_bytep)(pix + (size_t)r * W * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

static int png_write8(const char *path, int H, int W, int channels, const uint8_t *pix, char *err, size_t errlen) {
    if (!size_ok(H, W, path, err, errlen)) return -1;
    png_sink s = {0};
    int rc = png_encode(&s, H, W, channels, pix);
    if (rc != 0) {
        px_errf_file(err, errlen, path, "cannot encode PNG: %s", s.msg);
    } else if (px_write_file_atomic(path, s.buf, s.len) != 0) {
        px_errf_file(err, errlen, path, "cannot write: %s", strerror(errno));
        rc = -1;
    }
    free(s.buf);
    return rc;
}

int png_write_gray8(const char *path, int H, int W, const uint8_t *pix, char *err, size_t errlen) {
    return png_write8(path, H, W, 1, pix, err, errlen);
}

int png_write_rgb8(const char *path, int H, int W, const uint8_t *rgb, char *err, size_t errlen) {
    return png_write8(path, H, W, 3, rgb, err, errlen);
}

// Reads the signature and the IHDR chunk only (IHDR must come first).
int png_size(const char *path, int *H, int *W) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char b[24];
    size_t got = fread(b, 1, sizeof b, f);
    fclose(f);
    if (got != sizeof b || png_sig_cmp(b, 0, 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0) return -1;
    png_uint_32 w = png_get_uint_32(b + 16), h = png_get_uint_32(b + 20);
    if (w == 0 || h == 0 || w > INT_MAX || h > INT_MAX) return -1;
    *W = (int)w;
    *H = (int)h;
    return 0;
}
