#!/usr/bin/python3
"""`nmt translate` in fp32, int8, with a shortlist and with both, greedy and beam 5, at the default
batch and at batch 1, on one trained model and one machine, in alternating rounds.

Each row is the median of --rounds runs; every round runs all rows once, in order, so drift hits
every row alike. Reported per row: sentences/s of the decoding loop (nmt's own "translated N lines
in S s", model loading excluded) and of the whole command, ms a sentence, peak RSS, and BLEU/chrF
of the output (nmt evaluate --hyp, --tokenize none by default, against --ref). Batch-1 rows
translate the first --batch1-limit sentences. The model directory needs its shortlist
(nmt shortlist --model DIR). Prints one JSON line per run, then a Markdown table.
"""
import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NMT = os.path.join(ROOT, "build/nmt")
MODES = {"fp32": [], "int8": ["--precision", "int8"], "shortlist": ["--shortlist"],
         "int8 + shortlist": ["--precision", "int8", "--shortlist"]}


def translate(nmt, model, source, extra, threads):
    args = [nmt, "--threads", str(threads), "translate", "--model", model, "--input", source, *extra]
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(args), err))
    match = re.search(r"translated (\d+) lines in ([0-9.]+) s", err)
    int8 = re.search(r"int8: (\d+) matrices, ([0-9.]+) MB", err)
    return out, {"lines": int(match.group(1)), "decode_s": float(match.group(2)), "wall_s": wall,
                 "int8_mb": float(int8.group(2)) if int8 else 0.0}


def peak_rss_mb(nmt, model, source, extra, threads):
    """Peak RSS of one run, from the kernel's accounting of the finished child."""
    args = [nmt, "--threads", str(threads), "translate", "--model", model, "--input", source, *extra]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError("%s failed" % " ".join(args))
    return usage.ru_maxrss / 1024


def score(nmt, hypotheses, reference, tokenize):
    out = subprocess.run([nmt, "evaluate", "--json", "--hyp", hypotheses, "--ref", reference, "--tokenize", tokenize],
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    return report["bleu"], report["chrf"]


def first_lines(path, limit, into):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f, open(into, "w", encoding="utf-8") as out:
        for _, line in zip(range(limit), f):
            out.write(line)
    return into


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--src", default=os.path.join(ROOT, "downloads/multi30k/tok/test_2016_flickr.lc.norm.tok.de.gz"))
    parser.add_argument("--ref", default=os.path.join(ROOT, "downloads/multi30k/tok/test_2016_flickr.lc.norm.tok.en.gz"))
    parser.add_argument("--tokenize", default="none")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch1-limit", type=int, default=300)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    parser.add_argument("--nmt", default=NMT)
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE for every run (e.g. decoding.shortlist_frequent=100)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="nmt-decode-bench-")
    batch1_source = first_lines(args.src, args.batch1_limit, os.path.join(work, "batch1.txt"))
    sets = [x for s in args.set for x in ("--set", s)]
    rows = []
    for mode in args.modes.split(","):
        for beam in (1, 5):
            for batch in ("default", 1):
                extra = MODES[mode] + ["--beam", str(beam)] + sets + (["--batch-size", "1"] if batch == 1 else [])
                rows.append({"mode": mode, "beam": beam, "batch": batch, "extra": extra,
                             "source": batch1_source if batch == 1 else args.src, "runs": []})
    for round_index in range(args.rounds):
        for row in rows:
            out, measured = translate(args.nmt, args.model, row["source"], row["extra"], args.threads)
            row["runs"].append(measured)
            if round_index == 0 and row["batch"] == "default":
                hypotheses = os.path.join(work, "hyp-%d.txt" % rows.index(row))
                with open(hypotheses, "w", encoding="utf-8") as f:
                    f.write(out)
                row["bleu"], row["chrf"] = score(args.nmt, hypotheses, args.ref, args.tokenize)
            print(json.dumps({"round": round_index, "mode": row["mode"], "beam": row["beam"], "batch": row["batch"],
                              **measured}), flush=True)
    for row in rows:
        row["rss_mb"] = peak_rss_mb(args.nmt, args.model, row["source"], row["extra"], args.threads)
    print("\n| precision, vocabulary | beam | batch | sentences/s (decoding) | ms a sentence | sentences/s (command) "
          "| BLEU | chrF | peak RSS MB | int8 matrices MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        lines = row["runs"][0]["lines"]
        decode = statistics.median(r["decode_s"] for r in row["runs"])
        wall = statistics.median(r["wall_s"] for r in row["runs"])
        quality = ("%.2f | %.2f" % (row["bleu"], row["chrf"])) if "bleu" in row else "(as batched) | "
        print("| %s | %d | %s | %.1f | %.2f | %.1f | %s | %.0f | %.1f |" % (
            row["mode"], row["beam"], row["batch"], lines / decode, 1000 * decode / lines, lines / wall, quality,
            row["rss_mb"], row["runs"][0]["int8_mb"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
