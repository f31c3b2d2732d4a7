#!/usr/bin/env bash
# Starts a local natter cluster to try: a redis-server of its own and N
# natterd nodes sharing one room (spec section 17), each on a free loopback
# port, and stops them all on Ctrl-C (or when any of them exits).
#
#   bash scripts/cluster.sh [N] [extra natterd flags...]     (N defaults to 2)
#
# Needs a build (build/bin/natterd, or $NATTERD) and redis-server
# (scripts/install-deps.sh installs it). Nothing is left behind: Redis keeps
# its data in a temporary directory removed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-2}
shift || true
natterd=${NATTERD:-$root/build/bin/natterd}
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "cluster.sh: N must be a positive number" >&2; exit 2; }
[ -x "$natterd" ] || { echo "cluster.sh: no $natterd; build first (README)" >&2; exit 1; }
# shellcheck source=redis-lib.sh
. "$root/scripts/redis-lib.sh"

dir=$(mktemp -d /tmp/natter-cluster-XXXXXX)
pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
  echo "cluster.sh: stopped"
}
trap stop INT TERM EXIT

redis_pid=""
start_redis "$dir" || { [[ -n $redis_pid ]] && pids+=("$redis_pid"); echo "cluster.sh: no Redis" >&2; exit 1; }
pids+=("$redis_pid")
echo "cluster.sh: redis-server on 127.0.0.1:$redis_port"

for i in $(seq "$n"); do
  port=$(free_port)
  "$natterd" --bind 127.0.0.1 --chat-port "$port" --echo-port off \
    --redis "redis://127.0.0.1:$redis_port" --node-id "node$i" "$@" \
    2> >(sed -u "s/^/node$i: /" >&2) &
  pids+=($!)
  echo "cluster.sh: node$i: telnet 127.0.0.1 $port"
done
echo "cluster.sh: Ctrl-C stops them all"
# Until Ctrl-C, or until one of them exits.
wait -n
