#!/usr/bin/env bash
# Installs what natter needs to build, test and fuzz, from Debian 12's
# packages. Idempotent and non-interactive: when everything is present it
# changes nothing and does not touch the network.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config   # toolchain
  ragel                              # grammar/*.rl -> C++
  libasio-dev                        # standalone Asio
  libcli11-dev                       # command lines
  libreadline-dev                    # the client's line editing
  libgtest-dev libgmock-dev          # GoogleTest
  libbenchmark-dev                   # Google Benchmark
  clang libclang-rt-14-dev           # the clang build, libFuzzer, clang's sanitizers
  clang-format                       # scripts/check-format.sh
)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (or with sudo) to install packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
