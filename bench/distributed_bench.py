#!/usr/bin/python3
"""Data-parallel training speed: nmt on 1 process x 1 thread, 1 x 2 threads and 2 processes x 1
thread (`nmt train --nproc-per-node 2`), against the PyTorch reference on 1 x 1, 1 x 2 and
DistributedDataParallel on Gloo at 2 x 1 under torchrun (../shared/bench/torch_reference.py).
bench-gru (or --cell lstm) on Multi30k de->en, --steps timed steps after --warmup, target tokens
per second; every setting once per round, rounds alternating, medians reported. For nmt's 2 x 1
runs it also reports where the step goes, from metrics.jsonl: agreeing on the step (waiting for
the slower rank included) and finishing the gradient sums after the backward pass (with
NMT_OVERLAP_ALLREDUCE=0 all of the copies and allreduce happen there). Two more settings show
what the communication costs: with NMT_ROW_SPARSE_SUMS=0 the embedding tables are summed whole
instead of by the rows in use, and "without communication" runs two separate 1 x 1 trainings at
half the batch side by side, the ceiling for 2 x 1 on these cores.
Prints one JSON line per run and a summary table.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "downloads/multi30k/tok")
REFERENCE = os.path.join(ROOT, "..", "shared", "bench", "torch_reference.py")


def timed_records(model_dir, warmup):
    with open(os.path.join(model_dir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    return [r for r in records if r["type"] == "train" and r["step"] > warmup]


def tokens_per_second(records):
    return sum(r["tokens"] for r in records) / sum(r["seconds"] for r in records)


def nmt_command(a, name, launcher=(), threads=None, extra=()):
    model_dir = os.path.join(ROOT, "runs/bench-dp", name)
    shutil.rmtree(model_dir, ignore_errors=True)
    cmd = [a.nmt, "--log-level", "warn"] + (["--threads", str(threads)] if threads else []) + [
        "train", "--config", f"configs/bench-{a.cell}.yaml", "--set", f"training.dir={model_dir}",
        "--set", f"training.max_steps={a.warmup + a.steps}", "--set", f"training.log_every={a.warmup}",
        "--set", "training.valid_every=1000000000", "--set", "training.valid_bleu=0",
        "--set", "training.precision=fp32", *extra, *launcher]  # fp32 on every CPU, as recorded
    return cmd, model_dir


def nmt_env(env=None):
    run_env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    run_env.update(env or {})
    return run_env


def nmt_run(a, name, launcher=(), threads=None, extra=(), env=None):
    cmd, model_dir = nmt_command(a, name, launcher, threads, extra)
    subprocess.run(cmd, cwd=ROOT, env=nmt_env(env), check=True, stdout=subprocess.DEVNULL)
    records = timed_records(model_dir, a.warmup)
    seconds = sum(r["seconds"] for r in records)
    result = {"impl": "nmt", "setting": name, "tokens_per_sec": round(tokens_per_second(records), 1),
              "seconds_per_step": round(seconds / a.steps, 4)}
    if "agree_seconds" in records[0]:
        result["agree_fraction"] = round(sum(r["agree_seconds"] for r in records) / seconds, 3)
        result["gradient_sum_fraction"] = round(sum(r["gradient_sum_seconds"] for r in records) / seconds, 3)
    return result


def independent_halves(a):
    """What 2 x 1 could give without any communication: two separate 1-thread trainings at half
    the batch (bench-{gru,lstm}.yaml have 64), each pinned to its own core, at the same time; their
    tokens/s added."""
    runs = []
    for core in (0, 1):
        cmd, model_dir = nmt_command(a, f"half{core}", threads=1, extra=[
            "--set", "training.batch_size=32", "--set", f"training.seed={core + 1}"])
        runs.append((subprocess.Popen(["taskset", "-c", str(core), *cmd], cwd=ROOT, env=nmt_env(),
                                      stdout=subprocess.DEVNULL), model_dir))
    total = 0.0
    for process, model_dir in runs:
        if process.wait() != 0:
            sys.exit(f"distributed_bench: the run in {model_dir} failed")
        total += tokens_per_second(timed_records(model_dir, a.warmup))
    return {"impl": "nmt", "setting": "independent halves", "tokens_per_sec": round(total, 1)}


def reference_run(a, name, threads, processes):
    data = ["--src", f"{DATA}/train.lc.norm.tok.de.gz", "--tgt", f"{DATA}/train.lc.norm.tok.en.gz", "--cell", a.cell,
            "--threads", str(threads), "--steps", str(a.steps)]
    if processes == 1:
        cmd = ["/usr/bin/python3", REFERENCE, "train", *data]
    else:
        cmd = [a.torchrun, "--nnodes=1", f"--nproc_per_node={processes}", "--master_addr=127.0.0.1",
               f"--master_port={a.port}", "-r", "1", "-t", "1", REFERENCE, "train", *data]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if "tokens_per_sec" in l)
    result = json.loads(line[line.index("{"):])
    return {"impl": "reference", "setting": name, "tokens_per_sec": round(result["tokens_per_sec"], 1)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nmt", default="build/nmt")
    p.add_argument("--torchrun", default=shutil.which("torchrun") or "torchrun")
    p.add_argument("--cell", default="gru")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--port", type=int, default=29511)
    p.add_argument("--no-reference", action="store_true")
    a = p.parse_args()
    if not os.path.exists(os.path.join(DATA, "train.lc.norm.tok.de.gz")):
        sys.exit("distributed_bench: run scripts/get_multi30k.sh first")
    if not os.path.exists(os.path.join(ROOT, "runs/bench/data/manifest.json")):
        subprocess.run([a.nmt, "--log-level", "warn", "preprocess", "--config", f"configs/bench-{a.cell}.yaml"], cwd=ROOT,
                       check=True)
    settings = [
        ("nmt 1x1", lambda: nmt_run(a, "1x1", threads=1)),
        ("nmt 1x2", lambda: nmt_run(a, "1x2", threads=2)),
        ("nmt 2x1", lambda: nmt_run(a, "2x1", launcher=["--nproc-per-node", "2"])),
        ("nmt 2x1, embedding tables summed whole", lambda: nmt_run(
            a, "2x1-whole", launcher=["--nproc-per-node", "2"], env={"NMT_ROW_SPARSE_SUMS": "0"})),
        ("nmt 2x1, sums after the backward pass", lambda: nmt_run(
            a, "2x1-after", launcher=["--nproc-per-node", "2"], env={"NMT_OVERLAP_ALLREDUCE": "0"})),
        ("nmt 2x1 without communication: two separate 1x1 at half the batch", lambda: independent_halves(a)),
        ("nmt 2x1 batch 128, accumulate 2", lambda: nmt_run(
            a, "2x1-acc2", launcher=["--nproc-per-node", "2"],
            extra=["--set", "training.batch_size=128", "--set", "training.accumulate=2"])),
    ]
    if not a.no_reference:
        settings += [("reference 1x1", lambda: reference_run(a, "1x1", 1, 1)),
                     ("reference 1x2", lambda: reference_run(a, "1x2", 2, 1)),
                     ("reference DDP 2x1", lambda: reference_run(a, "DDP 2x1", 1, 2))]
    results = {name: [] for name, _ in settings}
    for round_index in range(a.rounds):
        for name, run in settings:
            result = run()
            result["round"] = round_index + 1
            results[name].append(result)
            print(json.dumps(result), flush=True)
    median = {name: statistics.median(r["tokens_per_sec"] for r in runs) for name, runs in results.items()}
    print(f"\n| bench-{a.cell}, median of {a.rounds} rounds | target tok/s | vs nmt 1x1 | vs nmt 1x2 | rounds |")
    print("| --- | --- | --- | --- | --- |")
    for name, runs in results.items():
        rounds = " / ".join(f"{r['tokens_per_sec']:.0f}" for r in runs)
        print(f"| {name} | {median[name]:.0f} | {median[name] / median['nmt 1x1']:.2f}x | "
              f"{median[name] / median['nmt 1x2']:.2f}x | {rounds} |")
    for name in ("nmt 2x1", "nmt 2x1, embedding tables summed whole", "nmt 2x1, sums after the backward pass",
                 "nmt 2x1 batch 128, accumulate 2"):
        runs = results[name]
        print(f"{name}: agreeing on the step (incl. waiting) {statistics.median(r['agree_fraction'] for r in runs):.1%}, "
              f"gradient sums left after the backward pass {statistics.median(r['gradient_sum_fraction'] for r in runs):.1%} "
              f"of the step time; "
              f"{statistics.median(r['seconds_per_step'] for r in runs):.3f} s per step")
    if "reference DDP 2x1" in median:
        print(f"nmt 2x1 / reference DDP 2x1: {median['nmt 2x1'] / median['reference DDP 2x1']:.2f}x")


if __name__ == "__main__":
    main()
