#!/usr/bin/env bash
# Builds natter and runs the whole test suite under each configuration CI
# uses: release (g++), release with clang, ASan+UBSan, and TSan (the
# threaded server). Run scripts/install-deps.sh first. Exits non-zero on the
# first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

presets=(${NATTER_TEST_PRESETS:-release clang asan tsan})
for preset in "${presets[@]}"; do
  echo "==== natter: ${preset} ===="
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}"
  ctest --preset "${preset}"
done
