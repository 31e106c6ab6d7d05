#!/usr/bin/python3
"""Two nmt binaries side by side in one run: bench-gru and bench-lstm training tokens/s of each, in
rounds (each binary first in every other round), on all cores, in each precision. For checking
that a change (another LibTorch line, a refactoring) made nothing slower:
`bench/builds_bench.py --a OLD/nmt --b build/nmt`.
Prints one JSON line per measurement and a table of medians with the ratio b / a.
"""
import argparse
import json
import os
import statistics

from run_bench import native_bf16, nmt_train


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="the binary to compare against")
    p.add_argument("--b", default="build/nmt")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cells", default="gru,lstm")
    p.add_argument("--precisions", default="fp32,bf16" if native_bf16() else "fp32")
    a = p.parse_args()
    threads = str(os.cpu_count())
    runs = {}
    for round_number in range(a.rounds):
        order = (("a", a.a), ("b", a.b)) if round_number % 2 == 0 else (("b", a.b), ("a", a.a))
        for cell in a.cells.split(","):
            for precision in a.precisions.split(","):
                for name, binary in order:  # each binary goes first in every other round
                    result = nmt_train(os.path.abspath(binary), cell, a.steps, a.warmup,
                                       ["--threads", threads, "--set", f"training.precision={precision}"])
                    result.update(binary=binary, precision=precision)
                    print(json.dumps(result), flush=True)
                    runs.setdefault((cell, precision, name), []).append(result["tokens_per_sec"])
    print(f"\n| model | precision | a: {a.a} | b: {a.b} | b / a | rounds (a; b) |\n| --- | --- | --- | --- | --- | --- |")
    for cell in a.cells.split(","):
        for precision in a.precisions.split(","):
            ra, rb = runs[cell, precision, "a"], runs[cell, precision, "b"]
            ma, mb = statistics.median(ra), statistics.median(rb)
            print(f"| bench-{cell} | {precision} | {ma:.0f} | {mb:.0f} | {mb / ma:.3f} | "
                  f"{' / '.join(f'{x:.0f}' for x in ra)}; {' / '.join(f'{x:.0f}' for x in rb)} |")


if __name__ == "__main__":
    main()
