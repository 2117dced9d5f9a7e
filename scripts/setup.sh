#!/usr/bin/env bash
# Idempotent set-up on Debian/Ubuntu: system packages (libtorch, a C++ toolchain, Node.js),
# npm dependencies, the native addon and the TypeScript build. Each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
dpkg -s libtorch-dev >/dev/null 2>&1 || [ -n "${LIBTORCH:-}" ] || need_pkgs+=(libtorch-dev)
# Gloo's headers and library: c10d's CPU process groups (train --nproc) build against them.
dpkg -s libgloo-dev >/dev/null 2>&1 || [ -n "${LIBTORCH:-}" ] || need_pkgs+=(libgloo-dev)
# Debian's libtorch finds BLAS through libblas.so.3; without OpenBLAS that is the single-threaded
# reference BLAS, which makes every matmul 10-50x slower.
if [ -z "${LIBTORCH:-}" ] && ! dpkg -s libopenblas0-pthread >/dev/null 2>&1 && ! dpkg -s libopenblas0-openmp >/dev/null 2>&1 \
  && ! dpkg -s libopenblas0-serial >/dev/null 2>&1 && ! dpkg -s libblis4 >/dev/null 2>&1 && ! dpkg -s libmkl-rt >/dev/null 2>&1; then
  need_pkgs+=(libopenblas0-pthread)
fi
command -v g++ >/dev/null 2>&1 || need_pkgs+=(g++)
command -v make >/dev/null 2>&1 || need_pkgs+=(make)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
command -v node >/dev/null 2>&1 || need_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || need_pkgs+=(npm)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "mmbalance setup: installing ${need_pkgs[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "mmbalance setup: need root or sudo to install: ${need_pkgs[*]}" >&2
    echo "Install them yourself (apt-get install ${need_pkgs[*]}), or set LIBTORCH=/path/to/libtorch." >&2
    exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# npm dependencies (the install script builds the addon); skipped when the lock file is unchanged.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "mmbalance setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
# Rebuilds only when native/, binding.gyp or the libtorch found changed.
node scripts/build-native.mjs
npx --no-install tsc -p tsconfig.json
