#!/usr/bin/env bash
# Runs one operations acceptance script (tests/ops/*.py) with /usr/bin/python3, after generating the qkv.v1
# Python stubs. Usage: ops_test.sh SCRIPT SOURCE_DIR BINARY_DIR   (exit 77 = skipped: a module is missing)
set -euo pipefail
script=$1
src=$(cd "$2" && pwd)
bin=$(cd "$3" && pwd)
name=$(basename "$script" .py)
work="$bin/tests/ops/$name"
source "$src/tests/server/python_stubs.sh"
require_python_modules "grpc google.protobuf prometheus_client yaml"
rm -rf "$work"
generate_python_stubs "$src" "$work/py" --health
exec "$python" "$src/tests/ops/$script" "$src" "$bin" "$work/py" "$work"
