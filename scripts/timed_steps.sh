#!/usr/bin/env bash
# Runs `make STEP` for each STEP in order and prints the wall time of each at
# the end (also when a step fails), so that a CI log shows where time goes:
#   step times (wall seconds):
#     setup         12
#     lint         310
#     ...
#     total       1110
# Usage: scripts/timed_steps.sh STEP...   (make test calls it)
set -uo pipefail
cd "$(dirname "$0")/.."
names=()
secs=()
report() {
  local total=0
  echo "step times (wall seconds):"
  for i in "${!names[@]}"; do
    printf '  %-12s %5d\n' "${names[$i]}" "${secs[$i]}"
    total=$((total + secs[i]))
  done
  printf '  %-12s %5d\n' total "$total"
}
for step in "$@"; do
  start=$(date +%s)
  make --no-print-directory "$step"
  status=$?
  names+=("$step")
  secs+=($(($(date +%s) - start)))
  if [[ $status != 0 ]]; then
    report
    echo "step $step failed (exit $status)" >&2
    exit "$status"
  fi
done
report
