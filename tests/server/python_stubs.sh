# Sourced by the python-client test scripts: checks /usr/bin/python3's modules and generates the
# qkv.v1 Python stubs.
#   require_python_modules "numpy grpc google.protobuf"   # exit 77 (ctest: skipped) when one is missing
#   generate_python_stubs SOURCE_DIR OUT_DIR [--health]   # encoder.proto (and flat health.proto) stubs
python=/usr/bin/python3

require_python_modules() {
  local modules=$1
  if ! "$python" -c "import ${modules// /, }" 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 lacks one of: $modules (scripts/install_deps.sh installs them)"
    exit 77
  fi
}

generate_python_stubs() {
  local src=$1 out=$2
  mkdir -p "$out"
  protoc -I "$src/proto" --python_out="$out" --grpc_out="$out" \
    --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin qkv/v1/encoder.proto
  if [[ "${3:-}" == --health ]]; then
    # Flat, so that no generated grpc/ package shadows grpcio's.
    protoc -I "$src/proto/grpc/health/v1" --python_out="$out" --grpc_out="$out" \
      --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin health.proto
  fi
}
