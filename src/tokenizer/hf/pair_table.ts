// A hash table from a pair of token ids (a, b) to the merge it makes: its rank and the merged id.
// Open addressing in typed arrays, so lookups in the BPE inner loop stay in small integers and
// allocate nothing (a Map keyed by a * 2^k + b needs non-small-integer keys for big vocabularies).

export class PairTable {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly ranks: Int32Array;
  private readonly merged: Int32Array;
  private readonly mask: number;
  size = 0;

  constructor(capacity: number) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.left = new Int32Array(n).fill(-1);
    this.right = new Int32Array(n);
    this.ranks = new Int32Array(n);
    this.merged = new Int32Array(n);
    this.mask = n - 1;
  }

  private slotOf(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
    for (;;) {
      const l = this.left[h]!;
      if (l === -1 || (l === a && this.right[h] === b)) return h;
      h = (h + 1) & this.mask;
    }
  }

  /** Sets the merge of (a, b); a later entry for the same pair replaces the earlier one. */
  set(a: number, b: number, rank: number, mergedId: number): void {
    const h = this.slotOf(a, b);
    if (this.left[h] === -1) {
      if ((this.size + 1) * 2 > this.left.length) throw new Error("PairTable: over capacity");
      this.size++;
      this.left[h] = a;
      this.right[h] = b;
    }
    this.ranks[h] = rank;
    this.merged[h] = mergedId;
  }

  /** The slot of (a, b), or -1 when the pair does not merge. */
  find(a: number, b: number): number {
    const h = this.slotOf(a, b);
    return this.left[h] === -1 ? -1 : h;
  }

  rankAt(slot: number): number {
    return this.ranks[slot]!;
  }

  mergedAt(slot: number): number {
    return this.merged[slot]!;
  }
}
