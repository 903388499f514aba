#!/usr/bin/env bash
# Two processes building the same kernels against one fresh PIXLOC_CACHE_DIR at
# the same moment (both miss, both compile, both store) must both succeed, and
# train bit-identical models to a run that reads the entries they left; no entry
# may be unusable or half-written, and no temporary file may be left behind.
# Repeated a few times with a fresh cache.  Usage: bash tests/cli_cache_concurrency.sh path/to/pixloc
set -uo pipefail
PX=$(realpath "$1")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0
check() { local what=$1; shift; if "$@"; then pass=$((pass + 1)); echo "ok   $what"; else fail=$((fail + 1)); echo "FAIL $what"; fi; }
TRAIN=(train --samples 100 --size 8x8 --channels 3,2 --epochs 1 --batch-size 8 --no-report --quiet)
# The numbers of a run (history without the timing columns, and the metrics).
numbers() { cut -d, -f1-5 "$1/history.csv"; grep -v seconds "$1/metrics.json"; }

for rep in 1 2 3; do
  C=$TMP/cache$rep
  export PIXLOC_CACHE_DIR=$C PIXLOC_CACHE_DEBUG=1
  "$PX" "${TRAIN[@]}" --out "$TMP/a$rep" >"$TMP/a$rep.log" 2>&1 & pa=$!
  "$PX" "${TRAIN[@]}" --out "$TMP/b$rep" >"$TMP/b$rep.log" 2>&1 & pb=$!
  wait $pa; sa=$?
  wait $pb; sb=$?
  check "round $rep: both concurrent runs succeed ($sa, $sb)" [ "$sa" -eq 0 -a "$sb" -eq 0 ]
  check "round $rep: both compiled from source (cache MISS)" \
      bash -c "grep -q 'cache MISS' '$TMP/a$rep.log' && grep -q 'cache MISS' '$TMP/b$rep.log'"
  "$PX" "${TRAIN[@]}" --out "$TMP/c$rep" >"$TMP/c$rep.log" 2>&1
  check "round $rep: a third run succeeds from the cache" [ $? -eq 0 ]
  check "round $rep: ... with every kernel a cache HIT" bash -c "grep -q 'cache HIT' '$TMP/c$rep.log' && ! grep -q 'cache MISS' '$TMP/c$rep.log'"
  check "round $rep: no cache entry unusable" bash -c "! grep -q unusable '$TMP'/[abc]$rep.log"
  check "round $rep: no temporary files left in the cache" bash -c "! ls '$C' | grep -q '\.tmp'"
  check "round $rep: the concurrent runs trained identical models" cmp -s <(numbers "$TMP/a$rep") <(numbers "$TMP/b$rep")
  check "round $rep: the cached run trained the same model" cmp -s <(numbers "$TMP/a$rep") <(numbers "$TMP/c$rep")
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
