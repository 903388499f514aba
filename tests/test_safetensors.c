// safetensors: round trip of every dtype with metadata, the writer's layout
// (8-byte-padded header, aligned data), and every malformed-file case giving a
// "NAME: problem" message instead of a crash (run under -DPIXLOC_SANITIZE=ON to
// catch any out-of-bounds read).
#include "safetensors.h"
#include "test_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];

// A file image: 8-byte header length (hlen, or strlen(json) when hlen == UINT64_MAX),
// the JSON, then `ndata` bytes 0, 1, 2, ...
static unsigned char *make(const char *json, size_t ndata, uint64_t hlen, size_t *len) {
    size_t jl = strlen(json);
    if (hlen == UINT64_MAX) hlen = jl;
    *len = 8 + jl + ndata;
    unsigned char *b = malloc(*len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + 8, json, jl);
    for (size_t i = 0; i < ndata; i++) b[8 + jl + i] = (unsigned char)i;
    return b;
}

// Expects the bytes to be rejected with a message that starts with "bad.st: " and contains `frag`.
static void expect_bad(const char *what, const char *json, size_t ndata, uint64_t hlen, const char *frag) {
    size_t len;
    unsigned char *b = make(json, ndata, hlen, &len);
    err[0] = 0;
    st_file *f = st_open_mem(b, len, "bad.st", err, sizeof err);
    CHECK(f == NULL, "%s: accepted", what);
    CHECK(strncmp(err, "bad.st: ", 8) == 0 && strstr(err, frag) != NULL, "%s: message '%s' lacks '%s'", what, err,
          frag);
    if (f) st_close(f);
    free(b);
}

static void expect_good(const char *what, const char *json, size_t ndata) {
    size_t len;
    unsigned char *b = make(json, ndata, UINT64_MAX, &len);
    st_file *f = st_open_mem(b, len, "good.st", err, sizeof err);
    CHECK(f != NULL, "%s: rejected: %s", what, err);
    if (f) st_close(f);
    free(b);
}

static void test_round_trip(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/all.safetensors", dir);
    float f32[6] = {1.5f, -2.25f, 3e-38f, 0, 1e30f, -0.0f};
    double f64[3] = {3.141592653589793, -1e300, 5e-324};
    int32_t i32[4] = {-2147483647 - 1, -1, 0, 2147483647};
    int64_t i64[2] = {INT64_MIN, INT64_MAX};
    uint8_t u8[5] = {0, 1, 127, 128, 255};
    uint32_t u32[2] = {0, 4294967295u};
    uint64_t u64[2] = {0, UINT64_MAX};
    int64_t s23[2] = {2, 3}, s3[1] = {3}, s4[1] = {4}, s2[1] = {2}, s5[1] = {5}, s0[2] = {0, 7};
    st_writer *w = st_writer_new();
    st_writer_add(w, "u8", ST_U8, 1, s5, u8); // 5 bytes first: the writer must still align the rest
    st_writer_add(w, "f32", ST_F32, 2, s23, f32);
    st_writer_add(w, "f64", ST_F64, 1, s3, f64);
    st_writer_add(w, "i32", ST_I32, 1, s4, i32);
    st_writer_add(w, "i64", ST_I64, 1, s2, i64);
    st_writer_add(w, "u32", ST_U32, 1, s2, u32);
    st_writer_add(w, "u64", ST_U64, 1, s2, u64);
    st_writer_add(w, "empty", ST_F32, 2, s0, NULL);
    st_writer_add(w, "scalar", ST_F64, 0, NULL, f64);
    st_writer_add(w, "we\"ird\\name", ST_U8, 1, s2, u8);
    st_writer_meta(w, "format", "test");
    st_writer_meta(w, "quote", "a \"b\" \\ c\nd");
    CHECK(st_writer_save(w, path, err, sizeof err) == 0, "save: %s", err);
    st_writer_free(w);

    // Layout: header length a multiple of 8, JSON object first.
    FILE *fp = fopen(path, "rb");
    unsigned char head[9] = {0};
    CHECK(fp && fread(head, 1, 9, fp) == 9, "cannot read back %s", path);
    if (fp) fclose(fp);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | head[i];
    CHECK(hl % 8 == 0 && head[8] == '{', "header length %llu not padded to 8 or not JSON", (unsigned long long)hl);

    st_file *f = st_open(path, err, sizeof err);
    CHECK(f != NULL, "open: %s", err);
    if (!f) return;
    CHECK(st_count(f) == 10, "count %d", st_count(f));
    const st_tensor *t;
    t = st_expect(f, "f32", ST_F32, 2, s23, err, sizeof err);
    CHECK(t && memcmp(t->data, f32, sizeof f32) == 0 && t->nbytes == sizeof f32, "f32 differs");
    t = st_expect(f, "f64", ST_F64, 1, s3, err, sizeof err);
    CHECK(t && memcmp(t->data, f64, sizeof f64) == 0, "f64 differs");
    t = st_expect(f, "i32", ST_I32, 1, s4, err, sizeof err);
    CHECK(t && memcmp(t->data, i32, sizeof i32) == 0, "i32 differs");
    t = st_expect(f, "i64", ST_I64, 1, s2, err, sizeof err);
    CHECK(t && memcmp(t->data, i64, sizeof i64) == 0, "i64 differs");
    t = st_expect(f, "u8", ST_U8, 1, s5, err, sizeof err);
    CHECK(t && memcmp(t->data, u8, sizeof u8) == 0, "u8 differs");
    t = st_expect(f, "u32", ST_U32, 1, s2, err, sizeof err);
    CHECK(t && memcmp(t->data, u32, sizeof u32) == 0, "u32 differs");
    t = st_expect(f, "u64", ST_U64, 1, s2, err, sizeof err);
    CHECK(t && memcmp(t->data, u64, sizeof u64) == 0, "u64 differs");
    t = st_expect(f, "empty", ST_F32, 2, s0, err, sizeof err);
    CHECK(t && t->nbytes == 0, "empty tensor: %s", err);
    t = st_expect(f, "scalar", ST_F64, 0, NULL, err, sizeof err);
    CHECK(t && t->nbytes == 8 && ((const double *)t->data)[0] == f64[0], "scalar: %s", err);
    t = st_find(f, "we\"ird\\name");
    CHECK(t && t->nbytes == 2, "escaped name lost");
    for (int i = 0; i < st_count(f); i++) {
        t = st_at(f, i);
        CHECK(((uintptr_t)t->data % st_dtype_size(t->dtype)) == 0, "tensor %s misaligned in memory", t->name);
    }
    int64_t wild[2] = {-1, 3};
    CHECK(st_expect(f, "f32", ST_F32, 2, wild, err, sizeof err) != NULL, "wildcard dim rejected: %s", err);
    CHECK(st_meta(f, "format") && strcmp(st_meta(f, "format"), "test") == 0, "metadata 'format' lost");
    CHECK(st_meta(f, "quote") && strcmp(st_meta(f, "quote"), "a \"b\" \\ c\nd") == 0, "escaped metadata lost");
    CHECK(st_meta(f, "nope") == NULL && st_meta_count(f) == 2, "metadata count");

    // st_expect failures name the file and the tensor.
    CHECK(st_expect(f, "zz", ST_F32, 1, s2, err, sizeof err) == NULL && strstr(err, "no tensor 'zz'") &&
              strstr(err, "all.safetensors: "),
          "missing tensor: '%s'", err);
    CHECK(st_expect(f, "f32", ST_I32, 2, s23, err, sizeof err) == NULL && strstr(err, "dtype F32, expected I32"),
          "wrong dtype: '%s'", err);
    int64_t s24[2] = {2, 4};
    CHECK(st_expect(f, "f32", ST_F32, 2, s24, err, sizeof err) == NULL && strstr(err, "shape (2, 3), expected (2, 4)"),
          "wrong shape: '%s'", err);
    CHECK(st_expect(f, "f32", ST_F32, 1, s2, err, sizeof err) == NULL && strstr(err, "expected (2)"),
          "wrong rank: '%s'", err);
    st_close(f);

    // A truncated file on disk, and a missing one.
    size_t len;
    FILE *in = fopen(path, "rb");
    fseek(in, 0, SEEK_END);
    len = (size_t)ftell(in);
    fclose(in);
    CHECK(truncate(path, (off_t)len - 1) == 0, "truncate");
    f = st_open(path, err, sizeof err);
    CHECK(f == NULL && strstr(err, "past the data"), "truncated file: '%s'", err);
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    f = st_open(path, err, sizeof err);
    CHECK(f == NULL && strstr(err, "missing.safetensors: No such file"), "missing file: '%s'", err);
    f = st_open(dir, err, sizeof err);
    CHECK(f == NULL && strstr(err, "directory"), "directory: '%s'", err);

    // Unwritable destination: error names the path, nothing left behind.
    w = st_writer_new();
    st_writer_add(w, "u8", ST_U8, 1, s5, u8);
    CHECK(st_writer_save(w, "/nonexistent-dir/x.safetensors", err, sizeof err) == -1 &&
              strstr(err, "/nonexistent-dir/x.safetensors: ") && strstr(err, "No such file"),
          "unwritable: '%s'", err);
    st_writer_add(w, "u8", ST_U8, 1, s5, u8);
    snprintf(path, sizeof path, "%s/dup.safetensors", dir);
    CHECK(st_writer_save(w, path, err, sizeof err) == -1 && strstr(err, "added twice"), "duplicate add: '%s'", err);
    CHECK(access(path, F_OK) != 0, "a failed save left %s behind", path);
    st_writer_free(w);
}

static void test_malformed(void) {
    size_t len;
    err[0] = 0;
    CHECK(st_open_mem("", 0, "bad.st", err, sizeof err) == NULL && strstr(err, "bad.st: truncated"), "empty: '%s'",
          err);
    CHECK(st_open_mem("\x10\0\0", 3, "bad.st", err, sizeof err) == NULL && strstr(err, "truncated"), "3 bytes: '%s'",
          err);
    expect_bad("header past end", "{}", 0, 1000, "runs past the end");
    expect_bad("absurd header length", "{}", 0, (uint64_t)1 << 62, "absurd");
    expect_bad("header just over the limit", "{}", 0, 100000001, "absurd");
    expect_bad("not JSON", "{\"a\":", 0, UINT64_MAX, "not valid JSON");
    expect_bad("JSON array", "[1, 2]   ", 0, UINT64_MAX, "JSON object");
    expect_bad("trailing garbage", "{} x", 0, UINT64_MAX, "trailing");
    expect_bad("entry not an object", "{\"a\": 5}", 0, UINT64_MAX, "'a' is not an object");
    expect_bad("missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, UINT64_MAX, "\"dtype\"");
    expect_bad("unknown dtype", "{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2, UINT64_MAX,
               "unsupported dtype 'F16'");
    expect_bad("shape not array", "{\"a\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,12]}}", 12, UINT64_MAX,
               "\"shape\"");
    expect_bad("negative shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, UINT64_MAX,
               "shape[0]");
    expect_bad("fractional shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2, 1.5],\"data_offsets\":[0,4]}}", 4,
               UINT64_MAX, "shape[1]");
    expect_bad("string shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, UINT64_MAX,
               "shape[0]");
    expect_bad("shape beyond 2^53", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1e300],\"data_offsets\":[0,1]}}", 1,
               UINT64_MAX, "shape[0]");
    expect_bad("shape product overflows",
               "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 8, UINT64_MAX,
               "overflow");
    expect_bad("shape * dtype overflows",
               "{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387,4096],\"data_offsets\":[0,8]}}", 8, UINT64_MAX,
               "overflow");
    expect_bad("too many dims", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
               UINT64_MAX, "9 dimensions");
    expect_bad("offsets missing", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, UINT64_MAX, "data_offsets");
    expect_bad("offsets three", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1, UINT64_MAX,
               "data_offsets");
    expect_bad("offsets negative", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", 1, UINT64_MAX,
               "data_offsets");
    expect_bad("offsets reversed", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, UINT64_MAX,
               "end before");
    expect_bad("size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, UINT64_MAX,
               "need 12");
    expect_bad("offsets past data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, UINT64_MAX,
               "run past the data");
    expect_bad("huge offsets",
               "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[9007199254740000,9007199254740001]}}", 8,
               UINT64_MAX, "run past the data");
    expect_bad("overlap",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, UINT64_MAX, "overlap");
    expect_bad("same offsets twice",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               8, UINT64_MAX, "overlap");
    expect_bad("gap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, UINT64_MAX, "gap");
    expect_bad("unclaimed tail", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, UINT64_MAX,
               "unclaimed");
    expect_bad("duplicate name",
               "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
               "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
               2, UINT64_MAX, "twice");
    expect_bad("metadata not object", "{\"__metadata__\": [1]}", 0, UINT64_MAX, "__metadata__");
    expect_bad("metadata non-string", "{\"__metadata__\": {\"k\": 3}}", 0, UINT64_MAX, "'k' is not a string");

    expect_good("empty header", "{}", 0);
    expect_good("padded header", "{\"__metadata__\":{\"a\":\"b\"}}      ", 0);
    expect_good("tensors out of order",
                "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                6);

    // A misaligned F32 (after one U8 byte) is still readable, from an aligned copy.
    unsigned char *b = make("{\"p\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                            "\"q\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1,5]}}",
                            5, UINT64_MAX, &len);
    float one = 1.0f;
    memcpy(b + len - 4, &one, 4);
    st_file *f = st_open_mem(b, len, "mis.st", err, sizeof err);
    CHECK(f != NULL, "misaligned: %s", err);
    if (f) {
        const st_tensor *t = st_find(f, "q");
        CHECK(t && ((uintptr_t)t->data % 4) == 0 && ((const float *)t->data)[0] == 1.0f, "misaligned F32 wrong");
        st_close(f);
    }
    free(b);
}

// Every prefix of a valid file and many byte corruptions: rejected or accepted,
// never a crash (the sanitizer build turns any stray read into a failure).
static void test_corruptions(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    int64_t s[2] = {3, 2};
    float v[6] = {1, 2, 3, 4, 5, 6};
    int32_t iv[2] = {7, 8};
    st_writer *w = st_writer_new();
    st_writer_add(w, "v", ST_F32, 2, s, v);
    st_writer_add(w, "i", ST_I32, 1, s + 1, iv);
    st_writer_meta(w, "k", "val");
    st_writer_save(w, path, err, sizeof err);
    st_writer_free(w);
    FILE *fp = fopen(path, "rb");
    unsigned char buf[4096];
    size_t len = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp) fclose(fp);
    int prefix_ok = 1;
    for (size_t n = 0; n < len; n++) {
        st_file *f = st_open_mem(buf, n, "p", err, sizeof err);
        if (f) {
            prefix_ok = 0;
            st_close(f);
        }
    }
    CHECK(prefix_ok, "a strict prefix of a valid file was accepted");
    st_file *f = st_open_mem(buf, len, "p", err, sizeof err);
    CHECK(f != NULL, "full file rejected: %s", err);
    if (f) st_close(f);
    uint64_t rs = 12345;
    int opened = 0;
    unsigned touched = 0;
    for (int it = 0; it < 20000; it++) {
        unsigned char c[4096];
        memcpy(c, buf, len);
        rs ^= rs << 13;
        rs ^= rs >> 7;
        rs ^= rs << 17;
        size_t pos = (size_t)(rs % len);
        c[pos] = (unsigned char)(rs >> 32);
        f = st_open_mem(c, len, "c", err, sizeof err);
        if (f) {
            for (int i = 0; i < st_count(f); i++) { // touch every byte claimed
                const st_tensor *t = st_at(f, i);
                for (size_t k = 0; k < t->nbytes; k++) touched += ((const unsigned char *)t->data)[k];
            }
            opened++;
            st_close(f);
        }
    }
    CHECK(opened > 0 && touched > 0, "no corruption at all was accepted (data bytes should be)");
}

int main(void) {
    char *dir = t_tmpdir();
    test_round_trip(dir);
    test_malformed();
    test_corruptions(dir);
    free(dir);
    return t_summary();
}
