// Unigram n-best segmentations and sampled segmentations (subword regularisation), as in
// SentencePiece's Lattice (unigram_model.cc).
//
// The lattice has one node per piece occurrence, plus BOS at position 0 and EOS at the end.
//   n-best:  forward Viterbi gives every node the best score from BOS to its end (h), then an
//            A* search from EOS leftwards pops partial paths by g + h, which is exact, so
//            complete paths come out best first.
//   sample:  forward filtering (log-sum-exp of alpha * scores into every node), then walking
//            back from EOS choosing each left neighbour with probability ∝ its forward weight.

import { PieceType } from "./model_proto.js";
import type { RandomSource } from "./random.js";
import type { UnigramModel } from "./unigram.js";
import type { EncodedPiece } from "./vocab.js";
import { positiveInt } from "../util/validate.js";

interface Node {
  index: number;
  begin: number;
  end: number;
  id: number;
  score: number;
}

/** Nodes indexed by where they end; BOS is node 0 (ending at 0), EOS the last one. */
interface Lattice {
  nodes: Node[];
  endsAt: Node[][];
  eos: Node;
}

function buildLattice(model: UnigramModel, bytes: Uint8Array): Lattice {
  const bos: Node = { index: 0, begin: 0, end: 0, id: -1, score: 0 };
  const nodes: Node[] = [bos];
  const endsAt: Node[][] = Array.from({ length: bytes.length + 1 }, () => []);
  endsAt[0]!.push(bos);
  const byStart = model.lattice(bytes);
  for (let pos = 0; pos < bytes.length; pos++) {
    for (const n of byStart[pos] ?? []) {
      // The lattice (unlike the fast Viterbi) gives user-defined symbols chars * max + 1.
      let score = n.score;
      if (model.vocab.types[n.id] === PieceType.USER_DEFINED) {
        let chars = 0;
        for (let i = n.begin; i < n.end; i++) if ((bytes[i]! & 0xc0) !== 0x80) chars++;
        score = Math.fround(chars * model.maxScore + 1);
      }
      const node: Node = { index: nodes.length, begin: n.begin, end: n.end, id: n.id, score };
      nodes.push(node);
      endsAt[n.end]!.push(node);
    }
  }
  const eos: Node = { index: nodes.length, begin: bytes.length, end: bytes.length, id: -1, score: 0 };
  nodes.push(eos);
  return { nodes, endsAt, eos };
}

/** Forward Viterbi: best[node] = best score of a path from BOS through the end of node. */
function forwardBest(lat: Lattice): Float32Array {
  const best = new Float32Array(lat.nodes.length);
  const starts = groupByBegin(lat);
  for (let pos = 0; pos < starts.length; pos++) {
    for (const r of starts[pos] ?? []) {
      let bestScore = 0;
      let found = false;
      for (const l of lat.endsAt[pos]!) {
        const s = Math.fround(best[l.index]! + r.score);
        if (!found || s > bestScore) {
          bestScore = s;
          found = true;
        }
      }
      best[r.index] = bestScore;
    }
  }
  return best;
}

function groupByBegin(lat: Lattice): Node[][] {
  const starts: Node[][] = [];
  for (const n of lat.nodes) {
    if (n.index === 0) continue;
    (starts[n.begin] ??= []).push(n);
  }
  return starts;
}

interface Hypothesis {
  node: Node;
  next: Hypothesis | null;
  fx: number;
  gx: number;
}

/** Max-heap of hypotheses by fx. */
class Agenda {
  heap: Hypothesis[] = [];
  push(h: Hypothesis): void {
    const a = this.heap;
    a.push(h);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]!.fx >= a[i]!.fx) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): Hypothesis {
    const a = this.heap;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.fx > a[m]!.fx) m = l;
        if (r < a.length && a[r]!.fx > a[m]!.fx) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
  get size(): number {
    return this.heap.length;
  }
}

const MAX_AGENDA = 100000;
const MIN_AGENDA = 512;

/** The `n` best segmentations with their scores (sum of piece scores), best first. */
export function nbestEncode(model: UnigramModel, bytes: Uint8Array, n: number): { pieces: EncodedPiece[]; score: number }[] {
  positiveInt("nbestSize", n);
  n = Math.min(n, 1024);
  if (bytes.length === 0) return [{ pieces: [], score: 0 }];
  const lat = buildLattice(model, bytes);
  const best = forwardBest(lat);
  const results: { pieces: EncodedPiece[]; score: number }[] = [];
  let agenda = new Agenda();
  agenda.push({ node: lat.eos, next: null, gx: 0, fx: best[lat.eos.index]! });
  while (agenda.size > 0) {
    const top = agenda.pop();
    if (top.node.index === 0) {
      const pieces: EncodedPiece[] = [];
      for (let h = top.next; h && h.next; h = h.next) pieces.push({ begin: h.node.begin, end: h.node.end, id: h.node.id });
      results.push({ pieces, score: top.fx });
      if (results.length === n) break;
      continue;
    }
    for (const l of lat.endsAt[top.node.begin]!) {
      agenda.push({ node: l, next: top, gx: Math.fround(l.score + top.gx), fx: Math.fround(best[l.index]! + top.gx) });
    }
    // Repetitive text can grow the agenda without bound: keep only the best hypotheses.
    if (agenda.size >= MAX_AGENDA) {
      const keep = new Agenda();
      const size = Math.min(MIN_AGENDA, n * 10);
      for (let i = 0; i < size; i++) keep.push(agenda.pop());
      agenda = keep;
    }
  }
  return results;
}

function logSumExp(x: number, y: number, initMode: boolean): number {
  if (initMode) return y;
  const vmin = Math.min(x, y),
    vmax = Math.max(x, y);
  if (vmax > vmin + 50) return vmax;
  return vmax + Math.log(Math.exp(vmin - vmax) + 1);
}

/** One segmentation drawn with probability ∝ exp(alpha * score) (forward-filtering backward-sampling). */
export function sampleEncode(model: UnigramModel, bytes: Uint8Array, alpha: number, random: RandomSource): EncodedPiece[] {
  if (bytes.length === 0) return [];
  const lat = buildLattice(model, bytes);
  const forward = new Float64Array(lat.nodes.length);
  const starts = groupByBegin(lat);
  for (let pos = 0; pos < starts.length; pos++) {
    for (const r of starts[pos] ?? []) {
      const lefts = lat.endsAt[pos]!;
      lefts.forEach((l, i) => {
        forward[r.index] = logSumExp(forward[r.index]!, alpha * l.score + forward[l.index]!, i === 0);
      });
    }
  }
  const out: EncodedPiece[] = [];
  let z = forward[lat.eos.index]!;
  let node = lat.eos;
  for (;;) {
    const lefts = lat.endsAt[node.begin]!;
    const weights = lefts.map((l) => Math.exp(forward[l.index]! + alpha * l.score - z));
    const total = weights.reduce((a, b) => a + b, 0);
    let r = random() * total;
    let pick = lefts.length - 1;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) {
        pick = i;
        break;
      }
    }
    node = lefts[pick]!;
    if (node.index === 0) break;
    z = forward[node.index]!;
    out.push({ begin: node.begin, end: node.end, id: node.id });
  }
  return out.reverse();
}
