#!/usr/bin/env bash
# Starts a natter server on ephemeral ports, runs natter-conform against it
# and checks the outcome. Used by ctest (tests/conformance/CMakeLists.txt).
#
#   run_conform.sh RUNNER [--must-fail ID]... [--others-pass] [--must-pass ID]...
#                  [--tls PKI_WRITER [--tls-at-plain]]
#                  -- SERVER_CMD... -- RUNNER_ARGS...
#
# With --tls, PKI_WRITER (tests/bench/write_test_pki.cpp) makes a throwaway
# CA and certificate, the server (natterd) gets a TLS port with them, and
# the runner runs over TLS against it, verifying with the CA. With
# --tls-at-plain the runner speaks TLS (--tls-insecure) to the plain port
# instead, and must fail: exit 1, saying the handshake failed.
#
# Without --must-fail the run must pass (exit 0, "0 failed"). With it, each
# listed case must print FAIL and the runner must exit 1; --others-pass adds
# that every other case must pass. Each --must-pass case must print ok (so it
# ran, and was not skipped). Every wait is bounded; the server is stopped by
# its own pid.
set -u
runner=$1
shift
must_fail=()
must_pass=()
others_pass=0
pki_writer=""
tls_at_plain=0
while [[ $# -gt 0 && $1 != -- ]]; do
  case $1 in
    --must-fail) must_fail+=("$2"); shift 2 ;;
    --others-pass) others_pass=1; shift ;;
    --must-pass) must_pass+=("$2"); shift 2 ;;
    --tls) pki_writer=$2; shift 2 ;;
    --tls-at-plain) tls_at_plain=1; shift ;;
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
"${server[@]}" >"$work/server.out" 2>"$work/server.err" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

chat="" echo_port=""
for _ in $(seq 1 200); do
  chat=$(sed -n 's/^natterd: chat listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/server.out")
  echo_port=$(sed -n 's/^natterd: echo listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/server.out")
  tls=$(sed -n 's/^natterd: tls listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/server.out")
  [[ -n $chat && -n $echo_port && ( -z $pki_writer || -n $tls ) ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if [[ -z $chat || -z $echo_port ]]; then
  echo "run_conform.sh: the server did not report its ports" >&2
  cat "$work/server.out" "$work/server.err" >&2
  exit 1
fi

port=("--port" "$chat")
if [[ -n $pki_writer && $tls_at_plain -eq 1 ]]; then
  port+=(--tls --tls-insecure)
elif [[ -n $pki_writer ]]; then
  port=(--port "$tls" --tls --tls-ca "$work/ca.crt")
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
grep -q "AddressSanitizer\|ThreadSanitizer\|runtime error:" "$work/server.err" && {
  echo "run_conform.sh: the server reported a sanitizer error:" >&2
  cat "$work/server.err" >&2
  fail=1
}
exit $fail
