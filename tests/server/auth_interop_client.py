#!/usr/bin/python3
"""Bearer-token interop: Debian's python3-grpcio against a qkv-server started with --auth_token_file.

Usage: auth_interop_client.py ADDRESS STUBS_DIR TOKEN
Every EncoderService method without metadata, with a wrong token, with a non-Bearer scheme and with the
right token; health without a token. Exits non-zero on the first mismatch.
"""
import sys

ADDRESS, STUBS, TOKEN = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
from qkv.v1 import encoder_pb2 as pb  # noqa: E402
from qkv.v1 import encoder_pb2_grpc as pb_grpc  # noqa: E402


def check(condition, what):
    if not condition:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


channel = grpc.insecure_channel(ADDRESS)
stub = pb_grpc.EncoderServiceStub(channel)
text_request = pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text="hello world"))])


def calls(metadata):
    """Each method's outcome as a status code."""
    out = {}
    for name, call in [
        ("GetModelInfo", lambda: stub.GetModelInfo(pb.GetModelInfoRequest(), metadata=metadata, timeout=30)),
        ("Tokenize", lambda: stub.Tokenize(pb.TokenizeRequest(text="hello"), metadata=metadata, timeout=30)),
        ("Encode", lambda: stub.Encode(text_request, metadata=metadata, timeout=30)),
        ("EncodeStream", lambda: list(stub.EncodeStream(
            iter([pb.EncodeStreamRequest(request_id="r1", request=text_request)]),
            metadata=metadata, timeout=30))),
    ]:
        try:
            result = call()
            if name == "EncodeStream":
                ok = len(result) == 1 and result[0].request_id == "r1" and result[0].code == 0 and len(result[0].response.outputs) == 1
                out[name] = grpc.StatusCode.OK if ok else "bad stream answer"
            else:
                out[name] = grpc.StatusCode.OK
        except grpc.RpcError as e:
            out[name] = e.code()
            if e.code() == grpc.StatusCode.UNAUTHENTICATED and TOKEN in (e.details() or ""):
                out[name] = "token echoed in the message"
    return out


def expect_all(metadata, code, what):
    wrong = {name: got for name, got in calls(metadata).items() if got != code}
    check(not wrong, f"{what}: {code.name} for every method" + (f"; not for {wrong}" if wrong else ""))


expect_all(None, grpc.StatusCode.UNAUTHENTICATED, "no token")
expect_all((("authorization", "Bearer " + TOKEN[:-1] + "x"),), grpc.StatusCode.UNAUTHENTICATED, "wrong token")
expect_all((("authorization", "Basic " + TOKEN),), grpc.StatusCode.UNAUTHENTICATED, "Basic scheme")
expect_all((("authorization", "Bearer " + TOKEN),), grpc.StatusCode.OK, "right token")

health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=30)
check(health.status == health_pb2.HealthCheckResponse.SERVING, "health answers without a token")
