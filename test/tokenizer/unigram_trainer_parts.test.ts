// Parts of the Unigram trainer checked against slower, plainer versions of themselves:
// the seed substrings found in distinct words against those found in the whole corpus, the
// word counts against counting the words splitIntoWords returns, and the E step on worker
// threads against the same step on one thread (the counts must be equal bit for bit).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { branchingSubstrings, corpusText, wordText, type OccurrenceText } from "../../src/tokenizer/train/seed_pieces.js";
import { countWords, countWordsWithNext, splitIntoWords, wordsWithoutNext } from "../../src/tokenizer/train/words.js";
import { CandidateTexts } from "../../src/tokenizer/train/candidates.js";
import { PieceTrie } from "../../src/tokenizer/train/piece_trie.js";
import { EStepPool } from "../../src/tokenizer/train/estep_pool.js";
import { mergeShards } from "../../src/tokenizer/train/estep.js";
import type { PieceRules } from "../../src/tokenizer/train/piece_rules.js";
import type { Sentence } from "../../src/tokenizer/train/sentences.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const RULES: PieceRules = {
  maxSentencepieceLength: 16,
  splitByWhitespace: true,
  splitByUnicodeScript: true,
  splitByNumber: true,
  splitDigits: false,
  treatWhitespaceAsSuffix: false,
  allowWhitespaceOnlyPieces: false,
};

/** A small deterministic generator (xorshift32), so a failure can be replayed. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** Random sentences over a few characters: space symbols, letters, emoji, Hangul, digits, tab. */
function randomSentences(seed: number, count: number, alphabetSize: number): Sentence[] {
  const alphabet = ["\u2581", "a", "b", "c", "\u{1F600}", "가", "1", "\t", "ア"].slice(0, alphabetSize);
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    let text = "";
    for (let n = 1 + r(12); n > 0; n--) text += alphabet[r(alphabet.length)];
    return { text, freq: 1 + r(3) };
  });
}

/** substring → score of everything branchingSubstrings finds. */
function found(occ: OccurrenceText, rules = RULES): Map<string, number> {
  const f = branchingSubstrings(occ, rules);
  const m = new Map<string, number>();
  for (let i = 0; i < f.count; i++) {
    const s = String.fromCodePoint(...occ.text.subarray(f.offset[i]!, f.offset[i]! + f.length[i]!));
    assert.ok(!m.has(s), `substring ${JSON.stringify(s)} found twice`);
    m.set(s, f.score[i]!);
  }
  return m;
}

test("seed substrings: distinct words give the same nodes and scores as the whole corpus (random texts)", () => {
  let nonEmpty = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const sentences = randomSentences(seed, 30, 3 + (seed % 7));
    for (const duplicate of [false, true]) {
      const whole = found(corpusText(sentences, duplicate));
      assert.deepEqual(
        found(wordText(countWordsWithNext(sentences, () => (duplicate ? 2 : 1)))),
        whole,
        `seed ${seed}, duplicate ${duplicate}`,
      );
      if (whole.size > 0) nonEmpty++;
    }
  }
  assert.ok(nonEmpty > 300, `only ${nonEmpty} cases found any substring`);
});

test("seed substrings: distinct words give the same nodes as the whole corpus (2,000 lines of the shared corpus)", {
  skip: skipUnlessShared("testdata", "corpus", "train.txt"),
}, () => {
  const sentences = readFileSync(sharedPath("testdata", "corpus", "train.txt"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .slice(0, 2000)
    .map((l) => ({ text: `\u2581${l.replaceAll(" ", "\u2581")}`, freq: 1 }));
  const whole = found(corpusText(sentences, false));
  assert.ok(whole.size > 1000, `${whole.size} substrings`);
  assert.deepEqual(found(wordText(countWordsWithNext(sentences, () => 1))), whole);
});

test("seed substrings of the whole corpus: a known small case", () => {
  // "▁ab▁ab▁ac▁ab": "▁a" occurs 4 times, followed by b, b, c, b: a node, score 4 x 2. "▁ab" and
  // "ab" occur 3 times, followed by ▁, ▁ and the end: nodes, scores 3 x 3 and 3 x 2. "b▁a" is
  // a node too, but no piece ("▁" inside); "▁ac", "ac" occur once; "a" is too short.
  const m = found(corpusText([{ text: "\u2581ab\u2581ab\u2581ac\u2581ab", freq: 1 }], false));
  assert.deepEqual(
    new Map([
      ["\u2581a", 8],
      ["\u2581ab", 9],
      ["ab", 6],
    ]),
    m,
  );
});

test("countWords: the same words and counts as counting splitIntoWords's words", () => {
  for (let seed = 1; seed <= 50; seed++) {
    const sentences = randomSentences(seed, 200, 3 + (seed % 7));
    for (const [suffix, allowWs] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const expected = new Map<string, number>();
      for (const s of sentences) for (const w of splitIntoWords(s.text, suffix, allowWs)) expected.set(w, (expected.get(w) ?? 0) + s.freq);
      const got = countWords(sentences, suffix, allowWs);
      assert.deepEqual(new Map(got.map((w) => [w.text, w.freq])), expected, `seed ${seed}`);
      if (!suffix && !allowWs) assert.deepEqual(wordsWithoutNext(countWordsWithNext(sentences, (s) => s.freq)), got, `seed ${seed}`);
    }
  }
});

test("E step and Viterbi pass: worker threads give the same counts and paths as one thread, bit for bit", async () => {
  const sentences = randomSentences(7, 3000, 9);
  const words = countWords(sentences, false, false);
  const occ = wordText(countWordsWithNext(sentences, () => 1));
  const pieces = [..."\u2581abc\u{1F600}가1\tア", ...found(occ).keys()];
  const trie = new PieceTrie(pieces);
  const texts = new CandidateTexts(
    words.map((w) => w.text),
    trie,
    RULES.maxSentencepieceLength,
  );
  const freq = Float64Array.from(words.map((w) => w.freq));
  const r = rng(11);
  const scores = Float32Array.from(pieces, () => -1 - r(1000) / 100);
  const model = { pieceOfSeed: Int32Array.from(pieces, (_, i) => i), scores, unkScore: -20 };
  for (const numShards of [1, 2, 3]) {
    const counts: Float32Array[] = [];
    const paths: Array<Array<[Int32Array, Int32Array]>> = [];
    for (const threads of [1, 2, 3]) {
      const pool = new EStepPool(texts, freq, numShards, threads);
      assert.equal(pool.lanes, Math.min(threads, numShards));
      try {
        counts.push(mergeShards(await pool.run(model), pieces.length));
        counts.push(mergeShards(await pool.run(model), pieces.length)); // a second step on the same workers
        // The Viterbi segmentations, by shard.
        const byShard: Array<[Int32Array, Int32Array]> = [];
        for (const lane of await pool.viterbi(model)) lane.shards.forEach((n, i) => (byShard[n] = [lane.pieces[i]!, lane.texts[i]!]));
        paths.push(byShard);
      } finally {
        await pool.close();
      }
    }
    assert.ok(counts[0]!.some((c) => c > 0));
    for (const c of counts) assert.deepEqual(c, counts[0], `numShards ${numShards}`);
    assert.equal(paths[0]!.length, numShards);
    assert.ok(paths[0]![0]![0].length > 0);
    for (const p of paths) assert.deepEqual(p, paths[0], `numShards ${numShards}`);
  }
});
