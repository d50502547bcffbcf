#!/usr/bin/env bash
# Runs units of Redis's own test suite (tag 7.0.15, `tests/` of redis/redis, checked out by
# you outside this repository) against `byo serve redis`, one fresh server per unit, and
# prints the passed/failed counts per unit.
#
#   crates/resp/scripts/redis-suite.sh /path/to/redis-7.0.15 [unit ...]
#
# Needs tclsh. Set SERVER to run another server binary taking the same arguments, for
# instance SERVER=redis-server to check that the flags below let real Redis pass everything.
set -euo pipefail
REDIS_DIR=$(cd "$1" && pwd)
shift
UNITS=("$@")
if [ ${#UNITS[@]} -eq 0 ]; then
  UNITS=(unit/type/string unit/type/incr unit/type/list unit/type/hash unit/type/set unit/type/zset
         unit/expire unit/keyspace unit/pubsub unit/multi unit/protocol unit/scan)
fi
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
if [ -z "${SERVER:-}" ]; then
  cargo build --release --quiet -p byo --manifest-path "$ROOT/Cargo.toml"
  SERVER_CMD=("$ROOT/target/release/byo" serve redis)
else
  SERVER_CMD=("$SERVER")
fi
LOGS=$(mktemp -d)
PORT=${PORT:-21500}
printf '%-22s %7s %7s  %s\n' unit passed failed note
for unit in "${UNITS[@]}"; do
  "${SERVER_CMD[@]}" --port "$PORT" --save '' > "$LOGS/server.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then break; fi
    sleep 0.1
  done
  log="$LOGS/$(echo "$unit" | tr / _).log"
  (cd "$REDIS_DIR" && TERM=dumb timeout 600 ./runtest --host 127.0.0.1 --port "$PORT" --baseport $((PORT + 100)) \
     --single "$unit" --singledb --ignore-encoding --ignore-digest --durable \
     --tags "-needs:debug -needs:repl -needs:save -needs:config-maxmemory -needs:reset -needs:config-resetstat -needs:pfdebug" \
     > "$log" 2>&1) || true
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  passed=$(grep -c '\[ok\]' "$log" || true)
  failed=$(grep -cE '^\[(err|exception)\]' "$log" || true)  # not the summary's *** copies
  note=""
  if grep -q '\[exception\]' "$log"; then note="stopped by an exception"; fi
  printf '%-22s %7s %7s  %s\n' "$unit" "$passed" "$failed" "$note"
done
echo "logs: $LOGS"
