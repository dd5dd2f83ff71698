#!/usr/bin/env python3
"""Writes the tokenizer parity corpus: adversarial multilingual texts as JSON lines {"text", "pair"?}.

Deterministic for a seed (random.Random, no Unicode database lookups, so the same on every Python 3).
Each text mixes words that the fixtures' vocabularies know with the code points where tokenizers tend to
disagree: CJK ideographs (astral planes too), precomposed and combining accents, long stacks of combining
marks, controls and format characters, unassigned code points, emoji sequences (ZWJ, flags, skin tones,
keycaps, tags), long words around max_input_chars_per_word, every kind of white space, newer punctuation,
case mappings that expand or changed between Unicode versions, literal special-token text (BERT's and
RoBERTa's), contractions and numbers, and random code points from all seventeen planes. About a third of
the lines are text pairs.

Usage: make_corpus.py [--seed N] [--count N] > corpus.jsonl
"""
import argparse
import json
import random

WORDS = ("the of and to in is was for on that with as by at from his he it an are were which this be or "
         "hello world running unaffable house cat dog music city river time people year water school "
         "café naïve résumé über straße größe élève año niño garçon façade coöperate "
         "don't it's we'll they've I'd you're she'S 'll 2024 3.14 1,000 x86_64 e-mail").split()
FOREIGN = ["привет", "мир", "Москва", "γειά", "σου", "ΟΔΟΣ", "Ἀθῆναι", "مرحبا", "العالم", "שלום", "नमस्ते",
           "हिन्दी", "สวัสดี", "ภาษาไทย", "안녕하세요", "한국어", "こんにちは", "カタカナ", "日本語", "中文", "北京",
           "Tiếng Việt", "Đà Nẵng", "İstanbul", "ıi", "ǅemal", "Ǆ", "ﬁne", "ﬀ", "Ⅻ", "ⓐⒷ", "Ꭰꭰ", "ᲐᲑ", "ᾼᾳ",
           "ΣΑΣ", "ς", "ẞ", "K", "Å", "Ω", "ǰ", "ŉ", "ﬓ", "Ａｂｃ", "１２３", "ß", "ⅷ"]
SPECIALS = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "[mask]", "[ sep ]", "##ing", "##", "[CLS",
            "<s>", "</s>", "<pad>", "<unk>", "<mask>", " <mask> ", "\t<mask>\n", "<mask", "</s></s>", "\u2581",
            "\u2581\u2581x"]
WHITESPACE = [" ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0",
              "\u1680", "\u180e", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006",
              "\u2007", "\u2008", "\u2009", "\u200a", "\u200b", "\u2028", "\u2029", "\u202f", "\u205f",
              "\u3000", "\ufeff", "  ", " \t "]
CONTROLS = [0x00, 0x01, 0x07, 0x08, 0x1B, 0x7F, 0x80, 0x9F, 0xAD, 0x600, 0x605, 0x61C, 0x6DD, 0x70F, 0x890,
            0x891, 0x8E2, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202E, 0x2060, 0x2064,
            0x2066, 0x2069, 0xFEFF, 0xFFF9, 0xFFFB, 0xFFFD, 0x110BD, 0x110CD, 0x13430, 0x13438, 0x1343F,
            0x1BCA0, 0x1D173, 0x1D17A, 0xE0001, 0xE0020, 0xE007F, 0xE000, 0xF8FF, 0xF0000, 0x10FFFD]
UNASSIGNED = [(0x378, 0x379), (0x380, 0x383), (0x38B, 0x38B), (0x3A2, 0x3A2), (0x530, 0x530), (0x5C8, 0x5CF),
              (0xE3B, 0xE3E), (0xE5C, 0xE80), (0x1AFF, 0x1AFF), (0x2B74, 0x2B75), (0x9FFD, 0x9FFF),
              (0xFDD0, 0xFDEF), (0xFFF0, 0xFFF8), (0xFFFE, 0xFFFF), (0x1FFFE, 0x1FFFF), (0x2A6E0, 0x2A6FF),
              (0x2B81E, 0x2B8FF), (0x2EBF0, 0x2F7FF), (0x323B0, 0x3FFFF), (0x40000, 0xDFFFF),
              (0xE0080, 0xE00FF), (0x16FE5, 0x16FEF), (0x1E030, 0x1E08F)]
MARKS = [(0x300, 0x36F), (0x483, 0x489), (0x591, 0x5BD), (0x610, 0x61A), (0x64B, 0x65F), (0x7FD, 0x7FD),
         (0x898, 0x89F), (0x8CA, 0x8E1), (0x900, 0x903), (0x93A, 0x94F), (0x9FE, 0x9FE), (0xAFA, 0xAFF),
         (0xB55, 0xB55), (0xC3C, 0xC3C), (0xE31, 0xE3A), (0xE47, 0xE4E), (0xEBA, 0xECE), (0xF18, 0xF19),
         (0xF71, 0xF84), (0x1715, 0x1715), (0x1734, 0x1734), (0x1AB0, 0x1ACE), (0x1DC0, 0x1DFF),
         (0x20D0, 0x20F0), (0x302A, 0x302F), (0x3099, 0x309A), (0xA66F, 0xA672), (0xA82C, 0xA82C),
         (0xFE00, 0xFE0F), (0xFE20, 0xFE2F), (0x101FD, 0x101FD), (0x10D24, 0x10D27), (0x10EFD, 0x10EFF),
         (0x11000, 0x11002), (0x11070, 0x11070), (0x1133B, 0x1133C), (0x11930, 0x11943), (0x16F4F, 0x16F4F),
         (0x16FF0, 0x16FF1), (0x1CF00, 0x1CF46), (0x1D165, 0x1D169), (0x1D16D, 0x1D172), (0x1D17B, 0x1D182),
         (0x1E000, 0x1E02A), (0x1E08F, 0x1E08F), (0x1E4EC, 0x1E4EF), (0x1E944, 0x1E94A), (0xE0100, 0xE01EF)]
ACCENTED = [(0xC0, 0x24F), (0x386, 0x3CE), (0x400, 0x4FF), (0x1E00, 0x1EFF), (0x1F00, 0x1FFE), (0x2126, 0x212B),
            (0xFB00, 0xFB4F), (0x11938, 0x11938), (0x1109A, 0x1109A), (0x1D15E, 0x1D164), (0xAC00, 0xD7A3)]
CJK = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF), (0x2A700, 0x2B81F),
       (0x2B820, 0x2B92F), (0x2B920, 0x2CEAF), (0x2CEB0, 0x2EBEF), (0x2F800, 0x2FA1F), (0x30000, 0x323AF),
       (0x3000, 0x303F), (0x3040, 0x30FF), (0x2E80, 0x2FDF), (0xFF00, 0xFFEF), (0x1B000, 0x1B16F)]
PUNCTUATION = [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E), (0xA1, 0xBF), (0x55A, 0x55F),
               (0x589, 0x58A), (0x5BE, 0x5C6), (0x609, 0x61F), (0x66A, 0x66D), (0x964, 0x970), (0x9FD, 0x9FD),
               (0xA76, 0xA76), (0xC77, 0xC84), (0xE4F, 0xE5B), (0x166D, 0x166E), (0x1B5A, 0x1B60),
               (0x1B7D, 0x1B7F), (0x2010, 0x2027), (0x2030, 0x205E), (0x2E00, 0x2E5D), (0x3001, 0x3003),
               (0x3008, 0x3011), (0xFE10, 0xFE19), (0xFE30, 0xFE6B), (0xFF01, 0xFF0F), (0x10EAD, 0x10EAD),
               (0x10F55, 0x10F59), (0x11944, 0x11946), (0x11FFF, 0x11FFF), (0x16E97, 0x16E9A),
               (0x1E95E, 0x1E95F), (0x24, 0x24), (0x5E, 0x5E), (0x2044, 0x2044), (0x20AC, 0x20AC)]
CASE = [(0x41, 0x5A), (0x130, 0x130), (0x1C4, 0x1CC), (0x3A3, 0x3A3), (0x10A0, 0x10C5), (0x13A0, 0x13F5),
        (0x1C80, 0x1C8A), (0x1C90, 0x1CBF), (0x1E9E, 0x1E9E), (0x1F88, 0x1FAF), (0x2160, 0x216F),
        (0x24B6, 0x24CF), (0x2C00, 0x2C2F), (0xA640, 0xA66D), (0xA7C0, 0xA7DC), (0xFF21, 0xFF3A),
        (0x10400, 0x10427), (0x10570, 0x10595), (0x10C80, 0x10CB2), (0x10D50, 0x10D65), (0x118A0, 0x118BF),
        (0x16E40, 0x16E5F), (0x16EA0, 0x16EB8), (0x1E900, 0x1E921)]
EMOJI = ["\U0001F600", "\U0001F44D\U0001F3FD", "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466",
         "\U0001F1EF\U0001F1F5", "\U0001F1FA\U0001F1F8\U0001F1E9", "#\uFE0F\u20E3", "1\u20E3", "\u2764\uFE0F",
         "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", "\U0001F469\U0001F3FF\u200D\U0001F4BB",
         "\U0001F9D1\u200D\U0001F91D\u200D\U0001F9D1", "\u263A\uFE0E", "\U0001F3FB", "\u200D", "\U0001FAE8",
         "\U0001F6DC", "\U0001F977\U0001F3FE\u200D\u2642\uFE0F"]


class Corpus:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def pick_range(self, ranges):
        first, last = self.rng.choice(ranges)
        return chr(self.rng.randint(first, last))

    def any_code_point(self):
        # Uniform over the scalar values half the time, else over the planes that hold characters.
        if self.rng.random() < 0.5:
            c = self.rng.randint(0, 0x10FFFF)
        else:
            plane = self.rng.choice([0, 0, 0, 1, 1, 2, 3, 14, 15, 16])
            c = plane * 0x10000 + self.rng.randint(0, 0xFFFF)
        return chr(c if not 0xD800 <= c <= 0xDFFF else c + 0x800)

    def word(self):
        return self.rng.choice(WORDS) if self.rng.random() < 0.8 else self.rng.choice(FOREIGN)

    def odd(self):
        kind = self.rng.randrange(11)
        r = self.rng
        if kind == 0:
            return "".join(self.pick_range(CJK) for _ in range(r.randint(1, 4)))
        if kind == 1:
            return "".join(self.pick_range(ACCENTED) for _ in range(r.randint(1, 5)))
        if kind == 2:
            return "".join(self.pick_range(MARKS) for _ in range(r.choice([1, 1, 2, 3, 8, 40])))
        if kind == 3:
            return chr(r.choice(CONTROLS))
        if kind == 4:
            return self.pick_range(UNASSIGNED)
        if kind == 5:
            return r.choice(EMOJI)
        if kind == 6:
            return self.pick_range(PUNCTUATION)
        if kind == 7:
            return "".join(self.pick_range(CASE) for _ in range(r.randint(1, 3)))
        if kind == 8:
            return r.choice(SPECIALS)
        if kind == 9:
            return r.choice(WHITESPACE)
        return "".join(self.any_code_point() for _ in range(r.randint(1, 3)))

    def long_word(self):
        r = self.rng
        unit = r.choice(["a", "ab", "é", "e\u0301", "x", "İ", "\u00c5", "ǅ", "ﬃ", "\U00020000", "\u0378", "ᾼ"])
        length = r.choice([98, 99, 100, 101, 102, 150, 400]) // len(unit)
        word = unit * length
        if r.random() < 0.5:
            i = r.randrange(len(word) + 1)
            word = word[:i] + self.odd() + word[i:]
        return word

    def text(self):
        r = self.rng
        style = r.random()
        if style < 0.05:
            return ""
        if style < 0.12:
            return self.long_word()
        if style < 0.2:  # pure random code points
            return "".join(self.any_code_point() for _ in range(r.randint(1, 30)))
        parts = []
        for _ in range(r.randint(1, 12)):
            roll = r.random()
            if roll < 0.35:
                parts.append(self.word())
            elif roll < 0.6:  # an odd code point inside or beside a known word
                w = self.word()
                i = r.randrange(len(w) + 1)
                parts.append(w[:i] + self.odd() + w[i:])
            else:
                parts.append(self.odd())
            parts.append(r.choice(WHITESPACE) if r.random() < 0.8 else "")
        return "".join(parts)

    def line(self):
        item = {"text": self.text()}
        if self.rng.random() < 0.33:
            item["pair"] = self.text()
        return item


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--count", type=int, default=10000)
    args = parser.parse_args()
    corpus = Corpus(args.seed)
    for _ in range(args.count):
        print(json.dumps(corpus.line(), ensure_ascii=True))


if __name__ == "__main__":
    main()
