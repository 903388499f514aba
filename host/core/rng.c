// MT19937 with numpy's legacy RandomState draws (numpy/random/src/legacy and
// mt19937), bit for bit. Every draw goes through next32(); the bulk fill
// functions exist because the dataset draws tens of millions of values and a
// call per value would dominate generation time.
#include "rng.h"

#include <math.h>
#include <string.h>

#define MT_N 624
#define MT_M 397

void rng_seed(rng_state *r, uint32_t seed) {
    // numpy mt19937_seed == Matsumoto's init_genrand.
    r->mt[0] = seed;
    for (int i = 1; i < MT_N; i++) r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->pos = MT_N;
    r->has_gauss = 0;
    r->gauss = 0.0;
}

static void mt_refill(rng_state *r) {
    uint32_t *mt = r->mt;
    int i;
    for (i = 0; i < MT_N - MT_M; i++) {
        uint32_t y = (mt[i] & 0x80000000u) | (mt[i + 1] & 0x7fffffffu);
        mt[i] = mt[i + MT_M] ^ (y >> 1) ^ (-(y & 1u) & 0x9908b0dfu);
    }
    for (; i < MT_N - 1; i++) {
        uint32_t y = (mt[i] & 0x80000000u) | (mt[i + 1] & 0x7fffffffu);
        mt[i] = mt[i + (MT_M - MT_N)] ^ (y >> 1) ^ (-(y & 1u) & 0x9908b0dfu);
    }
    uint32_t y = (mt[MT_N - 1] & 0x80000000u) | (mt[0] & 0x7fffffffu);
    mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ (-(y & 1u) & 0x9908b0dfu);
    r->pos = 0;
}

static inline uint32_t next32(rng_state *r) {
    if (r->pos >= MT_N) mt_refill(r);
    uint32_t y = r->mt[r->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

// 53-bit double in [0, 1): numpy legacy_double / mt19937_next_double.
static inline double next_double(rng_state *r) {
    int32_t a = (int32_t)(next32(r) >> 5), b = (int32_t)(next32(r) >> 6);
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

// numpy legacy_gauss: polar method; the second value of each pair is cached.
static inline double next_gauss(rng_state *r) {
    if (r->has_gauss) {
        double t = r->gauss;
        r->has_gauss = 0;
        r->gauss = 0.0;
        return t;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * next_double(r) - 1.0;
        x2 = 2.0 * next_double(r) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    r->gauss = f * x1;
    r->has_gauss = 1;
    return f * x2;
}

static uint64_t smallest_mask(uint64_t max) {
    uint64_t m = max;
    m |= m >> 1;
    m |= m >> 2;
    m |= m >> 4;
    m |= m >> 8;
    m |= m >> 16;
    m |= m >> 32;
    return m;
}

static uint64_t next64(rng_state *r) {
    uint64_t hi = next32(r);
    return (hi << 32) | next32(r);
}

// numpy random_interval: a value in [0, max] by masked rejection; 32-bit draws
// when max fits in 32 bits (used by the legacy shuffle).
static uint64_t interval(rng_state *r, uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = smallest_mask(max), v;
    if (max <= 0xffffffffu) {
        while ((v = (next32(r) & mask)) > max) {}
    } else {
        while ((v = (next64(r) & mask)) > max) {}
    }
    return v;
}

uint32_t rng_u32(rng_state *r) { return next32(r); }

double rng_double(rng_state *r) { return next_double(r); }

int64_t rng_randint(rng_state *r, int64_t lo, int64_t hi) {
    // numpy _rand_int64 with use_masked: rng = hi - 1 - lo, then
    // random_bounded_uint64_fill: 0 -> lo; rng == 2^32-1 -> one raw 32-bit draw;
    // rng < 2^32 -> masked rejection on 32-bit draws; wider -> on 64-bit draws.
    if (hi <= lo) return lo; // numpy raises "low >= high"; callers validate
    uint64_t rng = (uint64_t)hi - (uint64_t)lo - 1;
    uint64_t v;
    if (rng == 0) {
        v = 0;
    } else if (rng == 0xffffffffu) {
        v = next32(r);
    } else if (rng < 0xffffffffu) {
        uint32_t mask = (uint32_t)smallest_mask(rng), w;
        while ((w = (next32(r) & mask)) > rng) {}
        v = w;
    } else if (rng == UINT64_MAX) {
        v = next64(r);
    } else {
        uint64_t mask = smallest_mask(rng);
        while ((v = (next64(r) & mask)) > rng) {}
    }
    return (int64_t)((uint64_t)lo + v);
}

double rng_normal(rng_state *r, double loc, double scale) { return loc + scale * next_gauss(r); }

double rng_uniform(rng_state *r, double lo, double hi) { return lo + (hi - lo) * next_double(r); }

// Bulk draws: the rest of the current MT block is tempered in one vectorisable
// pass into a local buffer and consumed from there; r->pos follows exactly, so
// the stream is identical to single draws (no value is fetched ahead).
typedef struct {
    rng_state *r;
    int pos;
    uint32_t tb[MT_N];
} block_reader;

static void temper_block(block_reader *b) {
    const uint32_t *mt = b->r->mt;
    for (int i = b->pos; i < MT_N; i++) {
        uint32_t y = mt[i];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        b->tb[i] = y;
    }
}

static void reader_open(block_reader *b, rng_state *r) {
    b->r = r;
    if (r->pos >= MT_N) mt_refill(r);
    b->pos = r->pos;
    temper_block(b);
}

static inline uint32_t reader_u32(block_reader *b) {
    if (b->pos >= MT_N) {
        mt_refill(b->r);
        b->pos = 0;
        temper_block(b);
    }
    return b->tb[b->pos++];
}

static inline double reader_double(block_reader *b) {
    int32_t a = (int32_t)(reader_u32(b) >> 5), c = (int32_t)(reader_u32(b) >> 6);
    return (a * 67108864.0 + c) / 9007199254740992.0;
}

static void reader_close(block_reader *b) { b->r->pos = b->pos; }

void rng_normal_fill(rng_state *r, double loc, double scale, double *out, size_t n) {
    size_t i = 0;
    if (n > 0 && r->has_gauss) out[i++] = loc + scale * next_gauss(r);
    block_reader b;
    reader_open(&b, r);
    for (; i + 1 < n; i += 2) { // whole pairs: same arithmetic as next_gauss
        double x1, x2, r2;
        do {
            x1 = 2.0 * reader_double(&b) - 1.0;
            x2 = 2.0 * reader_double(&b) - 1.0;
            r2 = x1 * x1 + x2 * x2;
        } while (r2 >= 1.0 || r2 == 0.0);
        double f = sqrt(-2.0 * log(r2) / r2);
        out[i] = loc + scale * (f * x2);
        out[i + 1] = loc + scale * (f * x1);
    }
    reader_close(&b);
    if (i < n) out[i] = loc + scale * next_gauss(r); // odd tail leaves one value cached
}

void rng_double_fill(rng_state *r, double *out, size_t n) {
    block_reader b;
    reader_open(&b, r);
    for (size_t i = 0; i < n; i++) out[i] = reader_double(&b);
    reader_close(&b);
}

void rng_shuffle_i64(rng_state *r, int64_t *a, int64_t n) {
    // numpy legacy _shuffle_raw: for i in reversed(range(1, n)): j = random_interval(i).
    for (int64_t i = n - 1; i >= 1; i--) {
        int64_t j = (int64_t)interval(r, (uint64_t)i);
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void rng_permutation(rng_state *r, int64_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = i;
    rng_shuffle_i64(r, out, n);
}

void rng_save(const rng_state *r, uint32_t out[RNG_STATE_WORDS]) {
    memcpy(out, r->mt, sizeof r->mt);
    out[MT_N] = (uint32_t)r->pos;
    out[MT_N + 1] = (uint32_t)r->has_gauss;
    uint64_t g;
    memcpy(&g, &r->gauss, sizeof g);
    out[MT_N + 2] = (uint32_t)(g & 0xffffffffu);
    out[MT_N + 3] = (uint32_t)(g >> 32);
}

void rng_load(rng_state *r, const uint32_t in[RNG_STATE_WORDS]) {
    memcpy(r->mt, in, sizeof r->mt);
    r->pos = in[MT_N] > MT_N ? MT_N : (int)in[MT_N];
    r->has_gauss = in[MT_N + 1] ? 1 : 0;
    uint64_t g = (uint64_t)in[MT_N + 2] | ((uint64_t)in[MT_N + 3] << 32);
    memcpy(&r->gauss, &g, sizeof g);
}
