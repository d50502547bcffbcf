#!/usr/bin/env bash
# byo's bytecode VM against the reference clox on the official benchmark programs, by hand:
#
#   crates/loxlike/scripts/vs-clox.sh path/to/clox path/to/suite/benchmark [rounds]
#
# Build clox outside this repository from munificent/craftinginterpreters with its release
# flags: `cc -std=c99 -O3 -flto c/*.c -o clox`. Each program runs `rounds` times (default 5)
# per interpreter, interleaved; the figure is the median process CPU time (user + system, from
# GNU time). Prints one row per benchmark with the ratio byo/clox, then the geometric mean.
set -euo pipefail
clox=${1:?usage: vs-clox.sh CLOX BENCHMARK_DIR [ROUNDS]}
dir=${2:?usage: vs-clox.sh CLOX BENCHMARK_DIR [ROUNDS]}
rounds=${3:-5}
cd "$(dirname "$0")/../../.."
cargo build --release --locked -p byo >/dev/null 2>&1
byo=target/release/byo

cpu() { # prints user+sys seconds of one run of "$@", or "error" if it failed
  local times
  if times=$(/usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null); then
    tail -1 <<<"$times" | awk '{ printf "%.3f\n", $1 + $2 }'
  else
    echo error
  fi
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-18s %10s %10s %8s\n' benchmark clox_s byo_s ratio
log_sum=0; count=0
for file in "$dir"/*.lox; do
  name=$(basename "$file" .lox)
  if [ "$name" = zoo_batch ]; then
    # Runs for a fixed 10 seconds and prints how much it did: a time ratio says nothing.
    continue
  fi
  c=(); b=()
  for _ in $(seq "$rounds"); do
    c+=("$(cpu "$clox" "$file")")
    b+=("$(cpu "$byo" lox "$file")")
  done
  if [[ " ${c[*]} ${b[*]} " == *" error "* ]]; then
    # clox itself rejects string_equality.lox: too many constants in one chunk.
    printf '%-18s %10s %10s %8s\n' "$name" "${c[0]}" "${b[0]}" n/a
    continue
  fi
  cm=$(printf '%s\n' "${c[@]}" | median)
  bm=$(printf '%s\n' "${b[@]}" | median)
  ratio=$(awk -v b="$bm" -v c="$cm" 'BEGIN { if (c > 0) printf "%.2f", b / c; else print "n/a" }')
  printf '%-18s %10s %10s %8s\n' "$name" "$cm" "$bm" "$ratio"
  if [ "$ratio" != n/a ]; then
    log_sum=$(awk -v s="$log_sum" -v r="$ratio" 'BEGIN { print s + log(r) }')
    count=$((count + 1))
  fi
done
awk -v s="$log_sum" -v n="$count" 'BEGIN { printf "geometric mean ratio: %.2f (%d benchmarks)\n", exp(s / n), n }'
