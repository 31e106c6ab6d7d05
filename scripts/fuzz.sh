#!/usr/bin/env bash
# Fuzzes one reader with libFuzzer for SECONDS (build-sanitize/, ASan + UBSan).
# Usage: scripts/fuzz.sh TARGET SECONDS   (targets: tests/fuzz/*.cpp)
# New inputs go to fuzz-work/TARGET/ (not committed); a crash is written to
# fuzz-work/TARGET/crash-* and belongs in tests/fuzz/crashes/TARGET/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
[ -f "tests/fuzz/$target.cpp" ] || { echo "fuzz.sh: no target '$target' (see tests/fuzz/*.cpp)" >&2; exit 2; }
source scripts/sanitizer_env.sh
configure_sanitizer_build >/dev/null
work="fuzz-work/$target"
mkdir -p "$work"
# The checkpoint seeds are ~64 KB; text inputs stay small.
max_len=4096
[ "$target" = checkpoint ] && max_len=80000
export OMP_NUM_THREADS=1
exec "build-sanitize/fuzz_$target" "$work" "tests/fuzz/corpus/$target" -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
  -artifact_prefix="$work/"
