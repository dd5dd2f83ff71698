#!/usr/bin/env bash
# Acceptance tests of the server's limits against the real qkv-server binary over Debian's python3-grpcio:
#   flood     flood_client.py: the hostile flood of issue 8 (16 MiB texts, 8M empty inputs, a never-read
#             stream) with a GetModelInfo probe; prints answer times, probe latency and peak RSS.
#   fairness  fairness_client.py: one client saturating the queue vs. another's p99.
# Usage: limits_test.sh SOURCE_DIR BINARY_DIR flood|fairness     (exit 77 = skipped: python3-grpcio missing)
set -euo pipefail
src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
which=$3
server_bin="$bin/server/qkv-server"
work="$bin/tests/limits_$which"
source "$src/tests/server/python_stubs.sh"

require_python_modules "grpc google.protobuf"
[[ -x "$server_bin" ]] || { echo "FAIL: $server_bin is not built"; exit 1; }
rm -rf "$work"
generate_python_stubs "$src" "$work/py" --health
exec "$python" "$src/tests/server/${which}_client.py" "$server_bin" "$src/models/bert-tiny-random" "$work/py"
