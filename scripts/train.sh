#!/usr/bin/env bash
# Sets up (idempotent), then trains on the built-in data. Extra arguments go to `mmbalance train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/mmbalance.js train "$@"
