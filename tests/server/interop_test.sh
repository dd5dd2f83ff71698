#!/usr/bin/env bash
# Interop test: independent gRPC implementations against the real qkv-server binary.
#   1. Debian's python3-grpcio (stubs generated here with protoc + grpc_python_plugin): GetModelInfo,
#      Tokenize, Encode (compared with the fixture's float64 goldens), an error, EncodeStream, health.
#   2. buf curl through server reflection (no .proto given): --list-services, health Check, Encode in JSON.
#      Uses build/npm's buf (scripts/install_node_tools.sh); skipped without it unless QKV_REQUIRE_BUF=1.
# Usage: interop_test.sh SOURCE_DIR BINARY_DIR     (exit 77 = skipped: python3-grpcio missing)
set -euo pipefail
src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
server_bin="$bin/server/qkv-server"
work="$bin/tests/interop"
source "$src/tests/server/python_stubs.sh"

require_python_modules "grpc google.protobuf"
[[ -x "$server_bin" ]] || { echo "FAIL: $server_bin is not built"; exit 1; }

rm -rf "$work"
generate_python_stubs "$src" "$work/py" --health

"$server_bin" --listen=127.0.0.1:0 --http_listen= --model="$src/models/bert-tiny-random" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
cleanup() { kill -9 "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT
address=""
for _ in $(seq 1 600); do
  address=$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' "$work/server.out" | head -1)
  [[ -n "$address" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "FAIL: server exited"; cat "$work/server.err"; exit 1; }
  sleep 0.1
done
[[ -n "$address" ]] || { echo "FAIL: no startup line"; exit 1; }
echo "server at $address"

"$python" "$src/tests/server/interop_client.py" "$address" "$work/py" "$src/models/bert-tiny-random/goldens.json"

buf="${QKV_NPM_DIR:-$src/build/npm}/node_modules/.bin/buf"
if [[ -x "$buf" ]]; then
  curl_args=(--protocol grpc --http2-prior-knowledge)
  services=$("$buf" curl "${curl_args[@]}" --list-services "http://$address")
  echo "$services"
  grep -qx "qkv.v1.EncoderService" <<<"$services" || { echo "FAIL: reflection lacks qkv.v1.EncoderService"; exit 1; }
  grep -qx "grpc.health.v1.Health" <<<"$services" || { echo "FAIL: reflection lacks grpc.health.v1.Health"; exit 1; }
  health=$("$buf" curl "${curl_args[@]}" -d '{"service":"qkv.v1.EncoderService"}' \
    "http://$address/grpc.health.v1.Health/Check")
  grep -q '"SERVING"' <<<"$health" || { echo "FAIL: buf curl health: $health"; exit 1; }
  encoded=$("$buf" curl "${curl_args[@]}" -d '{"inputs":[{"id":"a","text":{"text":"hello world"}}]}' \
    "http://$address/qkv.v1.EncoderService/Encode")
  grep -q '"tokens": \[' <<<"$encoded" && grep -q '"hello"' <<<"$encoded" \
    || { echo "FAIL: buf curl Encode: $encoded"; exit 1; }
  echo "ok: buf curl via reflection (list-services, health Check, Encode)"
elif [[ "${QKV_REQUIRE_BUF:-0}" == 1 ]]; then
  echo "FAIL: $buf missing (scripts/install_node_tools.sh installs it)"; exit 1
else
  echo "note: buf not installed (scripts/install_node_tools.sh); reflection check skipped"
fi

kill -TERM "$server_pid"
wait "$server_pid" && rc=0 || rc=$?
trap - EXIT
[[ $rc -eq 0 ]] || { echo "FAIL: server exit code $rc after SIGTERM"; cat "$work/server.err"; exit 1; }
echo "interop: all checks passed"
