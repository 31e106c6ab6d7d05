#!/usr/bin/env bash
# Multi30k ensembles, chosen on validation and scored once on test, against each model alone:
#   scripts/ensemble_multi30k.sh MODEL_A MODEL_B [--data DIR] [--src de] [--tgt en] [--threads N]
# MODEL_A/B are model directories of the tok recipe (scripts/recipe_multi30k.sh), each with
# checkpoints/averaged.pt. Systems: A alone, B alone, A+B (each member's averaged checkpoint) and
# A's checkpoint ensemble (best + averaged). For each, the length penalty of the best validation
# BLEU (beam 5, --tokenize none) among 1.0, 2.0, 3.0 is kept; then test BLEU, chrF2 and decoding
# time. Prints one JSON line per evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,9p' "$0"; exit 2; }
a=$1 b=$2; shift 2
data=downloads/multi30k src=de tgt=en threads=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --src) src="$2"; shift 2 ;;
    --tgt) tgt="$2"; shift 2 ;;
    --threads) threads="--threads $2"; shift 2 ;;
    *) echo "ensemble_multi30k: unknown option '$1'" >&2; exit 2 ;;
  esac
done
nmt="${NMT_BIN:-./build/nmt} $threads"
tok="$data/tok"
declare -A systems=(
  ["A"]="--model $a/checkpoints/averaged.pt"
  ["B"]="--model $b/checkpoints/averaged.pt"
  ["A+B"]="--model $a/checkpoints/averaged.pt --model $b/checkpoints/averaged.pt"
  ["A best+averaged"]="--model $a --model $a/checkpoints/averaged.pt"
)
evaluate() {  # name split lp models...
  local name=$1 split=$2 lp=$3; shift 3
  local line
  line=$($nmt evaluate --json "$@" --src "$tok/$split.lc.norm.tok.$src.gz" --ref "$tok/$split.lc.norm.tok.$tgt.gz" \
    --beam 5 --tokenize none --set decoding.length_penalty="$lp" --log-level warn)
  echo "{\"system\":\"$name\",\"split\":\"$split\",\"length_penalty\":$lp,\"scores\":$line}"
}
for name in "A" "B" "A+B" "A best+averaged"; do
  best_lp="" best_bleu=-1
  for lp in 1.0 2.0 3.0; do
    # shellcheck disable=SC2086
    record=$(evaluate "$name" val "$lp" ${systems[$name]})
    echo "$record"
    bleu=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["scores"]["bleu"])' "$record")
    if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$bleu" "$best_bleu"; then
      best_lp=$lp best_bleu=$bleu
    fi
  done
  # shellcheck disable=SC2086
  evaluate "$name" test_2016_flickr "$best_lp" ${systems[$name]}
done
