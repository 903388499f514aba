// MT19937 with numpy's legacy RandomState draws, bit for bit: seeding by
// init_genrand (uint32 seed), random_sample (53-bit double), randint by masked
// rejection, the polar-method Gaussian with its cached second value, and the
// legacy permutation (Fisher-Yates from the end). Used for the dataset (so seed 42
// reproduces the notebook), the splits, weight initialisation and shuffling.
#ifndef PIXLOC_RNG_H
#define PIXLOC_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t mt[624];
    int pos;
    int has_gauss;
    double gauss;
} rng_state;

void rng_seed(rng_state *r, uint32_t seed);
uint32_t rng_u32(rng_state *r);
double rng_double(rng_state *r);                             // numpy random_sample / rand: [0, 1)
int64_t rng_randint(rng_state *r, int64_t lo, int64_t hi);   // numpy randint(lo, hi): [lo, hi)
double rng_normal(rng_state *r, double loc, double scale);   // numpy normal(loc, scale)
double rng_uniform(rng_state *r, double lo, double hi);      // numpy uniform(lo, hi)
void rng_permutation(rng_state *r, int64_t *out, int64_t n); // numpy permutation(n)
void rng_shuffle_i64(rng_state *r, int64_t *a, int64_t n);   // numpy shuffle of an int array
// Bulk draws, identical to n single calls (numpy normal(loc, scale, n) / random_sample(n)).
void rng_normal_fill(rng_state *r, double loc, double scale, double *out, size_t n);
void rng_double_fill(rng_state *r, double *out, size_t n);

// Serialisation for checkpoints: 624 + 4 uint32 words (state, pos, has_gauss, gauss as two words).
#define RNG_STATE_WORDS 628
void rng_save(const rng_state *r, uint32_t out[RNG_STATE_WORDS]);
void rng_load(rng_state *r, const uint32_t in[RNG_STATE_WORDS]);

#endif
