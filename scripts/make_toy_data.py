#!/usr/bin/env python3
"""Generates nmt's embedded default corpus in data/ (fixed seed, reproducible).

The task: translate sentences of an invented SVO "source" language into an invented SOV
"target" language. It has what a real translation task needs at toy scale:
  * a vocabulary of hundreds of words (word-for-word lexicon between the languages),
  * reordering: the verb moves to the end, adjectives move after their noun,
  * numbers written in words ("three hundred twenty one") become digits ("3 2 1"),
  * variable lengths: one or two clauses, optional objects and adjectives.

Usage: scripts/make_toy_data.py [--out data] [--seed 7]
"""
import argparse
import gzip
import os
import random

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n):
    words = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
        if n == 0:
            return words
    if n >= 20:
        words.append(TENS[n // 10])
        if n % 10:
            words.append(ONES[n % 10])
    elif n >= 10:
        words.append(TEENS[n - 10])
    else:
        words.append(ONES[n])
    return words


def make_words(rng, count, onsets, vowels, codas, taken):
    words = []
    while len(words) < count:
        syllables = rng.choice([2, 2, 3])
        word = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--train", type=int, default=24000)
    parser.add_argument("--valid", type=int, default=500)
    parser.add_argument("--test", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    taken = set(ONES + TEENS + TENS + ["hundred", "and"])
    src_onsets, src_vowels, src_codas = list("bdfgklmnprstvz"), ["a", "e", "i", "o", "u", "ai", "ou"], ["", "", "n", "r", "s"]
    tgt_onsets, tgt_vowels, tgt_codas = ["k", "t", "sh", "m", "n", "h", "y", "w", "ch", "r"], ["a", "e", "i", "o", "u", "aa", "ei"], ["", "", "", "n", "k"]
    nouns = make_words(rng, 160, src_onsets, src_vowels, src_codas, taken)
    adjectives = make_words(rng, 60, src_onsets, src_vowels, src_codas, taken)
    verbs = make_words(rng, 60, src_onsets, src_vowels, src_codas, taken)
    target_taken = set()
    lexicon = dict(zip(nouns + adjectives + verbs,
                       make_words(rng, len(nouns) + len(adjectives) + len(verbs), tgt_onsets, tgt_vowels, tgt_codas, target_taken)))
    lexicon["and"] = "to"

    def noun_phrase():
        n = rng.choice([rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 999)])
        adjs = rng.sample(adjectives, rng.choice([0, 1, 1, 2]))
        noun = rng.choice(nouns)
        src = number_words(n) + adjs + [noun]
        tgt = [lexicon[noun]] + [lexicon[a] for a in adjs] + list(str(n))
        return src, tgt

    def clause():
        subj_src, subj_tgt = noun_phrase()
        verb = rng.choice(verbs)
        src, tgt = subj_src + [verb], subj_tgt
        if rng.random() < 0.7:
            obj_src, obj_tgt = noun_phrase()
            src, tgt = src + obj_src, tgt + obj_tgt
        return src, tgt + [lexicon[verb]]

    def sentence():
        src, tgt = clause()
        if rng.random() < 0.3:
            src2, tgt2 = clause()
            src, tgt = src + ["and"] + src2, tgt + ["to"] + tgt2
        return " ".join(src), " ".join(tgt)

    seen = set()
    splits = {}
    for name, count in [("train", args.train), ("valid", args.valid), ("test", args.test)]:
        pairs = []
        while len(pairs) < count:
            pair = sentence()
            if pair[0] not in seen:  # no overlap between splits
                seen.add(pair[0])
                pairs.append(pair)
        splits[name] = pairs
    os.makedirs(args.out, exist_ok=True)
    for name, pairs in splits.items():
        for side, index in (("src", 0), ("tgt", 1)):
            path = os.path.join(args.out, f"toy.{name}.{side}.gz")
            with gzip.GzipFile(path, "wb", mtime=0) as f:
                f.write("".join(p[index] + "\n" for p in pairs).encode("utf-8"))
    print(f"wrote {', '.join(f'{k}={len(v)}' for k, v in splits.items())} pairs to {args.out}")


if __name__ == "__main__":
    main()
