#!/usr/bin/env python3
"""Preprocessing throughput: generates a synthetic 1M-pair corpus, runs `nmt preprocess` with the
`word` tokenizer on it, and reports pairs/s and the peak resident memory of nmt.

Usage: bench/preprocess_bench.py [--pairs 1000000] [--nmt build/nmt] [--work runs/bench-preprocess]
"""
import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import time

WORDS = ("Männer Frauen Kinder spielen laufen schnell über die Straße , . ! ? der die das ein eine "
         "Hund Katze Ball rot blau grün groß klein Café naïve résumé 3,5 km 42").split()


def write_corpus(path, pairs, seed):
    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        for _ in range(pairs):
            out.write(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=1000000)
    p.add_argument("--nmt", default="build/nmt")
    p.add_argument("--work", default="runs/bench-preprocess")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    for side, seed in (("src", 1), ("tgt", 2)):
        path = f"{a.work}/train.{side}.gz"
        if not os.path.exists(path):
            write_corpus(path, a.pairs, seed)
    valid = f"{a.work}/valid.txt"
    with open(valid, "w") as f:
        f.write("ein Hund läuft .\n")
    config = f"{a.work}/config.yaml"
    with open(config, "w") as f:
        f.write(f"data:\n  train: {{src: {a.work}/train.src.gz, tgt: {a.work}/train.tgt.gz}}\n"
                f"  valid: {{src: {valid}, tgt: {valid}}}\n  dir: {a.work}/data\n"
                "  tokenizer: {type: word, lowercase: true}\n")
    start = time.perf_counter()
    subprocess.run([a.nmt, "preprocess", "--config", config, "--force", "--log-level", "warn"], check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"pairs": a.pairs, "seconds": round(seconds, 2), "pairs_per_sec": round(a.pairs / seconds),
                      "peak_rss_mb": round(peak_kb / 1024, 1)}))


if __name__ == "__main__":
    main()
