#!/usr/bin/python3
"""The plain PyTorch loop of nmt's character-level LM (configs/tinyshakespeare-char.yaml):
embedding 128, 2-layer nn.LSTM of 512 with dropout, linear output, Adam, gradient clipping,
B parallel streams read in windows of T characters with the hidden state carried and
detached (truncated BPTT). Prints one JSON line with target tokens/s after warm-up.
"""
import argparse
import json
import time

import torch
import torch.nn as nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--text", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--bptt", type=int, default=128)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--emb", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.25)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    text = open(args.text, encoding="utf-8").read()
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text], dtype=torch.long)
    length = (len(ids) - 1) // args.batch
    inputs = ids[: length * args.batch].view(args.batch, length).t().contiguous()
    targets = ids[1 : length * args.batch + 1].view(args.batch, length).t().contiguous()

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(len(chars), args.emb)
            self.drop = nn.Dropout(args.dropout)
            self.rnn = nn.LSTM(args.emb, args.hidden, args.layers, dropout=args.dropout)
            self.out = nn.Linear(args.hidden, len(chars))

        def forward(self, x, state):
            y, state = self.rnn(self.drop(self.embedding(x)), state)
            return self.out(self.drop(y)), state

    model = Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    state = None
    position = 0
    tokens = 0
    start = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            start = time.perf_counter()
            tokens = 0
        if position + args.bptt > length:
            position, state = 0, None
        x = inputs[position : position + args.bptt]
        y = targets[position : position + args.bptt]
        position += args.bptt
        if state is not None:
            state = tuple(s.detach() for s in state)
        optimizer.zero_grad(set_to_none=True)
        logits, state = model(x, state)
        loss = loss_fn(logits.view(-1, logits.size(-1)), y.view(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        tokens += y.numel()
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": "torch_reference_lm", "threads": args.threads, "tokens_per_sec": round(tokens / seconds, 1),
                      "steps": args.steps, "loss": round(loss.item(), 4)}))


if __name__ == "__main__":
    main()
