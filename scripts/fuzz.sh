#!/usr/bin/env bash
# Runs every libFuzzer target of a QKV_FUZZ build for a bounded time from its committed seed corpus
# (tests/fuzz/corpus/<target>; regression inputs included), with its dictionary, and fails on the first
# crash, sanitizer report, leak, timeout or out-of-memory. Prints each target's executions and coverage.
# The committed corpus is never modified: new inputs go to a scratch copy.
#
# Usage: [QKV_FUZZ_PARALLEL=N] scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET defaults to 30; TARGET defaults to every target; N targets run at once (default 1;
#   scripts/test.sh uses one per core). Limits per input: 10 s (-timeout), 2048 MB RSS (-rss_limit_mb),
#   1024 MB per allocation (-malloc_limit_mb).
# Crash inputs are kept under BUILD_DIR/fuzz-artifacts/ (docs/FUZZING.md: reproducing and fixing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET...]}" && pwd)"
seconds="${2:-30}"
shift $(( $# >= 2 ? 2 : 1 ))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(safetensors_fuzzer onnx_fuzzer model_config_fuzzer tokenizer_fuzzer tokenizer_files_fuzzer
           request_fuzzer cli_input_fuzzer model_dir_fuzzer)
fi
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Leaks fail the run; UBSan reports are fatal (-fno-sanitize-recover) and print a stack.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# One OpenMP thread per target: the fuzzed models are tiny, and two targets share CI's two cores.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

parallel="${QKV_FUZZ_PARALLEL:-1}"

# run_one TARGET: one bounded run; writes its table row (and, when it failed, the report) to $work/TARGET.row.
run_one() {
  local t="$1" bin="$build/tests/fuzz/$1" log="$artifacts/$1.log" dict=() rc execs rate cov result
  if [ ! -x "$bin" ]; then
    printf '%-24s %s\n' "$t" "FAILED ($bin not built)" >"$work/$t.row"
    return
  fi
  mkdir -p "$work/$t"
  cp "$root/tests/fuzz/corpus/$t/"* "$work/$t/"
  [ -f "$root/tests/fuzz/$t.dict" ] && dict=(-dict="$root/tests/fuzz/$t.dict")
  set +e
  "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "$work/$t" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  result=ok
  [ $rc -eq 0 ] || result="FAILED (exit $rc; log $log)"
  printf '%-24s %10s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$result" >"$work/$t.row"
  if [ $rc -ne 0 ]; then
    grep -E -m 20 'ERROR|SUMMARY|invariant|Test unit written|==[0-9]+==' "$log" >>"$work/$t.row" ||
      tail -30 "$log" >>"$work/$t.row" || true
  fi
}

for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  run_one "$t" &
done
wait
printf '%-24s %10s %8s %8s %s\n' target execs exec/s cov result
failed=0
for t in "${targets[@]}"; do
  cat "$work/$t.row"
  grep -q FAILED "$work/$t.row" && failed=1
done
exit $failed
