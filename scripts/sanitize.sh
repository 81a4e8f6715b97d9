#!/usr/bin/env bash
# Builds with sanitizers and runs the tests under them; any sanitizer report fails the run.
#   scripts/sanitize.sh address   ASan+UBSan into build-asan, then every test (ctest)
#   scripts/sanitize.sh thread    TSan into build-tsan, then the test binaries of the threaded
#                                 parts: net, api, store, daemon and the integration tests
# JOBS (default 1) sets build and ctest parallelism; the build runs under nice -n 10.
# Reports of every process, including the gatilho and gatilho-sim children of the integration
# tests, are written to <build dir>/sanitizer-logs; a child's report would otherwise be lost in
# a pipe the test does not read, so the run also fails when that folder is not empty.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-address}
jobs=${JOBS:-1}
case "$mode" in
  address) build_dir=build-asan ;;
  thread) build_dir=build-tsan ;;
  *)
    echo "usage: scripts/sanitize.sh [address|thread] (got '$mode')" >&2
    exit 2
    ;;
esac
logs="$PWD/$build_dir/sanitizer-logs"
source scripts/ccache-env.sh

supp="$PWD/scripts"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$logs/tsan"
if [[ -f $supp/lsan.supp ]]; then
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
fi
if [[ -f $supp/tsan.supp ]]; then
  TSAN_OPTIONS+=":suppressions=$supp/tsan.supp"
fi

build_s=0
test_s=0
# Runs "$@" and adds its wall time to the variable named by $1.
timed() {
  local into=$1 t0 rc=0
  shift
  t0=$(date +%s)
  "$@" || rc=$?
  printf -v "$into" '%d' $((${!into} + $(date +%s) - t0))
  return "$rc"
}

timed build_s nice -n 10 cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGATILHO_SANITIZE="$mode" -DGATILHO_BUILD_BENCH=OFF >/dev/null
rm -rf "$logs"
mkdir -p "$logs"
status=0
if [[ $mode == address ]]; then
  timed build_s nice -n 10 cmake --build "$build_dir" -j"$jobs"
  timed test_s ctest --test-dir "$build_dir" -j"$jobs" --output-on-failure --timeout 900 ||
    status=$?
else
  # Each binary runs as soon as it is built, the HTTP server's first: it has the most threads.
  for t in gatilho_net_tests gatilho_api_tests gatilho_store_tests gatilho_daemon_tests \
    gatilho_integration_tests; do
    timed build_s nice -n 10 cmake --build "$build_dir" -j"$jobs" --target "$t"
    echo "== $t"
    timed test_s "$build_dir/tests/$t" --gtest_brief=1 || status=$?
  done
fi

if compgen -G "$logs/*" >/dev/null; then
  echo "sanitizer reports in $logs:" >&2
  cat "$logs"/* >&2
  status=1
fi
echo "sanitize $mode: build ${build_s}s, tests ${test_s}s, exit $status"
exit "$status"
