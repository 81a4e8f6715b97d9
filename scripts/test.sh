#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit tests and the integration tests
# that start the real gatilho and gatilho-sim binaries on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The reference Standard Webhooks verifier the delivery tests run, installed from its lock file;
# again only when the lock file changed since the last install or node_modules is gone.
interop=tests/interop
if ! cmp -s "$interop/package-lock.json" "$interop/node_modules/.gatilho-installed-lock"; then
  npm ci --prefix "$interop" --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
  cp "$interop/package-lock.json" "$interop/node_modules/.gatilho-installed-lock"
fi
scripts/build.sh
build_dir=${BUILD_DIR:-build}
cd "$build_dir"
ctest --output-on-failure --timeout 600 -j"${JOBS:-$(nproc)}"
