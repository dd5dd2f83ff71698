#!/usr/bin/python3
"""Writes one Hugging Face Hub-shaped sentence-transformers model directory per family into tests/data/hub/,
with float64 goldens for text inputs.

    /usr/bin/python3 tests/data/make_hub_models.py     (numpy, protoc, /usr/include/onnx/onnx.proto; reuses
                                                        make_family_models.py's weights, reference and ONNX writer)

Each directory is laid out as the Hub ships a sentence-transformers model (scaled down: D 32, 2 layers, random
weights), modelled on the repository named beside it:

  xlm-roberta  intfloat/multilingual-e5-*           F16 weights (torch_dtype float16), Unigram tokenizer.json,
                                                    mean pooling + Normalize, max_seq_length = position limit
  mpnet        sentence-transformers/all-mpnet-base-v2   MPNetForMaskedLM config, WordPiece with <s> </s>
                                                    template, mean + Normalize, max_seq_length (24) below the
                                                    position limit (162), as 384 is below 512 there
  distilbert   sentence-transformers/msmarco-distilbert-base-tas-b   CLS pooling, no Normalize,
                                                    sinusoidal_pos_embds true (the table is in the state dict)
  roberta      sentence-transformers/all-distilroberta-v1   RobertaForMaskedLM config, byte-level BPE, mean +
                                                    Normalize, token_type_ids buffer saved too
  bert-xlmr    sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2   a BertModel with XLM-RoBERTa's
                                                    Unigram tokenizer, mean pooling, max_seq_length 32 of 48

and holds what those do: config.json with every key save_pretrained writes (nulls, torch_dtype,
transformers_version, _name_or_path, architectures; id2label where the real one has it), model.safetensors
as the base model's state dict (no task prefix, as sentence-transformers saves AutoModel) including the
persistent int64 buffers (embeddings.position_ids, and token_type_ids for roberta) and an unused F8 tensor
in one file, onnx/model.onnx (Optimum's place; with position_ids as an unused int64 initializer), tokenizer.json + tokenizer_config.json +
special_tokens_map.json (+ vocab.txt for WordPiece), modules.json, 1_Pooling/config.json,
sentence_bert_config.json, config_sentence_transformers.json and README.md.

goldens.json (beside each directory, in tests/data/hub/<family>.goldens.json, so the directory stays as the
Hub has it): for each case its text, the token ids Hugging Face tokenizers gives (by construction: the
vocabularies are built so that the segmentation is unambiguous, see tokenize()), last_hidden_state [T][D],
attentions [L][H][T][T], and the embedding sentence-transformers returns (pooled, then normalized when
modules.json has Normalize). One case is longer than max_seq_length: its ids are the truncated ones.
Deterministic: rerunning rewrites the same bytes.
"""
import json
import math
import os
import re
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_family_models as fm  # noqa: E402

OUT = os.path.join(fm.ROOT, "tests", "data", "hub")

WORDS = ("the quick brown fox jumps over lazy dog a an of to in is it on for with as was he she they we you "
         "this that are be at by from or have not but what all were when your can said there use each which "
         "do how their if will up other about out many then them these so some her would make like him into "
         "time has look two more write go see number no way could people my than first water been call who "
         "oil its now find long down day did get come made may part").split()
# Texts made of vocabulary words, plus a word that the vocabulary lacks (split into pieces or [UNK]).
TEXTS = {
    "short": "the quick brown fox",
    "sentence": "they said it was time to go down to the water.",
    "unknown_word": "we find zebras in many ways",
}
assert len(set(WORDS)) == len(WORDS)
LONG_TEXT = " ".join(WORDS[:70])


def hub_specs():
    specs = fm.family_specs()
    out = {}
    for name in ("xlm-roberta", "mpnet", "distilbert", "roberta"):
        s = dict(specs[name])
        s["prefix"] = ""
        out[name] = s
    out["xlm-roberta"].update(repo="intfloat/multilingual-e5-small", tokenizer="unigram", pooling="mean",
                              normalize=True, f16=True, max_seq=None, buffers=("position_ids",),
                              pooler=False)
    out["mpnet"].update(repo="sentence-transformers/all-mpnet-base-v2", tokenizer="wordpiece-mpnet",
                        pooling="mean", normalize=True, f16=False, max_seq=24, buffers=("position_ids",))
    out["distilbert"].update(repo="sentence-transformers/msmarco-distilbert-base-tas-b", tokenizer="wordpiece",
                             pooling="cls", normalize=False, f16=False, max_seq=None, buffers=(),
                             sinusoidal=True)
    # paraphrase-multilingual-MiniLM-L12-v2: a BertModel (absolute positions, two token types, pooler) with
    # XLM-RoBERTa's Unigram tokenizer, pad_token_id 0 in config.json but <pad> = 1 in the tokenizer.
    out["bert-xlmr"] = dict(model_type="bert", prefix="", layer="encoder.layer.", types=2, positions="absolute",
                            pad=0, max_pos=48, pooler=True, eps=1e-12, rel=False, names=None,
                            repo="sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
                            tokenizer="unigram", pooling="mean", normalize=False, f16=False, max_seq=32,
                            buffers=("position_ids",))
    out["roberta"].update(repo="sentence-transformers/all-distilroberta-v1", tokenizer="bpe", pooling="mean",
                          normalize=True, f16=False, max_seq=None, buffers=("position_ids", "token_type_ids"),
                          pooler=True)
    return out


# --- tokenizers ---------------------------------------------------------------------------------------------

def added(tokens):
    return [{"id": i, "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False,
             "normalized": False, "special": True} for i, t in tokens]


def template(cls, sep, cls_id, sep_id, pair_type, double_sep):
    def special(t, type_id):
        return {"SpecialToken": {"id": t, "type_id": type_id}}

    def seq(s, type_id):
        return {"Sequence": {"id": s, "type_id": type_id}}
    pair = [special(cls, 0), seq("A", 0), special(sep, 0)]
    if double_sep:
        pair.append(special(sep, 0))
    pair += [seq("B", pair_type), special(sep, pair_type)]
    return {"type": "TemplateProcessing", "single": [special(cls, 0), seq("A", 0), special(sep, 0)], "pair": pair,
            "special_tokens": {cls: {"id": cls, "ids": [cls_id], "tokens": [cls]},
                               sep: {"id": sep, "ids": [sep_id], "tokens": [sep]}}}


def wordpiece_tokenizer(mpnet):
    """BERT uncased WordPiece (DistilBERT), or MPNet's: <s> <pad> </s> <unk> first, [UNK] as unk, <mask>
    last, the <s> A </s></s> B </s> template."""
    if mpnet:
        specials = ["<s>", "<pad>", "</s>", "<unk>", "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    else:
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + [".", ","] + WORDS + ["##s", "##ing", "ze", "##bra"]
    if mpnet:
        vocab.append("<mask>")
    ids = {t: i for i, t in enumerate(vocab)}
    cls, sep, mask = ("<s>", "</s>", "<mask>") if mpnet else ("[CLS]", "[SEP]", "[MASK]")
    special_ids = [(ids[t], t) for t in (["<s>", "<pad>", "</s>", "<unk>", "<mask>"] if mpnet else specials)]
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added(special_ids),
           "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                          "strip_accents": None, "lowercase": True},
           "pre_tokenizer": {"type": "BertPreTokenizer"},
           "post_processor": template(cls, sep, ids[cls], ids[sep], 0 if mpnet else 1, mpnet),
           "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                     "max_input_chars_per_word": 100, "vocab": ids}}

    def tokenize(text):
        out = []
        for word in re.findall(r"\w+|[^\w\s]", text.lower()):
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start:
                    piece = ("##" if start else "") + word[start:end]
                    if piece in ids:
                        break
                    end -= 1
                if end == start:
                    pieces = [ids["[UNK]"]]
                    break
                pieces.append(ids[("##" if start else "") + word[start:end]])
                start = end
            out += pieces
        return out
    return tok, vocab, tokenize, (ids[cls], ids[sep])


def bpe_tokenizer():
    """RoBERTa's byte-level BPE: <s> <pad> </s> <unk>, the 256 byte symbols, merges that build every word
    (with and without the leading space), <mask> last; ByteLevel pre-tokenizer, RobertaProcessing."""
    byte_map = fm_bytes_to_unicode()
    vocab = ["<s>", "<pad>", "</s>", "<unk>"] + [byte_map[b] for b in range(256)]
    merges = []
    for word in WORDS + ["."]:
        for form in (word, "\u0120" + word):
            for k in range(2, len(form) + 1):
                if form[:k] not in vocab:
                    merges.append((form[:k - 1], form[k - 1]))
                    vocab.append(form[:k])
    vocab.append("<mask>")
    ids = {t: i for i, t in enumerate(vocab)}
    ranks = {m: r for r, m in enumerate(merges)}
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": added([(0, "<s>"), (1, "<pad>"), (2, "</s>"), (3, "<unk>"), (ids["<mask>"], "<mask>")]),
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                             "use_regex": True},
           "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                              "trim_offsets": True, "add_prefix_space": False},
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                     "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": ids, "merges": [[a, b] for a, b in merges]}}

    def bpe(symbols):
        while len(symbols) > 1:
            pairs = [(ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            rank, i = min(pairs)
            if rank == math.inf:
                break
            symbols = symbols[:i] + [symbols[i] + symbols[i + 1]] + symbols[i + 2:]
        return symbols

    def tokenize(text):  # ASCII texts: GPT-2's pattern restricted to ASCII
        out = []
        for piece in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+", text):
            out += [ids[s] for s in bpe([byte_map[b] for b in piece.encode()])]
        return out
    return tok, None, tokenize, (0, 2)


def fm_bytes_to_unicode():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(0x100 + n)
            n += 1
    return table


def unigram_tokenizer():
    """XLM-RoBERTa's Unigram as transformers converts sentencepiece.bpe.model: <s> <pad> </s> <unk> first,
    "▁word" pieces, then "▁", letters and "." as low-score pieces (so an unknown word splits into them),
    <mask> last; the Precompiled + Replace normalizer and Metaspace of tests/data/tokenizers/xlmr-unigram-tiny."""
    base = json.load(open(os.path.join(fm.ROOT, "tests", "data", "tokenizers", "xlmr-unigram-tiny",
                                       "tokenizer.json"), encoding="utf-8"))
    pieces = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    pieces += [["\u2581" + w, -2.0 - 0.01 * i] for i, w in enumerate(WORDS)]
    pieces += [["\u2581", -9.0], [".", -9.5]] + [[chr(c), -10.0] for c in range(ord("a"), ord("z") + 1)]
    pieces.append(["<mask>", 0.0])
    ids = {p[0]: i for i, p in enumerate(pieces)}
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": added([(0, "<s>"), (1, "<pad>"), (2, "</s>"), (3, "<unk>"), (len(pieces) - 1, "<mask>")]),
           "normalizer": base["normalizer"], "pre_tokenizer": base["pre_tokenizer"],
           "post_processor": template("<s>", "</s>", 0, 2, 0, True), "decoder": base["decoder"],
           "model": {"type": "Unigram", "unk_id": 3, "vocab": pieces, "byte_fallback": False}}

    scores = {p[0]: p[1] for p in pieces[4:-1]}

    def viterbi(word):  # the best-scoring segmentation, as the Unigram model's lattice finds it
        best = [(0.0, [])] + [(-math.inf, None)] * len(word)
        for end in range(1, len(word) + 1):
            for start in range(end):
                piece = word[start:end]
                if piece in scores and best[start][1] is not None and best[start][0] + scores[piece] > best[end][0]:
                    best[end] = (best[start][0] + scores[piece], best[start][1] + [ids[piece]])
        assert best[-1][1] is not None, word
        return best[-1][1]

    def tokenize(text):  # lower-case ASCII words and "."; Metaspace splits at spaces and prepends "▁"
        return [i for word in text.split(" ") for i in viterbi("\u2581" + word)]
    return tok, None, tokenize, (0, 2)


# --- directory files ----------------------------------------------------------------------------------------

def config_json(spec, v):
    if spec["model_type"] == "bert":
        return {"_name_or_path": "old_models/paraphrase-multilingual-MiniLM-L12-v2/0_Transformer",
                "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": False,
                "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": fm.D, "initializer_range": 0.02,
                "intermediate_size": fm.F, "layer_norm_eps": spec["eps"], "max_position_embeddings": spec["max_pos"],
                "model_type": "bert", "num_attention_heads": fm.H, "num_hidden_layers": fm.L, "pad_token_id": 0,
                "position_embedding_type": "absolute", "transformers_version": "4.7.0", "type_vocab_size": 2,
                "use_cache": True, "vocab_size": v}
    c = fm.config_json(spec)
    c["vocab_size"] = v
    c["_name_or_path"] = spec["repo"]
    c["transformers_version"] = {"xlm-roberta": "4.29.0.dev0", "mpnet": "4.8.2", "distilbert": "4.7.0",
                                 "roberta": "4.8.2"}[spec["model_type"]]
    if spec["model_type"] == "xlm-roberta":
        c.update(architectures=["XLMRobertaModel"], classifier_dropout=None, output_past=True, torch_dtype="float16",
                 use_cache=True)
    elif spec["model_type"] == "mpnet":
        c.update(architectures=["MPNetForMaskedLM"])
    elif spec["model_type"] == "distilbert":
        c.update(sinusoidal_pos_embds=True, tie_weights_=True, id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0},
                 torch_dtype="float32")
    else:
        c.update(architectures=["RobertaForMaskedLM"], gradient_checkpointing=False, use_cache=True)
    return c


def sinusoidal(n_pos, dim):
    """HF create_sinusoidal_embeddings."""
    enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = np.zeros((n_pos, dim), np.float32)
    out[:, 0::2] = np.sin(enc[:, 0::2])
    out[:, 1::2] = np.cos(enc[:, 1::2])
    return out


def write_safetensors(path, tensors):
    """tensors: name -> (dtype string, numpy array already in that dtype's byte layout)."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        dtype, array = tensors[name]
        raw = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def dump(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


def sentence_transformers_files(d, spec):
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if spec["normalize"]:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    dump(os.path.join(d, "modules.json"), modules)
    dump(os.path.join(d, "1_Pooling", "config.json"),
         {"word_embedding_dimension": fm.D, "pooling_mode_cls_token": spec["pooling"] == "cls",
          "pooling_mode_mean_tokens": spec["pooling"] == "mean", "pooling_mode_max_tokens": False,
          "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
          "pooling_mode_lasttoken": False, "include_prompt": True})
    limit = spec["max_pos"] - (spec["pad"] + 1 if spec["positions"] == "padding" else 0)
    dump(os.path.join(d, "sentence_bert_config.json"),
         {"max_seq_length": spec["max_seq"] or limit, "do_lower_case": False})
    dump(os.path.join(d, "config_sentence_transformers.json"),
         {"__version__": {"sentence_transformers": "2.2.2", "transformers": "4.29.0", "pytorch": "2.0.0"},
          "prompts": {}, "default_prompt_name": None})
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write("---\npipeline_tag: sentence-similarity\ntags:\n- sentence-transformers\n---\n"
                "# Random-weight stand-in for %s (qkv test fixture, tests/data/make_hub_models.py)\n" % spec["repo"])
    return limit


def main():
    pb = fm.onnx_module()
    for index, (family, spec) in enumerate(hub_specs().items()):
        rng = np.random.default_rng(20261202 + index)
        d = os.path.join(OUT, family)
        os.makedirs(os.path.join(d, "onnx"), exist_ok=True)
        maker = {"unigram": unigram_tokenizer, "bpe": bpe_tokenizer,
                 "wordpiece": lambda: wordpiece_tokenizer(False),
                 "wordpiece-mpnet": lambda: wordpiece_tokenizer(True)}[spec["tokenizer"]]
        tok, vocab_txt, tokenize, (cls, sep) = maker()
        v = len(tok["model"]["vocab"])
        fm.V = v
        w = fm.make_weights(spec, rng)
        if spec.get("sinusoidal"):
            w["embeddings.position_embeddings.weight"] = sinusoidal(spec["max_pos"], fm.D)
        if spec["f16"]:  # the file holds float16; the goldens use exactly those values
            w = {k: a.astype(np.float16).astype(np.float32) for k, a in w.items()}
        dump(os.path.join(d, "config.json"), config_json(spec, v))
        stored = {k: ("F16", a.astype("<f2")) if spec["f16"] else ("F32", a.astype("<f4")) for k, a in w.items()}
        for buffer in spec["buffers"]:
            values = np.arange(spec["max_pos"]) if buffer == "position_ids" else np.zeros(spec["max_pos"])
            stored["embeddings." + buffer] = ("I64", values.astype("<i8").reshape(1, -1))
        if family == "mpnet":  # an unused tensor of a dtype newer than the reader's table
            stored["embeddings.unused_scale"] = ("F8_E8M0", np.full((4,), 127, np.uint8))
        write_safetensors(os.path.join(d, "model.safetensors"), stored)
        onnx_path = os.path.join(d, "onnx", "model.onnx")
        fm.write_onnx(onnx_path, spec, w, pb)
        if "position_ids" in spec["buffers"]:  # the buffer as an unused int64 initializer, as exports keep it
            model = pb.ModelProto()
            with open(onnx_path, "rb") as f:
                model.ParseFromString(f.read())
            t = model.graph.initializer.add(name="embeddings.position_ids", dims=[1, spec["max_pos"]],
                                            data_type=pb.TensorProto.INT64)
            t.raw_data = np.arange(spec["max_pos"]).astype("<i8").tobytes()
            with open(onnx_path, "wb") as f:
                f.write(model.SerializeToString())
        dump(os.path.join(d, "tokenizer.json"), tok)
        if vocab_txt is not None:
            with open(os.path.join(d, "vocab.txt"), "w") as f:
                f.write("\n".join(vocab_txt) + "\n")
        specials = {k: t["content"] for k, t in zip(
            ("bos_token", "pad_token", "eos_token", "unk_token", "mask_token"),
            [t for t in tok["added_tokens"]])} if spec["tokenizer"] != "wordpiece" else {
            "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
            "mask_token": "[MASK]"}
        if spec["tokenizer"] in ("bpe", "unigram", "wordpiece-mpnet"):
            specials.update(cls_token="<s>", sep_token="</s>")
        if spec["tokenizer"] == "wordpiece-mpnet":
            specials["unk_token"] = "[UNK]"
        dump(os.path.join(d, "special_tokens_map.json"), specials)
        tok_config = dict(specials, model_max_length=512, clean_up_tokenization_spaces=True,
                          tokenizer_class={"unigram": "XLMRobertaTokenizer", "bpe": "RobertaTokenizer",
                                           "wordpiece": "DistilBertTokenizer",
                                           "wordpiece-mpnet": "MPNetTokenizer"}[spec["tokenizer"]])
        if spec["tokenizer"].startswith("wordpiece"):
            tok_config.update(do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True)
        dump(os.path.join(d, "tokenizer_config.json"), tok_config)
        limit = sentence_transformers_files(d, spec)
        max_tokens = min(spec["max_seq"] or limit, limit)

        goldens = {"family": spec["model_type"], "max_tokens": max_tokens, "position_limit": limit,
                   "pooling": spec["pooling"],
                   "normalize": spec["normalize"], "cases": []}
        texts = dict(TEXTS, over_long=LONG_TEXT)
        for name, text in texts.items():
            content = tokenize(text)
            truncated = len(content) + 2 > max_tokens
            ids = [cls] + content[:max_tokens - 2] + [sep]
            assert name != "over_long" or truncated, (family, len(content))
            hidden, attentions, _ = fm.forward(spec, w, ids)
            pooled = hidden[0] if spec["pooling"] == "cls" else hidden.mean(0)
            if spec["normalize"]:
                pooled = pooled / np.linalg.norm(pooled)
            goldens["cases"].append({"name": name, "text": text, "truncated": truncated, "input_ids": ids,
                                     "last_hidden_state": fm.round_list(hidden),
                                     "attentions": [fm.round_list(a) for a in attentions],
                                     "embedding": fm.round_list(pooled)})
        with open(os.path.join(OUT, family + ".goldens.json"), "w") as f:
            json.dump(goldens, f, separators=(",", ":"))
            f.write("\n")
        print("%s: V %d, token limit %d, ids %s" % (family, v, max_tokens,
                                                    [len(c["input_ids"]) for c in goldens["cases"]]))


if __name__ == "__main__":
    main()
