#!/usr/bin/env bash
# Runs one test (the command in "$@") on the device PIXLOC_TEST_DEVICE names; CTest
# starts every device-using test through this file (tests/CMakeLists.txt), so the
# whole suite moves to another device with one variable:
#   pocl (default)  PoCL's CPU device only: the ICD loader is shown PoCL's .icd file alone
#                   (OCL_ICD_VENDORS = a directory holding only it), and PIXLOC_DEVICE_TYPE=cpu;
#                   a machine with a GPU driver installed still runs the suite as CI does
#   cpu | gpu | accelerator   PIXLOC_DEVICE_TYPE=that, every installed driver visible
#   all             every driver visible, no selector: pixloc's own default rule
#   PLATFORM:DEVICE or DEVICE   PIXLOC_PLATFORM / PIXLOC_DEVICE (an index or a part of the name)
# PIXLOC_PLATFORM, PIXLOC_DEVICE and PIXLOC_DEVICE_TYPE from the caller's environment are
# replaced, never inherited. Exits with the test's status; 1 with a message when the
# default (pocl) is asked for and no PoCL is installed. A test that cannot run on the
# chosen device exits 77 (CTest SKIP_RETURN_CODE) after printing why.
set -u
sel=${PIXLOC_TEST_DEVICE:-pocl}
unset PIXLOC_PLATFORM PIXLOC_DEVICE PIXLOC_DEVICE_TYPE
case "$sel" in
pocl)
    icd=""
    for dir in "${OCL_ICD_VENDORS:-${OPENCL_VENDOR_PATH:-/etc/OpenCL/vendors}}" /usr/share/OpenCL/vendors; do
        [ -d "$dir" ] || continue
        for f in "$dir"/*pocl*.icd; do [ -f "$f" ] && { icd=$f; break 2; }; done
    done
    if [ -z "$icd" ]; then
        echo "on_test_device: PIXLOC_TEST_DEVICE=pocl (the default) but no PoCL ICD (*pocl*.icd) is installed:" \
            "apt-get install pocl-opencl-icd, or run on another device with PIXLOC_TEST_DEVICE=gpu|cpu|all|SELECTOR" >&2
        exit 1
    fi
    # A directory holding only PoCL's .icd file, named by its content (made once, by an atomic rename).
    sum=$(cksum <"$icd" | cut -d' ' -f1)
    vend=${PIXLOC_TEST_ICD_DIR:-${TMPDIR:-/tmp}/pixloc-test-icd-$(id -u)}-$sum
    if ! cmp -s "$icd" "$vend/pocl.icd"; then
        mkdir -p "$(dirname "$vend")"
        tmp=$(mktemp -d "$vend.XXXXXX") && cp "$icd" "$tmp/pocl.icd" && chmod 755 "$tmp" &&
            { mv -T "$tmp" "$vend" 2>/dev/null || rm -rf "$tmp"; }
        cmp -s "$icd" "$vend/pocl.icd" || { echo "on_test_device: could not make $vend/pocl.icd" >&2; exit 1; }
    fi
    export OCL_ICD_VENDORS=$vend PIXLOC_DEVICE_TYPE=cpu
    ;;
cpu | gpu | accelerator) export PIXLOC_DEVICE_TYPE=$sel ;;
all) ;;
*:*) export PIXLOC_PLATFORM=${sel%%:*} PIXLOC_DEVICE=${sel#*:} ;;
*) export PIXLOC_DEVICE=$sel ;;
esac
exec "$@"
