#!/usr/bin/env bash
# Sets up everything and starts qkv-server on the bundled default model (models/bert-tiny-random), listening on
# 0.0.0.0:50051. Extra arguments go to the server, e.g.  scripts/run.sh --model /path/to/hf-model-dir
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.cache/ccache}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)" --target qkv-server qkv
exec build/server/qkv-server --model "${QKV_MODEL:-$PWD/models/bert-tiny-random}" "$@"
