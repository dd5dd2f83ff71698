#!/usr/bin/python3
"""Interop check: Debian's python3-grpcio (an independent gRPC implementation) against a running qkv-server.

Usage: interop_client.py ADDRESS STUBS_DIR GOLDENS_JSON
Calls GetModelInfo, Tokenize, Encode (text and ids; vectors and attention compared with the fixture's
float64 goldens), an INVALID_ARGUMENT error, invalid UTF-8 sent as raw bytes (unary and inside a
stream), EncodeStream and grpc.health.v1 Check. Exits non-zero on the first mismatch.
"""
import json
import sys

ADDRESS, STUBS, GOLDENS = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
import health_pb2  # noqa: E402  (generated flat: a grpc/health package would shadow grpcio's grpc)
import health_pb2_grpc  # noqa: E402
from qkv.v1 import encoder_pb2 as pb  # noqa: E402
from qkv.v1 import encoder_pb2_grpc as pb_grpc  # noqa: E402

TOLERANCE = 1e-4  # fp32 oneDNN vs the float64 reference


def check(condition, what):
    if not condition:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def max_abs_diff(flat, nested):
    ref = []

    def walk(x):
        if isinstance(x, list):
            for y in x:
                walk(y)
        else:
            ref.append(x)

    walk(nested)
    check(len(flat) == len(ref), "sizes %d == %d" % (len(flat), len(ref)))
    return max(abs(a - b) for a, b in zip(flat, ref))


def main():
    goldens = json.load(open(GOLDENS))
    case = goldens["cases"][0]  # a_single: one unpadded sentence
    golden = case["outputs"][0]
    channel = grpc.insecure_channel(ADDRESS)
    stub = pb_grpc.EncoderServiceStub(channel)

    info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=30)
    check(info.architecture.hidden_size == 128 and info.architecture.num_layers == 2, "GetModelInfo architecture")
    check(info.special_tokens.cls == 101 and info.has_pooler, "GetModelInfo special tokens / pooler")

    tok = stub.Tokenize(pb.TokenizeRequest(text=case["text"]), timeout=30)
    check(list(tok.ids) == case["input_ids"][0], "Tokenize ids equal the golden ids")
    check(list(tok.tokens) == case["tokens"][0], "Tokenize tokens equal the golden tokens")

    options = pb.EncodeOptions(pooling=pb.POOLING_MEAN, return_token_vectors=True,
                               attention=pb.AttentionOptions(layers=[0, -1]))
    request = pb.EncodeRequest(
        inputs=[pb.Input(id="text", text=pb.TextInput(text=case["text"])),
                pb.Input(id="ids", ids=pb.TokenIds(ids=case["input_ids"][0]))],
        options=options)
    response = stub.Encode(request, timeout=30)
    check(len(response.outputs) == 2 and response.model == "bert-tiny-random", "Encode returns 2 outputs")
    t = len(case["input_ids"][0])
    for out in response.outputs:
        check(list(out.token_vectors.shape) == [t, 128], "%s token_vectors shape [T, D]" % out.id)
        d = max_abs_diff(out.token_vectors.values, golden["last_hidden_state"])
        check(d < TOLERANCE, "%s last_hidden_state max |diff| %.2e < %g" % (out.id, d, TOLERANCE))
        d = max_abs_diff(out.pooled.values, golden["mean_pooled"])
        check(d < TOLERANCE, "%s mean pooled max |diff| %.2e" % (out.id, d))
        check([a.layer for a in out.attention] == [0, 1], "%s attention layers resolved" % out.id)
        probs = list(out.attention[0].probs.values) + list(out.attention[1].probs.values)
        d = max_abs_diff(probs, golden["attentions"])
        check(d < TOLERANCE, "%s attention max |diff| %.2e" % (out.id, d))
    check(response.outputs[0].token_vectors.values == response.outputs[1].token_vectors.values,
          "text and ids inputs give identical vectors")

    try:
        stub.Encode(pb.EncodeRequest(inputs=[pb.Input(ids=pb.TokenIds(ids=[101, 40000, 102]))]), timeout=30)
        check(False, "out-of-range id is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT for an out-of-range id")
        check("inputs[0].ids.ids[1]: id 40000 out of range [0, 30522)" in e.details(), "message: " + e.details())

    # Invalid UTF-8 in a string field, sent as raw bytes (Python protobuf refuses to build such a message):
    # serialize with a placeholder byte, then swap in 0xff (same length, so the framing stays valid).
    def with_bad_byte(message):
        data = message.SerializeToString()
        check(data.count(b"\x01") == 1, "one placeholder byte in the serialized request")
        return data.replace(b"\x01", b"\xff")

    raw_tokenize = channel.unary_unary("/qkv.v1.EncoderService/Tokenize",
                                       response_deserializer=pb.TokenizeResponse.FromString)
    try:
        raw_tokenize(with_bad_byte(pb.TokenizeRequest(text="ok", text_pair="bad \x01 byte")), timeout=30)
        check(False, "invalid UTF-8 is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT for invalid UTF-8")
        check(e.details() == "text_pair: not valid UTF-8", "message: " + e.details())

    raw_stream = channel.stream_stream("/qkv.v1.EncoderService/EncodeStream",
                                       response_deserializer=pb.EncodeStreamResponse.FromString)
    bad = pb.EncodeStreamRequest(request_id="bad", request=pb.EncodeRequest(
        inputs=[pb.Input(ids=pb.TokenIds(ids=[101, 102])), pb.Input(text=pb.TextInput(text="bad \x01 byte"))]))
    good = pb.EncodeStreamRequest(request_id="good", request=pb.EncodeRequest(
        inputs=[pb.Input(ids=pb.TokenIds(ids=[101, 102]))]))
    answers = list(raw_stream(iter([good.SerializeToString(), with_bad_byte(bad), good.SerializeToString()]),
                              timeout=30))
    check([(a.request_id, a.code) for a in answers] == [("good", 0), ("bad", 3), ("good", 0)],
          "EncodeStream answers an unparsable request in place and goes on")
    check(answers[1].message == "request.inputs[1].text.text: not valid UTF-8", "message: " + answers[1].message)

    def stream_requests():
        for i in range(5):
            yield pb.EncodeStreamRequest(request_id="r%d" % i, request=pb.EncodeRequest(
                inputs=[pb.Input(ids=pb.TokenIds(ids=[101, 2000 + i, 102]))]))

    answers = list(stub.EncodeStream(stream_requests(), timeout=30))
    check([a.request_id for a in answers] == ["r%d" % i for i in range(5)], "EncodeStream answers in order")
    check(all(a.code == 0 and a.response.outputs[0].ids[1] == 2000 + i for i, a in enumerate(answers)),
          "EncodeStream answers carry their results")

    health = health_pb2_grpc.HealthStub(channel)
    for service in ["", "qkv.v1.EncoderService"]:
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=30).status
        check(status == health_pb2.HealthCheckResponse.SERVING, "health %r SERVING" % service)
    print("python grpcio interop: all checks passed")


if __name__ == "__main__":
    main()
