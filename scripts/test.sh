#!/usr/bin/env bash
# Sets up everything and runs every test: installs the Debian packages, builds (Release, then the core
# suite again under AddressSanitizer + UBSan) and runs all test binaries through ctest.
# Usage: scripts/test.sh            (from anywhere; builds under build/ and build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/install_node_tools.sh build/npm
# The tests that use buf (proto lint, buf curl interop) or Hugging Face tokenizers (tokenizer parity) fail
# instead of skipping when it is missing.
export QKV_REQUIRE_BUF=1 QKV_REQUIRE_HF_TOKENIZERS=1
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.cache/ccache}"
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j 1)

# The core suite (model loading, corrupt files, tokenizer, kernels) again under the sanitizers.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQKV_ASAN=ON \
  -DQKV_BUILD_SERVER=OFF -DQKV_BUILD_BENCH=OFF
cmake --build build-asan -j "$jobs" --target qkv_core_tests
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j 1)
echo "All tests passed."
