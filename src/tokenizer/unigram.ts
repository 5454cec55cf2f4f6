// Unigram encoding as SentencePiece does it (unigram_model.cc): the segmentation whose piece
// scores (log probabilities) sum highest, over all pieces that match at each character
// position. A character no piece covers becomes <unk> with score min_score - 10. User-defined
// symbols get a bonus (length * max_score - 0.1) so they always win. The best segmentation is
// unigram_viterbi.ts; this file builds the whole lattice, which sampling and n-best need.

import { PieceType } from "./model_proto.js";
import { Segments } from "./segments.js";
import { UnigramViterbi, unigramScores } from "./unigram_viterbi.js";
import { oneCharLen } from "./utf8.js";
import type { EncodedPiece, Vocab } from "./vocab.js";

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
  /** The best-path search, built on first use (it needs the piece trie). */
  private viterbi: UnigramViterbi | null = null;

  /** `space`: what the normalizer writes for a space (words start there; see unigram_viterbi.ts). */
  constructor(
    readonly vocab: Vocab,
    private readonly space?: Uint8Array,
  ) {
    ({ minScore: this.minScore, maxScore: this.maxScore, unkScore: this.unkScore } = unigramScores(vocab));
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
    this.viterbi ??= new UnigramViterbi(this.vocab, this.space, this);
    this.viterbi.encode(bytes, n, out);
  }

  /** The best segmentation as a list (for callers outside the fast path). */
  encode(bytes: Uint8Array): EncodedPiece[] {
    const out = new Segments();
    this.encodeInto(bytes, bytes.length, out);
    const result: EncodedPiece[] = [];
    for (let i = 0; i < out.length; i++) result.push({ begin: out.begin[i]!, end: out.end[i]!, id: out.id[i]! });
    return result;
  }
}
