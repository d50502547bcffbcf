#!/usr/bin/env bash
# CI's peer checks for byo-resp: the compatibility cases against the real redis-server (so
# that they state what Redis does) and against `byo serve redis`; then redis-cli and
# redis-benchmark against ours. Takes the `byo` binary to test.
#
#   crates/resp/scripts/ci-peers.sh target/debug/byo
set -euo pipefail
BYO=$1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no > /dev/null &
REDIS_PID=$!
BYO_PORT=$(free_port)
"$BYO" serve redis --port "$BYO_PORT" > /dev/null &
BYO_PID=$!
trap 'kill $REDIS_PID $BYO_PID 2>/dev/null || true' EXIT
wait_port "$REDIS_PORT"
wait_port "$BYO_PORT"

echo "-- byo check redis against redis-server $(redis-server --version | cut -d' ' -f3)"
"$BYO" check redis "127.0.0.1:$REDIS_PORT" | tail -1
echo "-- byo check redis against byo serve redis"
"$BYO" check redis "127.0.0.1:$BYO_PORT" | tail -1

echo "-- redis-cli against byo serve redis"
cli() { redis-cli -h 127.0.0.1 -p "$BYO_PORT" "$@"; }
same() {
  if [ "$2" != "$1" ]; then
    echo "redis-cli $3: expected '$1', got '$2'" >&2
    exit 1
  fi
}
expect() {
  local want=$1
  shift
  same "$want" "$(cli "$@")" "$*"
}
expect OK set greeting "hello world"
expect "hello world" get greeting
expect 3 incrby counter 3
expect 1 expire greeting 100
expect 100 ttl greeting
expect "" get missing
same "$(printf 'counter\ngreeting')" "$(cli --scan --pattern '*' | sort)" "--scan"
# A pipe of raw commands, as `redis-cli --pipe` mass-inserts them.
for i in $(seq 1000); do printf 'SET pipe:%d %d\r\n' "$i" "$i"; done | cli --pipe > /dev/null
expect 1002 dbsize
same "$(printf 'server redis\nversion 7.0.15')" "$(cli hello 3 | head -2)" "hello 3"
echo "redis-cli: ok"

echo "-- redis-benchmark against byo serve redis"
# redis-benchmark's default test list (PING_INLINE ... LRANGE_600, MSET); every test must
# report a rate, and no reply may be an error.
for pipeline in 1 16; do
  out=$(redis-benchmark -h 127.0.0.1 -p "$BYO_PORT" -n 20000 -c 20 -P "$pipeline" -q 2>&1 | tr '\r' '\n')
  rates=$(echo "$out" | grep -c 'requests per second' || true)
  if [ "$rates" -lt 20 ]; then
    echo "$out" >&2
    echo "redis-benchmark -P $pipeline: $rates tests reported a rate, expected 20" >&2
    exit 1
  fi
  if echo "$out" | grep -q 'Error'; then
    echo "$out" >&2
    exit 1
  fi
  echo "$out" | grep 'requests per second' | sed "s/^/-P $pipeline  /"
done

echo "-- the append-only file between byo serve redis and redis-server"
# Both read the same multi-part AOF directory (Redis with a plain-command base file): what one
# wrote, the other replays, and the other way round.
AOF=$(mktemp -d)
aof_values() {
  local r=(redis-cli -h 127.0.0.1 -p "$1")
  echo "$("${r[@]}" mget s f | tr '\n' ,)|$("${r[@]}" lrange l 0 -1 | tr '\n' ,)|\
$("${r[@]}" zrange z 0 -1 withscores | tr '\n' ,)|$("${r[@]}" hgetall h | tr '\n' ,)|\
$("${r[@]}" pexpiretime s)"
}
P1=$(free_port)
"$BYO" serve redis --port "$P1" --dir "$AOF" --appendonly yes --appendfsync always > /dev/null &
P1_PID=$!
wait_port "$P1"
c1() { redis-cli -h 127.0.0.1 -p "$P1" "$@" > /dev/null; }
c1 set s v EX 1000
c1 incrbyfloat f 2.5
c1 rpush l a b c
c1 lpop l
c1 zadd z 1.5 x 2 y
c1 hset h k v
ours=$(aof_values "$P1")
# SIGKILL: nothing gets a chance to flush at exit; the log must already hold every write.
{ kill -9 "$P1_PID"; wait "$P1_PID"; } 2>/dev/null || true
P2=$(free_port)
redis-server --port "$P2" --bind 127.0.0.1 --save '' --dir "$AOF" --appendonly yes \
  --aof-use-rdb-preamble no > /dev/null &
P2_PID=$!
wait_port "$P2"
theirs=$(aof_values "$P2")
same "$ours" "$theirs" "redis-server replaying byo's AOF"
redis-cli -h 127.0.0.1 -p "$P2" rpush l d > /dev/null
redis-cli -h 127.0.0.1 -p "$P2" bgrewriteaof > /dev/null
sleep 1
redis-cli -h 127.0.0.1 -p "$P2" hset h k2 v2 > /dev/null
theirs=$(aof_values "$P2")
redis-cli -h 127.0.0.1 -p "$P2" shutdown nosave > /dev/null 2>&1 || true
wait "$P2_PID" 2>/dev/null || true
P3=$(free_port)
"$BYO" serve redis --port "$P3" --dir "$AOF" --appendonly yes > /dev/null &
P3_PID=$!
wait_port "$P3"
ours=$(aof_values "$P3")
kill "$P3_PID"
same "$theirs" "$ours" "byo replaying redis-server's rewritten AOF"
echo "replayed both ways: $ours"
rm -rf "$AOF"
echo "append-only file: ok"
