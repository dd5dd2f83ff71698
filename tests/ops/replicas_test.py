#!/usr/bin/python3
"""Acceptance (issue 9, point 4): scaling out and in with the real binaries.

Usage: replicas_test.py SOURCE_DIR BINARY_DIR STUBS_DIR WORK_DIR

A. Three qkv-server replicas on loopback; `qkv bench --target ipv4:A,B,C` (EncoderClient: round_robin,
   retries UNAVAILABLE) sends 300 Encode requests at a steady rate. Once replica C has served 20, it gets
   SIGTERM and drains. Every request must succeed; every replica must have served some (A and B from their
   /metrics, C from its last scrape before it stopped); the access logs of the three add up to exactly 300
   successful Encodes (nothing lost, nothing served twice).
B. A long-lived client behind a connection-level balancer (a TCP proxy sending each new connection to the
   newest backend, like a Kubernetes ClusterIP Service): with --max_connection_age=1s, the client's
   connection is recycled and it reaches a replica started after it connected.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

SRC, BIN, STUBS, WORK = sys.argv[1:5]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ops_common import Server, check, value  # noqa: E402

SERVER = os.path.join(BIN, "server", "qkv-server")
CLIENT = os.path.join(BIN, "client", "qkv")
MODEL = os.path.join(SRC, "models", "bert-tiny-random")


def served(server):
    return value(server.scrape(), "qkv_requests_total", method="Encode", code="OK")


def wait_for(what, predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out after %ds waiting for %s" % (timeout_s, what))


def bench(target, *args):
    cmd = [CLIENT, "bench", "--target=" + target, "--json", "--warmup=0", "--retries=4", "--seq-len=16",
           "--timeout=30s"] + list(args)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def bench_result(proc, timeout_s=180):
    out, err = proc.communicate(timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError("qkv bench exited %d: %s" % (proc.returncode, err))
    return json.loads(out)


def access_ok_lines(server):
    return sum(1 for line in server.stdout().splitlines()
               if " info access " in line and "method=Encode " in line and "code=OK " in line)


class Proxy:
    """A TCP proxy on 127.0.0.1: each new connection goes to the newest backend."""

    def __init__(self):
        self.backends = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            host, port = self.backends[-1].rsplit(":", 1)
            self.connections += 1
            try:
                upstream = socket.create_connection((host, int(port)), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def scale_in():
    servers = [Server(SERVER, MODEL, WORK, "replica-" + n, ["--access_log", "--grace_period=20s"]) for n in "abc"]
    a, b, c = servers
    try:
        target = "ipv4:" + ",".join(s.grpc_address for s in servers)
        start = time.monotonic()
        proc = bench(target, "--requests=300", "--concurrency=4", "--rate=60")
        wait_for("replica c to serve 20 requests", lambda: served(c) >= 20, 120)
        c_served = served(c)
        stopped_at = time.monotonic() - start
        check(c.terminate() == 0, "replica c drained and exited 0 after SIGTERM mid-run (at %.1fs)" % stopped_at)
        result = bench_result(proc)
        # gRPC cancels a call that reaches a server after its GOAWAY (CANCELLED, not retried): the replica's
        # --drain_notice (health NOT_SERVING, which the client's round_robin watches) must keep every call
        # away from it by then.
        codes = result.get("status_codes") or {}
        check(result["requests"]["succeeded"] == 300 and result["requests"]["failed"] == 0,
              "300 requests, all succeeded across the stop (bench: %s)" % codes)
        per = {"a": served(a), "b": served(b), "c (before its stop)": c_served}
        print("figures: served per replica:", per, "; p99 %.2f ms" % result["latency_ms"]["p99"])
        check(all(n > 0 for n in per.values()), "every replica served some")
        logged = {s.name: access_ok_lines(s) for s in servers}
        check(sum(logged.values()) == 300, "access logs add up to exactly 300 successful Encodes: %s" % logged)
        check(logged["replica-a"] == per["a"] and logged["replica-b"] == per["b"], "/metrics agree with the access logs")
        refused = sum(1 for line in c.stdout().splitlines() if "method=Encode " in line and "code=UNAVAILABLE " in line)
        print("figures: replica c answered %d Encodes UNAVAILABLE while draining (retried elsewhere)" % refused)
        for s in (a, b):
            check(s.terminate() == 0, "%s exits 0" % s.name)
    finally:
        for s in servers:
            s.kill()


def connection_age():
    proxy = Proxy()
    age = ["--max_connection_age=1s", "--max_connection_age_grace=1s", "--access_log"]
    old = Server(SERVER, MODEL, WORK, "aged-old", age)
    new = None
    try:
        proxy.backends.append(old.grpc_address)
        proc = bench(proxy.address, "--duration=8s", "--concurrency=2", "--rate=40")
        wait_for("the long-lived client to reach the first replica", lambda: served(old) >= 10, 60)
        new = Server(SERVER, MODEL, WORK, "aged-new", age)
        proxy.backends.append(new.grpc_address)
        result = bench_result(proc)
        new_served = served(new)
        print("figures: old replica %d, new replica %d, proxy connections %d, bench %s" % (
            served(old), new_served, proxy.connections, result.get("status_codes")))
        check(result["requests"]["failed"] == 0, "no request failed while connections were recycled")
        check(new_served > 0, "the long-lived client reached the replica started after it connected")
        check(proxy.connections >= 2, "the client reconnected (GOAWAY at max connection age)")
    finally:
        proxy.close()
        for s in (old, new):
            if s is not None:
                s.kill()


def main():
    os.makedirs(WORK, exist_ok=True)
    scale_in()
    connection_age()
    print("ops replicas acceptance: all checks passed")


if __name__ == "__main__":
    main()
