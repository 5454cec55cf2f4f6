// BPE encoding as SentencePiece does it (bpe_model.cc).
//
// Start from characters (a user-defined symbol is one frozen symbol). Repeatedly merge the
// adjacent pair whose concatenation is a piece with the highest score; on a tie the leftmost
// pair wins. A merged piece of type UNUSED is split back into the two symbols it was made of.
// With `alpha` > 0 each merge is skipped with probability alpha (BPE-dropout).
//
// Everything is bytes and typed arrays: a symbol is a byte range of the normalized text plus
// the trie node its bytes lead to, so "is left+right a piece?" is a walk over the right
// symbol's bytes from the left symbol's node. The queue of candidate pairs is a binary heap
// in parallel typed arrays. A BpeEncoder keeps its arrays between texts.

import { PieceType } from "./model_proto.js";
import type { DoubleArrayTrie } from "./double_array_trie.js";
import type { RandomSource } from "./random.js";
import { WordCache, MAX_CACHED_WORD } from "./word_cache.js";
import { Segments } from "./segments.js";
import { longestMatch } from "./user_symbols.js";
import { oneCharLen, utf8Decode } from "./utf8.js";
import type { EncodedPiece, Vocab } from "./vocab.js";

export interface BpeOptions {
  /** BPE-dropout: the probability of skipping each merge (0 = the deterministic encoding). */
  alpha?: number;
  random?: RandomSource;
}

export class BpeEncoder {
  // Symbols: byte range, neighbours, trie node of their bytes (-1: no piece starts so), frozen.
  private begin = new Int32Array(256);
  private end = new Int32Array(256);
  private prev = new Int32Array(256);
  private next = new Int32Array(256);
  private node = new Int32Array(256);
  private frozen = new Uint8Array(256);
  private alive = new Uint8Array(256);
  // Candidate pairs, a max-heap on (score, then smaller left).
  private hScore = new Float64Array(256);
  private hLeft = new Int32Array(256);
  private hRight = new Int32Array(256);
  private hSize = new Int32Array(256);
  private hLength = 0;
  /** Merged UNUSED piece id → byte length of its left part, to split it back at the end. */
  private unmerge = new Map<number, number>();
  private readonly trie: DoubleArrayTrie;
  /** Word memo, when words can be segmented on their own (see wordsAreIndependent). */
  private readonly cache: WordCache | null;
  private readonly space: Uint8Array;
  private pairs = new Int32Array(2 * MAX_CACHED_WORD);

  /**
   * `space`: the bytes the normalizer writes for a space (U+2581 "▁" or " "); words begin
   * there. Omit it to segment every text as a whole.
   */
  constructor(
    private readonly vocab: Vocab,
    space?: Uint8Array,
  ) {
    this.trie = vocab.trie;
    this.space = space ?? new Uint8Array(0);
    this.cache = space && wordsAreIndependent(vocab, space) ? new WordCache() : null;
  }

  /** Segments bytes[0, length) into `out` (cleared first). */
  encode(bytes: Uint8Array, length: number, out: Segments, options?: BpeOptions): void {
    out.clear();
    if (length === 0) return;
    if (!this.cache || (options?.alpha ?? 0) > 0) {
      this.encodeRange(bytes, 0, length, out, options);
      return;
    }
    // Words start at a space that follows a non-space; no piece spans such a start, so each
    // word's segmentation is its own and can be memoized.
    const w = this.space,
      wl = w.length,
      w0 = w[0]!;
    let start = 0;
    for (let i = 1; i + wl <= length; i++) {
      if (bytes[i] !== w0 || !startsWith(bytes, i, w) || (i >= wl && startsWith(bytes, i - wl, w))) continue;
      this.encodeWord(bytes, start, i, out);
      start = i;
    }
    this.encodeWord(bytes, start, length, out);
  }

  private encodeWord(bytes: Uint8Array, begin: number, end: number, out: Segments): void {
    const cache = this.cache!;
    if (end - begin > MAX_CACHED_WORD) {
      this.encodeRange(bytes, begin, end, out);
      return;
    }
    const entry = cache.find(bytes, begin, end);
    if (entry >= 0) {
      const values = cache.values,
        at = cache.valueOffset(entry),
        n = cache.valueLength(entry);
      let b = begin;
      for (let k = 0; k < n; k++) {
        const e = begin + values[at + 2 * k]!;
        out.push(b, e, values[at + 2 * k + 1]!);
        b = e;
      }
      return;
    }
    const first = out.length;
    this.encodeRange(bytes, begin, end, out);
    const n = out.length - first,
      pairs = this.pairs;
    for (let k = 0; k < n; k++) {
      pairs[2 * k] = out.end[first + k]! - begin;
      pairs[2 * k + 1] = out.id[first + k]!;
    }
    cache.store(bytes, begin, end, pairs, n);
  }

  /** Segments bytes[from, to) and appends the segments to `out`. */
  private encodeRange(bytes: Uint8Array, from: number, to: number, out: Segments, options?: BpeOptions): void {
    const count = this.initSymbols(bytes, from, to);
    this.hLength = 0;
    this.unmerge.clear();
    for (let i = 1; i < count; i++) this.tryPair(bytes, i - 1, i);
    const alpha = options?.alpha ?? 0;
    const random = options?.random ?? Math.random;
    const { begin, end, next, prev, node, alive } = this;
    while (this.hLength > 0) {
      const left = this.hLeft[0]!,
        right = this.hRight[0]!,
        size = this.hSize[0]!;
      this.pop();
      // Stale: one side was merged away or grew since this pair was queued.
      if (!alive[left] || !alive[right] || next[left] !== right || end[right]! - begin[left]! !== size) continue;
      if (alpha > 0 && (alpha >= 1 || random() < alpha)) continue;
      node[left] = this.trie.walk(node[left]!, bytes, begin[right]!, end[right]!);
      end[left] = end[right]!;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      alive[right] = 0;
      if (prev[left]! >= 0) this.tryPair(bytes, prev[left]!, left);
      if (next[left]! >= 0) this.tryPair(bytes, left, next[left]!);
    }
    for (let i = 0; i >= 0; i = next[i]!) this.emit(bytes, begin[i]!, end[i]!, node[i]!, out);
  }

  /** One symbol per character (or user-defined symbol) of bytes[from, length); returns the count. */
  private initSymbols(bytes: Uint8Array, from: number, length: number): number {
    if (this.begin.length < length - from) this.growSymbols(length - from);
    const userTrie = this.vocab.userSymbolTrie;
    const trie = this.trie;
    let count = 0;
    for (let pos = from; pos < length; ) {
      const user = userTrie ? longestMatch(userTrie, bytes, pos, length) : 0;
      const len = user > 0 ? user : Math.min(length - pos, oneCharLen(bytes[pos]!));
      this.begin[count] = pos;
      this.end[count] = pos + len;
      this.prev[count] = count - 1;
      this.next[count] = pos + len < length ? count + 1 : -1;
      this.frozen[count] = user > 0 ? 1 : 0;
      this.alive[count] = 1;
      this.node[count] = trie.walk(0, bytes, pos, pos + len);
      count++;
      pos += len;
    }
    return count;
  }

  /** Queues the pair (left, right) when their concatenation is a piece. */
  private tryPair(bytes: Uint8Array, left: number, right: number): void {
    if (this.frozen[left] || this.frozen[right]) return;
    const from = this.node[left]!;
    if (from < 0) return;
    const merged = this.trie.walk(from, bytes, this.begin[right]!, this.end[right]!);
    if (merged < 0) return;
    const id = this.trie.value(merged);
    if (id < 0) return;
    this.push(this.vocab.scores[id]!, left, right, this.end[right]! - this.begin[left]!);
    if (this.vocab.types[id] === PieceType.UNUSED) this.unmerge.set(id, this.end[left]! - this.begin[left]!);
  }

  /** Writes the symbol [b, e), splitting merged UNUSED pieces back into their parts. */
  private emit(bytes: Uint8Array, b: number, e: number, node: number, out: Segments): void {
    const id = node >= 0 && this.trie.value(node) >= 0 ? this.trie.value(node) : this.vocab.pieceToId(utf8Decode(bytes.subarray(b, e)));
    const leftLength = this.vocab.types[id] === PieceType.UNUSED ? this.unmerge.get(id) : undefined;
    if (leftLength === undefined) {
      out.push(b, e, id);
      return;
    }
    const mid = b + leftLength;
    this.emit(bytes, b, mid, this.trie.walk(0, bytes, b, mid), out);
    this.emit(bytes, mid, e, this.trie.walk(0, bytes, mid, e), out);
  }

  private before(i: number, j: number): boolean {
    const si = this.hScore[i]!,
      sj = this.hScore[j]!;
    return si > sj || (si === sj && this.hLeft[i]! < this.hLeft[j]!);
  }

  private swap(i: number, j: number): void {
    const s = this.hScore[i]!;
    this.hScore[i] = this.hScore[j]!;
    this.hScore[j] = s;
    const l = this.hLeft[i]!;
    this.hLeft[i] = this.hLeft[j]!;
    this.hLeft[j] = l;
    const r = this.hRight[i]!;
    this.hRight[i] = this.hRight[j]!;
    this.hRight[j] = r;
    const z = this.hSize[i]!;
    this.hSize[i] = this.hSize[j]!;
    this.hSize[j] = z;
  }

  private push(score: number, left: number, right: number, size: number): void {
    if (this.hLength === this.hScore.length) this.growHeap();
    let i = this.hLength++;
    this.hScore[i] = score;
    this.hLeft[i] = left;
    this.hRight[i] = right;
    this.hSize[i] = size;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): void {
    const last = --this.hLength;
    if (last === 0) return;
    this.hScore[0] = this.hScore[last]!;
    this.hLeft[0] = this.hLeft[last]!;
    this.hRight[0] = this.hRight[last]!;
    this.hSize[0] = this.hSize[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  private growSymbols(n: number): void {
    let cap = this.begin.length;
    while (cap < n) cap *= 2;
    this.begin = new Int32Array(cap);
    this.end = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.node = new Int32Array(cap);
    this.frozen = new Uint8Array(cap);
    this.alive = new Uint8Array(cap);
  }

  private growHeap(): void {
    const cap = this.hScore.length * 2;
    const f = new Float64Array(cap);
    f.set(this.hScore);
    this.hScore = f;
    const l = new Int32Array(cap);
    l.set(this.hLeft);
    this.hLeft = l;
    const r = new Int32Array(cap);
    r.set(this.hRight);
    this.hRight = r;
    const z = new Int32Array(cap);
    z.set(this.hSize);
    this.hSize = z;
  }
}

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let k = 0; k < prefix.length; k++) if (bytes[at + k] !== prefix[k]) return false;
  return true;
}

/**
 * Whether no piece contains a space right after a non-space character. Then no merge can join
 * the end of one word to the space that starts the next, and words segment independently
 * (true of every model SentencePiece trains with split_by_whitespace, Llama's included).
 */
function wordsAreIndependent(vocab: Vocab, space: Uint8Array): boolean {
  const n = space.length;
  if (n === 0) return false;
  // On the UTF-8 bytes (no piece strings made): a space found after the first byte must
  // follow another space.
  const { bytes, start, end } = vocab.textSpans;
  for (let id = 0; id < vocab.size; id++) {
    const t = vocab.types[id];
    if (t !== PieceType.NORMAL && t !== PieceType.USER_DEFINED && t !== PieceType.UNUSED) continue;
    const s = start[id]!,
      e = end[id]!;
    for (let k = s + 1; k + n <= e; k++) {
      if (bytes[k] === space[0] && startsWith(bytes, k, space) && (k < s + n || !startsWith(bytes, k - n, space))) return false;
    }
  }
  return true;
}

/** The segmentation of `bytes` as a list (for callers outside the fast path). */
export function bpeEncode(vocab: Vocab, bytes: Uint8Array, options: BpeOptions = {}): EncodedPiece[] {
  const out = new Segments();
  new BpeEncoder(vocab).encode(bytes, bytes.length, out, options);
  const result: EncodedPiece[] = [];
  for (let i = 0; i < out.length; i++) result.push({ begin: out.begin[i]!, end: out.end[i]!, id: out.id[i]! });
  return result;
}
