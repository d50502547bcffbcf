#!/usr/bin/env bash
# User-space instructions per request of `byo serve redis`, by hand (not in CI):
#
#   crates/resp/scripts/server-instructions.sh [pipeline]
#
# Runs the server under valgrind's cachegrind twice, for `redis-benchmark -c 50 -t set,get`
# with 20,000 and with 60,000 requests per test (`-P pipeline`, 16 by default), and divides
# the difference of the two instruction counts by the difference in requests, so that the
# server's start and stop cancel out. Unlike CPU time, the count does not depend on how the
# machine was scheduled, so a change of a few percent in user space shows. (The kernel's share,
# most of the server's time, is not counted.)
set -euo pipefail
PIPELINE=${1:-16}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cargo build --release --quiet -p byo --manifest-path "$ROOT/Cargo.toml"
BYO="$ROOT/target/release/byo"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

instructions() { # requests per test -> the server's whole instruction count
  local port
  port=$(free_port)
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$OUT/cg.$1" \
    "$BYO" serve redis --port "$port" > /dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping > /dev/null 2>&1 && break; sleep 0.2; done
  redis-benchmark -p "$port" -c 50 -n "$1" -P "$PIPELINE" -t set,get -q > /dev/null
  redis-cli -p "$port" shutdown nosave > /dev/null 2>&1 || true
  wait "$pid" || true
  awk '/^summary:/ { print $2 }' "$OUT/cg.$1"
}

small=$(instructions 20000)
large=$(instructions 60000)
# Two tests (set, get) of the request count each.
echo "-P $PIPELINE: $(( (large - small) / (2 * 40000) )) user instructions per request"
