#!/usr/bin/env bash
# One case of the codec bench's decoding, run again and again, by hand (not in CI):
#
#   crates/resp/scripts/codec-ratios.sh [runs] [case]
#
# `case` is 16-sets (the default), bulk-1MiB or nested-64. One criterion run of
# `decode/.*/<case>` gives byo-resp's `Decoder` (and, for 16-sets, its `RequestParser`; for
# bulk-1MiB, the `floor` that only splits and drops the buffer) and resp-rs a few seconds
# each, one after the other. On a shared machine whose cores change
# speed for seconds at a time, the ratio of one such run depends on which of them a slow
# spell fell on. This script builds the bench once, runs that case `runs` times (default 9)
# pinned to one core, and prints each run's ratios to resp-rs and their medians, which are
# the figures the README's table gives (goal: the `Decoder` at most 0.5x resp-rs's time).
set -euo pipefail
RUNS=${1:-9}
CASE=${2:-16-sets}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BENCH=$(cargo bench --manifest-path "$ROOT/Cargo.toml" -p byo-resp --bench codec --no-run \
  --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "codec" and m.get("executable"):
        print(m["executable"])')
# criterion prints "<id>  time: [low estimate high]"; the id is sometimes on a line of its own.
run_once() {
  taskset -c "${CORE:-1}" "$BENCH" --bench "decode/.*/$CASE" --warm-up-time 1 \
    --measurement-time 3 --noplot --discard-baseline 2>/dev/null |
    awk -v c="$CASE" '/^decode\// { id = $0; sub(/ +time:.*/, "", id) }
         /time:/ && id != "" { v = $(NF-3); u = $(NF-2); if (u == "µs") v *= 1000;
                               if (u == "ms") v *= 1e6; t[id] = v; id = "" }
         END { r = t["decode/resp-rs/" c]; p = t["decode/byo-resp request parser/" c];
               if (p == "") p = t["decode/floor/" c];
               printf "%.0f %s %.0f\n", t["decode/byo-resp/" c], p == "" ? "-" : sprintf("%.0f", p), r }'
}
SECOND=parser
[ "$CASE" = bulk-1MiB ] && SECOND=floor
printf '%4s %10s %10s %10s %9s %9s\n' run 'Decoder' "$SECOND" 'resp-rs' 'Decoder/' "$SECOND/"
ratios_d=() ratios_p=()
for i in $(seq "$RUNS"); do
  read -r d p r < <(run_once)
  rd=$(awk -v a="$d" -v b="$r" 'BEGIN { printf "%.3f", a / b }')
  rp=-
  if [ "$p" != - ]; then
    rp=$(awk -v a="$p" -v b="$r" 'BEGIN { printf "%.3f", a / b }')
    ratios_p+=("$rp")
  fi
  ratios_d+=("$rd")
  printf '%4s %8s ns %8s ns %8s ns %9s %9s\n' "$i" "$d" "$p" "$r" "$rd" "$rp"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "$CASE, median ratio to resp-rs: Decoder $(median "${ratios_d[@]}")" \
  "${ratios_p[*]:+$SECOND $(median "${ratios_p[@]}")}"
