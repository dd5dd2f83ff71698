// Prints how Hugging Face tokenizers (the Rust library, through @anush008/tokenizers) classifies every
// Unicode scalar value, for scripts/unicode/generate_tables.py. One line per code point whose behaviour is
// not the identity, tab-separated:
//   code point (hex), clean_text result (keep | drop | space), BertPreTokenizer split (none | space | punct),
//   strip_accents result, lowercase result, NFD (all three as hex code points joined by '+', '-' when
//   empty), 'cjk' when handle_chinese_chars isolates it ('-' otherwise),
//   canonical ordering flags: 'a' when the code point moves before a following U+0334 (ccc > 1), 'b' when a
//   preceding U+0301 moves after it (0 < ccc < 230),
//   'M' when the StripAccents normalizer drops it (a combining mark to unicode-normalization-alignments),
//   'w' when it is a word character (\w) to the regex crate, as an added token's single_word sees it,
//   'n' when the Digits pre-tokenizer isolates it (Rust's char::is_numeric).
// Usage: NODE_PATH=build/npm/node_modules node scripts/unicode/hf_probe.js > probe.tsv
"use strict";
const tk = require("@anush008/tokenizers");

function bert(options) {
  return tk.bertNormalizer(Object.assign(
      {cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false}, options));
}
const clean = bert({cleanText: true});
const strip = bert({stripAccents: true});
const lower = bert({lowercase: true});
const chinese = bert({handleChineseChars: true});
const nfd = tk.nfdNormalizer();
const pre = tk.bertPreTokenizer();

const hex = (s) => s.length === 0 ? "-" :
    Array.from(s, (ch) => ch.codePointAt(0).toString(16).toUpperCase()).join("+");

const stripAccents = tk.stripAccentsNormalizer();
const digits = tk.digitsPreTokenizer(true);
// A tokenizer whose single_word added token "#" matches after a code point unless it is \w.
const singleWord = tk.Tokenizer.fromString(JSON.stringify({
  version: "1.0", truncation: null, padding: null, normalizer: null, pre_tokenizer: null, post_processor: null,
  decoder: null, model: {type: "WordLevel", vocab: {"[UNK]": 0, "#": 1}, unk_token: "[UNK]"},
  added_tokens: [{id: 1, content: "#", single_word: true, lstrip: false, rstrip: false, normalized: false,
                  special: false}]}));

async function wordCharacters() {
  const scalars = [];
  for (let c = 0; c < 0x110000; ++c) if (c < 0xD800 || c > 0xDFFF) scalars.push(c);
  const words = new Set();
  for (let i = 0; i < scalars.length; i += 4096) {
    const part = scalars.slice(i, i + 4096);
    const encodings = await Promise.all(
        part.map((c) => singleWord.encode(String.fromCodePoint(c) + "#", null, {addSpecialTokens: false})));
    encodings.forEach((e, k) => {
      const ids = e.getIds();
      if (ids[ids.length - 1] !== 1) words.add(part[k]);
    });
  }
  return words;
}

async function main() {
const words = await wordCharacters();
const lines = [];
for (let c = 0; c < 0x110000; ++c) {
  if (c >= 0xD800 && c <= 0xDFFF) continue;  // not scalar values: cannot occur in UTF-8 text
  const s = String.fromCodePoint(c);
  const cleaned = clean.normalizeString(s);
  const cleanResult = cleaned === s ? "keep" : cleaned === "" ? "drop" : cleaned === " " ? "space" : null;
  if (cleanResult === null) throw new Error(`clean_text U+${c.toString(16)} gave ${hex(cleaned)}`);
  const pieces = pre.preTokenizeString("a" + s + "b").map((p) => p[0]);
  let split;
  if (pieces.length === 1 && pieces[0] === "a" + s + "b") split = "none";
  else if (pieces.length === 2 && pieces[0] === "a" && pieces[1] === "b") split = "space";
  else if (pieces.length === 3 && pieces[1] === s) split = "punct";
  else throw new Error(`pre-tokenizer U+${c.toString(16)} gave ${JSON.stringify(pieces)}`);
  const stripped = strip.normalizeString(s);
  const lowered = lower.normalizeString(s);
  const decomposed = nfd.normalizeString(s);
  const cjk = chinese.normalizeString(s) === " " + s + " ";
  let order = "";
  if (nfd.normalizeString(s + "\u0334") !== decomposed + "\u0334") order += "a";
  if (nfd.normalizeString("\u0301" + s) !== "\u0301" + decomposed) order += "b";
  const mark = stripAccents.normalizeString(s) === "";
  const word = words.has(c);
  const numeric = digits.preTokenizeString("a" + s + "b").length === 3;
  if (cleanResult !== "keep" || split !== "none" || stripped !== s || lowered !== s || decomposed !== s || cjk ||
      order !== "" || mark || word || numeric) {
    lines.push([c.toString(16).toUpperCase(), cleanResult, split, hex(stripped), hex(lowered), hex(decomposed),
                cjk ? "cjk" : "-", order || "-", mark ? "M" : "-", word ? "w" : "-", numeric ? "n" : "-"].join("\t"));
  }
}
process.stdout.write(lines.join("\n") + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
