#!/usr/bin/env bash
# What natterd --metrics costs the fan-out: one natterd with --metrics and
# one without, both on core 0, natter-bench fanout on core 1, the two
# alternating (ABBA) in one run; during each --metrics run a scraper asks
# for /metrics every second. Prints one line per run (metrics on or off,
# deliveries/s, deliveries per server CPU s, server CPU %, lost) and
# keeps natter-bench's JSON in $OUT.
#
#   bench/metrics_ab.sh [RECEIVERS [PAIRS [SECONDS]]]   (100, 10, 5)
#
# Needs taskset, curl and jq; BUILD names the build tree (default build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
receivers=${1:-100}; pairs=${2:-10}; duration=${3:-5}
out=${OUT:-/tmp/metrics_ab_$receivers.jsonl}
: > "$out"
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp"/ab_*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
args=$(cat "$root/bench/configs/natterd.args")
start() { # start NAME EXTRA...
  local name=$1; shift
  taskset -c 0 "$build/bin/natterd" --threads 1 --bind 127.0.0.1 --chat-port 0 --echo-port off $args "$@" > $tmp/ab_$name.out 2>&1 &
  echo $! > $tmp/ab_$name.pid
  for _ in $(seq 100); do grep -q "chat listening" $tmp/ab_$name.out && break; sleep 0.05; done
}
start off
start on --metrics 0
mport=$(sed -n 's/.*metrics listening on .*://p' $tmp/ab_on.out)
run() { # run NAME
  local name=$1 pid port scr=""
  pid=$(cat $tmp/ab_$name.pid)
  port=$(sed -n 's/.*chat listening on .*://p' $tmp/ab_$name.out)
  if [ "$name" = on ]; then
    ( while :; do curl -s -o /dev/null "http://127.0.0.1:$mport/metrics"; sleep 1; done ) & scr=$!
  fi
  taskset -c 1 "$build/bin/natter-bench" fanout --port "$port" --receivers "$receivers" --senders 10 \
    --duration "$duration" --server-pid "$pid" --json | jq -c --arg m "$name" '. + {metrics: $m}' >> "$out"
  if [ -n "$scr" ]; then kill "$scr"; wait "$scr" 2>/dev/null || true; fi
}
for i in $(seq "$pairs"); do
  if [ $((i % 2)) = 1 ]; then run off; run on; else run on; run off; fi
done
curl -s "http://127.0.0.1:$mport/metrics" | grep -E '^natter_(room_messages|lines_sent)_total' >&2
jq -r '[.metrics, .deliveries_per_s, .deliveries_per_server_cpu_s, .server_cpu_pct, .lost] | @tsv' "$out"
