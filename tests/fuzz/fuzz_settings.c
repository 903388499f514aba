// Fuzz target: the configuration parsers that read files — a checkpoint's
// training settings (train_settings_from_json) and the dataset recipe string
// (recipe_from_string). The input is used as text for both. Whatever is accepted
// must survive a round trip (write, read back, write again: same text), which is
// how checkpoints and resumed runs use them.
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "dataset.h"
#include "fuzz_targets.h"

static int recipe_same(const recipe *a, const recipe *b) {
    return a->H == b->H && a->W == b->W && a->blur == b->blur && a->noise_std == b->noise_std &&
           a->bg_prob == b->bg_prob && a->bg_lo == b->bg_lo && a->bg_hi == b->bg_hi && a->sigma == b->sigma;
}

int fuzz_settings(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = 0;
    char err[512];
    fuzz_accepted = 0;

    train_settings s;
    if (train_settings_from_json(&s, text, err, sizeof err) == 0) {
        fuzz_accepted = 1;
        FUZZ_CHECK(s.net.nblocks >= 1 && s.net.nblocks <= NET_MAX_BLOCKS && s.batch >= 1);
        FUZZ_CHECK(recipe_validate(&s.rec, err, sizeof err) == 0);
        char *j1, *j2;
        train_settings_json(&s, &j1);
        train_settings s2;
        FUZZ_CHECK(train_settings_from_json(&s2, j1, err, sizeof err) == 0);
        train_settings_json(&s2, &j2);
        FUZZ_CHECK(strcmp(j1, j2) == 0);
        free(j1);
        free(j2);
    } else {
        FUZZ_CHECK(err[0] != 0);
    }

    recipe r, r2;
    if (recipe_from_string(&r, text, err, sizeof err) == 0) {
        fuzz_accepted = 1;
        char buf[512];
        recipe_to_string(&r, buf, sizeof buf);
        FUZZ_CHECK(recipe_from_string(&r2, buf, err, sizeof err) == 0);
        FUZZ_CHECK(recipe_same(&r, &r2));
    } else {
        FUZZ_CHECK(err[0] != 0);
    }
    free(text);
    return 0;
}
