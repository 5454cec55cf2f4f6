// A double-array trie over UTF-8 byte strings (the structure of darts-clone, which SentencePiece
// uses for its pieces): the encoders' inner loops walk it with two array reads per byte, no
// hashing, no strings, no allocation.
//
// Nodes are array slots; the root is slot 0. The child of node s along byte c is slot
// t = base[s] + c, and it is a child only if check[t] === s. `value[s]` is the id of the key that
// ends at s, or -1. The arrays are padded by 256 slots past the largest base, so a walk never
// reads outside them.
//
// Built once from a list of keys (sorted, then laid out depth-first): each node's children are
// placed at the first base whose slots are all free, found through a list of free slots.

const NO_VALUE = -1;
const FREE = -1;
const ROOT_CHECK = -2;
/** How far behind the highest used slot a free slot may still be used. */
const CLOSE_DISTANCE = 4096;

/** Where each key's bytes are: key i is bytes[starts[i], ends[i]), with value values[i]. */
export interface TrieKeys {
  bytes: Uint8Array;
  starts: ArrayLike<number>;
  ends: ArrayLike<number>;
  values: ArrayLike<number>;
}

/** A trie's arrays in shared memory. */
export interface SharedTrie {
  base: SharedArrayBuffer;
  check: SharedArrayBuffer;
  values: SharedArrayBuffer;
  size: number;
}

export class DoubleArrayTrie {
  /** Use DoubleArrayTrie.build or fromStrings. */
  constructor(
    private readonly base: Int32Array<ArrayBufferLike>,
    private readonly check: Int32Array<ArrayBufferLike>,
    private readonly values: Int32Array<ArrayBufferLike>,
    /** Number of nodes, root included. */
    readonly size: number,
  ) {}

  /**
   * The trie of `keys`; a key given twice keeps the value given first, and `onDuplicate` (when
   * given) is told the indices of the first and of a later copy.
   */
  static build(keys: TrieKeys, onDuplicate?: (first: number, later: number) => void): DoubleArrayTrie {
    return new Builder(keys, onDuplicate).finish();
  }

  /** The trie of some strings (as UTF-8); string i gets values[i] (default: i). */
  static fromStrings(strings: readonly string[], values?: readonly number[]): DoubleArrayTrie {
    const encoder = new TextEncoder();
    const parts = strings.map((s) => encoder.encode(s));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    const starts: number[] = [],
      ends: number[] = [];
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      starts.push(at);
      at += p.length;
      ends.push(at);
    }
    return DoubleArrayTrie.build({ bytes, starts, ends, values: values ?? strings.map((_, i) => i) });
  }

  /** The child of `node` along `byte`, or -1. */
  child(node: number, byte: number): number {
    const t = this.base[node]! + byte;
    return this.check[t] === node ? t : -1;
  }

  /** The value of the key ending at `node`, or -1. */
  value(node: number): number {
    return this.values[node]!;
  }

  /** The node reached by bytes[begin, end) from `node`, or -1. */
  walk(node: number, bytes: Uint8Array, begin: number, end: number): number {
    if (node < 0) return -1;
    const base = this.base,
      check = this.check;
    for (let i = begin; i < end; i++) {
      const t = base[node]! + bytes[i]!;
      if (check[t] !== node) return -1;
      node = t;
    }
    return node;
  }

  /** The value of the key bytes[begin, end), or -1. */
  lookup(bytes: Uint8Array, begin: number, end: number): number {
    const node = this.walk(0, bytes, begin, end);
    return node < 0 ? NO_VALUE : this.values[node]!;
  }

  /** Byte length of the longest key that is a prefix of bytes[pos, end), 0 if none. */
  longestPrefix(bytes: Uint8Array, pos: number, end: number): number {
    const base = this.base,
      check = this.check,
      values = this.values;
    let node = 0,
      best = 0;
    for (let i = pos; i < end; i++) {
      const t = base[node]! + bytes[i]!;
      if (check[t] !== node) break;
      node = t;
      if (values[node]! !== NO_VALUE) best = i - pos + 1;
    }
    return best;
  }

  /** The trie in shared memory, for worker threads (see fromShared). */
  toShared(): SharedTrie {
    const share = (a: Int32Array): SharedArrayBuffer => {
      const sab = new SharedArrayBuffer(a.byteLength);
      new Int32Array(sab).set(a);
      return sab;
    };
    return { base: share(this.base), check: share(this.check), values: share(this.values), size: this.size };
  }

  /** The trie another thread shared (no copy, no rebuild). */
  static fromShared(t: SharedTrie): DoubleArrayTrie {
    const base = new Int32Array(t.base),
      check = new Int32Array(t.check),
      values = new Int32Array(t.values);
    if (base.length !== check.length || base.length !== values.length || base.length < 256)
      throw new Error("DoubleArrayTrie.fromShared: arrays of different lengths");
    return new DoubleArrayTrie(base, check, values, t.size);
  }

  /** The raw arrays, for loops that inline the walk (see unigram_viterbi.ts). */
  get arrays(): { base: Int32Array; check: Int32Array; values: Int32Array } {
    return { base: this.base, check: this.check, values: this.values };
  }
}

/** Lays the sorted keys out in the double array. */
class Builder {
  private base: Int32Array;
  private check: Int32Array;
  private values: Int32Array;
  // Doubly linked list of free slots (slot 0, the root, is never free).
  private nextFree: Int32Array;
  private prevFree: Int32Array;
  private firstFree = 1;
  private capacity: number;
  private maxBase = 0;
  /** The highest slot in use. */
  private highest = 0;
  private nodes = 1;
  private readonly order: Int32Array;
  private readonly labels = new Int32Array(256);

  constructor(
    private readonly keys: TrieKeys,
    private readonly onDuplicate?: (first: number, later: number) => void,
  ) {
    const n = keys.starts.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += keys.ends[i]! - keys.starts[i]!;
    this.capacity = 0;
    this.base = new Int32Array(0);
    this.check = new Int32Array(0);
    this.values = new Int32Array(0);
    this.nextFree = new Int32Array(0);
    this.prevFree = new Int32Array(0);
    // Tries of real vocabularies take about one slot per 3-4 key bytes (Llama's: 3.6); sized
    // for 3, the arrays rarely have to grow (each growth copies them and relinks free slots).
    this.grow(Math.max(1024, Math.ceil(total / 3) + 512));
    this.check[0] = ROOT_CHECK;
    this.unlinkFree(0);
    this.order = sortedKeyOrder(keys);
  }

  finish(): DoubleArrayTrie {
    if (this.order.length > 0) this.placeAll();
    // Pad so that base[s] + 255 is always inside the arrays.
    const length = Math.max(this.maxBase, this.highest) + 256;
    if (length > this.capacity) this.grow(length);
    return new DoubleArrayTrie(this.base.slice(0, length), this.check.slice(0, length), this.values.slice(0, length), this.nodes);
  }

  /**
   * Places every node, depth first with an explicit stack: a node holds the sorted keys
   * [lo, hi) that share its first `depth` bytes; its children are their distinct next bytes.
   */
  private placeAll(): void {
    const { bytes, starts, ends, values } = this.keys;
    const order = this.order,
      labels = this.labels;
    // Stack of (node, lo, hi, depth).
    let stack = new Int32Array(4 * 64);
    let top = 0;
    const push = (node: number, lo: number, hi: number, depth: number): void => {
      if (top + 4 > stack.length) {
        const grown = new Int32Array(stack.length * 2);
        grown.set(stack);
        stack = grown;
      }
      stack[top++] = node;
      stack[top++] = lo;
      stack[top++] = hi;
      stack[top++] = depth;
    };
    push(0, 0, order.length, 0);
    while (top > 0) {
      const depth = stack[--top]!,
        hi = stack[--top]!;
      let lo = stack[--top]!;
      const node = stack[--top]!;
      // Keys that end here: the first (lowest index among equals, as sorted) gives the value.
      if (ends[order[lo]!]! - starts[order[lo]!]! === depth) {
        const first = order[lo++]!;
        this.values[node] = values[first]!;
        if (this.onDuplicate && lo < hi && ends[order[lo]!]! - starts[order[lo]!]! === depth) this.onDuplicate(first, order[lo]!);
        while (lo < hi && ends[order[lo]!]! - starts[order[lo]!]! === depth) lo++;
      }
      if (lo >= hi) continue;
      let count = 0;
      for (let k = lo; k < hi; k++) {
        const c = bytes[starts[order[k]!]! + depth]!;
        if (count === 0 || labels[count - 1] !== c) labels[count++] = c;
      }
      const base = this.findBase(count);
      this.base[node] = base;
      if (base > this.maxBase) this.maxBase = base;
      for (let i = 0; i < count; i++) {
        const t = base + labels[i]!;
        this.unlinkFree(t);
        if (t > this.highest) this.highest = t;
        this.check[t] = node;
        this.nodes++;
      }
      // Each child gets the run of keys with its byte.
      for (let k = lo; k < hi; ) {
        const c = bytes[starts[order[k]!]! + depth]!;
        let end = k + 1;
        while (end < hi && bytes[starts[order[end]!]! + depth] === c) end++;
        push(base + c, k, end, depth + 1);
        k = end;
      }
    }
  }

  /** The first base ≥ 1 whose slots base + labels[i] are all free (growing the arrays if need be). */
  private findBase(count: number): number {
    const labels = this.labels;
    const first = labels[0]!;
    // Free slots far behind the highest one in use are given up (darts-clone closes old
    // blocks the same way): scanning them again and again would make the build quadratic.
    while (this.firstFree >= 0 && this.firstFree < this.highest - CLOSE_DISTANCE) this.unlinkFree(this.firstFree);
    for (let slot = this.firstFree; ; slot = this.nextFree[slot]!) {
      if (slot < 0) {
        // No free slot fits: append room at the end.
        slot = this.capacity;
        this.grow(this.capacity * 2);
      }
      const base = slot - first;
      if (base < 1) continue;
      if (base + 256 > this.capacity) this.grow(Math.max(this.capacity * 2, base + 512));
      let ok = true;
      for (let i = 1; i < count; i++) {
        if (this.check[base + labels[i]!] !== FREE) {
          ok = false;
          break;
        }
      }
      if (ok) return base;
    }
  }

  private unlinkFree(slot: number): void {
    const next = this.nextFree[slot]!,
      prev = this.prevFree[slot]!;
    if (prev >= 0) this.nextFree[prev] = next;
    else this.firstFree = next;
    if (next >= 0) this.prevFree[next] = prev;
  }

  private grow(capacity: number): void {
    const old = this.capacity;
    const copy = (a: Int32Array, fill: number): Int32Array => {
      const b = new Int32Array(capacity).fill(fill, old);
      b.set(a);
      return b;
    };
    this.base = copy(this.base, 0);
    this.check = copy(this.check, FREE);
    this.values = copy(this.values, NO_VALUE);
    this.nextFree = copy(this.nextFree, -1);
    this.prevFree = copy(this.prevFree, -1);
    // Link the new slots at the end of the free list.
    let last = -1;
    if (old > 0) {
      for (let s = old - 1; s >= 0; s--) {
        if (this.check[s] === FREE) {
          last = s;
          break;
        }
      }
    }
    for (let s = old; s < capacity; s++) {
      this.prevFree[s] = last;
      if (last >= 0) this.nextFree[last] = s;
      else this.firstFree = s;
      last = s;
    }
    this.capacity = capacity;
  }
}

/** Key indices sorted by their bytes (a prefix first), equal keys by index. */
function sortedKeyOrder(keys: TrieKeys): Int32Array {
  const n = keys.starts.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const { bytes, starts, ends } = keys;
  // The first four bytes, big-endian and zero-padded, settle most comparisons in one step.
  const head = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const s = starts[i]!,
      len = ends[i]! - s;
    let h = 0;
    for (let k = 0; k < 4; k++) h = (h << 8) | (k < len ? bytes[s + k]! : 0);
    head[i] = h >>> 0;
  }
  return order.sort((a, b) => {
    const ha = head[a]!,
      hb = head[b]!;
    if (ha !== hb) return ha < hb ? -1 : 1;
    const sa = starts[a]!,
      la = ends[a]! - sa,
      sb = starts[b]!,
      lb = ends[b]! - sb;
    const m = Math.min(la, lb);
    for (let k = 0; k < m; k++) {
      const d = bytes[sa + k]! - bytes[sb + k]!;
      if (d !== 0) return d;
    }
    return la - lb || a - b;
  });
}
