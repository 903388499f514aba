// libFuzzer entry point; FUZZ_TARGET names the body (fuzz_image, ...), set by CMake.
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return FUZZ_TARGET(data, size); }
