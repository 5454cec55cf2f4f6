// A reusable list of segments (byte range [begin, end) of the normalized text and a piece id):
// what the encoders write, kept in typed arrays that grow once and are reused for every text.

export class Segments {
  begin = new Int32Array(256);
  end = new Int32Array(256);
  id = new Int32Array(256);
  length = 0;

  clear(): void {
    this.length = 0;
  }

  push(begin: number, end: number, id: number): void {
    const n = this.length;
    if (n === this.id.length) this.grow();
    this.begin[n] = begin;
    this.end[n] = end;
    this.id[n] = id;
    this.length = n + 1;
  }

  /** Makes room for `count` more segments and returns the index of the first, for direct writes. */
  extend(count: number): number {
    const n = this.length;
    while (n + count > this.id.length) this.grow();
    this.length = n + count;
    return n;
  }

  /** Reverses the order (encoders that backtrack write from the end). */
  reverse(): void {
    this.begin.subarray(0, this.length).reverse();
    this.end.subarray(0, this.length).reverse();
    this.id.subarray(0, this.length).reverse();
  }

  /**
   * Room for `capacity` segments in all (a long text's encoder sizes the arrays once from an
   * estimate instead of doubling them, and copying them, many times).
   */
  reserve(capacity: number): void {
    if (capacity > this.id.length) this.resize(capacity);
  }

  private grow(): void {
    this.resize(this.id.length * 2);
  }

  private resize(cap: number): void {
    const grown = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(cap);
      b.set(a.subarray(0, this.length));
      return b;
    };
    this.begin = grown(this.begin);
    this.end = grown(this.end);
    this.id = grown(this.id);
  }
}
