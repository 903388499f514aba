#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz and runs each
# for SECONDS (default 60), all targets at once. Each run starts from a copy of the
# committed seeds (tests/fuzz/corpus/<target>) plus the regressions, grows it in
# build-fuzz/corpus/<target>, and puts any crashing input in build-fuzz/artifacts/.
# Fails if any target crashes, leaks, hits UB, times out or runs out of memory.
# Usage: tools/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
TARGETS=(fuzz_safetensors fuzz_image fuzz_settings fuzz_labels)
declare -A DICT=([fuzz_safetensors]=safetensors.dict [fuzz_image]=image.dict [fuzz_settings]=settings.dict [fuzz_labels]=labels.dict)
B=build-fuzz

# -Wno-unknown-warning-option: the project's GCC-only warning flags are noise to clang.
cmake -S . -B "$B" -DPIXLOC_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_FLAGS=-Wno-unknown-warning-option >/dev/null
cmake --build "$B" -j"$(nproc)" --target "${TARGETS[@]}" >/dev/null

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:quarantine_size_mb=64:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
mkdir -p "$B/artifacts"
pids=()
for t in "${TARGETS[@]}"; do
  mkdir -p "$B/corpus/$t"
  cp -n tests/fuzz/corpus/$t/* "$B/corpus/$t/" 2>/dev/null || true
  if [ -d tests/fuzz/regressions/$t ]; then cp -n tests/fuzz/regressions/$t/* "$B/corpus/$t/" 2>/dev/null || true; fi
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a reader allocating
  # beyond 2 GiB for a small file is a bug.
  "$B/tests/fuzz/$t" "$B/corpus/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -dict="tests/fuzz/${DICT[$t]}" -artifact_prefix="$B/artifacts/$t-" -print_final_stats=1 \
      >"$B/$t.log" 2>&1 &
  pids+=($!)
done
fail=0
for i in "${!TARGETS[@]}"; do
  t=${TARGETS[$i]}
  if wait "${pids[$i]}"; then
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$B/$t.log" | awk '{print $2}')
    echo "fuzz: $t OK: ${execs:-?} executions in ${SECONDS_EACH}s, corpus $(ls "$B/corpus/$t" | wc -l) files"
  else
    echo "fuzz: $t FAILED (log $B/$t.log, input in $B/artifacts/):"
    grep -E 'ERROR|runtime error|fuzz check failed|SUMMARY' "$B/$t.log" | head -5 || true
    fail=1
  fi
done
exit $fail
