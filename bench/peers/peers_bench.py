#!/usr/bin/python3
"""nmt next to OpenNMT-py, JoeyNMT and the PyTorch reference, in one run on the same cores: training speed,
decoding speed with BLEU, and a race of fixed wall time (sections train, decode, race).

Training: bench-gru and bench-lstm (shared/bench/README.md) for --steps logged steps after --warmup, each row at
1 and 2 threads, in --rounds alternating rounds; target tokens/s as each tool logs them (non-padding target
tokens, EOS included, validation excluded), medians over rounds, and peak RSS. Rows: nmt on LibTorch 1.13
(Debian) and 2.x (pip; when built), fp32 and bf16 (on CPUs with native bf16); OpenNMT-py 3.5.1 (torch 2.2.2);
JoeyNMT 2.3.0 (torch 2.15.0); the reference on torch 2.15.0 in fp32 and under bf16 autocast, and on Debian's 1.13.
Run bench/peers/setup.sh first (bench/peers/run.sh does both). Every measurement is one JSON line in
runs/peers/results.jsonl; the summary is a markdown table on stdout.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess

import peer_tools as tools


def training_rows(nmt, nmt2, bf16):
    """(name, family, function(cell, threads, steps, warmup) -> result) for each row that can run here."""
    precisions = ["fp32", "bf16"] if bf16 else ["fp32"]
    rows = []
    for binary, line in ((nmt, "1.13"), (nmt2, "2.x")):
        if binary and os.path.exists(os.path.join(tools.ROOT, binary)):
            for p in precisions:
                rows.append((f"nmt, LibTorch {line}, {p}", "nmt",
                             lambda c, t, s, w, b=binary, p=p: tools.nmt_train_speed(b, c, t, s, w, p)))
    rows.append(("OpenNMT-py 3.5.1, torch 2.2.2, fp32", "OpenNMT-py",
                 lambda c, t, s, w: tools.peer_train_speed("onmt", c, t, s, w)))
    rows.append(("JoeyNMT 2.3.0, torch 2.15.0, fp32", "JoeyNMT",
                 lambda c, t, s, w: tools.peer_train_speed("joey", c, t, s, w)))
    torch2 = os.path.join(tools.TORCH2, "bin", "python")
    for p in precisions:
        rows.append((f"reference, torch 2.15.0, {p}{' autocast' if p == 'bf16' else ''}", "reference",
                     lambda c, t, s, w, p=p: tools.reference_train_speed(torch2, c, t, s, w, p)))
    rows.append(("reference, torch 1.13 (Debian), fp32", "reference",
                 lambda c, t, s, w: tools.reference_train_speed("/usr/bin/python3", c, t, s, w, "fp32")))
    return rows


def record(out, result):
    print(json.dumps(result), flush=True)
    out.write(json.dumps(result) + "\n")
    out.flush()


def train_section(a, out):
    rows = [r for r in training_rows(a.nmt, a.nmt2, tools.native_bf16()) if not a.only or any(k in r[0] for k in a.only)]
    results = {}  # (row, cell, threads) -> [tokens/s per round]
    rss = {}
    for round_no in range(a.rounds):
        for cell in a.cells:
            for threads in a.threads:
                for name, _, measure in rows:
                    r = measure(cell, threads, a.steps, a.warmup)
                    record(out, {"section": "train", "round": round_no + 1, "row": name, "cell": cell,
                                 "threads": threads, **r})
                    results.setdefault((name, cell, threads), []).append(r["tokens_per_sec"])
                    rss[name, cell] = max(rss.get((name, cell), 0), r["peak_rss_mb"])
    median = {k: statistics.median(v) for k, v in results.items()}
    print("\n| bench model | row | " + " | ".join(f"{t} thread(s), median tok/s (rounds)" for t in a.threads)
          + " | peak RSS MB |\n|---|---|" + "---|" * (len(a.threads) + 1))
    for cell in a.cells:
        for name, _, _ in rows:
            cells = [f"{median[name, cell, t]:,.0f} ({' / '.join(f'{x:,.0f}' for x in results[name, cell, t])})"
                     for t in a.threads]
            print(f"| bench-{cell} | {name} | " + " | ".join(cells) + f" | {rss[name, cell]:,.0f} |")
    print("\n| bench model | family: best setting | best median tok/s | nmt's best / this |\n|---|---|---|---|")
    for cell in a.cells:
        best = {}
        for (name, c, t), v in median.items():
            family = next(f for n, f, _ in rows if n == name)
            if c == cell and v > best.get(family, ("", 0))[1]:
                best[family] = (f"{name}, {t} thread(s)", v)
        ours = best.get("nmt", ("", 0))[1]
        for family, (setting, v) in sorted(best.items(), key=lambda kv: -kv[1][1]):
            print(f"| bench-{cell} | {family}: {setting} | {v:,.0f} | {ours / v:.2f}x |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sections", default="train,decode,race")
    p.add_argument("--nmt", default="build/nmt", help="nmt on Debian's LibTorch 1.13")
    p.add_argument("--nmt2", default="build-pip/nmt", help="nmt on LibTorch 2.x; skipped when not built")
    p.add_argument("--cells", default="gru,lstm")
    p.add_argument("--threads", default="2,1")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=60, help="timed training steps, after --warmup")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--only", default="", help="comma-separated substrings: run only the training rows they match")
    p.add_argument("--decode-train-minutes", type=float, default=10, help="training of each bench model to decode with")
    p.add_argument("--race-minutes", type=float, default=35)
    p.add_argument("--race-tools", default="nmt,onmt,joey")
    p.add_argument("--race-set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override for nmt's recipe in the race (e.g. training.seed=2), repeatable")
    p.add_argument("--race-members", type=int, default=3,
                   help="nmt's recipe trains this many models side by side and decodes their ensemble "
                        "(3: its best entry on 2 cores, 2026-12-07)")
    a = p.parse_args()
    a.cells, a.threads = a.cells.split(","), [int(t) for t in a.threads.split(",")]
    a.only = [s for s in a.only.split(",") if s]
    tools.prepare_data(a.nmt)
    tools.onmt_vocab()
    os.makedirs(tools.WORK, exist_ok=True)
    with open(os.path.join(tools.WORK, "results.jsonl"), "a") as out:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tools.ROOT, capture_output=True,
                                text=True).stdout.strip()
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        record(out, {"section": "start", "commit": commit, "cpu": cpu, "cores": os.cpu_count(),
                     "native_bf16": tools.native_bf16(), "host": platform.node(), "args": vars(a)})
        sections = a.sections.split(",")
        if "train" in sections:
            train_section(a, out)
        if "decode" in sections:
            from peer_decode import decode_section
            decode_section(a, lambda r: record(out, r))
        if "race" in sections:
            from peer_race import race_section
            race_section(a, lambda r: record(out, r))


if __name__ == "__main__":
    main()
