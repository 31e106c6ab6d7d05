#!/usr/bin/env bash
# Installs dependencies, builds nmt, then preprocesses, trains and translates the embedded toy task.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh nmt   # the binary alone: the tests are scripts/test.sh's
./build/nmt preprocess --config configs/toy.yaml --force
./build/nmt train --config configs/toy.yaml --overwrite
echo "== translations of the first test sentences (source / output / reference) =="
zcat data/toy.test.src.gz | head -5 > runs/toy/sample.src
./build/nmt translate --model runs/toy/model --input runs/toy/sample.src > runs/toy/sample.out
paste -d '\n' runs/toy/sample.src runs/toy/sample.out <(zcat data/toy.test.tgt.gz | head -5) | sed 'n;n;G'
./build/nmt evaluate --model runs/toy/model --src data/toy.test.src.gz --ref data/toy.test.tgt.gz
