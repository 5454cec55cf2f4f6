// Randomized differential test against the SentencePiece C++ library (python3-sentencepiece):
// 10,000 random strings mixing scripts, runs of spaces, tabs and newlines, emoji, NUL, lone
// surrogates, fullwidth and combining characters, digits and U+2581 itself, encoded by both on
// all five shared models; ids, pieces and the decoded ids must be equal.
//
// A JavaScript string may hold a lone surrogate, which has no UTF-8 form: tsgpt encodes it as
// U+FFFD, as TextEncoder does (the Python binding refuses such a string), so the library is
// given the string with each lone surrogate replaced by U+FFFD.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { rng } from "../helpers/random.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { MODELS, modelPath } from "./vector_cases.js";

const python = process.env.TSGPT_PYTHON ?? "/usr/bin/python3";
const COUNT = 10_000;

function skipUnlessSentencePiece(): false | string {
  const ok = existsSync(python) && spawnSync(python, ["-c", "import sentencepiece"], { stdio: "ignore" }).status === 0;
  return ok ? false : `the SentencePiece C++ library is not available (python3-sentencepiece via ${python}; set TSGPT_PYTHON)`;
}

/** Pools of characters the strings are drawn from, each a different hazard for a tokenizer. */
const POOLS: string[][] = [
  [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"],
  [..."0123456789"],
  [" ", " ", "  ", "   ", "\t", "\n", "\r\n", "\u3000", "\u00a0"],
  [..."한국어텍스트입니다가나다라마바사아자차카타파하뷁쀍"],
  [..."日本語の文章中文字符漢字"],
  [..."Привет мир Ελληνικά العربية עברית हिन्दी ไทย"],
  ["😀", "👍🏽", "👨‍👩‍👧", "🇰🇷", "🦀", "\u{1F600}\u{1F601}", "❤️"],
  ["\u0000", "\u0001", "\u007f", "\ud800", "\udfff", "\ud83d", "\ufffd", "\ufeff"],
  [..."ＡＢＣ１２３！？ｶﾀｶﾅ①②ﬁﬀ™㎏"],
  ["e\u0301", "n\u0303", "\u0301", "A\u030a", "\u1100\u1161", "<\u0338", "=\u0338", "\u0338"],
  [..."▁.,;:!?'\"()[]{}<>-_/\\@#$%^&*+=~`|"],
  ["the", "and", " of ", "ing", "tion", "Hello", " world", "<s>", "</s>", "<unk>", "<0x41>"],
];

function randomStrings(count: number, seed: number): string[] {
  const r = rng(seed);
  const pick = (n: number) => Math.floor(r(0, n));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const parts = 1 + pick(i % 10 === 0 ? 60 : 12);
    let s = "";
    for (let k = 0; k < parts; k++) {
      const pool = POOLS[pick(POOLS.length)]!;
      s += pool[pick(pool.length)]!;
    }
    out.push(s);
  }
  return out;
}

const REFERENCE = `
import json, sys, sentencepiece as spm
req = json.load(sys.stdin)
out = {}
for name, path in req["models"].items():
    sp = spm.SentencePieceProcessor(model_file=path)
    ids = [sp.encode(t, out_type=int) for t in req["texts"]]
    pieces = [sp.encode(t, out_type=str) for t in req["texts"]]
    out[name] = {"ids": ids, "pieces": pieces, "decoded": [sp.decode(x) for x in ids]}
sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False).encode("utf-8", "surrogatepass"))
`;

interface Reference {
  ids: number[][];
  pieces: string[][];
  decoded: string[];
}

const skip = skipUnlessSentencePiece() || skipUnlessShared("testdata", "tokenizer", "llama2.model");

test(`${COUNT} random strings encode and decode as the C++ library does, on all five shared models`, { skip }, () => {
  const texts = randomStrings(COUNT, 20240611);
  const wellFormed = texts.map(toWellFormed);
  const models = Object.fromEntries(MODELS.map((m) => [m, modelPath(m)]));
  const r = spawnSync(python, ["-c", REFERENCE], { input: JSON.stringify({ models, texts: wellFormed }), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`the reference script failed: ${r.stderr.toString()}`);
  const reference = JSON.parse(r.stdout.toString()) as Record<string, Reference>;

  for (const model of MODELS) {
    const sp = SentencePieceProcessor.load(modelPath(model));
    const ref = reference[model]!;
    let mismatches = 0;
    let first = "";
    for (let i = 0; i < texts.length; i++) {
      const ids = sp.encodeAsIds(texts[i]!);
      const pieces = sp.encodeAsPieces(texts[i]!);
      const decoded = sp.decode(ref.ids[i]!);
      const ok = sameArray(ids, ref.ids[i]!) && sameArray(pieces, ref.pieces[i]!) && decoded === ref.decoded[i];
      if (!ok && mismatches++ === 0) {
        first =
          `text ${JSON.stringify(texts[i])}\n  ids     ${JSON.stringify(ids)}\n  library ${JSON.stringify(ref.ids[i])}\n` +
          `  pieces  ${JSON.stringify(pieces)}\n  library ${JSON.stringify(ref.pieces[i])}\n  decoded ${JSON.stringify(decoded)} library ${JSON.stringify(ref.decoded[i])}`;
      }
    }
    assert.equal(mismatches, 0, `${model}: ${mismatches}/${texts.length} strings differ from the C++ library; first:\n${first}`);
  }
});

const LONG_REFERENCE = `
import json, sys, sentencepiece as spm
req = json.load(sys.stdin)
out = {}
for name, m in req.items():
    sp = spm.SentencePieceProcessor(model_file=m["path"])
    out[name] = [sp.encode(t, out_type=int) for t in m["texts"]]
json.dump(out, sys.stdout)
`;

const skipLong = skip || skipUnlessShared("testdata", "corpus", "heldout.txt");

// One long text is where float rounding decides: the library keeps Viterbi path scores as
// floats, whose ulp grows with the score (0.06 near -1e6, 1 near -1e7), so near-ties there break
// by rounding, and tsgpt's word memo must know where its margins no longer hold.
test("long texts (the held-out corpus as one text, and four times over; 2,000 random strings joined) encode as the C++ library does", {
  skip: skipLong,
}, () => {
  // The whole corpus (1 MB, and 4 MB: it repeated) for the Unigram model; the library's BPE is
  // too slow on it for a test, so BPE models get its first 64 kB.
  const heldout = readFileSync(sharedPath("testdata", "corpus", "heldout.txt"), "utf8");
  const random = randomStrings(2000, 777).map(toWellFormed).join(" ");
  const textsOf = (model: string) =>
    model.startsWith("unigram") ? [heldout, random, heldout.repeat(4)] : [heldout.slice(0, 65536), random];
  const models = Object.fromEntries(MODELS.map((m) => [m, { path: modelPath(m), texts: textsOf(m) }]));
  const r = spawnSync(python, ["-c", LONG_REFERENCE], { input: JSON.stringify(models), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`the reference script failed: ${r.stderr.toString()}`);
  const reference = JSON.parse(r.stdout.toString()) as Record<string, number[][]>;
  for (const model of MODELS) {
    const sp = SentencePieceProcessor.load(modelPath(model));
    textsOf(model).forEach((text, t) => {
      const ids = sp.encodeAsIds(text);
      const expected = reference[model]![t]!;
      const at = firstDifference(ids, expected);
      assert.equal(
        at,
        -1,
        `${model}, text ${t} (${text.length} chars): ids differ from the library at token ${at}: ${JSON.stringify(ids.slice(at, at + 8))} vs ${JSON.stringify(expected.slice(at, at + 8))}`,
      );
    });
  }
});

function firstDifference(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Each lone surrogate → U+FFFD (String.prototype.toWellFormed, which Node 20's TypeScript lib lacks). */
function toWellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

function sameArray<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
