"""The race: each tool trains de->en for the same wall time (--race-minutes) on the same cores, its own best recipe.

nmt runs scripts/recipe_multi30k.sh de en tok (with --members N, N models side by side, decoded as an
ensemble); OpenNMT-py and JoeyNMT run the recipes in onmt-race.yaml and
joey-race.yaml (what their own docs and configs suggest for this data) and are interrupted at the deadline.
Each then translates test_2016_flickr with beam 5 by its own command, scored by the same sacreBLEU (--tokenize none).
One run per tool: a single seed.
"""
import json
import os
import time

import peer_tools as tools
from peer_decode import TEST_SRC, last_step, last_step_nmt, onmt_checkpoint, sacrebleu, translate


def race_nmt(a, work):
    """The recipe: preprocess, train (training.max_minutes), average the 3 best checkpoints, evaluate."""
    log = os.path.join(work, "recipe.log")
    overrides = [arg for setting in a.race_set for arg in ("--set", setting)]
    seconds, _, _ = tools.run_measured(["bash", "scripts/recipe_multi30k.sh", "de", "en", "tok", "--runs", work,
                                        "--minutes", str(a.race_minutes), "--members", str(a.race_members),
                                        *overrides], log=log)
    model_dir = os.path.join(work, "multi30k-de-en", "model")
    with open(os.path.join(model_dir, "results.jsonl")) as f:
        own = [json.loads(line) for line in f]
    members = [model_dir] if a.race_members == 1 else [f"{model_dir}-{k}" for k in range(1, a.race_members + 1)]
    models = [arg for m in members for arg in ("--model", os.path.join(m, "checkpoints", "averaged.pt"))]
    hyp = os.path.join(work, "nmt.beam5.en")
    env = tools.thread_env(2)
    tools.run_measured([a.nmt, "translate", *models, "--input", TEST_SRC, "--output", hyp, "--beam", "5",
                        "--log-level", "warn"], env, hyp + ".stderr")
    train_seconds = own[0]["train_seconds"] if own else None
    which = "average of the 3 best checkpoints by validation"
    if a.race_members > 1:
        which = f"ensemble of {a.race_members} models trained side by side, each the {which}"
    steps = [last_step_nmt(m) for m in members]
    return hyp, steps[0] if len(steps) == 1 else " + ".join(f"{n:,}" for n in steps), train_seconds, which


def race_peer(tool, a, work):
    template = {"onmt": "onmt-race.yaml", "joey": "joey-race.yaml"}[tool]
    config = tools.fill(template, os.path.join(work, f"{tool}.yaml"), data=tools.DATA, work=work)
    log = os.path.join(work, "train.stderr")
    deadline = time.time() + 60 * a.race_minutes
    seconds, _, _ = tools.run_measured(tools.train_command(tool, config), tools.thread_env(2), log,
                                       deadline_s=60 * a.race_minutes)
    hyp = os.path.join(work, f"{tool}.beam5.en")
    if tool == "onmt":
        model, which = onmt_checkpoint(work, deadline), "newest checkpoint before the deadline"
        translate(tool, model, 5, 30, hyp)
    else:
        model, which = config, "best checkpoint by validation perplexity"
        translate(tool, model, 5, 64, hyp, joey_alpha=1.0)
    return hyp, last_step(log, tool), round(seconds), which


def race_section(a, record):
    rows = []
    for tool in a.race_tools.split(","):
        variant = a.race_set + ([f"members={a.race_members}"] if a.race_members > 1 else [])
        settings = "-".join(variant) if tool == "nmt" else ""  # each variant of nmt's recipe in its own folder
        work = os.path.join(tools.WORK, "race", tool + (f"-{settings}" if settings else ""))
        os.makedirs(work, exist_ok=True)
        hyp, steps, seconds, which = race_nmt(a, work) if tool == "nmt" else race_peer(tool, a, work)
        r = {"section": "race", "tool": tool, "minutes": a.race_minutes, "steps": steps, "train_seconds": seconds,
             "model": which, **sacrebleu(hyp, ("bleu", "chrf"))}
        if tool == "nmt" and variant:
            r["settings"] = variant
        record(r)
        rows.append(r)
    print("\n| tool | steps | BLEU | chrF | decoded with |\n|---|---|---|---|---|")
    for r in rows:
        steps = r["steps"] if isinstance(r["steps"], str) else f"{r['steps']:,}"
        print(f"| {r['tool']} | {steps} | {r['bleu']} | {r['chrf']} | {r['model']} |")
