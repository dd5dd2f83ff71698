#!/usr/bin/env python3
"""Builds the tokenizer.json fixtures of the tokenizer types qkv supports beyond WordPiece.

  tests/data/tokenizers/roberta-bpe-tiny/tokenizer.json: a RoBERTa-style byte-level BPE tokenizer (<s> <pad> </s> <unk>,
    256 byte symbols, merges learned here on a small multilingual text, <mask> with lstrip as RoBERTa has it;
    ByteLevel pre-tokenizer, RobertaProcessing with trim_offsets, ByteLevel decoder). Merges are ["a", "b"]
    pairs; tests/parity also checks a copy with "a b" strings (a file holds one form or the other).
  tests/data/tokenizers/xlmr-unigram-tiny/tokenizer.json: an XLM-RoBERTa-style Unigram tokenizer, as
    transformers converts a SentencePiece model: a Unigram model trained here by SentencePiece (Debian's
    python3-sentencepiece) on the same text with its default nmt_nfkc normalization, whose precompiled
    charsmap becomes the Precompiled normalizer (then Replace " {2,}" -> " "), Metaspace "▁" pre-tokenizer,
    <s> <pad> </s> <unk> first and <mask> last, TemplateProcessing "<s> $A </s>" / "<s> $A </s> </s> $B </s>".

Deterministic: no randomness here (the merge order breaks ties by the pair's text) and SentencePiece
trains single-threaded with a fixed seed. The BPE part needs only the standard library; the Unigram part
needs python3-sentencepiece and python3-protobuf (run with /usr/bin/python3).
The ids qkv gives for them are checked against Hugging Face tokenizers by tests/parity.
Usage: make_tokenizer_fixtures.py [OUT_DIR]   (default: the directory of this script)
"""
import base64
import collections
import json
import os
import sys
import tempfile
import unicodedata

TEXT = """
The quick brown fox jumps over the lazy dog. It's a beautiful day; we'll see what they've done.
Hello world! Running, jumping and swimming in the river near the city school at 10:30 in 2024.
Café naïve résumé über straße größe élève año niño garçon façade coöperate déjà vu.
Привет мир, Москва — столица. Γειά σου κόσμε. مرحبا بالعالم. שלום עולם. नमस्ते दुनिया.
สวัสดีชาวโลก. 안녕하세요 세계. こんにちは世界、カタカナとひらがな。日本語の文章です。
中文的句子在这里，北京是中国的首都。我们喜欢学习自然语言处理和机器学习。
Tiếng Việt có dấu: Đà Nẵng, Hà Nội. İstanbul'da güzel bir gün. 😀 👍🏽 ❤️ 🇯🇵 #️⃣
Numbers like 3.14159, 1,000,000 and -42 appear; e-mail: someone@example.com, x86_64 and C++17.
"""


def bytes_to_unicode():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(0x100 + n)
            n += 1
    return table


def category_class(c):
    cat = unicodedata.category(c)
    if c.isspace():
        return "s"
    if cat.startswith("L"):
        return "L"
    if cat.startswith("N"):
        return "N"
    return "o"


def gpt2_words(text):
    """An approximation of GPT-2's split (enough for learning merges)."""
    words, i = [], 0
    while i < len(text):
        start = i + 1 if text[i] == " " and i + 1 < len(text) and not text[i + 1].isspace() else i
        kind = category_class(text[start])
        end = start
        while end < len(text) and category_class(text[end]) == kind:
            end += 1
        words.append(text[i:end])
        i = end
    return words


def learn_merges(words, count):
    byte_char = bytes_to_unicode()
    vocab = collections.Counter(tuple(byte_char[b] for b in w.encode("utf-8")) for w in words)
    merges = []
    for _ in range(count):
        pairs = collections.Counter()
        for word, freq in vocab.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] += freq
        if not pairs:
            break
        best = max(pairs.items(), key=lambda item: (item[1], [-ord(c) for c in item[0][0] + " " + item[0][1]]))[0]
        merges.append(best)
        joined = best[0] + best[1]
        new_vocab = collections.Counter()
        for word, freq in vocab.items():
            out, k = [], 0
            while k < len(word):
                if k + 1 < len(word) and (word[k], word[k + 1]) == best:
                    out.append(joined)
                    k += 2
                else:
                    out.append(word[k])
                    k += 1
            new_vocab[tuple(out)] += freq
        vocab = new_vocab
    return merges


def added(token_id, content, lstrip=False):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
            "normalized": False, "special": True}


def roberta_bpe():
    byte_char = bytes_to_unicode()
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab[byte_char[b]] = len(vocab)
    merges = learn_merges(gpt2_words(TEXT.strip().replace("\n", " ") * 3), 700)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)
    merge_list = [list(m) for m in merges]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                         added(vocab["<mask>"], "<mask>", lstrip=True)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merge_list},
    }


def xlmr_unigram():
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory() as tmp:
        text_path = os.path.join(tmp, "text.txt")
        lines = [line for line in TEXT.strip().split("\n")]
        # More lines: every word of the text, and word pairs, so that the trainer finds enough pieces.
        words = TEXT.split()
        lines += [" ".join(words[i:i + 3]) for i in range(len(words))]
        with open(text_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        prefix = os.path.join(tmp, "spm")
        spm.SentencePieceTrainer.train(
            input=text_path, model_prefix=prefix, vocab_size=600, model_type="unigram",
            character_coverage=1.0, hard_vocab_limit=False, num_threads=1, seed_sentencepiece_size=100000,
            minloglevel=2)
        proto = sentencepiece_model_pb2.ModelProto()
        with open(prefix + ".model", "rb") as f:
            proto.ParseFromString(f.read())
    charsmap = proto.normalizer_spec.precompiled_charsmap
    # transformers' XLMRobertaConverter: fairseq's four specials, then the pieces after SentencePiece's
    # <unk> <s> </s>, then <mask>.
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p.piece, p.score] for p in proto.pieces[3:]]
    vocab.append(["<mask>", 0.0])
    special = lambda name: {"SpecialToken": {"id": name, "type_id": 0}}
    sequence = lambda name: {"Sequence": {"id": name, "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                         added(len(vocab) - 1, "<mask>", lstrip=True)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                          "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("<s>"), sequence("A"), special("</s>")],
            "pair": [special("<s>"), sequence("A"), special("</s>"), special("</s>"), sequence("B"),
                     special("</s>")],
            "special_tokens": {name: {"id": name, "ids": [i], "tokens": [name]}
                               for name, i in (("<s>", 0), ("</s>", 2))}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }


def write(path, tokenizer):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", path)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    write(os.path.join(out, "roberta-bpe-tiny", "tokenizer.json"), roberta_bpe())
    write(os.path.join(out, "xlmr-unigram-tiny", "tokenizer.json"), xlmr_unigram())


if __name__ == "__main__":
    main()
