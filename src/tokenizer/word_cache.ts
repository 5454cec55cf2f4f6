// A memo of segmentations per word (BPE's and Unigram's): natural text repeats its words, so
// most words are segmented once and then copied. Keys are byte strings, hashed and compared
// here (no string is made); values are the word's segments as (end offset within the word, id)
// pairs. The memo is bounded: when it fills, it starts over.
//
// Layout, for few cache misses per lookup (the memo outgrows the fast caches on real text): a
// slot table of (hash, record + 1) side by side, and one arena of records, each holding the
// word's length and piece count, the caller's extra numbers (floats), the key bytes and the
// pairs together. A hit touches a slot and, mostly, one record's cache line.
//
// It is only correct where a word's segmentation does not depend on its neighbours; bpe.ts and
// unigram_viterbi.ts check that before using it.

/** The word hash, 32-bit FNV-1a: h = FNV_OFFSET, then h = Math.imul(h ^ byte, FNV_PRIME) per byte. */
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

const SLOTS = 1 << 16;
const MAX_ENTRIES = (SLOTS * 3) >> 2;
/** The arena's bound, in 32-bit units (8 MB). */
const MAX_ARENA = 1 << 21;
/** Longer words are segmented every time (they are rare, and the memo stays small). */
export const MAX_CACHED_WORD = 64;

/** The arena starts at 1 MB (the words of a typical 1 MB text fit) and doubles when full. */
const INITIAL_ARENA = 1 << 18;

// A record, at an even arena index r: [key length, pair count, extras (two units per float),
// key bytes (four per unit), pairs].
const KEY_LENGTH = 0,
  PAIR_COUNT = 1,
  HEADER = 2;

export class WordCache {
  /** Per slot: the word's hash, and its record + 1 (0: empty). */
  private readonly slots = new Int32Array(2 * SLOTS);
  /** The record arena; values[valueOffset(entry) ...] are an entry's (end, id) pairs. */
  values = new Int32Array(INITIAL_ARENA);
  /** The arena's bytes (keys) and floats (extras). */
  private bytes = new Uint8Array(this.values.buffer);
  extras = new Float64Array(this.values.buffer);
  private entries = 0;
  private used = 0;
  private hash = 0;
  private slot = 0;

  /** `extraFloats`: numbers the caller keeps per word, at extras[extraIndex(entry) + k]. */
  constructor(private readonly extraFloats = 0) {}

  /**
   * Looks up bytes[begin, end). Returns the entry (use valueOffset / valueLength), or -1; a miss
   * remembers where store() should put it.
   */
  find(bytes: Uint8Array, begin: number, end: number): number {
    let h = FNV_OFFSET;
    for (let i = begin; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
    return this.findHashed(h, bytes, begin, end);
  }

  /** find() for a caller that hashed the word already: h = FNV-1a of its bytes (FNV_OFFSET, FNV_PRIME). */
  findHashed(h: number, bytes: Uint8Array, begin: number, end: number): number {
    this.hash = h;
    const slots = this.slots,
      arena = this.values,
      mask = SLOTS - 1;
    let slot = (h ^ (h >>> 15)) & mask;
    const len = end - begin;
    for (;;) {
      const r = slots[2 * slot + 1]! - 1;
      if (r < 0) break;
      if (slots[2 * slot] === h && arena[r + KEY_LENGTH] === len && this.sameKey(4 * this.keyAt(r), bytes, begin, len)) return r;
      slot = (slot + 1) & mask;
    }
    this.slot = slot;
    return -1;
  }

  valueOffset(entry: number): number {
    return this.keyAt(entry) + ((this.values[entry + KEY_LENGTH]! + 3) >> 2);
  }

  valueLength(entry: number): number {
    return this.values[entry + PAIR_COUNT]!;
  }

  /** Where an entry's extra floats start in `extras`. */
  extraIndex(entry: number): number {
    return (entry + HEADER) >> 1;
  }

  /**
   * Stores the word of the last missed find() with `count` (end, id) pairs from `pairs`;
   * returns its entry (valid until the memo starts over). Its extras start at 0.
   */
  store(bytes: Uint8Array, begin: number, end: number, pairs: Int32Array, count: number): number {
    const len = end - begin;
    let size = HEADER + 2 * this.extraFloats + ((len + 3) >> 2) + 2 * count;
    size += size & 1; // records stay at even indices, so their floats are aligned
    if (this.entries >= MAX_ENTRIES || this.used + size > MAX_ARENA) {
      this.clear();
      this.find(bytes, begin, end); // recompute the slot in the emptied table
    }
    if (this.used + size > this.values.length) this.grow(this.used + size);
    const r = this.used;
    this.used += size;
    this.entries++;
    const arena = this.values;
    arena[r + KEY_LENGTH] = len;
    arena[r + PAIR_COUNT] = count;
    const x = this.extraIndex(r);
    for (let k = 0; k < this.extraFloats; k++) this.extras[x + k] = 0;
    // Copied by loops: words are short, and a subarray per store would be an allocation each.
    const keys = this.bytes,
      k0 = 4 * this.keyAt(r);
    for (let i = 0; i < len; i++) keys[k0 + i] = bytes[begin + i]!;
    const v0 = this.valueOffset(r);
    for (let i = 0; i < 2 * count; i++) arena[v0 + i] = pairs[i]!;
    this.slots[2 * this.slot] = this.hash;
    this.slots[2 * this.slot + 1] = r + 1;
    return r;
  }

  /** The arena index where a record's key bytes start. */
  private keyAt(r: number): number {
    return r + HEADER + 2 * this.extraFloats;
  }

  /** Grows the arena (doubling, up to its bound) to hold `need` units. */
  private grow(need: number): void {
    let n = this.values.length;
    while (n < need) n *= 2;
    const arena = new Int32Array(Math.min(n, MAX_ARENA));
    arena.set(this.values.subarray(0, this.used));
    this.values = arena;
    this.bytes = new Uint8Array(arena.buffer);
    this.extras = new Float64Array(arena.buffer);
  }

  private sameKey(at: number, bytes: Uint8Array, begin: number, len: number): boolean {
    const keys = this.bytes;
    for (let i = 0; i < len; i++) if (keys[at + i] !== bytes[begin + i]) return false;
    return true;
  }

  private clear(): void {
    this.slots.fill(0);
    this.entries = 0;
    this.used = 0;
  }
}
