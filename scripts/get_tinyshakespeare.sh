#!/usr/bin/env bash
# Fetches Tiny Shakespeare and writes nanoGPT's character split: the first 90% of characters
# (1,003,854) to train.txt, the last 10% (111,540) to valid.txt.
#   scripts/get_tinyshakespeare.sh [--from FILE_OR_DIR] [--dest DIR]   (default dest: downloads/tinyshakespeare)
set -euo pipefail
cd "$(dirname "$0")/.."
url=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
from="" dest=downloads/tinyshakespeare
while [[ $# -gt 0 ]]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --dest) dest="$2"; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$dest"
if [[ -n "$from" ]]; then
  [[ -d "$from" ]] && from="$(ls "$from"/input.txt* | head -1)"
  [[ -f "$from" ]] || { echo "no such file: $from" >&2; exit 1; }
  case "$from" in *.gz) gzip -dc "$from" > "$dest/input.txt" ;; *) cp "$from" "$dest/input.txt" ;; esac
else
  curl -fsSL "$url" -o "$dest/input.txt"
fi
python3 - "$dest" <<'PY'
import sys
dest = sys.argv[1]
text = open(f"{dest}/input.txt", encoding="utf-8").read()
cut = int(len(text) * 0.9)
open(f"{dest}/train.txt", "w", encoding="utf-8").write(text[:cut])
open(f"{dest}/valid.txt", "w", encoding="utf-8").write(text[cut:])
print(f"{dest}: {len(text)} characters, train {cut}, valid {len(text) - cut}")
PY
