#!/usr/bin/env bash
# libpixloc from an install: `cmake --install` of this build into a temporary prefix holds the
# binary, the library with its versioned soname (exporting exactly the header's functions),
# the header, pixloc.pc, the CMake package, the man page and the bash completion;
# examples/predict.c built against it with pkg-config (and with find_package) prints the same
# CSV as `pixloc predict` on images of three sizes; the error-path test (tests/api_errors.c)
# passes, with nothing printed by the library; handles on two threads give one handle's answers. Usage: bash tests/cli_libpixloc.sh path/to/pixloc
. "$(dirname "$0")/lib_cli.sh"
. "$(dirname "$0")/lib_libpixloc.sh"

P=$T/prefix
cmake --install "$B" --prefix "$P" >install.log 2>&1 || { cat install.log; bad "cmake --install"; }
for f in bin/pixloc lib/libpixloc.so.0 lib/libpixloc.so include/pixloc/pixloc.h lib/pkgconfig/pixloc.pc \
    lib/cmake/pixloc/pixlocConfig.cmake lib/cmake/pixloc/pixlocConfigVersion.cmake share/man/man1/pixloc.1.gz \
    share/bash-completion/completions/pixloc; do
    check "installed $f" test -e "$P/$f"
done
check "installed pixloc --version is $("$PX" --version)" test "$("$P/bin/pixloc" --version)" = "$("$PX" --version)"
lib=$(readlink -f "$P/lib/libpixloc.so.0")
check "soname libpixloc.so.0" sh -c "objdump -p '$lib' | grep -q 'SONAME *libpixloc.so.0\$'"
want=$(grep -oE 'PIXLOC_API [^(]*\bpixloc_[a-z_]+\(' "$SRC/include/api/pixloc/pixloc.h" | grep -oE 'pixloc_[a-z_]+' | sort)
got=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort)
check "exports exactly the header's $(echo "$want" | wc -l) functions" test "$want" = "$got"
[ "$want" = "$got" ] || diff <(echo "$want") <(echo "$got")

train_tiny run
make_images
check "example built with pkg-config" build_example "$P/lib/pkgconfig" ./predict
check "example (pkg-config) prints what pixloc predict prints" same_as_predict ./predict "$P/lib" run

# find_package(pixloc) and pixloc::pixloc from a CMake project outside the tree.
mkdir -p consumer
cat >consumer/CMakeLists.txt <<CM
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(pixloc 0.1 REQUIRED)
add_executable(predict_cmake $SRC/examples/predict.c)
find_package(PNG REQUIRED)
target_link_libraries(predict_cmake PRIVATE pixloc::pixloc PNG::PNG)
target_compile_options(predict_cmake PRIVATE $(san_flags "$lib"))
target_link_options(predict_cmake PRIVATE $(san_flags "$lib"))
CM
consumer_build() {
    cmake -S consumer -B consumer/build -DCMAKE_PREFIX_PATH="$P" >consumer.log 2>&1 \
        && cmake --build consumer/build >>consumer.log 2>&1 || { cat consumer.log; return 1; }
}
check "example built with find_package(pixloc)" consumer_build
check "example (CMake package) prints what pixloc predict prints" same_as_predict consumer/build/predict_cmake "$P/lib" run

mkdir -p scratch
api_errors() { "$B/tests/api_errors" run scratch; }
check "error paths return statuses and print nothing (tests/api_errors.c)" api_errors
# use_sigaltstack=0 (sanitizer build only; ignored otherwise): PoCL's LLVM installs its own
# alternate signal stack on a thread that builds kernels, and ASan then fails to unmap its own
# when that thread exits ("unable to unmap", an ASan CHECK, not a fault of the test or library).
api_threads() { ASAN_OPTIONS="${ASAN_OPTIONS:-}:use_sigaltstack=0" "$B/tests/api_threads" run "$T/threads-cache"; }
check "handles on two threads give one handle's answers (tests/api_threads.c)" api_threads
cli_summary
