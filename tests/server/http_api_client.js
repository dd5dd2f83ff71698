// Acceptance test of qkv-server's HTTP JSON API, run by http_api_test.sh against the real binary.
// Independent clients only: the official OpenAI SDK (npm `openai`), Node's fetch (TEI routes, proto JSON,
// bad input), and @grpc/grpc-js for the gRPC answers everything is compared with.
// Usage: node http_api_client.js GRPC_ADDR HTTP_ADDR TOKEN PROTO_DIR NPM_DIR
"use strict";
const path = require("path");
const [grpcAddr, httpAddr, token, protoDir, npmDir] = process.argv.slice(2);
const mod = (name) => require(path.join(npmDir, "node_modules", name));
const { OpenAI } = mod("openai");
const grpc = mod("@grpc/grpc-js");
const loader = mod("@grpc/proto-loader");

const base = `http://${httpAddr}`;
let failures = 0;
function check(ok, what) {
  if (ok) {
    console.log(`ok: ${what}`);
  } else {
    failures++;
    console.log(`FAIL: ${what}`);
  }
}
function maxAbs(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const def = loader.loadSync("qkv/v1/encoder.proto", { includeDirs: [protoDir], keepCase: true, longs: Number,
                                                      defaults: true });
const Svc = grpc.loadPackageDefinition(def).qkv.v1.EncoderService;
const stub = new Svc(grpcAddr, grpc.credentials.createInsecure(),
                     { "grpc.max_receive_message_length": 64 << 20 });
function grpcCall(method, request) {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    stub[method](request, md, { deadline: Date.now() + 30000 }, (err, res) => (err ? reject(err) : resolve(res))));
}
async function post(route, body, headers = {}) {
  const res = await fetch(base + route, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* checked by the callers */ }
  return { status: res.status, json, text, headers: res.headers };
}

const texts = ["hello world", "The quick brown fox jumps over the lazy dog.", "你好，世界。注意力机制"];
const idInputs = [[101, 7592, 2088, 102], [101, 2023, 2003, 1037, 3231, 102]];

async function main() {
  const info = await grpcCall("GetModelInfo", {});
  const model = info.model;
  const textIn = (t) => ({ text: { text: t } });
  const idsIn = (ids) => ({ ids: { ids } });

  // --- 1. The official OpenAI SDK: strings and token arrays equal gRPC Encode's pooled vectors. ---
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: token, maxRetries: 0 });
  const grpcTexts = await grpcCall("Encode", { inputs: texts.map(textIn) });
  const sdkTexts = await openai.embeddings.create({ model, input: texts, encoding_format: "float" });
  check(sdkTexts.object === "list" && sdkTexts.model === model && sdkTexts.data.length === texts.length,
        "OpenAI SDK: list shape, model name, one embedding per input");
  let worst = 0;
  sdkTexts.data.forEach((d, i) => { worst = Math.max(worst, maxAbs(d.embedding, grpcTexts.outputs[i].pooled.values)); });
  check(worst <= 1e-6, `OpenAI SDK strings == gRPC pooled (max abs ${worst})`);
  check(sdkTexts.usage.prompt_tokens === Number(grpcTexts.input_tokens) &&
        sdkTexts.usage.total_tokens === sdkTexts.usage.prompt_tokens,
        `usage.prompt_tokens ${sdkTexts.usage.prompt_tokens} == gRPC input_tokens ${grpcTexts.input_tokens}`);

  // The SDK's default encoding is base64 (it decodes it itself).
  const sdkDefault = await openai.embeddings.create({ input: texts[0] });
  const d0 = maxAbs(sdkDefault.data[0].embedding, grpcTexts.outputs[0].pooled.values);
  check(d0 <= 1e-6, `OpenAI SDK default (base64 on the wire), model omitted: max abs ${d0}`);

  const grpcIds = await grpcCall("Encode", { inputs: idInputs.map(idsIn) });
  const sdkIds = await openai.embeddings.create({ model, input: idInputs });
  worst = 0;
  sdkIds.data.forEach((d, i) => { worst = Math.max(worst, maxAbs(d.embedding, grpcIds.outputs[i].pooled.values)); });
  check(worst <= 1e-6, `OpenAI SDK token arrays == gRPC pooled (max abs ${worst})`);
  const sdkOneIds = await openai.embeddings.create({ model, input: idInputs[0] });
  check(maxAbs(sdkOneIds.data[0].embedding, grpcIds.outputs[0].pooled.values) <= 1e-6, "OpenAI SDK one token array");

  // base64 asked for explicitly: the SDK hands back the string; it decodes to the same floats.
  const b64 = await post("/v1/embeddings", { model, input: texts, encoding_format: "base64" });
  worst = 0;
  b64.json.data.forEach((d, i) => {
    const buf = Buffer.from(d.embedding, "base64");
    const floats = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4));
    worst = Math.max(worst, maxAbs(floats, grpcTexts.outputs[i].pooled.values));
  });
  check(b64.status === 200 && worst === 0, `base64 decodes to exactly the gRPC floats (max abs ${worst})`);

  // dimensions: the first k values, L2-normalized again.
  const k = 16;
  const dims = await openai.embeddings.create({ model, input: texts[1], dimensions: k, encoding_format: "float" });
  const head = grpcTexts.outputs[1].pooled.values.slice(0, k);
  const norm = Math.sqrt(head.reduce((s, v) => s + v * v, 0));
  const dd = maxAbs(dims.data[0].embedding, head.map((v) => v / norm));
  check(dims.data[0].embedding.length === k && dd <= 1e-6, `dimensions=${k}: truncated + renormalized (max abs ${dd})`);

  // --- 2. TEI routes. ---
  const grpcNorm = await grpcCall("Encode", { inputs: texts.map(textIn), options: { normalize: true } });
  const embed = await post("/embed", { inputs: texts });
  worst = 0;
  embed.json.forEach((v, i) => { worst = Math.max(worst, maxAbs(v, grpcNorm.outputs[i].pooled.values)); });
  check(embed.status === 200 && Array.isArray(embed.json) && worst <= 1e-6,
        `TEI /embed (normalize default true) == gRPC normalized pooled (max abs ${worst})`);
  const embedOne = await post("/embed", { inputs: texts[0], normalize: false });
  check(maxAbs(embedOne.json[0], grpcTexts.outputs[0].pooled.values) <= 1e-6, "TEI /embed single string, normalize false");

  const grpcTok = await grpcCall("Encode", { inputs: texts.map(textIn),
                                             options: { pooling: "POOLING_NONE", return_token_vectors: true } });
  const all = await post("/embed_all", { inputs: texts });
  worst = 0;
  let shapeOk = all.status === 200 && all.json.length === texts.length;
  all.json.forEach((rows, i) => {
    const t = grpcTok.outputs[i].token_vectors;
    shapeOk = shapeOk && rows.length === Number(t.shape[0]) && rows[0].length === Number(t.shape[1]);
    worst = Math.max(worst, maxAbs(rows.flat(), t.values));
  });
  check(shapeOk && worst <= 1e-6, `TEI /embed_all == gRPC token vectors (max abs ${worst})`);

  const tok = await post("/tokenize", { inputs: [texts[2], texts[0]] });
  const grpcTokenize = await grpcCall("Tokenize", { text: texts[2] });
  const ids = tok.json[0].map((t) => t.id);
  check(tok.status === 200 && JSON.stringify(ids) === JSON.stringify(grpcTokenize.ids.map(Number)),
        "TEI /tokenize ids == gRPC Tokenize");
  const word = tok.json[0].find((t) => !t.special);
  check(word && Buffer.from(texts[2]).subarray(word.start, word.stop).toString() === word.text &&
        tok.json[0][0].special === true && tok.json[0][0].start === null, "TEI /tokenize byte offsets and specials");
  const noSpecial = await post("/tokenize", { inputs: texts[0], add_special_tokens: false });
  check(noSpecial.json[0].every((t) => !t.special), "TEI /tokenize add_special_tokens false");

  const infoRes = await fetch(`${base}/info`, { headers: { authorization: `Bearer ${token}` } });
  const teiInfo = await infoRes.json();
  check(infoRes.status === 200 && teiInfo.model_id === model && teiInfo.max_input_length > 0 &&
        typeof teiInfo.model_type.embedding.pooling === "string" && teiInfo.version === info.version,
        "TEI /info");

  // --- 3. The proto's JSON mapping: Encode with attention equals gRPC. ---
  const request = { inputs: [{ id: "a", text: { text: texts[1] } }],
                    options: { return_token_vectors: true, attention: { layers: [0, -1] } } };
  const protoJson = await post("/qkv.v1.EncoderService/Encode", request);
  const grpcAttn = await grpcCall("Encode", request);
  const pj = protoJson.json;
  const attnWorst = Math.max(
      maxAbs(pj.outputs[0].attention[0].probs.values, grpcAttn.outputs[0].attention[0].probs.values),
      maxAbs(pj.outputs[0].attention[1].probs.values, grpcAttn.outputs[0].attention[1].probs.values));
  const vecWorst = maxAbs(pj.outputs[0].tokenVectors.values, grpcAttn.outputs[0].token_vectors.values);
  check(protoJson.status === 200 && attnWorst === 0 && vecWorst === 0 &&
        JSON.stringify(pj.outputs[0].tokens) === JSON.stringify(grpcAttn.outputs[0].tokens),
        `proto JSON Encode with attention == gRPC (attention max abs ${attnWorst}, vectors ${vecWorst})`);
  const pInfo = await post("/qkv.v1.EncoderService/GetModelInfo", {});
  check(pInfo.status === 200 && pInfo.json.model === model, "proto JSON GetModelInfo");
  const pTok = await post("/qkv.v1.EncoderService/Tokenize", { text: "hello" });
  check(pTok.status === 200 && pTok.json.tokens.includes("hello"), "proto JSON Tokenize");

  // --- 4. Bad input: the documented status and a JSON error body, in the route's shape. ---
  const maxPos = info.architecture.max_position_embeddings;
  const tooMany = Array.from({ length: info.limits.max_batch_sequences + 1 }, () => "x");
  const longText = "word ".repeat(maxPos * 2);
  const cases = [
    ["/v1/embeddings", "{not json", 400, "malformed JSON"],
    ["/v1/embeddings", { input: 42 }, 400, "wrong input type"],
    ["/v1/embeddings", { input: "x", model: "no-such-model" }, 404, "unknown model"],
    ["/v1/embeddings", { input: [] }, 400, "empty input"],
    ["/v1/embeddings", { input: tooMany }, 422, "too many inputs"],
    ["/v1/embeddings", { input: longText }, 422, "over-long input"],
    ["/v1/embeddings", { input: "x", encoding_format: "int4" }, 400, "bad encoding_format"],
    ["/embed", { inputs: longText }, 422, "TEI over-long input without truncate"],
    ["/embed", { inputs: [] }, 400, "TEI empty inputs"],
    ["/embed", "[1,2", 400, "TEI malformed JSON"],
    ["/embed", "{\"inputs\":" + "[".repeat(100000) + "]".repeat(100000) + "}", 400, "deeply nested JSON"],
    ["/qkv.v1.EncoderService/Encode", { inputs: [{ ids: { ids: [999999] } }] }, 422, "proto JSON bad id"],
    ["/qkv.v1.EncoderService/Encode", { bogus: 1 }, 400, "proto JSON unknown field"],
  ];
  for (const [route, body, want, what] of cases) {
    const r = await post(route, body);
    const shaped = r.json !== null && (route.startsWith("/v1/") ? typeof r.json.error?.message === "string"
                                        : route.startsWith("/qkv.") ? typeof r.json.code === "string"
                                        : typeof r.json.error === "string");
    check(r.status === want && shaped, `${what}: ${route} -> ${r.status} (want ${want}) ${r.text.slice(0, 140)}`);
  }
  const good = await post("/embed", { inputs: longText, truncate: true });
  check(good.status === 200, "TEI over-long input with truncate: 200");

  // Auth: missing and wrong tokens.
  for (const [headers, what] of [[{ authorization: "" }, "missing token"],
                                 [{ authorization: "Bearer wrong-token-0123456789" }, "wrong token"]]) {
    for (const route of ["/v1/embeddings", "/embed", "/qkv.v1.EncoderService/Encode"]) {
      const r = await post(route, route === "/v1/embeddings" ? { input: "x" } : route === "/embed"
                                  ? { inputs: "x" } : { inputs: [{ text: { text: "x" } }] }, headers);
      check(r.status === 401 && r.json !== null, `${what}: ${route} -> ${r.status}`);
    }
  }
  try {
    await new OpenAI({ baseURL: `${base}/v1`, apiKey: "wrong-token-0123456789", maxRetries: 0 })
        .embeddings.create({ input: "x" });
    check(false, "OpenAI SDK with a wrong key fails");
  } catch (e) {
    check(e.status === 401, `OpenAI SDK with a wrong key: AuthenticationError ${e.status}`);
  }

  // Oversized body: 413 with a JSON error, before the body is read.
  const big = await post("/embed", JSON.stringify({ inputs: "a".repeat(Number(info.limits.max_receive_message_bytes) + 10) }));
  check(big.status === 413 && big.json !== null, `oversized body -> ${big.status}`);

  // The request id comes back.
  const rid = await post("/embed", { inputs: "x" }, { "x-request-id": "http-test-42" });
  check(rid.headers.get("x-request-id") === "http-test-42", "x-request-id echoed");

  // --- A burst over HTTP: answered like gRPC (200 or 429, never a hang or a 5xx), probes stay fast. ---
  const burst = [];
  const started = Date.now();
  for (let i = 0; i < 64; i++) burst.push(post("/embed", { inputs: Array.from({ length: 32 }, (_, j) => `burst ${i} ${j} ` + "text ".repeat(100)), truncate: true }));
  let probeWorst = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    await fetch(`${base}/healthz`);
    probeWorst = Math.max(probeWorst, Date.now() - t0);
  }
  const results = await Promise.all(burst);
  const statuses = {};
  results.forEach((r) => { statuses[r.status] = (statuses[r.status] || 0) + 1; });
  check(results.every((r) => (r.status === 200 || r.status === 429) && r.json !== null),
        `burst of 64 x 32 texts: statuses ${JSON.stringify(statuses)} in ${Date.now() - started} ms; ` +
        `/healthz worst ${probeWorst} ms`);

  stub.close();
  console.log(failures === 0 ? "http api: all checks passed" : `http api: ${failures} checks FAILED`);
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((e) => { console.log(`FAIL: ${e.stack || e}`); process.exit(1); });
