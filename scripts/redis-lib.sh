# Shell functions to start a throwaway redis-server on a free loopback port
# (sourced by scripts/cluster.sh and tests/conformance/run_conform.sh).

# A port the kernel hands out and takes back at once: free, most likely.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_redis DIR: a redis-server keeping nothing, its files in DIR; sets
# redis_port and redis_pid, and returns once it answers PING (or fails
# after 5 s, or when it exits).
start_redis() {
  command -v redis-server >/dev/null ||
    { echo "redis-server is missing (scripts/install-deps.sh)" >&2; return 1; }
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$1" --save '' --appendonly no \
    --logfile "$1/redis.log" &
  redis_pid=$!
  for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "redis-server did not answer on port $redis_port" >&2
  return 1
}
