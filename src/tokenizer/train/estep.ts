// The E step of Unigram training over one share of the texts, in a form a worker thread can
// run: plain typed arrays in, expected counts out.
//
// The library runs its E step on `num_threads` threads, thread n taking texts n, n + T,
// n + 2T, … into its own float vector, and then adds the vectors up in thread order. Float sums
// depend on their order, so we keep the same shards (shard n = texts t with t mod T = n) and
// add them up the same way, whether one thread or several compute them: the vocabulary then
// does not depend on how many cores ran the step. A lane computes several shards (those with
// n mod lanes = lane), reading its texts in increasing order, so each shard's sum runs in the
// same order as the library's thread.
import type { CandidateArrays } from "./candidates.js";
import { Lattice, type LatticeModel } from "./lattice.js";

/** One lane's answer: its shards' expected counts and its part of the objective. */
export interface LaneCounts {
  /** The shard numbers this lane computed, increasing. */
  shards: number[];
  /** expected[i]: expected count of each piece over the texts of shards[i]. */
  expected: Float32Array[];
  /** -sum(freq x log Z) / totalFreq over this lane's texts. */
  objective: number;
}

export function laneExpectedCounts(
  texts: CandidateArrays,
  freq: Float64Array,
  model: LatticeModel,
  numShards: number,
  lanes: number,
  lane: number,
): LaneCounts {
  const vocabSize = model.scores.length;
  const shards: number[] = [];
  const byShard: Array<Float32Array | null> = new Array(numShards).fill(null);
  for (let n = lane; n < numShards; n += lanes) {
    shards.push(n);
    byShard[n] = new Float32Array(vocabSize);
  }
  let all = 0;
  for (let t = 0; t < freq.length; t++) all += freq[t]!;
  const lattice = new Lattice();
  let objective = 0;
  const numTexts = texts.lengths.length;
  for (let t = 0; t < numTexts; t++) {
    const expected = byShard[t % numShards];
    if (!expected) continue; // another lane's shard
    lattice.build(texts, t, model);
    const z = lattice.addMarginals(freq[t]!, expected);
    if (Number.isNaN(z)) throw new Error("Unigram trainer: likelihood is NaN (a sentence may be too long)");
    objective -= z / all;
  }
  return { shards, expected: shards.map((n) => byShard[n]!), objective };
}

/** The lanes' shards added up in shard order, as the library merges its threads' vectors. */
export function mergeShards(lanes: LaneCounts[], vocabSize: number): Float32Array {
  const byShard: Float32Array[] = [];
  for (const l of lanes) l.shards.forEach((n, i) => (byShard[n] = l.expected[i]!));
  const total = byShard[0] ?? new Float32Array(vocabSize);
  for (let n = 1; n < byShard.length; n++) {
    const e = byShard[n]!;
    for (let k = 0; k < vocabSize; k++) total[k] = total[k]! + e[k]!;
  }
  return total;
}

/** One lane's Viterbi segmentations, shard by shard: the pieces in order, and their texts. */
export interface LanePaths {
  /** The shard numbers this lane computed, increasing. */
  shards: number[];
  /** pieces[i]: the pieces of the best segmentations of shards[i]'s texts, text after text. */
  pieces: Int32Array[];
  /** texts[i][j]: the text pieces[i][j] was found in. */
  texts: Int32Array[];
}

/**
 * The best segmentation of each text of this lane's shards (pruning counts them). The
 * caller adds them up shard by shard, in the library's order.
 */
export function laneViterbiPaths(texts: CandidateArrays, model: LatticeModel, numShards: number, lanes: number, lane: number): LanePaths {
  const shards: number[] = [];
  const pieces: number[][] = new Array(numShards);
  const from: number[][] = new Array(numShards);
  for (let n = lane; n < numShards; n += lanes) {
    shards.push(n);
    pieces[n] = [];
    from[n] = [];
  }
  const lattice = new Lattice();
  const numTexts = texts.lengths.length;
  for (let t = 0; t < numTexts; t++) {
    const n = t % numShards;
    const out = pieces[n];
    if (!out) continue; // another lane's shard
    lattice.build(texts, t, model);
    for (const k of lattice.viterbi()) {
      out.push(lattice.piece[k]!);
      from[n]!.push(t);
    }
  }
  return {
    shards,
    pieces: shards.map((n) => Int32Array.from(pieces[n]!)),
    texts: shards.map((n) => Int32Array.from(from[n]!)),
  };
}
