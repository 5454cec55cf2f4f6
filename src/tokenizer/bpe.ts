// BPE encoding as SentencePiece does it (bpe_model.cc).
//
// Start from characters (a user-defined symbol is one frozen symbol). Repeatedly merge the
// adjacent pair whose concatenation is a piece with the highest score; on a tie the leftmost
// pair wins. A merged piece of type UNUSED is split back into the two symbols it was made of.
// With `alpha` > 0 each merge is skipped with probability alpha (BPE-dropout).

import { PieceType } from "./model_proto.js";
import type { RandomSource } from "./random.js";
import type { EncodedPiece, Vocab } from "./vocab.js";
import { utf8Decode } from "./utf8.js";

interface BpeSymbol {
  begin: number;
  end: number;
  text: string;
  prev: number;
  next: number;
  frozen: boolean;
}

interface Pair {
  left: number;
  right: number;
  score: number;
  /** Byte length of the merged piece; a pair is stale when its symbols changed since. */
  size: number;
}

/** Max-heap on score, then on smaller `left` (the leftmost pair wins a tie). */
class PairQueue {
  private readonly heap: Pair[] = [];

  get length(): number {
    return this.heap.length;
  }

  private static before(a: Pair, b: Pair): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }

  push(p: Pair): void {
    const h = this.heap;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!PairQueue.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): Pair {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let best = i;
        if (l < h.length && PairQueue.before(h[l]!, h[best]!)) best = l;
        if (r < h.length && PairQueue.before(h[r]!, h[best]!)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best]!, h[i]!];
        i = best;
      }
    }
    return top;
  }
}

export function bpeEncode(vocab: Vocab, bytes: Uint8Array, options: { alpha?: number; random?: RandomSource } = {}): EncodedPiece[] {
  const alpha = options.alpha ?? 0;
  const random = options.random ?? Math.random;
  const symbols: BpeSymbol[] = [];
  for (let pos = 0; pos < bytes.length;) {
    const m = vocab.prefixMatcher.match(bytes, pos, bytes.length);
    const end = pos + m.length;
    symbols.push({ begin: pos, end, text: utf8Decode(bytes.subarray(pos, end)), prev: symbols.length - 1, next: end < bytes.length ? symbols.length + 1 : -1, frozen: m.found });
    pos = end;
  }
  if (symbols.length === 0) return [];

  const queue = new PairQueue();
  // Merged UNUSED piece → the two pieces it was made of, to split it back at the end.
  const unmerge = new Map<string, [string, string]>();
  const tryPair = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const l = symbols[left]!, r = symbols[right]!;
    if (l.frozen || r.frozen) return;
    const text = l.text + r.text;
    const id = vocab.normalPieces.get(text);
    if (id === undefined) return;
    queue.push({ left, right, score: vocab.scores[id]!, size: r.end - l.begin });
    if (vocab.types[id] === PieceType.UNUSED) unmerge.set(text, [l.text, r.text]);
  };
  for (let i = 1; i < symbols.length; i++) tryPair(i - 1, i);

  while (queue.length > 0) {
    const top = queue.pop();
    const l = symbols[top.left]!, r = symbols[top.right]!;
    // Stale: one side was merged away or grew since this pair was queued.
    if (l.text === "" || r.text === "" || r.end - l.begin !== top.size || l.next !== top.right) continue;
    if (alpha > 0 && (alpha >= 1 || random() < alpha)) continue;
    l.text += r.text;
    l.end = r.end;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next]!.prev = top.left;
    r.text = "";
    tryPair(l.prev, top.left);
    tryPair(top.left, l.next);
  }

  const out: EncodedPiece[] = [];
  const emit = (text: string, begin: number, end: number): void => {
    const id = vocab.pieceToId(text);
    const parts = vocab.types[id] === PieceType.UNUSED ? unmerge.get(text) : undefined;
    if (!parts) {
      out.push({ begin, end, id });
      return;
    }
    const mid = begin + Buffer.byteLength(parts[0]);
    emit(parts[0], begin, mid);
    emit(parts[1], mid, end);
  };
  for (let i = 0; i >= 0; i = symbols[i]!.next) {
    const s = symbols[i]!;
    emit(s.text, s.begin, s.end);
  }
  return out;
}
