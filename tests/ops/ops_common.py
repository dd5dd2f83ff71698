"""Shared pieces of the operations acceptance scripts (tests/ops/*.py): run a real qkv-server, scrape its
/metrics and parse the exposition with python3-prometheus-client's parser, which rejects malformed text.

Every helper fails loudly (AssertionError / RuntimeError with a message) and waits with a bound.
"""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def check(condition, what):
    if not condition:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


class Server:
    """A qkv-server child process. Its stdout and stderr go to files under `work`."""

    def __init__(self, binary, model, work, name, extra_args=(), env=None):
        self.name = name
        self.out_path = os.path.join(work, name + ".out")
        self.err_path = os.path.join(work, name + ".err")
        args = [binary, "--model=" + model, "--listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"]
        args += list(extra_args)
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("QKV_")}
        child_env.update(env or {})
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, env=child_env)
        self.grpc_address, self.http_address = self._wait_startup(timeout_s=120)

    def _wait_startup(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with open(self.out_path) as f:
                m = re.search(r"listening on (\S+) \(.*?\); http (\S+);", f.read())
            if m:
                return m.group(1), m.group(2)
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d during startup: %s" % (self.name, self.proc.returncode,
                                                                             self.stderr()))
            time.sleep(0.05)
        raise RuntimeError("%s printed no startup line within %ds" % (self.name, timeout_s))

    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def http_get(self, path, headers=None):
        """(status, headers, body) of GET http://<http address><path>."""
        request = urllib.request.Request("http://" + self.http_address + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def scrape(self):
        """{(name, frozenset(labels.items())): value} for every sample, strictly parsed."""
        status, headers, body = self.http_get("/metrics")
        assert status == 200, "%s /metrics answered %d" % (self.name, status)
        assert headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), headers
        samples = {}
        for family in text_string_to_metric_families(body):
            for s in family.samples:
                key = (s.name, frozenset(s.labels.items()))
                assert key not in samples, "duplicate sample %s" % (key,)
                samples[key] = s.value
        return samples

    def terminate(self, timeout_s=90):
        """SIGTERM, then the exit code (SIGKILL and an error past `timeout_s`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("%s did not exit within %ds of SIGTERM" % (self.name, timeout_s))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def value(samples, name, **labels):
    """The sample's value, 0 when absent."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name, **labels):
    """Sum over the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def buckets(samples, name, **labels):
    """[(le, cumulative count)] of a histogram series, sorted by le."""
    out = []
    for (n, ls), v in samples.items():
        d = dict(ls)
        if n != name + "_bucket" or "le" not in d:
            continue
        if all(d.get(k) == w for k, w in labels.items()):
            out.append((float(d["le"]), v))
    return sorted(out)
