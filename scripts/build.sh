#!/usr/bin/env bash
# Configures and builds nmt into build/ (binary: build/nmt). With arguments, builds only those
# targets (`scripts/build.sh nmt`: the binary without the tests); scripts/test.sh builds the rest
# in the same tree without rebuilding what is already built.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build build -j "$(nproc)" "${targets[@]}"
