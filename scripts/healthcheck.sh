#!/bin/sh
# Container health check of qkv-server (the image's HEALTHCHECK; also usable as a Kubernetes exec probe):
# grpc.health.v1 Check of qkv.v1.EncoderService through the qkv CLI, exit 0 only when SERVING.
# Reads the server's own settings, so it follows them without edits:
#   QKV_LISTEN                 the port (and the host, unless it is a wildcard) to dial; default 0.0.0.0:50051
#   QKV_TLS_CERT               set: dial with TLS, verifying against QKV_HEALTHCHECK_TLS_CA (default: this
#                              certificate itself, right for a self-signed one) for the name
#                              QKV_HEALTHCHECK_TLS_SERVER_NAME (default localhost)
#   QKV_TLS_CLIENT_CA          set (mTLS): present QKV_HEALTHCHECK_TLS_CERT / QKV_HEALTHCHECK_TLS_KEY
#                              (required then: a client certificate that CA signed)
# grpc.health.v1 needs no auth token even when the server requires one for the API.
set -eu
listen=${QKV_LISTEN:-0.0.0.0:50051}
port=${listen##*:}
host=${listen%:*}
case "$host" in
  "" | 0.0.0.0 | "[::]" | "::" | "*") host=127.0.0.1 ;;
esac
set -- health --quiet --timeout=3s --service=qkv.v1.EncoderService --target="$host:$port"
if [ -n "${QKV_TLS_CERT:-}" ]; then
  set -- "$@" --tls-ca="${QKV_HEALTHCHECK_TLS_CA:-$QKV_TLS_CERT}" \
    --tls-server-name="${QKV_HEALTHCHECK_TLS_SERVER_NAME:-localhost}"
  if [ -n "${QKV_TLS_CLIENT_CA:-}" ]; then
    set -- "$@" --tls-cert="${QKV_HEALTHCHECK_TLS_CERT:?mTLS: set QKV_HEALTHCHECK_TLS_CERT}" \
      --tls-key="${QKV_HEALTHCHECK_TLS_KEY:?mTLS: set QKV_HEALTHCHECK_TLS_KEY}"
  fi
fi
exec "${QKV_CLI:-qkv}" "$@"
