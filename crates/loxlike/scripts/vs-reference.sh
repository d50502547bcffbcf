#!/usr/bin/env bash
# One of byo's engines against a reference interpreter on the official benchmark programs, by
# hand:
#
#   crates/loxlike/scripts/vs-reference.sh vm   path/to/clox path/to/suite/benchmark [rounds]
#   crates/loxlike/scripts/vs-reference.sh tree path/to/jlox path/to/suite/benchmark [rounds]
#
# Build the references outside this repository from munificent/craftinginterpreters: clox with
# its release flags, `cc -std=c99 -O3 -flto c/*.c -o clox`; jlox with
# `javac -d build java/com/craftinginterpreters/lox/*.java` and a one-line launcher script
# running `java -cp build com.craftinginterpreters.lox.Lox "$@"`. Each program runs `rounds`
# times (default 5) per interpreter, interleaved; the figure is the median process CPU time
# (user + system of the process and its children, from GNU time, so a JVM's compiler and
# collector threads count). Prints one row per benchmark with the ratio byo/reference, then
# the geometric mean.
#
# byo is built with `cargo build-byo-static` (an alias in .cargo/config.toml: statically
# linked, not position-independent, with LLVM allowed to copy the VM's dispatch into every
# instruction; x86-64 Linux). BYO=/absolute/path/to/byo times that binary instead, for
# instance the default dynamically linked build:
#   cargo build --release -p byo && BYO=$PWD/target/release/byo crates/loxlike/scripts/...
set -euo pipefail
usage="usage: vs-reference.sh vm|tree REFERENCE BENCHMARK_DIR [ROUNDS]"
engine=${1:?$usage}
reference=${2:?$usage}
dir=${3:?$usage}
rounds=${4:-5}
case "$engine" in vm|tree) ;; *) echo "$usage" >&2; exit 64 ;; esac
cd "$(dirname "$0")/../../.."
if [ -n "${BYO:-}" ]; then
  byo=$BYO
else
  cargo build-byo-static --locked >/dev/null 2>&1
  byo=target/x86_64-unknown-linux-gnu/release/byo
fi

run() { # prints "cpu_seconds peak_rss_kb" of one run of "$@", or "error" if it failed
  local times
  if times=$(/usr/bin/time -f '%U %S %M' "$@" 2>&1 >/dev/null); then
    tail -1 <<<"$times" | awk '{ printf "%.3f %d\n", $1 + $2, $3 }'
  else
    echo error
  fi
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column() { awk -v k="$1" '{ print $k }'; }

printf '%-18s %12s %10s %8s %12s %10s %8s\n' benchmark reference_s byo_s ratio reference_kb byo_kb ratio
log_sum=0; count=0
for file in "$dir"/*.lox; do
  name=$(basename "$file" .lox)
  if [ "$name" = zoo_batch ]; then
    # Runs for a fixed 10 seconds and prints how much it did: a time ratio says nothing.
    continue
  fi
  c=(); b=()
  for _ in $(seq "$rounds"); do
    c+=("$(run "$reference" "$file")")
    b+=("$(run "$byo" lox --engine "$engine" "$file")")
  done
  if [[ " ${c[*]} ${b[*]} " == *" error "* ]]; then
    # clox itself rejects string_equality.lox: too many constants in one chunk.
    printf '%-18s %12s %10s %8s\n' "$name" "${c[0]%% *}" "${b[0]%% *}" n/a
    continue
  fi
  cm=$(printf '%s\n' "${c[@]}" | column 1 | median)
  bm=$(printf '%s\n' "${b[@]}" | column 1 | median)
  ck=$(printf '%s\n' "${c[@]}" | column 2 | median)
  bk=$(printf '%s\n' "${b[@]}" | column 2 | median)
  ratio=$(awk -v b="$bm" -v c="$cm" 'BEGIN { if (c > 0) printf "%.2f", b / c; else print "n/a" }')
  rss=$(awk -v b="$bk" -v c="$ck" 'BEGIN { printf "%.2f", b / c }')
  printf '%-18s %12s %10s %8s %12s %10s %8s\n' "$name" "$cm" "$bm" "$ratio" "$ck" "$bk" "$rss"
  if [ "$ratio" != n/a ]; then
    log_sum=$(awk -v s="$log_sum" -v r="$ratio" 'BEGIN { print s + log(r) }')
    count=$((count + 1))
  fi
done
awk -v s="$log_sum" -v n="$count" 'BEGIN { printf "geometric mean ratio: %.2f (%d benchmarks)\n", exp(s / n), n }'

# Start-up: wall time of 100 runs of an empty program, interleaved in blocks of 10.
empty=$(mktemp --suffix=.lox)
trap 'rm -f "$empty"' EXIT
ns() { date +%s%N; }
ct=0; bt=0
for _ in $(seq 10); do
  t=$(ns); for _ in $(seq 10); do "$reference" "$empty" >/dev/null; done; ct=$((ct + $(ns) - t))
  t=$(ns); for _ in $(seq 10); do "$byo" lox --engine "$engine" "$empty" >/dev/null; done; bt=$((bt + $(ns) - t))
done
awk -v c="$ct" -v b="$bt" 'BEGIN { printf "start-up (empty program, mean of 100): reference %.2f ms, byo %.2f ms, ratio %.2f\n", c / 1e8, b / 1e8, b / c }'

# Start-up as process CPU time, where perf may count it: perf stat's task-clock is the
# process's own CPU time, without the shell's fork and wait that the wall time above
# includes. 300 runs each, three interleaved rounds, the median round.
if perf stat -x, -e task-clock true >/dev/null 2>&1; then
  task_ms() { perf stat -x, -e task-clock -r 300 "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ { print $1 }'; }
  cs=(); bs=()
  for _ in 1 2 3; do
    cs+=("$(task_ms "$reference" "$empty")")
    bs+=("$(task_ms "$byo" lox --engine "$engine" "$empty")")
  done
  cm=$(printf '%s\n' "${cs[@]}" | median)
  bm=$(printf '%s\n' "${bs[@]}" | median)
  awk -v c="$cm" -v b="$bm" 'BEGIN { printf "start-up CPU (perf task-clock, median of 3 rounds of 300): reference %.2f ms, byo %.2f ms, ratio %.2f\n", c, b, b / c }'
fi
