#!/usr/bin/env bash
# Installs the npm tools the tests use into build/npm, pinned:
#   buf: proto lint, and `buf curl` as an independent gRPC client through server reflection;
#   @anush008/tokenizers: Hugging Face tokenizers (the Rust library, native Linux x64 build), the reference
#     for token ids in the tokenizer parity test and in scripts/unicode/generate_tables.py;
#   openai (the official OpenAI SDK), @grpc/grpc-js + @grpc/proto-loader: independent clients of the HTTP
#     JSON API and of gRPC in tests/server/http_api_test.sh.
# node and npm come from scripts/install_deps.sh.
# Usage: scripts/install_node_tools.sh [PREFIX]      (default PREFIX: build/npm)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-build/npm}"
packages=(@bufbuild/buf@1.75.0 @anush008/tokenizers@0.6.0 openai@7.59.0 @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1)
missing=()
for package in "${packages[@]}"; do
  name=${package%@*}
  version=${package##*@}
  installed=$(node -p 'require(require("path").resolve(process.argv[1])).version' \
    "$prefix/node_modules/$name/package.json" 2>/dev/null || true)
  [[ "$installed" == "$version" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
mkdir -p "$prefix"
npm install --no-audit --no-fund --loglevel=error --prefix "$prefix" "${missing[@]}"
