#!/usr/bin/env python3
"""Compares qkv's and Hugging Face's tokenizations of a corpus (the tokenizer parity test).

Usage: compare.py NAME CORPUS_JSONL HF_JSONL QKV_JSONL
Prints the counts of identical id sequences and of identical byte offsets, type ids and special-token masks;
on any difference, the first differing texts with their code points and both results. Exit code 1 unless
every line is identical.
"""
import json
import sys

SHOW = 5


def describe(text):
    return " ".join("U+%04X" % ord(c) for c in text)


def main():
    name, corpus_path, hf_path, qkv_path = sys.argv[1:5]
    corpus = [json.loads(l) for l in open(corpus_path, encoding="utf-8")]
    hf = [json.loads(l) for l in open(hf_path, encoding="utf-8")]
    qkv = [json.loads(l) for l in open(qkv_path, encoding="utf-8")]
    if not len(corpus) == len(hf) == len(qkv):
        sys.exit("%s: line counts differ: corpus %d, hf %d, qkv %d" % (name, len(corpus), len(hf), len(qkv)))
    id_mismatches, offset_mismatches = [], []
    tokens = 0
    for i, (item, want, got) in enumerate(zip(corpus, hf, qkv)):
        tokens += len(want["ids"])
        if got.get("ids") != want["ids"]:
            id_mismatches.append(i)
        elif any(got.get(key) != want[key] for key in ("offsets", "type_ids", "special")):
            offset_mismatches.append(i)
    same_ids = len(corpus) - len(id_mismatches)
    print("%s: %d texts (%d pairs, %d HF tokens): ids identical %d/%d, offsets, type ids and special masks "
          "identical %d/%d"
          % (name, len(corpus), sum("pair" in c for c in corpus), tokens, same_ids, len(corpus),
             same_ids - len(offset_mismatches), len(corpus)))
    for kind, lines in (("ids", id_mismatches), ("offsets, type ids or special masks", offset_mismatches)):
        for i in lines[:SHOW]:
            print("  %s differ on line %d:" % (kind, i + 1))
            for key in ("text", "pair"):
                if key in corpus[i]:
                    print("    %s: %s\n      %s" % (key, json.dumps(corpus[i][key]), describe(corpus[i][key])))
            print("    hf:  %s" % json.dumps(hf[i]))
            print("    qkv: %s" % json.dumps(qkv[i]))
    return 0 if not id_mismatches and not offset_mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
