#!/usr/bin/env bash
# Fails when a tracked C++ file (*.cpp, *.hpp) is not as clang-format and
# .clang-format would write it, and lists those files. Changes nothing: fix a
# file with `clang-format -i FILE`. Run from anywhere inside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang-format >/dev/null; then
  echo "check-format: clang-format not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
drifting=()
for f in "${files[@]}"; do
  if ! out=$(clang-format --dry-run --Werror "$f" 2>&1); then
    # --Werror turns drift into "code should be clang-formatted" errors; any
    # other failure (an unreadable file, a bad .clang-format) is not drift.
    if ! grep -q -- '-Wclang-format-violations' <<<"$out"; then
      echo "check-format: clang-format failed on $f:" >&2
      echo "$out" >&2
      exit 2
    fi
    drifting+=("$f")
  fi
done

if [ ${#drifting[@]} -gt 0 ]; then
  echo "check-format: ${#drifting[@]} of ${#files[@]} files differ from clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -n 1):"
  printf '  %s\n' "${drifting[@]}"
  echo "check-format: fix with: clang-format -i ${drifting[*]}"
  exit 1
fi
echo "check-format: all ${#files[@]} C++ files match .clang-format"
