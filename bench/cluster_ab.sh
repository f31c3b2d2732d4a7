#!/usr/bin/env bash
# One natterd against a two-node cluster (spec section 17: two natterd
# nodes sharing one room through a redis-server of this script's own), in
# one run, by natter-bench fanout: RECEIVERS receivers and 10 senders,
# spread over the nodes with --ports. Two workloads for each: as fast as
# the window allows (deliveries per CPU second, counting every natterd
# node and redis-server), and a fixed 1000 msg/s (p99, and for the cluster
# the p99 of messages received on another node than their sender's).
# Prints one line per run and the cluster's figures as ratios to the single
# node's; keeps natter-bench's JSON in $OUT.
#
#   bench/cluster_ab.sh [RECEIVERS [SECONDS]]   (1000, 5)
#
# Needs redis-server and jq; BUILD names the build tree (default build/).
# Every process started here is stopped by its pid on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
receivers=${1:-1000}; duration=${2:-5}
out=${OUT:-/tmp/cluster_ab_$receivers.jsonl}
: > "$out"
tmp=$(mktemp -d)
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT
# shellcheck source=../scripts/redis-lib.sh
. "$root/scripts/redis-lib.sh"
args=$(cat "$root/bench/configs/natterd.args")

# node NAME EXTRA...: starts a natterd; sets node_pid and node_port.
node() {
  local name=$1; shift
  # shellcheck disable=SC2086
  "$build/bin/natterd" --threads 1 --bind 127.0.0.1 --chat-port 0 --echo-port off $args "$@" \
    > "$tmp/$name.out" 2>&1 &
  node_pid=$!; pids+=("$node_pid")
  node_port=""
  for _ in $(seq 100); do
    node_port=$(sed -n 's/.*chat listening on .*://p' "$tmp/$name.out")
    [ -n "$node_port" ] && return 0
    sleep 0.05
  done
  echo "cluster_ab.sh: $name did not start" >&2; cat "$tmp/$name.out" >&2; exit 1
}

# run SETUP RATE PORTS PIDS
run() {
  "$build/bin/natter-bench" fanout --ports "$3" --receivers "$receivers" --senders 10 \
    --rate "$2" --duration "$duration" --server-pid "$4" --json |
    jq -c --arg s "$1" '. + {setup: $s}' >> "$out"
  jq -r 'select(.setup == "'"$1"'") | [.setup, .rate, .deliveries_per_s, .deliveries_per_server_cpu_s,
         .latency_p99_ms, (.cross_node_latency_p99_ms // "-"), .lost] | @tsv' "$out" | tail -1
}

echo -e "setup\trate\tdeliveries/s\tper CPU s\tp99 ms\tcross-node p99 ms\tlost"
node single
run single 0 "$node_port" "$node_pid"
run single 1000 "$node_port" "$node_pid"
stop_all

redis_pid=""
start_redis "$tmp" || { [ -n "$redis_pid" ] && pids+=("$redis_pid"); exit 1; }
pids+=("$redis_pid")
redis="redis://127.0.0.1:$redis_port"
node node1 --redis "$redis" --node-id node1; p1=$node_port; n1=$node_pid
node node2 --redis "$redis" --node-id node2; p2=$node_port; n2=$node_pid
run cluster 0 "$p1,$p2" "$redis_pid,$n1,$n2"
run cluster 1000 "$p1,$p2" "$redis_pid,$n1,$n2"

jq -rs '
  def pick(s; r): map(select(.setup == s and .rate == r))[0];
  "cluster / single: deliveries per CPU s \(pick("cluster"; 0).deliveries_per_server_cpu_s
     / pick("single"; 0).deliveries_per_server_cpu_s * 100 | round / 100), "
  + "p99 at 1000 msg/s: cross-node \(pick("cluster"; 1000).cross_node_latency_p99_ms) ms "
  + "against \(pick("single"; 1000).latency_p99_ms) ms on one node "
  + "(\(pick("cluster"; 1000).cross_node_latency_p99_ms / pick("single"; 1000).latency_p99_ms
     * 100 | round / 100)x)"' "$out"
