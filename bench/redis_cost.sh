#!/usr/bin/env bash
# What one room costs Redis, per message, as the cluster grows (spec
# section 17; the paper estimate in bench/RESULTS.md). For each count N of
# NODES and each rate of RATES: a redis-server of this script's own, N
# natterd nodes, and natter-bench fanout with RECEIVERS receivers and 10
# senders spread over the nodes (--ports). Measured over natter-bench's
# window:
#
# - redis-server's CPU (user + system from /proc, so its networking and
#   event loop count, not only its commands: --server-pid with Redis's pid
#   alone), divided by the messages appended in the window (deliveries /
#   receivers): Redis's cost of one message;
# - from INFO commandstats (reset before the run, so the receivers'
#   registration is in it, a few hundred commands against tens of
#   thousands): the time Redis's commands took, FCALL (natter_msg, the
#   append: once a message) and XREAD (the nodes' reads of the log), and
#   how many log entries an XREAD returned on average.
#
# Then fits cost(N) = a + b*N by least squares for each rate (a: the
# append, b: one more node reading the log) and prints the messages per
# second one Redis core carries for one room: 1 / cost(N), for N = 1, 2,
# 5, 10, 20. Read the fit where Redis is busy (rate 0): a lightly loaded
# Redis pays its event loop for every command alone, and load batches that
# away. The clients do not enter Redis's cost: a node reads every message
# once, whatever its number of clients.
#
#   bench/redis_cost.sh [--nodes "1 2 3"] [--rates "R1 R2"] [SECONDS]
#
#   NODES, --nodes   node counts (default "1 2 3")
#   RATES, --rates   msg/s offered in all, 0 = as fast as the window allows
#                    (default "5000 20000 0": Redis busy at the last)
#   RECEIVERS        receivers a run, over all nodes (default 30)
#   SECONDS          measured seconds a run (default 10; also env DURATION)
#   OUT              JSON lines (default /tmp/redis_cost.jsonl)
#   BUILD            the build tree (default build/)
#
# A run takes SECONDS plus about 3 s; the defaults (9 runs) about 2
# minutes. Needs redis-server, redis-cli and jq. Loopback only; every
# process started here is stopped by its pid on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
nodes=${NODES:-1 2 3}
rates=${RATES:-5000 20000 0}
receivers=${RECEIVERS:-30}
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) [ $# -ge 2 ] || { echo "redis_cost.sh: --nodes needs a list" >&2; exit 2; }
             nodes=$2; shift ;;
    --rates) [ $# -ge 2 ] || { echo "redis_cost.sh: --rates needs a list" >&2; exit 2; }
             rates=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "redis_cost.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
duration=${positional[0]:-${DURATION:-10}}
for n in $nodes; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "redis_cost.sh: not a node count: $n" >&2; exit 2; }
done
for r in $rates; do
  [[ $r =~ ^[0-9]+$ ]] || { echo "redis_cost.sh: not a rate: $r" >&2; exit 2; }
done
[[ $receivers =~ ^[1-9][0-9]*$ ]] || { echo "redis_cost.sh: not a receiver count: $receivers" >&2; exit 2; }
[[ $duration =~ ^[1-9][0-9]*$ ]] || { echo "redis_cost.sh: not a duration: $duration" >&2; exit 2; }
out=${OUT:-/tmp/redis_cost.jsonl}
for tool in jq redis-cli; do
  command -v "$tool" >/dev/null || { echo "redis_cost.sh: $tool is needed" >&2; exit 2; }
done
if [ ! -x "$build/bin/natterd" ] || [ ! -x "$build/bin/natter-bench" ]; then
  echo "redis_cost.sh: no natterd or natter-bench in $build/bin; build first (README)" >&2; exit 2
fi

: > "$out"
tmp=$(mktemp -d /tmp/redis_cost.XXXXXX)
pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
ulimit -c 0
# shellcheck source=SCRIPTDIR/../scripts/redis-lib.sh disable=SC1091
. "$root/scripts/redis-lib.sh"
args=$(cat "$root/bench/configs/natterd.args")

# start_cluster N: a redis-server and N nodes; sets ports (for --ports).
start_cluster() {
  local i port out
  redis_pid="" redis_port=""
  start_redis "$tmp" || { [ -n "$redis_pid" ] && pids+=("$redis_pid"); exit 1; }
  pids+=("$redis_pid")
  ports=""
  for i in $(seq "$1"); do
    out=$tmp/node$i.out
    # shellcheck disable=SC2086
    "$build/bin/natterd" --threads 1 --bind 127.0.0.1 --chat-port 0 --echo-port off $args \
      --redis "redis://127.0.0.1:$redis_port" --node-id "node$i" > "$out" 2>&1 &
    pids+=($!)
    port=""
    for _ in $(seq 100); do
      port=$(sed -n 's/.*chat listening on .*://p' "$out")
      [ -n "$port" ] && break
      sleep 0.05
    done
    [ -n "$port" ] || { echo "redis_cost.sh: node$i did not start" >&2; cat "$out" >&2; exit 1; }
    ports+=${ports:+,}$port
  done
}

# stat NAME FIELD: FIELD (calls, usec) of cmdstat_NAME in $tmp/stats, or 0.
stat() {
  tr -d '\r' < "$tmp/stats" | sed -n "s/^cmdstat_$1://p" | tr ',' '\n' | sed -n "s/^$2=//p" |
    head -1 | grep . || echo 0
}

printf 'nodes\trate\tmsg/s\tRedis CPU %%\tRedis us/msg\tFCALL us\tXREAD us\tentries/XREAD\tlost\n'
failed=0
for rate in $rates; do
  for n in $nodes; do
    start_cluster "$n"
    redis-cli -p "$redis_port" config resetstat > /dev/null
    rc=0
    timeout --kill-after=5 "$((duration + 150))" \
      "$build/bin/natter-bench" fanout --ports "$ports" --receivers "$receivers" --senders 10 \
        --rate "$rate" --duration "$duration" --server-pid "$redis_pid" --json \
        > "$tmp/run.json" 2>> "$tmp/bench.err" || rc=$?
    redis-cli -p "$redis_port" info commandstats > "$tmp/stats"
    stop_all
    if ! jq -e 'type == "object"' > /dev/null 2>&1 < "$tmp/run.json"; then
      echo "redis_cost.sh: $n nodes at $rate msg/s: natter-bench failed (exit $rc): $(tail -1 "$tmp/bench.err")" >&2
      failed=$((failed + 1)); continue
    fi
    [ "$rc" = 0 ] || failed=$((failed + 1))
    jq -c --argjson n "$n" --argjson r "$rate" --argjson rc "$rc" \
      --argjson fc "$(stat fcall calls)" --argjson fu "$(stat fcall usec)" \
      --argjson xc "$(stat xread calls)" --argjson xu "$(stat xread usec)" '
      (.deliveries_per_s / .receivers) as $m
      | . + {nodes_measured: $n, rate: $r, exit: $rc, msgs_per_s: $m,
             redis_us_per_msg: (if $m > 0 then .server_cpu_pct / 100 / $m * 1e6 else null end),
             fcall_calls: $fc, fcall_us: (if $fc > 0 then $fu / $fc else null end),
             xread_calls: $xc, xread_us: (if $xc > 0 then $xu / $xc else null end),
             entries_per_xread: (if $xc > 0 then $fc * $n / $xc else null end)}' \
      < "$tmp/run.json" | tee -a "$out" |
      jq -r 'def f(p): if . == null then "-" else . * p | round / p end;
             [.nodes_measured, .rate, (.msgs_per_s | f(1)), (.server_cpu_pct | f(10)),
              (.redis_us_per_msg | f(100)), (.fcall_us | f(100)), (.xread_us | f(100)),
              (.entries_per_xread | f(10)), .lost] | @tsv'
  done
done

echo
# cost(N) = a + b N, least squares over the node counts, for each rate.
jq -rs '
  def r1: . * 10 | round / 10;
  map(select(.redis_us_per_msg != null)) | group_by(.rate)[]
  | . as $runs | length as $k
  | if $k < 2 then "rate \($runs[0].rate) msg/s: one node count only, no fit"
    else
      (map(.nodes_measured) | add / $k) as $mx | (map(.redis_us_per_msg) | add / $k) as $my
      | (map((.nodes_measured - $mx) * (.nodes_measured - $mx)) | add) as $sxx
      | (map((.nodes_measured - $mx) * (.redis_us_per_msg - $my)) | add / $sxx) as $b
      | ($my - $b * $mx) as $a
      | "rate \($runs[0].rate) msg/s: Redis us per message = \($a | r1) + \($b | r1) x nodes;"
        + " messages/s one Redis core carries for one room: "
        + ([1, 2, 5, 10, 20] | map("\(.) nodes \(1e6 / ($a + $b * .) | round)") | join(", "))
    end' "$out"

if [ "$failed" -gt 0 ]; then
  echo "redis_cost.sh: $failed run(s) lost messages or failed (see \"exit\" in $out)" >&2
  exit 1
fi
