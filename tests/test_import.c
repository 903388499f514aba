// Datasets from a folder (io/import.c, io/labels.c):
//  - round trip: `pixloc generate --png` (cmd_generate itself) writes PNGs + labels.csv, and
//    dataset_import gives back the generated dataset exactly: the same N, H, W and coords, and
//    every pixel the generated float rounded to 8 bits (lrintf(v * 255) / 255, what the PNG holds);
//  - the same images as PGM P5, PGM P2, 16-bit PGM and 16-bit PNG (value k * 257) import
//    bit-identical to the 8-bit PNGs, and a CSV with a header, CRLF, a BOM, quotes and blank lines
//    gives the same table as the plain one;
//  - labels_parse_mem on accepted and refused texts: the rows, or the message and its line;
//  - labels_append quotes what needs quoting and reads back unchanged.
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dataset.h"
#include "image_io.h"
#include "import.h"
#include "labels.h"
#include "pixloc.h"
#include "test_util.h"

static char *g_dir;

static const char *tpath(const char *name) {
    static char buf[8][1024];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 1024, "%s/%s", g_dir, name);
    return p;
}

static void write_text(const char *path, const char *s, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

// A 16-bit gray PNG of the 8-bit values v * 257 (libpng directly; pixloc writes only 8 bits).
static void write_png16(const char *path, int H, int W, const uint8_t *v) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    unsigned char *row = malloc((size_t)W * 2);
    for (int r = 0; r < H; r++) {
        for (int c = 0; c < W; c++) row[2 * c] = row[2 * c + 1] = v[(size_t)r * W + c]; // k * 257 big-endian
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
}

// PGM of 8-bit values: P5 (maxval 255), P2, or P5 with maxval 65535 (values k * 257).
static void write_pgm(const char *path, int H, int W, const uint8_t *v, int kind) {
    px_sbuf b = {0};
    size_t n = (size_t)H * W;
    if (kind == 2) {
        px_sbuf_printf(&b, "P2\n# plain\n%d %d\n255\n", W, H);
        for (size_t i = 0; i < n; i++) px_sbuf_printf(&b, "%u%c", v[i], (i + 1) % (size_t)W ? ' ' : '\n');
    } else if (kind == 16) {
        px_sbuf_printf(&b, "P5 %d %d 65535\n", W, H);
        for (size_t i = 0; i < n; i++) px_sbuf_add(&b, (const char[2]){(char)v[i], (char)v[i]}, 2);
    } else {
        px_sbuf_printf(&b, "P5\n%d %d\n255\n", W, H);
        px_sbuf_add(&b, (const char *)v, n);
    }
    write_text(path, b.s, b.len);
    free(b.s);
}

static int same_dataset(const char *what, const dataset *a, const dataset *b) {
    int ok = a->N == b->N && a->H == b->H && a->W == b->W;
    size_t n = (size_t)a->N * a->H * a->W;
    ok = ok && !memcmp(a->images, b->images, n * sizeof(float)) &&
         !memcmp(a->coords, b->coords, (size_t)a->N * 2 * sizeof(int32_t));
    CHECK(ok, "%s: not bit-identical", what);
    return ok;
}

static void test_round_trip(void) {
    const int N = 37, H = 9, W = 13; // awkward: non-square, odd, not a batch multiple
    char *argv[] = {"generate", "--samples", "37",    "--seed", "2027",        "--size", "9x13",
                    "--out",    NULL,        "--png", NULL,     "--png-count", "37",     NULL};
    char out[1024], png[1024];
    snprintf(out, sizeof out, "%s/gen.safetensors", g_dir);
    snprintf(png, sizeof png, "%s/png", g_dir);
    argv[8] = out;
    argv[10] = png;
    CHECK(cmd_generate(13, argv) == 0, "generate failed");
    dataset gen, imp;
    char err[1024];
    CHECK(dataset_load(&gen, out, err, sizeof err) == 0, "%s", err);
    CHECK(gen.N == N && gen.H == H && gen.W == W, "generated %dx%dx%d", gen.N, gen.H, gen.W);
    const char *labels = tpath("png/labels.csv");
    int rc = dataset_import(&imp, png, labels, 1.8, NULL, err, sizeof err);
    CHECK(rc == 0, "import: %s", err);
    if (rc != 0) return;
    CHECK(imp.N == N && imp.H == H && imp.W == W, "imported %dx%dx%d", imp.N, imp.H, imp.W);
    CHECK(!memcmp(imp.coords, gen.coords, (size_t)N * 2 * sizeof(int32_t)), "coords differ");
    size_t n = (size_t)N * H * W, exact = 0;
    double maxdiff = 0;
    for (size_t i = 0; i < n; i++) {
        float want = (float)(lrintf(gen.images[i] * 255.0f) / 255.0); // the 8-bit value the PNG holds
        exact += imp.images[i] == want;
        double d = fabs((double)imp.images[i] - gen.images[i]);
        if (d > maxdiff) maxdiff = d;
    }
    CHECK(exact == n, "%zu of %zu pixels are the generated value rounded to 8 bits", exact, n);
    CHECK(maxdiff <= 0.5 / 255 + 1e-7, "max |imported - generated| %g, over half an 8-bit step", maxdiff);
    CHECK(imp.rec.H == H && imp.rec.W == W && imp.rec.sigma == 1.8, "recipe %dx%d sigma %g", imp.rec.H, imp.rec.W,
          imp.rec.sigma);
    printf("round trip: %d images of %dx%d, coords identical, %zu pixels = 8-bit rounding, max diff %.3g\n", N, W, H, n,
           maxdiff);

    // The same pixels in every other supported form, listed by a CSV in every accepted style.
    px_sbuf csv = {0};
    px_sbuf_add(&csv,
                "\xEF\xBB\xBF"
                "File,X,Y\r\n\r\n",
                15);
    uint8_t *v = malloc((size_t)H * W);
    for (int i = 0; i < N; i++) {
        for (size_t k = 0; k < (size_t)H * W; k++) v[k] = (uint8_t)lrintf(imp.images[(size_t)i * H * W + k] * 255.0f);
        char name[64];
        int kind = i % 5;
        const char *ext[] = {"pgm", "pgm", "pgm", "png", "png"};
        snprintf(name, sizeof name, "sub/img %02d, kind %d.%s", i, kind, ext[kind]);
        if (i == 0) px_mkdirs(tpath("mixed/sub"));
        char path[1100];
        snprintf(path, sizeof path, "%s/mixed/%s", g_dir, name);
        if (kind == 0) write_pgm(path, H, W, v, 5);
        if (kind == 1) write_pgm(path, H, W, v, 2);
        if (kind == 2) write_pgm(path, H, W, v, 16);
        if (kind == 3) write_png16(path, H, W, v);
        if (kind == 4) CHECK(png_write_gray8(path, H, W, v, err, sizeof err) == 0, "%s", err);
        px_sbuf_printf(&csv, "\"%s\" , %d ,%d\r\n", name, imp.coords[2 * i], imp.coords[2 * i + 1]);
    }
    free(v);
    write_text(tpath("mixed/labels.csv"), csv.s, csv.len);
    free(csv.s);
    dataset mix;
    rc = dataset_import(&mix, tpath("mixed/"), tpath("mixed/labels.csv"), 1.8, NULL, err, sizeof err);
    CHECK(rc == 0, "mixed import: %s", err);
    if (rc == 0) {
        if (same_dataset("PGM P5/P2/16-bit and 16-bit PNG vs 8-bit PNG", &mix, &imp))
            printf("PGM P5, P2, 16-bit PGM, 16-bit PNG, 8-bit PNG: bit-identical to the PNG import\n");
        dataset_free(&mix);
    }
    dataset_free(&imp);
    dataset_free(&gen);
}

typedef struct {
    const char *text;
    const char *want; // accepted: "file|x|y;..." ; refused: a fragment of the message
    int ok;
} parse_case;

static void test_parse(void) {
    static const parse_case cases[] = {
        {"a.png,1,2\n", "a.png|1|2;", 1},
        {"file,x,y\na.png,1,2", "a.png|1|2;", 1},
        {"\xEF\xBB\xBF"
         "file,x,y\r\na.png,1,2\r\nb/c.pgm,3,4\r\n",
         "a.png|1|2;b/c.pgm|3|4;", 1},
        {"a.png,1,2\rb.png,3,4\r", "a.png|1|2;b.png|3|4;", 1},
        {"\n\n  a.png , 1 , 2 \n\n", "a.png|1|2;", 1},
        {"\"a,b.png\",1,2\n\"say \"\"hi\"\".png\",-3,+4\n", "a,b.png|1|2;say \"hi\".png|-3|4;", 1},
        {"./x/./y.png,0,0\n", "./x/./y.png|0|0;", 1},
        {"..a/b..png,0,0\n", "..a/b..png|0|0;", 1},
        {"", "the file is empty", 0},
        {"\xEF\xBB\xBF\r\n\n", "the file is empty", 0},
        {"file,x,y\n", "holds only the header", 0},
        {"a.png,1\n", "t line 1: 2 fields, expected 3", 0},
        {"file,x,y\na.png,1,2,3\n", "t line 2: 4 fields", 0},
        {"file,x,y\na.png,1,2\n\nb.png,one,2\n", "t line 4: x 'one' is not a whole number", 0},
        {"a.png,1,2.5\n", "t line 1: y '2.5' is not a whole number", 0},
        {"name,col,row\na.png,1,2\n", "a header line, if any, must be exactly file,x,y", 0},
        {"a.png,99999999999,2\n", "t line 1: x '99999999999' is out of range", 0},
        {"a.png,1,-99999999999\n", "t line 1: y '-99999999999' is out of range", 0},
        {"a.png,,2\n", "t line 1: x '' is not a whole number", 0},
        {"/etc/passwd,1,2\n", "t line 1: '/etc/passwd' is an absolute path", 0},
        {"a.png,1,2\nsub/../../b.png,1,2\n", "t line 2: 'sub/../../b.png' leaves the images folder", 0},
        {"..,1,2\n", "leaves the images folder", 0},
        {"\"\",1,2\n", "t line 1: the file name is empty", 0},
        {"a\"b.png,1,2\n", "t line 1: malformed quoting", 0},
        {"\"a\"b.png,1,2\n", "t line 1: malformed quoting", 0},
        {"a.png,1,2\n\n\"open,1,2\nmore\n", "t line 3: a quoted field is not closed", 0},
        {"a.png,1,2\n\"two\nlines.png\",1,2\n", "t line 2: the file name holds a control character", 0},
        {"a.png,1,2\n\"b\n\",1\n", "t line 2: 2 fields", 0},
        {"a.png,1,2\nb\0.png,1,2\n", "t line 2: field 1 holds a NUL byte", 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const parse_case *c = &cases[k];
        // Texts with an embedded NUL: the length runs to the last newline.
        size_t len = strlen(c->text);
        if (strstr(c->want, "NUL")) len = strlen(c->text) + 1 + strlen(c->text + strlen(c->text) + 1);
        label_table t;
        char err[1024] = "";
        int rc = labels_parse_mem(c->text, len, "t", &t, err, sizeof err);
        if (c->ok) {
            px_sbuf got = {0};
            px_sbuf_str(&got, "");
            for (int i = 0; rc == 0 && i < t.n; i++)
                px_sbuf_printf(&got, "%s|%d|%d;", t.rows[i].file, t.rows[i].x, t.rows[i].y);
            CHECK(rc == 0 && !strcmp(got.s, c->want), "case %zu: got '%s' (%s), want '%s'", k, got.s, err, c->want);
            free(got.s);
            labels_free(&t);
        } else {
            CHECK(rc != 0 && strstr(err, c->want) && t.n == 0 && t.rows == NULL,
                  "case %zu: rc %d, message '%s', want '%s'", k, rc, err, c->want);
        }
    }
    // Line numbers: the line each record starts on, blank and multi-line ones counted.
    const char *text = "file,x,y\n\na.png,1,2\n\"b\nc\",3,4\nd,5,6";
    label_table t;
    char err[256];
    // "b\nc" holds a control byte and is refused; check the lines of a table without it.
    CHECK(labels_parse_mem(text, strlen(text), "t", &t, err, sizeof err) != 0, "a name with a line break accepted");
    text = "file,x,y\n\na.png,1,2\r\n\"b,\r\nc\"\"\",3,4\n\n\nd,5,6";
    CHECK(labels_parse_mem(text, strlen(text), "t", &t, err, sizeof err) != 0, "CRLF inside a name accepted");
    text = "file,x,y\n\na.png,1,2\r\n\"b,c\"\"\",3,4\n\n\nd,5,6";
    int rc = labels_parse_mem(text, strlen(text), "t", &t, err, sizeof err);
    CHECK(rc == 0 && t.header == 1 && t.n == 3, "rc %d n %d", rc, t.n);
    if (rc == 0 && t.n == 3)
        CHECK(t.rows[0].line == 3 && t.rows[1].line == 4 && t.rows[2].line == 7 && !strcmp(t.rows[1].file, "b,c\""),
              "lines %d %d %d, name '%s'", t.rows[0].line, t.rows[1].line, t.rows[2].line, t.rows[1].file);
    if (rc == 0) labels_free(&t);
}

static void test_append(void) {
    static const char *names[] = {"plain.png", "a,b.png", "say \"hi\".png", " lead.png", "trail.png ", "x y.png"};
    px_sbuf b = {0};
    px_sbuf_str(&b, LABELS_HEADER "\n");
    for (int i = 0; i < 6; i++) labels_append(&b, names[i], i, 10 * i);
    label_table t;
    char err[256];
    int rc = labels_parse_mem(b.s, b.len, "appended", &t, err, sizeof err);
    CHECK(rc == 0 && t.n == 6 && t.header, "%s", err);
    for (int i = 0; rc == 0 && i < t.n && i < 6; i++)
        CHECK(!strcmp(t.rows[i].file, names[i]) && t.rows[i].x == i && t.rows[i].y == 10 * i, "row %d: '%s' %d %d", i,
              t.rows[i].file, t.rows[i].x, t.rows[i].y);
    CHECK(strstr(b.s, "\nplain.png,0,0\n") && strstr(b.s, "\n\"a,b.png\",1,10\n") &&
              strstr(b.s, "\n\"say \"\"hi\"\".png\",2,20\n") && strstr(b.s, "\nx y.png,5,50\n"),
          "written:\n%s", b.s);
    if (rc == 0) labels_free(&t);
    free(b.s);
}

int main(void) {
    g_dir = t_tmpdir();
    test_round_trip();
    test_parse();
    test_append();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
    free(g_dir);
    return t_summary();
}
