#!/usr/bin/env bash
# Installs dependencies, builds nmt and runs the whole test suite (this is what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd build && ctest --output-on-failure -j2 --timeout 900
