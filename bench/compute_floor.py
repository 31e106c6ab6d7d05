#!/usr/bin/python3
"""Compute floor of one training step: the time of its matrix products alone, at the real
shapes, forward and backward (each forward GEMM has two backward GEMMs of the same size:
gradient of the input and of the weight). Prints one JSON line.

bench-gru/bench-lstm: bench/compute_floor.py [--cell gru|lstm] [--threads N] [--batch 64 --src-len 13 --tgt-len 14]
The character LM of configs/tinyshakespeare-char.yaml: bench/compute_floor.py --lm [--threads N] [--bptt 128]
(its recurrent weight gradients are one product over the whole window, as the fused layers do).
--dtype bf16 multiplies bf16 matrices (oneDNN), the floor of bf16 training.
"""
import argparse
import json
import time

import torch


def gemms(cell, batch, src_len, tgt_len, emb=256, enc=256, dec=512, vocab=5921):
    gates = 3 if cell == "gru" else 4
    mem = 2 * enc
    shapes = []  # (m, k, n, count): an (m x k) @ (k x n) product, `count` times
    for _ in range(2):  # encoder directions
        shapes.append((src_len * batch, emb, gates * enc, 1))      # input projections, all steps
        shapes.append((batch, enc, gates * enc, src_len))          # recurrent products, per step
    shapes.append((batch, mem, dec, 1))                            # bridge
    shapes.append((tgt_len * batch, emb, gates * dec, 1))          # decoder input projections
    shapes.append((batch, dec, gates * dec, tgt_len))              # decoder recurrence
    shapes.append((tgt_len * batch, dec, mem, 1))                  # attention query projection
    shapes.append((tgt_len, mem, src_len, batch))                  # attention scores (per sentence)
    shapes.append((tgt_len, src_len, mem, batch))                  # attention context
    shapes.append((tgt_len * batch, dec + mem, dec, 1))            # combine
    shapes.append((tgt_len * batch, dec, vocab, 1))                # output layer
    return shapes


def lm_gemms(batch, bptt, emb=128, hidden=512, layers=2, vocab=65):
    shapes = []  # as gemms(); a fifth field True: the weight gradient is one product over the window
    for layer in range(layers):
        shapes.append((bptt * batch, emb if layer == 0 else hidden, 4 * hidden, 1, False))  # input projections
        shapes.append((batch, hidden, 4 * hidden, bptt, True))                              # recurrence
    shapes.append((bptt * batch, hidden, vocab, 1, False))                                  # output layer
    return shapes


def time_products(shapes, repeats, dtype):
    tensors = []
    for m, k, n, count, *window_weight_grad in shapes:
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        g = torch.randn(m, n, dtype=dtype)
        once = bool(window_weight_grad and window_weight_grad[0])
        window = (torch.randn(k, m * count, dtype=dtype), torch.randn(m * count, n, dtype=dtype)) if once else None
        tensors.append((a, b, g, count, window))
    def run():
        for a, b, g, count, window in tensors:
            for _ in range(count):
                torch.mm(a, b)        # forward
                torch.mm(g, b.t())    # gradient of the input
                if window is None:
                    torch.mm(a.t(), g)  # gradient of the weight
            if window is not None:
                torch.mm(*window)     # gradient of the weight, all steps at once
    run()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", default="gru", choices=["gru", "lstm"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--src-len", type=int, default=13)
    p.add_argument("--tgt-len", type=int, default=14)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--lm", action="store_true", help="the character LM instead of bench-gru/lstm")
    p.add_argument("--bptt", type=int, default=128)
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    shapes = lm_gemms(a.batch, a.bptt) if a.lm else gemms(a.cell, a.batch, a.src_len, a.tgt_len)
    flops = sum(3 * 2 * m * k * n * count for m, k, n, count, *_ in shapes)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    seconds = time_products(shapes, max(1, a.repeats // 10) if a.lm else a.repeats, dtype)
    tokens = a.batch * (a.bptt if a.lm else a.tgt_len)
    print(json.dumps({"model": "char-lm" if a.lm else a.cell, "threads": a.threads, "dtype": a.dtype,
                      "step_ms": round(1000 * seconds, 2),
                      "mflop_per_token": round(flops / tokens / 1e6, 2),
                      "gflops": round(flops / seconds / 1e9, 1),
                      "floor_tokens_per_sec": round(tokens / seconds, 1)}))


if __name__ == "__main__":
    main()
