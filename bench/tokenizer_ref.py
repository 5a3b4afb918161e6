#!/usr/bin/env python3
"""Times the released GPT-1 text pipeline (finetune-transformer-lm/text_utils.py) on the same
texts as bench/tokenizer.ts, which runs this script when python3 has ftfy and spacy.

    python3 bench/tokenizer_ref.py --vocab ../shared/gpt1-vocab --book PATH [--passes 3]

Prints one JSON line: {"texts", "chars", "tokens", "seconds": [wall, per pass],
"cpu_seconds": [process CPU time, per pass], "ids_sha256"}.
spaCy: `spacy.lang.en.English()` (the tokenizer rules of `spacy.load('en')`; HF does the same).
"""
import argparse
import hashlib
import json
import re
import time

import ftfy
from spacy.lang.en import English


def text_standardize(text):
    """Verbatim from text_utils.py."""
    text = text.replace("—", "-")
    text = text.replace("–", "-")
    text = text.replace("―", "-")
    text = text.replace("…", "...")
    text = text.replace("´", "'")
    text = re.sub(r"""(-+|~+|!+|"+|;+|\?+|\++|,+|\)+|\(+|\\+|\/+|\*+|\[+|\]+|}+|{+|\|+|_+)""", r" \1 ", text)
    text = re.sub(r"\s*\n\s*", " \n ", text)
    text = re.sub(r"[^\S\n]+", " ", text)
    return text.strip()


def get_pairs(word):
    pairs = set()
    prev_char = word[0]
    for char in word[1:]:
        pairs.add((prev_char, char))
        prev_char = char
    return pairs


class TextEncoder:
    """text_utils.TextEncoder with English() instead of spacy.load('en') (spaCy 3)."""

    def __init__(self, encoder_path, bpe_path):
        self.nlp = English()
        self.nlp.max_length = 10_000_000
        self.encoder = json.load(open(encoder_path))
        self.decoder = {v: k for k, v in self.encoder.items()}
        merges = open(bpe_path, encoding="utf-8").read().split("\n")[1:-1]
        merges = [tuple(merge.split()) for merge in merges]
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {}

    def bpe(self, token):
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        if token in self.cache:
            return self.cache[token]
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            new_word = tuple(new_word)
            word = new_word
            if len(word) == 1:
                break
            else:
                pairs = get_pairs(word)
        word = " ".join(word)
        if word == "\n  </w>":
            word = "\n</w>"
        self.cache[token] = word
        return word

    def encode(self, texts):
        texts_tokens = []
        for text in texts:
            text = self.nlp(text_standardize(ftfy.fix_text(text)))
            text_tokens = []
            for token in text:
                text_tokens.extend([self.encoder.get(t, 0) for t in self.bpe(token.text.lower()).split(" ")])
            texts_tokens.append(text_tokens)
        return texts_tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--book", required=True)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    texts = [json.loads(line)["text"] for line in open(f"{args.vocab}/reference_dev.jsonl", encoding="utf-8") if line.strip()]
    texts.append(open(args.book, encoding="utf-8").read())
    enc = TextEncoder(f"{args.vocab}/encoder_bpe_40000.json", f"{args.vocab}/vocab_40000.bpe")
    seconds, cpu_seconds = [], []
    out = None
    for _ in range(args.passes):
        t0, c0 = time.perf_counter(), time.process_time()
        out = enc.encode(texts)
        seconds.append(time.perf_counter() - t0)
        cpu_seconds.append(time.process_time() - c0)
    ids = [i for t in out for i in t]
    digest = hashlib.sha256(json.dumps(ids, separators=(",", ":")).encode()).hexdigest()
    print(json.dumps({"texts": len(texts), "chars": sum(len(t) for t in texts), "tokens": len(ids),
                      "seconds": seconds, "cpu_seconds": cpu_seconds, "ids_sha256": digest}))


if __name__ == "__main__":
    main()
