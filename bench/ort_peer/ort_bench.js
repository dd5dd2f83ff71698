// ONNX Runtime (onnxruntime-node, CPU execution provider) latency/throughput for a BERT-style encoder .onnx
// with inputs input_ids / attention_mask (/ token_type_ids when declared) [batch, seq] int64: the peer that
// bench/compare_ort.sh sets beside qkv_encoder_bench. Modelled on ../shared/notes/onnxruntime-peer.md.
//
//   node bench/ort_peer/ort_bench.js MODEL.onnx [--threads=2] [--vocab=30522] [--max-seq=512]
//        [--cells=all | 1x16,8x128,mixed,mixed1,...] [--target-ms=5000] [--no-wait] [--json=FILE]
//
// Cells:
//   BxS     batch B of sequences of length S: random ids in [1000, vocab), [CLS]=101 first, [SEP]=102 last,
//           attention_mask all 1, token_type_ids all 0. "all" = B in {1,8,32} x S in {16,128,512} (S capped
//           at --max-seq) plus mixed and mixed1.
//   mixed   32 sequences with lengths uniform in 8..128 (seed 42, the LCG of bench/encoder_bench.cc's
//           MixedLengths), padded with [PAD]=0 to the longest, attention_mask 0 on the pads: one sess.run.
//   mixed1  the same 32 sequences run one at a time as batch-1 calls without padding (32 sess.run per run).
//
// Per cell: 2 warm-up runs, then N timed runs (N = 5..50, about --target-ms in all); reports the median
// (and mean/min/max) in ms, seq/s and tokens/s at the median (real tokens, not pads). sess.run is timed from
// JS, so input/output tensor marshalling is included. Unless --no-wait, each cell first waits (up to 120 s)
// until other processes use < 10% of one core over 1 s, and is retried (up to 3 times) when they used
// >= 10% of a core while it ran; "other CPU" is what other processes used during the timed runs, in cores.
// Prints a markdown table on stdout; --json=FILE also writes the rows as a JSON array.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const TICK = 100;  // USER_HZ: jiffies per second in /proc/stat

function parseArgs(argv) {
  const opts = {threads: 2, vocab: 30522, maxSeq: 512, cells: 'all', targetMs: 5000, wait: true, json: ''};
  const positional = [];
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) { positional.push(a); continue; }
    const [, key, value] = m;
    if (key === 'threads') opts.threads = Number(value);
    else if (key === 'vocab') opts.vocab = Number(value);
    else if (key === 'max-seq') opts.maxSeq = Number(value);
    else if (key === 'cells') opts.cells = value;
    else if (key === 'target-ms') opts.targetMs = Number(value);
    else if (key === 'no-wait') opts.wait = false;
    else if (key === 'json') opts.json = value;
    else throw new Error(`unknown flag --${key}`);
  }
  if (positional.length !== 1) throw new Error('usage: node ort_bench.js MODEL.onnx [flags]; see the header');
  opts.model = positional[0];
  return opts;
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Jiffies all CPUs spent busy: user nice system irq softirq steal.
const busyJiffies = () => {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
};
const ownCpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

// Waits until the machine has been < 10% of one core busy for 1 s; false after 120 tries.
async function waitIdle() {
  for (let i = 0; i < 120; i++) {
    const b = busyJiffies();
    await sleep(1000);
    if ((busyJiffies() - b) / TICK < 0.1) return true;
  }
  return false;
}

// Lengths uniform in lo..hi from a 31-bit LCG; must match MixedLengths() in bench/encoder_bench.cc.
function mixedLengths(count, lo, hi, seed) {
  const lengths = [];
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;  // exact mod 2^31
    lengths.push(lo + ((seed >>> 8) % (hi - lo + 1)));
  }
  return lengths;
}

// One feed dict for sequences of the given lengths, padded to the longest with id 0 and mask 0.
function makeFeeds(lengths, vocab, rnd) {
  const B = lengths.length, S = Math.max(...lengths);
  const ids = new BigInt64Array(B * S), mask = new BigInt64Array(B * S), tt = new BigInt64Array(B * S);
  for (let b = 0; b < B; b++) {
    const T = lengths[b];
    for (let s = 0; s < T; s++) {
      ids[b * S + s] = BigInt(s === 0 ? 101 : s === T - 1 ? 102 : 1000 + Math.floor(rnd() * (vocab - 1000)));
      mask[b * S + s] = 1n;
    }
  }
  const t = (a) => new ort.Tensor('int64', a, [B, S]);
  return {input_ids: t(ids), attention_mask: t(mask), token_type_ids: t(tt)};
}

function makeRng(seed) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 2147483648;
}

// A cell: {name, batch, seq, lengths, feeds: [feed dict, ...]}; one timed run = sess.run over every feed.
function makeCell(name, opts) {
  const rnd = makeRng(42);
  if (name === 'mixed' || name === 'mixed1') {
    const lengths = mixedLengths(32, 8, 128, 42);
    const feeds = name === 'mixed' ? [makeFeeds(lengths, opts.vocab, rnd)]
                                   : lengths.map((T) => makeFeeds([T], opts.vocab, rnd));
    return {name, batch: 32, seq: Math.max(...lengths), lengths, feeds};
  }
  const m = /^(\d+)x(\d+)$/.exec(name);
  if (!m) throw new Error(`bad cell ${name}: want BxS, mixed or mixed1`);
  const batch = Number(m[1]), seq = Number(m[2]);
  const lengths = new Array(batch).fill(seq);
  return {name, batch, seq, lengths, feeds: [makeFeeds(lengths, opts.vocab, rnd)]};
}

function cellNames(opts) {
  if (opts.cells !== 'all') return opts.cells.split(',').filter((c) => c);
  const names = [];
  for (const S of [...new Set([16, 128, 512].map((s) => Math.min(s, opts.maxSeq)))])
    for (const B of [1, 8, 32]) names.push(`${B}x${S}`);
  return names.concat(['mixed', 'mixed1']);
}

async function runOnce(sess, cell) {
  const t = performance.now();
  for (const f of cell.feeds) await sess.run(f);
  return performance.now() - t;
}

async function benchCell(sess, cell, opts) {
  await runOnce(sess, cell);
  const second = await runOnce(sess, cell);  // warm-up x2; the second sizes N
  const runs = Math.max(5, Math.min(50, Math.ceil(opts.targetMs / Math.max(second, 1e-3))));
  let best = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const idle = opts.wait ? await waitIdle() : true;
    const b0 = busyJiffies(), c0 = ownCpuMs(), w0 = performance.now();
    const ts = [];
    for (let i = 0; i < runs; i++) ts.push(await runOnce(sess, cell));
    const wall = performance.now() - w0;
    const other = Math.max(0, ((busyJiffies() - b0) * 1000 / TICK - (ownCpuMs() - c0)) / wall);  // cores
    if (!best || other < best.other) best = {ts, other, idle};
    if (!opts.wait || other < 0.1) break;
  }
  const tokens = cell.lengths.reduce((x, y) => x + y, 0);
  const m = median(best.ts);
  return {
    cell: cell.name, batch: cell.batch, seq: cell.seq, sess_runs_per_run: cell.feeds.length, runs,
    median_ms: m, mean_ms: mean(best.ts), min_ms: Math.min(...best.ts), max_ms: Math.max(...best.ts),
    seq_per_s: cell.batch * 1000 / m, tokens_per_s: tokens * 1000 / m, real_tokens: tokens,
    padded_tokens: cell.feeds.reduce((x, f) => x + f.input_ids.dims[0] * f.input_ids.dims[1], 0),
    other_cores: best.other, idle_reached: best.idle,
  };
}

(async () => {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const sess = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'], intraOpNumThreads: opts.threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all'});
  const loadMs = performance.now() - t0;
  console.log(`# ${path.basename(path.dirname(path.resolve(opts.model)))}/${path.basename(opts.model)}: ` +
              `onnxruntime-node ${ort.env.versions.common}, CPU EP, intra_op=${opts.threads}, ` +
              `session load ${loadMs.toFixed(0)} ms`);
  console.log('| cell | batch | seq | runs | median ms | mean ms | min ms | max ms | seq/s | tokens/s | other CPU |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const rows = [];
  for (const name of cellNames(opts)) {
    const cell = makeCell(name, opts);
    // Models without token types (DistilBERT, MPNet, RoBERTa exports) declare no token_type_ids input.
    for (const feeds of cell.feeds) {
      for (const key of Object.keys(feeds)) if (!sess.inputNames.includes(key)) delete feeds[key];
    }
    const r = await benchCell(sess, cell, opts);
    rows.push(r);
    console.log(`| ${r.cell} | ${r.batch} | ${r.seq} | ${r.runs} | ${r.median_ms.toFixed(2)} | ` +
                `${r.mean_ms.toFixed(2)} | ${r.min_ms.toFixed(2)} | ${r.max_ms.toFixed(2)} | ` +
                `${r.seq_per_s.toFixed(1)} | ${r.tokens_per_s.toFixed(0)} | ` +
                `${(r.other_cores * 100).toFixed(0)}% of a core${r.idle_reached ? '' : ' (never idle)'} |`);
  }
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(`peak RSS ${rssMiB.toFixed(0)} MiB`);
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({
      model: opts.model, ort_version: ort.env.versions.common, threads: opts.threads,
      session_load_ms: loadMs, peak_rss_mib: rssMiB, rows}, null, 1) + '\n');
  }
})().catch((e) => { console.error(e.message || e); process.exit(1); });
