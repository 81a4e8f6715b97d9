#!/usr/bin/env bash
# Benchmark 1, the polling policy in virtual time: builds policy_bench (Release, in build-bench/
# unless BUILD_DIR says otherwise), replays each scenario's simulated day through every
# strategy, prints the table and the verdict on each target, and writes
# bench/results/policy.json and the plot bench/results/policy.png (gnuplot, installed from
# Debian's packages when missing).
#   bench/run_policy.sh [policy_bench flags, e.g. --only overload --intake-hours 6]
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build-bench}
results=bench/results
mkdir -p "$results"

if ! command -v gnuplot >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "run_policy: installing gnuplot-nox for the plot"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
  else
    echo "run_policy: gnuplot is missing; the table and JSON are written, not the plot" >&2
  fi
fi

BUILD_DIR=$build_dir BUILD_TYPE=${BUILD_TYPE:-Release} JOBS=${JOBS:-2} scripts/build.sh policy_bench

"$build_dir/bench/policy_bench" --json "$results/policy.json" \
  --plot-data "$results/policy.dat" "$@" | tee "$results/policy.txt"

if command -v gnuplot >/dev/null; then
  gnuplot -e "data='$results/policy.dat'; out='$results/policy.png'" bench/policy_plot.gp
  echo "plot: $results/policy.png"
fi
