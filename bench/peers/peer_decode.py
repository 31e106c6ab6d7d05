"""Decoding speed next to the peers: each tool's own translate command on test_2016_flickr with its bench-gru model.

Each tool first trains its bench-gru model for the same wall time (--decode-train-minutes); then, at 2 threads,
each translates the 1,000 test sentences greedily and with beam 5, at its default batch and at batch 1. The time is
the whole command (start-up and model loading included); BLEU (sacreBLEU --tokenize none) guards the output. nmt
decodes twice: in fp32 over the whole vocabulary, and at its fastest CPU setting, int8 weights with the lexical
shortlist (`nmt shortlist` builds it from the training data after training; building it is not timed).
"""
import glob
import json
import os
import re

import peer_tools as tools

TEST_SRC = os.path.join(tools.DATA, "test.de")
TEST_REF = os.path.join(tools.DATA, "test.en")
DEFAULT_BATCH = {"nmt": 64, "nmt-int8-shortlist": 64, "onmt": 30, "joey": 64}  # decoding.batch_size; onmt_translate
# -batch_size; testing.batch_size
TOOLS = ("nmt", "nmt-int8-shortlist", "onmt", "joey")


def sacrebleu(hyp, metrics=("bleu",)):
    """sacreBLEU 2.6.0 (from OpenNMT-py's venv) on the tokenized, lowercased reference: {metric: score}."""
    cmd = [os.path.join(tools.PEERS, "onmt", "bin", "sacrebleu"), TEST_REF, "-i", hyp, "--tokenize", "none", "-b",
           "-w", "2", "-m", *metrics]
    _, _, out = tools.run_measured(cmd)
    scores = json.loads(out) if len(metrics) > 1 else [float(out)]  # several metrics: a JSON list
    return dict(zip(metrics, scores))


def train_bench_model(tool, nmt, minutes):
    """Trains tool's bench-gru model for `minutes` of wall time, each at its fastest setting (nmt in bf16 where the
    CPU has it; the peers have no bf16 training on a CPU); returns (what to decode with, steps)."""
    work = os.path.join(tools.WORK, "decode", tool)
    log = os.path.join(work, "train.stderr")
    if tool == "nmt":
        tools.run_measured([nmt, "train", "--config", "configs/bench-gru.yaml", "--overwrite", "--log-level", "warn",
                            "--threads", "2", "--set", f"training.dir={work}", "--set", f"training.max_minutes={minutes}",
                            "--set", "training.max_epochs=1000",
                            "--set", f"training.precision={'bf16' if tools.native_bf16() else 'fp32'}"], log=log)
        return work, last_step_nmt(work)
    config = tools.bench_config(tool, "gru", work, 10 ** 7, 50, 500, 500)
    tools.run_measured(tools.train_command(tool, config), tools.thread_env(2), log, deadline_s=60 * minutes)
    return config, last_step(log, tool)


def last_step_nmt(model_dir):
    with open(os.path.join(model_dir, "metrics.jsonl")) as f:
        steps = [json.loads(line).get("step", 0) for line in f]
    return max(steps)


def last_step(log, tool):
    records = tools.log_records(log, tools.ONMT_STEP if tool == "onmt" else tools.JOEY_STEP)
    return records[-1][1] if records else 0


def onmt_checkpoint(work, written_before=None):
    """OpenNMT-py's newest checkpoint (it keeps every save_checkpoint_steps), or the newest written before a time."""
    ckpts = [p for p in glob.glob(os.path.join(work, "model_step_*.pt"))
             if written_before is None or os.path.getmtime(p) <= written_before]
    if not ckpts:
        raise RuntimeError(f"no OpenNMT-py checkpoint in {work}")
    return max(ckpts, key=lambda p: int(re.search(r"_step_(\d+)\.pt$", p).group(1)))


def joey_decode_config(config, beam, batch, alpha):
    """The training config with its testing section set to this beam and batch (JoeyNMT takes them from there)."""
    with open(config) as f:
        text = f.read()
    text = re.sub(r"(?m)^testing:.*?(?=^training:)", f"testing: {{beam_size: {beam}, beam_alpha: {alpha}, "
                  f"batch_size: {batch}, batch_type: sentence, max_output_length: 100, eval_metrics: [bleu], "
                  f"sacrebleu_cfg: {{tokenize: none}}}}\n", text, flags=re.S)
    out = config.replace(".yaml", f".beam{beam}.batch{batch}.yaml")
    with open(out, "w") as f:
        f.write(text)
    return out


def translate(tool, model, beam, batch, hyp, nmt=None, joey_alpha=-1):
    """Runs tool's translate command on the test set at 2 threads; returns its wall seconds."""
    env = tools.thread_env(2)
    log = hyp + ".stderr"
    if tool.startswith("nmt"):
        cmd = [nmt, "translate", "--model", model, "--input", TEST_SRC, "--output", hyp, "--beam", str(beam),
               "--batch-size", str(batch), "--threads", "2", "--log-level", "warn"]
        if tool == "nmt-int8-shortlist":
            cmd += ["--precision", "int8", "--shortlist"]
        return tools.run_measured(cmd, env, log)[0]
    if tool == "onmt":
        cmd = [tools.onmt("onmt_translate"), "-model", model, "-src", TEST_SRC, "-output", hyp, "-beam_size", str(beam),
               "-batch_size", str(batch), "-batch_type", "sents", "-max_length", "100", "-gpu", "-1"]
        return tools.run_measured(cmd, env, log)[0]
    config = joey_decode_config(model, beam, batch, joey_alpha)
    cmd = [os.path.join(tools.PEERS, "joey", "bin", "python"), "-m", "joeynmt", "translate", config]
    return tools.run_measured(cmd, env, log, stdin=TEST_SRC, stdout=hyp)[0]


def count_lines(path):
    with open(path) as f:
        return sum(1 for _ in f)


def decode_section(a, record):
    models = {}
    for tool in ("nmt", "onmt", "joey"):
        model, steps = train_bench_model(tool, a.nmt, a.decode_train_minutes)
        if tool == "onmt":
            model_file = onmt_checkpoint(os.path.dirname(model))
        else:
            model_file = model
        models[tool] = model_file
        record({"section": "decode-train", "tool": tool, "minutes": a.decode_train_minutes, "steps": steps,
                "model": model_file})
    tools.run_measured([a.nmt, "shortlist", "--model", models["nmt"], "--log-level", "warn"])
    models["nmt-int8-shortlist"] = models["nmt"]
    rows = []
    for beam in (1, 5):
        for tool in TOOLS:
            for batch in (DEFAULT_BATCH[tool], 1):
                hyp = os.path.join(tools.WORK, "decode", f"{tool}.beam{beam}.batch{batch}.en")
                seconds = translate(tool, models[tool], beam, batch, hyp, a.nmt)
                lines = count_lines(hyp)
                if lines != count_lines(TEST_SRC):
                    raise RuntimeError(f"{tool} wrote {lines} lines to {hyp}")
                r = {"section": "decode", "tool": tool, "beam": beam, "batch": batch, "seconds": round(seconds, 2),
                     "sentences_per_sec": round(lines / seconds, 1), **sacrebleu(hyp)}
                record(r)
                rows.append(r)
    print("\n| tool | beam | batch | sentences/s | BLEU |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tool']} | {r['beam']} | {r['batch']} | {r['sentences_per_sec']} | {r['bleu']} |")
