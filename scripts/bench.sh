#!/usr/bin/env bash
# Speed benchmark against the PyTorch reference, side by side in one run (see bench/run_bench.py).
#   scripts/bench.sh [--from DIR] [run_bench.py options, e.g. --steps 200 --cells gru,lstm]
# --from copies Multi30k from a local folder (default: ../shared/data/multi30k when present).
set -euo pipefail
cd "$(dirname "$0")/.."
from=""
if [ "${1:-}" = "--from" ]; then from="$2"; shift 2; fi
[ -z "$from" ] && [ -d ../shared/data/multi30k ] && from=../shared/data/multi30k
bash scripts/install-deps.sh
dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q 'install ok installed' || \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch
bash scripts/build.sh
[ -f downloads/multi30k/tok/train.lc.norm.tok.de.gz ] || bash scripts/get_multi30k.sh ${from:+--from "$from"}
# bench-gru and bench-lstm share their data section, hence runs/bench/data.
./build/nmt preprocess --config configs/bench-gru.yaml --log-level warn > /dev/null
/usr/bin/python3 bench/run_bench.py "$@"
