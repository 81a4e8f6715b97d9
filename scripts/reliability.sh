#!/usr/bin/env bash
# Builds and runs the reliability suites against the real gatilho and gatilho-sim binaries,
# then prints the figures line each suite reports (RELIABILITY <suite>: key=value ...).
#   scripts/reliability.sh [crash|faults|resources|secrets|all] [--long]
# Without --long each suite runs its short form, the one every test run includes; --long sets
# GATILHO_RELIABILITY=long, the form whose figures RELIABILITY.md quotes (minutes per suite).
# The full output of each suite is kept in build/reliability-<suite>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-all}
mode=short
if [[ ${2:-} == --long || ${1:-} == --long ]]; then
  mode=long
  [[ $suite == --long ]] && suite=${2:-all}
fi
declare -A filters=([crash]='Crash*' [faults]='Fault*' [resources]='Resource*'
                    [secrets]='Secret*:UntrustedTls*')
case "$suite" in
  all) suites=(crash faults resources secrets) ;;
  crash | faults | resources | secrets) suites=("$suite") ;;
  *)
    echo "usage: scripts/reliability.sh [crash|faults|resources|secrets|all] [--long]" >&2
    echo "reliability: unknown suite '$suite'" >&2
    exit 2
    ;;
esac
scripts/build.sh gatilho gatilho-sim gatilho_reliability_tests >/dev/null
build_dir=${BUILD_DIR:-build}
[[ $mode == long ]] && export GATILHO_RELIABILITY=long
status=0
for s in "${suites[@]}"; do
  log=$build_dir/reliability-$s.log
  t0=$(date +%s)
  rc=0
  "$build_dir/tests/gatilho_reliability_tests" --gtest_filter="${filters[$s]}" >"$log" 2>&1 ||
    rc=$?
  result=passed
  if [[ $rc -ne 0 ]]; then
    result="FAILED (exit $rc, see $log)" && status=1
  elif grep -q '^\[==========\] Running 0 tests' "$log"; then
    result="FAILED: no test matches ${filters[$s]}" && status=1
  fi
  echo "== $s ($mode): $result in $(($(date +%s) - t0)) s"
  grep '^RELIABILITY ' "$log" || echo "   (no figures line: see $log)"
done
exit "$status"
