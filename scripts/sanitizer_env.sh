# Shared by scripts/sanitize.sh and scripts/fuzz.sh (sourced, not run): the instrumented build
# and the sanitizer options.
install_clang() {
  bash scripts/install-deps.sh >/dev/null
  local missing=()
  for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

configure_sanitizer_build() {
  install_clang
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DNMT_SANITIZE=ON -DNMT_FUZZ=ON >/dev/null
  cmake --build build-sanitize -j "$(nproc)"
}

# One pattern of test names per line in tests/sanitize/excluded_tests.txt (comments say why).
sanitizer_excluded_tests() {
  { grep -v -e '^#' -e '^$' tests/sanitize/excluded_tests.txt || true; } | paste -sd '|'
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:suppressions=$PWD/tests/sanitize/asan.supp"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/sanitize/ubsan.supp"
