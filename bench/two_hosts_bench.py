#!/usr/bin/python3
"""Data-parallel training across two hosts over a shaped link, beside bench/scaling_model.py's
prediction for that link.

Two network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2; nothing leaves them) are
the hosts; `tc qdisc ... tbf` on both ends sets each --links rate ("none": the bare veth). Each
host runs one `nmt train --nnodes 2` launcher, 1 process x 1 thread, pinned to a core of its own.
Per link: the default (sums overlap the backward pass, embedding tables summed by their rows in
use, 16 MB buckets); the model's assumptions (every sum after the backward pass, tables whole:
NMT_OVERLAP_ALLREDUCE=0 NMT_ROW_SPARSE_SUMS=0); and the default with 4 and 64 MB buckets.
Without a link: two 1 x 1 runs at half the batch side by side, one per core, give one rank's
compute per step, the model's input. The link's bandwidth is measured (a 2 s TCP stream), and
the model predicts each link's step from it. If the kernel has sch_netem, --delay-ms adds latency;
if not, the output says it was not emulated.

  sudo bench/two_hosts_bench.py --rounds 3 --steps 30     # bench-gru on Multi30k de->en

Prints one JSON line per run and summary tables. Needs root, iproute2 and Multi30k
(scripts/get_multi30k.sh).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

from distributed_bench import timed_records, tokens_per_second
from scaling_model import allreduce_seconds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTS = (f"nmtbench{os.getpid()}a", f"nmtbench{os.getpid()}b")
ADDRESSES = ("10.77.0.1", "10.77.0.2")
DEVICES = ("vA", "vB")
PORT = 29577
BANDWIDTH_PROBE = r"""
import socket, sys, time
if sys.argv[1] == "serve":
    server = socket.socket(); server.bind((sys.argv[2], 5201)); server.listen(); print("ready", flush=True)
    connection, _ = server.accept()
    while connection.recv(1 << 20): pass
else:
    stream = socket.create_connection((sys.argv[2], 5201)); chunk = b"x" * (1 << 20); sent = 0; start = time.time()
    while time.time() - start < 2: stream.sendall(chunk); sent += len(chunk)
    stream.close(); print(sent / (time.time() - start))
"""


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def make_hosts():
    ip("netns", "add", HOSTS[0])
    ip("netns", "add", HOSTS[1])
    ip("-n", HOSTS[0], "link", "add", DEVICES[0], "type", "veth", "peer", "name", DEVICES[1], "netns", HOSTS[1])
    for host, device, address in zip(HOSTS, DEVICES, ADDRESSES):
        ip("-n", host, "addr", "add", f"{address}/24", "dev", device)
        ip("-n", host, "link", "set", "lo", "up")
        ip("-n", host, "link", "set", device, "up")


def delete_hosts():
    for host in HOSTS:
        ip("netns", "del", host, check=False)


def shape(rate, delay_ms):
    """Sets both ends to `rate` ("none": unshaped); returns whether the delay was applied."""
    delayed = False
    for host, device in zip(HOSTS, DEVICES):
        subprocess.run(["tc", "-n", host, "qdisc", "del", "dev", device, "root"], capture_output=True)
        if delay_ms and subprocess.run(["tc", "-n", host, "qdisc", "add", "dev", device, "root", "netem", "delay",
                                        f"{delay_ms}ms"] + ([] if rate == "none" else ["rate", rate]),
                                       capture_output=True).returncode == 0:
            delayed = True
        elif rate != "none":
            subprocess.run(["tc", "-n", host, "qdisc", "add", "dev", device, "root", "tbf", "rate", rate, "burst",
                            "1mb", "latency", "50ms"], check=True)
    return delayed


def measure_bandwidth():
    server = subprocess.Popen(["ip", "netns", "exec", HOSTS[0], sys.executable, "-c", BANDWIDTH_PROBE, "serve",
                               ADDRESSES[0]], stdout=subprocess.PIPE, text=True)
    server.stdout.readline()
    client = subprocess.run(["ip", "netns", "exec", HOSTS[1], sys.executable, "-c", BANDWIDTH_PROBE, "send",
                             ADDRESSES[0]], check=True, capture_output=True, text=True)
    server.wait(timeout=10)
    return float(client.stdout)


def train_command(a, model_dir, extra, threads=1):
    return [a.nmt, "--log-level", "warn", "--threads", str(threads), "train", "--config",
            f"configs/bench-{a.cell}.yaml", "--set", f"training.dir={model_dir}",
            "--set", f"training.max_steps={a.warmup + a.steps}", "--set", f"training.log_every={a.warmup}",
            "--set", "training.valid_every=1000000000", "--set", "training.valid_bleu=0",
            "--set", "training.precision=fp32", *extra]  # fp32 on every CPU, as recorded


def two_hosts_run(a, link, name, extra=(), env=None):
    model_dir = os.path.join(ROOT, "runs/bench-hosts", f"{link}-{name}".replace(" ", "_"))
    shutil.rmtree(model_dir, ignore_errors=True)
    run_env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "GLOO_SOCKET_IFNAME")}
    run_env.update(env or {})
    nodes = []
    for node, host in enumerate(HOSTS):
        launcher = ["--nproc-per-node", "1", "--nnodes", "2", "--node-rank", str(node), "--master-addr", ADDRESSES[0],
                    "--master-port", str(PORT)]
        nodes.append(subprocess.Popen(["taskset", "-c", str(node), "ip", "netns", "exec", host,
                                       *train_command(a, model_dir, [*extra, *launcher])],
                                      cwd=ROOT, env=run_env, stdout=subprocess.DEVNULL))
    if any(node.wait() != 0 for node in nodes):
        sys.exit(f"two_hosts_bench: the run in {model_dir} failed")
    records = timed_records(model_dir, a.warmup)
    seconds = sum(r["seconds"] for r in records)
    return {"link": link, "setting": name, "tokens_per_sec": round(tokens_per_second(records), 1),
            "seconds_per_step": round(seconds / a.steps, 4),
            "sum_fraction": round(sum(r["gradient_sum_seconds"] for r in records) / seconds, 3),
            "agree_fraction": round(sum(r["agree_seconds"] for r in records) / seconds, 3)}


def compute_per_rank(a):
    """One rank's step without communication: two 1 x 1 runs at half the batch, side by side."""
    runs = []
    for core in (0, 1):
        model_dir = os.path.join(ROOT, "runs/bench-hosts", f"half{core}")
        shutil.rmtree(model_dir, ignore_errors=True)
        command = train_command(a, model_dir, ["--set", "training.batch_size=32", "--set", f"training.seed={core + 1}"])
        runs.append((subprocess.Popen(["taskset", "-c", str(core), *command], cwd=ROOT, stdout=subprocess.DEVNULL),
                     model_dir))
    seconds, tokens = [], 0.0
    for process, model_dir in runs:
        if process.wait() != 0:
            sys.exit(f"two_hosts_bench: the run in {model_dir} failed")
        records = timed_records(model_dir, a.warmup)
        seconds.append(sum(r["seconds"] for r in records) / a.steps)
        tokens += sum(r["tokens"] for r in records) / a.steps
    return {"setting": "compute per rank", "seconds_per_step": round(max(seconds), 4), "tokens_per_step": tokens}


SETTINGS = [
    ("default: overlapped, rows in use, 16 MB buckets", [], {}),
    ("model's assumptions: after the backward pass, tables whole", [],
     {"NMT_OVERLAP_ALLREDUCE": "0", "NMT_ROW_SPARSE_SUMS": "0"}),
    ("default, 4 MB buckets", ["--set", "distributed.bucket_mb=4"], {}),
    ("default, 64 MB buckets", ["--set", "distributed.bucket_mb=64"], {}),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nmt", default="build/nmt")
    p.add_argument("--cell", default="gru")
    p.add_argument("--links", default="none,10gbit,1gbit")
    p.add_argument("--delay-ms", type=float, default=0.5, help="one-way latency per end, where netem exists")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--gradient-mb", type=float, default=38.3, help="bench-gru: 9,586,977 float parameters")
    p.add_argument("--latency-us", type=float, default=50, help="per message, for the model")
    a = p.parse_args()
    if a.steps % a.warmup:
        sys.exit("two_hosts_bench: --steps must be a multiple of --warmup (the logging interval)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("two_hosts_bench: stopped"))  # the hosts are deleted
    if os.geteuid() != 0:
        sys.exit("two_hosts_bench: network namespaces need root")
    if not os.path.exists(os.path.join(ROOT, "runs/bench/data/manifest.json")):
        subprocess.run([a.nmt, "--log-level", "warn", "preprocess", "--config", f"configs/bench-{a.cell}.yaml"],
                       cwd=ROOT, check=True)
    links = a.links.split(",")
    results, compute, bandwidth, delayed = {}, [], {link: [] for link in links}, {}
    make_hosts()
    try:
        for round_index in range(a.rounds):
            compute.append(compute_per_rank(a))
            print(json.dumps({**compute[-1], "round": round_index + 1}), flush=True)
            for link in links:
                delayed[link] = shape(link, a.delay_ms)
                bandwidth[link].append(measure_bandwidth())
                for name, extra, env in SETTINGS:
                    result = two_hosts_run(a, link, name, extra, env)
                    result.update(round=round_index + 1, link_mb_per_s=round(bandwidth[link][-1] / 1e6))
                    results.setdefault((link, name), []).append(result)
                    print(json.dumps(result), flush=True)
    finally:
        delete_hosts()

    step = statistics.median(c["seconds_per_step"] for c in compute)
    tokens = statistics.median(c["tokens_per_step"] for c in compute)
    print(f"\ncompute per rank: {step:.3f} s per step of {tokens:.0f} target tokens (two 1 x 1 at half the "
          f"batch side by side), median of {a.rounds} rounds")
    print(f"\n| link (measured) | setting | target tok/s | s per step | sums left | agreeing | rounds |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (link, name), runs in results.items():
        median = lambda key: statistics.median(r[key] for r in runs)
        rounds = " / ".join(f"{r['tokens_per_sec']:.0f}" for r in runs)
        print(f"| {link} ({statistics.median(bandwidth[link]) / 1e6:.0f} MB/s) | {name} | "
              f"{median('tokens_per_sec'):.0f} | {median('seconds_per_step'):.3f} | {median('sum_fraction'):.1%} | "
              f"{median('agree_fraction'):.1%} | {rounds} |")
    print(f"\n| link | model: allreduce (ms) | measured: sums after the backward pass (ms) | model: tok/s | "
          f"measured, model's assumptions | measured, default |")
    print("| --- | --- | --- | --- | --- | --- |")
    for link in links:
        comm = allreduce_seconds(2, a.gradient_mb * 1e6, statistics.median(bandwidth[link]), a.latency_us * 1e-6)
        model = tokens / (step + comm)
        measured = {name: statistics.median(r["tokens_per_sec"] for r in results[(link, name)])
                    for name, _, _ in SETTINGS}
        assumed = results[(link, SETTINGS[1][0])]
        sums = statistics.median(r["sum_fraction"] * r["seconds_per_step"] for r in assumed)
        print(f"| {link}{' + netem delay' if delayed[link] else ''} | {comm * 1000:.0f} | {sums * 1000:.0f} | {model:.0f} | "
              f"{measured[SETTINGS[1][0]]:.0f} ({measured[SETTINGS[1][0]] / model:.2f}x) | "
              f"{measured[SETTINGS[0][0]]:.0f} ({measured[SETTINGS[0][0]] / model:.2f}x) |")
    if a.delay_ms and not any(delayed.values()):
        print(f"\nlatency not emulated: this kernel has no sch_netem (tc netem); links differ in rate only")


if __name__ == "__main__":
    main()
