// Fuzz target bodies, shared by the libFuzzer drivers (fuzz_main.c, clang
// -DPIXLOC_FUZZ=ON build) and the plain CTest replay (tests/test_fuzz_regressions.c),
// so the normal build replays the committed corpus through the same entry points.
// Each returns 0 (libFuzzer's contract) and sets fuzz_accepted to 1 when the
// reader accepted the input, 0 when it rejected it with a message.
#ifndef PIXLOC_FUZZ_TARGETS_H
#define PIXLOC_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

extern int fuzz_accepted;

int fuzz_safetensors(const uint8_t *data, size_t size); // st_open_mem, dataset_load, checkpoint settings
int fuzz_image(const uint8_t *data, size_t size);       // image_read_gray_mem (PNG, PGM)
int fuzz_settings(const uint8_t *data, size_t size);    // train_settings_from_json, recipe_from_string
int fuzz_labels(const uint8_t *data, size_t size);      // labels_parse_mem (the import CSV, libcsv)

// A reader violated its own contract on an accepted input: print and abort,
// so both libFuzzer and CTest report it as a crash.
#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond);                                                             \
    } while (0)
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

#endif
