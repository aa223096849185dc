#!/usr/bin/env bash
# vigil's IQR detector vs the seed pandas rule, same 1e6-point series
# (checksums must match). One round = the Rust example then the pandas
# script, each the best of REPEATS runs per n; ROUNDS rounds alternate the
# two, so that each ratio compares runs taken seconds apart (on a shared
# machine, the speed of both sides drifts by 30 % over minutes). Prints per
# round and n:
#   round 1 n=96 vigil=33.72M/s pandas=1.86M/s ratio=18.1x (one thread ...; reused buffer ...; centered ...)
# and then per n the median and the range of the rounds' ratios, with and
# without the second thread:
#   n=96 ratio median=17.2x min=13.0x max=18.1x over 5 rounds
#   n=96 one-thread ratio median=...
# `vigil` is iqr() with a fresh Detection (what the CLI does), default
# smoothing, which on a machine with two cores computes the order
# statistics on the second one (pandas runs on one: `one thread` is the
# same run with `detect::set_batch_threads(1)`); `centered` is the seed's
# smoothing exactly (same anomalies as pandas).
#
# OFFSET (default 0) is added to every value of the series on both sides:
# 0.1 gives a fractional series, as a ratio like CTR is, for which the
# order statistics cannot use f32 lanes.
#
# Usage: scripts/bench_iqr_vs_pandas.sh [LEN [REPEATS [N,N,... [ROUNDS [OFFSET]]]]]
set -euo pipefail
cd "$(dirname "$0")/.."
len=${1:-1000000}
repeats=${2:-5}
windows=${3:-5,96,672}
rounds=${4:-5}
offset=${5:-0}

cargo build --quiet --release -p detect --example iqr_throughput
field() { grep "^n=$1 " <<<"$2" | grep -o " $3=[^ ]*" | cut -d= -f2; }
ratios=$(mktemp)
trap 'rm -f "$ratios"' EXIT
for round in $(seq 1 "$rounds"); do
  echo "round $round load: $(uptime | sed 's/.*load average: //')"
  rust=$(./target/release/examples/iqr_throughput "$len" "$repeats" "$windows" "$offset")
  py=$(python3 scripts/bench_pandas_iqr.py "$len" "$repeats" "$windows" "$offset" --checksum)
  rust_sum=$(grep -o '^checksum=[0-9]*' <<<"$rust")
  py_sum=$(grep -o '^checksum=[0-9]*' <<<"$py")
  if [[ "$rust_sum" != "$py_sum" ]]; then
    echo "series differ: rust $rust_sum, pandas $py_sum" >&2
    exit 1
  fi
  if [[ $round == 1 ]]; then
    echo "series: $len points + $offset, $rust_sum, $(grep -o 'pandas=[^ ]*' <<<"$py" | head -1)"
  fi
  for n in ${windows//,/ }; do
    v=$(field "$n" "$rust" points/s)
    r=$(field "$n" "$rust" reused/s)
    c=$(field "$n" "$rust" centered/s)
    one=$(field "$n" "$rust" single/s)
    p=$(field "$n" "$py" points/s)
    ca=$(field "$n" "$rust" centered_anomalies)
    pa=$(field "$n" "$py" anomalies)
    awk -v round="$round" -v n="$n" -v v="$v" -v r="$r" -v c="$c" -v one="$one" -v p="$p" -v ca="$ca" -v pa="$pa" 'BEGIN {
      printf "round %s n=%s vigil=%.2fM/s pandas=%.2fM/s ratio=%.1fx (one thread %.2fM/s %.1fx; reused buffer %.2fM/s %.1fx; centered %.2fM/s %.1fx; anomalies centered=%s pandas=%s)\n",
        round, n, v / 1e6, p / 1e6, v / p, one / 1e6, one / p, r / 1e6, r / p, c / 1e6, c / p, ca, pa
    }'
    awk -v n="$n" -v v="$v" -v one="$one" -v p="$p" 'BEGIN { printf "%s %.4f %.4f\n", n, v / p, one / p }' >>"$ratios"
  done
done
echo "load: $(uptime | sed 's/.*load average: //')"
summary() { # column label
  for n in ${windows//,/ }; do
    awk -v n="$n" -v col="$1" '$1 == n { print $col }' "$ratios" | sort -g | awk -v n="$n" -v label="$2" '
      { x[NR] = $1 }
      END {
        median = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
        printf "n=%s %s median=%.1fx min=%.1fx max=%.1fx over %d rounds\n", n, label, median, x[1], x[NR], NR
      }'
  done
}
summary 2 ratio
summary 3 "one-thread ratio"
