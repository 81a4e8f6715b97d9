#!/usr/bin/env bash
# Configures and builds into ./build (or $BUILD_DIR): everything, or only the targets named.
#   scripts/build.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
source scripts/ccache-env.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j"${JOBS:-$(nproc)}" "${targets[@]}"
