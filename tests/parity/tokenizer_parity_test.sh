#!/usr/bin/env bash
# Tokenizer parity: qkv's Tokenizer against Hugging Face tokenizers (the Rust library, @anush008/tokenizers
# from scripts/install_node_tools.sh) on a generated adversarial multilingual corpus (make_corpus.py, fixed
# seed), for every tokenizer.json the repository ships (models/*/, tests/data/**/: WordPiece, byte-level
# BPE, Unigram) and for variants of three of them: models/bert-tiny-random's normalizer (cased; uncased
# without accent stripping, clean_text or CJK handling); tests/data/tokenizers/roberta-bpe-tiny's merges as
# "a b" strings, its ByteLevel add_prefix_space with and without trim_offsets, and without the GPT-2 split
# (with an rstrip added token); tests/data/tokenizers/xlmr-unigram-tiny's Metaspace prepend_scheme "first",
# the legacy add_prefix_space, and Precompiled alone; and, on the first QKV_PARITY_EXTRA_COUNT texts, the
# extra variants below (added tokens' flags, normalizers, pre-tokenizers as real Hugging Face files hold
# them). Every id sequence, byte offset, type id and special-token mask must be identical.
# Usage: tokenizer_parity_test.sh SOURCE_DIR BINARY_DIR
#   exit 77 = skipped: node or the package missing and QKV_REQUIRE_HF_TOKENIZERS unset.
#   QKV_PARITY_SEED / QKV_PARITY_COUNT: another corpus (default seed 20261201, 10000 texts).
#   QKV_PARITY_EXTRA_COUNT: texts for the extra variants (default 1000).
#   QKV_PARITY_ONLY: a bash regex; only the tokenizers whose name (path, '/' as '_') matches run.
set -euo pipefail
src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
here="$src/tests/parity"
npm_dir="${QKV_NPM_DIR:-$src/build/npm}"
tool="$bin/tests/qkv_tokenize_jsonl"
work="$bin/tests/parity"

if ! command -v node >/dev/null || [[ ! -f "$npm_dir/node_modules/@anush008/tokenizers/package.json" ]]; then
  [[ "${QKV_REQUIRE_HF_TOKENIZERS:-0}" == 1 ]] && { echo "FAIL: node or $npm_dir/node_modules/@anush008/tokenizers missing (scripts/install_node_tools.sh)"; exit 1; }
  echo "SKIP: node or @anush008/tokenizers not installed (scripts/install_node_tools.sh)"; exit 77
fi
[[ -x "$tool" ]] || { echo "FAIL: $tool is not built"; exit 1; }
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3

rm -rf "$work"
mkdir -p "$work"
"$python" "$here/make_corpus.py" --seed "${QKV_PARITY_SEED:-20261201}" --count "${QKV_PARITY_COUNT:-10000}" \
  >"$work/corpus.jsonl"

mapfile -t found < <(cd "$src" && find models tests/data -name '*tokenizer.json' -type f | sort)
# A directory whose tokenizer files (tokenizer.json, vocab.txt, tokenizer_config.json) repeat an earlier
# one's byte for byte tokenizes the same: checked once (tests/data/hub/ has such pairs).
declare -A seen=()
tokenizers=()
for t in "${found[@]}"; do
  d=$(dirname "$src/$t")
  key=$({ cat "$src/$t"; for f in vocab.txt tokenizer_config.json; do [[ -f "$d/$f" ]] && cat "$d/$f"; done; true; } |
        sha256sum | cut -d' ' -f1)
  [[ -n "${seen[$key]:-}" ]] && continue
  seen[$key]=1
  tokenizers+=("$t")
done
[[ ${#tokenizers[@]} -gt 0 ]] || { echo "FAIL: no tokenizer.json under models/ or tests/data/"; exit 1; }
# The variants: a tokenizer.json alone in a directory (qkv then reads the vocabulary from it too), made by
# running a Python statement on the loaded JSON `t`.
bert="$src/models/bert-tiny-random/tokenizer.json"
bpe="$src/tests/data/tokenizers/roberta-bpe-tiny/tokenizer.json"
unigram="$src/tests/data/tokenizers/xlmr-unigram-tiny/tokenizer.json"
variants=(
  "cased|$bert|t['normalizer'].update(lowercase=False)"
  "bare|$bert|t['normalizer'].update(lowercase=True, strip_accents=False, clean_text=False, handle_chinese_chars=False)"
  "bpe-string-merges|$bpe|t['model']['merges'] = [' '.join(m) for m in t['model']['merges']]"
  "bpe-prefix-space|$bpe|t['pre_tokenizer']['add_prefix_space'] = True; t['post_processor']['add_prefix_space'] = True"
  "bpe-prefix-untrimmed|$bpe|t['pre_tokenizer']['add_prefix_space'] = True; t['post_processor']['trim_offsets'] = False"
  "bpe-no-regex|$bpe|t['pre_tokenizer']['use_regex'] = False; t['added_tokens'][-1]['rstrip'] = True"
  "unigram-prepend-first|$unigram|t['pre_tokenizer']['prepend_scheme'] = 'first'"
  "unigram-legacy-prefix|$unigram|del t['pre_tokenizer']['prepend_scheme']; t['pre_tokenizer']['add_prefix_space'] = True"
  "unigram-precompiled-only|$unigram|t['normalizer'] = t['normalizer']['normalizers'][0]"
)
# Variants for what real Hugging Face files hold beyond the fixtures (added tokens' lstrip / rstrip /
# single_word / normalized, the normalizers and pre-tokenizers converters emit), on the first
# QKV_PARITY_EXTRA_COUNT texts (default 1000), several settings a variant, to keep CI cheap.
A="t['added_tokens']"
new_token="lambda content, **flags: dict(id=max(a['id'] for a in $A) + 1, content=content, single_word=False, lstrip=False, rstrip=False, normalized=True, special=False) | flags"
extra_variants=(
  "wp-added-flags-pre-sequence|$bert|n = $new_token; $A[4].update(lstrip=True, rstrip=True); $A[3].update(single_word=True); $A[2].update(lstrip=True, single_word=True, rstrip=True); $A.append(n('World', lstrip=True)); $A.append(n('\u00c9L', single_word=True)); $A.append(n('[mask]', rstrip=True)); t['pre_tokenizer'] = dict(type='Sequence', pretokenizers=[dict(type='WhitespaceSplit'), dict(type='Punctuation', behavior='Isolated')])"
  "bpe-added-flags-nfkc-lowercase|$bpe|n = $new_token; $A[2].update(rstrip=True, single_word=True); $A[0].update(single_word=True); $A.append(n('world', single_word=True)); $A.append(n('ing', lstrip=True, rstrip=True)); $A.append(n('</s><', normalized=False, lstrip=True)); t['normalizer'] = dict(type='Sequence', normalizers=[dict(type='NFKC'), dict(type='Lowercase')])"
  "bpe-nfd-strip-accents-punctuation-digits|$bpe|t['normalizer'] = dict(type='Sequence', normalizers=[dict(type='NFD'), dict(type='StripAccents'), dict(type='Strip', strip_left=True, strip_right=True)]); t['pre_tokenizer'] = dict(type='Sequence', pretokenizers=[dict(type='Punctuation', behavior='Isolated'), dict(type='Digits', individual_digits=True), dict(type='ByteLevel', add_prefix_space=False, trim_offsets=True, use_regex=False)])"
  "bpe-nfkd-whitespace|$bpe|t['normalizer'] = dict(type='NFKD'); t['pre_tokenizer'] = dict(type='Sequence', pretokenizers=[dict(type='Whitespace'), dict(type='ByteLevel', add_prefix_space=True, trim_offsets=True, use_regex=False)])"
  "bpe-nfc-bert-pre|$bpe|t['normalizer'] = dict(type='NFC'); t['pre_tokenizer'] = dict(type='Sequence', pretokenizers=[dict(type='BertPreTokenizer'), dict(type='ByteLevel', add_prefix_space=False, trim_offsets=True, use_regex=False)])"
  "bpe-split-gpt2|$bpe|t['pre_tokenizer'] = dict(type='Sequence', pretokenizers=[dict(type='Split', pattern=dict(Regex=r\"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+\"), behavior='Isolated', invert=False), dict(type='ByteLevel', add_prefix_space=False, trim_offsets=True, use_regex=False)])"
  "bpe-split-clip|$bpe|t['pre_tokenizer'] = dict(type='Sequence', pretokenizers=[dict(type='Split', pattern=dict(Regex=r\"'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+\"), behavior='Removed', invert=True), dict(type='ByteLevel', add_prefix_space=False, trim_offsets=True, use_regex=False)])"
  "bpe-split-behaviors|$bpe|t['pre_tokenizer'] = dict(type='Sequence', pretokenizers=[dict(type='Split', pattern=dict(String='e'), behavior='MergedWithNext', invert=False), dict(type='Punctuation', behavior='MergedWithPrevious'), dict(type='Digits', individual_digits=False), dict(type='Split', pattern=dict(String='an'), behavior='Contiguous', invert=False), dict(type='ByteLevel', add_prefix_space=False, trim_offsets=True, use_regex=False)])"
  "unigram-converter-added-flags|$unigram|t['normalizer']['normalizers'][1:] = [dict(type='Strip', strip_left=False, strip_right=True), dict(type='Replace', pattern=dict(Regex=' {2,}'), content='\u2581')]; n = $new_token; $A[2].update(rstrip=True); $A[0].update(single_word=True, lstrip=True); $A.append(n('\ufb01ne', lstrip=True)); $A.append(n('world', single_word=True, rstrip=True)); $A.append(n('\u2581\u2581', normalized=False))"
  "unigram-nfc-prepend|$unigram|t['normalizer'] = dict(type='Sequence', normalizers=[dict(type='NFC'), dict(type='Strip', strip_left=True, strip_right=False), dict(type='Prepend', prepend='\u2581'), dict(type='Replace', pattern=dict(String=' '), content='\u2581')]); t['pre_tokenizer'].update(prepend_scheme='never')"
  "unigram-whitespace-split|$unigram|t['pre_tokenizer'] = dict(type='Sequence', pretokenizers=[dict(type='WhitespaceSplit'), dict(type='Punctuation', behavior='Removed'), dict(type='Metaspace', replacement='\u2581', prepend_scheme='first', split=True)])"
)
for variant in "${variants[@]}" "${extra_variants[@]}"; do
  IFS='|' read -r name base statement <<<"$variant"
  mkdir -p "$work/$name"
  "$python" -c 'import json, sys
t = json.load(open(sys.argv[1], encoding="utf-8")); exec(sys.argv[2])
json.dump(t, open(sys.argv[3], "w", encoding="utf-8"))' "$base" "$statement" "$work/$name/tokenizer.json"
  tokenizers+=("$work/$name/tokenizer.json")
done
extra_from=$(( ${#tokenizers[@]} - ${#extra_variants[@]} ))
head -n "${QKV_PARITY_EXTRA_COUNT:-1000}" "$work/corpus.jsonl" >"$work/corpus-extra.jsonl"
failed=0
for index in "${!tokenizers[@]}"; do
  tokenizer_json=${tokenizers[$index]}
  corpus="$work/corpus.jsonl"
  [[ $index -lt $extra_from ]] || corpus="$work/corpus-extra.jsonl"
  [[ "$tokenizer_json" == /* ]] || tokenizer_json="$src/$tokenizer_json"
  name=${tokenizer_json#"$src/"}
  name=${name//\//_}
  [[ -z "${QKV_PARITY_ONLY:-}" || "$name" =~ $QKV_PARITY_ONLY ]] || continue
  NODE_PATH="$npm_dir/node_modules" node "$here/hf_tokenize.js" "$tokenizer_json" \
    <"$corpus" >"$work/$name.hf.jsonl"
  # qkv reads the model directory, as the server does (vocab and options from the files beside).
  "$tool" "$(dirname "$tokenizer_json")" <"$corpus" >"$work/$name.qkv.jsonl"
  "$python" "$here/compare.py" "${tokenizer_json#"$src/"}" "$corpus" "$work/$name.hf.jsonl" \
    "$work/$name.qkv.jsonl" || failed=1
done
[[ $failed == 0 ]] || { echo "FAIL: qkv's tokenization differs from Hugging Face tokenizers'"; exit 1; }
echo "tokenizer parity: ${#tokenizers[@]} tokenizers, all identical"
