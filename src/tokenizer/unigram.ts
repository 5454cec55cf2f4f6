// Unigram encoding as SentencePiece does it (unigram_model.cc): the segmentation whose piece
// scores (log probabilities) sum highest, found by Viterbi over all pieces that match at each
// character position. A character no piece covers becomes <unk> with score min_score - 10.
// User-defined symbols get a bonus (length * max_score - 0.1) so they always win.
// Scores are summed in float32, as in the library, so ties break the same way.

import { ByteTrie } from "./byte_trie.js";
import { PieceType } from "./model_proto.js";
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
  private readonly trie = new ByteTrie();
  readonly minScore: number;
  readonly maxScore: number;
  readonly unkScore: number;

  constructor(readonly vocab: Vocab) {
    let min = FLT_MAX, max = FLT_MIN;
    for (let i = 0; i < vocab.size; i++) {
      if (vocab.types[i] !== PieceType.NORMAL) continue;
      min = Math.min(min, vocab.scores[i]!);
      max = Math.max(max, vocab.scores[i]!);
    }
    this.minScore = min;
    this.maxScore = max;
    this.unkScore = Math.fround(min - UNK_PENALTY);
    for (const [piece, id] of vocab.normalPieces) this.trie.insert(piece, id);
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
    for (let pos = 0; pos < bytes.length;) {
      const charLen = Math.min(oneCharLen(bytes[pos]!), bytes.length - pos);
      const nodes: LatticeNode[] = [];
      let hasSingleChar = false;
      this.trie.forEachPrefix(bytes, pos, bytes.length, (length, id) => {
        if (this.vocab.types[id] === PieceType.UNUSED) return;
        nodes.push({ begin: pos, end: pos + length, id, score: this.pieceScore(id, length) });
        if (length === charLen) hasSingleChar = true;
      });
      if (!hasSingleChar) nodes.push({ begin: pos, end: pos + charLen, id: this.vocab.unkId, score: this.unkScore });
      byStart[pos] = nodes;
      pos += charLen;
    }
    return byStart;
  }

  /** The best segmentation (Viterbi). */
  encode(bytes: Uint8Array): EncodedPiece[] {
    const n = bytes.length;
    if (n === 0) return [];
    // best[end]: score of the best path ending at byte `end`, and its last node.
    const bestScore = new Float64Array(n + 1);
    const bestStart = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1);
    const lattice = this.lattice(bytes);
    for (let pos = 0; pos < n; pos++) {
      const nodes = lattice[pos];
      if (!nodes) continue;
      const here = bestScore[pos]!;
      for (const node of nodes) {
        // float32 sums, as the library's `float best_path_score`
        const cand = this.vocab.types[node.id] === PieceType.USER_DEFINED ? node.score + here : Math.fround(node.score + here);
        if (bestStart[node.end] === -1 || cand > bestScore[node.end]!) {
          bestScore[node.end] = Math.fround(cand);
          bestStart[node.end] = pos;
          bestId[node.end] = node.id;
        }
      }
    }
    const out: EncodedPiece[] = [];
    for (let end = n; end > 0;) {
      const begin = bestStart[end]!;
      out.push({ begin, end, id: bestId[end]! });
      end = begin;
    }
    return out.reverse();
  }
}
