#!/usr/bin/env bash
# byo serve redis against redis-server, side by side, by hand (not in CI):
#
#   crates/resp/scripts/server-bench.sh [rounds]
#
# 1. Server CPU time per request, from /proc/PID/stat (utime + stime) around each
#    `redis-benchmark -c 50 -n 200000 -t set,get` run, without pipelining and with -P 16.
#    The servers alternate run by run; the table gives the median of the rounds and the ratio
#    ours/Redis (goals: <= 0.9 without pipelining, <= 0.7 with -P 16). CPU time rather than
#    throughput, because the client shares the machine and CPU time per request does not
#    depend on how the client was scheduled.
# 2. Resident memory per key: 1M keys of 16 bytes with 16-byte values, loaded with
#    redis-cli --pipe; (RSS after - RSS before) / 1M (goal: <= 0.75x Redis).
set -euo pipefail
ROUNDS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cargo build --release --quiet -p byo --manifest-path "$ROOT/Cargo.toml"
BYO="$ROOT/target/release/byo"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)

start() { # name port -> pid
  if [ "$1" = redis ]; then
    redis-server --port "$2" --bind 127.0.0.1 --save '' --appendonly no > /dev/null &
  else
    "$BYO" serve redis --port "$2" > /dev/null &
  fi
  echo $!
}

declare -A PORT PID
for name in byo redis; do
  PORT[$name]=$(free_port)
  PID[$name]=$(start "$name" "${PORT[$name]}")
  wait_port "${PORT[$name]}"
done
trap 'kill ${PID[byo]} ${PID[redis]} 2>/dev/null || true' EXIT

REQUESTS=200000
declare -A SAMPLES
for round in $(seq "$ROUNDS"); do
  for pipeline in 1 16; do
    for name in byo redis; do
      redis-cli -p "${PORT[$name]}" flushall > /dev/null
      before=$(cpu_ticks "${PID[$name]}")
      redis-benchmark -p "${PORT[$name]}" -c 50 -n "$REQUESTS" -P "$pipeline" -t set,get -q > /dev/null
      after=$(cpu_ticks "${PID[$name]}")
      # Two tests (set, get) of REQUESTS each; microseconds of server CPU per request.
      us=$(python3 -c "print(($after - $before) / $TICK * 1e6 / (2 * $REQUESTS))")
      SAMPLES[$name,$pipeline]+="$us "
    done
  done
done
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" $1; }
echo "server CPU per request (us), median of $ROUNDS rounds, redis-benchmark -c 50 -n $REQUESTS -t set,get"
printf '%-12s %10s %10s %8s\n' pipeline byo redis ratio
for pipeline in 1 16; do
  b=$(median "${SAMPLES[byo,$pipeline]}")
  r=$(median "${SAMPLES[redis,$pipeline]}")
  printf '%-12s %10s %10s %8s\n' "-P $pipeline" "$b" "$r" "$(python3 -c "print(f'{$b / $r:.2f}')")"
done

echo "resident memory per key, 1M keys (16-byte keys and values)"
for name in byo redis; do
  redis-cli -p "${PORT[$name]}" flushall > /dev/null
  sleep 0.5
  before=$(rss_kb "${PID[$name]}")
  python3 -c "
import sys
out = sys.stdout.buffer
for i in range(1_000_000):
    k = b'key:%012d' % i
    v = b'%016d' % i
    out.write(b'*3\r\n\$3\r\nSET\r\n\$16\r\n' + k + b'\r\n\$16\r\n' + v + b'\r\n')
" | redis-cli -p "${PORT[$name]}" --pipe > /dev/null
  after=$(rss_kb "${PID[$name]}")
  echo "$name $(redis-cli -p "${PORT[$name]}" dbsize) keys: $(( (after - before) * 1024 / 1000000 )) bytes/key"
done
