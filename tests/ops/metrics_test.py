#!/usr/bin/python3
"""Acceptance (issue 9, points 1-3): metrics, request ids, access log, --help and --version, against the real
qkv-server and qkv binaries.

Usage: metrics_test.py SOURCE_DIR BINARY_DIR STUBS_DIR WORK_DIR

1. A known sequence of successes and failures (Encode, Tokenize, GetModelInfo, EncodeStream), then one
   scrape of /metrics parsed by python3-prometheus-client: the request counters, latency / queue / compute
   histograms (counts, cumulative buckets, +Inf), batch histograms (their sums equal the sequences and
   tokens that ran), input tokens, rejections by reason, in-flight / stream / queue gauges, model and build
   info, process CPU and memory. /healthz, /readyz, an unknown route, the HTTP route counter.
2. x-request-id: the client's id comes back in the initial metadata of a successful call (errors: trailing
   metadata, tests/server/observability_test.cc) and in the access log line (text and
   JSON formats); an unusable id is replaced by a fresh one; an EncodeStream's id tags each message's line.
3. qkv-server --help lists every flag of main.cc (as absl's --helpfull does) with its QKV_ twin and
   default; qkv-server --version, qkv --version, GetModelInfo.version and qkv_build_info all carry the
   CMake project version.
"""
import json
import os
import re
import subprocess
import sys

SRC, BIN, STUBS, WORK = sys.argv[1:5]
sys.path.insert(0, STUBS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402
from ops_common import Server, buckets, check, total, value  # noqa: E402
from qkv.v1 import encoder_pb2 as pb  # noqa: E402
from qkv.v1 import encoder_pb2_grpc as pb_grpc  # noqa: E402

SERVER = os.path.join(BIN, "server", "qkv-server")
CLIENT = os.path.join(BIN, "client", "qkv")
MODEL = os.path.join(SRC, "models", "bert-tiny-random")
HIST = ("qkv_request_duration_seconds", "qkv_request_queue_seconds", "qkv_request_compute_seconds")


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(qkv VERSION ([0-9.]+)", f.read()).group(1)


def ids_input(name, ids):
    return pb.Input(id=name, ids=pb.TokenIds(ids=ids))


def encode_request(seed):
    # 3 + 4 = 7 tokens, 2 sequences.
    return pb.EncodeRequest(inputs=[ids_input("a", [101, 2000 + seed, 102]), ids_input("b", [101, 2001, 2002, 102])])


def bad_request():
    return pb.EncodeRequest(inputs=[ids_input("bad", [101, 40000, 102])])  # id out of range


def access_lines(text):
    return [line for line in text.splitlines() if " info access " in line]


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split(" info access ", 1)[1].split())


def check_histogram(samples, name, method, count):
    got = value(samples, name + "_count", method=method)
    check(got == count, "%s{method=%s} count %d (got %g)" % (name, method, count, got))
    series = buckets(samples, name, method=method)
    check(len(series) > 2 and series[-1][0] == float("inf") and series[-1][1] == got,
          "%s{method=%s}: +Inf bucket equals the count" % (name, method))
    check(all(a[1] <= b[1] for a, b in zip(series, series[1:])), "%s{method=%s}: buckets cumulative" % (name, method))


def help_and_version(info_version):
    version = project_version()
    out = subprocess.run([SERVER, "--version"], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0 and out.stdout.strip() == "qkv-server " + version,
          "qkv-server --version prints 'qkv-server %s' (got %r, rc %d)" % (version, out.stdout, out.returncode))
    out = subprocess.run([CLIENT, "--version"], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0 and out.stdout.strip() == "qkv " + version, "qkv --version prints 'qkv %s'" % version)
    check(info_version == version, "GetModelInfo.version is %s (got %r)" % (version, info_version))

    helped = subprocess.run([SERVER, "--help"], capture_output=True, text=True, timeout=60)
    check(helped.returncode == 0, "qkv-server --help exits 0")
    rows = dict(re.findall(r"^  --(\w+)=.*\((env QKV_\w+|no env)\)$", helped.stdout, re.M))
    full = subprocess.run([SERVER, "--helpfull"], capture_output=True, text=True, timeout=60).stdout
    section = re.search(r"Flags from [^\n]*server/main\.cc:\n(.*?)(?:\n\n  Flags from|\Z)", full, re.S)
    check(section is not None, "--helpfull has a server/main.cc section")
    absl_flags = re.findall(r"^    --(\w+) ", section.group(1), re.M)
    check(len(absl_flags) >= 20, "main.cc defines %d flags" % len(absl_flags))
    missing = [f for f in absl_flags if f not in rows]
    check(not missing, "--help lists every main.cc flag (missing: %s)" % missing)
    no_env = [f for f, env in rows.items() if env != "env QKV_" + f.upper()]
    check(not no_env, "every flag in --help has its QKV_ twin (wrong: %s)" % no_env)
    for flag, default in (("http_listen", "0.0.0.0:8080"), ("listen", "0.0.0.0:50051"), ("max_connection_age", "5m"),
                          ("max_connection_age_grace", "30s"), ("log_format", "text"), ("grace_period", "30s")):
        check(re.search(r"^  --%s=%s  \(env QKV_%s\)$" % (flag, re.escape(default), flag.upper()), helped.stdout, re.M),
              "--help: --%s default %s" % (flag, default))
    print("figures: --help lists %d flags" % len(rows))
    return rows


def run_known_sequence(server):
    channel = grpc.insecure_channel(server.grpc_address)
    stub = pb_grpc.EncoderServiceStub(channel)
    info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=30)
    ids = {}
    for i in range(5):
        metadata = [("x-request-id", "ops-test-42")] if i == 0 else [("x-request-id", "has space")] if i == 1 else []
        _, call = stub.Encode.with_call(encode_request(i), metadata=metadata, timeout=30)
        ids[i] = dict(call.initial_metadata()).get("x-request-id")
    check(ids[0] == "ops-test-42", "x-request-id sent by the client comes back in the initial metadata")
    check(re.fullmatch(r"[0-9a-f]{32}", ids[1] or "") is not None,
          "an unusable x-request-id is replaced by a fresh 32-hex id (got %r)" % ids[1])
    check(all(re.fullmatch(r"[0-9a-f]{32}", ids[i] or "") for i in (2, 3, 4)) and len({ids[2], ids[3], ids[4]}) == 3,
          "without x-request-id each call gets its own fresh id")
    for _ in range(3):
        try:
            stub.Encode(bad_request(), timeout=30)
            check(False, "an out-of-range id is refused")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    for _ in range(2):
        stub.Tokenize(pb.TokenizeRequest(text="hello world"), timeout=30)
    messages = [pb.EncodeStreamRequest(request_id="m0", request=pb.EncodeRequest(inputs=[ids_input("x", [101, 7, 102])])),
                pb.EncodeStreamRequest(request_id="m1", request=bad_request()),
                pb.EncodeStreamRequest(request_id="m2", request=pb.EncodeRequest(inputs=[ids_input("y", [101, 8, 102])])),
                pb.EncodeStreamRequest(request=pb.EncodeRequest(inputs=[ids_input("z", [101, 9, 102])]))]
    responses = stub.EncodeStream(iter(messages), metadata=[("x-request-id", "stream-7")], timeout=30)
    codes = [r.code for r in responses]
    check(codes == [0, 3, 0, 0], "EncodeStream answers OK, INVALID_ARGUMENT, OK, OK (got %s)" % codes)
    check(dict(responses.initial_metadata()).get("x-request-id") == "stream-7",
          "EncodeStream returns its x-request-id in the initial metadata")
    channel.close()
    return info


def main():
    os.makedirs(WORK, exist_ok=True)
    server = Server(SERVER, MODEL, WORK, "metrics", ["--access_log", "--max_queue_delay=0"])
    try:
        info = run_known_sequence(server)
        s = server.scrape()
        expected = {("Encode", "OK"): 5, ("Encode", "INVALID_ARGUMENT"): 3, ("Tokenize", "OK"): 2,
                    ("GetModelInfo", "OK"): 1, ("EncodeStream", "OK"): 3, ("EncodeStream", "INVALID_ARGUMENT"): 1}
        for (method, code), n in expected.items():
            got = value(s, "qkv_requests_total", method=method, code=code)
            check(got == n, "qkv_requests_total{method=%s,code=%s} == %d (got %g)" % (method, code, n, got))
        check(total(s, "qkv_requests_total") == sum(expected.values()), "no other request was counted")
        check_histogram(s, "qkv_request_duration_seconds", "Encode", 8)
        check_histogram(s, "qkv_request_queue_seconds", "Encode", 5)
        check_histogram(s, "qkv_request_compute_seconds", "Encode", 5)
        check_histogram(s, "qkv_request_duration_seconds", "EncodeStream", 4)
        check_histogram(s, "qkv_request_compute_seconds", "EncodeStream", 3)
        check_histogram(s, "qkv_request_duration_seconds", "Tokenize", 2)
        check(value(s, "qkv_input_tokens_total", method="Encode") == 35, "qkv_input_tokens_total{Encode} == 5 x 7")
        check(value(s, "qkv_input_tokens_total", method="EncodeStream") == 9, "qkv_input_tokens_total{EncodeStream} == 9")
        check(value(s, "qkv_rejected_requests_total", reason="invalid_argument") == 4,
              "qkv_rejected_requests_total{reason=invalid_argument} == 4")
        batches = value(s, "qkv_batch_sequences_count")
        check(value(s, "qkv_batch_sequences_sum") == 13 and value(s, "qkv_batch_tokens_sum") == 44,
              "batch histograms: sums == the 13 sequences and 44 tokens that ran")
        check(6 <= batches <= 13 and value(s, "qkv_batch_tokens_count") == batches,
              "batch count %g within [6, 13] (sequential calls, none batched with a failed one)" % batches)
        check(buckets(s, "qkv_batch_sequences")[-1][1] == batches, "batch histogram +Inf == count")
        check(total(s, "qkv_inflight_requests") == 0 and value(s, "qkv_open_streams") == 0, "nothing in flight")
        check(value(s, "qkv_queue_tokens") == 0 and value(s, "qkv_queue_requests") == 0, "queue gauges empty")
        check(value(s, "qkv_model_info", model=info.model, format=info.format, precision=info.precision) == 1,
              "qkv_model_info{model=%s,format=%s,precision=%s} == 1" % (info.model, info.format, info.precision))
        check(value(s, "qkv_build_info", version=info.version) == 1, "qkv_build_info{version=%s} == 1" % info.version)
        check(value(s, "qkv_process_cpu_seconds_total") > 0, "process CPU seconds > 0")
        rss = value(s, "qkv_process_resident_memory_bytes")
        check(rss > 10e6, "resident memory %.1f MB" % (rss / 1e6))
        print("figures: Encode p-sum %.2f ms over 8 calls; %g batches; rss %.1f MB; cpu %.2f s" % (
            1000 * value(s, "qkv_request_duration_seconds_sum", method="Encode"), batches, rss / 1e6,
            value(s, "qkv_process_cpu_seconds_total")))

        status, headers, body = server.http_get("/healthz")
        check(status == 200 and body.strip() == "ok", "/healthz 200")
        status, headers, body = server.http_get("/readyz", {"x-request-id": "probe-1"})
        check(status == 200 and headers.get("x-request-id") == "probe-1", "/readyz 200 while serving, echoes x-request-id")
        status, _, _ = server.http_get("/no/such/route")
        check(status == 404, "unknown route 404")
        s = server.scrape()
        check(value(s, "qkv_http_requests_total", route="/metrics", code="200") == 1, "http counter: 1 earlier scrape")
        check(value(s, "qkv_http_requests_total", route="unmatched", code="404") == 1, "http counter: route unmatched")

        lines = access_lines(server.stdout())
        check(len(lines) == 15, "one access log line per request (15; got %d)" % len(lines))
        mine = [fields(l) for l in lines if "request_id=ops-test-42 " in l]
        check(len(mine) == 1, "the access log names request ops-test-42 once")
        f = mine[0]
        check(f["method"] == "Encode" and f["code"] == "OK" and f["sequences"] == "2" and f["tokens"] == "7"
              and f["peer"].startswith("ipv4:127.0.0.1:") and float(f["compute_ms"]) > 0
              and float(f["queue_ms"]) >= 0 and float(f["total_ms"]) >= float(f["compute_ms"]),
              "access line fields: %s" % f)
        ids = [fields(l)["request_id"] for l in lines if "method=EncodeStream" in l]
        check(sorted(ids) == ["stream-7/#3", "stream-7/m0", "stream-7/m1", "stream-7/m2"],
              "each EncodeStream message's line carries <stream id>/<message id> (%s)" % ids)
        bad = [fields(l) for l in lines if "code=INVALID_ARGUMENT" in l and "method=Encode " in l]
        check(len(bad) == 3 and all(b["compute_ms"] == "0.000" for b in bad), "refused requests: no compute")
        check(server.terminate() == 0, "SIGTERM: exit 0")
        check("drained" in server.stdout(), "drain logged")
    finally:
        server.kill()

    # JSON logs: every stdout line is one JSON object; the access line carries the client's id.
    server = Server(SERVER, MODEL, WORK, "json", ["--access_log", "--log_format=json"])
    try:
        stub = pb_grpc.EncoderServiceStub(grpc.insecure_channel(server.grpc_address))
        stub.Encode(encode_request(1), metadata=[("x-request-id", "json-1")], timeout=30)
        check(server.terminate() == 0, "json server: SIGTERM exit 0")
        records = [json.loads(line) for line in server.stdout().splitlines()]
        check(all({"time", "level", "logger"} <= set(r) for r in records), "json logs: %d lines, all objects" % len(records))
        access = [r for r in records if r["logger"] == "access"]
        check(len(access) == 1 and access[0]["request_id"] == "json-1" and access[0]["method"] == "Encode"
              and access[0]["code"] == "OK" and access[0]["tokens"] == 7 and access[0]["sequences"] == 2,
              "json access line: %s" % access)
        check(any("listening on" in r.get("msg", "") for r in records), "json startup line")
    finally:
        server.kill()

    help_and_version(info.version)
    print("ops metrics/request-id/help acceptance: all checks passed")


if __name__ == "__main__":
    main()
