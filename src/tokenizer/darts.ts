// Reader for a darts-clone double-array trie, the format of the trie inside SentencePiece's
// `precompiled_charsmap`. Each unit is a little-endian uint32:
//   bit 8           has_leaf: a key ends here; the value sits in the unit at (pos ^ offset)
//   bits 0-7, 31    label: the byte that leads to this unit (bit 31 set marks a value unit)
//   bits 10-31      offset, shifted left by 8 more bits when bit 9 is set
//   bits 0-30       value (in a value unit)

export interface PrefixMatch {
  /** Bytes of the key matched. */
  length: number;
  value: number;
}

export class DartsCloneTrie {
  private readonly units: Uint32Array;

  /** `blob` holds the units; its length must be a multiple of 4. */
  constructor(blob: Uint8Array) {
    const n = blob.length >>> 2;
    const view = new DataView(blob.buffer, blob.byteOffset, n * 4);
    this.units = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.units[i] = view.getUint32(i * 4, true);
  }

  get size(): number {
    return this.units.length;
  }

  private static offset(unit: number): number {
    return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
  }

  /** Set by longestPrefix(): the value of the key it found. */
  lastValue = 0;

  /** Whether some key starts with byte `c`. */
  hasChildOfRoot(c: number): boolean {
    const units = this.units;
    if (units.length === 0) return false;
    const node = DartsCloneTrie.offset(units[0]!) ^ c;
    return node < units.length && (units[node]! & 0x800000ff) >>> 0 === c;
  }

  /**
   * A bit set over pairs of bytes (b, c), bit i = b << 8 | c at table[i >> 3] & (1 << (i & 7)):
   * set when some key is "b" or starts with "b c" (so a match at a position holding b then c is
   * possible). Bit b << 8 | 0 answers for b at the end of the text (no key holds a NUL byte).
   * Lets a caller skip the trie walk for the many characters that only start keys with other
   * followers (in NFKC, an ASCII letter starts keys only with a combining mark after it). 8 kB:
   * it stays in the first-level cache.
   */
  pairTable(): Uint8Array {
    const units = this.units;
    const table = new Uint8Array(1 << 13);
    if (units.length === 0) return table;
    const root = DartsCloneTrie.offset(units[0]!);
    for (let b = 1; b < 256; b++) {
      const first = root ^ b;
      if (first >= units.length) continue;
      const unit = units[first]!;
      if ((unit & 0x800000ff) >>> 0 !== b) continue;
      const hasValue = (unit >>> 8) & 1;
      const node = first ^ DartsCloneTrie.offset(unit);
      for (let c = 0; c < 256; c++) {
        const next = node ^ c;
        const child = c > 0 && next < units.length && (units[next]! & 0x800000ff) >>> 0 === c;
        const i = (b << 8) | c;
        if (hasValue || child) table[i >> 3]! |= 1 << (i & 7);
      }
    }
    return table;
  }

  /**
   * Length of the longest key that is a prefix of bytes[pos..end) (0 if none); its value goes
   * to `lastValue`. The allocation-free form of commonPrefixSearch, for the normalizer's loop.
   */
  longestPrefix(bytes: Uint8Array, pos: number, end: number): number {
    const units = this.units;
    if (units.length === 0) return 0;
    let best = 0;
    let node = DartsCloneTrie.offset(units[0]!);
    for (let i = pos; i < end; i++) {
      const c = bytes[i]!;
      node ^= c;
      if (node >= units.length) break;
      const unit = units[node]!;
      if ((unit & 0x800000ff) >>> 0 !== c) break;
      node ^= DartsCloneTrie.offset(unit);
      if ((unit >>> 8) & 1) {
        if (node >= units.length) break;
        best = i - pos + 1;
        this.lastValue = units[node]! & 0x7fffffff;
      }
    }
    return best;
  }

  /**
   * Every key that is a prefix of bytes[pos..end), shortest first. Out-of-range positions (a
   * corrupted trie) end the search instead of reading past the array.
   */
  commonPrefixSearch(bytes: Uint8Array, pos: number, end: number): PrefixMatch[] {
    const results: PrefixMatch[] = [];
    const units = this.units;
    if (units.length === 0) return results;
    let node = DartsCloneTrie.offset(units[0]!);
    for (let i = pos; i < end; i++) {
      const c = bytes[i]!;
      node ^= c;
      if (node >= units.length) return results;
      const unit = units[node]!;
      if ((unit & 0x800000ff) >>> 0 !== c) return results;
      node ^= DartsCloneTrie.offset(unit);
      if ((unit >>> 8) & 1) {
        if (node >= units.length) return results;
        results.push({ length: i - pos + 1, value: units[node]! & 0x7fffffff });
      }
    }
    return results;
  }
}
