#!/usr/bin/env bash
# Configures and builds into ./build (or $BUILD_DIR): everything, or only the targets named.
#   scripts/build.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
# ccache then keys on paths relative to the checkout and not on the build folder's path (which
# it otherwise hashes for debug builds), so a fresh clone elsewhere (CI) reuses what an earlier
# build compiled. The cost: debug info may name the folder of the build that filled the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j"${JOBS:-$(nproc)}" "${targets[@]}"
