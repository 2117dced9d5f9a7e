#!/usr/bin/env bash
# Sets up (idempotent), lints, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx --no-install eslint --max-warnings 0 src test bench examples
npx --no-install prettier --check --log-level warn src test bench scripts examples
node --test --test-concurrency=1 dist/test/
