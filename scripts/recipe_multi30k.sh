#!/usr/bin/env bash
# A Multi30k recipe from the data folder to final test scores, with nmt's own commands:
#   scripts/recipe_multi30k.sh SRC TGT [tok|raw] [--from DIR] [--minutes M] [--threads N] [--nproc N] [--members N] [--quick]
#     tok    lowercased, tokenized files; BLEU --tokenize none against the tok references (default)
#     raw    cased raw text with SentencePiece; cased, detokenized sacreBLEU (13a)
#     --from DIR     copy Multi30k from a local folder instead of downloading it
#     --data DIR     use Multi30k where it already is (default: downloads/multi30k)
#     --runs DIR     where data, models and results go (default: runs)
#     --minutes M    stop training within M minutes of wall time (training.max_minutes)
#     --threads N    intra-op threads for every nmt command (default: nmt's own, all cores)
#     --nproc N      train data-parallel on N processes (nmt train --nproc-per-node N)
#     --members N    train N models side by side (seeds 1..N, the cores shared out) and decode their ensemble
#     --quick        a few hundred pairs and a few steps, to check the recipe end to end
#     --set KEY=VALUE  override a config key in every command (e.g. training.seed=2), repeatable
# Steps: get data, preprocess, train, average the 3 best checkpoints by validation, evaluate greedy and beam.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,15p' "$0"; exit 2; }
src=$1 tgt=$2; shift 2
variant=tok
if [ "${1:-}" = tok ] || [ "${1:-}" = raw ]; then variant=$1; shift; fi
from="" quick=0 minutes="" threads="" data=downloads/multi30k runs=runs launch=() members=1
overrides=()
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --nproc) launch=(--nproc-per-node "$2"); shift 2 ;;
    --members) members="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --set) overrides+=(--set "$2"); shift 2 ;;
    *) echo "recipe_multi30k: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ "$members" =~ ^[1-9][0-9]*$ ]] || { echo "recipe_multi30k: --members takes a count of 1 or more, not '$members'" >&2; exit 2; }
if [ "$members" -gt 1 ] && [ ${#launch[@]} -gt 0 ]; then
  echo "recipe_multi30k: --members and --nproc do not combine: members already share the cores out" >&2; exit 2
fi
name="multi30k-$src-$tgt"; [ "$variant" = raw ] && name="$name-raw"
template="configs/$name.yaml"
[ -f "$template" ] || { echo "recipe_multi30k: no config $template" >&2; exit 2; }
nmt=${NMT_BIN:-./build/nmt}
[ -x "$nmt" ] || bash scripts/build.sh
if [ -n "$threads" ]; then nmt="$nmt --threads $threads"; fi
[ -f "$data/tok/train.lc.norm.tok.$src.gz" ] || bash scripts/get_multi30k.sh --dest "$data" ${from:+--from "$from"}

sets=()
work="$runs/$name"
if [ "$quick" = 1 ]; then
  # A slice of a few hundred pairs in a scratch copy of the data layout, and a tiny model.
  work="$runs/$name-quick"
  mkdir -p "$work/slice/tok"
  for f in "$data"/*.gz "$data"/tok/*.gz; do
    zcat "$f" | sed -n '1,300p' | gzip > "$work/slice/${f#"$data"/}"  # sed reads it all: no SIGPIPE
  done
  data="$work/slice"
  sets=(--set training.max_steps=6 --set training.valid_every=3 --set model.emb_size=32 --set model.enc_hidden=32
        --set model.dec_hidden=64 --set data.vocab.min_freq=1 --set data.tokenizer.vocab_size=300)
fi
sets+=(${overrides[@]+"${overrides[@]}"})
mkdir -p "$work"
config="$work/config.yaml"
sed "s|downloads/multi30k|$data|g; s|runs/$name/|$work/|g" "$template" > "$config"
resolved=$($nmt config --config "$config" "${sets[@]}")
model_dir=$(awk '/^training:/{t=1} t && /^  dir: /{print $2; exit}' <<<"$resolved")
# The resolved config lists train, valid, then test: the last src/tgt pair is the test set.
test_src=$(sed -n 's/^    src: //p' <<<"$resolved" | tail -1)
test_ref=$(sed -n 's/^    tgt: //p' <<<"$resolved" | tail -1)
score=(--tokenize none)
[ "$variant" = raw ] && score=(--tokenize 13a)

$nmt preprocess --config "$config" "${sets[@]}" --force
# A time budget: training stops (validating and checkpointing) before this much wall time.
if [ -n "$minutes" ]; then sets+=(--set training.max_minutes="$minutes"); fi
start=$(date +%s)
if [ "$members" = 1 ]; then
  member_dirs=("$model_dir")
  $nmt train --config "$config" "${sets[@]}" --overwrite ${launch[@]+"${launch[@]}"}
else
  # Each member: its own folder and seed, and its share of the cores (or --threads each).
  share=${threads:-$(( $(nproc) / members ))}
  [ "$share" -ge 1 ] || share=1
  member_dirs=() pids=()
  for k in $(seq 1 "$members"); do
    member_dirs+=("$model_dir-$k")
    ${NMT_BIN:-./build/nmt} --threads "$share" train --config "$config" "${sets[@]}" --set training.dir="$model_dir-$k" \
      --set training.seed="$k" --overwrite > "$model_dir-$k.stdout" 2>&1 &
    pids+=($!)
  done
  for k in $(seq 1 "$members"); do
    if ! wait "${pids[k-1]}"; then
      kill "${pids[@]}" 2>/dev/null || true  # the others' results would be no ensemble
      echo "recipe_multi30k: member $k failed; see $model_dir-$k.stdout" >&2; exit 1
    fi
  done
fi
train_seconds=$(( $(date +%s) - start ))
for dir in "${member_dirs[@]}"; do
  $nmt average --model "$dir" --best --last 3 --output "$dir/checkpoints/averaged.pt"
done

mkdir -p "$model_dir"
results="$model_dir/results.jsonl"
: > "$results"
evaluate() {  # checkpoint-name model-arguments...
  local checkpoint=$1 line; shift
  for beam in 1 5; do
    line=$($nmt evaluate --json "$@" --src "$test_src" --ref "$test_ref" --beam $beam "${score[@]}" --log-level warn)
    echo "{\"recipe\":\"$name\",\"checkpoint\":\"$checkpoint\",\"beam\":$beam,\"train_seconds\":$train_seconds,\"scores\":$line}" | tee -a "$results"
  done
}
if [ "$members" = 1 ]; then
  evaluate best --model "$model_dir"
  evaluate averaged --model "$model_dir" --checkpoint "$model_dir/checkpoints/averaged.pt"
  $nmt report --model "$model_dir" --log-level warn
  echo "recipe: results in $results, report in $model_dir/report.html"
else
  ensemble=()
  for k in $(seq 1 "$members"); do
    evaluate "member $k averaged" --model "${member_dirs[k-1]}/checkpoints/averaged.pt"
    ensemble+=(--model "${member_dirs[k-1]}/checkpoints/averaged.pt")
    $nmt report --model "${member_dirs[k-1]}" --log-level warn
  done
  evaluate "ensemble of $members averaged" "${ensemble[@]}"
  echo "recipe: results in $results, reports in $model_dir-*/report.html"
fi
