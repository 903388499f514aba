# Sanitizer runtime options for running the PIXLOC_SANITIZE=ON build's tests
# (sourced by tools/test.sh; source it by hand to run one test the same way):
#   . tests/sanitizers/env.sh && build-asan/tests/test_conv
# Leaks are detected (with the driver stack suppressed by tests/sanitizers/lsan.supp),
# every error stops the test with a stack trace, and a UBSan report is fatal.
_px_san_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$_px_san_dir/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="suppressions=$_px_san_dir/ubsan.supp:print_stacktrace=1:halt_on_error=1"
unset _px_san_dir
