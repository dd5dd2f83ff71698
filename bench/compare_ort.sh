#!/usr/bin/env bash
# Side-by-side: ONNX Runtime (onnxruntime-node, bench/ort_peer/ort_bench.js) vs qkv's encoder
# (qkv_encoder_bench) on the same .onnx file, same machine, same run, cell by cell, both at 2 threads.
#
#   bench/compare_ort.sh MODEL.onnx [--reps=3] [--cells=1x16,8x128,mixed] [--out=DIR] [--no-wait]
#                        [--precision=fp32|bf16|int8]
#
# --precision picks qkv's precision (default fp32); ORT always runs the fp32 model, so the table compares
# qkv in that precision against ORT fp32 (same file, threads and run).
#
# MODEL.onnx's directory must hold config.json (qkv's LoadModel reads it; so does this script, for the vocab
# size and max positions). Needs:
#   - bench/ort_peer/node_modules:  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix bench/ort_peer
#   - the qkv benchmark (or set QKV_ENCODER_BENCH=path):
#       cmake -S . -B build/ort -G Ninja -DCMAKE_BUILD_TYPE=Release -DQKV_BUILD_SERVER=OFF
#       cmake --build build/ort --target qkv_encoder_bench
#
# Cells: batch {1,8,32} x seq {16,128,512} (capped at max positions) and "mixed": 32 sequences with lengths
# uniform in 8..128 (fixed seed, the same lengths on both sides). For mixed, ORT runs once padded to the
# longest (attention_mask 0 on pads) and once as 32 unpadded batch-1 calls; qkv runs the 32 ragged in one call.
# For each cell, ORT runs first, then qkv. Before each timed part the machine must be idle (other processes
# < 10% of one core over 1 s, waiting up to 120 s), and a part is retried (up to 3 times) when other
# processes used >= 10% of a core meanwhile; the table reports what they used, in % of one core
# (--no-wait: no waiting, no retries; for trying the script out, not for numbers).
# ORT: median of N single runs (N = 5..50, ~5 s). qkv: median over --reps repetitions of Google Benchmark's
# mean time per iteration (each repetition >= 1 s). Thread count: THREADS (default 2) for both engines
# (ORT intra_op_num_threads, qkv OMP_NUM_THREADS).
set -euo pipefail

usage() { sed -n '2,6p' "$0" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
model=$1; shift
reps=3; cells=""; out=""; wait=true; precision=fp32
for arg in "$@"; do
  case $arg in
    --reps=*) reps=${arg#*=} ;;
    --cells=*) cells=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    --no-wait) wait=false ;;
    --precision=fp32 | --precision=bf16 | --precision=int8) precision=${arg#*=} ;;
    *) usage ;;
  esac
done
[[ $reps -ge 2 ]] || { echo "--reps must be >= 2 (the median aggregate needs repetitions)" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
bench_bin=${QKV_ENCODER_BENCH:-$root/build/ort/bench/qkv_encoder_bench}
threads=${THREADS:-2}
ort_js=$root/bench/ort_peer/ort_bench.js
[[ -f $model ]] || { echo "no such model: $model" >&2; exit 1; }
[[ -x $bench_bin ]] || { echo "no $bench_bin: build target qkv_encoder_bench (see the header)" >&2; exit 1; }
[[ -d $root/bench/ort_peer/node_modules/onnxruntime-node ]] ||
  { echo "onnxruntime-node missing: ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix bench/ort_peer" >&2; exit 1; }
command -v jq >/dev/null || { echo "needs jq" >&2; exit 1; }

model_dir=$(cd "$(dirname "$model")" && pwd)
name=$(basename "$model_dir")
vocab=$(jq -r .vocab_size "$model_dir/config.json")
max_pos=$(jq -r .max_position_embeddings "$model_dir/config.json")
out=${out:-$(mktemp -d "/tmp/compare_ort.$name.XXXX")}
mkdir -p "$out"

if [[ -z $cells ]]; then
  for s in 16 128 512; do
    if (( s <= max_pos )); then
      for b in 1 8 32; do cells+="${b}x${s},"; done
    fi
  done
  if (( max_pos >= 128 )); then cells+="mixed"; fi
fi

busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
# Waits until other processes use < 10% of one core over 1 s; returns 1 after 120 tries.
wait_idle() {
  local i b0 b1
  $wait || return 0
  for ((i = 0; i < 120; i++)); do
    b0=$(busy_jiffies); sleep 1; b1=$(busy_jiffies)
    if (( b1 - b0 < 10 )); then return 0; fi
  done
  return 1
}

# qkv for one cell: writes $out/qkv_$cell.json (Google Benchmark JSON plus .other_cores and .idle_reached).
run_qkv() {
  local cell=$1 filter idle attempt b0 b1 w0 w1 cpu other best=""
  if [[ $cell == mixed ]]; then
    filter="^mixed/$name/batch:32/len:8-128/"
  else
    filter="^encode/$name/batch:${cell%x*}/seq:${cell#*x}/"
  fi
  for ((attempt = 0; attempt < 3; attempt++)); do
    idle=true; wait_idle || idle=false
    b0=$(busy_jiffies); w0=$(date +%s%N)
    OMP_NUM_THREADS=$threads /usr/bin/time -f '%U %S' -o "$out/time.txt" "$bench_bin" --model="$model" \
      --model_name="$name" --precision="$precision" --benchmark_filter="$filter" --benchmark_repetitions="$reps" \
      --benchmark_report_aggregates_only=true --benchmark_format=json >"$out/qkv_try.json" 2>"$out/qkv_stderr.txt"
    w1=$(date +%s%N); b1=$(busy_jiffies)
    cpu=$(awk '{print $1 + $2}' "$out/time.txt")
    # Other processes' CPU, in cores: all busy time minus ours, over the wall time (includes model load).
    other=$(awk -v b="$((b1 - b0))" -v c="$cpu" -v w="$((w1 - w0))" \
      'BEGIN { o = (b / 100 - c) / (w / 1e9); print (o < 0 ? 0 : o) }')
    jq -e '.benchmarks | length > 0' "$out/qkv_try.json" >/dev/null ||
      { echo "qkv_encoder_bench ran no benchmark for $filter:" >&2; cat "$out/qkv_stderr.txt" >&2; exit 1; }
    if [[ -z $best ]] || awk -v o="$other" -v b="$best" 'BEGIN { exit !(o < b) }'; then
      best=$other
      jq --argjson o "$other" --argjson i "$idle" '. + {other_cores: $o, idle_reached: $i}' \
        "$out/qkv_try.json" >"$out/qkv_$cell.json"
    fi
    if ! $wait || awk -v o="$other" 'BEGIN { exit !(o < 0.1) }'; then break; fi
  done
  return 0
}

echo "# $name: $model (vocab $vocab, max positions $max_pos), threads $threads, qkv $precision, results in $out" >&2
IFS=, read -ra cell_list <<<"$cells"
for cell in "${cell_list[@]}"; do
  ort_cells=$cell
  if [[ $cell == mixed ]]; then ort_cells="mixed,mixed1"; fi
  echo "## $cell: ORT" >&2
  ort_flags=()
  $wait || ort_flags+=(--no-wait)
  node "$ort_js" "$model" --threads="$threads" --vocab="$vocab" --max-seq="$max_pos" --cells="$ort_cells" \
    --json="$out/ort_$cell.json" "${ort_flags[@]}" >&2
  echo "## $cell: qkv" >&2
  run_qkv "$cell"
done

# One combined markdown table (also saved as $out/table.md).
node - "$out" "$name" "$precision" "${cell_list[@]}" <<'EOF' | tee "$out/table.md"
const fs = require('fs');
const [out, name, precision, ...cells] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(`${out}/${f}`, 'utf8'));
const pct = (cores, idle) => `${(cores * 100).toFixed(0)}%${idle ? '' : ' (never idle)'}`;
const ctx = read(`qkv_${cells[0]}.json`).context;
const ortInfo = read(`ort_${cells[0]}.json`);
console.log(`### ${name}: onnxruntime-node ${ortInfo.ort_version} (fp32) vs qkv ${precision}, ${ortInfo.threads} threads each`);
console.log(`Host: ${ctx.host_name}, ${ctx.num_cpus} CPUs @ ${ctx.mhz_per_cpu} MHz; run ${ctx.date}.\n`);
console.log('| shape | ORT ms | qkv ms | speedup (ORT/qkv) | ORT tokens/s | qkv tokens/s | other procs CPU, ORT / qkv (% of a core) |');
console.log('|---|---:|---:|---:|---:|---:|---|');
for (const cell of cells) {
  const q = read(`qkv_${cell}.json`);
  const med = q.benchmarks.find((b) => b.aggregate_name === 'median');
  if (med.time_unit !== 'ms') throw new Error(`unexpected time unit ${med.time_unit}`);
  const qms = med.real_time;
  for (const r of read(`ort_${cell}.json`).rows) {
    let shape = `${r.batch} × ${r.seq}`;
    if (r.cell === 'mixed') shape = `mixed 32 × 8..128 (${r.real_tokens} tokens); ORT padded to ${r.seq}`;
    if (r.cell === 'mixed1') shape = `mixed 32 × 8..128; ORT as 32 batch-1 calls`;
    if (r.cell.startsWith('mixed') && med.tokens !== r.real_tokens)
      throw new Error(`mixed lengths differ: qkv ${med.tokens} tokens, ORT ${r.real_tokens}`);
    const qtok = med['tokens/s'];
    console.log(`| ${shape} | ${r.median_ms.toFixed(2)} | ${qms.toFixed(2)} | ${(r.median_ms / qms).toFixed(2)}× | ` +
                `${r.tokens_per_s.toFixed(0)} | ${qtok.toFixed(0)} | ` +
                `${pct(r.other_cores, r.idle_reached)} / ${pct(q.other_cores, q.idle_reached)} |`);
  }
}
EOF
