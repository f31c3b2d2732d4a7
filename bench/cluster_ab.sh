#!/usr/bin/env bash
# One natterd against a two-node cluster (spec section 17: two natterd
# nodes sharing one room through a redis-server of this script's own), and
# with --peers the IRC servers' own way to scale, server links: one ngIRCd
# against two linked ngIRCd servers, one InspIRCd against two linked
# InspIRCd servers. Every figure comes from one run, by natter-bench fanout
# with --ports (receivers and senders round-robin over the servers):
#
# - for each rate of RATES (msg/s in all; 0 = as fast as the window
#   allows, WINDOW per sender, natter-bench's default 32): RECEIVERS
#   receivers and 10 senders; deliveries/s and deliveries per server CPU
#   second (counting every natterd node and redis-server, or both linked
#   IRC servers: --server-pid with all their pids);
# - a latency run: LATENCY_RECEIVERS receivers at 1000 msg/s, small enough
#   that the generator and the servers do not saturate the machine and the
#   p99 is not mostly queueing; for two servers also the p99 of messages
#   received on another server than their sender's.
#
# Prints one tab-separated line per run (setup, receivers, rate,
# deliveries/s, deliveries per server CPU s, p50, p99, cross-node p99,
# lost), then ratios: per rate cluster / single for natterd and linked /
# single for ngIRCd and InspIRCd, and for the latency run the two-server
# cross-node p99 against the single server's p99 (difference and ratio).
# Keeps natter-bench's JSON, one line a run tagged with setup and kind
# ("rate" or "latency"), in $OUT.
#
#   bench/cluster_ab.sh [--peers] [--rates "R1 R2 ..."] [RECEIVERS [SECONDS]]
#
#   RECEIVERS          receivers of the rate runs (default 1000; also env)
#   SECONDS            measured seconds a run (default 5; also env DURATION)
#   RATES, --rates     default "0 1000 5000 10000"
#   LATENCY_RECEIVERS  receivers of the latency run (default 100)
#   WINDOW             natter-bench --window (default: natter-bench's, 32)
#   PEERS=1, --peers   also ngIRCd and InspIRCd, single and linked
#   OUT                JSON lines (default /tmp/cluster_ab_RECEIVERS.jsonl)
#   BUILD              the build tree (default build/)
#
# Runs: (rates + 1) a setup, 2 setups (6 with --peers). Each takes SECONDS
# plus the connecting of its clients and the drain, about SECONDS + 3 s
# with 1000 receivers on 2 cores; a linked pair takes up to 5 s more to
# link. The defaults (10 runs) take about 1.5 minutes, with --peers (30
# runs) about 5.
#
# Needs redis-server and jq; with --peers ngIRCd and InspIRCd, installed
# from the Debian packages when missing (as bench/compare does). The IRC
# servers use bench/configs/ngircd.conf and inspircd.conf (flood throttles
# lifted), copied for each server with its own name, ports and link block;
# a linked pair is measured once a client on one server has seen a client
# of the other join a channel, and one whose link broke during its runs
# (the servers' logs say so) is reported and counts as a failed run. No pinning; loopback only. Every process
# started here is stopped by its pid on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
peers=${PEERS:-0}
rates=${RATES:-0 1000 5000 10000}
latency_receivers=${LATENCY_RECEIVERS:-100}
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --peers) peers=1 ;;
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

if [ "$peers" = 1 ]; then
  need=()
  for pkg in ngircd inspircd; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
  if [ ${#need[@]} -gt 0 ]; then
    echo "cluster_ab.sh: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if [ ! -x /usr/sbin/ngircd ] || [ ! -x /usr/sbin/inspircd ]; then
    echo "cluster_ab.sh: --peers needs /usr/sbin/ngircd and /usr/sbin/inspircd" >&2; exit 2
  fi
fi

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
# No core files in the working directory if a server crashes as it exits.
ulimit -c 0
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

# new_port: a free loopback port not handed out before in this run.
used_ports=" "
new_port() {
  local p
  for _ in $(seq 20); do
    p=$(free_port)
    [[ $used_ports == *" $p "* ]] && continue
    used_ports+="$p "; echo "$p"; return 0
  done
  echo "cluster_ab.sh: no free port" >&2; exit 1
}

wait_listen() {
  for _ in $(seq 100); do
    ss -ltnH "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  echo "cluster_ab.sh: nothing listens on port $1" >&2; return 1
}

# ngircd_conf NAME PORT [PEER PEERPORT]: bench/configs/ngircd.conf for the
# server NAME.bench.natter.invalid on PORT (clients and servers), its files
# in $tmp/NAME; with PEER, a link to PEER.bench.natter.invalid, which this
# server connects to on PEERPORT when PEERPORT is given (else it waits for
# PEER to connect).
ngircd_conf() {
  local name=$1 port=$2 peer=${3:-} peer_port=${4:-} dir=$tmp/$1
  mkdir -p "$dir"
  sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" \
      -e "s|^\([[:space:]]*Name = \)bench\.natter\.invalid$|\1$name.bench.natter.invalid|" \
      -e '/^\[Global\]$/a\	# Retry a failed link after 5 s (default 60).\n	ConnectRetry = 5' \
      "$root/bench/configs/ngircd.conf" > "$dir/ngircd.conf"
  grep -q "Name = $name.bench.natter.invalid" "$dir/ngircd.conf" ||
    { echo "cluster_ab.sh: no server Name in bench/configs/ngircd.conf" >&2; exit 1; }
  [ -n "$peer" ] || return 0
  {
    printf '\n[Server]\n\tName = %s.bench.natter.invalid\n' "$peer"
    printf '\tMyPassword = link-%s\n\tPeerPassword = link-%s\n' "$name" "$peer"
    [ -z "$peer_port" ] || printf '\tHost = 127.0.0.1\n\tPort = %s\n' "$peer_port"
  } >> "$dir/ngircd.conf"
}

# irc_server ngircd|inspircd NAME PORT: starts a server with the config in
# $tmp/NAME, returns once it listens on PORT; sets irc_pid.
irc_server() {
  local dir=$tmp/$2
  case "$1" in
    ngircd) /usr/sbin/ngircd -n -f "$dir/ngircd.conf" > "$dir/out" 2>&1 & ;;
    inspircd)
      : > "$dir/inspircd.motd"
      /usr/sbin/inspircd --nofork --runasroot --config="$dir/inspircd.conf" > "$dir/out" 2>&1 & ;;
  esac
  irc_pid=$!; pids+=("$irc_pid")
  wait_listen "$3" || { cat "$dir/out" >&2; exit 1; }
}

# inspircd_conf NAME SID PORT [PEER SERVERPORT PEERSERVERPORT CONNECT]:
# bench/configs/inspircd.conf for NAME.bench.natter.invalid (server id
# SID) with clients on PORT, its files in $tmp/NAME; with PEER, the
# spanningtree module, servers on SERVERPORT and a link to
# PEER.bench.natter.invalid on PEERSERVERPORT, which this server connects
# to when CONNECT is 1.
inspircd_conf() {
  local name=$1 sid=$2 port=$3 peer=${4:-} sport=${5:-} peer_sport=${6:-} connect=${7:-0}
  local dir=$tmp/$1
  mkdir -p "$dir"
  sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" \
      -e "s|<server name=\"bench\.natter\.invalid\"|<server name=\"$name.bench.natter.invalid\" id=\"$sid\"|" \
      "$root/bench/configs/inspircd.conf" > "$dir/inspircd.conf"
  grep -q "name=\"$name.bench.natter.invalid\"" "$dir/inspircd.conf" ||
    { echo "cluster_ab.sh: no <server name> in bench/configs/inspircd.conf" >&2; exit 1; }
  [ -n "$peer" ] || return 0
  {
    printf '\n<module name="spanningtree">\n'
    printf '<bind address="127.0.0.1" port="%s" type="servers">\n' "$sport"
    printf '<link name="%s.bench.natter.invalid" ipaddr="127.0.0.1" port="%s" allowmask="127.0.0.0/8"\n' \
      "$peer" "$peer_sport"
    printf '      sendpass="link-%s" recvpass="link-%s">\n' "$name" "$peer"
    if [ "$connect" = 1 ]; then
      printf '<autoconnect period="1s" server="%s.bench.natter.invalid">\n' "$peer"
    fi
  } >> "$dir/inspircd.conf"
}

# irc_read FD PATTERN SECONDS: reads lines from FD until one matches the
# glob PATTERN (returns 0), FD ends or SECONDS pass (returns 1); answers
# the server's PINGs.
irc_read() {
  local fd=$1 pattern=$2 end=$((SECONDS + $3)) line
  while [ "$SECONDS" -lt "$end" ]; do
    if IFS= read -r -t 1 -u "$fd" line; then
      line=${line%$'\r'}
      # shellcheck disable=SC2254
      case "$line" in
        PING*) printf 'PONG%s\r\n' "${line#PING}" >&"$fd" ;;
        $pattern) return 0 ;;
      esac
    elif [ $? -le 128 ]; then
      return 1
    fi
  done
  return 1
}

# irc_client PORT NICK: a client registered as NICK on PORT; sets irc_fd
# (empty when it could not connect).
irc_client() {
  irc_fd=""
  exec {irc_fd}<>"/dev/tcp/127.0.0.1/$1" || { irc_fd=""; return 1; }
  printf 'NICK %s\r\nUSER %s 0 * :link check\r\n' "$2" "$2" >&"$irc_fd"
  irc_read "$irc_fd" "* 001 *" 10
}

# irc_linked PORT_A PORT_B: returns once a client on the server on PORT_A
# sees a client of the server on PORT_B join a channel (at most 10 tries,
# about 50 s; returns 1 then).
irc_linked() {
  local a b fd try ok
  for try in $(seq 10); do
    ok=0 a="" b=""
    if irc_client "$1" "linka$try"; then
      a=$irc_fd
      printf 'JOIN #link\r\n' >&"$a"
      if irc_read "$a" "* 366 *" 5; then
        irc_client "$2" "linkb$try" && ok=2
        b=$irc_fd
        if [ "$ok" = 2 ]; then
          ok=0
          printf 'JOIN #link\r\n' >&"$b"
          irc_read "$a" ":linkb$try!* JOIN *" 2 && ok=1
        fi
      fi
    else
      a=$irc_fd
    fi
    for fd in $a $b; do
      { printf 'QUIT\r\n' >&"$fd"; } 2>/dev/null || true
      exec {fd}>&-
    done
    if [ "$ok" = 1 ]; then
      echo "cluster_ab.sh: ports $1 and $2 linked (try $try)" >&2
      return 0
    fi
    sleep 1
  done
  return 1
}

start_ngircd_single() {
  local port; port=$(new_port)
  ngircd_conf single "$port"
  irc_server ngircd single "$port"
  ports=$port spids=$irc_pid
}

start_ngircd_linked() {
  local pa pb nb; pa=$(new_port); pb=$(new_port)
  # b waits for a to connect: started first.
  ngircd_conf b "$pb" a
  ngircd_conf a "$pa" b "$pb"
  irc_server ngircd b "$pb"; nb=$irc_pid
  irc_server ngircd a "$pa"
  irc_linked "$pa" "$pb" ||
    { echo "cluster_ab.sh: the ngIRCd servers did not link" >&2; cat "$tmp"/[ab]/out >&2; exit 1; }
  ports=$pa,$pb spids=$irc_pid,$nb
}

start_inspircd_single() {
  local port; port=$(new_port)
  inspircd_conf single 1SI "$port"
  irc_server inspircd single "$port"
  ports=$port spids=$irc_pid
}

start_inspircd_linked() {
  local pa pb sa sb nb; pa=$(new_port); pb=$(new_port); sa=$(new_port); sb=$(new_port)
  inspircd_conf b 2BB "$pb" a "$sb" "$sa" 0
  inspircd_conf a 1AA "$pa" b "$sa" "$sb" 1
  irc_server inspircd b "$pb"; nb=$irc_pid
  wait_listen "$sb"
  irc_server inspircd a "$pa"
  irc_linked "$pa" "$pb" ||
    { echo "cluster_ab.sh: the InspIRCd servers did not link" >&2; tail -n 5 "$tmp"/[ab]/inspircd.log >&2; exit 1; }
  ports=$pa,$pb spids=$irc_pid,$nb
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
  link_check "$1" # before the servers stop, which splits them too
  stop_all
}

# link_check SETUP: a linked pair whose link broke during its runs is said
# so, with the servers' own words: what it measured was two servers apart.
# (Debian's ngIRCd 26.1 compresses its links with zlib, a build-time
# choice, and drops a link with "Compression error!" when one burst is
# more than its buffer takes, its peer with "Decompression error!": 500
# clients registering at once do that.)
link_check() {
  local broke=""
  case "$1" in
    ngircd-linked) broke=$(grep -h 'Server ".*" unregistered' "$tmp"/[ab]/out 2>/dev/null | head -2 || true) ;;
    inspircd-linked) broke=$(grep -hiE 'netsplit|server .* split' "$tmp"/[ab]/inspircd.log 2>/dev/null | head -2 || true) ;;
  esac
  [ -z "$broke" ] && return 0
  echo "cluster_ab.sh: $1: the servers' link broke during the runs; their figures are not a linked pair's:" >&2
  echo "$broke" >&2
  failed=$((failed + 1))
}

setups=(natterd-single natterd-cluster)
[ "$peers" = 1 ] && setups+=(ngircd-single ngircd-linked inspircd-single inspircd-linked)
n_rates=$(wc -w <<<"$rates")
echo "cluster_ab.sh: ${#setups[@]} setups x $((n_rates + 1)) runs of ${duration} s" \
     "(about $(( (${#setups[@]} * (n_rates + 1) * (whole_seconds + 3) + 59) / 60 )) min)" >&2
printf 'setup\treceivers\trate\tdeliveries/s\tper server CPU s\tp50 ms\tp99 ms\tcross-node p99 ms\tlost\n'
for s in "${setups[@]}"; do
  case "$s" in natterd-*) measure "$s" natter ;; *) measure "$s" irc ;; esac
done

echo
jq -rs '
  def num: type == "number";
  def r2: . * 100 | round / 100;
  def ratio(a; b): if (a | num) and (b | num) and b != 0 then a / b | r2 else "-" end;
  def pick(s; k; r): map(select(.setup == s and .kind == k and .rate == r))[0] // {};
  . as $all
  | [["natterd", "natterd-single", "natterd-cluster", "cluster"],
     ["ngIRCd", "ngircd-single", "ngircd-linked", "linked"],
     ["InspIRCd", "inspircd-single", "inspircd-linked", "linked"]][]
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
