#!/usr/bin/env bash
# Bearer-token interop: clients that are not qkv's own C++ against the real qkv-server started with
# --auth_token_file.
#   1. Debian's python3-grpcio: every EncoderService method without a token, with a wrong one and with the
#      right one (as `authorization` metadata), and health without a token.
#   2. buf curl (Go's gRPC stack) when installed: reflection refused without -H "Authorization: Bearer ...",
#      served with it.
# Usage: auth_interop_test.sh SOURCE_DIR BINARY_DIR     (exit 77 = skipped: python3-grpcio missing)
set -euo pipefail
src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
server_bin="$bin/server/qkv-server"
work="$bin/tests/auth_interop"
source "$src/tests/server/python_stubs.sh"

require_python_modules "grpc google.protobuf"
[[ -x "$server_bin" ]] || { echo "FAIL: $server_bin is not built"; exit 1; }

rm -rf "$work"
mkdir -p "$work"
generate_python_stubs "$src" "$work/py" --health
token="interop-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
(umask 077 && printf '# interop test\ninterop:%s\n' "$token" >"$work/tokens")

"$server_bin" --listen=127.0.0.1:0 --http_listen= --model="$src/models/bert-tiny-random" --auth_token_file="$work/tokens" \
  >"$work/server.out" 2>"$work/server.err" &
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

"$python" "$src/tests/server/auth_interop_client.py" "$address" "$work/py" "$token"

buf="${QKV_NPM_DIR:-$src/build/npm}/node_modules/.bin/buf"
if [[ -x "$buf" ]]; then
  curl_args=(--protocol grpc --http2-prior-knowledge)
  if "$buf" curl "${curl_args[@]}" --list-services "http://$address" >"$work/buf.out" 2>&1; then
    echo "FAIL: buf curl listed services without a token"; cat "$work/buf.out"; exit 1
  fi
  # buf words an UNAUTHENTICATED answer as its own "you are not authenticated" (a Buf registry hint).
  grep -qiE "unauthenticated|not authenticated" "$work/buf.out" \
    || { echo "FAIL: buf curl without token:"; cat "$work/buf.out"; exit 1; }
  services=$("$buf" curl "${curl_args[@]}" --reflect-header "Authorization: Bearer $token" --list-services \
    "http://$address")
  grep -qx "qkv.v1.EncoderService" <<<"$services" || { echo "FAIL: reflection with token: $services"; exit 1; }
  auth=(-H "Authorization: Bearer $token" --reflect-header "Authorization: Bearer $token")
  encoded=$("$buf" curl "${curl_args[@]}" "${auth[@]}" -d '{"inputs":[{"text":{"text":"hello world"}}]}' \
    "http://$address/qkv.v1.EncoderService/Encode")
  grep -q '"hello"' <<<"$encoded" || { echo "FAIL: buf curl Encode with token: $encoded"; exit 1; }
  echo "ok: buf curl: reflection UNAUTHENTICATED without a token; reflection and Encode served with it"
elif [[ "${QKV_REQUIRE_BUF:-0}" == 1 ]]; then
  echo "FAIL: $buf missing (scripts/install_node_tools.sh installs it)"; exit 1
else
  echo "note: buf not installed (scripts/install_node_tools.sh); reflection check skipped"
fi

if grep -qF "$token" "$work/server.out" "$work/server.err"; then
  echo "FAIL: the token appears in the server's output"; exit 1
fi
echo "ok: the token appears nowhere in the server's output"
kill -TERM "$server_pid"
wait "$server_pid" && rc=0 || rc=$?
trap - EXIT
[[ $rc -eq 0 ]] || { echo "FAIL: server exit code $rc after SIGTERM"; cat "$work/server.err"; exit 1; }
echo "auth interop: all checks passed"
