#!/usr/bin/env bash
# HTTP JSON API acceptance test against the real qkv-server (bundled model, bearer-token auth on):
# OpenAI SDK, TEI routes and proto JSON compared with gRPC answers, bad input, auth, a burst
# (tests/server/http_api_client.js). Needs node and build/npm's openai, @grpc/grpc-js, @grpc/proto-loader
# (scripts/install_node_tools.sh); exit 77 (skipped) without them unless QKV_REQUIRE_NPM=1.
# Usage: http_api_test.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
npm_dir="${QKV_NPM_DIR:-$src/build/npm}"
if [[ ! -d "$npm_dir/node_modules/openai" || ! -d "$npm_dir/node_modules/@grpc/grpc-js" ]]; then
  [[ "${QKV_REQUIRE_NPM:-0}" == 1 ]] && { echo "FAIL: npm packages missing in $npm_dir"; exit 1; }
  echo "skipped: npm packages missing in $npm_dir (scripts/install_node_tools.sh)"; exit 77
fi
work="$bin/tests/http_api"
rm -rf "$work" && mkdir -p "$work"
token="http-api-test-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "http-test:$token" >"$work/tokens"
"$bin/server/qkv-server" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --model="$src/models/bert-tiny-random" \
  --auth_token_file="$work/tokens" --max_receive_message_bytes=4194304 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
trap 'kill -9 $server_pid 2>/dev/null || true' EXIT
line=""
for _ in $(seq 1 600); do
  line=$(grep -m1 "listening on" "$work/server.out" || true)
  [[ -n "$line" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "FAIL: server exited"; cat "$work/server.err"; exit 1; }
  sleep 0.1
done
[[ -n "$line" ]] || { echo "FAIL: no startup line"; exit 1; }
grpc_addr=$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' <<<"$line")
http_addr=$(sed -n 's/.*; http \([^;]*\);.*/\1/p' <<<"$line")
echo "grpc $grpc_addr, http $http_addr"
for _ in $(seq 1 300); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$http_addr/readyz") == 200 ]] && break
  sleep 0.1
done
node "$src/tests/server/http_api_client.js" "$grpc_addr" "$http_addr" "$token" "$src/proto" "$npm_dir"
if grep -q "$token" "$work/server.out" "$work/server.err"; then echo "FAIL: the token appears in the logs"; exit 1; fi
kill -TERM "$server_pid"
wait "$server_pid" && rc=0 || rc=$?
trap - EXIT
[[ $rc -eq 0 ]] || { echo "FAIL: server exit code $rc after SIGTERM"; exit 1; }
