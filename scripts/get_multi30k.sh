#!/usr/bin/env bash
# Fetches Multi30k task 1 (raw and lowercased/tokenized; de, en, fr) into downloads/multi30k/.
#   scripts/get_multi30k.sh                 download from the dataset's public GitHub repository
#   scripts/get_multi30k.sh --from DIR      copy from a local folder laid out like ours
#                                           (DIR/*.gz and DIR/tok/*.lc.norm.tok.*.gz)
#   scripts/get_multi30k.sh --dest DIR      put the files elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
from="" dest="downloads/multi30k"
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --dest) dest="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "get_multi30k: unknown option '$1'" >&2; exit 2 ;;
  esac
done
splits=(train val test_2016_flickr)
langs=(de en fr)
mkdir -p "$dest/tok"
if [ -n "$from" ]; then
  for s in "${splits[@]}"; do for l in "${langs[@]}"; do
    cp "$from/$s.$l.gz" "$dest/$s.$l.gz"
    cp "$from/tok/$s.lc.norm.tok.$l.gz" "$dest/tok/$s.lc.norm.tok.$l.gz"
  done; done
else
  base="https://raw.githubusercontent.com/multi30k/dataset/master/data/task1"
  for s in "${splits[@]}"; do for l in "${langs[@]}"; do
    curl -fsSL "$base/raw/$s.$l.gz" -o "$dest/$s.$l.gz"
    curl -fsSL "$base/tok/$s.lc.norm.tok.$l" | gzip -9 > "$dest/tok/$s.lc.norm.tok.$l.gz"
  done; done
fi
for s in "${splits[@]}"; do
  n=$(zcat "$dest/$s.de.gz" | wc -l)
  echo "get_multi30k: $s: $n lines"
done
