#!/usr/bin/env python3
"""The table scripts/gpu_check.sh ends with: toy losses on CUDA against the CPU's, translation BLEU
per precision, and bench-gru tokens/s of nmt against the reference on the GPU (medians of rounds).

usage: gpu_summary.py OUT"""
import glob
import json
import os
import statistics
import sys


def train_losses(path):
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return {r["step"]: r["loss"] for r in records if r.get("type") == "train"}


def main():
    out = sys.argv[1]
    print(f"# nmt on the GPU\n\n{open(os.path.join(out, 'torch.txt')).read().strip()}\n")
    runs = {os.path.basename(p)[len("toy-"):-len(".metrics.jsonl")]: train_losses(p)
            for p in glob.glob(os.path.join(out, "toy-*.metrics.jsonl"))}
    cpu = runs.get("cpu-fp32", {})
    print("| toy run | last loss | largest relative difference from CPU fp32 | steps |\n| --- | --- | --- | --- |")
    for name, losses in sorted(runs.items()):
        shared = [s for s in losses if s in cpu]
        worst = max((abs(losses[s] - cpu[s]) / cpu[s] for s in shared), default=float("nan"))
        last = losses[max(losses)] if losses else float("nan")
        print(f"| {name} | {last:.4f} | {worst:.4f} | {max(losses, default=0)} |")
    print("\n| toy translation | BLEU | chrF |\n| --- | --- | --- |")
    for path in sorted(glob.glob(os.path.join(out, "toy-translate-*.json"))):
        try:
            with open(path) as f:
                result = json.load(f)
            print(f"| {os.path.basename(path)[len('toy-translate-'):-5]} | {result.get('bleu')} | {result.get('chrf')} |")
        except (OSError, ValueError):
            print(f"| {os.path.basename(path)} | failed | |")
    bench = os.path.join(out, "bench.jsonl")
    if os.path.exists(bench):
        speeds = {}
        with open(bench) as f:
            for line in f:
                r = json.loads(line)
                key = ("nmt" if r["impl"] == "nmt" else "reference", r["precision"])
                speeds.setdefault(key, []).append(r["tokens_per_sec"])
        print("\n| bench-gru on the GPU | nmt tok/s | reference tok/s | nmt / reference | rounds |\n| --- | --- | --- | --- | --- |")
        for precision in ("fp32", "bf16"):
            ours, theirs = speeds.get(("nmt", precision), []), speeds.get(("reference", precision), [])
            if ours and theirs:
                a, b = statistics.median(ours), statistics.median(theirs)
                print(f"| {precision} | {a:.0f} | {b:.0f} | {a / b:.2f} | nmt {ours}, reference {theirs} |")


if __name__ == "__main__":
    main()
