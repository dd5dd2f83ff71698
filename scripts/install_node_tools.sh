#!/usr/bin/env bash
# Installs the npm tools the tests use into build/npm: buf (proto lint, and `buf curl` as an independent
# gRPC client through server reflection). Pinned versions; node and npm come from scripts/install_deps.sh.
# Usage: scripts/install_node_tools.sh [PREFIX]      (default PREFIX: build/npm)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-build/npm}"
if [[ -x "$prefix/node_modules/.bin/buf" ]]; then exit 0; fi
mkdir -p "$prefix"
npm install --no-audit --no-fund --loglevel=error --prefix "$prefix" @bufbuild/buf@1.75.0
