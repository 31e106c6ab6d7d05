#!/usr/bin/env bash
# Puts each peer trainer in its own pinned virtual environment outside the source tree.
# OpenNMT-py 3.5.1 caps torch below 2.3 (it gets 2.2.2); JoeyNMT 2.3.0 runs on torch 2.15.0.
# Venvs live in $NMT_PEERS_DIR (default ~/.cache/nmt/peers) and are reused when their lock is unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${NMT_PEERS_DIR:-$HOME/.cache/nmt/peers}
mkdir -p "$root"
for peer in onmt joey; do
  lock="$here/$peer-requirements.txt"
  venv="$root/$peer"
  if [ -f "$venv/.lock" ] && cmp -s "$lock" "$venv/.lock"; then
    echo "peers: $peer ready in $venv"; continue
  fi
  rm -rf "$venv"
  # Debian's Python 3.11: torch 2.2 has no wheels past CPython 3.12.
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$lock"
  cp "$lock" "$venv/.lock"
  echo "peers: $peer installed in $venv"
done
