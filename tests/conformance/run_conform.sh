#!/usr/bin/env bash
# Starts a natter server on ephemeral ports, runs natter-conform against it
# and checks the outcome. Used by ctest (tests/conformance/CMakeLists.txt).
#
#   run_conform.sh RUNNER [--must-fail ID]... [--others-pass] [--must-pass ID]...
#                  [--tls PKI_WRITER [--tls-at-plain]] [--cluster]
#                  -- SERVER_CMD... -- RUNNER_ARGS...
#
# With --tls, PKI_WRITER (tests/bench/write_test_pki.cpp) makes a throwaway
# CA and certificate, the server (natterd) gets a TLS port with them, and
# the runner runs over TLS against it, verifying with the CA. With
# --tls-at-plain the runner speaks TLS (--tls-insecure) to the plain port
# instead, and must fail: exit 1, saying the handshake failed.
#
# With --cluster the server is a two-node cluster (spec section 17): a
# redis-server of its own on a free loopback port (scripts/redis-lib.sh),
# and SERVER_CMD (natterd) started twice, as node1 and node2 of it; the
# runner gets node1 as its server and node2 as its --peer.
#
# Without --must-fail the run must pass (exit 0, "0 failed"). With it, each
# listed case must print FAIL and the runner must exit 1; --others-pass adds
# that every other case must pass. Each --must-pass case must print ok (so it
# ran, and was not skipped). Every wait is bounded; every process started
# is stopped by its own pid, also on failure.
set -u
runner=$1
shift
must_fail=()
must_pass=()
others_pass=0
pki_writer=""
tls_at_plain=0
cluster=0
while [[ $# -gt 0 && $1 != -- ]]; do
  case $1 in
    --must-fail) must_fail+=("$2"); shift 2 ;;
    --others-pass) others_pass=1; shift ;;
    --must-pass) must_pass+=("$2"); shift 2 ;;
    --tls) pki_writer=$2; shift 2 ;;
    --tls-at-plain) tls_at_plain=1; shift ;;
    --cluster) cluster=1; shift ;;
    *) echo "run_conform.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
shift
server=()
while [[ $# -gt 0 && $1 != -- ]]; do server+=("$1"); shift; done
[[ $# -gt 0 ]] && shift

work=$(mktemp -d)
if [[ -n $pki_writer ]]; then
  "$pki_writer" "$work" || { rm -rf "$work"; echo "run_conform.sh: no certificate" >&2; exit 1; }
  server+=(--tls-port 0 --tls-cert "$work/natterd.crt" --tls-key "$work/natterd.key")
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# Each node's pid and the ports it reports: chat, echo, tls.
declare -A pid_of chat_of echo_of tls_of
nodes=(server)
if [[ $cluster -eq 1 ]]; then
  # shellcheck source=../../scripts/redis-lib.sh
  . "$(dirname "$0")/../../scripts/redis-lib.sh"
  redis_pid=""
  start_redis "$work"
  status=$?
  [[ -n $redis_pid ]] && pids+=("$redis_pid")
  [[ $status -eq 0 ]] || { echo "run_conform.sh: no Redis" >&2; exit 1; }
  nodes=(node1 node2)
fi
for node in "${nodes[@]}"; do
  extra=()
  [[ $cluster -eq 1 ]] &&
    extra=(--redis "redis://127.0.0.1:$redis_port" --node-id "$node" --redis-prefix conform:)
  "${server[@]}" "${extra[@]}" >"$work/$node.out" 2>"$work/$node.err" &
  pids+=($!)
  pid_of[$node]=$!
done
for node in "${nodes[@]}"; do
  for _ in $(seq 1 200); do
    chat=$(sed -n 's/^natterd: chat listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/$node.out")
    echo_port=$(sed -n 's/^natterd: echo listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/$node.out")
    tls=$(sed -n 's/^natterd: tls listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/$node.out")
    [[ -n $chat && -n $echo_port && ( -z $pki_writer || -n $tls ) ]] && break
    kill -0 "${pid_of[$node]}" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $chat || -z $echo_port ]]; then
    echo "run_conform.sh: $node did not report its ports" >&2
    cat "$work/$node.out" "$work/$node.err" >&2
    exit 1
  fi
  chat_of[$node]=$chat echo_of[$node]=$echo_port tls_of[$node]=$tls
done
first=${nodes[0]}
chat=${chat_of[$first]} echo_port=${echo_of[$first]} tls=${tls_of[$first]}

port=("--port" "$chat")
if [[ -n $pki_writer && $tls_at_plain -eq 1 ]]; then
  port+=(--tls --tls-insecure)
elif [[ -n $pki_writer ]]; then
  port=(--port "$tls" --tls --tls-ca "$work/ca.crt")
fi
if [[ $cluster -eq 1 ]]; then
  if [[ -n $pki_writer ]]; then
    port+=(--peer "127.0.0.1:${tls_of[node2]}")
  else
    port+=(--peer "127.0.0.1:${chat_of[node2]}")
  fi
fi
"$runner" --host 127.0.0.1 "${port[@]}" --echo-port "$echo_port" "$@" >"$work/report" 2>&1
status=$?
cat "$work/report"

if [[ $tls_at_plain -eq 1 ]]; then
  [[ $status -eq 1 ]] || { echo "run_conform.sh: natter-conform exited $status, expected 1" >&2; exit 1; }
  grep -q 'TLS handshake failed' "$work/report" || { echo "run_conform.sh: no handshake failure reported" >&2; exit 1; }
  exit 0
fi

fail=0
if [[ ${#must_fail[@]} -eq 0 ]]; then
  [[ $status -eq 0 ]] || { echo "run_conform.sh: natter-conform exited $status, expected 0" >&2; fail=1; }
  grep -q '^[0-9]* passed, 0 failed' "$work/report" || { echo "run_conform.sh: failures reported" >&2; fail=1; }
else
  [[ $status -eq 1 ]] || { echo "run_conform.sh: natter-conform exited $status, expected 1" >&2; fail=1; }
  for id in "${must_fail[@]}"; do
    grep -q "^FAIL $id " "$work/report" || { echo "run_conform.sh: case $id did not fail" >&2; fail=1; }
  done
  if [[ $others_pass -eq 1 ]]; then
    while read -r _ id _; do
      expected=0
      for m in "${must_fail[@]}"; do [[ $m == "$id" ]] && expected=1; done
      [[ $expected -eq 1 ]] || { echo "run_conform.sh: case $id failed unexpectedly" >&2; fail=1; }
    done < <(grep '^FAIL ' "$work/report")
  fi
fi
for id in "${must_pass[@]}"; do
  grep -q "^ok   $id " "$work/report" || { echo "run_conform.sh: case $id did not pass" >&2; fail=1; }
done
for node in "${nodes[@]}"; do
  grep -q "AddressSanitizer\|ThreadSanitizer\|runtime error:" "$work/$node.err" && {
    echo "run_conform.sh: $node reported a sanitizer error:" >&2
    cat "$work/$node.err" >&2
    fail=1
  }
done
exit $fail
