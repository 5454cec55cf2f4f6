// Seeded random strings for differential tokenizer tests: runs of words, digits, whitespace
// (including Unicode spaces), many scripts, emoji sequences, punctuation, contractions and the
// text of special tokens (whole and cut short), mixed in random order.
import { rng } from "../helpers/random.js";

const POOLS: string[][] = [
  ["the", "The", "HELLO", "world", "tokenizer", "Straße", "naïve", "café", "don", "I", "x", "a"],
  ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "n't"],
  ["0", "7", "42", "123", "2024", "3.14", "1,000,000", "٣٤٥", "१२३", "１２３"],
  [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2003", "\u0085", "\ufeff", "\u200b"],
  [
    "안녕하세요",
    "한국어",
    "토크나이저",
    "日本語",
    "テキスト",
    "ひらがな",
    "中文字符",
    "汉字",
    "Привет",
    "мир",
    "مرحبا",
    "שלום",
    "नमस्ते",
    "ภาษาไทย",
    "Ελληνικά",
    "ễ",
    "e\u0301",
  ],
  ["🎉", "👍🏽", "👨‍👩‍👧‍👦", "🇰🇷", "❤️", "😀😃", "🤖", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "🀄"],
  [
    ".",
    ",",
    "!",
    "?",
    "...",
    "—",
    "–",
    '"',
    "'",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    "/",
    "\\",
    "#",
    "@",
    "$",
    "%",
    "&",
    "*",
    "_",
    "-",
    "+",
    "=",
    "|",
    "~",
    "`",
    "^",
    ":",
    ";",
    "«",
    "»",
    "“",
    "”",
    "、",
    "。",
  ],
  ["<", "<|", "|>", "<s>", "</s>", "<unk>", "<pad>", "▁", "Ġ", "<0x0A>"],
];

/** `count` strings from `seed`; `specials` are token texts to mix in (whole and cut short). */
export function randomTexts(seed: number, count: number, specials: readonly string[] = []): string[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r(0, xs.length))]!;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const parts = Math.floor(r(1, 12));
    let s = "";
    for (let j = 0; j < parts; j++) {
      const kind = Math.floor(r(0, POOLS.length + 2));
      if (kind < POOLS.length) s += pick(POOLS[kind]!);
      else if (kind === POOLS.length && specials.length > 0) {
        const sp = pick(specials);
        s += r(0, 1) < 0.7 ? sp : sp.slice(0, Math.max(1, Math.floor(r(0, sp.length))));
      } else s += randomCodePoint(r);
    }
    out.push(s);
  }
  return out;
}

/** A random scalar value: mostly the BMP (no surrogates), sometimes beyond. */
function randomCodePoint(r: (lo?: number, hi?: number) => number): string {
  for (;;) {
    const cp = r(0, 1) < 0.85 ? Math.floor(r(0x20, 0x3000)) : Math.floor(r(0x3000, 0x2ffff));
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    return String.fromCodePoint(cp);
  }
}
