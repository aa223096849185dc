#!/usr/bin/env bash
# A first visit at 10 Mbit/s: the bundle's compressed sizes and the metric
# page's time to interactive, against the release site `make build` left
# (end2end/bench/load_budget.mjs; figures in docs/benchmarks.md, "First load").
# VIGIL_BIN / VIGIL_SITE_ROOT point elsewhere (paths relative to end2end/).
set -euo pipefail
cd "$(dirname "$0")/../end2end"
VIGIL_BIN="${VIGIL_BIN:-../target/release/vigil}" \
VIGIL_SITE_ROOT="${VIGIL_SITE_ROOT:-../target/site}" \
  node bench/load_budget.mjs
