#!/usr/bin/env bash
# Installs every Debian 12 package qkv needs to build, test and run. The one package list of the project:
# README's commands, .ci/run and the Dockerfile all call this script.
# Usage: scripts/install_deps.sh [--runtime]   (--runtime: only what the server binary needs at run time)
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libdnnl-dev libabsl-dev libonnx-dev libicu-dev nlohmann-json3-dev libssl-dev zlib1g-dev
  libcpp-httplib-dev libcli11-dev libspdlog-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libfuzzer-14-dev libclang-rt-14-dev
  python3 python3-grpcio python3-protobuf python3-numpy python3-prometheus-client python3-yaml
  python3-sentencepiece
  nodejs npm openssl procps curl
)
RUNTIME_PACKAGES=(
  libgrpc++1.51 libprotobuf32 libdnnl2 libonnx1 libicu72 libabsl20220623 libgomp1 ca-certificates
  libcpp-httplib0.11 libspdlog1.10 libfmt9 libprometheus-cpp-core1.0
)

if [[ "${1:-}" == "--runtime" ]]; then
  packages=("${RUNTIME_PACKAGES[@]}")
else
  packages=("${BUILD_PACKAGES[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere (a newer node on PATH); npm ships with it then.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"
if (( ${#missing[@]} )); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
