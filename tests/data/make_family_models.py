#!/usr/bin/python3
"""Writes one small random-weight model per architecture family into tests/data/families/<family>/, with
float64 goldens from an independent numpy forward pass.

    /usr/bin/python3 tests/data/make_family_models.py        (numpy, protoc and /usr/include/onnx/onnx.proto)
    /usr/bin/python3 tests/data/make_family_models.py --bench-shape /tmp/families   (MiniLM-sized, no goldens)

Deterministic (seeded): rerunning it rewrites the same bytes. Each directory holds
  config.json        Hugging Face config in the family's own key names (DistilBERT: dim, n_layers, ...)
  model.safetensors  float32 weights under the family's Hugging Face names, Linear weights [out, in]; the
                     RoBERTa fixture uses the task prefix ("roberta.") as *ForMaskedLM checkpoints do, with an
                     lm_head the loader must ignore
  model.onnx         the same weights as torch.onnx.export lays them out: embeddings, LayerNorms, biases and
                     the relative attention bias under their names, each Linear weight an unnamed initializer
                     ("onnx::MatMul_N", [in, out]) whose MatMul feeds an Add with the named bias, the pooler
                     a Gemm (transB = 1). A full forward graph (ORT runs it: input_ids, attention_mask ->
                     last_hidden_state, pooler_output when there is a pooler, attention_probs_<layer>).
  vocab.txt          a stand-in WordPiece vocabulary: the tests feed token ids; for RoBERTa-style fixtures
                     ids 0..3 are [CLS] [PAD] [SEP] [UNK] where <s> <pad> </s> <unk> would be
  goldens.json       cases: input_ids, last_hidden_state [T][D], attentions {layer: [H][q][T]} for the
                     listed query rows, pooler_output when the model has a pooler; and for MPNet the
                     relative position buckets of offsets -200..200

The reference (forward() below) is written from the Hugging Face modelling code's semantics, not from qkv:
post-LayerNorm layers, exact erf GELU, attention scale 1/sqrt(head size), position ids 0..T-1 (BERT,
DistilBERT) or cumsum(ids != padding_idx) * (ids != padding_idx) + padding_idx (RoBERTa, XLM-RoBERTa,
MPNet, whose padding_idx is always 1), MPNet's bucketed relative bias (computed in float32 like torch) added
to the scores of every layer before the softmax. Query and key weights are scaled up (QK_STD) and the relative
bias is large, so attention is peaky (the script prints the median row maximum) and position or bias mistakes
show. goldens.json also records float32_reference: how far the same forward pass in numpy float32 lands from
the float64 goldens, the floor any float32 engine works against.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "families")

D, H, F, L, V = 32, 4, 64, 2, 100

# Query and key weights have std QK_STD / sqrt(D): attention is far from flat (the median row maximum is 3-8x
# uniform's 1/T), yet float32 arithmetic can still meet the 1e-6 bound on attention. At 2.0 (median row max
# 0.44-0.59) numpy's own float32 forward of these weights misses it (1.0-3.5e-6 in the second layer: the
# scores' rounding is amplified by their size), so no float32 engine can be held to it there.
QK_STD = 1.25


def family_specs():
    """name -> what differs between the families (the reference's own table)."""
    return {
        "distilbert": dict(model_type="distilbert", prefix="", layer="transformer.layer.", types=0,
                           positions="absolute", pad=0, max_pos=48, pooler=False, eps=1e-12, rel=False,
                           names=dict(q="attention.q_lin", k="attention.k_lin", v="attention.v_lin",
                                      o="attention.out_lin", ln1="sa_layer_norm", i="ffn.lin1",
                                      out="ffn.lin2", ln2="output_layer_norm")),
        "roberta": dict(model_type="roberta", prefix="roberta.", layer="encoder.layer.", types=1,
                        positions="padding", pad=1, max_pos=50, pooler=True, eps=1e-5, rel=False,
                        names=None),
        "xlm-roberta": dict(model_type="xlm-roberta", prefix="", layer="encoder.layer.", types=1,
                            positions="padding", pad=1, max_pos=50, pooler=False, eps=1e-5, rel=False,
                            names=None),
        "mpnet": dict(model_type="mpnet", prefix="", layer="encoder.layer.", types=0, positions="padding",
                      pad=1, max_pos=164, pooler=True, eps=1e-5, rel=True,
                      names=dict(q="attention.attn.q", k="attention.attn.k", v="attention.attn.v",
                                 o="attention.attn.o", ln1="attention.LayerNorm", i="intermediate.dense",
                                 out="output.dense", ln2="output.LayerNorm")),
    }


BERT_NAMES = dict(q="attention.self.query", k="attention.self.key", v="attention.self.value",
                  o="attention.output.dense", ln1="attention.output.LayerNorm", i="intermediate.dense",
                  out="output.dense", ln2="output.LayerNorm")


def config_json(spec):
    if spec["model_type"] == "distilbert":
        return {"activation": "gelu", "architectures": ["DistilBertModel"], "attention_dropout": 0.1,
                "dim": D, "dropout": 0.1, "hidden_dim": F, "initializer_range": 0.02,
                "max_position_embeddings": spec["max_pos"], "model_type": "distilbert", "n_heads": H,
                "n_layers": L, "pad_token_id": 0, "qa_dropout": 0.1, "seq_classif_dropout": 0.2,
                "sinusoidal_pos_embds": False, "vocab_size": V}
    c = {"architectures": [{"roberta": "RobertaForMaskedLM", "xlm-roberta": "XLMRobertaModel",
                            "mpnet": "MPNetModel"}[spec["model_type"]]],
         "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "gelu",
         "hidden_dropout_prob": 0.1, "hidden_size": D, "initializer_range": 0.02, "intermediate_size": F,
         "layer_norm_eps": spec["eps"], "max_position_embeddings": spec["max_pos"],
         "model_type": spec["model_type"], "num_attention_heads": H, "num_hidden_layers": L,
         "pad_token_id": spec["pad"], "vocab_size": V}
    if spec["rel"]:
        c["relative_attention_num_buckets"] = 32
    else:
        c["position_embedding_type"] = "absolute"
        c["type_vocab_size"] = spec["types"]
    return c


def make_weights(spec, rng):
    """HF name (without task prefix) -> float32 array; Linear weights [out, in]."""
    names = spec["names"] or BERT_NAMES
    w = {}

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def linear(name, i, o, std):
        w[name + ".weight"] = normal((o, i), std)
        w[name + ".bias"] = normal((o,), 0.1)

    def norm(name):
        w[name + ".weight"] = (1 + normal((D,), 0.1)).astype(np.float32)
        w[name + ".bias"] = normal((D,), 0.1)

    w["embeddings.word_embeddings.weight"] = normal((V, D), 0.5)
    w["embeddings.position_embeddings.weight"] = normal((spec["max_pos"], D), 0.5)
    if spec["types"]:
        w["embeddings.token_type_embeddings.weight"] = normal((spec["types"], D), 0.5)
    norm("embeddings.LayerNorm")
    if spec["rel"]:
        w["encoder.relative_attention_bias.weight"] = normal((32, H), 1.0)
    for l in range(L):
        p = "%s%d." % (spec["layer"], l)
        linear(p + names["q"], D, D, QK_STD / math.sqrt(D))
        linear(p + names["k"], D, D, QK_STD / math.sqrt(D))
        linear(p + names["v"], D, D, 1.0 / math.sqrt(D))
        linear(p + names["o"], D, D, 1.0 / math.sqrt(D))
        norm(p + names["ln1"])
        linear(p + names["i"], D, F, 1.0 / math.sqrt(D))
        linear(p + names["out"], F, D, 1.0 / math.sqrt(F))
        norm(p + names["ln2"])
    if spec["pooler"]:
        linear("pooler.dense", D, D, 1.0 / math.sqrt(D))
    return w


# --- float64 reference --------------------------------------------------------------------------------------

def position_ids(spec, ids):
    ids = np.asarray(ids)
    if spec["positions"] == "absolute":
        return np.arange(len(ids))
    mask = (ids != spec["pad"]).astype(np.int64)
    return np.cumsum(mask) * mask + spec["pad"]


def relative_bucket(relative_position):
    """HF MPNetEncoder.relative_position_bucket (num_buckets 32, max_distance 128), float32 like torch."""
    num_buckets, max_distance = 32, 128
    n = -np.asarray(relative_position, dtype=np.int64)
    num_buckets //= 2
    ret = (n < 0).astype(np.int64) * num_buckets
    n = np.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    with np.errstate(divide="ignore"):
        scaled = (np.log(n.astype(np.float32) / np.float32(max_exact)) / np.float32(math.log(max_distance / max_exact))
                  * np.float32(num_buckets - max_exact))
    val_if_large = max_exact + np.where(is_small, 0, scaled).astype(np.int64)
    val_if_large = np.minimum(val_if_large, num_buckets - 1)
    return ret + np.where(is_small, n, val_if_large)


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + x.dtype.type(eps)) * gamma + beta


_erf = np.vectorize(math.erf)


def gelu(x):
    return (0.5 * x * (1.0 + _erf(x.astype(np.float64) / math.sqrt(2.0)))).astype(x.dtype)


def forward(spec, w, ids, dtype=np.float64):
    """Returns (last_hidden [T, D], attentions [L][H, T, T], pooled [D] or None) computed in dtype: float64 for
    the goldens, float32 to measure what float32 arithmetic itself misses by (the goldens' float32_reference)."""
    g = {k: v.astype(dtype) for k, v in w.items()}
    names = spec["names"] or BERT_NAMES
    eps = spec["eps"]
    ids = np.asarray(ids)
    t = len(ids)
    x = g["embeddings.word_embeddings.weight"][ids] + g["embeddings.position_embeddings.weight"][
        position_ids(spec, ids)]
    if spec["types"]:
        x = x + g["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, g["embeddings.LayerNorm.weight"], g["embeddings.LayerNorm.bias"], eps)
    bias = 0.0
    if spec["rel"]:
        pos = np.arange(t)
        buckets = relative_bucket(pos[None, :] - pos[:, None])  # [query, key]
        bias = g["encoder.relative_attention_bias.weight"][buckets].transpose(2, 0, 1)  # [H, T, T]
    dh = D // H
    attentions = []
    for l in range(L):
        p = "%s%d." % (spec["layer"], l)

        def lin(name, inp):
            return inp @ g[p + name + ".weight"].T + g[p + name + ".bias"]

        q = lin(names["q"], x).reshape(t, H, dh).transpose(1, 0, 2)
        k = lin(names["k"], x).reshape(t, H, dh).transpose(1, 0, 2)
        v = lin(names["v"], x).reshape(t, H, dh).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / dtype(math.sqrt(dh)) + bias
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        attentions.append(probs)
        context = (probs @ v).transpose(1, 0, 2).reshape(t, D)
        x = layer_norm(lin(names["o"], context) + x, g[p + names["ln1"] + ".weight"],
                       g[p + names["ln1"] + ".bias"], eps)
        x = layer_norm(lin(names["out"], gelu(lin(names["i"], x))) + x, g[p + names["ln2"] + ".weight"],
                       g[p + names["ln2"] + ".bias"], eps)
    pooled = None
    if spec["pooler"]:
        pooled = np.tanh(x[0] @ g["pooler.dense.weight"].T + g["pooler.dense.bias"])
    return x, attentions, pooled


# --- files --------------------------------------------------------------------------------------------------

def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def onnx_module():
    """onnx_pb2 generated by protoc from Debian's onnx.proto (python3-onnx is not in Debian 12)."""
    out = tempfile.mkdtemp(prefix="qkv_onnx_pb_")
    subprocess.run(["protoc", "-I/usr/include", "--python_out=" + out, "onnx/onnx.proto"], check=True)
    sys.path.insert(0, out)
    from onnx import onnx_pb2  # noqa: E402
    return onnx_pb2


class Graph:
    def __init__(self, pb):
        self.pb = pb
        self.model = pb.ModelProto(ir_version=8, producer_name="qkv make_family_models.py")
        self.model.opset_import.add(domain="", version=14)
        self.g = self.model.graph
        self.g.name = "encoder"
        self.count = 0

    def name(self, hint):
        self.count += 1
        return "/%s_%d" % (hint, self.count)

    def init(self, name, array):
        array = np.asarray(array)
        t = self.g.initializer.add(name=name, dims=list(array.shape))
        if array.dtype == np.int64:
            t.data_type = self.pb.TensorProto.INT64
            t.raw_data = array.astype("<i8").tobytes()
        else:
            t.data_type = self.pb.TensorProto.FLOAT
            t.raw_data = array.astype("<f4").tobytes()
        return name

    def const(self, array, hint="const"):
        return self.init(self.name(hint), array)

    def node(self, op, inputs, hint=None, **attrs):
        out = self.name(hint or op)
        n = self.g.node.add(op_type=op, input=inputs, output=[out], name=out)
        for key, value in attrs.items():
            a = n.attribute.add(name=key)
            if isinstance(value, int):
                a.type, a.i = self.pb.AttributeProto.INT, value
            elif isinstance(value, float):
                a.type, a.f = self.pb.AttributeProto.FLOAT, value
            else:
                a.type = self.pb.AttributeProto.INTS
                a.ints.extend(value)
        return out


def write_onnx(path, spec, w, pb):
    names = spec["names"] or BERT_NAMES
    g = Graph(pb)
    i64 = pb.TensorProto.INT64
    for name in ("input_ids", "attention_mask"):
        vi = g.g.input.add(name=name)
        vi.type.tensor_type.elem_type = i64
        for dim in ("batch", "sequence"):
            vi.type.tensor_type.shape.dim.add(dim_param=dim)
    out = g.g.output.add(name="last_hidden_state")
    out.type.tensor_type.elem_type = pb.TensorProto.FLOAT
    for dim in ("batch", "sequence"):
        out.type.tensor_type.shape.dim.add(dim_param=dim)
    out.type.tensor_type.shape.dim.add(dim_value=D)

    named = lambda n: g.init(n, w[n])  # noqa: E731
    matmul_count = [0]

    def linear(prefix, x):
        wt = w[prefix + ".weight"].T  # [in, out], as constant folding leaves it
        matmul_count[0] += 1
        wname = g.init("onnx::MatMul_%d" % (1000 + matmul_count[0]), wt)
        return g.node("Add", [g.node("MatMul", [x, wname]), named(prefix + ".bias")])

    def layer_norm(prefix, x):
        mean = g.node("ReduceMean", [x], axes=[-1])
        centered = g.node("Sub", [x, mean])
        var = g.node("ReduceMean", [g.node("Mul", [centered, centered])], axes=[-1])
        std = g.node("Sqrt", [g.node("Add", [var, g.const(np.float32(spec["eps"]))])])
        return g.node("Add", [g.node("Mul", [g.node("Div", [centered, std]), named(prefix + ".weight")]),
                              named(prefix + ".bias")])

    ids = "input_ids"
    # Position ids.
    if spec["positions"] == "absolute":
        seq = g.node("Gather", [g.node("Shape", [ids]), g.const(np.int64(1))], axis=0)
        positions = g.node("Unsqueeze", [g.node("Range", [g.const(np.int64(0)), seq, g.const(np.int64(1))]),
                                         g.const(np.array([0], np.int64))])
    else:
        not_pad = g.node("Cast", [g.node("Not", [g.node("Equal", [ids, g.const(np.int64(spec["pad"]))])])],
                         to=int(i64))
        cumsum = g.node("CumSum", [not_pad, g.const(np.int64(1))])
        positions = g.node("Add", [g.node("Mul", [cumsum, not_pad]), g.const(np.int64(spec["pad"]))])
    x = g.node("Add", [g.node("Gather", [named("embeddings.word_embeddings.weight"), ids], axis=0),
                       g.node("Gather", [named("embeddings.position_embeddings.weight"), positions], axis=0)])
    if spec["types"]:
        x = g.node("Add", [x, g.node("Gather", [named("embeddings.token_type_embeddings.weight"),
                                                g.node("Mul", [ids, g.const(np.int64(0))])], axis=0)])
    x = layer_norm("embeddings.LayerNorm", x)

    # Additive mask [B, 1, 1, T] and, for MPNet, the relative bias [1, H, T, T].
    mask = g.node("Cast", [g.node("Unsqueeze", [g.node("Unsqueeze", ["attention_mask", g.const(
        np.array([1], np.int64))]), g.const(np.array([2], np.int64))])], to=int(pb.TensorProto.FLOAT))
    mask = g.node("Mul", [g.node("Sub", [g.const(np.float32(1)), mask]),
                          g.const(np.float32(np.finfo(np.float32).min))])
    bias = None
    if spec["rel"]:
        seq = g.node("Gather", [g.node("Shape", [ids]), g.const(np.int64(1))], axis=0)
        seq1 = g.node("Unsqueeze", [seq, g.const(np.array([0], np.int64))])
        zeros = g.const(np.array([0, 0], np.int64))
        pos = np.arange(spec["max_pos"])
        buckets = g.const(relative_bucket(pos[None, :] - pos[:, None]).astype(np.int64), "rp_bucket")
        cut = g.node("Slice", [buckets, zeros, g.node("Concat", [seq1, seq1], axis=0),
                               g.const(np.array([0, 1], np.int64))])
        values = g.node("Gather", [named("encoder.relative_attention_bias.weight"), cut], axis=0)  # [T,T,H]
        bias = g.node("Unsqueeze", [g.node("Transpose", [values], perm=[2, 0, 1]),
                                    g.const(np.array([0], np.int64))])
    dh = D // H
    split = g.const(np.array([0, 0, H, dh], np.int64))
    merge = g.const(np.array([0, 0, D], np.int64))
    for l in range(L):
        p = "%s%d." % (spec["layer"], l)
        heads = {}
        for part in ("q", "k", "v"):
            y = g.node("Reshape", [linear(p + names[part], x), split])
            heads[part] = g.node("Transpose", [y], perm=[0, 2, 1, 3] if part != "k" else [0, 2, 3, 1])
        scores = g.node("Div", [g.node("MatMul", [heads["q"], heads["k"]]), g.const(np.float32(math.sqrt(dh)))])
        if bias is not None:
            scores = g.node("Add", [scores, bias])
        probs = g.node("Softmax", [g.node("Add", [scores, mask])], axis=-1)
        # The probabilities as an extra output, so that ONNX Runtime's can be compared with the goldens.
        g.g.node.add(op_type="Identity", input=[probs], output=["attention_probs_%d" % l], name="/probs_%d" % l)
        po = g.g.output.add(name="attention_probs_%d" % l)
        po.type.tensor_type.elem_type = pb.TensorProto.FLOAT
        for dim in ("batch", H, "sequence", "sequence"):
            if isinstance(dim, str):
                po.type.tensor_type.shape.dim.add(dim_param=dim)
            else:
                po.type.tensor_type.shape.dim.add(dim_value=dim)
        context = g.node("Reshape", [g.node("Transpose", [g.node("MatMul", [probs, heads["v"]])],
                                            perm=[0, 2, 1, 3]), merge])
        x = layer_norm(p + names["ln1"], g.node("Add", [linear(p + names["o"], context), x]))
        inner = linear(p + names["i"], x)
        erf = g.node("Erf", [g.node("Div", [inner, g.const(np.float32(math.sqrt(2.0)))])])
        inner = g.node("Mul", [g.node("Mul", [inner, g.node("Add", [erf, g.const(np.float32(1))])]),
                               g.const(np.float32(0.5))])
        x = layer_norm(p + names["ln2"], g.node("Add", [linear(p + names["out"], inner), x]))
    g.g.node.add(op_type="Identity", input=[x], output=["last_hidden_state"], name="/output")
    if spec["pooler"]:
        first = g.node("Gather", [x, g.const(np.int64(0))], axis=1)
        pooled = g.node("Tanh", [g.node("Gemm", [first, named("pooler.dense.weight"), named("pooler.dense.bias")],
                                        transB=1)])
        g.g.node.add(op_type="Identity", input=[pooled], output=["pooler_output"], name="/pooler_output")
        po = g.g.output.add(name="pooler_output")
        po.type.tensor_type.elem_type = pb.TensorProto.FLOAT
        po.type.tensor_type.shape.dim.add(dim_param="batch")
        po.type.tensor_type.shape.dim.add(dim_value=D)
    with open(path, "wb") as f:
        f.write(g.model.SerializeToString())


def vocab(spec):
    if spec["positions"] == "padding":  # <s> <pad> </s> <unk> <mask> stand-ins
        specials = ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]"]
    else:
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return specials + ["w%d" % i for i in range(V - len(specials))]


def cases(spec, rng):
    """name -> ids. Real-looking: a [CLS]-like first id and [SEP]-like last id."""
    cls, sep = (0, 2) if spec["positions"] == "padding" else (2, 3)
    longest = spec["max_pos"] - (spec["pad"] + 1 if spec["positions"] == "padding" else 0)

    def seq(n):
        return [cls] + [int(v) for v in rng.integers(5, V, n - 2)] + [sep]

    out = {"short": seq(7), "medium": seq(23), "longest": seq(longest)}
    if spec["positions"] == "padding":
        # A padding id inside a sequence takes position padding_idx, and the count skips it (HF's rule).
        inner = seq(12)
        inner[5] = spec["pad"]
        out["inner_pad_id"] = inner
    return out


def round_list(a):
    return np.asarray(a, dtype=np.float64).tolist()


def main():
    global D, H, F, L, V
    out_root, bench = OUT, False
    if len(sys.argv) == 3 and sys.argv[1] == "--bench-shape":
        # all-MiniLM-L6-v2's shape, 512 tokens, for bench/compare_ort.sh; no goldens (timing only).
        out_root, bench = sys.argv[2], True
        D, H, F, L, V = 384, 12, 1536, 6, 30527
    elif len(sys.argv) != 1:
        sys.exit("usage: make_family_models.py [--bench-shape OUT_DIR]")
    pb = onnx_module()
    for index, (family, spec) in enumerate(family_specs().items()):
        rng = np.random.default_rng(20261201 + index)
        if bench:
            spec["max_pos"] = 512 + (spec["pad"] + 1 if spec["positions"] == "padding" else 0)
        d = os.path.join(out_root, family)
        os.makedirs(d, exist_ok=True)
        w = make_weights(spec, rng)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config_json(spec), f, indent=2, sort_keys=True)
            f.write("\n")
        stored = {spec["prefix"] + k: v for k, v in w.items()}
        if spec["prefix"]:  # a task model's head, which the loader ignores
            stored["lm_head.dense.weight"] = np.ones((D, D), np.float32)
            stored["lm_head.bias"] = np.zeros((V,), np.float32)
        write_safetensors(os.path.join(d, "model.safetensors"), stored)
        write_onnx(os.path.join(d, "model.onnx"), spec, w, pb)
        with open(os.path.join(d, "vocab.txt"), "w") as f:
            f.write("\n".join(vocab(spec)) + "\n")
        if bench:
            print("%s: %s" % (family, d))
            continue

        goldens = {"family": spec["model_type"], "cases": []}
        row_max = []
        floor_hidden, floor_attention = 0.0, [0.0] * L
        for name, ids in cases(spec, rng).items():
            hidden, attentions, pooled = forward(spec, w, ids)
            hidden32, attentions32, _ = forward(spec, w, ids, np.float32)
            floor_hidden = max(floor_hidden, float(np.abs(hidden32 - hidden).max()))
            floor_attention = [max(f, float(np.abs(a32 - a).max()))
                               for f, a32, a in zip(floor_attention, attentions32, attentions)]
            t = len(ids)
            queries = list(range(t)) if t <= 64 else [0, 1, t // 2, t - 2, t - 1]
            case = {"name": name, "input_ids": ids, "last_hidden_state": round_list(hidden),
                    "attention_queries": queries,
                    "attentions": [round_list(a[:, queries, :]) for a in attentions]}
            if pooled is not None:
                case["pooler_output"] = round_list(pooled)
            goldens["cases"].append(case)
            row_max.extend(np.concatenate([a.max(-1).ravel() for a in attentions]))
        goldens["float32_reference"] = {"hidden": floor_hidden, "attention_by_layer": floor_attention}
        if spec["rel"]:
            offsets = np.arange(-200, 201)
            goldens["relative_buckets"] = {"offsets_from": -200,
                                           "buckets": relative_bucket(offsets).astype(int).tolist()}
        with open(os.path.join(d, "goldens.json"), "w") as f:
            json.dump(goldens, f, separators=(",", ":"))
            f.write("\n")
        print("%s: median attention row max %.3f, %d%% of rows above 0.9; numpy float32 vs float64: hidden %.1e, "
              "attention by layer %s" % (family, float(np.median(row_max)),
                                         int(100 * np.mean(np.asarray(row_max) > 0.9)), floor_hidden,
                                         " ".join("%.1e" % f for f in floor_attention)))


if __name__ == "__main__":
    main()
