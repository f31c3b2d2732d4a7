#!/usr/bin/env bash
# One natterd against a two-node cluster (spec section 17: two natterd
# nodes sharing one room through a redis-server of this script's own).
# Every figure comes from one run, by natter-bench fanout with --ports
# (receivers and senders round-robin over the nodes):
#
# - for each rate of RATES (msg/s in all; 0 = as fast as the window
#   allows, WINDOW per sender, natter-bench's default 32): RECEIVERS
#   receivers and 10 senders; deliveries/s and deliveries per server CPU
#   second (counting every natterd node and redis-server: --server-pid
#   with all their pids);
# - a latency run: LATENCY_RECEIVERS receivers at 1000 msg/s, small enough
#   that the generator and the servers do not saturate the machine and the
#   p99 is not mostly queueing; for two servers also the p99 of messages
#   received on another node than their sender's.
#
# Prints one tab-separated line per run (setup, receivers, rate,
# deliveries/s, deliveries per server CPU s, p50, p99, cross-node p99,
# lost), then ratios: per rate cluster / single, and for the latency run
# the cluster's cross-node p99 against the single node's p99 (difference
# and ratio).
# Keeps natter-bench's JSON, one line a run tagged with setup and kind
# ("rate" or "latency"), in $OUT.
#
#   bench/cluster_ab.sh [--rates "R1 R2 ..."] [RECEIVERS [SECONDS]]
#
#   RECEIVERS          receivers of the rate runs (default 1000; also env)
#   SECONDS            measured seconds a run (default 5; also env DURATION)
#   RATES, --rates     default "0 1000 5000 10000"
#   LATENCY_RECEIVERS  receivers of the latency run (default 100)
#   WINDOW             natter-bench --window (default: natter-bench's, 32)
#   OUT                JSON lines (default /tmp/cluster_ab_RECEIVERS.jsonl)
#   BUILD              the build tree (default build/)
#
# Runs: (rates + 1) a setup, 2 setups. Each takes SECONDS plus the
# connecting of its clients and the drain, about SECONDS + 3 s with 1000
# receivers on 2 cores. The defaults (10 runs) take about 1.5 minutes.
#
# Needs redis-server and jq. No pinning; loopback only. Every process
# started here is stopped by its pid on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
rates=${RATES:-0 1000 5000 10000}
latency_receivers=${LATENCY_RECEIVERS:-100}
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rates) [ $# -ge 2 ] || { echo "cluster_ab.sh: --rates needs a list" >&2; exit 2; }
             rates=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "cluster_ab.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
receivers=${positional[0]:-${RECEIVERS:-1000}}
duration=${positional[1]:-${DURATION:-5}}
for r in $rates; do
  [[ $r =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "cluster_ab.sh: not a rate: $r" >&2; exit 2; }
done
[ -n "${rates// /}" ] || { echo "cluster_ab.sh: RATES is empty" >&2; exit 2; }
[[ $duration =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "cluster_ab.sh: not a duration: $duration" >&2; exit 2; }
whole_seconds=${duration%.*}
out=${OUT:-/tmp/cluster_ab_$receivers.jsonl}
command -v jq >/dev/null || { echo "cluster_ab.sh: jq is needed" >&2; exit 2; }

: > "$out"
tmp=$(mktemp -d /tmp/cluster_ab.XXXXXX)
pids=()
bench_pid=""
# stop_all: SIGTERM to every process started here, SIGKILL to any still
# there after 5 s.
stop_all() {
  local p alive all=("${pids[@]}")
  [ -z "$bench_pid" ] || all+=("$bench_pid")
  for p in "${all[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${all[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${all[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=(); bench_pid=""
}
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# shellcheck source=SCRIPTDIR/../scripts/redis-lib.sh disable=SC1091
. "$root/scripts/redis-lib.sh"
args=$(cat "$root/bench/configs/natterd.args")

# ---- Servers ----------------------------------------------------------------
# Each start_* function sets ports (comma-separated, for --ports) and
# spids (comma-separated, for --server-pid).

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

start_natterd_single() {
  node single
  ports=$node_port spids=$node_pid
}

start_natterd_cluster() {
  local p1 n1
  redis_pid="" redis_port=""
  start_redis "$tmp" || { [ -n "$redis_pid" ] && pids+=("$redis_pid"); exit 1; }
  pids+=("$redis_pid")
  local redis="redis://127.0.0.1:$redis_port"
  node node1 --redis "$redis" --node-id node1; p1=$node_port n1=$node_pid
  node node2 --redis "$redis" --node-id node2
  ports=$p1,$node_port spids=$redis_pid,$n1,$node_pid
}

# ---- Runs ---------------------------------------------------------------------
failed=0
# run SETUP KIND RECEIVERS RATE DIALECT: one natter-bench fanout against
# $ports, its JSON line in $out, its tab-separated line on stdout.
run() {
  local setup=$1 kind=$2 n=$3 rate=$4 dialect=$5 rc=0 json
  local extra=()
  [ -n "${WINDOW:-}" ] && extra+=(--window "$WINDOW")
  timeout --kill-after=5 "$((whole_seconds + 150))" \
    "$build/bin/natter-bench" fanout --dialect "$dialect" --ports "$ports" --receivers "$n" --senders 10 \
      "${extra[@]}" --rate "$rate" --duration "$duration" --server-pid "$spids" --json \
      > "$tmp/run.json" 2>> "$tmp/bench.err" &
  bench_pid=$!
  wait "$bench_pid" || rc=$?
  bench_pid=""
  json=$(cat "$tmp/run.json")
  if ! jq -e 'type == "object"' >/dev/null 2>&1 <<<"$json"; then
    echo "cluster_ab.sh: $setup $kind rate $rate: natter-bench failed (exit $rc): $(tail -1 "$tmp/bench.err")" >&2
    json='{"failed": 1}'
  fi
  [ "$rc" = 0 ] || failed=$((failed + 1))
  jq -c --arg s "$setup" --arg k "$kind" --argjson n "$n" --argjson r "$rate" --argjson rc "$rc" \
    '{setup: $s, kind: $k} + . + {receivers: $n, rate: $r, exit: $rc}' <<<"$json" | tee -a "$out" |
    jq -r 'def f: if . == null then "-" else . end;
           [.setup, .receivers, .rate, (.deliveries_per_s | f), (.deliveries_per_server_cpu_s | f),
            (.latency_p50_ms | f), (.latency_p99_ms | f), (.cross_node_latency_p99_ms | f),
            (.lost | f)] | @tsv'
}

# measure SETUP DIALECT: the rate runs and the latency run against the
# setup start_SETUP starts, then stops it.
measure() {
  "start_${1//-/_}"
  for r in $rates; do run "$1" rate "$receivers" "$r" "$2"; done
  run "$1" latency "$latency_receivers" 1000 "$2"
  stop_all
}

setups=(natterd-single natterd-cluster)
n_rates=$(wc -w <<<"$rates")
echo "cluster_ab.sh: ${#setups[@]} setups x $((n_rates + 1)) runs of ${duration} s" \
     "(about $(( (${#setups[@]} * (n_rates + 1) * (whole_seconds + 3) + 59) / 60 )) min)" >&2
printf 'setup\treceivers\trate\tdeliveries/s\tper server CPU s\tp50 ms\tp99 ms\tcross-node p99 ms\tlost\n'
for s in "${setups[@]}"; do measure "$s" natter; done

echo
jq -rs '
  def num: type == "number";
  def r2: . * 100 | round / 100;
  def ratio(a; b): if (a | num) and (b | num) and b != 0 then a / b | r2 else "-" end;
  def pick(s; k; r): map(select(.setup == s and .kind == k and .rate == r))[0] // {};
  . as $all
  | [["natterd", "natterd-single", "natterd-cluster", "cluster"]][]
  | . as [$name, $one, $two, $what]
  | select($all | any(.setup == $two))
  | ($all | map(select(.setup == $one and .kind == "rate") | .rate) | unique) as $rates
  | ($rates[] as $r
     | ($all | pick($one; "rate"; $r)) as $a | ($all | pick($two; "rate"; $r)) as $b
     | "\($name) \($what) / single, rate \(if $r == 0 then "0 (window)" else "\($r) msg/s" end): "
       + "deliveries/s \(ratio($b.deliveries_per_s; $a.deliveries_per_s)), "
       + "deliveries per server CPU s \(ratio($b.deliveries_per_server_cpu_s; $a.deliveries_per_server_cpu_s))"),
    (($all | pick($one; "latency"; 1000)) as $a | ($all | pick($two; "latency"; 1000)) as $b
     | "\($name) latency, \($a.receivers // "-") receivers at 1000 msg/s: \($what) cross-node p99 "
       + "\($b.cross_node_latency_p99_ms // "-") ms against single p99 \($a.latency_p99_ms // "-") ms: "
       + (if ($b.cross_node_latency_p99_ms | num) and ($a.latency_p99_ms | num)
          then ($b.cross_node_latency_p99_ms - $a.latency_p99_ms | r2) as $d
               | "difference \(if $d >= 0 then "+" else "" end)\($d) ms, "
               + "ratio \(ratio($b.cross_node_latency_p99_ms; $a.latency_p99_ms))"
          else "-" end))' "$out"

if [ "$failed" -gt 0 ]; then
  echo "cluster_ab.sh: $failed run(s) lost messages or failed (see \"exit\" in $out)" >&2
  exit 1
fi
