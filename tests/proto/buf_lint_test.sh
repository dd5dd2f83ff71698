#!/usr/bin/env bash
# `buf lint` (STANDARD rules, buf.yaml at the repository root) over proto/.
# Usage: buf_lint_test.sh SOURCE_DIR     (exit 77 = skipped: buf not installed and QKV_REQUIRE_BUF unset)
set -euo pipefail
src=$(cd "$1" && pwd)
buf="${QKV_NPM_DIR:-$src/build/npm}/node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
  [[ "${QKV_REQUIRE_BUF:-0}" == 1 ]] && { echo "FAIL: $buf missing (scripts/install_node_tools.sh)"; exit 1; }
  echo "SKIP: buf not installed (scripts/install_node_tools.sh)"; exit 77
fi
cd "$src"
"$buf" lint
echo "buf lint: clean"
