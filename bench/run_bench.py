#!/usr/bin/python3
"""nmt against the PyTorch reference (shared/bench/torch_reference.py), side by side in one run.

Training: bench-gru and bench-lstm on Multi30k de->en for --steps timed steps after --warmup
steps, in --rounds alternating rounds; each round runs nmt and the reference at 2 threads (the
reference's best setting on this CPU: GOMP's default wait policy) and at 1 thread, in each of
--precisions: fp32, and bf16 (nmt's training.precision bf16; the reference under
torch.autocast) by default where the CPU multiplies bf16 natively. The summary compares medians
over the rounds, and nmt at its best setting with the reference at its best. --passive adds the
reference at 2 threads with OMP_WAIT_POLICY=PASSIVE to each round. Also: the compute floor in
each precision (bf16: a bf16 GEMM probe at the same shapes, bench/compute_floor.py), greedy
decoding of test_2016_flickr in sentences/s against `torch_reference.py decode` (both with
untrained weights, so both decode to the length limit), beam 5 against greedy, and nmt's peak
RSS while training. The reference and the floor probe run with the OpenBLAS core that nmt runs
(OPENBLAS_CORETYPE, unless already set), so both sides multiply fp32 with the same kernels.
Prints one JSON line per measurement and a summary table.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

from train_metrics import tokens_per_sec_after

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "downloads/multi30k/tok")


def run(cmd, env=None):
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def prepare_bench_data(nmt):
    """Both bench configs read the data directory of configs/bench-gru.yaml: encoded once, when missing."""
    if not os.path.exists(os.path.join(ROOT, "runs/bench/data/manifest.json")):
        run([nmt, "preprocess", "--config", "configs/bench-gru.yaml", "--log-level", "warn"])


def with_reference_core():
    """This environment with nmt's OpenBLAS core, for the reference and the floor probe."""
    env = dict(os.environ)
    if REFERENCE_OPENBLAS_CORE and "OPENBLAS_CORETYPE" not in env:
        env["OPENBLAS_CORETYPE"] = REFERENCE_OPENBLAS_CORE
    return env


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


def nmt_openblas_core(nmt):
    """The OpenBLAS core nmt runs: it re-executes itself with OPENBLAS_CORETYPE when OpenBLAS falls
    back to a generic core (OpenBLAS 0.3.21 picks Prescott on some AVX-512 CPUs)."""
    match = re.search(r"BLAS:\s+OpenBLAS core (\S+)", run([nmt, "info"]))
    return match.group(1) if match else None


REFERENCE_OPENBLAS_CORE = None  # set in main: the reference gets the same BLAS kernels as nmt


def reference(mode, cell, threads, policy, steps, extra=()):
    env = {k: v for k, v in with_reference_core().items() if k != "OMP_WAIT_POLICY"}
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


def native_bf16():
    """AVX512_BF16 or AMX-BF16, as `nmt info` reports it."""
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    return " avx512_bf16" in flags or " amx_bf16" in flags


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nmt", default="build/nmt")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--cells", default="gru,lstm")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--passive", action="store_true")
    p.add_argument("--skip-decode", action="store_true")
    p.add_argument("--precisions", default="fp32,bf16" if native_bf16() else "fp32")
    a = p.parse_args()
    precisions = a.precisions.split(",")
    global REFERENCE_OPENBLAS_CORE
    REFERENCE_OPENBLAS_CORE = nmt_openblas_core(a.nmt)
    prepare_bench_data(a.nmt)
    print(json.dumps({"openblas_core": REFERENCE_OPENBLAS_CORE, "nmt_commit": run(["git", "rev-parse", "--short", "HEAD"]).strip(),
                      "precisions": precisions}), flush=True)
    if not os.path.exists(os.path.join(ROOT, "../shared/bench/torch_reference.py")):
        sys.exit("run_bench: ../shared/bench/torch_reference.py not found")
    threads = os.cpu_count()
    summary = []
    for cell in a.cells.split(","):
        floors = {}
        for t in sorted({1, threads}):
            for precision in precisions:
                floors[t, precision] = json.loads(run(["/usr/bin/python3", "bench/compute_floor.py", "--cell", cell,
                                                       "--threads", str(t), "--dtype", precision],
                                                      with_reference_core()))
                print(json.dumps(floors[t, precision]), flush=True)
        runs = {}  # (impl, threads, policy, precision) -> results of each round
        for _ in range(a.rounds):
            settings = [(t, None, precision) for t in (threads, 1) for precision in precisions]
            settings += [(threads, "PASSIVE", "fp32")] if a.passive else []
            for t, policy, precision in settings:
                if policy is None:
                    result = nmt_train(a.nmt, cell, a.steps, a.warmup,
                                       ["--threads", str(t), "--set", f"training.precision={precision}"])
                    result["setting"] = f"{t} thread(s), {precision}"
                    print(json.dumps(result), flush=True)
                    runs.setdefault(("nmt", t, policy, precision), []).append(result)
                result = reference("train", cell, t, policy, a.steps,
                                   ["--warmup-steps", str(a.warmup), "--precision", precision])
                print(json.dumps(result), flush=True)
                runs.setdefault(("reference", t, policy, precision), []).append(result)
        median = {key: statistics.median(r["tokens_per_sec"] for r in rounds) for key, rounds in runs.items()}
        rounds_of = {key: " / ".join(str(round(r["tokens_per_sec"])) for r in rounds) for key, rounds in runs.items()}
        rss = max(r["peak_rss_mb"] for key, rounds in runs.items() if key[0] == "nmt" for r in rounds)
        for t in sorted({1, threads}, reverse=True):
            for precision in precisions:
                floor = floors[t, precision]["floor_tokens_per_sec"]
                key_ours, key_theirs = ("nmt", t, None, precision), ("reference", t, None, precision)
                ours, theirs = median[key_ours], median[key_theirs]
                summary.append((f"bench-{cell} training at {t} thread(s), {precision}, median target tok/s", round(ours),
                                round(theirs), f"rounds: nmt {rounds_of[key_ours]}, reference {rounds_of[key_theirs]}; "
                                f"{precision} floor {floor} tok/s: nmt {round(100 * ours / floor)}%, "
                                f"reference {round(100 * theirs / floor)}%"))
        if a.passive:
            key = ("reference", threads, "PASSIVE", "fp32")
            summary.append((f"bench-{cell} reference at {threads} threads, PASSIVE", None, round(median[key]),
                            f"rounds: {rounds_of[key]}"))
        best_ours = max((k for k in median if k[0] == "nmt"), key=median.get)
        best_theirs = max((k for k in median if k[0] == "reference"), key=median.get)
        describe = lambda k: f"{k[1]} thread(s), {k[3]}" + (f", {k[2]}" if k[2] else "")
        summary.append((f"bench-{cell}: nmt at its best setting against the reference at its best", round(median[best_ours]),
                        round(median[best_theirs]), f"nmt: {describe(best_ours)}; reference: {describe(best_theirs)}; "
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
        ratio = f"{ours / theirs:.2f}x" if ours and theirs else ""
        print(f"| {name} | {ours if ours else ''} | {theirs if theirs else ''} | {ratio} | {note} |")


if __name__ == "__main__":
    main()
