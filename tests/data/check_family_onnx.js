// Runs each fixture's model.onnx (tests/data/families/<family>/) in ONNX Runtime and prints the largest
// differences from its float64 goldens.json (hidden states, pooler, attention probabilities): a check, independent of qkv, that the ONNX graphs
// make_family_models.py writes compute what its numpy reference computes. Each case runs alone and, padded,
// in one batch with the others (attention_mask 0 on the pads; the pad id is the family's padding id).
//
//   ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix bench/ort_peer
//   NODE_PATH=bench/ort_peer/node_modules node tests/data/check_family_onnx.js
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const root = path.join(__dirname, 'families');

async function run(session, rows, pad) {
  const longest = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * longest).fill(BigInt(pad));
  const mask = new BigInt64Array(rows.length * longest);
  rows.forEach((r, b) => r.forEach((id, t) => {
    ids[b * longest + t] = BigInt(id);
    mask[b * longest + t] = 1n;
  }));
  const dims = [rows.length, longest];
  const out = await session.run({input_ids: new ort.Tensor('int64', ids, dims),
                                 attention_mask: new ort.Tensor('int64', mask, dims)});
  return {out, longest};
}

async function main() {
  let failed = false;
  for (const family of fs.readdirSync(root).sort()) {
    const dir = path.join(root, family);
    const goldens = JSON.parse(fs.readFileSync(path.join(dir, 'goldens.json')));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json')));
    const d = config.dim || config.hidden_size;
    const pad = config.model_type === 'distilbert' ? 0 : 1;
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    const rows = goldens.cases.map((c) => c.input_ids);
    const worst = {alone: 0, batch: 0, pooler: 0, attention: 0};
    const compare = (got, longest, b, c, key) => {
      c.last_hidden_state.forEach((row, t) => row.forEach((v, j) => {
        worst[key] = Math.max(worst[key], Math.abs(got[(b * longest + t) * d + j] - v));
      }));
    };
    for (const [b, c] of goldens.cases.entries()) {
      const {out, longest} = await run(session, [rows[b]], pad);
      compare(out.last_hidden_state.data, longest, 0, c, 'alone');
      c.attentions.forEach((layer, l) => {
        const probs = out[`attention_probs_${l}`].data, t = c.input_ids.length, heads = layer.length;
        layer.forEach((rows, h) => rows.forEach((row, qi) => row.forEach((v, k) => {
          const q = c.attention_queries[qi];
          worst.attention = Math.max(worst.attention, Math.abs(probs[(h * t + q) * t + k] - v));
        })));
      });
      if (c.pooler_output) {
        c.pooler_output.forEach((v, j) => {
          worst.pooler = Math.max(worst.pooler, Math.abs(out.pooler_output.data[j] - v));
        });
      }
    }
    // A padding id inside a sequence is a real token (attention_mask 1); padded rows use the same id.
    const batch = await run(session, rows, pad);
    goldens.cases.forEach((c, b) => compare(batch.out.last_hidden_state.data, batch.longest, b, c, 'batch'));
    const ok = worst.alone < 1e-5 && worst.batch < 1e-5 && worst.pooler < 1e-5 && worst.attention < 1e-6;
    failed = failed || !ok;
    console.log(`${family}: ORT ${ort.env.versions.common} vs float64: hidden alone ${worst.alone.toExponential(2)}, ` +
                `padded batch ${worst.batch.toExponential(2)}, pooler ${worst.pooler.toExponential(2)}, ` +
                `attention ${worst.attention.toExponential(2)} ${ok ? 'ok' : 'FAIL'}`);
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
