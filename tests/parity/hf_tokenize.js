// Tokenizes JSON lines with Hugging Face tokenizers (@anush008/tokenizers: the Rust library), for the
// tokenizer parity test. Padding and truncation are off; special tokens are added.
// Usage: NODE_PATH=build/npm/node_modules node hf_tokenize.js TOKENIZER_JSON < corpus.jsonl > out.jsonl
// Input lines: {"text": "...", "pair": "..."} ("pair" optional). Output lines: {"ids": [...],
// "offsets": [[begin, end], ...], "type_ids": [...], "special": [...]}, offsets converted from code points to
// bytes of the text each token came from, as qkv reports them; "special" is the special tokens mask.
"use strict";
const fs = require("fs");
const {Tokenizer} = require("@anush008/tokenizers");

// bytes[i]: the UTF-8 byte offset of code point i of `text` (and bytes[length] the byte length). The
// binding reports offsets in code points (Rust chars), not in UTF-16 units.
function charsToBytes(text) {
  const bytes = [0];
  for (const ch of text) bytes.push(bytes[bytes.length - 1] + Buffer.byteLength(ch, "utf8"));
  return bytes;
}

async function main() {
  const tokenizer = Tokenizer.fromFile(process.argv[2]);
  tokenizer.disablePadding();
  tokenizer.disableTruncation();
  const inputs = fs.readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
  const out = [];
  const kBatch = 256;
  for (let start = 0; start < inputs.length; start += kBatch) {
    const batch = inputs.slice(start, start + kBatch);
    const encodings = await Promise.all(
        batch.map((i) => tokenizer.encode(i.text, i.pair === undefined ? null : i.pair, {addSpecialTokens: true})));
    encodings.forEach((encoding, k) => {
      const texts = [batch[k].text, batch[k].pair];
      const maps = texts.map((t) => t === undefined ? null : charsToBytes(t));
      const sequences = encoding.getSequenceIds();
      const offsets = encoding.getOffsets().map(([begin, end], i) => {
        if (sequences[i] === null || sequences[i] === undefined) return [begin, end];  // a special token
        const map = maps[sequences[i]];
        return [map[begin], map[end]];
      });
      out.push(JSON.stringify({ids: encoding.getIds(), offsets, type_ids: encoding.getTypeIds(),
                               special: encoding.getSpecialTokensMask()}));
    });
  }
  process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
