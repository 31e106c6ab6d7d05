#!/usr/bin/env bash
# Configures and builds nmt (binary: BUILD/nmt). With targets, builds only those
# (`scripts/build.sh nmt`: the binary without the tests); scripts/test.sh builds the rest in the
# same tree without rebuilding what is already built.
#
# Which LibTorch: Debian's libtorch-dev by default (build/). `--torch pip` takes the wheel that
# `scripts/install-deps.sh --torch pip` installed (build-pip/); `--torch DIR` any other, DIR being
# an unpacked libtorch zip, a site-packages/torch, or a directory holding TorchConfig.cmake
# (build-torch/). NMT_BUILD_DIR names another build directory; NMT_CMAKE_ARGS adds CMake settings;
# NMT_OTHER_BINARY, an nmt built on another LibTorch for the tests that exchange models between
# the two. `nmt info` says which LibTorch a binary runs on.
set -euo pipefail
cd "$(dirname "$0")/.."
torch=""
if [ "${1:-}" = --torch ]; then
  torch=${2:?"build.sh: --torch takes pip or a LibTorch directory"}
  shift 2
fi
build=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
if [ "$torch" = pip ]; then
  version=${NMT_TORCH_VERSION:-2.15.0}
  venv=${NMT_TORCH_VENV:-$HOME/.cache/nmt/torch-$version}
  [ -x "$venv/bin/python" ] || { echo "build.sh: no wheel in $venv: run scripts/install-deps.sh --torch pip" >&2; exit 2; }
  torch=$("$venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  build=build-pip
elif [ -n "$torch" ]; then
  [ -d "$torch" ] || { echo "build.sh: --torch $torch is not a directory" >&2; exit 2; }
  torch=$(cd "$torch" && pwd)
  [ -d "$torch/share/cmake" ] && torch="$torch/share/cmake"
  build=build-torch
fi
if [ -n "$torch" ]; then
  # Its root too, searched first: else find_library may take a system libtorch.so for TORCH_LIBRARY.
  root=$(cd "$torch" && [ -f ../../lib/libtorch.so ] && cd ../.. && pwd || pwd)
  cmake_args+=(-DCMAKE_PREFIX_PATH="$root;$torch")
  # A CUDA LibTorch configures only with a CUDA toolkit and an architecture list (no GPU probe).
  if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
    cmake_args+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
                 -DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0}")
  fi
fi
[ -n "${NMT_OTHER_BINARY:-}" ] && cmake_args+=(-DNMT_OTHER_BINARY="$NMT_OTHER_BINARY")
# More CMake settings, space-separated (scripts/gpu_check.sh: -DBUILD_TESTING=OFF).
read -r -a extra <<< "${NMT_CMAKE_ARGS:-}"
cmake_args+=("${extra[@]}")
build=${NMT_BUILD_DIR:-$build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" "${cmake_args[@]}" >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
