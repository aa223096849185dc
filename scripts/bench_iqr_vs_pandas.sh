#!/usr/bin/env bash
# vigil's IQR detector vs the seed pandas rule, same 1e6-point series
# (checksums must match), best of REPEATS each. Prints per n:
#   n=5 vigil=25.8M/s pandas=6.97M/s ratio=3.7x (reused buffer: ... ; centered: ...)
# `vigil` is iqr() with a fresh Detection (what the CLI does), default
# smoothing; `centered` is the seed's smoothing exactly (same anomalies as pandas).
#
# Usage: scripts/bench_iqr_vs_pandas.sh [LEN [REPEATS [N,N,...]]]
set -euo pipefail
cd "$(dirname "$0")/.."
len=${1:-1000000}
repeats=${2:-5}
windows=${3:-5,96,672}

echo "load: $(uptime | sed 's/.*load average/load average/')"
cargo build --quiet --release -p detect --example iqr_throughput
rust=$(./target/release/examples/iqr_throughput "$len" "$repeats" "$windows")
py=$(python3 scripts/bench_pandas_iqr.py "$len" "$repeats" "$windows" --checksum)
echo "load: $(uptime | sed 's/.*load average/load average/')"

rust_sum=$(grep -o '^checksum=[0-9]*' <<<"$rust")
py_sum=$(grep -o '^checksum=[0-9]*' <<<"$py")
if [[ "$rust_sum" != "$py_sum" ]]; then
  echo "series differ: rust $rust_sum, pandas $py_sum" >&2
  exit 1
fi
echo "series: $len points, $rust_sum, $(grep -o 'pandas=[^ ]*' <<<"$py" | head -1)"

field() { grep "^n=$1 " <<<"$2" | grep -o " $3=[^ ]*" | cut -d= -f2; }
for n in ${windows//,/ }; do
  v=$(field "$n" "$rust" points/s)
  r=$(field "$n" "$rust" reused/s)
  c=$(field "$n" "$rust" centered/s)
  p=$(field "$n" "$py" points/s)
  ca=$(field "$n" "$rust" centered_anomalies)
  pa=$(field "$n" "$py" anomalies)
  awk -v n="$n" -v v="$v" -v r="$r" -v c="$c" -v p="$p" -v ca="$ca" -v pa="$pa" 'BEGIN {
    printf "n=%s vigil=%.2fM/s pandas=%.2fM/s ratio=%.1fx (reused buffer %.2fM/s %.1fx; centered %.2fM/s %.1fx; anomalies centered=%s pandas=%s)\n",
      n, v / 1e6, p / 1e6, v / p, r / 1e6, r / p, c / 1e6, c / p, ca, pa
  }'
done
