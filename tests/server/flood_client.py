#!/usr/bin/python3
"""Acceptance: a hostile flood against the real qkv-server, over Debian's python3-grpcio.

Usage: flood_client.py SERVER_BIN MODEL_DIR STUBS_DIR [RSS_BOUND_MIB]

Starts qkv-server with default limits on 127.0.0.1:0, then at once:
  - four Tokenize calls, each with a 16 MiB text of 100-character words;
  - four Encode calls, each with a 16 MiB text and TRUNCATION_TRUNCATE;
  - one Encode with 8 million empty Inputs (raw bytes: 16 MB);
  - one EncodeStream that sends 64 requests asking for every layer's attention of 4 long texts each and
    never reads an answer;
  - two Tokenize calls with texts just under the receive limit (refused by --max_text_bytes);
  - and, on another connection, a GetModelInfo probe every 20 ms from before the flood to its end.
Each hostile call runs on its own connection. Checks: every unary call is answered within 20 s with OK,
INVALID_ARGUMENT or RESOURCE_EXHAUSTED; the probe never waits over 1 s; a small Encode still answers in
under 5 s while the stream sits on its unread answers; peak RSS (VmHWM) stays under the bound (1 GiB);
the server is SERVING afterwards.
Prints the figures.
"""
import os
import random
import subprocess
import sys
import threading
import time

SERVER_BIN, MODEL_DIR, STUBS = sys.argv[1], sys.argv[2], sys.argv[3]
RSS_BOUND_MIB = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
from qkv.v1 import encoder_pb2 as pb  # noqa: E402
from qkv.v1 import encoder_pb2_grpc as pb_grpc  # noqa: E402

ANSWER_BOUND_S = 20.0
PROBE_BOUND_S = 1.0
ALLOWED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
failures = []


def fail(what):
    print("FAIL:", what)
    failures.append(what)


def channel(address):
    # A connection of its own (no shared subchannel), no client-side size limits: the server must cope.
    return grpc.insecure_channel(address, options=[
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.max_send_message_length", -1),
        ("grpc.max_receive_message_length", -1),
    ])


def words_text(nbytes, seed):
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    word = "".join(rng.choice(letters) for _ in range(99)) + " "
    return (word * (nbytes // 100 + 1))[:nbytes]


def start_server():
    proc = subprocess.Popen([SERVER_BIN, "--listen=127.0.0.1:0", "--http_listen=", "--model=" + MODEL_DIR],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "listening on " not in line:
        proc.kill()
        sys.exit("FAIL: no startup line: " + line)
    address = line.split("listening on ")[1].split(" ")[0]
    return proc, address


def vm_hwm_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def main():
    proc, address = start_server()
    try:
        run(proc, address)
    finally:
        proc.kill()
        proc.wait()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("PASS")


def run(proc, address):
    print("server at", address, "pid", proc.pid)
    info = pb_grpc.EncoderServiceStub(channel(address)).GetModelInfo(pb.GetModelInfoRequest(), timeout=30)
    layers = info.architecture.num_layers
    print("limits:", str(info.limits).replace("\n", " "))
    rss_idle = vm_hwm_mib(proc.pid)

    big = 16 << 20
    texts = [words_text(big, seed) for seed in range(4)]
    long_text = " ".join(["hello world"] * 250)
    results = {}  # name -> (code, seconds, message)
    lock = threading.Lock()

    # Serialized up front, so that the client does no heavy work while it measures.
    flood = []
    for i in range(4):
        flood.append(("tokenize16MiB[%d]" % i, "Tokenize",
                      pb.TokenizeRequest(text=texts[i]).SerializeToString()))
    for i in range(4):
        req = pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text=texts[i]))],
                               options=pb.EncodeOptions(truncation=pb.TRUNCATION_TRUNCATE))
        flood.append(("encode16MiB[%d]" % i, "Encode", req.SerializeToString()))
    flood.append(("encode8MEmptyInputs", "Encode", b"\x0a\x00" * 8_000_000))
    # The same texts just under the receive limit: refused by --max_text_bytes before parsing.
    for i in range(2):
        flood.append(("tokenize16MiB-1KiB[%d]" % i, "Tokenize",
                      pb.TokenizeRequest(text=texts[i][:big - 1024]).SerializeToString()))

    # The probe, on its own connection, from before the flood until every call is answered.
    probe_stub = pb_grpc.EncoderServiceStub(channel(address))
    probe_stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=30)  # connected before measuring
    probe = {"max": 0.0, "count": 0}
    stop_probe = threading.Event()

    def probe_loop():
        while not stop_probe.is_set():
            t0 = time.monotonic()
            try:
                probe_stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=30)
            except grpc.RpcError as e:
                fail("probe failed: %s" % e.code())
            probe["max"] = max(probe["max"], time.monotonic() - t0)
            probe["count"] += 1
            time.sleep(0.02)

    prober = threading.Thread(target=probe_loop)
    prober.start()
    start = time.monotonic()

    def record(name, fut):
        def done(f):
            code = f.code()
            with lock:
                results[name] = (code, time.monotonic() - start, (f.details() or "")[:120])
        fut.add_done_callback(done)

    calls = []
    for name, method, payload in flood:
        raw = channel(address).unary_unary("/qkv.v1.EncoderService/" + method, request_serializer=None,
                                           response_deserializer=None)
        fut = raw.future(payload, timeout=60)
        record(name, fut)
        calls.append(fut)

    # The stream that never reads: 64 requests of 4 texts of ~500 tokens, every layer's attention.
    stream_req = pb.EncodeRequest(
        inputs=[pb.Input(text=pb.TextInput(text=long_text)) for _ in range(4)],
        options=pb.EncodeOptions(truncation=pb.TRUNCATION_TRUNCATE,
                                 attention=pb.AttentionOptions(layers=list(range(layers)))))
    def stream_requests():
        for i in range(64):
            yield pb.EncodeStreamRequest(request_id="s%d" % i, request=stream_req)

    stream_stub = pb_grpc.EncoderServiceStub(channel(address))
    stream_call = stream_stub.EncodeStream(stream_requests(), timeout=120)  # never iterated

    while time.monotonic() - start < ANSWER_BOUND_S:
        with lock:
            if len(results) == len(calls):
                break
        time.sleep(0.05)
    time.sleep(2)  # the stream keeps pushing meanwhile
    stop_probe.set()
    prober.join()
    probe_max, probes = probe["max"], probe["count"]

    for name in sorted(results):
        code, seconds, details = results[name]
        print("  %-22s %-20s %6.2f s  %s" % (name, code.name, seconds, details))
        if code not in ALLOWED:
            fail("%s answered %s" % (name, code))
        if seconds > ANSWER_BOUND_S:
            fail("%s took %.1f s > %.0f s" % (name, seconds, ANSWER_BOUND_S))
    if len(results) != len(calls):
        fail("%d of %d calls unanswered after %.0f s" % (len(calls) - len(results), len(calls), ANSWER_BOUND_S))

    # Small work still flows while the stream sits on its unread answers.
    small = pb_grpc.EncoderServiceStub(channel(address))
    t0 = time.monotonic()
    small.Encode(pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text="still serving"))]), timeout=30)
    small_s = time.monotonic() - t0
    rss_peak = vm_hwm_mib(proc.pid)
    if small_s > PROBE_BOUND_S * 5:
        fail("a small Encode during the never-read stream took %.2f s" % small_s)
    print("figures: probe max latency %.3f s over %d probes; small Encode after the flood %.3f s" %
          (probe_max, probes, small_s))
    print("figures: VmHWM %.0f MiB at idle, %.0f MiB peak (bound %d MiB)" % (rss_idle, rss_peak, RSS_BOUND_MIB))
    if probe_max > PROBE_BOUND_S:
        fail("probe waited %.3f s > %.1f s" % (probe_max, PROBE_BOUND_S))
    if rss_peak > RSS_BOUND_MIB:
        fail("peak RSS %.0f MiB > %d MiB" % (rss_peak, RSS_BOUND_MIB))

    stream_call.cancel()
    health = health_pb2_grpc.HealthStub(channel(address))
    status = health.Check(health_pb2.HealthCheckRequest(service="qkv.v1.EncoderService"), timeout=10).status
    print("health after the flood:", health_pb2.HealthCheckResponse.ServingStatus.Name(status))
    if status != health_pb2.HealthCheckResponse.SERVING:
        fail("not SERVING after the flood")


if __name__ == "__main__":
    main()
