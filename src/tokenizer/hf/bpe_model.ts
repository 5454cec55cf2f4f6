// The BPE model of tokenizer.json (Rust tokenizers: models/bpe). A word starts as one symbol per
// character (per byte for byte-level tokenizers); then the pair with the lowest merge rank is
// merged, the leftmost first on ties, until no listed pair is left. Characters missing from the
// vocabulary become their UTF-8 byte pieces "<0xAB>" (byte_fallback) or the unknown token.
//
// Symbols and merges work on ids: a table maps a pair (a, b) to the merge's rank and merged id
// (pair_table.ts). Encoded words are cached.
import { BYTE_TO_CHAR, toByteLevel } from "./byte_level.js";
import { bool, isTokenId, MAX_TOKEN_ID, node, str, TokenizerFileError, type Node } from "./config.js";
import { byteToPiece } from "../vocab.js";
import { PairTable } from "./pair_table.js";

const encoder = new TextEncoder();
const CACHE_LIMIT = 100_000;
const MAX_CACHED_WORD = 256;
/** Words with more symbols than this merge through a heap instead of rescanning. */
const LONG_WORD = 48;

export class BpeModel {
  readonly vocab: Map<string, number>;
  readonly unkId: number;
  private merges!: PairTable;
  private readonly byteFallback: boolean;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;
  private readonly prefix: string;
  private readonly suffix: string;
  /** Id of each byte's character (byte-level) and of each "<0xAB>" piece (byte fallback); -1 if absent. */
  private readonly byteCharIds = new Int32Array(256).fill(-1);
  private readonly bytePieceIds = new Int32Array(256).fill(-1);
  private cache = new Map<string, number[]>();

  constructor(json: unknown, where: string) {
    const n = node(json, where);
    this.vocab = readVocab(n);
    const dropout = n.json.dropout;
    if (dropout !== undefined && dropout !== null && dropout !== 0)
      throw new TokenizerFileError(`${where}.dropout: BPE dropout (${JSON.stringify(dropout)}) is not supported`);
    const unk = n.json.unk_token;
    this.unkId = -1;
    if (unk !== undefined && unk !== null) {
      const id = typeof unk === "string" ? this.vocab.get(unk) : undefined;
      if (id === undefined) throw new TokenizerFileError(`${where}.unk_token: ${JSON.stringify(unk)} is not in the vocabulary`);
      this.unkId = id;
    }
    this.byteFallback = bool(n, "byte_fallback", false);
    this.fuseUnk = bool(n, "fuse_unk", false);
    this.ignoreMerges = bool(n, "ignore_merges", false);
    this.prefix = str(n, "continuing_subword_prefix", "");
    this.suffix = str(n, "end_of_word_suffix", "");
    for (let b = 0; b < 256; b++) {
      this.byteCharIds[b] = this.vocab.get(BYTE_TO_CHAR[b]!) ?? -1;
      this.bytePieceIds[b] = this.vocab.get(byteToPiece(b)) ?? -1;
    }
    this.readMerges(n);
  }

  private readMerges(n: Node): void {
    const merges = n.json.merges;
    if (!Array.isArray(merges)) throw new TokenizerFileError(`${n.where}.merges: expected an array`);
    this.merges = new PairTable(merges.length);
    for (let rank = 0; rank < merges.length; rank++) {
      const m = merges[rank];
      // Two spellings: "a b" (older files) or ["a", "b"].
      const pair = typeof m === "string" ? splitMerge(m) : m;
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        throw new TokenizerFileError(`${n.where}.merges[${rank}]: expected "a b" or ["a", "b"], got ${JSON.stringify(m)}`);
      }
      const [a, b] = pair as [string, string];
      const aId = this.vocab.get(a),
        bId = this.vocab.get(b);
      const merged = a + (this.prefix && b.startsWith(this.prefix) ? b.slice(this.prefix.length) : b);
      const mId = this.vocab.get(merged);
      if (aId === undefined || bId === undefined || mId === undefined) {
        const missing = aId === undefined ? a : bId === undefined ? b : merged;
        throw new TokenizerFileError(`${n.where}.merges[${rank}]: ${JSON.stringify(missing)} is not in the vocabulary`);
      }
      this.merges.set(aId, bId, rank, mId);
    }
  }

  /** Appends the ids of one pre-tokenized word; `byteLevel`: the word is read as UTF-8 bytes. */
  encodeWord(word: string, byteLevel: boolean, out: number[]): void {
    const cached = this.cache.get(word);
    if (cached !== undefined) {
      for (let i = 0; i < cached.length; i++) out.push(cached[i]!);
      return;
    }
    const ids = this.encodeUncached(word, byteLevel);
    if (word.length <= MAX_CACHED_WORD) {
      if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
      this.cache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  private encodeUncached(word: string, byteLevel: boolean): number[] {
    if (this.ignoreMerges) {
      const whole = this.vocab.get(byteLevel ? toByteLevel(word) : word);
      if (whole !== undefined) return [whole];
    }
    const symbols = byteLevel ? this.byteSymbols(word) : this.charSymbols(word);
    return this.mergeAll(symbols);
  }

  /** One symbol per UTF-8 byte, spelled in the byte-level alphabet. */
  private byteSymbols(word: string): number[] {
    const bytes = encoder.encode(word);
    if (this.prefix === "" && this.suffix === "") {
      const ids: number[] = new Array(bytes.length);
      let ok = true;
      for (let i = 0; i < bytes.length; i++) {
        const id = this.byteCharIds[bytes[i]!]!;
        ids[i] = id;
        if (id < 0) ok = false;
      }
      if (ok) return ids;
    }
    return this.symbolsFromUnits(Array.from(bytes, (b) => BYTE_TO_CHAR[b]!));
  }

  /** One symbol per Unicode character. */
  private charSymbols(word: string): number[] {
    return this.symbolsFromUnits(Array.from(word));
  }

  /** Symbols for the given characters, with prefix / suffix, byte fallback and unknowns (Rust: merge_word). */
  private symbolsFromUnits(units: string[]): number[] {
    const ids: number[] = [];
    let pendingUnk = false;
    for (let i = 0; i < units.length; i++) {
      let s = units[i]!;
      if (i > 0 && this.prefix) s = this.prefix + s;
      if (i === units.length - 1 && this.suffix) s += this.suffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (pendingUnk) ids.push(this.unkId);
        pendingUnk = false;
        ids.push(id);
        continue;
      }
      if (this.byteFallback) {
        const bytes = encoder.encode(s);
        const pieces = Array.from(bytes, (b) => this.bytePieceIds[b]!);
        if (pieces.every((p) => p >= 0)) {
          if (pendingUnk) ids.push(this.unkId);
          pendingUnk = false;
          ids.push(...pieces);
          continue;
        }
      }
      if (this.unkId >= 0) {
        // A run of unknown characters is one unknown token when fuse_unk is set.
        if (pendingUnk && !this.fuseUnk) ids.push(this.unkId);
        pendingUnk = true;
      }
    }
    if (pendingUnk) ids.push(this.unkId);
    return ids;
  }

  /** Merges the lowest-ranked pair (leftmost on ties) until none is left. */
  private mergeAll(ids: number[]): number[] {
    return ids.length > LONG_WORD ? this.mergeAllHeap(ids) : this.mergeAllShort(ids);
  }

  /** For short words: rescan the pair ranks after each merge (fast for a few dozen symbols). */
  private mergeAllShort(ids: number[]): number[] {
    const table = this.merges;
    // slots[i]: the table slot of (ids[i], ids[i+1]), or -1 when that pair does not merge.
    const slots: number[] = new Array(Math.max(0, ids.length - 1));
    for (let i = 0; i + 1 < ids.length; i++) slots[i] = table.find(ids[i]!, ids[i + 1]!);
    for (;;) {
      let best = -1,
        bestRank = Infinity;
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i]!;
        if (slot >= 0) {
          const rank = table.rankAt(slot);
          if (rank < bestRank) {
            bestRank = rank;
            best = i;
          }
        }
      }
      if (best < 0) return ids;
      ids[best] = table.mergedAt(slots[best]!);
      ids.splice(best + 1, 1);
      slots.splice(best, 1);
      if (best > 0) slots[best - 1] = table.find(ids[best - 1]!, ids[best]!);
      if (best < slots.length) slots[best] = table.find(ids[best]!, ids[best + 1]!);
    }
  }

  /**
   * For long words (a whole line when there is no pre-tokenizer): a linked list of symbols and a
   * heap of candidate merges ordered by (rank, position), as the Rust library. An entry whose
   * pair has changed since it was pushed is skipped when it comes up.
   */
  private mergeAllHeap(ids: number[]): number[] {
    const table = this.merges;
    const n = ids.length;
    const id = Int32Array.from(ids);
    const next = new Int32Array(n),
      prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MergeHeap();
    const push = (pos: number): void => {
      const q = next[pos]!;
      if (q < 0) return;
      const slot = table.find(id[pos]!, id[q]!);
      if (slot >= 0) heap.push(table.rankAt(slot), pos);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const [rank, pos] = heap.pop();
      const q = next[pos]!;
      if (id[pos]! < 0 || q < 0) continue;
      const slot = table.find(id[pos]!, id[q]!);
      if (slot < 0 || table.rankAt(slot) !== rank) continue; // the pair changed since it was pushed
      id[pos] = table.mergedAt(slot);
      id[q] = -1;
      next[pos] = next[q]!;
      if (next[q]! >= 0) prev[next[q]!] = pos;
      if (prev[pos]! >= 0) push(prev[pos]!);
      push(pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(id[i]!);
    return out;
  }
}

/** A binary min-heap of (rank, position) pairs: the lowest rank first, then the leftmost. */
class MergeHeap {
  private values: number[] = [];
  private positions: number[] = [];

  get size(): number {
    return this.values.length;
  }

  private less(i: number, j: number): boolean {
    const a = this.values[i]!,
      b = this.values[j]!;
    return a < b || (a === b && this.positions[i]! < this.positions[j]!);
  }

  private swap(i: number, j: number): void {
    [this.values[i], this.values[j]] = [this.values[j]!, this.values[i]!];
    [this.positions[i], this.positions[j]] = [this.positions[j]!, this.positions[i]!];
  }

  push(value: number, pos: number): void {
    this.values.push(value);
    this.positions.push(pos);
    for (let i = this.values.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.values[0]!, this.positions[0]!];
    const lastValue = this.values.pop()!,
      lastPos = this.positions.pop()!;
    if (this.values.length > 0) {
      this.values[0] = lastValue;
      this.positions[0] = lastPos;
      for (let i = 0; ; ) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < this.values.length && this.less(l, m)) m = l;
        if (r < this.values.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

function splitMerge(m: string): string[] | null {
  const at = m.indexOf(" ", 1);
  return at < 0 ? null : [m.slice(0, at), m.slice(at + 1)];
}

/** model.vocab: {"piece": id}, ids non-negative integers, unique. */
export function readVocab(n: Node): Map<string, number> {
  const v = n.json.vocab;
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new TokenizerFileError(`${n.where}.vocab: expected an object {"piece": id}`);
  const map = new Map<string, number>();
  for (const [piece, id] of Object.entries(v)) {
    if (!isTokenId(id))
      throw new TokenizerFileError(
        `${n.where}.vocab[${JSON.stringify(piece)}]: expected an integer id in [0, ${MAX_TOKEN_ID}], got ${JSON.stringify(id)}`,
      );
    map.set(piece, id as number);
  }
  if (map.size === 0) throw new TokenizerFileError(`${n.where}.vocab: empty`);
  return map;
}
