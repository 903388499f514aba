# (Not a test itself: tests/CMakeLists.txt runs tests/cli_*.sh.)
# Shared by the tests/cli_*.sh scripts that source it: PX (the binary, from $1), T (a temporary
# directory, the working directory, removed with any background job at exit), a private kernel
# cache unless one is given, and the ok/bad/check counters closed by cli_summary.
set -uo pipefail
PX=$(realpath "$1")
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
export PIXLOC_CACHE_DIR=${PIXLOC_CACHE_DIR:-$T/cache}
cd "$T" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# The test cannot run here (e.g. it needs a CPU device and PIXLOC_TEST_DEVICE chose a GPU):
# prints why and exits 77, which CTest reports as skipped (SKIP_RETURN_CODE).
cli_skip() { echo "SKIP: $*"; exit 77; }
# Prints the closing line and returns the script's status.
cli_summary() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]; }
