#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan) in build-fuzz and runs each
# for SECONDS (default 30) on a copy of its seed corpus, one after another. Prints, per target,
# the executions, executions per second, the corpus size reached and whether it crashed.
# Exits non-zero when any target crashed, leaked or hit undefined behaviour; the input that did
# it is kept in build-fuzz/artifacts/ and its path printed. FUZZ_TARGETS="consult config"
# runs only those; JOBS sets the build's parallelism (default 1).
#
# Usage: scripts/fuzz.sh [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build_dir=build-fuzz
scripts/install-deps.sh fuzz
source scripts/ccache-env.sh

# name max_len dictionary
targets=(
  "consult 4096 json.dict"
  "received_feed 16384 json.dict"
  "config 12288 config.dict"
  "local_api 4096 http.dict"
  "spool_file 2048 -"
  "erp_request 2048 json.dict"
)
wanted=${FUZZ_TARGETS:-}

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DGATILHO_FUZZ=ON -DGATILHO_BUILD_TESTS=OFF \
  -DGATILHO_BUILD_BENCH=OFF >/dev/null
names=()
for entry in "${targets[@]}"; do
  read -r name _ _ <<<"$entry"
  if [[ -z $wanted || " $wanted " == *" $name "* ]]; then names+=("${name}_fuzz"); fi
done
cmake --build "$build_dir" -j"${JOBS:-1}" --target "${names[@]}"

artifacts=$build_dir/artifacts
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
printf '%-14s %12s %9s %7s  %s\n' target executions exec/s corpus result
for entry in "${targets[@]}"; do
  read -r name max_len dict <<<"$entry"
  if [[ -n $wanted && " $wanted " != *" $name "* ]]; then continue; fi
  corpus=$work/$name
  mkdir -p "$corpus"
  cp fuzz/corpus/"$name"/* "$corpus"/
  args=(-max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1
        -artifact_prefix="$artifacts/$name-" -rss_limit_mb=2048)
  [[ $dict != - ]] && args+=(-dict=fuzz/dict/"$dict")
  log=$artifacts/$name.log
  status=0
  "$build_dir/fuzz/${name}_fuzz" "${args[@]}" "$corpus" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  result=ok
  if [[ $status -ne 0 ]]; then
    failed=1
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    result="CRASH (exit $status): ${crash:-see $log}"
  fi
  printf '%-14s %12s %9s %7s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "$size" "$result"
done
exit "$failed"
