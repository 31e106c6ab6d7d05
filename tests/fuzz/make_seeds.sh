#!/usr/bin/env bash
# Regenerates the binary seeds of the fuzz corpora (an encoded corpus, a tokenizer-free
# checkpoint of the checkpoint harness's tiny model) with a built nmt. The text seeds are
# written by hand. Usage: tests/fuzz/make_seeds.sh [build/nmt]
set -euo pipefail
cd "$(dirname "$0")/../.."
nmt=${1:-build/nmt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Eight distinct words a side: with the four specials, vocabularies of 12 as the harness expects.
printf 'a b c d\ne f g h\na c e g\nb d f h\n' >"$work/train.src"
printf 'p q r s\nt u v w\np r t v\nq s u w\n' >"$work/train.tgt"
cat >"$work/seed.yaml" <<YAML
data:
  train: {src: $work/train.src, tgt: $work/train.tgt}
  valid: {src: $work/train.src, tgt: $work/train.tgt}
  dir: $work/data
  tokenizer: {type: whitespace}
model: {emb_size: 4, enc_hidden: 4, dec_hidden: 6}
training: {dir: $work/model, batch_size: 2, max_steps: 2, valid_every: 2, valid_bleu: 0, early_stopping_metric: loss}
YAML
"$nmt" preprocess --config "$work/seed.yaml" --log-level warn >/dev/null
"$nmt" train --config "$work/seed.yaml" --log-level warn
cp "$work/data/train.src.bin" tests/fuzz/corpus/corpus/train.src.bin
cp "$work/model/checkpoints/ckpt-2.pt" tests/fuzz/corpus/checkpoint/ckpt-2.pt
ls -l tests/fuzz/corpus/corpus tests/fuzz/corpus/checkpoint
