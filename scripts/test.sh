#!/usr/bin/env bash
# Sets up (idempotent), lints, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The report tests open the HTML reports in a real browser: Debian's chromium, driven headless.
if ! command -v chromium >/dev/null 2>&1 && [ -z "${MMBALANCE_CHROMIUM:-}" ]; then
  echo "mmbalance test: installing chromium for the browser tests of the HTML reports"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "mmbalance test: need root or sudo to install chromium (apt-get install chromium), or set MMBALANCE_CHROMIUM=/path/to/chromium" >&2
    exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
npx --no-install eslint --max-warnings 0 src test bench examples
npx --no-install prettier --check --log-level warn src test bench scripts examples
# The tests' scratch files (runs, datasets, reports) go to one folder, removed when every test
# passed and kept for a look when one failed.
scratch="$(mktemp -d -t mmbalance-test-XXXXXX)"
status=0
TMPDIR="$scratch" node --test --test-concurrency=1 dist/test/ || status=$?
if [ "$status" -eq 0 ]; then rm -rf "$scratch"; else echo "mmbalance test: the failed tests' files are in $scratch" >&2; fi
exit "$status"
