// The best Unigram segmentation (Viterbi), as SentencePiece's unigram_model.cc
// (Model::EncodeOptimized) computes it, on typed arrays.
//
// For each character position `pos`, in order, every piece that starts there (found by walking
// the double-array trie over the bytes) offers a path ending at pos + its length, scored
// best[pos] + its score. A character no single-character piece covers gets an <unk> edge.
//
// Exactness: the library keeps each best score as a `float`, but adds a piece's score in double
// (the piece score is the common type of `float` and the user-defined bonus `len * max - 0.1`,
// which is a double), and compares that double sum with the stored float. Only the <unk> edge
// is summed in float. Here best scores live in a Float32Array (a store rounds as the C++ store
// does) and sums are JavaScript doubles, so near-ties break exactly as in the library — on a long
// text, where the path score grows large and its float ulp coarse, rounding decides many of them.
//
// Streaming: a position that no edge spans (every path passes through it) is a cut. When the
// window since the last cut has grown past WINDOW bytes, the segments before the cut are final:
// they are written out and the arrays start again from the cut, keeping its (float) score. So a
// long text uses memory proportional to its longest cut-free stretch, not to its length.

import { PieceType } from "./model_proto.js";
import type { Segments } from "./segments.js";
import type { Vocab } from "./vocab.js";

const UNK_PENALTY = 10;
const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;
/** Bytes after which a cut flushes the window. */
const WINDOW = 1 << 14;

/** Byte length of the UTF-8 character led by `b`, SentencePiece's table (a stray trail byte: 1). */
const CHAR_LEN = new Uint8Array(256).map((_, b) => (b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4));

export class UnigramViterbi {
  readonly minScore: number;
  readonly maxScore: number;
  /** min_score - 10, a float as in the library. */
  readonly unkScore: number;
  private readonly base: Int32Array;
  private readonly check: Int32Array;
  /** Trie node → piece id, -1 where no piece ends or the piece is UNUSED. */
  private readonly nodeIds: Int32Array;
  /** Piece id → the score an edge adds (user-defined symbols: their bonus). */
  private readonly edgeScores: Float64Array;
  private readonly unkId: number;
  // The window: for each end byte (relative to `offset`), the best path's score, start, piece.
  private bestScore = new Float32Array(1024);
  private bestStart = new Int32Array(1024);
  private bestId = new Int32Array(1024);

  constructor(vocab: Vocab) {
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
    this.unkId = vocab.unkId;
    const { base, check, values } = vocab.trie.arrays;
    this.base = base;
    this.check = check;
    this.nodeIds = values.map((id) => (id >= 0 && vocab.types[id] === PieceType.UNUSED ? -1 : id));
    this.edgeScores = new Float64Array(vocab.size);
    for (let id = 0; id < vocab.size; id++) this.edgeScores[id] = this.pieceScore(vocab, id);
  }

  /** The score a piece adds: user-defined symbols get length * max_score - 0.1, in double. */
  private pieceScore(vocab: Vocab, id: number): number {
    if (vocab.types[id] !== PieceType.USER_DEFINED) return vocab.scores[id]!;
    return Math.fround(vocab.pieceByteLength(id) * this.maxScore) - 0.1;
  }

  /** The best segmentation of bytes[0, n) into `out` (cleared first). */
  encode(bytes: Uint8Array, n: number, out: Segments): void {
    out.clear();
    if (n === 0) return;
    const base = this.base,
      check = this.check,
      nodeIds = this.nodeIds,
      edgeScores = this.edgeScores;
    const unkId = this.unkId,
      unkScore = this.unkScore;
    let bestScore = this.bestScore,
      bestStart = this.bestStart,
      bestId = this.bestId;
    // Array index = byte position - offset; `reach` is the furthest end any edge has touched.
    let offset = 0,
      reach = 0;
    bestScore[0] = 0;
    for (let pos = 0; pos < n; ) {
      const rel = pos - offset;
      if (reach === pos && rel >= WINDOW) {
        // A cut: everything before pos is decided.
        this.flush(out, offset, rel);
        bestScore[0] = bestScore[rel]!;
        offset = pos;
      }
      const charLen = Math.min(CHAR_LEN[bytes[pos]!]!, n - pos);
      const here = bestScore[pos - offset]!;
      let hasSingleChar = false;
      let node = 0;
      for (let i = pos; i < n; i++) {
        const t = base[node]! + bytes[i]!;
        if (check[t] !== node) break;
        node = t;
        const id = nodeIds[node]!;
        if (id < 0) continue;
        const end = i + 1;
        const e = end - offset;
        if (end > reach) {
          if (e >= bestScore.length) {
            this.grow(e + 512);
            bestScore = this.bestScore;
            bestStart = this.bestStart;
            bestId = this.bestId;
          }
          bestScore.fill(Number.NEGATIVE_INFINITY, reach - offset + 1, e + 1);
          reach = end;
        }
        const cand = edgeScores[id]! + here; // double, compared with the stored float
        if (cand > bestScore[e]!) {
          bestScore[e] = cand;
          bestStart[e] = pos;
          bestId[e] = id;
        }
        if (end - pos === charLen) hasSingleChar = true;
      }
      if (!hasSingleChar) {
        const end = pos + charLen;
        const e = end - offset;
        if (end > reach) {
          if (e >= bestScore.length) {
            this.grow(e + 512);
            bestScore = this.bestScore;
            bestStart = this.bestStart;
            bestId = this.bestId;
          }
          bestScore.fill(Number.NEGATIVE_INFINITY, reach - offset + 1, e + 1);
          reach = end;
        }
        const cand = Math.fround(unkScore + here); // float + float in the library
        if (cand > bestScore[e]!) {
          bestScore[e] = cand;
          bestStart[e] = pos;
          bestId[e] = unkId;
        }
      }
      pos += charLen;
    }
    this.flush(out, offset, n - offset);
  }

  /** Appends the best path from the window's start to relative position `to`, in text order. */
  private flush(out: Segments, offset: number, to: number): void {
    const bestStart = this.bestStart,
      bestId = this.bestId;
    let count = 0;
    for (let e = to; e > 0; e = bestStart[e]! - offset) count++;
    const first = out.length;
    for (let k = 0; k < count; k++) out.push(0, 0, 0);
    let k = first + count - 1;
    for (let e = to; e > 0; k--) {
      const b = bestStart[e]! - offset;
      out.begin[k] = b + offset;
      out.end[k] = e + offset;
      out.id[k] = bestId[e]!;
      e = b;
    }
  }

  private grow(need: number): void {
    let cap = this.bestScore.length;
    while (cap < need) cap *= 2;
    const score = new Float32Array(cap),
      start = new Int32Array(cap),
      id = new Int32Array(cap);
    score.set(this.bestScore);
    start.set(this.bestStart);
    id.set(this.bestId);
    this.bestScore = score;
    this.bestStart = start;
    this.bestId = id;
  }
}
