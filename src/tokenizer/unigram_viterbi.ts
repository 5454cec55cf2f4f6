// The best Unigram segmentation (Viterbi), as SentencePiece's unigram_model.cc
// (Model::EncodeOptimized) computes it, on typed arrays.
//
// For each character position `pos`, in order, every piece that starts there (found by walking
// the double-array trie over the bytes) offers a path ending at pos + its length, scored
// best[pos] + its score. A character no single-character piece covers gets an <unk> edge. The
// trie is walked in an interleaved copy (base, check and piece id of a node side by side), so
// one byte of the walk touches one cache line.
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
//
// Word memo: when no piece holds the space symbol after its first byte, every space starts a
// cut, and a word's best path depends on the text before it only through the rounding of the
// float scores, which grows with the path score so far. So each word is analysed once, exactly
// (doubles, from score 0), noting how far apart its comparisons were relative to the rounding
// they can suffer (analyse, and pathMargin when that is not enough); the memo's path is used
// wherever that margin beats the float ulp at the current path score, and the word is searched
// again as the library does where it does not. The scan for spaces also hashes each word for
// the memo, so a word's bytes are read once before its lookup.

import { PieceType } from "./model_proto.js";
import type { Segments } from "./segments.js";
import type { Vocab } from "./vocab.js";
import { FNV_OFFSET, FNV_PRIME, MAX_CACHED_WORD, WordCache } from "./word_cache.js";

const UNK_PENALTY = 10;
const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;

/** The scores every Unigram search needs, as the library derives them from the normal pieces. */
export interface UnigramScores {
  readonly minScore: number;
  readonly maxScore: number;
  /** The unknown piece's score: the lowest normal score minus a penalty of 10, as a float. */
  readonly unkScore: number;
}

export function unigramScores(vocab: Vocab): UnigramScores {
  let min = FLT_MAX,
    max = FLT_MIN;
  for (let i = 0; i < vocab.size; i++) {
    if (vocab.types[i] !== PieceType.NORMAL) continue;
    min = Math.min(min, vocab.scores[i]!);
    max = Math.max(max, vocab.scores[i]!);
  }
  return { minScore: min, maxScore: max, unkScore: Math.fround(min - UNK_PENALTY) };
}
/** Edges a memoized word can have: at most one per (start, end) pair of its bytes. */
const MAX_CANDIDATES = (MAX_CACHED_WORD * (MAX_CACHED_WORD + 1)) / 2 + MAX_CACHED_WORD;
// The word memo's floats per word: the largest path score magnitude |S| before the word at
// which its path is safe (from its margin; see encodeWord), the largest score magnitude seen in
// it, and whether the margin includes pathMargin's bound yet (1) or not (0).
const MEMO_SAFE_BELOW = 0,
  MEMO_EXTENT = 1,
  MEMO_PATH_DONE = 2,
  MEMO_FLOATS = 3;
/** Bytes after which a cut flushes the window. */
const WINDOW = 1 << 14;

/** Byte length of the UTF-8 character led by `b`, SentencePiece's table (a stray trail byte: 1). */
const CHAR_LEN = new Uint8Array(256).map((_, b) => (b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4));

/**
 * A float's ulp at magnitude m is at most m * 2^-23, and each of the library's roundings moves
 * a value by at most half an ulp; a gap per rounding above m * 2^-23 leaves a factor of two to
 * spare (for the doubles' own, far smaller, rounding).
 */
const SAFE_MARGIN_PER_MAGNITUDE = 2 ** -23;

export class UnigramViterbi {
  readonly minScore: number;
  readonly maxScore: number;
  /** min_score - 10, a float as in the library. */
  readonly unkScore: number;
  /**
   * The piece trie, interleaved: node s at 4s holds 4 * base[s], 4 * check[s] and the id of the
   * piece ending there (-1 where none does or it is UNUSED). The child of node 4s along byte c
   * is t = trie[4s] + 4c, when trie[t + 1] === 4s.
   */
  private readonly trie: Int32Array;
  /** Piece id → the score an edge adds (user-defined symbols: their bonus). */
  private readonly edgeScores: Float64Array;
  private readonly unkId: number;
  // The window: for each end byte (relative to `offset`), the best path's score, start, piece.
  private bestScore = new Float32Array(1024);
  private bestStart = new Int32Array(1024);
  private bestId = new Int32Array(1024);
  // Word memo (null when words are not independent), with three floats per word (MEMO_*).
  private readonly memo: WordCache | null;
  private readonly space: Uint8Array;
  // Exact analysis of one word: best double score, start, piece and edge count per end byte.
  private readonly exactScore = new Float64Array(MAX_CACHED_WORD + 1);
  private readonly exactStart = new Int32Array(MAX_CACHED_WORD + 1);
  private readonly exactId = new Int32Array(MAX_CACHED_WORD + 1);
  private readonly exactEdges = new Int32Array(MAX_CACHED_WORD + 1);
  private readonly pairs = new Int32Array(2 * MAX_CACHED_WORD);
  /** pathMargin: per end byte, the most roundings on any path there; whether the best path ends there. */
  private readonly exactDepth = new Int32Array(MAX_CACHED_WORD + 1);
  private readonly onPath = new Uint8Array(MAX_CACHED_WORD + 1);
  // pathMargin: every candidate edge of the word (start, end, score).
  private readonly candStart = new Int32Array(MAX_CANDIDATES);
  private readonly candEnd = new Int32Array(MAX_CANDIDATES);
  private readonly candScore = new Float64Array(MAX_CANDIDATES);

  /**
   * `space`: the bytes the normalizer writes for a space; omit it to search every text whole.
   * `scores`: unigramScores(vocab), when the caller has them already.
   */
  constructor(vocab: Vocab, space?: Uint8Array, scores: UnigramScores = unigramScores(vocab)) {
    ({ minScore: this.minScore, maxScore: this.maxScore, unkScore: this.unkScore } = scores);
    this.unkId = vocab.unkId;
    const { base, check, values } = vocab.trie.arrays;
    const trie = new Int32Array(4 * base.length);
    for (let s = 0; s < base.length; s++) {
      const id = values[s]!;
      trie[4 * s] = 4 * base[s]!;
      trie[4 * s + 1] = check[s]! < 0 ? -1 : 4 * check[s]!;
      trie[4 * s + 2] = id >= 0 && vocab.types[id] === PieceType.UNUSED ? -1 : id;
    }
    this.trie = trie;
    this.edgeScores = new Float64Array(vocab.size);
    for (let id = 0; id < vocab.size; id++) this.edgeScores[id] = this.pieceScore(vocab, id);
    this.space = space ?? new Uint8Array(0);
    this.memo = space && spaceOnlyLeads(vocab, new TextDecoder().decode(space)) ? new WordCache(MEMO_FLOATS) : null;
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
    // Pieces average over four bytes of natural text: room for n / 4 avoids most regrowth.
    out.reserve(n >> 2);
    if (!this.memo) {
      this.search(bytes, 0, n, 0, out);
      return;
    }
    const w = this.space,
      wl = w.length,
      w0 = w[0]!;
    let start = 0,
      score = 0,
      hash = FNV_OFFSET;
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      if (b === w0 && i > start && i + wl <= n && startsWith(bytes, i, w)) {
        score = this.encodeWord(bytes, start, i, hash, score, out);
        start = i;
        hash = FNV_OFFSET;
      }
      hash = Math.imul(hash ^ b, FNV_PRIME);
    }
    this.encodeWord(bytes, start, n, hash, score, out);
  }

  /**
   * Appends the best path over bytes[from, to) (whose memo hash is `hash`) starting from path
   * score `score`; returns the score at `to`.
   */
  private encodeWord(bytes: Uint8Array, from: number, to: number, hash: number, score: number, out: Segments): number {
    if (to - from > MAX_CACHED_WORD) return this.search(bytes, from, to, score, out);
    const memo = this.memo!;
    let entry = memo.findHashed(hash, bytes, from, to);
    if (entry < 0) {
      const count = this.analyse(bytes, from, to);
      entry = memo.store(bytes, from, to, this.pairs, count);
      const x = memo.extraIndex(entry);
      memo.extras[x + MEMO_SAFE_BELOW] = safeBelow(this.lastMargin, this.lastExtent);
      memo.extras[x + MEMO_EXTENT] = this.lastExtent;
    }
    // The margin must beat the rounding the library's floats can add here: margin > (|score| +
    // extent) * SAFE_MARGIN_PER_MAGNITUDE, that is |score| < the entry's safe bound.
    const x = memo.extraIndex(entry),
      extras = memo.extras;
    if (!(Math.abs(score) < extras[x + MEMO_SAFE_BELOW]!)) {
      if (extras[x + MEMO_PATH_DONE] === 0) {
        extras[x + MEMO_PATH_DONE] = 1;
        const bound = safeBelow(this.pathMargin(bytes, from, to), extras[x + MEMO_EXTENT]!);
        if (bound > extras[x + MEMO_SAFE_BELOW]!) extras[x + MEMO_SAFE_BELOW] = bound;
      }
      if (!(Math.abs(score) < extras[x + MEMO_SAFE_BELOW]!)) return this.search(bytes, from, to, score, out);
    }
    const values = memo.values,
      at = memo.valueOffset(entry),
      count = memo.valueLength(entry);
    const edgeScores = this.edgeScores,
      unkId = this.unkId,
      unkScore = this.unkScore;
    let k = out.extend(count);
    const begins = out.begin,
      ends = out.end,
      ids = out.id;
    let b = from;
    for (let v = at; v < at + 2 * count; v += 2) {
      const e = from + values[v]!,
        id = values[v + 1]!;
      begins[k] = b;
      ends[k] = e;
      ids[k++] = id;
      // The float the library stores at e, along the path it picks.
      score = Math.fround((id === unkId ? unkScore : edgeScores[id]!) + score);
      b = e;
    }
    return score;
  }

  // Set by analyse().
  private lastMargin = 0;
  private lastExtent = 0;

  /**
   * The best path over bytes[from, to) in exact (double) arithmetic from score 0, into `pairs`
   * as (end within the word, id); returns its length. Sets lastExtent, the largest score
   * magnitude, and lastMargin: the smallest gap between two compared scores, divided by the
   * roundings the library's two values may carry (edges on both paths, plus one). When every
   * comparison goes the same way, every stored score is its path's, with one rounding per
   * edge; so where the margin beats the rounding, the library makes the same choices.
   */
  private analyse(bytes: Uint8Array, from: number, to: number): number {
    const trie = this.trie,
      edgeScores = this.edgeScores;
    const score = this.exactScore,
      start = this.exactStart,
      ids = this.exactId,
      edges = this.exactEdges;
    const n = to - from;
    score[0] = 0;
    edges[0] = 0;
    for (let e = 1; e <= n; e++) score[e] = Number.NEGATIVE_INFINITY;
    let margin = Number.POSITIVE_INFINITY,
      extent = 0;
    for (let pos = 0; pos < n; ) {
      const charLen = Math.min(CHAR_LEN[bytes[from + pos]!]!, n - pos);
      const here = score[pos]!,
        m = edges[pos]! + 1;
      let hasSingleChar = false;
      let node = 0;
      for (let i = from + pos; i < to; i++) {
        const t = trie[node]! + (bytes[i]! << 2);
        if (trie[t + 1] !== node) break;
        node = t;
        const id = trie[t + 2]!;
        if (id < 0) continue;
        const e = i + 1 - from;
        const cand = edgeScores[id]! + here;
        const target = score[e]!;
        // The gap per rounding, divided only when it is a new smallest (a first edge: gap ∞).
        const gap = Math.abs(cand - target),
          rounds = m + edges[e]! + 1;
        if (gap < margin * rounds) margin = gap / rounds;
        if (-cand > extent) extent = -cand;
        if (cand > extent) extent = cand;
        if (cand > target) {
          score[e] = cand;
          start[e] = pos;
          ids[e] = id;
          edges[e] = m;
        }
        if (e - pos === charLen) hasSingleChar = true;
      }
      if (!hasSingleChar) {
        const e = pos + charLen;
        const cand = this.unkScore + here;
        const target = score[e]!;
        const gap = Math.abs(cand - target),
          rounds = m + edges[e]! + 1;
        if (gap < margin * rounds) margin = gap / rounds;
        if (Math.abs(cand) > extent) extent = Math.abs(cand);
        if (cand > target) {
          score[e] = cand;
          start[e] = pos;
          ids[e] = this.unkId;
          edges[e] = m;
        }
      }
      pos += charLen;
    }
    this.lastMargin = margin;
    this.lastExtent = extent;
    const count = edges[n]!;
    for (let e = n, k = count - 1; e > 0; k--) {
      this.pairs[2 * k] = e;
      this.pairs[2 * k + 1] = ids[e]!;
      e = start[e]!;
    }
    return count;
  }

  /**
   * A second bound for the word bytes[from, to), for where analyse's is not enough (a long
   * text, whose path score is large): only the choices on the best path count. At each of its
   * nodes, the winner's gap to every other candidate there, divided by the roundings both may
   * carry (the most on any path into their starts, plus their own edges, plus one). Off the
   * best path a comparison may flip, but a flip only picks among values within the rounding,
   * so a stored score stays within one rounding per edge of the longest path into it from the
   * exact best score there; so each node of the best path keeps its winner, and the library
   * traces back the same path.
   */
  private pathMargin(bytes: Uint8Array, from: number, to: number): number {
    const trie = this.trie,
      edgeScores = this.edgeScores;
    const score = this.exactScore,
      start = this.exactStart,
      depth = this.exactDepth,
      onPath = this.onPath;
    const n = to - from;
    for (let e = 0; e <= n; e++) {
      score[e] = Number.NEGATIVE_INFINITY;
      depth[e] = 0;
      onPath[e] = 0;
    }
    score[0] = 0;
    this.cands = 0;
    for (let pos = 0; pos < n; ) {
      const charLen = Math.min(CHAR_LEN[bytes[from + pos]!]!, n - pos);
      let hasSingleChar = false;
      let node = 0;
      for (let i = from + pos; i < to; i++) {
        const t = trie[node]! + (bytes[i]! << 2);
        if (trie[t + 1] !== node) break;
        node = t;
        const id = trie[t + 2]!;
        if (id < 0) continue;
        this.candidate(pos, i + 1 - from, edgeScores[id]!, 1);
        if (i + 1 - from - pos === charLen) hasSingleChar = true;
      }
      // The library sums the <unk> edge in float: one more rounding.
      if (!hasSingleChar) this.candidate(pos, pos + charLen, this.unkScore, 2);
      pos += charLen;
    }
    for (let e = n; e > 0; e = start[e]!) onPath[e] = 1;
    let margin = Number.POSITIVE_INFINITY;
    for (let c = 0; c < this.cands; c++) {
      const e = this.candEnd[c]!,
        b = this.candStart[c]!;
      if (onPath[e] === 0 || b === start[e]) continue;
      margin = Math.min(margin, (score[e]! - this.candScore[c]!) / (depth[start[e]!]! + depth[b]! + 3));
    }
    return margin;
  }

  /** pathMargin's candidate count. */
  private cands = 0;

  /** pathMargin: an edge [pos, e) adding `edge` to the score, which the library rounds `rounds` times. */
  private candidate(pos: number, e: number, edge: number, rounds: number): void {
    const score = this.exactScore,
      depth = this.exactDepth;
    const cand = edge + score[pos]!;
    if (cand > score[e]!) {
      score[e] = cand;
      this.exactStart[e] = pos;
    }
    if (depth[pos]! + rounds > depth[e]!) depth[e] = depth[pos]! + rounds;
    const c = this.cands++;
    this.candStart[c] = pos;
    this.candEnd[c] = e;
    this.candScore[c] = cand;
  }

  /**
   * The library's search over bytes[from, to), starting from path score `initial` (a float);
   * appends the best path to `out` and returns the score at `to`.
   */
  private search(bytes: Uint8Array, from: number, to: number, initial: number, out: Segments): number {
    const trie = this.trie,
      edgeScores = this.edgeScores;
    const unkId = this.unkId,
      unkScore = this.unkScore;
    let bestScore = this.bestScore,
      bestStart = this.bestStart,
      bestId = this.bestId;
    // Array index = byte position - offset; `reach` is the furthest end any edge has touched.
    let offset = from,
      reach = from;
    bestScore[0] = initial;
    for (let pos = from; pos < to; ) {
      const rel = pos - offset;
      if (reach === pos && rel >= WINDOW) {
        // A cut: everything before pos is decided.
        this.flush(out, offset, rel);
        bestScore[0] = bestScore[rel]!;
        offset = pos;
      }
      const charLen = Math.min(CHAR_LEN[bytes[pos]!]!, to - pos);
      const here = bestScore[pos - offset]!;
      let hasSingleChar = false;
      let node = 0;
      for (let i = pos; i < to; i++) {
        const t = trie[node]! + (bytes[i]! << 2);
        if (trie[t + 1] !== node) break;
        node = t;
        const id = trie[t + 2]!;
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
          for (let k = reach - offset + 1; k <= e; k++) bestScore[k] = Number.NEGATIVE_INFINITY;
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
          for (let k = reach - offset + 1; k <= e; k++) bestScore[k] = Number.NEGATIVE_INFINITY;
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
    this.flush(out, offset, to - offset);
    return bestScore[to - offset]!;
  }

  /** Appends the best path from the window's start to relative position `to`, in text order. */
  private flush(out: Segments, offset: number, to: number): void {
    const bestStart = this.bestStart,
      bestId = this.bestId;
    let count = 0;
    for (let e = to; e > 0; e = bestStart[e]! - offset) count++;
    let k = out.extend(count) + count - 1;
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

/**
 * The largest path score magnitude before a word at which a margin (gap per rounding) still
 * beats the rounding: margin > (|score| + extent) * SAFE_MARGIN_PER_MAGNITUDE. A margin of 0 (a
 * tie) gives a negative bound, never met; no comparison at all (margin ∞), an infinite one.
 */
function safeBelow(margin: number, extent: number): number {
  return margin / SAFE_MARGIN_PER_MAGNITUDE - extent;
}

/** Whether no piece segmentation may use holds `space` anywhere but at its start. */
function spaceOnlyLeads(vocab: Vocab, space: string): boolean {
  if (space.length === 0) return false;
  for (let id = 0; id < vocab.size; id++) {
    const t = vocab.types[id];
    if (t !== PieceType.NORMAL && t !== PieceType.USER_DEFINED) continue;
    if (vocab.pieces[id]!.indexOf(space, 1) >= 0) return false;
  }
  return true;
}

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let k = 0; k < prefix.length; k++) if (bytes[at + k] !== prefix[k]) return false;
  return true;
}
