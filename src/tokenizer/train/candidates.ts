// Every seed piece that occurs in each training text, found once: the vocabulary only shrinks
// during Unigram training, so each lattice the trainer builds later is a subset of these
// candidates (train/lattice.ts keeps those whose seed is still alive).
import type { PieceTrie } from "./piece_trie.js";

/** Candidate nodes (begin, length, seed) of some texts, sorted by begin, then length. */
export interface CandidateArrays {
  /** Length of each text in code points. */
  readonly lengths: Int32Array;
  /** Nodes of text t: nodeStart[t] .. nodeStart[t+1]. */
  readonly nodeStart: Int32Array;
  readonly nodeBegin: Int32Array;
  readonly nodeLength: Int32Array;
  readonly nodeSeed: Int32Array;
}

/** The candidates of a list of texts. */
export class CandidateTexts implements CandidateArrays {
  readonly lengths: Int32Array;
  readonly nodeStart: Int32Array;
  readonly nodeBegin: Int32Array;
  readonly nodeLength: Int32Array;
  readonly nodeSeed: Int32Array;

  /** Matches every substring of each text (up to maxLength code points) against the trie. */
  constructor(texts: readonly string[], trie: PieceTrie, maxLength: number) {
    this.lengths = new Int32Array(new SharedArrayBuffer(4 * texts.length));
    this.nodeStart = new Int32Array(new SharedArrayBuffer(4 * (texts.length + 1)));
    let totalLength = 0;
    for (const text of texts) totalLength += text.length;
    const out = new NodeList(totalLength * 4 + 16);
    let chars = new Int32Array(64);
    for (let t = 0; t < texts.length; t++) {
      const text = texts[t]!;
      if (chars.length < text.length) chars = new Int32Array(text.length * 2);
      // The text as dense character ids (-1: in no piece).
      let n = 0;
      for (let i = 0; i < text.length; ) {
        const c = text.codePointAt(i)!;
        i += c > 0xffff ? 2 : 1;
        chars[n++] = trie.charId(c);
      }
      this.lengths[t] = n;
      this.nodeStart[t] = out.count;
      for (let b = 0; b < n; b++) {
        const end = Math.min(n, b + maxLength);
        let node = 0;
        for (let e = b; e < end; e++) {
          const ch = chars[e]!;
          if (ch < 0) break;
          node = trie.child(node, ch);
          if (node < 0) break;
          const seed = trie.pieceAt(node);
          if (seed >= 0) out.push(b, e + 1 - b, seed);
        }
      }
    }
    this.nodeStart[texts.length] = out.count;
    this.nodeBegin = out.begin.subarray(0, out.count);
    this.nodeLength = out.length.subarray(0, out.count);
    this.nodeSeed = out.seed.subarray(0, out.count);
  }

  get size(): number {
    return this.lengths.length;
  }
}

/**
 * Growable columns of (begin, length, seed), in shared memory: the E step's worker threads
 * read them where they are (train/estep_pool.ts).
 */
class NodeList {
  begin: Int32Array;
  length: Int32Array;
  seed: Int32Array;
  count = 0;

  constructor(capacity: number) {
    this.begin = sharedInts(capacity);
    this.length = sharedInts(capacity);
    this.seed = sharedInts(capacity);
  }

  push(begin: number, length: number, seed: number): void {
    if (this.count === this.begin.length) {
      this.begin = grow(this.begin);
      this.length = grow(this.length);
      this.seed = grow(this.seed);
    }
    this.begin[this.count] = begin;
    this.length[this.count] = length;
    this.seed[this.count++] = seed;
  }
}

function sharedInts(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

function grow(a: Int32Array): Int32Array {
  const b = sharedInts(a.length * 2);
  b.set(a);
  return b;
}
