#!/usr/bin/env bash
# Benchmark 3, the delivery path in real time: builds delivery_bench (Release, in build-delivery/
# unless BUILD_DIR says otherwise), then runs the real Dispatcher, HttpClient and LMDB store
# against webhook receivers on loopback and prints a table (also kept in
# bench/results/delivery.txt); the figures go to bench/results/delivery.json.
# About 4 minutes on 2 cores.
#   bench/run_delivery.sh
# Knobs (environment): EVENTS=20000 SLOW_EVENTS=2000 SLOW_DELAY_MS=5000 CAPS=8,32 REPEATS=3
# RATE=200 SECONDS_PER_RUN=10 LOG_LEVEL=info JOBS=2 NOTE=text WORK_DIR=dir (the store lives
# there: every attempt is a durable commit, so put it on the disk a data_dir would use)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build-delivery}
work=${WORK_DIR:-$(mktemp -d /tmp/gatilho-delivery.XXXXXX)}
out=${OUT:-bench/results/delivery.json}

BUILD_DIR=$build_dir BUILD_TYPE=${BUILD_TYPE:-Release} JOBS=${JOBS:-2} \
  scripts/build.sh delivery_bench

load=$(uptime | sed 's/.*load average: //')
echo "load average (1, 5, 15 min) before the run: $load"
if awk -v l="${load%%,*}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "warning: the machine is busy (load ${load%%,*} on $(nproc) cores); figures will be low" >&2
fi
# Other builds on a shared machine are the usual reason for a busy one; say so in the results.
compilers=$(ps -e -o comm= | grep -cxE 'cc1plus|cc1|ld|collect2' || true)
note="compiler processes running at the start: ${compilers:-0}${NOTE:+; $NOTE}"

# The work folder holds a store per try (removed as each ends) and the log.
if [[ -z "${KEEP_WORK:-}" ]]; then trap 'rm -rf "$work"' EXIT; fi

"$build_dir/bench/delivery_bench" --work "$work" --out "$out" \
  --events "${EVENTS:-20000}" --slow-events "${SLOW_EVENTS:-2000}" \
  --slow-delay-ms "${SLOW_DELAY_MS:-5000}" --caps "${CAPS:-8,32}" --repeats "${REPEATS:-3}" \
  --rate "${RATE:-200}" --seconds "${SECONDS_PER_RUN:-10}" --log-level "${LOG_LEVEL:-info}" \
  --load "$load" --note "$note" | tee "${out%.json}.txt"

echo "load average after the run: $(uptime | sed 's/.*load average: //')" |
  tee -a "${out%.json}.txt"
