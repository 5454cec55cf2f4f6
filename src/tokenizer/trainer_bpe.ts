// The SentencePiece BPE trainer (bpe_model_trainer.cc), step for step:
//  1. Split the normalized sentences into words and count them.
//  2. Every character is a symbol; every adjacent pair of symbols that could be a valid piece
//     is a candidate, with the total frequency of the words where it occurs (counted as the
//     library counts: in "aaa" the pair "aa" counts once, see computeFreq).
//  3. Repeatedly take the most frequent candidate (ties: the shorter piece, then the smaller
//     string), make it a piece with score -(its rank), and merge it everywhere, updating the
//     counts of the neighbouring pairs. A piece already made from other parts is skipped.
//  4. Append the alphabet (most frequent character first).
// The library rescans a set of "active" candidates (the top 5%, refreshed every 100 merges);
// we keep every candidate in a priority queue, which picks the same pair whenever the
// library's active set holds the best one (it did in all our comparisons: the models of
// ../shared/testdata/tokenizer come out byte-identical).
import { countWords } from "./train/words.js";
import { isValidPiece, UNK_CHAR, type PieceRules } from "./train/piece_rules.js";
import { compareCodepoints } from "./train/order.js";
import type { Sentence } from "./train/sentences.js";

export interface BpeInput {
  sentences: Sentence[];
  requiredChars: Array<[number, number]>;
  rules: PieceRules;
  /** How many merged pieces to learn (vocab size minus meta pieces and alphabet). */
  numMerges: number;
  /** split_by_whitespace: learn from counted words instead of whole sentences. */
  splitIntoWords: boolean;
  treatWhitespaceAsSuffix: boolean;
  allowWhitespaceOnlyPieces: boolean;
  onProgress?: (message: string) => void;
}

/** Pair key: symbol ids are below 2^26, so left * 2^26 + right is exact in a double. */
const KEY_SHIFT = 2 ** 26;

/** Symbols: characters and merged pairs, in growable columns. */
class Symbols {
  text: string[] = [];
  chars: number[][] = [];
  freq: number[] = [];
  active: boolean[] = [];
  isUnk: boolean[] = [];
  /** The two symbols a pair symbol joins (-1 for characters). */
  left: number[] = [];
  right: number[] = [];
  /** Start positions of the occurrences (possibly stale; checked when used). */
  positions: number[][] = [];
  private readonly pairIds = new Map<number, number>();
  private readonly charIds = new Map<number, number>();

  constructor(private readonly rules: PieceRules) {}

  private add(chars: number[], left = -1, right = -1): number {
    const id = this.text.length;
    if (id >= KEY_SHIFT) throw new Error("BPE trainer: too many candidate pairs");
    this.text.push(String.fromCodePoint(...chars));
    this.chars.push(chars);
    this.freq.push(0);
    this.active.push(true);
    this.isUnk.push(chars.length === 1 && chars[0] === UNK_CHAR);
    this.positions.push([]);
    this.left.push(left);
    this.right.push(right);
    return id;
  }

  charSymbol(c: number): number {
    let id = this.charIds.get(c);
    if (id === undefined) {
      id = this.add([c]);
      this.charIds.set(c, id);
    }
    return id;
  }

  /** The pair symbol for left+right, created on first use; -1 when it is not a valid piece. */
  pair(left: number, right: number): number {
    if (left < 0 || right < 0 || this.isUnk[left] || this.isUnk[right]) return -1;
    const key = left * KEY_SHIFT + right;
    const hit = this.pairIds.get(key);
    if (hit !== undefined) return hit;
    const chars = this.chars[left]!.concat(this.chars[right]!);
    const id = isValidPiece(chars, this.rules) ? this.add(chars, left, right) : -1;
    this.pairIds.set(key, id);
    return id;
  }

  /** Forgets the pair so that it is never picked again (a new symbol is made if it reappears). */
  retire(id: number): void {
    this.active[id] = false;
    this.positions[id] = [];
    this.pairIds.delete(this.left[id]! * KEY_SHIFT + this.right[id]!);
  }
}

/** Max-heap of (frequency, symbol) ordered as the library picks: freq, then shorter, then smaller. */
class CandidateQueue {
  private freqs: number[] = [];
  private ids: number[] = [];

  constructor(private readonly syms: Symbols) {}

  get size(): number {
    return this.ids.length;
  }

  private better(i: number, j: number): boolean {
    const fi = this.freqs[i]!,
      fj = this.freqs[j]!;
    if (fi !== fj) return fi > fj;
    const a = this.ids[i]!,
      b = this.ids[j]!;
    const la = this.syms.chars[a]!.length,
      lb = this.syms.chars[b]!.length;
    if (la !== lb) return la < lb;
    return compareCodepoints(this.syms.text[a]!, this.syms.text[b]!) < 0;
  }

  private swap(i: number, j: number): void {
    [this.freqs[i], this.freqs[j]] = [this.freqs[j]!, this.freqs[i]!];
    [this.ids[i], this.ids[j]] = [this.ids[j]!, this.ids[i]!];
  }

  push(id: number, freq: number): void {
    this.freqs.push(freq);
    this.ids.push(id);
    let i = this.ids.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Pops entries until one is current (symbol still active, frequency unchanged); -1 if none. */
  popBest(): number {
    while (this.ids.length > 0) {
      const id = this.ids[0]!,
        freq = this.freqs[0]!;
      this.removeTop();
      if (this.syms.active[id] && this.syms.freq[id] === freq) return id;
    }
    return -1;
  }

  private removeTop(): void {
    const lastF = this.freqs.pop()!,
      lastId = this.ids.pop()!;
    if (this.ids.length === 0) return;
    this.freqs[0] = lastF;
    this.ids[0] = lastId;
    let i = 0;
    const n = this.ids.length;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let best = i;
      if (l < n && this.better(l, best)) best = l;
      if (r < n && this.better(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
  }
}

/** Learns BPE merges; returns [piece, score] for the merged pieces and then the alphabet. */
export function trainBpePieces(input: BpeInput): Array<[string, number]> {
  const { rules, onProgress } = input;
  const words = input.splitIntoWords
    ? countWords(input.sentences, input.treatWhitespaceAsSuffix, input.allowWhitespaceOnlyPieces)
    : input.sentences;
  onProgress?.(`BPE: ${words.length} ${input.splitIntoWords ? "distinct words" : "sentences"}`);

  const required = new Map(input.requiredChars);
  const syms = new Symbols(rules);
  // Characters get their alphabet frequency as the library does (unused for picking pairs).
  for (const [c, f] of input.requiredChars) syms.freq[syms.charSymbol(c)] = f;

  // Flatten the words: sym[p] is the symbol starting at p (-1 once merged into its left),
  // next/prev link the live positions of one word, weight[p] is the word's frequency.
  let total = 0;
  for (const w of words) total += w.text.length;
  const sym = new Int32Array(total);
  const next = new Int32Array(total);
  const prev = new Int32Array(total);
  const weight = new Float64Array(total);
  const touched = new Set<number>();
  // positions[id] must be sorted before counting; merges append out of order.
  const unsorted = new Set<number>();

  const addPair = (p: number, q: number): void => {
    const id = syms.pair(sym[p]!, sym[q]!);
    if (id < 0) return;
    syms.positions[id]!.push(p);
    unsorted.add(id);
    touched.add(id);
  };
  // A merge next to an occurrence of this pair: its count must be redone.
  const resetPair = (p: number, q: number, best: number): void => {
    const id = syms.pair(sym[p]!, sym[q]!);
    if (id < 0 || id === best) return;
    syms.freq[id] = 0;
    touched.add(id);
  };
  // The library's ComputeFreq: recount only when reset (freq 0); drop stale occurrences and,
  // in runs like "aaa", every occurrence that overlaps the previous counted one. Dropped
  // occurrences are forgotten for good, as in the library (so counts can run low).
  const computeFreq = (id: number): void => {
    if (syms.freq[id]! > 0) return;
    const list = syms.positions[id]!;
    if (unsorted.has(id)) {
      list.sort((a, b) => a - b);
      unsorted.delete(id);
    }
    const left = syms.left[id]!,
      right = syms.right[id]!;
    const kept: number[] = [];
    let prevRight = -1;
    let freq = 0;
    for (const l of list) {
      const r = next[l]!;
      if (l === prevRight || sym[l] !== left || r < 0 || sym[r] !== right) {
        prevRight = -1;
        continue;
      }
      kept.push(l);
      freq += weight[l]!;
      prevRight = r;
    }
    syms.positions[id] = kept;
    syms.freq[id] = freq;
  };

  let n = 0;
  for (const w of words) {
    const start = n;
    for (const ch of w.text) {
      const c = ch.codePointAt(0)!;
      sym[n] = syms.charSymbol(required.has(c) ? c : UNK_CHAR);
      weight[n] = w.freq;
      prev[n] = n === start ? -1 : n - 1;
      next[n] = n + 1;
      n++;
    }
    if (n > start) next[n - 1] = -1;
  }
  total = n;
  for (let p = 0; p < total; p++) if (next[p]! >= 0) addPair(p, next[p]!);

  const queue = new CandidateQueue(syms);
  const flush = (): void => {
    for (const id of touched) {
      if (!syms.active[id]) continue;
      computeFreq(id);
      queue.push(id, syms.freq[id]!);
    }
    touched.clear();
  };
  flush();

  const pieces: Array<[string, number]> = [];
  const made = new Set<string>();
  while (pieces.length < input.numMerges) {
    const best = queue.popBest();
    if (best < 0) {
      onProgress?.(`BPE: no more pairs to merge after ${pieces.length} pieces`);
      break;
    }
    const text = syms.text[best]!;
    if (made.has(text)) {
      // The same string was already made from other parts ("aa"+"a" vs "a"+"aa").
      syms.retire(best);
      continue;
    }
    made.add(text);
    pieces.push([text, -pieces.length]);
    if (pieces.length % 1000 === 0) onProgress?.(`BPE: ${pieces.length}/${input.numMerges} pieces (freq ${syms.freq[best]}, '${text}')`);

    const left = syms.left[best]!,
      right = syms.right[best]!;
    if (unsorted.delete(best)) syms.positions[best]!.sort((a, b) => a - b);
    for (const l of syms.positions[best]!) {
      const r = next[l]!;
      if (sym[l] !== left || r < 0 || sym[r] !== right) continue; // overlapped by the previous merge ("aaa")
      const pl = prev[l]!,
        nr = next[r]!;
      if (pl >= 0) resetPair(pl, l, best);
      if (nr >= 0) resetPair(r, nr, best);
      sym[l] = best;
      sym[r] = -1;
      next[l] = nr;
      if (nr >= 0) prev[nr] = l;
      if (pl >= 0) addPair(pl, l);
      if (nr >= 0) addPair(l, nr);
    }
    syms.retire(best);
    flush();
  }

  // The alphabet goes last, most frequent first.
  for (const [c] of input.requiredChars) pieces.push([String.fromCodePoint(c), -pieces.length]);
  return pieces;
}
