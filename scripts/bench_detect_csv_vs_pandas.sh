#!/usr/bin/env bash
# The whole `vigil detect` process against the seed pandas rule as a whole
# program (scripts/bench_pandas_csv.py): the same CSV in (LEN quarter-hours
# in `YYYY-MM-DD HH:MM:SS`, every 1000th value a gap), the IQR band at n = 96,
# a = 4, a CSV out. Wall time of each process, best of REPEATS; ROUNDS rounds
# alternate the two (the machine's speed drifts over minutes). Prints per
# round and then the median and range of the ratios:
#   round 1 vigil=0.120s pandas=3.610s ratio=30.1x
#   ratio median=... min=... max=... over ROUNDS rounds
# The core figure (detector alone) is scripts/bench_iqr_vs_pandas.sh.
#
# Usage: scripts/bench_detect_csv_vs_pandas.sh [LEN [REPEATS [ROUNDS]]]
set -euo pipefail
cd "$(dirname "$0")/.."
len=${1:-1000000}
repeats=${2:-5}
rounds=${3:-5}
target=${CARGO_TARGET_DIR:-target}

cargo build --quiet --release -p server --bin vigil
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/bench_pandas_csv.py generate "$len" "$work/in.csv"

best() { # best wall seconds of $repeats runs of "$@"
  local best=
  for _ in $(seq 1 "$repeats"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    best=$(awk -v b="$best" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
      'BEGIN { print (b == "" || t < b) ? t : b }')
  done
  echo "$best"
}
ratios=()
for round in $(seq 1 "$rounds"); do
  v=$(RUST_LOG=warn best "$target/release/vigil" detect --input "$work/in.csv" --output "$work/vigil.csv" --detector iqr --n 96 --a 4)
  p=$(best python3 scripts/bench_pandas_csv.py detect "$work/in.csv" "$work/pandas.csv" 96 4)
  r=$(awk -v v="$v" -v p="$p" 'BEGIN { printf "%.1f", p / v }')
  ratios+=("$r")
  echo "round $round vigil=${v}s pandas=${p}s ratio=${r}x load: $(uptime | sed 's/.*load average: //')"
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '
  { x[NR] = $1 }
  END {
    median = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
    printf "ratio median=%.1fx min=%.1fx max=%.1fx over %d rounds (%s rows)\n", median, x[1], x[NR], NR, "'"$len"'"
  }'
