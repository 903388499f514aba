#define _GNU_SOURCE // memmem
// Image reading and writing: PNG in every colour type and bit depth, PGM P2/P5 in
// 8 and 16 bits, each written with known pixels and read back exactly; malformed
// and truncated files give "FILE: problem" messages, never a crash.
#include <png.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"
#include "pixloc.h"
#include "test_util.h"

static char *g_dir;

static char *tpath(const char *name) {
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", g_dir, name);
    return p;
}

static void write_bytes(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

// Writes a PNG of any colour type / depth with libpng directly; `rows` holds the
// packed row bytes exactly as libpng expects them (16-bit big-endian).
static const png_byte *g_trns; // when set, the next palette PNG gets this tRNS chunk (g_ntrns entries)
static int g_ntrns;

static void write_png_raw(const char *path, int W, int H, int depth, int color_type, const unsigned char *data,
                          const png_color *palette, int npal, int interlace) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "cannot write test PNG %s\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, depth, color_type, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npal);
    if (palette && g_trns) png_set_tRNS(png, info, g_trns, g_ntrns, NULL);
    png_write_info(png, info);
    int ch = color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_PALETTE ? 1
             : color_type == PNG_COLOR_TYPE_GRAY_ALPHA                                 ? 2
             : color_type == PNG_COLOR_TYPE_RGB                                        ? 3
                                                                                       : 4;
    size_t rowbytes = ((size_t)W * ch * depth + 7) / 8;
    png_bytep *rows = malloc(sizeof(png_bytep) * H);
    for (int r = 0; r < H; r++) rows[r] = (png_bytep)data + r * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

// Reads `path` and compares with want (H, W); counts one check per property.
static void expect_image(const char *what, const char *path, int H, int W, const float *want, double tol) {
    char err[512] = "";
    int h = -1, w = -1;
    float *img = image_read_gray(path, &h, &w, err, sizeof err);
    CHECK(img != NULL, "%s: read failed: %s", what, err);
    if (!img) return;
    CHECK(h == H && w == W, "%s: size %dx%d, want %dx%d", what, w, h, W, H);
    if (h == H && w == W) {
        double maxd = 0;
        int worst = 0;
        for (int i = 0; i < H * W; i++) {
            double d = img[i] > want[i] ? img[i] - want[i] : want[i] - img[i];
            if (d > maxd) maxd = d, worst = i;
        }
        CHECK(maxd <= tol, "%s: pixel %d is %.9g, want %.9g (|diff| %.3g)", what, worst, img[worst], want[worst], maxd);
    }
    free(img);
}

static double bt601(unsigned r, unsigned g, unsigned b) {
    if (r == g && g == b) return r;
    return 0.299 * r + 0.587 * g + 0.114 * b;
}

static void test_png_gray8_and_rgb8_writers(void) {
    enum { H = 3, W = 4 };
    uint8_t g[H * W];
    float want[H * W];
    for (int i = 0; i < H * W; i++) g[i] = (uint8_t)(i * 23), want[i] = (float)(g[i] / 255.0);
    g[5] = 51, want[5] = 0.2f;
    char err[256];
    CHECK(png_write_gray8(tpath("g8.png"), H, W, g, err, sizeof err) == 0, "%s", err);
    expect_image("gray8", tpath("g8.png"), H, W, want, 0);
    int h, w;
    CHECK(png_size(tpath("g8.png"), &h, &w) == 0 && h == H && w == W, "png_size %dx%d", w, h);

    uint8_t rgb[H * W * 3];
    for (int i = 0; i < H * W; i++) {
        rgb[3 * i] = (uint8_t)(i * 20), rgb[3 * i + 1] = (uint8_t)(255 - i * 7), rgb[3 * i + 2] = (uint8_t)(i * i);
        want[i] = (float)(bt601(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) / 255.0);
    }
    rgb[0] = 255, rgb[1] = 0, rgb[2] = 0, want[0] = (float)0.299; // pure red
    rgb[3] = 51, rgb[4] = 51, rgb[5] = 51, want[1] = 0.2f;        // gray stays exact
    CHECK(png_write_rgb8(tpath("rgb8.png"), H, W, rgb, err, sizeof err) == 0, "%s", err);
    expect_image("rgb8", tpath("rgb8.png"), H, W, want, 1e-7);

    // Writing into a directory that does not exist is an error naming the path.
    int rc = png_write_gray8(tpath("no/such/dir/x.png"), H, W, g, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "no/such/dir/x.png"), "bad path: rc %d, err '%s'", rc, err);
}

static void test_png_formats(void) {
    enum { H = 5, W = 7, N = H * W };
    unsigned char buf[N * 8];
    float want[N];

    // 16-bit gray: 65535 -> 1.0 exactly.
    for (int i = 0; i < N; i++) {
        unsigned v = i == 0 ? 65535 : i == 1 ? 0 : (unsigned)(i * 1871);
        buf[2 * i] = v >> 8, buf[2 * i + 1] = v & 255;
        want[i] = (float)(v / 65535.0);
    }
    write_png_raw(tpath("g16.png"), W, H, 16, PNG_COLOR_TYPE_GRAY, buf, NULL, 0, 0);
    expect_image("gray16", tpath("g16.png"), H, W, want, 0);
    CHECK(want[0] == 1.0f, "65535 maps to %g", want[0]);

    // 8-bit gray + alpha: alpha is ignored.
    for (int i = 0; i < N; i++) {
        buf[2 * i] = (uint8_t)(i * 7), buf[2 * i + 1] = (uint8_t)(255 - i);
        want[i] = (float)(buf[2 * i] / 255.0);
    }
    write_png_raw(tpath("ga8.png"), W, H, 8, PNG_COLOR_TYPE_GRAY_ALPHA, buf, NULL, 0, 0);
    expect_image("gray+alpha8", tpath("ga8.png"), H, W, want, 0);

    // 16-bit gray + alpha.
    for (int i = 0; i < N; i++) {
        unsigned v = (unsigned)(i * 1500 + 3);
        buf[4 * i] = v >> 8, buf[4 * i + 1] = v & 255, buf[4 * i + 2] = 0, buf[4 * i + 3] = 9;
        want[i] = (float)(v / 65535.0);
    }
    write_png_raw(tpath("ga16.png"), W, H, 16, PNG_COLOR_TYPE_GRAY_ALPHA, buf, NULL, 0, 0);
    expect_image("gray+alpha16", tpath("ga16.png"), H, W, want, 0);

    // 8-bit RGBA, colour -> BT.601.
    for (int i = 0; i < N; i++) {
        unsigned r = (unsigned)(i * 5), g = (unsigned)(200 - i * 3), b = (unsigned)(i * 7 % 256);
        unsigned char *p = buf + 4 * i;
        p[0] = (uint8_t)r, p[1] = (uint8_t)g, p[2] = (uint8_t)b, p[3] = (uint8_t)(i * 3);
        want[i] = (float)(bt601(r, g, b) / 255.0);
    }
    write_png_raw(tpath("rgba8.png"), W, H, 8, PNG_COLOR_TYPE_RGBA, buf, NULL, 0, 0);
    expect_image("rgba8", tpath("rgba8.png"), H, W, want, 1e-7);

    // 16-bit RGB.
    for (int i = 0; i < N; i++) {
        unsigned c[3] = {(unsigned)(i * 1000), (unsigned)(65535 - i * 999), (unsigned)(i * 1777)};
        if (i == 0) c[0] = c[1] = c[2] = 65535;
        for (int k = 0; k < 3; k++) buf[6 * i + 2 * k] = c[k] >> 8, buf[6 * i + 2 * k + 1] = c[k] & 255;
        want[i] = (float)(bt601(c[0], c[1], c[2]) / 65535.0);
    }
    write_png_raw(tpath("rgb16.png"), W, H, 16, PNG_COLOR_TYPE_RGB, buf, NULL, 0, 0);
    expect_image("rgb16", tpath("rgb16.png"), H, W, want, 1e-7);
    float *one = image_read_gray(tpath("rgb16.png"), &(int){0}, &(int){0}, NULL, 0);
    CHECK(one && one[0] == 1.0f, "white 16-bit RGB is %g", one ? one[0] : -1.0);
    free(one);

    // 8-bit palette.
    png_color pal[4] = {{0, 0, 0}, {255, 255, 255}, {51, 51, 51}, {0, 0, 255}};
    const float palv[4] = {0.0f, 1.0f, 0.2f, (float)(0.114 * 255 / 255.0)};
    for (int i = 0; i < N; i++) buf[i] = (uint8_t)(i % 4), want[i] = palv[i % 4];
    write_png_raw(tpath("pal8.png"), W, H, 8, PNG_COLOR_TYPE_PALETTE, buf, pal, 4, 0);
    expect_image("palette8", tpath("pal8.png"), H, W, want, 1e-7);
    // The same with a tRNS chunk (transparency is metadata, not intensity: same gray values).
    const png_byte trns[4] = {0, 128, 255, 10};
    g_trns = trns;
    g_ntrns = 4;
    write_png_raw(tpath("pal8t.png"), W, H, 8, PNG_COLOR_TYPE_PALETTE, buf, pal, 4, 0);
    g_trns = NULL;
    expect_image("palette8 with tRNS", tpath("pal8t.png"), H, W, want, 1e-7);

    // 2-bit palette (packed: 4 pixels per byte, rows padded to whole bytes).
    memset(buf, 0, sizeof buf);
    size_t rb = (W * 2 + 7) / 8;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            int idx = (r + 2 * c) % 4;
            buf[r * rb + c / 4] |= (unsigned char)(idx << (6 - 2 * (c % 4)));
            want[r * W + c] = palv[idx];
        }
    write_png_raw(tpath("pal2.png"), W, H, 2, PNG_COLOR_TYPE_PALETTE, buf, pal, 4, 0);
    expect_image("palette2", tpath("pal2.png"), H, W, want, 1e-7);

    // 1-bit gray: 1 -> 1.0.
    memset(buf, 0, sizeof buf);
    rb = (W + 7) / 8;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            int bit = (r * W + c) % 3 == 0;
            buf[r * rb + c / 8] |= (unsigned char)(bit << (7 - c % 8));
            want[r * W + c] = (float)bit;
        }
    write_png_raw(tpath("g1.png"), W, H, 1, PNG_COLOR_TYPE_GRAY, buf, NULL, 0, 0);
    expect_image("gray1", tpath("g1.png"), H, W, want, 0);

    // Interlaced (Adam7) 8-bit gray.
    for (int i = 0; i < N; i++) buf[i] = (uint8_t)(i * 7 + 1), want[i] = (float)(buf[i] / 255.0);
    write_png_raw(tpath("inter.png"), W, H, 8, PNG_COLOR_TYPE_GRAY, buf, NULL, 0, 1);
    expect_image("interlaced", tpath("inter.png"), H, W, want, 0);
}

static void test_pgm(void) {
    // P5 8-bit with comments in the header; 51 -> 0.2.
    const unsigned char p5[] = "P5\n# a comment\n3 2 # trailing comment\n255\n\x33\x00\xff\x10\x20\x80";
    write_bytes(tpath("a.pgm"), p5, sizeof p5 - 1);
    float want6[6] = {0.2f, 0.0f, 1.0f, (float)(16 / 255.0), (float)(32 / 255.0), (float)(128 / 255.0)};
    expect_image("P5 8-bit", tpath("a.pgm"), 2, 3, want6, 0);

    // P5 16-bit big-endian, maxval 65535.
    const unsigned char p16[] = "P5 2 2 65535\n\xff\xff\x00\x01\x80\x00\x12\x34";
    write_bytes(tpath("b.pgm"), p16, sizeof p16 - 1);
    float want4[4] = {1.0f, (float)(1 / 65535.0), (float)(0x8000 / 65535.0), (float)(0x1234 / 65535.0)};
    expect_image("P5 16-bit", tpath("b.pgm"), 2, 2, want4, 0);

    // P5 with maxval 1000 (16-bit samples) and maxval 1.
    const unsigned char p1k[] = "P5 2 1 1000\n\x03\xe8\x01\xf4";
    write_bytes(tpath("c.pgm"), p1k, sizeof p1k - 1);
    float want2[2] = {1.0f, 0.5f};
    expect_image("P5 maxval 1000", tpath("c.pgm"), 1, 2, want2, 0);

    // P2 plain with comments between values, maxval 1 and 16-bit.
    const char *p2 = "P2\n# plain\n2 3\n10\n0 5\n# mid comment\n10 2\n  1\t9\n";
    write_bytes(tpath("d.pgm"), p2, strlen(p2));
    float wantp2[6] = {0.0f, 0.5f, 1.0f, 0.2f, 0.1f, 0.9f};
    expect_image("P2", tpath("d.pgm"), 3, 2, wantp2, 0);
    const char *p2b = "P2 3 1 65535 65535 0 13107";
    write_bytes(tpath("e.pgm"), p2b, strlen(p2b));
    float wantp2b[3] = {1.0f, 0.0f, 0.2f};
    expect_image("P2 16-bit", tpath("e.pgm"), 1, 3, wantp2b, 0);
}

// Reading must fail, and the message must name the file and contain `frag`.
static void expect_error(const char *what, const void *bytes, size_t n, const char *frag) {
    char path[512];
    snprintf(path, sizeof path, "%s", tpath("bad.img"));
    write_bytes(path, bytes, n);
    char err[512] = "";
    int h, w;
    float *img = image_read_gray(path, &h, &w, err, sizeof err);
    CHECK(img == NULL, "%s: read succeeded", what);
    free(img);
    CHECK(strncmp(err, path, strlen(path)) == 0 && strstr(err, frag) != NULL,
          "%s: message '%s' should start with the path and contain '%s'", what, err, frag);
}

static void test_errors(void) {
    char err[512] = "";
    int h, w;
    float *img = image_read_gray(tpath("missing.png"), &h, &w, err, sizeof err);
    CHECK(img == NULL && strstr(err, "missing.png: cannot read") && strstr(err, "No such file"), "missing file: '%s'",
          err);
    free(img);

    expect_error("empty", "", 0, "empty");
    expect_error("unknown magic", "GIF89a....", 10, "not a PNG or PGM");
    expect_error("P6", "P6 1 1 255\n\1\2\3", 14, "P6 is not supported");
    expect_error("P5 truncated", "P5 4 4 255\n0123456789", 21, "truncated PGM");
    expect_error("P5 16 truncated", "P5 2 1 300\n\1\2\3", 14, "truncated PGM");
    expect_error("P5 no data", "P5 4 4 255", 10, "truncated PGM");
    expect_error("P2 truncated", "P2 2 2 9 1 2 3", 14, "truncated PGM");
    expect_error("P2 junk", "P2 2 2 9 1 2 x 4", 16, "not a number");
    expect_error("P2 over maxval", "P2 2 1 9 1 10", 13, "exceeds maxval");
    expect_error("P5 over maxval", "P5 2 1 300\n\x01\x2d\xff\xff", 15, "exceeds maxval");
    expect_error("maxval 0", "P5 1 1 0\n\0", 10, "maxval must be 1..65535");
    expect_error("maxval big", "P5 1 1 70000\n\0\0", 15, "maxval must be 1..65535");
    expect_error("zero width", "P5 0 3 255\n", 11, "empty");
    expect_error("absurd size", "P5 60000 60000 255\n\0", 20, "too large");
    // Within the pixel count but one side over PX_MAX_SIDE (a 1 x 5000 strip): refused too.
    expect_error("side over the limit", "P5 5000 1 255\n\0", 16, "too large (limit 4096x4096)");
    expect_error("absurd width", "P5 99999999999 1 255\n\0", 22, "absurd width");
    expect_error("no header", "P2", 2, "missing or absurd width");

    // PNG damage: truncation and a corrupted IDAT (CRC mismatch).
    enum { H = 20, W = 30 };
    uint8_t pix[H * W];
    for (int i = 0; i < H * W; i++) pix[i] = (uint8_t)(i * 31 % 251);
    CHECK(png_write_gray8(tpath("ok.png"), H, W, pix, err, sizeof err) == 0, "%s", err);
    size_t len = 0;
    char *png = px_read_file(tpath("ok.png"), &len);
    CHECK(png != NULL && len > 60, "re-read ok.png");
    if (!png) return;
    expect_error("PNG truncated", png, len / 2, "invalid PNG");
    expect_error("PNG header only", png, 20, "invalid PNG");
    char *bad = malloc(len);
    memcpy(bad, png, len);
    char *idat = memmem(bad, len, "IDAT", 4);
    CHECK(idat != NULL, "IDAT found");
    if (idat && idat + 10 < bad + len) idat[8] ^= 0x55;
    expect_error("PNG bad CRC", bad, len, "invalid PNG");
    // Absurd IHDR size (CRC fixed up so libpng gets as far as the size check).
    memcpy(bad, png, len);
    bad[16] = 0x00, bad[17] = 0x7f, bad[18] = 0xff, bad[19] = 0xff; // width 8388607
    bad[20] = 0x00, bad[21] = 0x7f, bad[22] = 0xff, bad[23] = 0xff;
    unsigned long crc = crc32(0, (const unsigned char *)bad + 12, 17);
    bad[29] = (char)(crc >> 24), bad[30] = (char)(crc >> 16), bad[31] = (char)(crc >> 8), bad[32] = (char)crc;
    expect_error("PNG absurd size", bad, len, "too large");

    // Every prefix of a PNG and a PGM is an error (or, for the full length, a success) — no crash.
    int crashes_avoided = 0;
    for (size_t n = 0; n < len; n++) {
        float *p = image_read_gray_mem(png, n, "prefix.png", &h, &w, err, sizeof err);
        if (!p && strncmp(err, "prefix.png: ", 12) == 0) crashes_avoided++;
        free(p);
    }
    CHECK(crashes_avoided == (int)len, "%d of %zu PNG prefixes rejected cleanly", crashes_avoided, len);
    const char pgm[] = "P5\n# c\n3 2\n255\nabcdef";
    int rejected = 0, n_pgm = (int)sizeof pgm - 1;
    for (int n = 0; n < n_pgm; n++) {
        float *p = image_read_gray_mem(pgm, (size_t)n, "prefix.pgm", &h, &w, err, sizeof err);
        if (!p) rejected++;
        free(p);
    }
    CHECK(rejected == n_pgm, "%d of %d PGM prefixes rejected", rejected, n_pgm);
    float *p = image_read_gray_mem(pgm, (size_t)n_pgm, "full.pgm", &h, &w, err, sizeof err);
    CHECK(p && h == 2 && w == 3, "full PGM reads");
    free(p);

    CHECK(png_size(tpath("bad.img"), &h, &w) == 0, "png_size on a valid header");
    write_bytes(tpath("notpng"), "P5 1 1 255\n\0", 12);
    CHECK(png_size(tpath("notpng"), &h, &w) == -1, "png_size rejects a PGM");
    CHECK(png_size(tpath("nonexistent"), &h, &w) == -1, "png_size on a missing file");
    free(bad);
    free(png);
}

// fuzz_image found it: a 4x4 palette PNG whose third chunk header claims 0x79797979 bytes of
// sPLT, in a 57-byte file. libpng allocated the claimed 2 GB before finding the file truncated;
// png_chunks_fit (host/io/image_io.c) refuses the header before libpng sees it.
static void test_png_chunk_length_bomb(void) {
    static const unsigned char bomb[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
                                         0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04,
                                         0x01, 0x03, 0x00, 0x00, 0x00, 0x93, 0x3f, 0x0c, 0x3d, 0x00, 0x00, 0x00,
                                         0x03, 0x74, 0x52, 0x4e, 0x53, 0x50, 0x53, 0x50, 0x50, 0x79, 0x79, 0x79,
                                         0x79, 0x79, 0x79, 0x79, 0x73, 0x50, 0x4c, 0x54, 0x45};
    char err[512] = "";
    int h, w;
    float *img = image_read_gray_mem(bomb, sizeof bomb, "bomb.png", &h, &w, err, sizeof err);
    CHECK(img == NULL, "a PNG claiming a 2 GB chunk in 57 bytes was accepted");
    free(img);
    CHECK(strstr(err, "bomb.png: invalid PNG: chunk 'sPLT' at byte 48 claims 2038004089 bytes") != NULL,
          "the chunk claiming more than the file holds is named before libpng allocates it: '%s'", err);
}

int main(void) {
    g_dir = t_tmpdir();
    test_png_chunk_length_bomb();
    test_png_gray8_and_rgb8_writers();
    test_png_formats();
    test_pgm();
    test_errors();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    free(g_dir);
    return t_summary();
}
