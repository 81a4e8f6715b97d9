#!/usr/bin/env bash
# Installs, from Debian 12's own packages, whatever gatilho needs to build, test and run its
# demo and is not installed yet. Safe to run again: it does nothing when all is present.
#   scripts/install-deps.sh [fuzz]   fuzz adds clang and its libFuzzer runtime (scripts/fuzz.sh)
set -euo pipefail

# openssl (the command) makes the certificates of the TLS tests; faketime lets a reliability
# test move the daemon's wall clock while its monotonic clock runs on.
packages=(
  build-essential cmake pkg-config ccache git curl ca-certificates
  libcurl4-openssl-dev libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  liblmdb-dev lmdb-utils libspdlog-dev libgtest-dev libgmock-dev libssl-dev openssl faketime
)
# Node.js and npm run the reference Standard Webhooks verifier in the tests. A machine may have
# them from another source (with npm bundled in nodejs); Debian's packages are used otherwise.
if [[ ${1:-} == fuzz ]]; then
  packages+=(clang libclang-rt-14-dev)
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (or with sudo) to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
