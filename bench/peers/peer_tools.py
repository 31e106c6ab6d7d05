"""How each trainer runs the benchmark: its command, its config, and the throughput its own log reports."""
import datetime
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from run_bench import native_bf16, prepare_bench_data  # noqa: E402,F401  (native_bf16: for peers_bench, peer_decode)
from train_metrics import tokens_per_sec_after  # noqa: E402

PEERS = os.environ.get("NMT_PEERS_DIR", os.path.expanduser("~/.cache/nmt/peers"))
TORCH2 = os.environ.get("NMT_TORCH_VENV", os.path.expanduser("~/.cache/nmt/torch-2.15.0"))
MULTI30K = os.path.join(ROOT, "downloads/multi30k/tok")
WORK = os.path.join(ROOT, "runs/peers")
DATA = os.path.join(WORK, "data")
REFERENCE = os.path.join(ROOT, "..", "shared", "bench", "torch_reference.py")
SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}


def prepare_data(nmt):
    """nmt's bench data (configs/bench-*.yaml share runs/bench/data), and plain-text copies of Multi30k de-en
    (tok) for the peers, which do not read gzip."""
    prepare_bench_data(nmt)
    os.makedirs(DATA, exist_ok=True)
    for name, split in SPLITS.items():
        for lang in ("de", "en"):
            out = os.path.join(DATA, f"{name}.{lang}")
            if not os.path.exists(out):
                with gzip.open(os.path.join(MULTI30K, f"{split}.lc.norm.tok.{lang}.gz"), "rt") as f, open(out + ".tmp", "w") as g:
                    g.write(f.read())
                os.replace(out + ".tmp", out)


def thread_env(threads):
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def run_measured(cmd, env=None, log=None, deadline_s=None, stdin=None, stdout=None):
    """Runs cmd, stderr to `log`; with deadline_s, sends SIGINT then (after 2 minutes) SIGKILL once it runs that long.
    Returns (seconds, peak RSS in MB, stdout text unless stdout names a file)."""
    os.makedirs(WORK, exist_ok=True)
    log = log or os.path.join(WORK, "last_command.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w") as err, open(stdin or os.devnull) as inp, open(stdout or os.devnull, "w") as out_file:
        out = out_file if stdout or deadline_s else subprocess.PIPE
        start = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=inp, stdout=out, stderr=err, text=True)
        captured = child.stdout.read() if out == subprocess.PIPE else ""
        interrupted = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG if deadline_s else 0)
            if pid:
                break
            if not interrupted and time.perf_counter() - start > deadline_s:
                child.send_signal(signal.SIGINT)  # JoeyNMT stops cleanly on it; OpenNMT-py 3.5.1 ignores it
                interrupted, deadline_s = True, deadline_s + 120
            elif interrupted and time.perf_counter() - start > deadline_s:
                child.kill()
            time.sleep(0.5)
        seconds = time.perf_counter() - start
    if status != 0 and not interrupted:
        with open(log) as f:
            sys.exit(f"peers: {' '.join(cmd)} failed (status {status}); {log} ends:\n{f.read()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, captured


def windowed_rate(records, warmup):
    """Target tokens/s over the log windows after step `warmup`. records: (time, step, tokens/s of the window since the
    previous record). The first window (data loading, bucket filling) never counts."""
    tokens = seconds = 0.0
    for (t0, _, _), (t1, step, rate) in zip(records, records[1:]):
        if step > warmup:
            tokens += rate * (t1 - t0)
            seconds += t1 - t0
    if seconds == 0:
        raise RuntimeError(f"no log window after step {warmup}: {records}")
    return round(tokens / seconds, 1)


def log_time(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


ONMT_STEP = re.compile(r"^\[(\S+ \S+) INFO\] Step\s+(\d+)/\s*\d+;.*;\s*\d+/\s*(\d+) tok/s;")
JOEY_STEP = re.compile(r"^(\S+ \S+) - INFO - joeynmt.training - Epoch\s+\d+, Step:\s+(\d+),.*Tokens per Sec:\s+(\d+)")


def log_records(path, pattern):
    records = []
    with open(path) as f:
        for line in f:
            m = pattern.match(line)
            if m:
                records.append((log_time(m.group(1)), int(m.group(2)), float(m.group(3))))
    return records


def fill(template, out, **values):
    with open(os.path.join(HERE, template)) as f:
        text = f.read().format(**values)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    return out


def onmt(tool):
    return os.path.join(PEERS, "onmt", "bin", tool)


def onmt_vocab():
    """OpenNMT-py's vocabulary files, counted over all of train (min frequency applies at training)."""
    if os.path.exists(os.path.join(DATA, "vocab.en")):
        return
    config = fill("onmt-bench.yaml", os.path.join(WORK, "vocab", "onmt.yaml"), data=DATA, work=os.path.join(WORK, "vocab"),
                  cell="gru", rnn_type="GRU", steps=1, valid_steps=1, save_steps=1, report_every=1)
    run_measured([onmt("onmt_build_vocab"), "-config", config, "-n_sample", "-1"], thread_env(2))
    # A double space in train.en becomes an empty token ("\t1"), on which onmt_train's vocab reader fails.
    for lang in ("de", "en"):
        path = os.path.join(DATA, f"vocab.{lang}")
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f if not line.startswith("\t")]
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(lines)


def bench_config(tool, cell, work, steps, report_every, valid_steps, save_steps):
    template = {"onmt": "onmt-bench.yaml", "joey": "joey-bench.yaml"}[tool]
    return fill(template, os.path.join(work, f"{tool}.yaml"), data=DATA, work=work, cell=cell,
                rnn_type=cell.upper() if tool == "onmt" else cell, steps=steps, epochs=1000, report_every=report_every,
                valid_steps=valid_steps, save_steps=save_steps)


def train_command(tool, config):
    if tool == "onmt":
        return [onmt("onmt_train"), "-config", config]
    return [os.path.join(PEERS, "joey", "bin", "python"), "-m", "joeynmt", "train", config, "--skip-test"]


def peer_train_speed(tool, cell, threads, steps, warmup):
    """tokens/s of steps after `warmup` of OpenNMT-py or JoeyNMT training bench-{cell}, from its own log."""
    work = os.path.join(WORK, "speed", f"{tool}-{cell}")
    every = 10
    total = warmup + steps
    config = bench_config(tool, cell, work, total, every, 10 ** 6, 10 ** 6)
    log = os.path.join(work, "stderr.log")
    _, rss, _ = run_measured(train_command(tool, config), thread_env(threads), log)
    # OpenNMT-py's step reports reach stderr but not always its log_file; JoeyNMT logs to both.
    records = log_records(log, ONMT_STEP if tool == "onmt" else JOEY_STEP)
    return {"tokens_per_sec": windowed_rate(records, warmup), "peak_rss_mb": round(rss, 1)}


def nmt_train_speed(nmt, cell, threads, steps, warmup, precision):
    model_dir = os.path.join(WORK, "speed", f"nmt-{cell}")
    _, rss, _ = run_measured([nmt, "train", "--config", f"configs/bench-{cell}.yaml", "--overwrite", "--log-level", "warn",
                              "--threads", str(threads), "--set", f"training.dir={model_dir}",
                              "--set", f"training.precision={precision}", "--set", f"training.max_steps={warmup + steps}",
                              "--set", f"training.log_every={warmup}", "--set", "training.valid_every=1000000000",
                              "--set", "training.valid_bleu=0"])
    return {"tokens_per_sec": tokens_per_sec_after(model_dir, warmup), "peak_rss_mb": round(rss, 1)}


def reference_env(python, threads):
    """Debian's torch 1.13 runs OpenBLAS, which takes some AVX-512 CPUs for Prescott; it gets the core nmt detected
    and runs (nmt re-executes itself with it), as bench/run_bench.py does. The wheels bring MKL: left alone."""
    env = thread_env(threads)
    if python == "/usr/bin/python3" and "OPENBLAS_CORETYPE" not in env:
        from run_bench import nmt_openblas_core
        core = nmt_openblas_core(os.path.join(ROOT, "build/nmt"))
        if core:
            env["OPENBLAS_CORETYPE"] = core
    return env


def reference_train_speed(python, cell, threads, steps, warmup, precision):
    cmd = [python, REFERENCE, "train", "--src", f"{MULTI30K}/train.lc.norm.tok.de.gz", "--tgt",
           f"{MULTI30K}/train.lc.norm.tok.en.gz", "--cell", cell, "--threads", str(threads), "--steps", str(steps),
           "--warmup-steps", str(warmup), "--precision", precision]
    _, rss, out = run_measured(cmd, reference_env(python, threads))
    result = json.loads(out.strip().splitlines()[-1])
    return {"tokens_per_sec": round(result["tokens_per_sec"], 1), "peak_rss_mb": round(rss, 1)}
