// Unigram encoding as SentencePiece does it (unigram_model.cc): the segmentation whose piece
// scores (log probabilities) sum highest, found by Viterbi over all pieces that match at each
// character position. A character no piece covers becomes <unk> with score min_score - 10.
// User-defined symbols get a bonus (length * max_score - 0.1) so they always win.
// Scores are summed in float32, as in the library, so ties break the same way.

import { PieceType } from "./model_proto.js";
import { Segments } from "./segments.js";
import { oneCharLen } from "./utf8.js";
import type { EncodedPiece, Vocab } from "./vocab.js";

const UNK_PENALTY = 10;
const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;

/** One edge of the lattice: a piece covering bytes [begin, end). */
export interface LatticeNode {
  begin: number;
  end: number;
  id: number;
  score: number;
}

export class UnigramModel {
  readonly minScore: number;
  readonly maxScore: number;
  readonly unkScore: number;
  // Viterbi state, reused between texts: for each end byte, the best path's score, start, id.
  private bestScore = new Float64Array(256);
  private bestStart = new Int32Array(256);
  private bestId = new Int32Array(256);

  constructor(readonly vocab: Vocab) {
    let min = FLT_MAX,
      max = FLT_MIN;
    for (let i = 0; i < vocab.size; i++) {
      if (vocab.types[i] !== PieceType.NORMAL) continue;
      min = Math.min(min, vocab.scores[i]!);
      max = Math.max(max, vocab.scores[i]!);
    }
    this.minScore = min;
    this.maxScore = max;
    this.unkScore = Math.fround(min - UNK_PENALTY);
  }

  /** The score a piece contributes: user-defined symbols get their bonus. */
  private pieceScore(id: number, length: number): number {
    return this.vocab.types[id] === PieceType.USER_DEFINED ? Math.fround(length * this.maxScore) - 0.1 : this.vocab.scores[id]!;
  }

  /**
   * Every node of the lattice, grouped by start byte, in the order the library visits them
   * (by start, then by length). UNUSED pieces are left out; an <unk> node covers one character
   * wherever no single-character piece does.
   */
  lattice(bytes: Uint8Array): LatticeNode[][] {
    const byStart: LatticeNode[][] = [];
    const trie = this.vocab.trie;
    for (let pos = 0; pos < bytes.length; ) {
      const charLen = Math.min(oneCharLen(bytes[pos]!), bytes.length - pos);
      const nodes: LatticeNode[] = [];
      let hasSingleChar = false;
      let node = 0;
      for (let i = pos; i < bytes.length; i++) {
        node = trie.child(node, bytes[i]!);
        if (node < 0) break;
        const id = trie.value(node);
        if (id < 0 || this.vocab.types[id] === PieceType.UNUSED) continue;
        const length = i - pos + 1;
        nodes.push({ begin: pos, end: pos + length, id, score: this.pieceScore(id, length) });
        if (length === charLen) hasSingleChar = true;
      }
      if (!hasSingleChar) nodes.push({ begin: pos, end: pos + charLen, id: this.vocab.unkId, score: this.unkScore });
      byStart[pos] = nodes;
      pos += charLen;
    }
    return byStart;
  }

  /** The best segmentation (Viterbi) of bytes[0, n) into `out` (cleared first). */
  encodeInto(bytes: Uint8Array, n: number, out: Segments): void {
    out.clear();
    if (n === 0) return;
    if (this.bestScore.length < n + 1) this.grow(n + 1);
    const bestScore = this.bestScore,
      bestStart = this.bestStart,
      bestId = this.bestId;
    const trie = this.vocab.trie,
      types = this.vocab.types,
      scores = this.vocab.scores;
    bestStart.fill(-1, 0, n + 1);
    bestScore[0] = 0;
    const unkId = this.vocab.unkId,
      unkScore = this.unkScore;
    for (let pos = 0; pos < n; ) {
      const charLen = Math.min(oneCharLen(bytes[pos]!), n - pos);
      const here = bestScore[pos]!;
      let hasSingleChar = false;
      let node = 0;
      for (let i = pos; i < n; i++) {
        node = trie.child(node, bytes[i]!);
        if (node < 0) break;
        const id = trie.value(node);
        if (id < 0) continue;
        const type = types[id];
        if (type === PieceType.UNUSED) continue;
        const end = i + 1;
        // float32 sums, as the library's `float best_path_score`
        const cand = type === PieceType.USER_DEFINED ? this.pieceScore(id, end - pos) + here : Math.fround(scores[id]! + here);
        if (bestStart[end] === -1 || cand > bestScore[end]!) {
          bestScore[end] = Math.fround(cand);
          bestStart[end] = pos;
          bestId[end] = id;
        }
        if (end - pos === charLen) hasSingleChar = true;
      }
      if (!hasSingleChar) {
        const end = pos + charLen;
        const cand = Math.fround(unkScore + here);
        if (bestStart[end] === -1 || cand > bestScore[end]!) {
          bestScore[end] = cand;
          bestStart[end] = pos;
          bestId[end] = unkId;
        }
      }
      pos += charLen;
    }
    for (let end = n; end > 0; ) {
      const begin = bestStart[end]!;
      out.push(begin, end, bestId[end]!);
      end = begin;
    }
    out.reverse();
  }

  /** The best segmentation as a list (for callers outside the fast path). */
  encode(bytes: Uint8Array): EncodedPiece[] {
    const out = new Segments();
    this.encodeInto(bytes, bytes.length, out);
    const result: EncodedPiece[] = [];
    for (let i = 0; i < out.length; i++) result.push({ begin: out.begin[i]!, end: out.end[i]!, id: out.id[i]! });
    return result;
  }

  private grow(n: number): void {
    let cap = this.bestScore.length;
    while (cap < n) cap *= 2;
    this.bestScore = new Float64Array(cap);
    this.bestStart = new Int32Array(cap);
    this.bestId = new Int32Array(cap);
  }
}
