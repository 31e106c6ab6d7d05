#!/usr/bin/env bash
# The one command for nmt next to OpenNMT-py and JoeyNMT: installs what it needs (the peers' pinned venvs, the
# torch 2.15.0 wheel for the reference and for nmt on LibTorch 2.x), builds nmt on both LibTorch lines, fetches
# Multi30k, then measures (bench/peers/peers_bench.py; its options pass through, e.g. --sections train).
# Results: runs/peers/results.jsonl and markdown tables on stdout. Takes hours with the race; not run by CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/install-deps.sh --torch pip
bash bench/peers/setup.sh
bash scripts/build.sh nmt
bash scripts/build.sh --torch pip nmt
[ -f downloads/multi30k/tok/train.lc.norm.tok.de.gz ] || bash scripts/get_multi30k.sh
exec /usr/bin/python3 bench/peers/peers_bench.py "$@"
