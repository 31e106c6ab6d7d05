"""Reads nmt's metrics.jsonl: target tokens/s of the training records after the warm-up steps."""
import json
import os


def tokens_per_sec_after(model_dir, warmup):
    tokens = seconds = 0.0
    with open(os.path.join(model_dir, "metrics.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if record["type"] == "train" and record["step"] > warmup:
                tokens += record["tokens"]
                seconds += record["seconds"]
    return round(tokens / seconds, 1)
