#!/usr/bin/env bash
# Builds nmt's own code with AddressSanitizer and UndefinedBehaviorSanitizer (clang, into
# build-sanitize/, with the libFuzzer targets) and runs the whole test suite there.
# LibTorch, OpenBLAS and the other system libraries stay uninstrumented; tests/sanitize/ lists
# what that makes necessary, and why. Usage: scripts/sanitize.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitizer_env.sh
configure_sanitizer_build
bash scripts/install-test-tools.sh
excluded=$(sanitizer_excluded_tests)
ctest --test-dir build-sanitize --output-on-failure -j2 --timeout 1800 ${excluded:+-E "$excluded"} "$@"
