#!/usr/bin/env bash
# Benchmark 2, the engine in real time: builds what it needs (Release, in build-engine/ unless
# BUILD_DIR says otherwise), then runs the real daemon against gatilho-sim on loopback and prints
# a table (also kept in bench/results/engine.txt); the figures go to bench/results/engine.json.
# About 6 minutes on 2 cores.
#   bench/run_engine.sh
# Knobs (environment): SMALL=100000 LARGE=1000000 CONCURRENCY=16,64 SECONDS_PER_RUN=10 REPEATS=3
# JOBS=2
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build-engine}
work=${WORK_DIR:-$(mktemp -d /tmp/gatilho-engine.XXXXXX)}
out=${OUT:-bench/results/engine.json}

BUILD_DIR=$build_dir BUILD_TYPE=${BUILD_TYPE:-Release} JOBS=${JOBS:-2} \
  scripts/build.sh gatilho gatilho-sim seed_watches raw_curl_loop engine_bench

load=$(uptime | sed 's/.*load average: //')
echo "load average (1, 5, 15 min) before the run: $load"
if awk -v l="${load%%,*}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "warning: the machine is busy (load ${load%%,*} on $(nproc) cores); figures will be low" >&2
fi

# The work folder holds stores of up to a few hundred MB; remove it unless asked to keep it.
if [[ -z "${KEEP_WORK:-}" ]]; then trap 'rm -rf "$work"' EXIT; fi

"$build_dir/bench/engine_bench" --bin-dir "$build_dir" --work "$work" --out "$out" \
  --small "${SMALL:-100000}" --large "${LARGE:-1000000}" \
  --concurrency "${CONCURRENCY:-16,64}" --seconds "${SECONDS_PER_RUN:-10}" \
  --repeats "${REPEATS:-3}" --load "$load" | tee "${out%.json}.txt"

echo "load average after the run: $(uptime | sed 's/.*load average: //')" | tee -a "${out%.json}.txt"
