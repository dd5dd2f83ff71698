#!/usr/bin/env bash
# Prints the project version from CMakeLists.txt's project(qkv VERSION x.y.z), e.g. for
#   docker build --build-arg QKV_VERSION="$(scripts/version.sh)" .
set -euo pipefail
sed -n 's/^project(qkv VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../CMakeLists.txt"
