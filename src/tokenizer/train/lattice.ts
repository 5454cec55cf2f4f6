// Lattices for Unigram training. Every text (a word, or a piece being judged for pruning) is
// matched once against the seed vocabulary (train/candidates.ts lists each (begin, length,
// seed) that fits). The vocabulary only shrinks during training, so a lattice for the current
// vocabulary is these candidates whose seed is still alive (`pieceOfSeed[seed] >= 0`), plus an unknown
// node (score `unkScore`, counted as piece 0) wherever no one-character piece starts, as
// unigram_model.cc does.
// Log-space arithmetic is rounded to float32, like the library's `float` lattices.

import type { CandidateTexts } from "./candidates.js";

const f32 = Math.fround;

/**
 * The piece an unknown node counts as. The library's training model never sets its unknown
 * id, which stays at its default 0: expected counts and Viterbi counts of unknown spans go to
 * the first piece. We do the same to train the same vocabularies.
 */
const UNK_PIECE = 0;
const MINUS_LOG_EPSILON = 50;

/** log(exp(x) + exp(y)), as the library's LogSumExp. */
export function logSumExp(x: number, y: number): number {
  const vmin = Math.min(x, y),
    vmax = Math.max(x, y);
  if (vmax > f32(vmin + MINUS_LOG_EPSILON)) return vmax;
  return f32(vmax + Math.log(Math.exp(f32(vmin - vmax)) + 1.0));
}

/** The current vocabulary as the lattices see it. */
export interface LatticeModel {
  /** seed id → current piece index, or -1 once the piece is gone. */
  pieceOfSeed: Int32Array;
  /** Score (log probability) of each current piece. */
  scores: Float32Array;
  /** Score of the unknown node: the lowest score minus 10. */
  unkScore: number;
}

/** One text's lattice: live nodes (begin, end, piece, score), sorted by begin then length. */
export class Lattice {
  begin = new Int32Array(256);
  end = new Int32Array(256);
  piece = new Int32Array(256);
  score = new Float64Array(256);
  count = 0;
  length = 0;
  private fwd = new Float64Array(64);
  private bwd = new Float64Array(64);

  build(texts: CandidateTexts, t: number, model: LatticeModel): void {
    const len = texts.lengths[t]!;
    this.length = len;
    this.count = 0;
    const from = texts.nodeStart[t]!,
      to = texts.nodeStart[t + 1]!;
    let k = from;
    for (let b = 0; b < len; b++) {
      let single = false;
      for (; k < to && texts.nodeBegin[k] === b; k++) {
        const piece = model.pieceOfSeed[texts.nodeSeed[k]!]!;
        if (piece < 0) continue;
        const l = texts.nodeLength[k]!;
        if (l === 1) single = true;
        this.push(b, b + l, piece, model.scores[piece]!);
      }
      if (!single) this.push(b, b + 1, UNK_PIECE, model.unkScore);
    }
  }

  private push(b: number, e: number, piece: number, score: number): void {
    if (this.count === this.begin.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T): T => {
        const n = new (a.constructor as new (n: number) => T)(a.length * 2);
        n.set(a);
        return n;
      };
      this.begin = grow(this.begin);
      this.end = grow(this.end);
      this.piece = grow(this.piece);
      this.score = grow(this.score);
    }
    const i = this.count++;
    this.begin[i] = b;
    this.end[i] = e;
    this.piece[i] = piece;
    this.score[i] = score;
  }

  private ensure(n: number): void {
    if (this.fwd.length < n) {
      this.fwd = new Float64Array(n * 2);
      this.bwd = new Float64Array(n * 2);
    }
  }

  /**
   * Forward-backward: adds freq x the marginal probability of every piece node to
   * `expected`; returns log Z (the log-likelihood of the text).
   */
  addMarginals(freq: number, expected: Float32Array): number {
    const len = this.length,
      n = this.count;
    this.ensure(len + 1);
    const fwd = this.fwd,
      bwd = this.bwd;
    // fwd[pos]: log-sum over paths from the start to pos (nodes taken in begin order).
    fwd.fill(NaN, 0, len + 1);
    fwd[0] = 0;
    for (let i = 0; i < n; i++) {
      const e = this.end[i]!;
      const v = f32(this.score[i]! + fwd[this.begin[i]!]!);
      fwd[e] = Number.isNaN(fwd[e]!) ? v : logSumExp(fwd[e]!, v);
    }
    // bwd[pos]: log-sum over paths from pos to the end.
    bwd.fill(NaN, 0, len + 1);
    bwd[len] = 0;
    let i = n - 1;
    while (i >= 0) {
      const b = this.begin[i]!;
      let j = i;
      while (j > 0 && this.begin[j - 1] === b) j--;
      for (let k = j; k <= i; k++) {
        const v = f32(this.score[k]! + bwd[this.end[k]!]!);
        bwd[b] = Number.isNaN(bwd[b]!) ? v : logSumExp(bwd[b]!, v);
      }
      i = j - 1;
    }
    const z = fwd[len]!;
    for (let k = 0; k < n; k++) {
      const p = this.piece[k]!;
      if (p < 0) continue;
      // float arithmetic inside, double exp, as the library does.
      const logp = f32(f32(f32(fwd[this.begin[k]!]! + this.score[k]!) + bwd[this.end[k]!]!) - z);
      expected[p] = expected[p]! + freq * Math.exp(logp);
    }
    return f32(freq * z);
  }

  /** The best segmentation as node indices (ties: the node with the earliest begin). */
  viterbi(): number[] {
    const len = this.length,
      n = this.count;
    this.ensure(len + 1);
    const best = this.fwd;
    const back = new Int32Array(len + 1).fill(-1);
    best.fill(-Infinity, 0, len + 1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      const e = this.end[i]!;
      const v = f32(best[this.begin[i]!]! + this.score[i]!);
      if (back[e] === -1 || v > best[e]!) {
        best[e] = v;
        back[e] = i;
      }
    }
    const path: number[] = [];
    for (let pos = len; pos > 0; pos = this.begin[back[pos]!]!) path.push(back[pos]!);
    return path.reverse();
  }

  /**
   * The `n` best segmentations (node indices), best first, by A* search from the end with
   * the Viterbi score as the (exact) estimate of the rest of the path, as the library does.
   */
  nBest(n: number): number[][] {
    const len = this.length,
      count = this.count;
    // Viterbi scores (best path from the start through each node) and nodes by end position.
    const atPos = new Float64Array(len + 1).fill(-Infinity);
    atPos[0] = 0;
    const through = new Float64Array(count);
    const endingAt: number[][] = Array.from({ length: len + 1 }, () => []);
    for (let i = 0; i < count; i++) {
      const e = this.end[i]!;
      const v = f32(atPos[this.begin[i]!]! + this.score[i]!);
      through[i] = v;
      if (endingAt[e]!.length === 0 || v > atPos[e]!) atPos[e] = v;
      endingAt[e]!.push(i);
    }
    // Hypotheses: a node (-1 = the start) and the rest of the path to the end.
    const hNode: number[] = [],
      hNext: number[] = [],
      hG: number[] = [],
      hF: number[] = [];
    const agenda = new MaxHeap(hF);
    const add = (node: number, next: number, g: number, f: number): void => {
      hNode.push(node);
      hNext.push(next);
      hG.push(g);
      hF.push(f);
      agenda.push(hNode.length - 1);
    };
    add(-2, -1, 0, 0); // the end
    const results: number[][] = [];
    // Pieces are short, so the agenda stays small; the cap only guards against pathological input.
    while (agenda.size > 0 && results.length < n && hNode.length < 1_000_000) {
      const top = agenda.pop();
      const node = hNode[top]!;
      if (node === -1) {
        const path: number[] = [];
        for (let h = hNext[top]!; hNode[h]! !== -2; h = hNext[h]!) path.push(hNode[h]!);
        results.push(path);
        continue;
      }
      const pos = node === -2 ? len : this.begin[node]!;
      if (pos === 0) {
        add(-1, top, hG[top]!, hG[top]!);
        continue;
      }
      for (const l of endingAt[pos]!) {
        const g = f32(this.score[l]! + hG[top]!);
        add(l, top, g, f32(through[l]! + hG[top]!));
      }
    }
    return results;
  }
}

/** Max-heap of hypothesis indices ordered by their priority. */
class MaxHeap {
  private readonly items: number[] = [];
  constructor(private readonly key: number[]) {}
  get size(): number {
    return this.items.length;
  }
  push(x: number): void {
    const a = this.items,
      k = this.key;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (k[a[p]!]! >= k[a[i]!]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.items,
      k = this.key;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < a.length && k[a[l]!]! > k[a[m]!]!) m = l;
        if (r < a.length && k[a[r]!]! > k[a[m]!]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
