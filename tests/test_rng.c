// MT19937 + numpy legacy RandomState draws against numbers dumped from numpy
// 2.4 (tools/dataset_reference.py --rng-vectors prints these arrays).
#include "rng.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

// ---- numpy reference values (generated, do not edit by hand) ----
static const uint32_t mt5489[] = {3499211612u, 581869302u, 3890346734u, 3586334585u, 545404204u};
static const uint32_t mt42[] = {1608637542u, 3421126067u, 4083286876u, 787846414u, 3143890026u};
static const uint32_t mt0_after1000[] = {1333075495u, 1193028842u, 1602172539u, 3843408156u, 2254730904u};
static const double rs42[] = {0.3745401188473625, 0.9507143064099162, 0.7319939418114051, 0.5986584841970366,
                              0.15601864044243652};
static const int64_t ri42_50[] = {38, 28, 14, 42, 7, 20, 38, 18, 22, 10};
static const int64_t ri42_5_40[] = {15, 28, 28, 7, 26};
static const int64_t ri42_neg[] = {1, -2, 4, 2, -2};
static const int64_t ri42_big[] = {824600269755LL, 88551408800LL, 874505391417LL};
static const int64_t ri42_one[] = {7, 7};
static const int64_t ri42_after[] = {21, 252, 747};
static const double nrm42[] = {4.967141530112327,   -1.3826430117118464, 6.476885381006925, 15.230298564080254,
                               -2.3415337472333597, -2.3413695694918055, 15.792128155073915};
static const double nrm42_more[] = {2.534869458305818, 0.020584494295802447, -0.580878134023515, -0.5251698071781478};
static const double uni7[] = {-1.618458553130214, 1.8995939612005732, 0.1920461572044676};
static const int64_t perm42_10[] = {8, 1, 5, 0, 7, 2, 9, 4, 3, 6};
static const int64_t shuf123_20x3[] = {42, 15, 12, 51, 24, 21, 57, 36, 0, 45, 48, 27, 33, 30, 9, 3, 18, 54, 6, 39};
// RandomState(2024).normal(0, 1, 100001): sum and last value
static const double nrm2024_stats[] = {363.83488351562426, 0.5120749588754298};
// ---- end of numpy reference values ----

static void check_u32(const char *what, uint32_t seed, const uint32_t *want, int n, int skip) {
    rng_state r;
    rng_seed(&r, seed);
    for (int i = 0; i < skip; i++) rng_u32(&r);
    int ok = 1;
    for (int i = 0; i < n; i++) {
        uint32_t g = rng_u32(&r);
        if (g != want[i]) {
            ok = 0;
            fprintf(stderr, "%s[%d]: got %u want %u\n", what, i, g, want[i]);
        }
    }
    CHECK(ok, "%s: raw MT19937 outputs differ from numpy", what);
}

static void check_i64_seq(const char *what, const int64_t *got, const int64_t *want, int n) {
    int ok = 1;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) {
            ok = 0;
            fprintf(stderr, "%s[%d]: got %lld want %lld\n", what, i, (long long)got[i], (long long)want[i]);
        }
    CHECK(ok, "%s differs from numpy", what);
}

static void check_f64_exact(const char *what, const double *got, const double *want, int n) {
    int ok = 1;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) {
            ok = 0;
            fprintf(stderr, "%s[%d]: got %.17g want %.17g\n", what, i, got[i], want[i]);
        }
    CHECK(ok, "%s differs from numpy (bit-exact expected)", what);
}

int main(void) {
    check_u32("seed 5489", 5489, mt5489, LEN(mt5489), 0);
    check_u32("seed 42", 42, mt42, LEN(mt42), 0);
    check_u32("seed 0, outputs 1000..1004 (crosses a refill)", 0, mt0_after1000, LEN(mt0_after1000), 1000);

    rng_state r;
    double d[16];
    int64_t v[32];

    rng_seed(&r, 42);
    for (int i = 0; i < LEN(rs42); i++) d[i] = rng_double(&r);
    check_f64_exact("random_sample seed 42", d, rs42, LEN(rs42));

    // One running generator through several randint ranges, as numpy drew them.
    rng_seed(&r, 42);
    for (int i = 0; i < LEN(ri42_50); i++) v[i] = rng_randint(&r, 0, 50);
    check_i64_seq("randint(0,50)", v, ri42_50, LEN(ri42_50));
    for (int i = 0; i < LEN(ri42_5_40); i++) v[i] = rng_randint(&r, 5, 40);
    check_i64_seq("randint(5,40)", v, ri42_5_40, LEN(ri42_5_40));
    for (int i = 0; i < LEN(ri42_neg); i++) v[i] = rng_randint(&r, -3, 7);
    check_i64_seq("randint(-3,7)", v, ri42_neg, LEN(ri42_neg));
    for (int i = 0; i < LEN(ri42_big); i++) v[i] = rng_randint(&r, 0, (int64_t)1 << 40);
    check_i64_seq("randint(0,2^40) (64-bit draws)", v, ri42_big, LEN(ri42_big));
    for (int i = 0; i < LEN(ri42_one); i++) v[i] = rng_randint(&r, 7, 8);
    check_i64_seq("randint(7,8) (no draw)", v, ri42_one, LEN(ri42_one));
    for (int i = 0; i < LEN(ri42_after); i++) v[i] = rng_randint(&r, 0, 1000);
    check_i64_seq("randint(0,1000) after the above", v, ri42_after, LEN(ri42_after));

    // Polar Gaussian with its cached second value: an odd count leaves one
    // cached value that the next normal() must return after an interleaved rand().
    rng_seed(&r, 42);
    rng_normal_fill(&r, 0, 10, d, LEN(nrm42));
    for (int i = 0; i < LEN(nrm42); i++)
        CHECK(fabs(d[i] - nrm42[i]) <= 1e-12 * fabs(nrm42[i]), "normal(0,10)[%d] %.17g vs %.17g", i, d[i], nrm42[i]);
    d[0] = rng_normal(&r, 1, 2);
    d[1] = rng_double(&r);
    d[2] = rng_normal(&r, 0, 1);
    d[3] = rng_normal(&r, 0, 1);
    for (int i = 0; i < 4; i++)
        CHECK(fabs(d[i] - nrm42_more[i]) <= 1e-12 * fabs(nrm42_more[i]), "normal/rand interleave [%d] %.17g vs %.17g",
              i, d[i], nrm42_more[i]);

    // Bulk and single draws must be the same stream; a long run checks that no
    // rejection or cache detail drifts.
    {
        enum { N = 100001 };
        double *a = malloc(N * sizeof *a);
        rng_seed(&r, 2024);
        rng_normal_fill(&r, 0, 1, a, N);
        double s = 0;
        for (int i = 0; i < N; i++) s += a[i];
        CHECK(a[N - 1] == nrm2024_stats[1], "normal #100000: %.17g vs %.17g", a[N - 1], nrm2024_stats[1]);
        CHECK(fabs(s - nrm2024_stats[0]) < 1e-8, "sum of 100001 normals: %.17g vs %.17g", s, nrm2024_stats[0]);
        rng_state q;
        rng_seed(&q, 2024);
        int same = 1;
        for (int i = 0; i < N; i++) same &= rng_normal(&q, 0, 1) == a[i];
        CHECK(same, "rng_normal_fill and rng_normal give different streams");
        free(a);
    }

    rng_seed(&r, 7);
    for (int i = 0; i < LEN(uni7); i++) d[i] = rng_uniform(&r, -2, 3);
    check_f64_exact("uniform(-2,3) seed 7", d, uni7, LEN(uni7));

    rng_seed(&r, 42);
    rng_permutation(&r, v, 10);
    check_i64_seq("permutation(10) seed 42", v, perm42_10, LEN(perm42_10));

    rng_seed(&r, 123);
    for (int i = 0; i < 20; i++) v[i] = 3 * i;
    rng_shuffle_i64(&r, v, 20);
    check_i64_seq("shuffle(arange(20)*3) seed 123", v, shuf123_20x3, LEN(shuf123_20x3));

    // Save/load mid-stream (with a cached Gaussian) continues the same stream.
    {
        rng_state a, b;
        uint32_t words[RNG_STATE_WORDS];
        rng_seed(&a, 99);
        for (int i = 0; i < 1001; i++) rng_normal(&a, 0, 1); // odd: one value cached
        rng_save(&a, words);
        memset(&b, 0xab, sizeof b);
        rng_load(&b, words);
        int same = 1;
        for (int i = 0; i < 2000; i++) same &= rng_normal(&a, 0, 1) == rng_normal(&b, 0, 1);
        CHECK(same, "rng_save/rng_load does not continue the stream");
    }
    return t_summary();
}
