#!/usr/bin/env python3
"""Generates core/unicode_hf_tables.inc: where Hugging Face tokenizers' character classes differ from ICU's.

qkv's BERT tokenizer takes its character classes from ICU (the system's libicuuc), and Hugging Face tokenizers
(the Rust library, the reference for token ids) takes them from other tables:
  - the `unicode_categories` crate: is_other (clean_text), is_punctuation (BertPreTokenizer),
    is_mark_nonspacing (strip_accents). Its tables are Unicode 8.0's (U+08E2, Cf since 9.0, is unknown to
    it), and it has no Cn class, so unassigned code points are ordinary letters to HF.
  - `unicode-normalization-alignments` 0.1.12: the NFD of strip_accents, Unicode 9.0's decompositions and
    canonical combining classes (U+11938, which decomposes since 13.0, does not decompose there).
  - Rust's std of the rustc that built the binding: char::is_whitespace and char::to_lowercase, newer than
    ICU 72's Unicode 15.0 for @anush008/tokenizers 0.6.0 (U+A7CB lowercases to U+0264 there).
  - its own is_chinese_char ranges (tokenizers/src/normalizers/bert.rs).
This script asks the reference itself: scripts/unicode/hf_probe.js runs every Unicode scalar value through
@anush008/tokenizers (the version that scripts/install_node_tools.sh pins, the one the parity test compares
against), and this script compares each answer with what ICU (loaded with ctypes: the library qkv links)
says. The output lists only the differences, as flips of ICU's answer, and HF's own CJK ranges; everything
else stays ICU's. It also checks that the probed behaviour is consistent with that model (NFD then dropping
Mn, canonical classes that agree where both know the code point) and fails loudly where it is not.

Usage: scripts/unicode/generate_tables.py [NPM_DIR [PROBE_TSV]]     (default NPM_DIR: build/npm)
PROBE_TSV: a saved output of hf_probe.js, read instead of running it again.
Rerun it when the pinned @anush008/tokenizers or the ICU major version changes; tests/parity
(ctest qkv_tokenizer_parity) then shows whether qkv still agrees.
"""
import ctypes
import ctypes.util
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(ROOT, "core", "unicode_hf_tables.inc")

# ICU's UCharCategory values (unicode/uchar.h).
NON_SPACING_MARK = 6
MARK_CATEGORIES = {6, 7, 8}  # Mn Me Mc
DECIMAL_NUMBER = 9
NUMBER_CATEGORIES = {9, 10, 11}  # Nd Nl No
CONNECTOR_PUNCTUATION = 22
UCHAR_ALPHABETIC = 0
UCHAR_JOIN_CONTROL = 20
OTHER_CATEGORIES = {15, 16, 17, 18}  # Cc Cf Co Cs (not Cn: HF's tables have no unassigned class)
PUNCTUATION_CATEGORIES = {19, 20, 21, 22, 23, 28, 29}  # Pd Ps Pe Pc Po Pi Pf
UCHAR_WHITE_SPACE = 31


class Icu:
    """The few ICU C functions qkv's unicode_text.cc calls, through ctypes."""

    def __init__(self):
        name = ctypes.util.find_library("icuuc")
        match = re.search(r"\.so\.(\d+)", name or "")
        if not match:
            sys.exit("generate_tables.py: libicuuc not found")
        self.major = int(match.group(1))
        lib = ctypes.CDLL(name)
        fn = lambda n: getattr(lib, "%s_%d" % (n, self.major))
        self._char_type = fn("u_charType")
        self._char_type.restype = ctypes.c_int8
        self._binary = fn("u_hasBinaryProperty")
        self._binary.restype = ctypes.c_int8
        self._char_age = fn("u_charAge")
        self._ccc = fn("u_getCombiningClass")
        self._ccc.restype = ctypes.c_uint8
        self._to_lower = fn("u_strToLower")
        self._to_lower.restype = ctypes.c_int32
        self._decomposition = fn("unorm2_getDecomposition")
        self._decomposition.restype = ctypes.c_int32
        get_nfd = fn("unorm2_getNFDInstance")
        get_nfd.restype = ctypes.c_void_p
        error = ctypes.c_int(0)
        self._nfd = ctypes.c_void_p(get_nfd(ctypes.byref(error)))
        assert error.value <= 0, error.value
        version = (ctypes.c_uint8 * 4)()
        fn("u_getUnicodeVersion")(version)
        self.unicode_version = "%d.%d" % (version[0], version[1])
        ver = (ctypes.c_uint8 * 4)()
        fn("u_getVersion")(ver)
        self.version = "%d.%d" % (ver[0], ver[1])

    def category(self, c):
        return self._char_type(c)

    def age_major(self, c):
        """The major Unicode version that assigned c; 0 when unassigned."""
        age = (ctypes.c_uint8 * 4)()
        self._char_age(c, age)
        return age[0]

    def regex_word(self, c):
        """\\w as core/added_tokens.cc's IsRegexWordChar takes it from ICU."""
        return (bool(self._binary(c, UCHAR_ALPHABETIC)) or bool(self._binary(c, UCHAR_JOIN_CONTROL)) or
                self.category(c) in MARK_CATEGORIES | {DECIMAL_NUMBER, CONNECTOR_PUNCTUATION})

    def white_space(self, c):
        return bool(self._binary(c, UCHAR_WHITE_SPACE))

    def combining_class(self, c):
        return self._ccc(c)

    def lowercase(self, c):
        src = _utf16(c)
        dest = (ctypes.c_uint16 * 16)()
        error = ctypes.c_int(0)
        n = self._to_lower(dest, 16, (ctypes.c_uint16 * len(src))(*src), len(src), b"", ctypes.byref(error))
        assert error.value <= 0 and n <= 16, (c, error.value)
        return _from_utf16(dest[:n])

    def decomposition(self, c):
        dest = (ctypes.c_uint16 * 32)()
        error = ctypes.c_int(0)
        n = self._decomposition(self._nfd, c, dest, 32, ctypes.byref(error))
        if error.value > 0 or n < 0:
            return [c]
        return _from_utf16(dest[:n])


def _utf16(c):
    if c < 0x10000:
        return [c]
    c -= 0x10000
    return [0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF)]


def _from_utf16(units):
    out, i = [], 0
    while i < len(units):
        u = units[i]
        if 0xD800 <= u < 0xDC00 and i + 1 < len(units):
            out.append(0x10000 + ((u - 0xD800) << 10) + (units[i + 1] - 0xDC00))
            i += 2
        else:
            out.append(u)
            i += 1
    return out


def _ascii_punctuation(c):
    return 33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126


def _parse_hex(field):
    return [] if field == "-" else [int(x, 16) for x in field.split("+")]


def probe(npm_dir, saved):
    """HF's answer for every scalar value: {code point: (clean, split, strip, lower, nfd, cjk, order, mark,
    word, numeric)}."""
    if saved:
        out = open(saved).read()
    else:
        env = dict(os.environ, NODE_PATH=os.path.join(npm_dir, "node_modules"))
        out = subprocess.run(["node", os.path.join(ROOT, "scripts", "unicode", "hf_probe.js")], env=env,
                             check=True, stdout=subprocess.PIPE, text=True).stdout
    table = {}
    for line in out.splitlines():
        cp, clean, split, strip, lower, nfd, cjk, order, mark, word, numeric = line.split("\t")
        table[int(cp, 16)] = (clean, split, _parse_hex(strip), _parse_hex(lower), _parse_hex(nfd),
                              cjk == "cjk", "" if order == "-" else order, mark == "M", word == "w",
                              numeric == "n")
    return table


def ranges(code_points):
    out = []
    for c in sorted(code_points):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def main():
    npm_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "npm"))
    package = json.load(open(os.path.join(npm_dir, "node_modules", "@anush008", "tokenizers", "package.json")))
    icu = Icu()
    hf = probe(npm_dir, sys.argv[2] if len(sys.argv) > 2 else None)
    default = lambda c: ("keep", "none", [c], [c], [c], False, "", False, False, False)

    other, white_space, punctuation, mark, ccc_zero, cjk = set(), set(), set(), set(), set(), set()
    decomposition, lowercase = {}, {}
    hf_mark = {}
    combining_mark, word_char, numeric_char = set(), set(), set()
    problems = []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        clean, split, strip, lower, nfd, is_cjk, order, is_mark, is_word, is_numeric = hf.get(c, None) or default(c)
        category = icu.category(c)
        if is_mark != (category in MARK_CATEGORIES and icu.age_major(c) in range(1, 10)):
            combining_mark.add(c)
        if is_word != icu.regex_word(c):
            word_char.add(c)
        if is_numeric != (category in NUMBER_CATEGORIES):
            numeric_char.add(c)
        # clean_text drops NUL, U+FFFD and is_other (not \t \n \r); maps is_whitespace to ' '.
        hf_other = clean == "drop" and c != 0xFFFD  # U+FFFD is So; clean_text drops it by name
        icu_other = category in OTHER_CATEGORIES and c not in (9, 10, 13)
        if hf_other != icu_other:
            other.add(c)
        hf_space = split == "space"
        if (clean == "space" or c == 0x20) != (hf_space and not hf_other):
            problems.append("U+%04X: clean_text whitespace and pre-tokenizer whitespace differ" % c)
        if hf_space != icu.white_space(c):
            white_space.add(c)
        hf_punct = split == "punct"
        if hf_punct != (_ascii_punctuation(c) or category in PUNCTUATION_CATEGORIES):
            punctuation.add(c)
        if is_cjk:
            cjk.add(c)
        if nfd != icu.decomposition(c):
            decomposition[c] = nfd
        if lower != icu.lowercase(c):
            lowercase[c] = lower
        if nfd == [c]:  # NFD-stable: strip_accents shows whether it is Mn, the order flags its class
            hf_mark[c] = strip == []
            if strip not in ([], [c]):
                problems.append("U+%04X: strip_accents of an NFD-stable code point gave %s" % (c, strip))
            if hf_mark[c] != (category == NON_SPACING_MARK):
                mark.add(c)
            ccc = icu.combining_class(c)
            if order:
                if ("a" in order) != (ccc > 1) or ("b" in order) != (0 < ccc < 230):
                    problems.append("U+%04X: canonical class flags %r but ICU's class is %d" % (c, order, ccc))
            elif ccc != 0:
                ccc_zero.add(c)
    # strip_accents must be NFD then dropping Mn, with the classes above.
    for c, (clean, split, strip, lower, nfd, is_cjk, order, _, _, _) in hf.items():
        expected = [d for d in nfd if not hf_mark.get(d, False)]
        if len(nfd) > 1 and strip != expected:
            problems.append("U+%04X: strip_accents gave %s, NFD minus Mn gives %s" % (c, strip, expected))
    if problems:
        sys.exit("generate_tables.py: HF's behaviour does not fit the model:\n  " + "\n  ".join(problems[:50]))
    write(package["version"], icu, other, white_space, punctuation, mark, ccc_zero, cjk, decomposition, lowercase,
          combining_mark, word_char, numeric_char)


def write(version, icu, other, white_space, punctuation, mark, ccc_zero, cjk, decomposition, lowercase,
          combining_mark, word_char, numeric_char):
    lines = [
        "// Generated by scripts/unicode/generate_tables.py: do not edit. Where Hugging Face tokenizers'",
        "// character classes (probed from @anush008/tokenizers %s) differ from ICU %s (Unicode %s)."
        % (version, icu.version, icu.unicode_version),
        "// Included by core/unicode_text.cc only. Ranges are inclusive and sorted.",
        "",
        "constexpr int kHfTablesIcuMajorVersion = %d;" % icu.major,
        "",
    ]

    def wrap(items):  # as many items a line as fit in 110 columns
        line = "   "
        for item in items:
            if len(line) + len(item) + 2 > 110:
                lines.append(line)
                line = "   "
            line += " " + item + ","
        if items:
            lines.append(line)

    def emit_ranges(name, comment, code_points):
        lines.append("// %s" % comment)
        items = ["{0x%04X, 0x%04X}" % (a, b) for a, b in ranges(code_points)]
        lines.append("constexpr std::array<CodePointRange, %d> %s = {{" % (len(items), name))
        wrap(items)
        lines.append("}};")
        lines.append("")

    def emit_mapping(name, comment, mapping):
        lines.append("// %s" % comment)
        lines.append("constexpr std::array<CodePointMapping, %d> %s = {{" % (len(mapping), name))
        items = []
        for c in sorted(mapping):
            target = mapping[c]
            assert len(target) <= 4, (c, target)
            items.append("{0x%04X, %d, {%s}}" % (c, len(target), ", ".join("0x%04X" % t for t in target)))
        wrap(items)
        lines.append("}};")
        lines.append("")

    emit_ranges("kOtherFlips", "is_other (Cc Cf Co Cs; clean_text drops them): HF's answer is the opposite of ICU's.",
                other)
    emit_ranges("kWhiteSpaceFlips", "char::is_whitespace: HF's answer is the opposite of ICU's White_Space.",
                white_space)
    emit_ranges("kPunctuationFlips", "ASCII or P* punctuation: HF's answer is the opposite of ICU's.", punctuation)
    emit_ranges("kNonspacingMarkFlips",
                "Mn (strip_accents drops them), among code points NFD leaves alone: HF's answer is the opposite.",
                mark)
    emit_ranges("kCombiningClassZero", "Canonical combining class 0 in HF's NFD tables, nonzero in ICU's.",
                ccc_zero)
    emit_ranges("kCjkIdeographs", "is_chinese_char: what handle_chinese_chars surrounds with spaces.", cjk)
    emit_mapping("kDecompositionOverrides", "NFD of one code point where HF's differs from ICU's.", decomposition)
    emit_mapping("kLowercaseOverrides", "char::to_lowercase where HF's differs from ICU's u_strToLower.",
                 lowercase)
    emit_ranges("kCombiningMarkFlips",
                "StripAccents' combining marks (M* assigned by Unicode 9.0 to ICU): HF's answer is the opposite.",
                combining_mark)
    emit_ranges("kWordCharFlips",
                "The regex crate's \\w (ICU: Alphabetic, M*, Nd, Pc, Join_Control): HF's answer is the opposite.",
                word_char)
    emit_ranges("kNumericFlips", "Rust's char::is_numeric (ICU: Nd, Nl, No): HF's answer is the opposite.",
                numeric_char)
    with open(OUTPUT, "w") as f:
        f.write("\n".join(lines))
    print("wrote %s: %d other, %d white space, %d punctuation, %d Mn, %d ccc, %d decomposition, %d lowercase"
          % (OUTPUT, len(other), len(white_space), len(punctuation), len(mark), len(ccc_zero), len(decomposition),
             len(lowercase)))


if __name__ == "__main__":
    main()
