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
const INITIAL_ENTRIES = 4096;

// The tables are interleaved so that a lookup touches few cache lines: a slot is (hash, entry
// + 1, 0 = empty) side by side, and an entry is (key start, key length, value start, value
// count) side by side.
const SLOT_HASH = 0,
  SLOT_ENTRY = 1;
const KEY_START = 0,
  KEY_LENGTH = 1,
  VALUE_START = 2,
  VALUE_COUNT = 3;

export class WordCache {
  private readonly slots = new Int32Array(2 * SLOTS);
  private meta = new Int32Array(4 * INITIAL_ENTRIES);
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
    const slots = this.slots,
      meta = this.meta,
      mask = SLOTS - 1;
    let slot = (h ^ (h >>> 15)) & mask;
    const len = end - begin;
    for (;;) {
      const e = slots[2 * slot + SLOT_ENTRY]! - 1;
      if (e < 0) break;
      if (
        slots[2 * slot + SLOT_HASH] === h &&
        meta[4 * e + KEY_LENGTH] === len &&
        this.sameKey(meta[4 * e + KEY_START]!, bytes, begin, len)
      ) {
        return e;
      }
      slot = (slot + 1) & mask;
    }
    this.slot = slot;
    return -1;
  }

  valueOffset(entry: number): number {
    return this.meta[4 * entry + VALUE_START]!;
  }

  valueLength(entry: number): number {
    return this.meta[4 * entry + VALUE_COUNT]!;
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
    if (
      4 * (this.entries + 1) > this.meta.length ||
      this.keyUsed + len > this.keys.length ||
      this.valueUsed + 2 * count > this.values.length
    ) {
      this.reserve(this.entries + 1, this.keyUsed + len, this.valueUsed + 2 * count);
    }
    const e = this.entries++;
    // Copied by loops: words are short, and a subarray per store would be an allocation each.
    const keys = this.keys,
      k0 = this.keyUsed;
    for (let i = 0; i < len; i++) keys[k0 + i] = bytes[begin + i]!;
    this.keyUsed += len;
    const values = this.values,
      v0 = this.valueUsed;
    for (let i = 0; i < 2 * count; i++) values[v0 + i] = pairs[i]!;
    this.valueUsed += 2 * count;
    const meta = this.meta;
    meta[4 * e + KEY_START] = k0;
    meta[4 * e + KEY_LENGTH] = len;
    meta[4 * e + VALUE_START] = v0;
    meta[4 * e + VALUE_COUNT] = count;
    this.slots[2 * this.slot + SLOT_HASH] = this.hash;
    this.slots[2 * this.slot + SLOT_ENTRY] = e + 1;
    return e;
  }

  /** Grows the tables (doubling, up to their bounds) to hold this many entries, key bytes and values. */
  private reserve(entries: number, keyBytes: number, values: number): void {
    this.meta = grown(this.meta, 4 * entries, 4 * (MAX_ENTRIES + 1));
    this.keys = grown(this.keys, keyBytes, KEY_ARENA);
    this.values = grown(this.values, values, VALUE_ARENA);
  }

  private sameKey(at: number, bytes: Uint8Array, begin: number, len: number): boolean {
    const keys = this.keys;
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

/** `a`, or a copy at least `need` long (doubling, at most `max`). */
function grown<T extends Int32Array | Uint8Array>(a: T, need: number, max: number): T {
  if (need <= a.length) return a;
  let n = a.length;
  while (n < need) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(Math.min(n, max));
  b.set(a);
  return b;
}
