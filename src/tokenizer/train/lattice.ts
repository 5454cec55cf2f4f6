// Lattices for Unigram training. Every text (a word, or a piece being judged for pruning) is
// matched once against the seed vocabulary (train/candidates.ts lists each (begin, length,
// seed) that fits). The vocabulary only shrinks during training, so a lattice for the current
// vocabulary is these candidates whose seed is still alive (`pieceOfSeed[seed] >= 0`), plus an
// unknown node (score `unkScore`, counted as piece 0) wherever no one-character piece starts,
// as unigram_model.cc does.
// Log-space arithmetic is rounded to float32, like the library's `float` lattices, and sums
// run in the library's order, so that the same vocabulary comes out.

import type { CandidateArrays } from "./candidates.js";

const f32 = Math.fround;

/**
 * The piece an unknown node counts as. The library's training model never sets its unknown
 * id, which stays at its default 0: expected counts and Viterbi counts of unknown spans go to
 * the first piece. We do the same to train the same vocabularies.
 */
const UNK_PIECE = 0;
const MINUS_LOG_EPSILON = 50;

/**
 * log(exp(x) + exp(y)), as the library's LogSumExp. An x of -Infinity (nothing summed yet)
 * gives y, as the library's init mode does.
 */
export function logSumExp(x: number, y: number): number {
  const vmin = x < y ? x : y,
    vmax = x < y ? y : x;
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

/**
 * One text's lattice: live nodes (begin, end, piece, score), sorted by begin then length.
 * One Lattice is reused for every text: its arrays only grow.
 */
export class Lattice {
  begin = new Int32Array(256);
  end = new Int32Array(256);
  piece = new Int32Array(256);
  score = new Float64Array(256);
  count = 0;
  length = 0;
  private fwd = new Float64Array(64);
  private bwd = new Float64Array(64);
  private back = new Int32Array(64);

  build(texts: CandidateArrays, t: number, model: LatticeModel): void {
    const len = texts.lengths[t]!;
    const from = texts.nodeStart[t]!,
      to = texts.nodeStart[t + 1]!;
    // At most every candidate plus one unknown node per position.
    if (this.begin.length < to - from + len) this.grow(to - from + len);
    if (this.fwd.length < len + 1) {
      this.fwd = new Float64Array(2 * len + 2);
      this.bwd = new Float64Array(2 * len + 2);
      this.back = new Int32Array(2 * len + 2);
    }
    const { begin, end, piece, score } = this;
    const { nodeBegin, nodeSeed, nodeLength } = texts;
    const { pieceOfSeed, scores } = model;
    let n = 0;
    let k = from;
    for (let b = 0; b < len; b++) {
      let single = false;
      for (; k < to && nodeBegin[k] === b; k++) {
        const p = pieceOfSeed[nodeSeed[k]!]!;
        if (p < 0) continue;
        const l = nodeLength[k]!;
        if (l === 1) single = true;
        begin[n] = b;
        end[n] = b + l;
        piece[n] = p;
        score[n++] = scores[p]!;
      }
      if (!single) {
        begin[n] = b;
        end[n] = b + 1;
        piece[n] = UNK_PIECE;
        score[n++] = model.unkScore;
      }
    }
    this.count = n;
    this.length = len;
  }

  private grow(n: number): void {
    this.begin = new Int32Array(2 * n);
    this.end = new Int32Array(2 * n);
    this.piece = new Int32Array(2 * n);
    this.score = new Float64Array(2 * n);
  }

  /**
   * Forward-backward: adds freq x the marginal probability of every node to `expected`
   * (indexed by piece); returns freq x log Z (Z: the likelihood of the text).
   */
  addMarginals(freq: number, expected: Float32Array): number {
    const len = this.length,
      n = this.count;
    const { begin, end, piece, score, fwd, bwd } = this;
    // fwd[pos]: log-sum over paths from the start to pos, nodes taken in begin order (the
    // library's order of end_nodes_).
    fwd.fill(-Infinity, 0, len + 1);
    fwd[0] = 0;
    for (let i = 0; i < n; i++) {
      const e = end[i]!;
      const x = fwd[e]!,
        y = f32(score[i]! + fwd[begin[i]!]!);
      // logSumExp, inlined: this loop and the next are most of the trainer's time.
      if (x === -Infinity) fwd[e] = y;
      else {
        const vmin = x < y ? x : y,
          vmax = x < y ? y : x;
        fwd[e] = vmax > f32(vmin + MINUS_LOG_EPSILON) ? vmax : f32(vmax + Math.log(Math.exp(f32(vmin - vmax)) + 1.0));
      }
    }
    // bwd[pos]: log-sum over paths from pos to the end; the nodes of one begin in their order.
    bwd.fill(-Infinity, 0, len + 1);
    bwd[len] = 0;
    for (let j = n - 1; j >= 0; ) {
      const b = begin[j]!;
      let first = j;
      while (first > 0 && begin[first - 1] === b) first--;
      let acc = f32(score[first]! + bwd[end[first]!]!);
      for (let k = first + 1; k <= j; k++) {
        const y = f32(score[k]! + bwd[end[k]!]!);
        const vmin = acc < y ? acc : y,
          vmax = acc < y ? y : acc;
        acc = vmax > f32(vmin + MINUS_LOG_EPSILON) ? vmax : f32(vmax + Math.log(Math.exp(f32(vmin - vmax)) + 1.0));
      }
      bwd[b] = acc;
      j = first - 1;
    }
    const z = fwd[len]!;
    for (let k = 0; k < n; k++) {
      // float arithmetic inside, double exp, as the library does.
      const logp = f32(f32(f32(fwd[begin[k]!]! + score[k]!) + bwd[end[k]!]!) - z);
      const p = piece[k]!;
      expected[p] = expected[p]! + freq * Math.exp(logp);
    }
    return f32(freq * z);
  }

  /** The best segmentation as node indices (ties: the node with the earliest begin). */
  viterbi(): number[] {
    const len = this.length,
      n = this.count;
    const best = this.fwd,
      back = this.back;
    back.fill(-1, 0, len + 1);
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
