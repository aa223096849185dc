#!/usr/bin/env bash
# Throughput of every detector (default parameters) on the same 1e6-point
# series, natively, best of REPEATS runs (forecast: one run unless REPEATS
# is given). Prints one line per detector:
#   detector=seasonal points/s=... len=1000000 seconds=... runs=3 anomalies=...
#
# Usage: scripts/bench_detectors.sh [LEN [REPEATS [NAME,NAME,...]]]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load: $(uptime | sed 's/.*load average/load average/')"
cargo build --quiet --release -p detect --example detector_throughput
./target/release/examples/detector_throughput "$@"
echo "load: $(uptime | sed 's/.*load average/load average/')"
