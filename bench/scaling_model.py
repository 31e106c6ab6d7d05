#!/usr/bin/python3
"""Data-parallel scaling on paper, from measured inputs.

Step time on N ranks = compute of one rank's share + ring allreduce of the gradients, which
moves 2(N-1)/N x the gradient bytes per rank at the link's bandwidth plus 2(N-1) message
latencies (no overlap with the backward pass assumed, as nmt sums gradients after it). With
gradient accumulation K, one allreduce serves K micro-batches of compute.

  bench/scaling_model.py --compute-seconds 0.52 --tokens-per-step 830 --gradient-mb 38.3

--compute-seconds: one rank's step without communication (measured: nmt 1 x 1 seconds per step);
--tokens-per-step: target tokens in that step. Prints step time, efficiency (compute / step) and
the per-rank token budget per update that keeps efficiency at 80% or more.
"""
import argparse

LINKS = {  # effective bandwidth (bytes/s) and per-message latency (s)
    "10 GbE": (1.1e9, 50e-6),
    "InfiniBand HDR 200 Gb/s": (22e9, 3e-6),
}


def allreduce_seconds(ranks, gradient_bytes, bandwidth, latency):
    if ranks == 1:
        return 0.0
    return 2 * (ranks - 1) / ranks * gradient_bytes / bandwidth + 2 * (ranks - 1) * latency


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--compute-seconds", type=float, required=True)
    p.add_argument("--tokens-per-step", type=float, required=True)
    p.add_argument("--gradient-mb", type=float, required=True)
    p.add_argument("--ranks", default="2,8,64,256")
    p.add_argument("--accumulate", default="1,4")
    a = p.parse_args()
    gradient_bytes = a.gradient_mb * 1e6
    print("| link | ranks | accumulate | allreduce (ms) | step (s) | efficiency | tok/s, all ranks |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for link, (bandwidth, latency) in LINKS.items():
        for ranks in (int(r) for r in a.ranks.split(",")):
            for k in (int(k) for k in a.accumulate.split(",")):
                comm = allreduce_seconds(ranks, gradient_bytes, bandwidth, latency)
                step = k * a.compute_seconds + comm
                efficiency = k * a.compute_seconds / step
                print(f"| {link} | {ranks} | {k} | {comm * 1000:.1f} | {step:.3f} | {efficiency:.0%} | "
                      f"{ranks * k * a.tokens_per_step / step:,.0f} |")
    print()
    seconds_per_token = a.compute_seconds / a.tokens_per_step
    for link, (bandwidth, latency) in LINKS.items():
        # Efficiency c / (c + comm) >= 0.8  <=>  c >= 4 comm; comm is nearly flat in N.
        comm = allreduce_seconds(256, gradient_bytes, bandwidth, latency)
        print(f"{link}: allreduce {comm * 1000:.1f} ms at 256 ranks; >= 80% efficiency needs >= "
              f"{4 * comm / seconds_per_token:,.0f} target tokens per rank per update "
              f"({4 * comm:.2f} s of compute)")


if __name__ == "__main__":
    main()
