#!/usr/bin/env bash
# nmt on a GPU machine in one run of at most about 10 minutes: builds against that machine's
# PyTorch (its LibTorch, with CUDA), trains the toy task on CUDA in fp32, bf16 and fp16 against a
# CPU run, translates on CUDA, and measures bench-gru target tokens/s on the GPU against
# ../shared/bench/torch_reference.py --device cuda in fp32 and bf16. Writes everything under OUT.
#
# The machine needs no network: first run scripts/pack_gpu_deps.sh here, then carry .gpu-deps and
# downloads/multi30k (scripts/get_multi30k.sh) with the tree. NMT_GPU_PYTHON names the Python
# that has torch (default python3); NMT_GPU_ROUNDS the benchmark's alternating rounds (2).
#   usage: scripts/gpu_check.sh OUT
set -uo pipefail
out=${1:?usage: scripts/gpu_check.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
exec > >(tee "$out/gpu_check.log") 2>&1
py=${NMT_GPU_PYTHON:-python3}
work=$(mktemp -d /tmp/nmt-gpu.XXXX)
step() { echo "== $(date +%T) $*"; }
fail() { echo "gpu_check: $*"; exit 1; }

step "machine"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed"
lscpu > "$out/lscpu.txt" 2>&1
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' | tee "$out/torch.txt" || fail "no torch in $py"
torch_dir=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))')

if [ -f .gpu-deps/root.tar.xz ]; then
  step "dependencies from .gpu-deps"
  deps=/tmp/nmt-gpu-deps  # the same path each time, so that a rerun reuses build-gpu
  rm -rf "$deps"
  mkdir -p "$deps"
  tar -xJf .gpu-deps/root.tar.xz -C "$deps" || fail "cannot unpack .gpu-deps/root.tar.xz"
  lib=$deps/usr/lib/x86_64-linux-gnu
  export PATH=$deps/usr/bin:$PATH LD_LIBRARY_PATH=$lib:$deps/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export CMAKE_PREFIX_PATH=$deps/usr PKG_CONFIG_SYSROOT_DIR=$deps CPATH=$deps/usr/include/x86_64-linux-gnu
  export PKG_CONFIG_LIBDIR=$lib/pkgconfig:$deps/usr/share/pkgconfig PKG_CONFIG_PATH=$lib/pkgconfig:$deps/usr/share/pkgconfig
fi

step "build against $torch_dir"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1)
export TORCH_CUDA_ARCH_LIST=${arch:-9.0}
start=$SECONDS
NMT_BUILD_DIR=build-gpu NMT_CMAKE_ARGS="-DBUILD_TESTING=OFF" bash scripts/build.sh --torch "$torch_dir" nmt \
  > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; fail "build failed (build.log)"; }
echo "built in $((SECONDS - start)) s"
nmt=$PWD/build-gpu/nmt
"$nmt" info | tee "$out/info.txt"

step "toy task: CPU fp32 against CUDA fp32, bf16, fp16 (300 steps each)"
toy=(--config configs/toy.yaml --set data.dir="$work/toy-data" --set training.max_steps=300
     --set training.valid_every=300 --set training.log_every=25 --log-level warn --overwrite)
"$nmt" preprocess --config configs/toy.yaml --set data.dir="$work/toy-data" --log-level warn || fail "toy preprocess"
for run in cpu:fp32 cuda:fp32 cuda:bf16 cuda:fp16; do
  device=${run%:*} precision=${run#*:}
  start=$SECONDS
  "$nmt" train "${toy[@]}" --set training.dir="$work/toy-$device-$precision" --set training.device="$device" \
    --set training.precision="$precision" || echo "toy $run: training failed"
  echo "toy $run: $((SECONDS - start)) s"
done
for precision in fp32 bf16 fp16; do
  "$nmt" evaluate --model "$work/toy-cuda-fp32" --device cuda --precision "$precision" --json \
    --src data/toy.test.src.gz --ref data/toy.test.tgt.gz > "$out/toy-translate-cuda-$precision.json" \
    || echo "toy: translating on CUDA in $precision failed"
done
"$nmt" evaluate --model "$work/toy-cpu-fp32" --json --src data/toy.test.src.gz --ref data/toy.test.tgt.gz \
  > "$out/toy-translate-cpu-fp32.json" || echo "toy: translating on the CPU failed"
for d in "$work"/toy-*-*; do cp "$d/metrics.jsonl" "$out/$(basename "$d").metrics.jsonl" 2>/dev/null; done

step "bench-gru on the GPU: nmt against torch_reference.py"
data=downloads/multi30k/tok
reference=.gpu-deps/shared/bench/torch_reference.py
[ -f "$reference" ] || reference=../shared/bench/torch_reference.py
if [ -f "$data/train.lc.norm.tok.de.gz" ] && [ -f "$reference" ]; then
  "$nmt" preprocess --config configs/bench-gru.yaml --set data.dir="$work/bench-data" --log-level warn
  for round in $(seq "${NMT_GPU_ROUNDS:-2}"); do
    for precision in fp32 bf16; do
      "$nmt" train --config configs/bench-gru.yaml --set data.dir="$work/bench-data" --set training.dir="$work/bench-$precision" \
        --set training.device=cuda --set training.precision="$precision" --set training.max_steps=110 \
        --set training.log_every=10 --set training.valid_every=1000000 --set training.valid_bleu=0 --log-level warn \
        --overwrite && "$py" -c "import sys, json; sys.path.insert(0, 'bench'); from train_metrics import tokens_per_sec_after
print(json.dumps({'impl': 'nmt', 'round': $round, 'precision': '$precision', 'tokens_per_sec': tokens_per_sec_after('$work/bench-$precision', 10)}))" \
        | tee -a "$out/bench.jsonl"
      "$py" "$reference" train --src "$data/train.lc.norm.tok.de.gz" --tgt "$data/train.lc.norm.tok.en.gz" --cell gru \
        --device cuda --precision "$precision" --steps 100 --warmup-steps 10 \
        | "$py" -c "import sys, json; r = json.loads(sys.stdin.read()); r['round'] = $round; print(json.dumps(r))" \
        | tee -a "$out/bench.jsonl"
    done
  done
else
  echo "bench: no $data or $reference; carry downloads/multi30k and .gpu-deps (scripts/pack_gpu_deps.sh)"
fi

step "summary"
"$py" bench/gpu_summary.py "$out" | tee "$out/summary.md"
rm -rf "$work"
