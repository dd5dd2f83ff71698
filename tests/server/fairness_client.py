#!/usr/bin/python3
"""Acceptance: one client saturating the queue does not starve another, against the real qkv-server.

Usage: fairness_client.py SERVER_BIN MODEL_DIR STUBS_DIR [P99_BOUND_S]

The server listens on 0.0.0.0; client A dials 127.0.0.1 and client B 127.0.0.2, so the server sees two
clients (ClientKey is the peer address without its port). B sends small Encode calls one after another,
first alone (its baseline), then while A keeps 8 calls of 64 texts each in flight (A's backlog fills its
share of the queue; the rest of A's calls get RESOURCE_EXHAUSTED). Prints A's and B's p99 latencies and
fails when B's p99 under load exceeds the bound (default 2 s; A's own p99 is several times that).
"""
import subprocess
import sys
import threading
import time

SERVER_BIN, MODEL_DIR, STUBS = sys.argv[1], sys.argv[2], sys.argv[3]
P99_BOUND_S = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
from qkv.v1 import encoder_pb2 as pb  # noqa: E402
from qkv.v1 import encoder_pb2_grpc as pb_grpc  # noqa: E402

A_THREADS = 8
B_CALLS = 40


def p99(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(0.99 * len(values)))]


def stub(address):
    return pb_grpc.EncoderServiceStub(grpc.insecure_channel(address, options=[
        ("grpc.use_local_subchannel_pool", 1)]))


def main():
    proc = subprocess.Popen([SERVER_BIN, "--listen=0.0.0.0:0", "--http_listen=", "--model=" + MODEL_DIR, "--workers=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        if "listening on " not in line:
            sys.exit("FAIL: no startup line: " + line)
        port = line.split("listening on ")[1].split(" ")[0].rsplit(":", 1)[1]
        return run("127.0.0.1:" + port, "127.0.0.2:" + port)
    finally:
        proc.kill()
        proc.wait()


def run(address_a, address_b):
    b = stub(address_b)
    small = pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text="a small request from b"))])

    def b_latencies():
        out = []
        for _ in range(B_CALLS):
            t0 = time.monotonic()
            b.Encode(small, timeout=60)
            out.append(time.monotonic() - t0)
        return out

    b.Encode(small, timeout=60)  # connect and warm up
    baseline = b_latencies()

    text = " ".join(["the quick brown fox jumps over the lazy dog"] * 12)  # ~110 tokens
    big = pb.EncodeRequest(inputs=[pb.Input(text=pb.TextInput(text=text)) for _ in range(64)])
    stop = threading.Event()
    a_lat, a_codes = [], {}
    lock = threading.Lock()

    def flood():
        a = stub(address_a)
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                a.Encode(big, timeout=60)
                code = grpc.StatusCode.OK
            except grpc.RpcError as e:
                code = e.code()
            with lock:
                a_codes[code.name] = a_codes.get(code.name, 0) + 1
                if code == grpc.StatusCode.OK:
                    a_lat.append(time.monotonic() - t0)
                elif code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    pass
                else:
                    print("FAIL: client A got", code)
            if code != grpc.StatusCode.OK:
                time.sleep(0.005)

    threads = [threading.Thread(target=flood) for _ in range(A_THREADS)]
    for t in threads:
        t.start()
    time.sleep(2)  # let A fill its share of the queue
    loaded = b_latencies()
    stop.set()
    for t in threads:
        t.join()

    print("client B alone:      p99 %.3f s (max %.3f s) over %d calls" % (p99(baseline), max(baseline), B_CALLS))
    print("client B under load: p99 %.3f s (max %.3f s) over %d calls (bound %.1f s)" %
          (p99(loaded), max(loaded), B_CALLS, P99_BOUND_S))
    print("client A (flooding): p99 %.3f s over %d OK calls; answers %s" %
          (p99(a_lat) if a_lat else float("nan"), len(a_lat), a_codes))
    ok = p99(loaded) <= P99_BOUND_S and set(a_codes) <= {"OK", "RESOURCE_EXHAUSTED"}
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
