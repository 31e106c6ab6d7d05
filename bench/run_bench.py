#!/usr/bin/python3
"""nmt against the PyTorch reference (shared/bench/torch_reference.py), side by side in one run.

Training: bench-gru and bench-lstm on Multi30k de->en for --steps timed steps after --warmup
steps. nmt runs at its defaults; the reference at 1 thread, at 2 threads with GOMP's default
wait policy and at 2 threads with OMP_WAIT_POLICY=PASSIVE, and its best is kept. Runs alternate.
Also: the compute floor (bench/compute_floor.py), greedy decoding of test_2016_flickr in
sentences/s against `torch_reference.py decode` (both with untrained weights, so both decode to
the length limit), beam 5 against greedy, and nmt's peak RSS while training.
Prints one JSON line per measurement and a summary table.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from train_metrics import tokens_per_sec_after

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "downloads/multi30k/tok")


def run(cmd):
    return subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def run_measuring_rss(cmd):
    """Runs cmd; returns its peak resident memory in MB."""
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        sys.exit(f"run_bench: {' '.join(cmd)} failed:\n{child.stderr.read().decode()}")
    return usage.ru_maxrss / 1024


def nmt_train(nmt, cell, steps, warmup, extra=()):
    model_dir = f"runs/bench/{cell}"
    rss_mb = run_measuring_rss([nmt, "train", "--config", f"configs/bench-{cell}.yaml", "--overwrite", "--log-level", "warn",
         "--set", f"training.max_steps={warmup + steps}", "--set", f"training.log_every={warmup}",
         "--set", "training.valid_every=1000000000", "--set", "training.valid_bleu=0", *extra])
    return {"impl": "nmt", "cell": cell, "tokens_per_sec": tokens_per_sec_after(os.path.join(ROOT, model_dir), warmup),
            "peak_rss_mb": round(rss_mb, 1)}


def reference(mode, cell, threads, policy, steps, extra=()):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    cmd = ["/usr/bin/python3", os.path.join(ROOT, "..", "shared", "bench", "torch_reference.py"), mode,
           "--src", f"{DATA}/train.lc.norm.tok.de.gz", "--tgt", f"{DATA}/train.lc.norm.tok.en.gz",
           "--cell", cell, "--threads", str(threads), *extra]
    if mode == "train":
        cmd += ["--steps", str(steps)]
    result = json.loads(subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout)
    result["setting"] = f"{threads} thread(s){', ' + policy if policy else ''}"
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nmt", default="build/nmt")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--cells", default="gru,lstm")
    p.add_argument("--skip-decode", action="store_true")
    a = p.parse_args()
    if not os.path.exists(os.path.join(ROOT, "../shared/bench/torch_reference.py")):
        sys.exit("run_bench: ../shared/bench/torch_reference.py not found")
    threads = os.cpu_count()
    summary = []
    for cell in a.cells.split(","):
        floor = json.loads(run(["/usr/bin/python3", "bench/compute_floor.py", "--cell", cell, "--threads", str(threads)]))
        print(json.dumps(floor), flush=True)
        nmt_runs, ref_runs = [], []
        for setting in [(1, None), (2, None), (2, "PASSIVE")]:
            nmt_runs.append(nmt_train(a.nmt, cell, a.steps, a.warmup))
            print(json.dumps(nmt_runs[-1]), flush=True)
            ref_runs.append(reference("train", cell, setting[0], setting[1], a.steps))
            print(json.dumps(ref_runs[-1]), flush=True)
        best_ref = max(ref_runs, key=lambda r: r["tokens_per_sec"])
        nmt_speed = max(r["tokens_per_sec"] for r in nmt_runs)
        rss = max(r["peak_rss_mb"] for r in nmt_runs)
        summary.append((f"bench-{cell} training (target tok/s)", nmt_speed, best_ref["tokens_per_sec"],
                        f"reference best at {best_ref['setting']}; nmt at {round(100 * nmt_speed / floor['floor_tokens_per_sec'])}% "
                        f"of the compute floor ({floor['floor_tokens_per_sec']} tok/s at {threads} threads); "
                        f"nmt peak RSS {rss} MB"))
    if not a.skip_decode:
        test = f"{DATA}/test_2016_flickr.lc.norm.tok.de.gz"
        # Untrained weights on both sides: one step at lr 0 gives nmt a checkpoint of its initial model.
        nmt_train(a.nmt, "gru", 1, 1, ["--set", "training.lr=0"])
        timings = {}
        for beam in (1, 5):
            start = time.perf_counter()
            run([a.nmt, "translate", "--model", "runs/bench/gru", "--input", test, "--output", f"runs/bench/out.beam{beam}",
                 "--beam", str(beam), "--batch-size", "64", "--log-level", "warn"])
            timings[beam] = time.perf_counter() - start
            print(json.dumps({"impl": "nmt", "mode": "decode", "beam": beam, "seconds": round(timings[beam], 2),
                              "sentences_per_sec": round(1000 / timings[beam], 1)}), flush=True)
        ref = max((reference("decode", "gru", t, pol, 0, ["--test-src", test]) for t, pol in [(1, None), (2, None)]),
                  key=lambda r: r["sentences_per_sec"])
        print(json.dumps(ref), flush=True)
        summary.append(("greedy decoding (sentences/s, incl. nmt start-up)", round(1000 / timings[1], 1),
                        ref["sentences_per_sec"], f"reference best at {ref['setting']}"))
        summary.append(("beam 5 time / greedy time (nmt)", round(timings[5] / timings[1], 2), None, ""))
    print("\n| measurement | nmt | reference | ratio | notes |\n| --- | --- | --- | --- | --- |")
    for name, ours, theirs, note in summary:
        ratio = f"{ours / theirs:.2f}x" if theirs else ""
        print(f"| {name} | {ours} | {theirs if theirs else ''} | {ratio} | {note} |")


if __name__ == "__main__":
    main()
