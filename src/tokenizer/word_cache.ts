// A memo of segmentations per word (BPE's and Unigram's): natural text repeats its words, so
// most words are segmented once and then copied. Keys are byte strings, hashed and compared here (no string
// is made); values are the word's segments as (end offset within the word, id) pairs. The
// memo is bounded: when it fills, it starts over.
//
// It is only correct where a word's segmentation does not depend on its neighbours; bpe.ts and
// unigram_viterbi.ts check that before using it.

/** The word hash, 32-bit FNV-1a: h = FNV_OFFSET, then h = Math.imul(h ^ byte, FNV_PRIME) per byte. */
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

const SLOTS = 1 << 16;
export const MAX_ENTRIES = (SLOTS * 3) >> 2;
const KEY_ARENA = 1 << 21;
const VALUE_ARENA = 1 << 20;
/** Longer words are segmented every time (they are rare, and the memo stays small). */
export const MAX_CACHED_WORD = 64;

/** The tables start this small and double as words arrive (a short text never pays for the full memo). */
const INITIAL_ENTRIES = 1024;

export class WordCache {
  private readonly hashes = new Int32Array(SLOTS);
  /** Entry index + 1 per slot; 0 = empty. */
  private readonly slots = new Int32Array(SLOTS);
  private keyStart = new Int32Array(INITIAL_ENTRIES);
  private keyLength = new Int32Array(INITIAL_ENTRIES);
  private valueStart = new Int32Array(INITIAL_ENTRIES);
  private valueCount = new Int32Array(INITIAL_ENTRIES);
  private keys = new Uint8Array(INITIAL_ENTRIES * 16);
  /** (end within the word, id) pairs. */
  values = new Int32Array(INITIAL_ENTRIES * 8);
  private entries = 0;
  private keyUsed = 0;
  private valueUsed = 0;
  private hash = 0;
  private slot = 0;

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
    const mask = SLOTS - 1;
    let slot = (h ^ (h >>> 15)) & mask;
    const len = end - begin;
    for (;;) {
      const e = this.slots[slot]!;
      if (e === 0) break;
      if (this.hashes[slot] === h && this.keyLength[e - 1] === len && this.sameKey(e - 1, bytes, begin, len)) return e - 1;
      slot = (slot + 1) & mask;
    }
    this.slot = slot;
    return -1;
  }

  valueOffset(entry: number): number {
    return this.valueStart[entry]!;
  }

  valueLength(entry: number): number {
    return this.valueCount[entry]!;
  }

  /**
   * Stores the word of the last missed find() with `count` (end, id) pairs from `pairs`;
   * returns its entry (valid until the memo starts over).
   */
  store(bytes: Uint8Array, begin: number, end: number, pairs: Int32Array, count: number): number {
    const len = end - begin;
    if (this.entries >= MAX_ENTRIES || this.keyUsed + len > KEY_ARENA || this.valueUsed + 2 * count > VALUE_ARENA) {
      this.clear();
      this.find(bytes, begin, end); // recompute the slot in the emptied table
    }
    this.reserve(this.entries + 1, this.keyUsed + len, this.valueUsed + 2 * count);
    const e = this.entries++;
    this.keys.set(bytes.subarray(begin, end), this.keyUsed);
    this.keyStart[e] = this.keyUsed;
    this.keyLength[e] = len;
    this.keyUsed += len;
    this.values.set(pairs.subarray(0, 2 * count), this.valueUsed);
    this.valueStart[e] = this.valueUsed;
    this.valueCount[e] = count;
    this.valueUsed += 2 * count;
    this.hashes[this.slot] = this.hash;
    this.slots[this.slot] = e + 1;
    return e;
  }

  /** Grows the tables (doubling, up to their bounds) to hold this many entries, key bytes and values. */
  private reserve(entries: number, keyBytes: number, values: number): void {
    const grow = <T extends Int32Array | Uint8Array>(a: T, need: number, max: number): T => {
      if (need <= a.length) return a;
      let n = a.length;
      while (n < need) n *= 2;
      const b = new (a.constructor as new (n: number) => T)(Math.min(n, max));
      b.set(a);
      return b;
    };
    this.keyStart = grow(this.keyStart, entries, MAX_ENTRIES + 1);
    this.keyLength = grow(this.keyLength, entries, MAX_ENTRIES + 1);
    this.valueStart = grow(this.valueStart, entries, MAX_ENTRIES + 1);
    this.valueCount = grow(this.valueCount, entries, MAX_ENTRIES + 1);
    this.keys = grow(this.keys, keyBytes, KEY_ARENA);
    this.values = grow(this.values, values, VALUE_ARENA);
  }

  private sameKey(e: number, bytes: Uint8Array, begin: number, len: number): boolean {
    const keys = this.keys,
      at = this.keyStart[e]!;
    for (let i = 0; i < len; i++) if (keys[at + i] !== bytes[begin + i]) return false;
    return true;
  }

  private clear(): void {
    this.slots.fill(0);
    this.entries = 0;
    this.keyUsed = 0;
    this.valueUsed = 0;
  }
}
