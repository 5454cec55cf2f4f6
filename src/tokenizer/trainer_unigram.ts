// The SentencePiece Unigram trainer (unigram_model_trainer.cc):
//  1. Seed vocabulary: all characters and the frequent substrings (train/seed_pieces.ts).
//  2. EM: the E step segments every word in all possible ways (forward-backward over its
//     lattice) and collects the expected count of each piece; the M step turns counts into
//     log probabilities with the Bayesian (digamma) update and drops pieces expected < 0.5
//     times. `numSubIterations` EM steps per round.
//  3. Pruning: for each piece, how much would the likelihood drop if it were replaced by its
//     second-best segmentation? Keep the pieces that cost most, shrinking the vocabulary by
//     `shrinkingFactor` per round, until it is within 110% of the target.
//  4. Final vocabulary: the alphabet, then the best-scoring pieces, sorted by score.
import { CandidateTexts } from "./train/candidates.js";
import { mergeShards, type LanePaths } from "./train/estep.js";
import { EStepPool } from "./train/estep_pool.js";
import { Lattice, type LatticeModel } from "./train/lattice.js";
import { PieceTrie } from "./train/piece_trie.js";
import { makeSeedPieces, wordsSuffice } from "./train/seed_pieces.js";
import { sortedByValue } from "./train/order.js";
import { countWords, countWordsWithNext, wordsWithoutNext } from "./train/words.js";
import type { PieceRules } from "./train/piece_rules.js";
import type { Sentence } from "./train/sentences.js";

const f32 = Math.fround;

export interface UnigramInput {
  sentences: Sentence[];
  requiredChars: Array<[number, number]>;
  rules: PieceRules;
  vocabSize: number;
  metaCount: number;
  seedSentencepieceSize: number;
  shrinkingFactor: number;
  numSubIterations: number;
  /** The library's num_threads: the E step sums its counts in this many shards (train/estep.ts). */
  numThreads: number;
  /** split_by_whitespace: run EM on counted words instead of whole sentences. */
  splitIntoWords: boolean;
  treatWhitespaceAsSuffix: boolean;
  allowWhitespaceOnlyPieces: boolean;
  inputFormatTsv: boolean;
  onProgress?: (message: string) => void;
}

/** The library's digamma approximation. */
export function digamma(x: number): number {
  let result = 0;
  for (; x < 7; ++x) result -= 1 / x;
  x -= 1 / 2;
  const xx = 1 / x,
    xx2 = xx * xx,
    xx4 = xx2 * xx2;
  result += Math.log(x) + (1 / 24) * xx2 - (7 / 960) * xx4 + (31 / 8064) * xx4 * xx2 - (127 / 30720) * xx4 * xx4;
  return result;
}

/** The vocabulary during training: a subset of the seeds, in order, with scores. */
class Vocabulary implements LatticeModel {
  readonly pieceOfSeed: Int32Array;
  seeds: Int32Array = new Int32Array(0);
  scores: Float32Array = new Float32Array(0);
  unkScore = 0;
  minScore = 0;

  constructor(numSeeds: number) {
    this.pieceOfSeed = new Int32Array(numSeeds);
  }

  get size(): number {
    return this.seeds.length;
  }

  set(seeds: ArrayLike<number>, scores: ArrayLike<number>): void {
    this.seeds = Int32Array.from(seeds);
    this.scores = Float32Array.from(scores);
    this.pieceOfSeed.fill(-1);
    let min = Infinity;
    for (let i = 0; i < this.seeds.length; i++) {
      this.pieceOfSeed[this.seeds[i]!] = i;
      if (this.scores[i]! < min) min = this.scores[i]!;
    }
    this.minScore = min;
    this.unkScore = f32(min - 10);
  }
}

export async function trainUnigramPieces(input: UnigramInput): Promise<Array<[string, number]>> {
  const { rules, onProgress } = input;
  // With the default rules and every sentence once with frequency 1 (not TSV), the seed
  // search and EM count the same words: count them once.
  const shareWords = input.splitIntoWords && wordsSuffice(rules) && !input.inputFormatTsv && input.sentences.every((s) => s.freq === 1);
  const wordCounts = shareWords ? countWordsWithNext(input.sentences, () => 1) : undefined;
  const seeds = makeSeedPieces({
    sentences: input.sentences,
    rules,
    seedSentencepieceSize: input.seedSentencepieceSize,
    duplicateSentences: input.inputFormatTsv,
    wordCounts,
  });
  onProgress?.(`Unigram: ${seeds.length} seed pieces`);
  const seedText = seeds.map((s) => s[0]);
  const trie = new PieceTrie(seedText);

  const words = wordCounts
    ? wordsWithoutNext(wordCounts)
    : input.splitIntoWords
      ? countWords(input.sentences, input.treatWhitespaceAsSuffix, input.allowWhitespaceOnlyPieces)
      : input.sentences;
  const wordLattices = new CandidateTexts(
    words.map((w) => w.text),
    trie,
    rules.maxSentencepieceLength,
  );
  const wordFreq = Float64Array.from(words.map((w) => w.freq));
  const numShards = input.numThreads;
  const pool = new EStepPool(wordLattices, wordFreq, numShards);
  // The lattices of the pieces themselves (for pruning), made at the first pruning for the
  // pieces still there: the vocabulary only shrinks.
  let pieceLattices: PieceLattices | null = null;
  onProgress?.(`Unigram: EM on ${words.length} ${input.splitIntoWords ? "distinct words" : "sentences"}`);

  const vocab = new Vocabulary(seeds.length);
  vocab.set(
    seeds.map((_, i) => i),
    seeds.map((s) => s[1]),
  );
  const desired = Math.floor(input.vocabSize * 1.1);
  const lattice = new Lattice();
  try {
    for (let round = 0; ; round++) {
      for (let iter = 0; iter < input.numSubIterations; iter++) {
        const lanes = await pool.run(vocab);
        const objective = lanes.reduce((sum, l) => sum + l.objective, 0);
        mStep(vocab, mergeShards(lanes, vocab.size));
        onProgress?.(`Unigram: round ${round} EM ${iter}: ${vocab.size} pieces, objective ${objective.toFixed(4)}`);
      }
      if (vocab.size <= desired) break;
      pieceLattices ??= makePieceLattices(vocab.seeds, seedText, trie, rules.maxSentencepieceLength);
      await prune(vocab, pool, wordFreq, pieceLattices, lattice, desired, input.shrinkingFactor, numShards);
    }
  } finally {
    await pool.close();
  }
  return finalPieces(vocab, seedText, input);
}

/** Bayesian M step: drop pieces expected < 0.5 times, score = digamma(count) - digamma(total). */
function mStep(vocab: Vocabulary, expected: Float32Array): void {
  const seeds: number[] = [],
    counts: number[] = [];
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const c = expected[i]!;
    if (c < 0.5) continue;
    seeds.push(vocab.seeds[i]!);
    counts.push(c);
    sum = f32(sum + c);
  }
  const logsum = f32(digamma(sum));
  vocab.set(
    seeds,
    counts.map((c) => f32(digamma(c) - logsum)),
  );
}

/** Candidate lattices of some seed pieces' own texts. */
interface PieceLattices {
  texts: CandidateTexts;
  /** seed id → its text in `texts`, or -1. */
  textOfSeed: Int32Array;
}

function makePieceLattices(seeds: Int32Array, seedText: string[], trie: PieceTrie, maxLength: number): PieceLattices {
  const textOfSeed = new Int32Array(seedText.length).fill(-1);
  seeds.forEach((seed, i) => (textOfSeed[seed] = i));
  const texts = new CandidateTexts(
    Array.from(seeds, (seed) => seedText[seed]!),
    trie,
    maxLength,
  );
  return { texts, textOfSeed };
}

/** Keeps the pieces whose removal would cost most likelihood (PruneSentencePieces). */
async function prune(
  vocab: Vocabulary,
  pool: EStepPool,
  wordFreq: Float64Array,
  pieceTexts: PieceLattices,
  lattice: Lattice,
  desired: number,
  shrinkingFactor: number,
  numShards: number,
): Promise<void> {
  const size = vocab.size;
  // How each piece would be segmented without it: its second-best segmentation.
  const alwaysKeep = new Uint8Array(size).fill(1);
  const alternatives: number[][] = Array.from({ length: size }, () => []);
  for (let i = 0; i < size; i++) {
    lattice.build(pieceTexts.texts, pieceTexts.textOfSeed[vocab.seeds[i]!]!, vocab);
    const nbest = lattice.nBest(2);
    if (nbest.length === 1) continue;
    if (nbest[0]!.length >= 2)
      alwaysKeep[i] = 0; // its best segmentation splits it anyway
    else if (nbest[0]!.length === 1) for (const k of nbest[1]!) alternatives[i]!.push(lattice.piece[k]!);
  }

  // Viterbi counts over the corpus, in the library's shards (see train/estep.ts): freq adds
  // up each shard's counts, F[i] the frequencies of the words using piece i, shard by shard.
  const byShard: LanePaths[] = [];
  const shardIndex: number[] = [];
  for (const lane of await pool.viterbi(vocab))
    lane.shards.forEach((n, i) => {
      byShard[n] = lane;
      shardIndex[n] = i;
    });
  const freq = new Float32Array(size);
  const F = new Float32Array(size);
  const shardFreq = new Float32Array(size);
  let vsum = 0;
  for (let n = 0; n < numShards; n++) {
    shardFreq.fill(0);
    let shardSum = 0;
    for (let t = n; t < wordFreq.length; t += numShards) shardSum = f32(shardSum + wordFreq[t]!);
    const pieces = byShard[n]!.pieces[shardIndex[n]!]!,
      texts = byShard[n]!.texts[shardIndex[n]!]!;
    for (let j = 0; j < pieces.length; j++) {
      const p = pieces[j]!,
        f = wordFreq[texts[j]!]!;
      shardFreq[p] = shardFreq[p]! + f;
      F[p] = F[p]! + f;
    }
    vsum = f32(vsum + shardSum);
    for (let i = 0; i < size; i++) freq[i] = freq[i]! + shardFreq[i]!;
  }
  let sumD = 0;
  for (const f of freq) sumD += f;
  const sum = f32(sumD);
  const logsum = f32(Math.log(sum));

  const kept: number[] = [];
  const candidates: Array<[number, number]> = [];
  for (let i = 0; i < size; i++) {
    if (freq[i] === 0 || !alwaysKeep[i]) continue;
    const alt = alternatives[i]!;
    if (alt.length === 0) {
      kept.push(i);
      continue;
    }
    const share = f32(F[i]! / vsum);
    const logprobSp = f32(Math.log(freq[i]!) - logsum);
    const logsumAlt = f32(Math.log(f32(sum + f32(freq[i]! * (alt.length - 1)))));
    let logprobAlt = 0;
    for (const n of alt) {
      const fn = freq[n]!;
      logprobAlt = f32(logprobAlt + (Math.log(f32(fn + freq[i]!)) - logsumAlt));
    }
    candidates.push([i, f32(share * f32(logprobSp - logprobAlt))]);
  }
  const prunedSize = Math.max(desired, Math.trunc(f32(f32(shrinkingFactor) * size)));
  for (const [i] of sortedByValue(candidates)) {
    if (kept.length === prunedSize) break;
    kept.push(i);
  }
  vocab.set(
    kept.map((i) => vocab.seeds[i]!),
    kept.map((i) => vocab.scores[i]!),
  );
}

/** The alphabet (with a small penalty for characters the model lost), then the best pieces. */
function finalPieces(vocab: Vocabulary, seedText: string[], input: UnigramInput): Array<[string, number]> {
  const current = new Map<string, number>();
  for (let i = 0; i < vocab.size; i++) current.set(seedText[vocab.seeds[i]!]!, vocab.scores[i]!);
  const final = new Map<string, number>();
  let penalty = 0;
  for (const [c] of input.requiredChars) {
    const s = String.fromCodePoint(c);
    const score = current.get(s);
    if (score !== undefined) final.set(s, score);
    else {
      final.set(s, f32(vocab.minScore + penalty));
      penalty = f32(penalty + f32(0.0001));
    }
  }
  const room = input.vocabSize - input.metaCount;
  if (room <= 0) throw new Error(`vocabSize ${input.vocabSize} leaves no room beside ${input.metaCount} special pieces`);
  for (const [piece, score] of sortedByValue(current)) {
    if (final.has(piece)) continue;
    if (final.size === room) break;
    final.set(piece, score);
  }
  return sortedByValue(final);
}
