#!/usr/bin/python3
"""nmt's character-level LM training against the plain PyTorch loop of the same model
(bench/lm_reference.py), side by side in one run, alternating. nmt runs at its defaults and,
for comparison, with its fused LSTM path off (NMT_FUSED_RNN=0); the reference at 1 thread, at
2 threads and at 2 threads with OMP_WAIT_POLICY=PASSIVE, keeping its best.
    bench/lm_bench.py [--steps 30] [--warmup 5] [--rounds 1]
Needs Tiny Shakespeare (scripts/get_tinyshakespeare.sh) and `nmt preprocess` of
configs/tinyshakespeare-char.yaml.
"""
import argparse
import json
import os
import subprocess

from train_metrics import tokens_per_sec_after

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nmt_train(nmt, steps, warmup, env_extra):
    env = dict(os.environ, **env_extra)
    model_dir = "runs/lm-bench/model"
    subprocess.run([nmt, "train", "--config", "configs/tinyshakespeare-char.yaml", "--overwrite", "--log-level", "warn",
                    "--set", f"training.dir={model_dir}", "--set", f"training.max_steps={warmup + steps}",
                    "--set", f"training.log_every={warmup}", "--set", "training.valid_every=1000000000",
                    "--set", "training.precision=fp32"],  # as the reference multiplies
                   cwd=ROOT, env=env, check=True)
    return tokens_per_sec_after(os.path.join(ROOT, model_dir), warmup)


def reference(steps, warmup, threads, policy):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run(["/usr/bin/python3", "bench/lm_reference.py", "--text", "downloads/tinyshakespeare/train.txt",
                          "--threads", str(threads), "--steps", str(steps), "--warmup", str(warmup)],
                         cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["tokens_per_sec"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nmt", default=os.path.join(ROOT, "build/nmt"))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()
    results = {}
    for _ in range(args.rounds):
        runs = [("nmt", lambda: nmt_train(args.nmt, args.steps, args.warmup, {})),
                ("ref 1 thread", lambda: reference(args.steps, args.warmup, 1, None)),
                ("nmt unfused", lambda: nmt_train(args.nmt, args.steps, args.warmup, {"NMT_FUSED_RNN": "0"})),
                ("ref 2 threads", lambda: reference(args.steps, args.warmup, 2, None)),
                ("ref 2 threads PASSIVE", lambda: reference(args.steps, args.warmup, 2, "PASSIVE"))]
        for name, measure in runs:
            value = measure()
            results[name] = max(results.get(name, 0.0), value)
            print(json.dumps({"run": name, "tokens_per_sec": value}), flush=True)
    floor = json.loads(subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench/compute_floor.py"), "--lm",
                                       "--threads", "2"], check=True, capture_output=True, text=True).stdout)
    results["compute floor (GEMMs only, 2 threads)"] = floor["floor_tokens_per_sec"]
    print(json.dumps({"run": "compute floor", **floor}), flush=True)
    best_ref = max(v for k, v in results.items() if k.startswith("ref"))
    print(f"\nchar LM (2x512 LSTM, batch 64, bptt 128), target tokens/s, best of {args.rounds} round(s):")
    for name, value in results.items():
        print(f"  {name:24s} {value:9.1f}")
    print(f"  nmt / best reference     {results['nmt'] / best_ref:9.2f}x")
    print(f"  floor / best reference   {floor['floor_tokens_per_sec'] / best_ref:9.2f}x  (the most any implementation could reach)")


if __name__ == "__main__":
    main()
