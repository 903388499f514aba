// The one parser for integer lists and HxW sizes (host/core/parse.c): whitespace,
// empty items, overflow, bounds, too many items, trailing junk; errors returned
// with a message, never an exit.
#include <limits.h>
#include <string.h>

#include "parse.h"
#include "test_util.h"

static int list(const char *s, int *out, int max, long lo, long hi, char *err) {
    err[0] = 0;
    return px_parse_int_list(s, out, max, lo, hi, err, 256);
}

static void bad_list(const char *s, int max, long lo, long hi, const char *frag) {
    int out[8];
    char err[256];
    int n = list(s, out, max, lo, hi, err);
    CHECK(n == -1, "'%s' accepted (%d items)", s ? s : "(null)", n);
    CHECK(strstr(err, frag) != NULL, "'%s': message '%s' lacks '%s'", s ? s : "(null)", err, frag);
}

static void bad_size(const char *s) {
    int H = -7, W = -7;
    char err[256] = "";
    CHECK(px_parse_size(s, PX_MAX_SIDE, &H, &W, err, sizeof err) == -1, "size '%s' accepted", s ? s : "(null)");
    CHECK(strstr(err, "is not HxW with 1..4096 each") != NULL, "size '%s': message '%s'", s ? s : "(null)", err);
    CHECK(H == -7 && W == -7, "size '%s': outputs written on error", s ? s : "(null)");
}

int main(void) {
    int out[8];
    char err[256];

    // Whitespace: spaces and tabs around items are fine, anywhere.
    CHECK(list("32,64,128", out, 8, 1, 4096, err) == 3 && out[0] == 32 && out[1] == 64 && out[2] == 128, "%s", err);
    CHECK(list(" 3, 4 ,\t2 ", out, 8, 1, 4096, err) == 3 && out[0] == 3 && out[1] == 4 && out[2] == 2, "%s", err);
    CHECK(list("7", out, 8, 1, 4096, err) == 1 && out[0] == 7, "%s", err);
    CHECK(list("-5,+6", out, 8, -10, 10, err) == 2 && out[0] == -5 && out[1] == 6, "%s", err);
    CHECK(list("0,1,1,0", out, 8, 0, 1, err) == 4, "%s", err);
    // Extremes of int with int bounds.
    CHECK(list("2147483647,-2147483648", out, 8, INT_MIN, INT_MAX, err) == 2 && out[0] == INT_MAX && out[1] == INT_MIN,
          "%s", err);
    // Wider bounds are clamped to int.
    bad_list("2147483648", 8, LONG_MIN, LONG_MAX, "out of range");

    // Empty lists and empty items.
    bad_list("", 8, 1, 9, "empty list");
    bad_list("   ", 8, 1, 9, "empty list");
    bad_list(NULL, 8, 1, 9, "empty list");
    bad_list("4,,4", 8, 1, 9, "empty item");
    bad_list(",4", 8, 1, 9, "empty item");
    bad_list("4,", 8, 1, 9, "empty item");
    bad_list("4, ", 8, 1, 9, "empty item");

    // Overflow (of long and of int) and bounds.
    bad_list("4294967297,4", 8, INT_MIN, INT_MAX, "4294967297 in '4294967297,4' is out of range");
    bad_list("99999999999999999999999", 8, INT_MIN, INT_MAX, "out of range");
    bad_list("-99999999999999999999999", 8, INT_MIN, INT_MAX, "out of range");
    bad_list("0", 8, 1, 4096, "0 in '0' is out of range (expected 1..4096)");
    bad_list("1,4097", 8, 1, 4096, "4097 in '1,4097' is out of range");
    bad_list("40,5", 8, 0, 4, "40 in '40,5' is out of range");

    // Too many items.
    CHECK(list("1,2,3", out, 3, 0, 9, err) == 3, "%s", err);
    bad_list("1,2,3,4", 3, 0, 9, "more than 3 values");

    // Junk.
    bad_list("3,x", 8, 0, 9, "not a comma-separated list");
    bad_list("3x", 8, 0, 9, "unexpected 'x'");
    bad_list("3;4", 8, 0, 9, "unexpected ';'");
    bad_list("3 4", 8, 0, 9, "unexpected '4'");
    bad_list("1.5", 8, 0, 9, "unexpected '.'");
    bad_list("0x10", 8, 0, 99, "unexpected 'x'");
    bad_list("--1", 8, -9, 9, "not a comma-separated list");
    bad_list("4\n", 8, 0, 9, "unexpected '\n'");

    // Sizes.
    int H = 0, W = 0;
    CHECK(px_parse_size("50x50", PX_MAX_SIDE, &H, &W, err, sizeof err) == 0 && H == 50 && W == 50, "%s", err);
    CHECK(px_parse_size("16X8", PX_MAX_SIDE, &H, &W, err, sizeof err) == 0 && H == 16 && W == 8, "%s", err);
    CHECK(px_parse_size(" 3 x 4 ", PX_MAX_SIDE, &H, &W, err, sizeof err) == 0 && H == 3 && W == 4, "%s", err);
    CHECK(px_parse_size("4096x1", PX_MAX_SIDE, &H, &W, err, sizeof err) == 0 && H == 4096 && W == 1, "%s", err);
    CHECK(px_parse_size("5x5", 4, &H, &W, err, sizeof err) == -1 && strstr(err, "1..4 each"), "max side: '%s'", err);
    const char *bad[] = {"",
                         NULL,
                         "16",
                         "0x5",
                         "5x0",
                         "-8x8",
                         "8x-8",
                         "4097x1",
                         "1x4097",
                         "99999x99999",
                         "99999999999999999999x1",
                         "8x8x8",
                         "8x",
                         "x8",
                         "8*8",
                         "8x8junk",
                         "8,8",
                         "1.5x2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) bad_size(bad[i]);
    // err may be NULL.
    CHECK(px_parse_size("nope", PX_MAX_SIDE, &H, &W, NULL, 0) == -1, "NULL err");
    CHECK(px_parse_int_list("nope", out, 8, 0, 9, NULL, 0) == -1, "NULL err");
    return t_summary();
}
