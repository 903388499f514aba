#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` with this build's CPack configuration makes pixloc_*.deb
# holding the binary, libpixloc, its header, pkg-config file and CMake package, the man page
# (help2man) and the bash completion, with library dependencies from dpkg-shlibdeps. Unpacked
# with dpkg-deb -x into a temporary root (no installation), its pixloc runs, its man page
# renders, its completion completes, and examples/predict.c built against the unpacked tree
# with pkg-config prints what `pixloc predict` prints. Usage: bash tests/cli_deb.sh path/to/pixloc
. "$(dirname "$0")/lib_cli.sh"
. "$(dirname "$0")/lib_libpixloc.sh"

# The package goes to $T, not into the build directory (-B), so tests running beside this one
# see no new files there.
cpack -G DEB --config "$B/CPackConfig.cmake" -B "$T/pkg" >cpack.log 2>&1 || { cat cpack.log; bad "cpack -G DEB"; }
deb=$(ls "$T"/pkg/pixloc_*.deb 2>/dev/null | head -n 1)
check "cpack made pixloc_VERSION_ARCH.deb" test -f "$deb"
[ -f "$deb" ] || { cli_summary; exit 1; }
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's,^\./,/,' >contents.txt
for f in /usr/bin/pixloc /usr/lib/libpixloc.so.0 /usr/include/pixloc/pixloc.h /usr/lib/pkgconfig/pixloc.pc \
    /usr/lib/cmake/pixloc/pixlocConfig.cmake /usr/share/man/man1/pixloc.1.gz /usr/share/bash-completion/completions/pixloc; do
    check "package holds $f" grep -qx "$f" contents.txt
done
check "package name is pixloc" test "$(dpkg-deb -f "$deb" Package)" = pixloc
check "version is the binary's" test "pixloc $(dpkg-deb -f "$deb" Version)" = "$("$PX" --version)"
check "depends on the OpenCL loader (dpkg-shlibdeps): $(dpkg-deb -f "$deb" Depends)" \
    sh -c "dpkg-deb -f '$deb' Depends | grep -q ocl-icd-libopencl1"

R=$T/root
dpkg-deb -x "$deb" "$R"
check "unpacked pixloc --version" test "$("$R/usr/bin/pixloc" --version)" = "$("$PX" --version)"
man_has() { zcat "$R/usr/share/man/man1/pixloc.1.gz" | grep -c -- "$1" >/dev/null; } # -c: reads all (pipefail)
check "man page has the commands and each command's options" man_has '^\.SS "pixloc predict"'
check "man page has predict's --heatmap-out" man_has 'heatmap\\-out'
man_renders() { MANWIDTH=80 man -l "$R/usr/share/man/man1/pixloc.1.gz" 2>&1 | grep -c "pixloc COMMAND" >/dev/null; }
if command -v man >/dev/null; then check "man -l renders it" man_renders; fi
complete_train() {
    # shellcheck disable=SC1091
    . "$R/usr/share/bash-completion/completions/pixloc"
    COMP_WORDS=("$R/usr/bin/pixloc" tr)
    COMP_CWORD=1
    _pixloc
    [ "${COMPREPLY[*]}" = train ]
}
check "its bash completion completes 'pixloc tr' to train" complete_train

train_tiny run
make_images
check "example built against the unpacked tree with pkg-config" build_example "$R/usr/lib/pkgconfig" ./predict
check "example (unpacked .deb) prints what pixloc predict prints" same_as_predict ./predict "$R/usr/lib" run
cli_summary
