#!/usr/bin/env bash
# Installs dependencies, builds nmt and runs the whole test suite (CI runs it on both LibTorch
# lines). `--torch pip`: against PyPI's torch wheel (LibTorch 2.x) in build-pip/, exchanging
# models with build/nmt (Debian's LibTorch 1.13) where that exists.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --torch ]; then
  [ "${2:-}" = pip ] || { echo "test.sh: --torch takes 'pip'" >&2; exit 2; }
  bash scripts/install-deps.sh --torch pip
  [ -x build/nmt ] && export NMT_OTHER_BINARY="$PWD/build/nmt"
  bash scripts/build.sh --torch pip
  cd build-pip
else
  bash scripts/install-deps.sh
  bash scripts/build.sh
  cd build
fi
bash ../scripts/install-test-tools.sh
ctest --output-on-failure -j2 --timeout 900
