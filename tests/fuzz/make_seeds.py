#!/usr/bin/env python3
"""Writes the seed corpora of the qkv fuzz targets into tests/fuzz/corpus/<target>/.

Deterministic: rerunning it rewrites the same files. Seeds are small valid inputs (the tiny model of
tests/fuzz/seed_model.h: V 10, D 4, H 2, F 6, P 8, 2 token types, 1 layer) plus a few near misses, so that
mutations start deep inside each parser. Protobuf seeds are encoded by protoc (--encode) from text format.
Regression inputs for bugs the fuzzers found live beside the seeds as regression-*; this script keeps them.
Usage: python3 tests/fuzz/make_seeds.py   (from anywhere; needs protoc and /usr/include/onnx/onnx.proto)
"""
import json
import os
import random
import struct
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
SEP = b"\n#qkv-part#\n"  # fuzz_util.h kPartSeparator

V, D, H, F, P, T, L = 10, 4, 2, 6, 8, 2, 1
CONFIG = {"model_type": "bert", "vocab_size": V, "hidden_size": D, "num_hidden_layers": L,
          "num_attention_heads": H, "intermediate_size": F, "max_position_embeddings": P,
          "type_vocab_size": T, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0}
VOCAB = b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nquick\nbrown\nfox\n##es\n"


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def bpe_tokenizer_json():
    """A small RoBERTa-style byte-level BPE tokenizer.json (the pipeline path of the tokenizer loader)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    byte_chars, n = [], 0
    for b in range(256):
        byte_chars.append(chr(b) if b in printable else chr(0x100 + n))
        n += b not in printable
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for c in byte_chars:
        vocab[c] = len(vocab)
    merges = [["\u0120", "t"], ["h", "e"], ["\u0120t", "he"], ["q", "u"], ["o", "x"], ["f", "ox"]]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)
    special = {"single_word": False, "rstrip": False, "normalized": False, "special": True}
    return {"version": "1.0", "normalizer": None,
            "added_tokens": [dict(special, id=0, content="<s>", lstrip=False),
                             dict(special, id=2, content="</s>", lstrip=False),
                             dict(special, id=vocab["<mask>"], content="<mask>", lstrip=True)],
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                              "use_regex": True},
            "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                               "trim_offsets": True, "add_prefix_space": False},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "fuse_unk": False,
                      "byte_fallback": False, "vocab": vocab, "merges": merges}}


def tensors(with_pooler=True):
    """HF BertModel tensors: name -> (shape, values); Linear weights [out, in]."""
    rng = random.Random(7)
    out = {}

    def add(name, shape):
        n = 1
        for s in shape:
            n *= s
        out[name] = (shape, [rng.randint(-128, 128) / 64.0 for _ in range(n)])

    def linear(prefix, i, o):
        add(prefix + ".weight", [o, i])
        add(prefix + ".bias", [o])

    def norm(prefix):
        add(prefix + ".weight", [D])
        add(prefix + ".bias", [D])

    add("embeddings.word_embeddings.weight", [V, D])
    add("embeddings.position_embeddings.weight", [P, D])
    add("embeddings.token_type_embeddings.weight", [T, D])
    norm("embeddings.LayerNorm")
    for layer in range(L):
        p = "encoder.layer.%d." % layer
        for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            linear(p + n, D, D)
        norm(p + "attention.output.LayerNorm")
        linear(p + "intermediate.dense", D, F)
        linear(p + "output.dense", F, D)
        norm(p + "output.LayerNorm")
    if with_pooler:
        linear("pooler.dense", D, D)
    return out


def encode(values, dtype):
    if dtype == "F32":
        return b"".join(struct.pack("<f", v) for v in values)
    if dtype == "F64":
        return b"".join(struct.pack("<d", v) for v in values)
    if dtype == "BF16":
        return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)
    if dtype == "F16":
        return b"".join(struct.pack("<e", v) for v in values)
    raise ValueError(dtype)


def safetensors(dtype="F32", prefix="", with_pooler=True, metadata=True):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = {"format": "pt"}
    for name, (shape, values) in sorted(tensors(with_pooler).items()):
        raw = encode(values, dtype)
        header[prefix + name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def text_bytes(b):
    return '"' + "".join("\\%03o" % c for c in b) + '"'


def protoc_encode(proto_file, include, message, text):
    return subprocess.run(["protoc", "-I", include, "--encode=" + message, proto_file], input=text.encode(),
                          stdout=subprocess.PIPE, check=True).stdout


def onnx_model(storage="raw", data_type=1):
    """A torch.onnx.export-like graph: named embeddings / LayerNorms / biases, unnamed folded MatMul weights
    ([in, out]) whose MatMul feeds an Add with the named bias."""
    nodes, inits = [], []

    def init(name, shape, values):
        dims = "".join("dims: %d " % s for s in shape)
        if storage == "raw":
            body = "raw_data: %s" % text_bytes(encode(values, {1: "F32", 10: "F16", 11: "F64", 16: "BF16"}[data_type]))
        elif data_type == 1:
            body = " ".join("float_data: %r" % v for v in values)
        else:  # FLOAT16 in int32_data
            body = " ".join("int32_data: %d" % struct.unpack("<H", struct.pack("<e", v))[0] for v in values)
        inits.append('initializer { %s data_type: %d name: "%s" %s }' % (dims, data_type, name, body))

    count = 0
    for name, (shape, values) in sorted(tensors().items()):
        if name.endswith(".weight") and len(shape) == 2 and "embeddings" not in name:
            o, i = shape
            transposed = [values[r * i + c] for c in range(i) for r in range(o)]
            wname = "onnx::MatMul_%d" % count
            count += 1
            init(wname, [i, o], transposed)
            bias = name[: -len(".weight")] + ".bias"
            nodes.append('node { input: "x%d" input: "%s" output: "m%d" op_type: "MatMul" }' % (count, wname, count))
            nodes.append('node { input: "%s" input: "m%d" output: "y%d" op_type: "Add" }' % (bias, count, count))
        else:
            init(name, shape, values)
    text = 'ir_version: 8 opset_import { domain: "" version: 14 } graph { name: "g" %s %s }' % (
        " ".join(nodes), " ".join(inits))
    return protoc_encode("onnx/onnx.proto", "/usr/include", "onnx.ModelProto", text)


def qkv_encode(message, text):
    return protoc_encode("qkv/v1/encoder.proto", os.path.join(ROOT, "proto"), "qkv.v1." + message, text)


def main():
    cfg = json.dumps(CONFIG, indent=2)
    # safetensors: header + tensor table + data in every dtype, prefixed names, and near misses.
    write("safetensors_fuzzer", "f32", safetensors("F32"))
    write("safetensors_fuzzer", "f16_no_pooler", safetensors("F16", with_pooler=False))
    write("safetensors_fuzzer", "bf16_bert_prefix", safetensors("BF16", prefix="bert.", metadata=False))
    write("safetensors_fuzzer", "f64", safetensors("F64"))
    h = b'{"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[],"data_offsets":[16,20]}}'
    write("safetensors_fuzzer", "i64_and_scalar", struct.pack("<Q", len(h)) + h + bytes(20))
    write("safetensors_fuzzer", "header_too_long", struct.pack("<Q", 1 << 62) + b"{}")
    # ONNX: raw / typed storage, FLOAT / FLOAT16 / DOUBLE / BFLOAT16.
    write("onnx_fuzzer", "raw_float", onnx_model("raw", 1))
    write("onnx_fuzzer", "typed_float", onnx_model("typed", 1))
    write("onnx_fuzzer", "raw_float16", onnx_model("raw", 10))
    write("onnx_fuzzer", "typed_float16", onnx_model("typed", 10))
    write("onnx_fuzzer", "raw_double", onnx_model("raw", 11))
    write("onnx_fuzzer", "raw_bfloat16", onnx_model("raw", 16))
    # config.json
    write("model_config_fuzzer", "seed", cfg)
    for src in ("models/bert-tiny-random/config.json", "tests/data/tribuo-tinybert-random/config.json"):
        with open(os.path.join(ROOT, src), "rb") as f:
            write("model_config_fuzzer", src.split("/")[-2], f.read())
    write("model_config_fuzzer", "roberta_like", json.dumps(dict(CONFIG, model_type="roberta",
                                                                 position_embedding_type="absolute")))
    write("model_config_fuzzer", "bad_heads", json.dumps(dict(CONFIG, num_attention_heads=3)))
    # tokenizer on bytes: byte 0 = options / pair / max_length (tokenizer_fuzzer.cc).
    for i, (flags, text) in enumerate([
            (0x0f, b"Hello, World! The quick brown fox."), (0x0e, "Ünïcödé ÀÉÎ straße".encode()),
            (0x1f, b"first text" + SEP + b"second text"), (0x9f, b"a b c d e f g h" + SEP + b"i j k"),
            (0x0f, "中文字符 and 日本語 mixed".encode()), (0x07, b"tab\there\x01control\x00nul"),
            (0x6f, b"unaffable ##es [MASK] [UNK]"), (0x0f, b"\xff\xfe invalid utf8"),
            (0x0f, b"a" * 120), (0x2f, "e\u0301 combining ﬁ ligature".encode())]):
        write("tokenizer_fuzzer", "text%d" % i, bytes([flags]) + text)
    # tokenizer files: vocab.txt | tokenizer.json | tokenizer_config.json (empty = absent).
    tok_json = {"version": "1.0", "normalizer": {"type": "BertNormalizer", "clean_text": True,
                "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
                "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                          "max_input_chars_per_word": 100,
                          "vocab": {t.decode(): i for i, t in enumerate(VOCAB.split(b"\n")[:-1])}}}
    tok_cfg = {"do_lower_case": False, "strip_accents": False, "tokenize_chinese_chars": True}
    write("tokenizer_files_fuzzer", "vocab_only", VOCAB)
    write("tokenizer_files_fuzzer", "json_only", SEP + json.dumps(tok_json).encode())
    write("tokenizer_files_fuzzer", "all_three", VOCAB + SEP + json.dumps(tok_json).encode() + SEP +
          json.dumps(tok_cfg).encode())
    write("tokenizer_files_fuzzer", "vocab_and_config", VOCAB + SEP + SEP + json.dumps(tok_cfg).encode())
    write("tokenizer_files_fuzzer", "crlf_vocab", VOCAB.replace(b"\n", b"\r\n"))
    write("tokenizer_files_fuzzer", "bpe_json_only", SEP + json.dumps(bpe_tokenizer_json()).encode())
    # requests: byte 0 = kind (0 Encode, 1 Tokenize, 2 EncodeStream, 3 Encode with tight limits) | 4 = two slices.
    enc_full = ('inputs { id: "a" text { text: "The quick brown fox" } } '
                'inputs { id: "b" text { text: "first" text_pair: "second" } } '
                'inputs { id: "c" ids { ids: [101, 7592, 102] token_type_ids: [0, 0, 0] } } '
                'options { pooling: POOLING_MEAN normalize: true return_token_vectors: true '
                'hidden_state_layers: [0, -1] attention { layers: [-1] heads: [1, 0] } '
                'truncation: TRUNCATION_TRUNCATE max_length: 16 }')
    write("request_fuzzer", "encode_full", b"\x00" + qkv_encode("EncodeRequest", enc_full))
    write("request_fuzzer", "encode_ids", b"\x04" + qkv_encode(
        "EncodeRequest", 'inputs { ids { ids: [101, 102] } } options { pooling: POOLING_POOLER }'))
    write("request_fuzzer", "encode_tight", b"\x03" + qkv_encode("EncodeRequest", enc_full))
    write("request_fuzzer", "tokenize", b"\x01" + qkv_encode(
        "TokenizeRequest", 'text: "Hello there" text_pair: "General Kenobi" max_length: 8'))
    write("request_fuzzer", "stream", b"\x02" + qkv_encode(
        "EncodeStreamRequest", 'request_id: "r1" request { %s }' % enc_full))
    # Invalid UTF-8 in a string field: the lenient re-parse names it (raw bytes, spliced by hand).
    bad = qkv_encode("EncodeRequest", 'inputs { id: "x" text { text: "ab" } }').replace(b"ab", b"\xc3(")
    write("request_fuzzer", "invalid_utf8", b"\x00" + bad)
    write("request_fuzzer", "stream_invalid_utf8", b"\x02" + qkv_encode(
        "EncodeStreamRequest", 'request_id: "r2" request { inputs { text { text: "ab" } } }').replace(b"ab", b"\xed\xa0"))
    # CLI: byte 0 bit 0 = 0 input file, 1 argv (NUL-separated).
    write("cli_input_fuzzer", "lines", b"\x00first line\nsecond line\r\nthird without newline")
    write("cli_input_fuzzer", "utf8_lines", "\x00héllo wörld\n中文\n\n".encode())
    write("cli_input_fuzzer", "bad_utf8", b"\x00ok\n\xc0\xaf overlong\n")
    write("cli_input_fuzzer", "argv", b"\x01" + b"\x00".join([
        b"--text=hi", b"--number", b"-42", b"--real=2.5e3", b"--no-flag", b"--list", b"3, 114,-1",
        b"--duration=1m30s", b"--choice", b"bb", b"positional", b"-", b"--", b"--text"]))
    write("cli_input_fuzzer", "argv_errors", b"\x01" + b"\x00".join([
        b"--number=9223372036854775808", b"--duration=-1s", b"--choice=d", b"--unknown", b"--help"]))
    # Whole model directories: byte 0 = 0 safetensors, 1 onnx; then config.json | vocab.txt | weights |
    # tokenizer_config.json | 1_Pooling/config.json | modules.json.
    pool = json.dumps({"word_embedding_dimension": D, "pooling_mode_mean_tokens": True}).encode()
    modules = json.dumps([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                          {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                          {"idx": 2, "name": "2", "path": "2_Normalize",
                           "type": "sentence_transformers.models.Normalize"}]).encode()
    write("model_dir_fuzzer", "safetensors_min", b"\x00" + SEP.join([cfg.encode(), VOCAB, safetensors("F32")]))
    write("model_dir_fuzzer", "safetensors_st", b"\x00" + SEP.join(
        [cfg.encode(), VOCAB, safetensors("F16"), json.dumps(tok_cfg).encode(), pool, modules]))
    write("model_dir_fuzzer", "onnx_min", b"\x01" + SEP.join([cfg.encode(), VOCAB, onnx_model("raw", 1)]))
    write("model_dir_fuzzer", "onnx_typed", b"\x01" + SEP.join(
        [cfg.encode(), VOCAB, onnx_model("typed", 10), b"", pool]))


if __name__ == "__main__":
    main()
