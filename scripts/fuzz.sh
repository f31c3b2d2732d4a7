#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a bounded
# time from its committed corpus, printing executions per second and coverage.
# Fails on any crash, leak or invariant failure; the failing input is kept in
# build-fuzz/artifacts/. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n 's/^natter_add_fuzzer(\(fuzz_[a-z_]*\)).*/\1/p' fuzz/CMakeLists.txt))
fi

mkdir -p build-fuzz/artifacts
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  log=build-fuzz/artifacts/$t.log
  echo "==== fuzz: $t for ${seconds}s ===="
  if build-fuzz/bin/"$t" -max_total_time="$seconds" -dict=fuzz/natter.dict \
       -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$t"- \
       "$work" fuzz/corpus/"$t" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "fuzz: $t ok: $execs runs, $rate exec/s, $cov, corpus $(ls "$work" | wc -l) new inputs"
  else
    echo "fuzz: $t FAILED (log and input in build-fuzz/artifacts/)"
    grep -E 'invariant|ERROR|SUMMARY|Test unit written' "$log" | head -n 20 || true
    status=1
  fi
  rm -rf "$work"
done
exit $status
