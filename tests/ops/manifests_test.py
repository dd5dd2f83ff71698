#!/usr/bin/python3
"""Acceptance (issue 9, point 5): the deployment files agree with the server.

Usage: manifests_test.py SOURCE_DIR BINARY_DIR STUBS_DIR WORK_DIR

Parses every YAML file under deploy/ (python3-yaml) and the Dockerfile, and checks them against what
`qkv-server --help` says (flag names, env twins, defaults):
- every QKV_* variable and --flag they set is a real flag, and every value parses (the server is started
  with the Deployment's environment, ports rebased, and must come up);
- container ports = the QKV_LISTEN / QKV_HTTP_LISTEN ports; probes hit /healthz and /readyz on the http port;
  scrape annotations name that port and /metrics; the Services target existing ports;
- terminationGracePeriodSeconds and compose stop_grace_period exceed preStop + QKV_GRACE_PERIOD;
- the Deployment meets the restricted Pod Security Standard; imagePullPolicy IfNotPresent; topology spread;
- HPA (CPU) and PDB exist and select the Deployment / its pods; the queue-depth variant targets a metric
  /metrics really exports; the model-PVC overlay mounts what QKV_MODEL names;
- compose runs several replicas with a health check; the Dockerfile's HEALTHCHECK, EXPOSE, OCI version label
  and the kustomize image tag carry the project version and ports; .dockerignore uses **/ patterns;
- scripts/healthcheck.sh passes against a live server on a non-default QKV_LISTEN port (plaintext and TLS)
  and fails against a port with no server.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SRC, BIN, STUBS, WORK = sys.argv[1:5]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ops_common import Server, check, value  # noqa: E402

SERVER = os.path.join(BIN, "server", "qkv-server")
CLIENT_DIR = os.path.join(BIN, "client")
MODEL = os.path.join(SRC, "models", "bert-tiny-random")
DEPLOY = os.path.join(SRC, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                   "projected", "secret"}


def duration_s(text):
    """'30s', '5m', '500ms', '1m30s' -> seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([0-9.]+)(h|ms|us|ns|m|s)", text)
    assert parts and "".join(a + b for a, b in parts) == text, "not a duration: %r" % text
    return sum(float(a) * units[b] for a, b in parts)


def server_flags():
    out = subprocess.run([SERVER, "--help"], capture_output=True, text=True, timeout=60).stdout
    flags = {name: default for name, default in re.findall(r"^  --(\w+)=(\S*)  \(env QKV_\w+\)$", out, re.M)}
    assert len(flags) >= 20, out
    return flags


def load_all(pattern):
    docs = {}
    for path in sorted(glob.glob(pattern, recursive=True)):
        with open(path) as f:
            docs[os.path.relpath(path, SRC)] = [d for d in yaml.safe_load_all(f) if d is not None]
    return docs


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def check_env_and_args(where, env, args, flags):
    for name in env:
        if name.startswith("QKV_"):
            check(name[4:].lower() in flags, "%s: %s is the twin of a real flag" % (where, name))
    for arg in args or []:
        m = re.match(r"--(\w+)(=|$)", arg)
        check(m is not None and m.group(1) in flags, "%s: argument %s is a real flag" % (where, arg))


def restricted(pod, where):
    psc = pod.get("securityContext", {})
    check(not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), where + ": no host namespaces")
    for v in pod.get("volumes", []):
        kinds = set(v) - {"name"}
        check(kinds <= ALLOWED_VOLUMES, "%s: volume %s is of an allowed type %s" % (where, v["name"], kinds))
    containers = pod.get("containers", []) + pod.get("initContainers", [])
    for c in containers:
        sc = c.get("securityContext", {})
        name = "%s: container %s" % (where, c["name"])
        check(sc.get("allowPrivilegeEscalation") is False, name + ": allowPrivilegeEscalation false")
        check(not sc.get("privileged", False), name + ": not privileged")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], name + ": capabilities drop ALL")
        check(not set(sc.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}, name + ": adds no capability")
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        check(non_root is True, name + ": runAsNonRoot")
        check(sc.get("runAsUser", psc.get("runAsUser", 1)) != 0, name + ": not uid 0")
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        check(seccomp in ("RuntimeDefault", "Localhost"), name + ": seccomp RuntimeDefault")
        check(all("hostPort" not in p for p in c.get("ports", [])), name + ": no hostPort")
        check(c.get("imagePullPolicy") == "IfNotPresent", name + ": imagePullPolicy IfNotPresent")


def check_kubernetes(flags, version):
    docs = load_all(os.path.join(K8S, "**", "*.yaml"))
    check(len(docs) >= 8, "parsed %d YAML files under deploy/k8s" % len(docs))
    objects = [(path, d) for path, ds in docs.items() for d in ds]
    base = load_all(os.path.join(K8S, "*.yaml"))
    kust = base.pop("deploy/k8s/kustomization.yaml")[0]
    check(sorted(kust["resources"]) == sorted(os.path.basename(p) for p in base),
          "the base kustomization lists every manifest beside it")
    check(any(i.get("newTag") == version for i in kust.get("images", [])), "kustomize image tag is %s" % version)
    for path, ds in docs.items():
        for d in ds:
            if d.get("kind") == "Kustomization":
                for r in d.get("resources", []) + [p["path"] for p in d.get("patches", []) if "path" in p]:
                    check(os.path.exists(os.path.join(os.path.dirname(os.path.join(SRC, path)), r)),
                          "%s: %s exists" % (path, r))

    kinds = {}
    for path, d in objects:
        if path.startswith("deploy/k8s/") and os.path.dirname(path) == "deploy/k8s":
            kinds.setdefault(d["kind"], []).append(d)
    (deployment,) = kinds["Deployment"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    check(deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), "Deployment selector matches its pods")
    spec = pod["spec"]
    restricted(spec, "Deployment")
    (container,) = spec["containers"]
    env = env_of(container)
    check_env_and_args("Deployment", env, container.get("args"), flags)
    grpc_port = port_of(env.get("QKV_LISTEN", flags["listen"]))
    http_port = port_of(env.get("QKV_HTTP_LISTEN", flags["http_listen"]))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(ports == {"grpc": grpc_port, "http": http_port}, "container ports %s = the listen ports" % ports)
    probes = {k: container[k] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    for kind, path in (("startupProbe", "/readyz"), ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = probes[kind]["httpGet"]
        check(get["path"] == path and ports.get(get["port"], get["port"]) == http_port,
              "%s: GET %s on the http port" % (kind, path))
    ready = probes["readinessProbe"]
    check(ready.get("failureThreshold", 3) >= 3 and ready.get("timeoutSeconds", 1) >= 2,
          "readiness does not flap: failureThreshold >= 3, timeoutSeconds >= 2")
    live = probes["livenessProbe"]
    check(live.get("failureThreshold", 3) * live.get("periodSeconds", 10) >= 30, "liveness tolerates >= 30 s")
    startup = probes["startupProbe"]
    check(startup["failureThreshold"] * startup.get("periodSeconds", 10) >= 120, "startup allows >= 2 min to load")
    grace = duration_s(env.get("QKV_GRACE_PERIOD", flags["grace_period"]))
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    pre_stop_s = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
    check(spec["terminationGracePeriodSeconds"] > pre_stop_s + grace,
          "terminationGracePeriodSeconds %d > preStop %gs + grace %gs" % (spec["terminationGracePeriodSeconds"],
                                                                        pre_stop_s, grace))
    age = duration_s(env.get("QKV_MAX_CONNECTION_AGE", flags["max_connection_age"]))
    check(0 < age <= 600, "max connection age %gs: clients reach new replicas within 10 min" % age)
    annotations = pod["metadata"].get("annotations", {})
    check(annotations.get("prometheus.io/scrape") == "true" and int(annotations["prometheus.io/port"]) == http_port
          and annotations.get("prometheus.io/path") == "/metrics", "scrape annotations: the http port, /metrics")
    spread = spec.get("topologySpreadConstraints", [])
    check({c["topologyKey"] for c in spread} >= {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
          and all(c["labelSelector"]["matchLabels"].items() <= labels.items() for c in spread),
          "topology spread over nodes and zones, selecting these pods")
    strategy = deployment["spec"]["strategy"]["rollingUpdate"]
    check(strategy["maxUnavailable"] == 0, "rolling update never drops below the desired replicas")

    for svc in kinds["Service"]:
        check(svc["spec"]["selector"].items() <= labels.items(), "Service %s selects the pods" % svc["metadata"]["name"])
        for p in svc["spec"]["ports"]:
            check(p["targetPort"] in ports or p["targetPort"] in ports.values(),
                  "Service %s port %s targets a container port" % (svc["metadata"]["name"], p["name"]))
    (hpa,) = kinds["HorizontalPodAutoscaler"]
    check(hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
          and hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"],
          "HPA scales the Deployment from >= 2 replicas")
    check(any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"]), "HPA on CPU")
    (pdb,) = kinds["PodDisruptionBudget"]
    check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
          and ("maxUnavailable" in pdb["spec"] or pdb["spec"].get("minAvailable", 0) < hpa["spec"]["minReplicas"]),
          "PDB selects the pods and still lets a node drain")

    variant = docs["deploy/k8s/variants/hpa-queue-depth/hpa-queue-depth.yaml"][0]
    metric = variant["spec"]["metrics"][0]["pods"]["metric"]["name"]
    rules = docs["deploy/k8s/variants/hpa-queue-depth/prometheus-adapter-rules.yaml"][0]["rules"]
    check(any(r["name"]["as"] == metric for r in rules), "queue-depth HPA reads the adapter's %s" % metric)
    overlay = docs["deploy/k8s/overlays/model-pvc/model-volume.yaml"][0]["spec"]["template"]["spec"]
    (oc,) = overlay["containers"]
    mount = oc["volumeMounts"][0]
    claim = overlay["volumes"][0]["persistentVolumeClaim"]["claimName"]
    pvc_names = [d["metadata"]["name"] for d in docs["deploy/k8s/overlays/model-pvc/pvc.yaml"]]
    check(env_of(oc)["QKV_MODEL"].startswith(mount["mountPath"] + "/") and mount["readOnly"] and claim in pvc_names,
          "model overlay: QKV_MODEL under the read-only mount of PVC %s" % claim)
    restricted({**spec, "volumes": overlay["volumes"]}, "Deployment with the model overlay")
    return env, grpc_port, http_port, grace, metric


def check_compose(flags, version, grace):
    (compose,) = load_all(os.path.join(DEPLOY, "compose.yaml"))["deploy/compose.yaml"]
    svc = compose["services"]["qkv"]
    check(svc["deploy"]["replicas"] >= 3, "compose runs %d replicas" % svc["deploy"]["replicas"])
    env = svc["environment"]
    check_env_and_args("compose", env, None, flags)
    published = {int(str(p).split(":")[-1]) for p in svc["ports"]}
    check(published == {port_of(env["QKV_LISTEN"]), port_of(env["QKV_HTTP_LISTEN"])}
          and all(":" not in str(p) for p in svc["ports"]), "compose publishes both listen ports on ephemeral host ports")
    check(duration_s(svc["stop_grace_period"]) > duration_s(env.get("QKV_GRACE_PERIOD", flags["grace_period"])),
          "compose stop_grace_period > QKV_GRACE_PERIOD")
    check("qkv-healthcheck" in " ".join(svc["healthcheck"]["test"]), "compose health check uses qkv-healthcheck")
    check(svc["image"].endswith(":" + version) and svc["build"]["args"]["QKV_VERSION"] == version,
          "compose image and build arg carry %s" % version)
    check(svc.get("cap_drop") == ["ALL"] and svc.get("read_only") is True, "compose: caps dropped, read-only root")


def check_docker(version, grpc_port, http_port):
    with open(os.path.join(SRC, "Dockerfile")) as f:
        text = f.read()
    check(re.search(r"^ARG QKV_VERSION=%s$" % re.escape(version), text, re.M) is not None,
          "Dockerfile ARG QKV_VERSION defaults to %s" % version)
    check('org.opencontainers.image.version="${QKV_VERSION}"' in text, "OCI version label")
    check(re.search(r"^EXPOSE %d %d$" % (grpc_port, http_port), text, re.M) is not None, "EXPOSE both ports")
    check(re.search(r'^HEALTHCHECK .*CMD \["/usr/bin/qkv-healthcheck"\]$', text, re.M) is not None
          and "COPY scripts/healthcheck.sh /usr/bin/qkv-healthcheck" in text, "HEALTHCHECK runs scripts/healthcheck.sh")
    with open(os.path.join(SRC, ".dockerignore")) as f:
        ignore = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    check("**/node_modules/" in ignore and "**/build*/" in ignore, ".dockerignore uses **/ for nested folders")


def run_healthcheck(env):
    full = {k: v for k, v in os.environ.items() if not k.startswith("QKV_")}
    full.update(env)
    full["PATH"] = CLIENT_DIR + ":" + full["PATH"]
    return subprocess.run(["sh", os.path.join(SRC, "scripts", "healthcheck.sh")], env=full,
                          capture_output=True, text=True, timeout=60).returncode


def check_healthcheck_and_env(deploy_env, metric):
    # The Deployment's environment (ports rebased to free ones) starts a real server.
    env = {k: v for k, v in deploy_env.items() if v is not None}
    env["QKV_LISTEN"] = "127.0.0.1:0"
    env["QKV_HTTP_LISTEN"] = "127.0.0.1:0"
    server = Server(SERVER, MODEL, WORK, "deployment-env", env=env)
    try:
        check(metric in {n for n, _ in server.scrape()}, "/metrics exports %s" % metric)
        port = server.grpc_address.rsplit(":", 1)[1]
        check(run_healthcheck({"QKV_LISTEN": "0.0.0.0:" + port}) == 0, "healthcheck.sh passes on QKV_LISTEN port %s" % port)
    finally:
        server.kill()
    check(run_healthcheck({"QKV_LISTEN": "0.0.0.0:" + port}) != 0, "healthcheck.sh fails with no server")
    if shutil.which("openssl") is None:
        print("note: openssl missing; TLS health check skipped")
        return
    tls = tempfile.mkdtemp(dir=WORK)
    cert, key = os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    server = Server(SERVER, MODEL, WORK, "tls", ["--tls_cert=" + cert, "--tls_key=" + key])
    try:
        listen = "0.0.0.0:" + server.grpc_address.rsplit(":", 1)[1]
        check(run_healthcheck({"QKV_LISTEN": listen, "QKV_TLS_CERT": cert, "QKV_TLS_KEY": key}) == 0,
              "healthcheck.sh speaks TLS when QKV_TLS_CERT is set")
        check(run_healthcheck({"QKV_LISTEN": listen}) != 0, "plaintext health check of a TLS server fails")
    finally:
        server.kill()


def main():
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        version = re.search(r"project\(qkv VERSION ([0-9.]+)", f.read()).group(1)
    flags = server_flags()
    env, grpc_port, http_port, grace, metric = check_kubernetes(flags, version)
    check_compose(flags, version, grace)
    check_docker(version, grpc_port, http_port)
    check_healthcheck_and_env(env, metric)
    print("deploy manifests acceptance: all checks passed")


if __name__ == "__main__":
    main()
