#!/usr/bin/env bash
# Installs every build and run dependency of nmt on Debian 12 (run as root).
# Idempotent: packages already present are skipped by apt.
# Makes OpenBLAS the system BLAS: Debian's reference libblas is ~100x slower.
# `--torch pip` also puts PyPI's torch wheel (LibTorch 2.x, $NMT_TORCH_VERSION, default 2.15.0)
# in a virtual environment outside the source tree, $NMT_TORCH_VENV (default
# ~/.cache/nmt/torch-VERSION), kept for the next run; scripts/build.sh --torch pip builds on it.
set -euo pipefail
torch_line=debian
if [ "${1:-}" = --torch ]; then
  [ "${2:-}" = pip ] || { echo "install-deps.sh: --torch takes 'pip'" >&2; exit 2; }
  torch_line=pip
fi

packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev
  libsentencepiece-dev sentencepiece zlib1g-dev libicu-dev libzip-dev libcpp-httplib-dev
  libgloo-dev   # c10d/Gloo headers: data-parallel training
  libdnnl-dev   # oneDNN: int8 decoding's onednn-direct engine
  libgoogle-perftools-dev   # tcmalloc, nmt's allocator
  libprotobuf-c-dev protobuf-c-compiler libboost-dev   # TensorBoard event files: protobuf-c, Boost.CRC
  python3-torch # torchrun (a test runs nmt under it) and the PyTorch reference of bench/
  libgtest-dev libgmock-dev
  wrk chromium chromium-driver python3-selenium   # nmt serve: load figures and the browser test
  qemu-user   # qemu-x86_64 -cpu EPYC-Milan: tests on an emulated AVX2-only CPU (AMD Zen 3)
  iproute2   # ip netns and veth: the two-host data-parallel tests; tc: bench/two_hosts_bench.py
  nginx   # the tested reverse-proxy example in configs/nginx/ (its own service is not used)
  libopenblas0-openmp libopenblas-openmp-dev
  python3 gzip
  python3-venv   # --torch pip: the wheel's virtual environment; the tests' PyPI packages
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Installed for a test only: do not leave Debian's nginx service listening on port 80.
  if printf '%s\n' "${missing[@]}" | grep -qx nginx && [ -d /run/systemd/system ]; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

# Point the BLAS/LAPACK alternatives at OpenBLAS and take the reference BLAS out of the way.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  target=$(ls /usr/lib/"$arch"/openblas-openmp/"$lib" 2>/dev/null || true)
  if [ -n "$target" ]; then
    update-alternatives --set "$lib-$arch" "$target" >/dev/null
  fi
done
if dpkg-query -W -f='${Status}' libblas3 2>/dev/null | grep -q 'install ok installed'; then
  # Remove the reference BLAS so it can never be picked, but only if nothing else would go with it.
  if ! apt-get remove -s libblas3 libblas-dev 2>/dev/null | grep '^Remv' | grep -qv -E '^Remv (libblas3|libblas-dev) '; then
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq libblas3 libblas-dev >/dev/null
  fi
fi
echo "install-deps: BLAS is $(readlink -f /usr/lib/"$arch"/libblas.so.3)"

if [ "$torch_line" = pip ]; then
  version=${NMT_TORCH_VERSION:-2.15.0}
  venv=${NMT_TORCH_VENV:-$HOME/.cache/nmt/torch-$version}
  if ! "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$version')" 2>/dev/null; then
    # Debian's python3: the wheel's ABI tag must match the interpreter the venv is made from.
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "torch==$version"
  fi
  echo "LibTorch $version from PyPI in $venv"
fi
