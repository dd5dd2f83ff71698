#!/usr/bin/python3
"""Unseen-model check: odd-shaped BERT models generated here, served by the real qkv-server, compared with a
float64 numpy reference of Hugging Face BertModel.

Usage: unseen_models.py SERVER_BINARY STUBS_DIR WORK_DIR
Writes each model as a Hugging Face directory (config.json, vocab.txt, model.safetensors written by hand in
F32 / F16 / BF16, with or without the "bert." prefix, extra cls.* tensors and an I64 position_ids buffer, with
or without a pooler), starts qkv-server on it and checks over gRPC: GetModelInfo, hidden states / pooled
vectors (1e-4) and attention probabilities (1e-5) for lengths 1..max_position_embeddings, ids and type ids at
the edges, mixed-length batches, text and text pairs, every pooling mode, normalize, hidden_state_layers
(negative included), attention layers and heads; then bad requests (code + the field in the message). Also
a model with max_position_embeddings 1.
Needs numpy and grpcio only. Exits non-zero on the first mismatch.
"""
import json
import math
import os
import re
import struct
import subprocess
import sys
import time

import numpy as np

HIDDEN_TOLERANCE = 1e-4
ATTENTION_TOLERANCE = 1e-5

# Special tokens at unusual ids; words chosen so that simple texts tokenize into several pieces.
WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "un", "##believ", "##able", "##s", "##ing",
         "hello", "world", ",", ".", "!", "?", "play", "is", "all", "you", "need", "attention", "x", "##x"]


def synthetic_vocab(size):
    """A vocab of exactly `size` tokens with [PAD] [UNK] [CLS] [SEP] [MASK] at unusual ids."""
    assert size >= 40
    tokens = ["[unused%d]" % i for i in range(size)]
    for i, w in enumerate(WORDS):
        tokens[3 + i] = w
    specials = {"[UNK]": 1, "[PAD]": size - 1, "[CLS]": size - 3, "[SEP]": 2, "[MASK]": size // 2}
    for token, index in specials.items():
        tokens[index] = token
    return tokens


def to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns (round to nearest even), as uint16."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def from_bf16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, dtype):
    """tensors: ordered list of (name, array). Float arrays are stored in `dtype` (F32/F16/BF16), int64 as I64.
    Returns {name: float64 array as the file holds it} (after rounding to the stored dtype)."""
    header, blobs, stored, offset = {}, [], {}, 0
    for name, array in tensors:
        if array.dtype == np.int64:
            raw, file_dtype = array.astype("<i8").tobytes(), "I64"
        elif dtype == "F32":
            a32 = array.astype("<f4")
            raw, file_dtype, stored[name] = a32.tobytes(), "F32", a32.astype(np.float64)
        elif dtype == "F16":
            a16 = array.astype("<f2")
            raw, file_dtype, stored[name] = a16.tobytes(), "F16", a16.astype(np.float64)
        else:
            bits = to_bf16_bits(array)
            raw, file_dtype = bits.astype("<u2").tobytes(), "BF16"
            stored[name] = from_bf16_bits(bits).astype(np.float64)
        header[name] = {"dtype": file_dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    return stored


def make_model(directory, spec, seed):
    """Writes a model directory for `spec`; returns the reference weights (float64, as stored)."""
    rng = np.random.default_rng(seed)
    d, f, v = spec["hidden"], spec["intermediate"], spec["vocab"]
    p, tv, n_layers = spec["max_pos"], spec["type_vocab"], spec["layers"]

    def rnd(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm(prefix):
        return [(prefix + ".weight", (1.0 + rnd(d, scale=0.2)).astype(np.float32)),
                (prefix + ".bias", rnd(d, scale=0.1))]

    tensors = [("embeddings.word_embeddings.weight", rnd(v, d, scale=1.0)),
               ("embeddings.position_embeddings.weight", rnd(p, d, scale=0.5)),
               ("embeddings.token_type_embeddings.weight", rnd(tv, d, scale=0.5))]
    tensors += norm("embeddings.LayerNorm")
    for i in range(n_layers):
        pre = "encoder.layer.%d." % i
        for name in ("query", "key", "value"):
            tensors += [(pre + "attention.self.%s.weight" % name, rnd(d, d, scale=1.0 / math.sqrt(d) * 1.5)),
                        (pre + "attention.self.%s.bias" % name, rnd(d, scale=0.1))]
        tensors += [(pre + "attention.output.dense.weight", rnd(d, d, scale=1.0 / math.sqrt(d))),
                    (pre + "attention.output.dense.bias", rnd(d, scale=0.1))]
        tensors += norm(pre + "attention.output.LayerNorm")
        tensors += [(pre + "intermediate.dense.weight", rnd(f, d, scale=1.0 / math.sqrt(d))),
                    (pre + "intermediate.dense.bias", rnd(f, scale=0.1)),
                    (pre + "output.dense.weight", rnd(d, f, scale=1.0 / math.sqrt(f))),
                    (pre + "output.dense.bias", rnd(d, scale=0.1))]
        tensors += norm(pre + "output.LayerNorm")
    if spec["pooler"]:
        tensors += [("pooler.dense.weight", rnd(d, d, scale=1.0 / math.sqrt(d))), ("pooler.dense.bias", rnd(d))]
    if spec["prefix"]:
        tensors = [("bert." + name, array) for name, array in tensors]
        tensors.append(("bert.embeddings.position_ids", np.arange(p, dtype=np.int64).reshape(1, p)))
        tensors += [("cls.predictions.bias", rnd(v)),
                    ("cls.predictions.transform.dense.weight", rnd(d, d)),
                    ("cls.predictions.transform.dense.bias", rnd(d)),
                    ("cls.predictions.transform.LayerNorm.weight", rnd(d)),
                    ("cls.predictions.transform.LayerNorm.bias", rnd(d))]
    os.makedirs(directory, exist_ok=True)
    stored = write_safetensors(os.path.join(directory, "model.safetensors"), tensors, spec["dtype"])
    weights = {(k[5:] if k.startswith("bert.") else k): val for k, val in stored.items()}
    config = {"architectures": ["BertForMaskedLM" if spec["prefix"] else "BertModel"], "model_type": "bert",
              "hidden_act": "gelu", "hidden_size": d, "intermediate_size": f, "num_hidden_layers": n_layers,
              "num_attention_heads": spec["heads"], "max_position_embeddings": p, "type_vocab_size": tv,
              "vocab_size": v, "layer_norm_eps": spec["eps"], "pad_token_id": spec.get("pad_token_id", 0),
              "position_embedding_type": "absolute"}
    with open(os.path.join(directory, "config.json"), "w") as out:
        json.dump(config, out, indent=2)
    with open(os.path.join(directory, "vocab.txt"), "w") as out:
        out.write("\n".join(spec["vocab_tokens"]) + "\n")
    return weights


# ---------------------------------------------------------------------------------------------------------
# float64 reference: Hugging Face BertModel (post-LN, exact erf GELU).
_erf = np.vectorize(math.erf)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def linear(x, w, prefix):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def reference(w, spec, ids, types):
    """Returns (hidden_states [L+1][T, D], attentions [L][H, T, T], pooler [D] or None)."""
    d, h, eps = spec["hidden"], spec["heads"], spec["eps"]
    dh = d // h
    t = len(ids)
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
         + w["embeddings.token_type_embeddings.weight"][types])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hidden, attentions = [x], []
    for i in range(spec["layers"]):
        pre = "encoder.layer.%d." % i
        q = linear(x, w, pre + "attention.self.query").reshape(t, h, dh).transpose(1, 0, 2)
        k = linear(x, w, pre + "attention.self.key").reshape(t, h, dh).transpose(1, 0, 2)
        v = linear(x, w, pre + "attention.self.value").reshape(t, h, dh).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        attentions.append(probs)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(t, d)
        a = layer_norm(linear(ctx, w, pre + "attention.output.dense") + x,
                       w[pre + "attention.output.LayerNorm.weight"], w[pre + "attention.output.LayerNorm.bias"], eps)
        inter = linear(a, w, pre + "intermediate.dense")
        inter = 0.5 * inter * (1.0 + _erf(inter / math.sqrt(2.0)))
        x = layer_norm(linear(inter, w, pre + "output.dense") + a,
                       w[pre + "output.LayerNorm.weight"], w[pre + "output.LayerNorm.bias"], eps)
        hidden.append(x)
    pooler = None
    if spec["pooler"]:
        pooler = np.tanh(w["pooler.dense.weight"] @ x[0] + w["pooler.dense.bias"])
    return hidden, attentions, pooler


# ---------------------------------------------------------------------------------------------------------
failures = []
passed = [0]


def check(condition, what):
    if not condition:
        print("FAIL:", what)
        failures.append(what)
    else:
        passed[0] += 1
    return condition


def max_diff(values, expected):
    values = np.asarray(values, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64).reshape(-1)
    if values.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(values - expected))) if values.size else 0.0


class Server:
    def __init__(self, binary, model_dir, log_prefix, extra_args=()):
        self.out = open(log_prefix + ".out", "w+")
        self.err = open(log_prefix + ".err", "w+")
        self.proc = subprocess.Popen([binary, "--model=" + model_dir, "--listen=127.0.0.1:0", "--http_listen="] + list(extra_args),
                                     stdout=self.out, stderr=self.err)
        self.address = None
        deadline = time.time() + 60
        while time.time() < deadline:
            with open(log_prefix + ".out") as f:
                m = re.search(r"listening on (\S+)", f.read())
            if m:
                self.address = m.group(1)
                return
            if self.proc.poll() is not None:
                raise RuntimeError("server exited %d: %s" % (self.proc.returncode, open(log_prefix + ".err").read()))
            time.sleep(0.05)
        raise RuntimeError("no startup line from the server")

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "killed"
        check(rc == 0, "server exits 0 after SIGTERM (got %s)" % rc)


def check_output(out, w, spec, ids, types, options, label):
    """Compares one Output with the reference for the options used."""
    hidden, attentions, pooler = reference(w, spec, ids, types)
    n_layers, heads = spec["layers"], spec["heads"]
    last = hidden[-1]
    t = len(ids)
    check(list(out.ids) == list(ids), "%s ids echoed" % label)
    check(list(out.token_type_ids) == list(types), "%s token_type_ids %s == %s" % (label, list(out.token_type_ids),
                                                                                   list(types)))
    if options.return_token_vectors:
        check(list(out.token_vectors.shape) == [t, spec["hidden"]], "%s token_vectors shape" % label)
        diff = max_diff(out.token_vectors.values, last)
        check(diff < HIDDEN_TOLERANCE, "%s last hidden |diff| %.2e" % (label, diff))
    pooling = options.pooling
    if pooling == 0:
        pooling = 4 if spec["pooler"] else 2  # no 1_Pooling/config.json: the pooler when there is one
    expected = {2: last[0], 3: last.mean(0), 4: pooler, 1: None}[pooling]
    if expected is None:
        check(not out.HasField("pooled"), "%s no pooled vector" % label)
    else:
        if options.normalize:
            expected = expected / np.linalg.norm(expected)
        diff = max_diff(out.pooled.values, expected)
        check(diff < HIDDEN_TOLERANCE, "%s pooled(%d, normalize=%s) |diff| %.2e" % (label, pooling,
                                                                                    options.normalize, diff))
    want_layers = [l if l >= 0 else n_layers + 1 + l for l in options.hidden_state_layers]
    check([hs.layer for hs in out.hidden_states] == want_layers, "%s hidden_state layers %s" % (label, want_layers))
    for hs, layer in zip(out.hidden_states, want_layers):
        diff = max_diff(hs.values.values, hidden[layer])
        check(diff < HIDDEN_TOLERANCE, "%s hidden_states[%d] |diff| %.2e" % (label, layer, diff))
    if options.HasField("attention"):
        layers = list(options.attention.layers) or [-1]
        layers = [l if l >= 0 else n_layers + l for l in layers]
        head_list = list(options.attention.heads) or list(range(heads))
        check([a.layer for a in out.attention] == layers, "%s attention layers %s" % (label, layers))
        for att, layer in zip(out.attention, layers):
            check(list(att.heads) == head_list, "%s attention heads %s" % (label, head_list))
            check(list(att.probs.shape) == [len(head_list), t, t], "%s attention shape" % label)
            diff = max_diff(att.probs.values, attentions[layer][head_list])
            check(diff < ATTENTION_TOLERANCE, "%s attention layer %d |diff| %.2e" % (label, layer, diff))
    else:
        check(len(out.attention) == 0, "%s no attention" % label)


def check_model(pb, pb_grpc, grpc, binary, work, name, spec, seed):
    import grpc as _grpc  # noqa: F401
    directory = os.path.join(work, name)
    w = make_model(directory, spec, seed)
    server = Server(binary, directory, os.path.join(work, name + ".server"))
    print("== %s (%s) at %s" % (name, ", ".join("%s=%s" % (k, spec[k]) for k in
                                                 ("hidden", "heads", "intermediate", "layers", "max_pos",
                                                  "type_vocab", "vocab", "dtype", "prefix", "pooler")),
                                  server.address))
    channel = grpc.insecure_channel(server.address)
    stub = pb_grpc.EncoderServiceStub(channel)
    d, p, v, tv, n_layers, heads = (spec["hidden"], spec["max_pos"], spec["vocab"], spec["type_vocab"],
                                    spec["layers"], spec["heads"])
    vocab = spec["vocab_tokens"]
    try:
        info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=30)
        a = info.architecture
        check((a.hidden_size, a.num_attention_heads, a.intermediate_size, a.num_layers, a.max_position_embeddings,
               a.type_vocab_size, a.vocab_size) == (d, heads, spec["intermediate"], n_layers, p, tv, v),
              "%s GetModelInfo architecture" % name)
        s = info.special_tokens
        check((s.cls, s.sep, s.pad, s.unk, s.mask) == tuple(vocab.index(x) if x in vocab else -1 for x in
                                                           ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")),
              "%s GetModelInfo special tokens %s" % (name, (s.cls, s.sep, s.pad, s.unk, s.mask)))
        check(info.has_pooler == spec["pooler"], "%s has_pooler" % name)
        check(info.default_pooling == (pb.POOLING_POOLER if spec["pooler"] else pb.POOLING_CLS),
              "%s default pooling" % name)

        rng = np.random.default_rng(seed + 1)
        # Lengths 1, 2, max-1, max; ids at both edges; type ids at both edges.
        cases = []
        for t in sorted({1, 2, max(1, p // 2), p - 1, p}):
            ids = rng.integers(0, v, size=t)
            ids[0] = v - 1
            if t > 1:
                ids[1] = 0
            types = rng.integers(0, tv, size=t)
            types[-1] = tv - 1
            cases.append((ids.tolist(), types.tolist()))
        pooling_modes = [pb.POOLING_UNSPECIFIED, pb.POOLING_CLS, pb.POOLING_MEAN, pb.POOLING_NONE]
        if spec["pooler"]:
            pooling_modes.append(pb.POOLING_POOLER)
        for pi, pooling in enumerate(pooling_modes):
            for normalize in (False, True):
                options = pb.EncodeOptions(
                    pooling=pooling, normalize=normalize, return_token_vectors=True,
                    hidden_state_layers=[0, -1, 1, -2][: min(4, 2 + pi)],
                    attention=pb.AttentionOptions(layers=[-1, 0][: 1 + pi % 2],
                                                  heads=[heads - 1, 0][: min(heads, 1 + (pi + 1) % 2)]))
                if pi == 3:
                    options.ClearField("attention")
                if pi == 2:
                    options.attention.ClearField("heads")
                    options.attention.ClearField("layers")
                inputs = []
                for ci, (ids, types) in enumerate(cases):
                    token_ids = pb.TokenIds(ids=ids)
                    if tv > 1 or ci % 2:
                        token_ids.token_type_ids.extend(types)
                    inputs.append(pb.Input(id="c%d" % ci, ids=token_ids))
                response = stub.Encode(pb.EncodeRequest(inputs=inputs, options=options), timeout=60)
                check(len(response.outputs) == len(cases), "%s %d outputs" % (name, len(cases)))
                for ci, (out, (ids, types)) in enumerate(zip(response.outputs, cases)):
                    check_output(out, w, spec, ids, types, options,
                                 "%s pooling=%d norm=%d case %d (T=%d)" % (name, pooling, normalize, ci, len(ids)))

        # Every layer's attention, all heads, one max-length sequence.
        ids, types = cases[-1]
        options = pb.EncodeOptions(pooling=pb.POOLING_MEAN, attention=pb.AttentionOptions(
            layers=[-1] + list(range(n_layers - 1)), heads=list(reversed(range(heads)))),
            hidden_state_layers=list(range(n_layers + 1)))
        token_ids = pb.TokenIds(ids=ids, token_type_ids=types)
        response = stub.Encode(pb.EncodeRequest(inputs=[pb.Input(ids=token_ids)], options=options), timeout=60)
        check_output(response.outputs[0], w, spec, ids, types, options, "%s all layers" % name)

        # Bad requests: right code and the field in the message.
        def expect_error(request, code, needle, what):
            try:
                stub.Encode(request, timeout=30)
            except grpc.RpcError as e:
                ok = e.code() == code and needle in e.details()
                check(ok, "%s %s -> %s %r" % (name, what, e.code(), e.details()))
                return
            check(False, "%s %s: no error" % (name, what))

        # Text and text pairs; tokenization checked against the vocabulary, outputs against the reference.
        texts = [("the cat sat on the mat.", None), ("unbelievable dogs!", "hello, world"), ("", None),
                 ("", ""), ("playing xx zzz", "you need attention")]
        options = pb.EncodeOptions(pooling=pb.POOLING_MEAN, return_token_vectors=True,
                                   attention=pb.AttentionOptions())
        if tv == 1:
            # No second segment: a pair is INVALID_ARGUMENT naming text_pair (it used to fail in the encoder,
            # naming the batch position, and failed every request batched with it).
            ti = pb.TextInput(text="the cat", text_pair="a dog")
            expect_error(pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text="x")), pb.Input(text=ti)]),
                         grpc.StatusCode.INVALID_ARGUMENT, "inputs[1].text.text_pair", "pair with one type")
            texts = [(text, None) for text, pair in texts]
        inputs = []
        for text, pair in texts:
            ti = pb.TextInput(text=text)
            if pair is not None:
                ti.text_pair = pair
            inputs.append(pb.Input(text=ti))
        cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
        over = [o for o in texts if len(o[0].split()) * 2 + 4 > p]
        if over:
            options.truncation = pb.TRUNCATION_TRUNCATE
        response = stub.Encode(pb.EncodeRequest(inputs=inputs, options=options), timeout=60)
        for ti, (out, (text, pair)) in enumerate(zip(response.outputs, texts)):
            ids, types = list(out.ids), list(out.token_type_ids)
            check(ids[0] == cls and ids[-1] == sep, "%s text %d starts [CLS] ends [SEP]: %s" % (name, ti, out.tokens))
            check(list(out.tokens) == [vocab[i] for i in ids], "%s text %d tokens match ids" % (name, ti))
            n_sep = 2 if pair is not None else 1
            check(ids.count(sep) == n_sep, "%s text %d has %d [SEP]" % (name, ti, n_sep))
            if pair is not None and tv > 1:
                first_sep = ids.index(sep)
                check(types == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1),
                      "%s text %d pair type ids %s" % (name, ti, types))
            check_output(out, w, spec, ids, types, options, "%s text %d" % (name, ti))
        if "##believ" in vocab and "unbelievable" not in vocab:
            tok = stub.Tokenize(pb.TokenizeRequest(text="unbelievable"), timeout=30)
            check(list(tok.tokens)[1:-1] == ["un", "##believ", "##able"], "%s Tokenize wordpiece %s" %
                  (name, list(tok.tokens)))

        inv = grpc.StatusCode.INVALID_ARGUMENT
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[0, v]))]), inv, "inputs[0].ids.ids[1]",
                     "id == vocab_size")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[0, -1]))]), inv, "inputs[0].ids.ids[1]",
                     "negative id")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[0, 1], token_type_ids=[0, tv]))]), inv,
                     "token_type_ids", "type id == type_vocab_size")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[0] * (p + 1)))]), inv, "inputs[0]",
                     "ids longer than max positions")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[]))]), inv, "inputs[0]", "empty ids")
        expect_error(pb.EncodeRequest(inputs=[]), inv, "inputs", "no inputs")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[1]))],
                                      options=pb.EncodeOptions(hidden_state_layers=[n_layers + 1])), inv,
                     "hidden_state_layers", "hidden layer L+1")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[1]))],
                                      options=pb.EncodeOptions(hidden_state_layers=[-n_layers - 2])), inv,
                     "hidden_state_layers", "hidden layer -L-2")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[1]))],
                                      options=pb.EncodeOptions(attention=pb.AttentionOptions(layers=[n_layers]))),
                     inv, "attention.layers", "attention layer L")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[1]))],
                                      options=pb.EncodeOptions(attention=pb.AttentionOptions(heads=[heads]))),
                     inv, "attention.heads", "attention head H")
        expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[1]))],
                                      options=pb.EncodeOptions(max_length=p + 1)), inv, "max_length",
                     "max_length > max positions")
        if not spec["pooler"]:
            expect_error(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[1]))],
                                          options=pb.EncodeOptions(pooling=pb.POOLING_POOLER)), inv, "pool",
                         "POOLING_POOLER without a pooler")
        long_text = " ".join(["cat"] * (p + 5))
        expect_error(pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text=long_text))]), inv, "inputs[0]",
                     "over-long text without truncation")
        for max_length in (1, 2, 3):
            for pair in (None, "dog dog dog"):
                ti = pb.TextInput(text=long_text)
                if pair is not None:
                    ti.text_pair = pair
                request = pb.EncodeRequest(inputs=[pb.Input(text=ti)], options=pb.EncodeOptions(
                    truncation=pb.TRUNCATION_TRUNCATE, max_length=max_length, pooling=pb.POOLING_MEAN))
                try:
                    out = stub.Encode(request, timeout=30).outputs[0]
                    check(len(out.ids) <= max_length and out.truncated,
                          "%s truncate to max_length %d pair=%s: %s" % (name, max_length, pair is not None,
                                                                          list(out.tokens)))
                except grpc.RpcError as e:
                    # Too short to hold the special tokens: must be a clear INVALID_ARGUMENT naming max_length.
                    needles = ["max_length"] + (["text_pair"] if pair is not None and tv == 1 else [])
                    check(e.code() == inv and any(n in e.details() for n in needles),
                          "%s truncate to max_length %d pair=%s -> %s %r" % (name, max_length, pair is not None,
                                                                             e.code(), e.details()))
        request = pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text=long_text))], options=pb.EncodeOptions(
            truncation=pb.TRUNCATION_TRUNCATE, return_token_vectors=True))
        out = stub.Encode(request, timeout=30).outputs[0]
        check(len(out.ids) == p and out.truncated and out.ids[-1] == sep, "%s truncate to max positions" % name)
        check_output(out, w, spec, list(out.ids), list(out.token_type_ids),
                     request.options, "%s truncated text" % name)
    finally:
        channel.close()
        server.stop()


def check_one_position_model(pb, pb_grpc, grpc, binary, work):
    """max_position_embeddings 1: serves (its warm-up used to need 2 positions), runs 1-token ids, and refuses
    text (2 tokens at least) and 2 ids naming the field."""
    name = "one-position"
    spec = dict(hidden=16, heads=2, intermediate=9, layers=1, max_pos=1, type_vocab=2, vocab=40, dtype="F32",
                prefix=False, pooler=True, eps=1e-12, vocab_tokens=synthetic_vocab(40))
    directory = os.path.join(work, name)
    w = make_model(directory, spec, 7)
    server = Server(binary, directory, os.path.join(work, name + ".server"))
    print("== %s at %s" % (name, server.address))
    channel = grpc.insecure_channel(server.address)
    stub = pb_grpc.EncoderServiceStub(channel)
    try:
        options = pb.EncodeOptions(pooling=pb.POOLING_POOLER, return_token_vectors=True, hidden_state_layers=[0],
                                   attention=pb.AttentionOptions())
        inputs = [pb.Input(ids=pb.TokenIds(ids=[i], token_type_ids=[i % 2])) for i in (0, 39, 17)]
        response = stub.Encode(pb.EncodeRequest(inputs=inputs, options=options), timeout=30)
        for out, i in zip(response.outputs, (0, 39, 17)):
            check_output(out, w, spec, [i], [i % 2], options, "%s id %d" % (name, i))
        for request, field in ((pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text=""))]), "inputs[0].text"),
                               (pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[1, 2]))]), "inputs[0].ids")):
            try:
                stub.Encode(request, timeout=30)
                check(False, "%s %s: no error" % (name, field))
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and field in e.details(),
                      "%s %s -> %s %r" % (name, field, e.code(), e.details()))
    finally:
        channel.close()
        server.stop()


def main():
    binary, stubs, work = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, stubs)
    import grpc
    from qkv.v1 import encoder_pb2 as pb
    from qkv.v1 import encoder_pb2_grpc as pb_grpc
    os.makedirs(work, exist_ok=True)
    bert_vocab = None
    specs = {
        # 3 heads of 16, odd FFN, 8 positions, 3 token types, F16, MLM checkpoint layout (bert. + cls.*).
        "h48-3heads-f16-mlm": dict(hidden=48, heads=3, intermediate=37, layers=3, max_pos=8, type_vocab=3,
                                   vocab=50, dtype="F16", prefix=True, pooler=True, eps=1e-12),
        # 12 heads of 8, one token type, BF16, no pooler.
        "h96-12heads-bf16-nopooler": dict(hidden=96, heads=12, intermediate=100, layers=4, max_pos=33,
                                          type_vocab=1, vocab=64, dtype="BF16", prefix=False, pooler=False,
                                          eps=1e-7),
        # one head of 72, five layers, F32, eps 1e-5.
        "h72-1head-f32": dict(hidden=72, heads=1, intermediate=100, layers=5, max_pos=33, type_vocab=2,
                              vocab=50, dtype="F32", prefix=True, pooler=True, eps=1e-5),
    }
    if os.environ.get("QKV_UNSEEN_BIG_VOCAB") and len(sys.argv) > 4:
        bert_vocab = open(sys.argv[4]).read().split("\n")[:-1]
        specs["h96-bigvocab-bf16"] = dict(hidden=96, heads=12, intermediate=100, layers=3, max_pos=33,
                                          type_vocab=2, vocab=31000, dtype="BF16", prefix=True, pooler=True,
                                          eps=1e-12)
    for seed, (name, spec) in enumerate(specs.items()):
        if spec["vocab"] == 31000:
            spec["vocab_tokens"] = bert_vocab + ["[extra%d]" % i for i in range(31000 - len(bert_vocab))]
        else:
            spec["vocab_tokens"] = synthetic_vocab(spec["vocab"])
        check_model(pb, pb_grpc, grpc, binary, work, name, spec, 1000 + seed)
    check_one_position_model(pb, pb_grpc, grpc, binary, work)
    if failures:
        print("%d FAILURES" % len(failures))
        sys.exit(1)
    print("unseen models: all %d checks passed" % passed[0])


if __name__ == "__main__":
    main()
