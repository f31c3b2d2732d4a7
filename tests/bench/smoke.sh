#!/usr/bin/env bash
# natter-bench smoke test: natterd on ephemeral loopback ports (chat, echo
# and TLS, with a certificate from a CA made for this run by
# tests/support/test_pki), every mode of natter-bench for a fraction of a
# second with a handful of clients, each checked for its figures and for
# "nothing lost". Bounded: every command runs under timeout, natterd is
# stopped by PID on exit, the keys are removed with the directory.
set -euo pipefail
natterd=$1
bench=$2
write_pki=$3
dir=$(mktemp -d /tmp/natter-bench-smoke.XXXXXX)
pid=""
cleanup()
{
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$write_pki" "$dir"
"$natterd" --chat-port 0 --echo-port 0 --tls-port 0 --tls-cert "$dir/natterd.crt" \
  --tls-key "$dir/natterd.key" --bind 127.0.0.1 --threads 1 --rate 0 \
  --log-level warn >"$dir/natterd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [ "$(grep -c 'listening on' "$dir/natterd.log")" = 3 ] && break
  sleep 0.1
done
chat=$(sed -n 's/.*chat listening on .*:\([0-9]*\)$/\1/p' "$dir/natterd.log")
echo=$(sed -n 's/.*echo listening on .*:\([0-9]*\)$/\1/p' "$dir/natterd.log")
tls=$(sed -n 's/.*tls listening on .*:\([0-9]*\)$/\1/p' "$dir/natterd.log")
[ -n "$chat" ] && [ -n "$echo" ] && [ -n "$tls" ] || { cat "$dir/natterd.log"; exit 1; }
ca=$dir/ca.crt

failures=0
passes=0
# check NAME JSON KEY=VALUE... : every key present, "=value" ones equal, and
# "+" ones (KEY=+) greater than zero.
check()
{
  local name=$1 json=$2 ok=1 kv key want got
  shift 2
  for kv in "$@"; do
    key=${kv%%=*}
    want=${kv#*=}
    got=$(sed -n "s/.*\"$key\": \\([^,}]*\\).*/\\1/p" <<<"$json")
    if [ -z "$got" ]; then
      echo "FAIL $name: no $key"; ok=0
    elif [ "$want" = "+" ]; then
      awk -v v="$got" 'BEGIN { exit !(v > 0) }' || { echo "FAIL $name: $key is $got"; ok=0; }
    elif [ "$want" != "$kv" ] && [ "$got" != "$want" ]; then
      echo "FAIL $name: $key is $got, want $want"; ok=0
    fi
  done
  if [ "$ok" = 1 ]; then passes=$((passes + 1)); echo "ok   $name"; else failures=$((failures + 1)); echo "$json"; fi
}
# run NAME ARGS...: natter-bench must exit 0 (nothing lost or corrupted).
run()
{
  local name=$1 out rc=0
  shift
  out=$(timeout 60 "$bench" "$@" --json --server-pid "$pid") || rc=$?
  if [ "$rc" != 0 ]; then
    # The caller's check then fails on the missing figures.
    echo "FAIL $name: natter-bench exited $rc: $out" >&2
    out="{}"
  fi
  printf '%s' "$out"
}

j=$(run echo echo --port "$echo" --conns 4 --size 3000 --window 4 --duration 0.3)
check "echo: every octet verified" "$j" conns=4 mb_per_s=+ msgs_per_s=+ rtt_p50_ms rtt_p99_ms \
  rtt_max_ms verify_errors=0 closed_early=0 unanswered_bytes=0 bench_cpu_pct server_cpu_pct

j=$(run fanout fanout --port "$chat" --receivers 6 --senders 2 --window 8 --duration 0.3)
check "fanout: max rate, nothing lost" "$j" registered=8 sent=+ deliveries_per_s=+ \
  latency_p50_ms latency_p99_ms latency_max_ms lost=0 reordered=0 disconnected=0 server_cpu_pct

j=$(run fanout-rate fanout --port "$chat" --receivers 6 --senders 2 --rate 200 --duration 0.4)
check "fanout: fixed rate, nothing lost" "$j" registered=8 sent=+ deliveries_per_s=+ lost=0 \
  reordered=0 disconnected=0

j=$(run idle idle --port "$chat" --conns 20 --duration 0.2)
check "idle: all registered and held" "$j" requested=20 registered=20 failed=0 dropped=0 \
  server_rss_kib=+ rss_per_client_kib

# Over TLS: the same checks, on natterd's TLS port, the certificate verified
# against the run's CA (and once not verified at all).
j=$(run fanout-tls fanout --tls --tls-ca "$ca" --port "$tls" --receivers 6 --senders 2 \
  --window 8 --duration 0.3)
check "fanout --tls: max rate, nothing lost" "$j" tls=\"yes\" registered=8 sent=+ \
  deliveries_per_s=+ deliveries_per_server_cpu_s=+ lost=0 reordered=0 disconnected=0

j=$(run idle-tls idle --tls --tls-ca "$ca" --port "$tls" --conns 20 --duration 0.2)
check "idle --tls: all registered and held" "$j" tls=\"yes\" requested=20 registered=20 failed=0 \
  failed_tls=0 dropped=0 server_rss_kib=+ rss_per_client_kib

j=$(run idle-tls-insecure idle --tls --tls-insecure --port "$tls" --conns 5 --duration 0.1)
check "idle --tls --tls-insecure: all registered" "$j" tls=\"yes\" registered=5 failed=0

j=$(run handshake handshake --tls-ca "$ca" --port "$tls" --connections 4 --duration 0.5)
check "handshake: full handshakes" "$j" tls_version=\"TLSv1.3\" handshakes=+ handshakes_per_s=+ \
  handshakes_per_server_cpu_s=+ server_cpu_us_per_handshake=+ resumed=0 failed=0

j=$(run handshake-resume handshake --resume --tls-ca "$ca" --port "$tls" --connections 4 \
  --duration 0.5)
check "handshake --resume: resumed" "$j" resume=\"yes\" handshakes=+ handshakes_per_s=+ \
  handshakes_per_server_cpu_s=+ resumed=+ failed=0
if awk -v v="$(sed -n 's/.*"resumed_fraction": \([^,}]*\).*/\1/p' <<<"$j")" \
  'BEGIN { exit !(v > 0.9) }'; then
  passes=$((passes + 1)); echo "ok   handshake --resume: more than 90% resumed"
else
  failures=$((failures + 1)); echo "FAIL handshake --resume: resumed fraction"; echo "$j"
fi

# --no-greeting (servers that send nothing first): each connection counts
# once natterd has closed after the client's close_notify.
j=$(run handshake-no-greeting handshake --no-greeting --tls-ca "$ca" --port "$tls" \
  --connections 4 --duration 0.5)
check "handshake --no-greeting: closed by the server" "$j" greeting=\"the\ server\'s\ close\" \
  handshakes=+ handshakes_per_server_cpu_s=+ failed=0

# Without the run's CA the certificate cannot be verified: natter-bench says
# so and fails.
rc=0
out=$(timeout 60 "$bench" handshake --port "$tls" --duration 0.2 --json) || rc=$?
if [ "$rc" = 1 ] && grep -q 'certificate verify failed' <<<"$out"; then
  passes=$((passes + 1)); echo "ok   handshake: an unverified certificate fails"
else
  failures=$((failures + 1)); echo "FAIL handshake without the CA: exit $rc"; echo "$out"
fi

# The table form prints the same figures for people.
table=$(timeout 60 "$bench" idle --port "$chat" --conns 3 --duration 0.1)
if grep -q 'registered and held *3' <<<"$table"; then
  passes=$((passes + 1)); echo "ok   table output"
else
  failures=$((failures + 1)); echo "FAIL table output"; echo "$table"
fi

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]
