# Sanitizer runtime options for running the PIXLOC_SANITIZE=ON build's tests
# (sourced by tools/test.sh; source it by hand to run one test the same way):
#   . tests/sanitizers/env.sh && build-asan/tests/test_conv
# Leaks are detected (with the driver stack suppressed by tests/sanitizers/lsan.supp),
# every error stops the test with a stack trace, and a UBSan report is fatal.
_px_san_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# use_sigaltstack=0: PoCL's LLVM replaces a compiling thread's alternate signal stack, and
# ASan's own (installed per thread) then breaks at that thread's exit or in LeakSanitizer's
# stop-the-world at process exit ("Tracer caught signal 11", seen in cli_infer_memory once
# background builds ran on helper threads, and in tests/api_threads.c). It costs only ASan's
# stack-overflow reports.
export ASAN_OPTIONS="use_sigaltstack=0:detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$_px_san_dir/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="suppressions=$_px_san_dir/ubsan.supp:print_stacktrace=1:halt_on_error=1"
# NVIDIA's driver maps memory inside ASan's shadow gap (CUDA's fixed-address
# reservations): with its ICD visible to the loader (any PIXLOC_TEST_DEVICE but the
# default pocl, which shows the loader PoCL alone) the gap must not be protected.
if [ "${PIXLOC_TEST_DEVICE:-pocl}" != pocl ]; then
    for _px_icd in "${OCL_ICD_VENDORS:-${OPENCL_VENDOR_PATH:-/etc/OpenCL/vendors}}"/*.icd /usr/share/OpenCL/vendors/*.icd; do
        if [ -f "$_px_icd" ] && grep -qi nvidia "$_px_icd"; then
            ASAN_OPTIONS="$ASAN_OPTIONS:protect_shadow_gap=0"
            break
        fi
    done
    unset _px_icd
fi
unset _px_san_dir
