#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a GPU machine without network or apt into .gpu-deps/
# (ignored by git): root.tar.xz, the headers, CMake and pkg-config files and shared libraries of
# nmt's Debian build dependencies with the libraries they load, spm_train and pkg-config; and the
# PyTorch reference script for the benchmark. Carry .gpu-deps and downloads/multi30k there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-deps
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
rm -rf "$out"
mkdir -p "$out/shared/bench"
packages=(libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev libicu-dev libsentencepiece-dev
          libzip-dev libcpp-httplib-dev libssl-dev libbrotli-dev libgloo-dev zlib1g-dev sentencepiece pkgconf
          pkgconf-bin libpkgconf3)
copy() {  # one path, a link kept as a link; /lib is /usr/lib on Debian 12
  local to=${1/#\/lib\//\/usr\/lib\/}
  [ -e "$root$to" ] || [ -L "$root$to" ] && return 0
  mkdir -p "$root$(dirname "$to")"
  cp -a "$1" "$root$to"
}
copy_chain() {  # a link, the links it goes through, and the file they end at
  local path=$1
  while [ -L "$path" ]; do
    copy "$path"
    local next
    next=$(readlink "$path")
    [[ $next = /* ]] || next=$(dirname "$path")/$next
    path=$next
  done
  copy "$path"
}
for package in "${packages[@]}"; do
  dpkg -L "$package" >/dev/null 2>&1 || { echo "pack_gpu_deps.sh: $package is not installed (scripts/install-deps.sh)" >&2; exit 2; }
  while read -r path; do
    [ -f "$path" ] || [ -L "$path" ] || continue
    case "$path" in
      /usr/share/doc/*|/usr/share/man/*|/usr/share/lintian/*|*.a) continue ;;
      */libgloo*.so*) continue ;;  # LibTorch carries gloo; nmt needs its headers only
    esac
    copy_chain "$path"
  done < <(dpkg -L "$package")
done
# The libraries the copied ones load, except the C and C++ runtimes every machine has.
find "$root" \( -name '*.so*' -o -path '*/bin/*' \) -type f | while read -r file; do
  ldd "$file" 2>/dev/null | awk '$3 ~ /^\// {print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*|libpthread.so*|libdl.so*|librt.so*) continue ;;
  esac
  copy_chain "$lib"
done
tar -cJf "$out/root.tar.xz" -C "$root" .
cp ../shared/bench/torch_reference.py "$out/shared/bench/"
echo "$out: $(du -sh "$out" | cut -f1), $(du -sh "$root" | cut -f1) unpacked (carry it with downloads/multi30k)"
