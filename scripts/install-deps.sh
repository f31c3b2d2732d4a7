#!/usr/bin/env bash
# Installs what natter needs to build, test and fuzz, from Debian 12's
# packages, then the node modules of the spec's grammar test as
# tests/spec/abnf/package-lock.json pins them. Idempotent and
# non-interactive: when everything is present it changes nothing and does not
# touch the network.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  g++ cmake ninja-build pkg-config   # toolchain
  ragel                              # grammar/*.rl -> C++
  libasio-dev                        # standalone Asio
  libcli11-dev                       # command lines
  libreadline-dev                    # the client's line editing
  libutf8proc-dev                    # the client's character widths (wrapping)
  libvterm-dev                       # tests/client: the screen a terminal shows
  libssl-dev openssl                 # TLS (OpenSSL 3); tests/server runs openssl s_client
  libhiredis-dev redis-server        # natterd's cluster; tests/cluster start their own redis-server
  libgtest-dev libgmock-dev          # GoogleTest
  libbenchmark-dev                   # Google Benchmark
  clang libclang-rt-14-dev           # the clang build, libFuzzer, clang's sanitizers
  clang-format                       # scripts/check-format.sh
  nodejs npm                         # tests/spec: the grammar test
  scdoc                              # man/*.scd -> the manual pages
  mandoc python3                     # tests/man: lint and check the pages
  python3-prometheus-client          # tests/server: natterd --metrics parsed by Prometheus's own parser
  libsystemd-dev                     # natterd: sd_notify, socket activation
  systemd                            # tests: systemd-socket-activate, systemd-analyze verify
  dpkg-dev lintian                   # the .deb: cpack's dpkg-shlibdeps; tests/packaging's lintian
  fiu-utils libfiu-dev               # natter-bench soak --fiu: fiu-run, fiu-ctrl, the POSIX preload
)

# A package also counts as present when an installed package provides it:
# NodeSource's nodejs provides npm and conflicts with Debian's, so asking
# apt for npm there would remove that Node.js.
declare -A provided=()
while read -r p; do
  provided[$p]=1
done < <(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
  sed -n 's/^ii *|//p' | tr ',' '\n' | sed 's/(.*)//; s/ //g' | sed '/^$/d')

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ] &&
     [ -z "${provided[$p]:-}" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (or with sudo) to install packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# `npm ci` deletes node_modules and downloads it all again, so it runs only
# when node_modules differs from the lock.
abnf_dir="$root/tests/spec/abnf"
if node "$abnf_dir/modules_match.mjs" 2>/dev/null; then
  echo "install-deps: tests/spec/abnf/node_modules matches its lock"
else
  echo "install-deps: npm ci in tests/spec/abnf"
  (cd "$abnf_dir" && npm ci --ignore-scripts --no-audit --no-fund)
fi
