// A byte trie over the pieces segmentation may produce, laid out in typed arrays so the
// encoders' inner loops do one multiply and one or two array reads per byte: no strings, no
// Map lookups, no allocation.
//
// Nodes are numbered from 0 (the root). The root's 256 children sit in a direct table (most
// walks start there); every other edge (node, byte) → child lives in an open-addressing hash
// table keyed by node * 256 + byte. `value(node)` is the id of the piece ending at that node,
// or -1.

const EMPTY = -1;
const MAX_NODES = 1 << 23;

export class PieceTrie {
  private readonly rootChildren = new Int32Array(256).fill(EMPTY);
  private keys: Int32Array;
  private children: Int32Array;
  private mask: number;
  private values: Int32Array;
  private nodeCount = 1;
  private edgeCount = 0;

  /** `byteCapacity`: about how many key bytes will be inserted (sizes the tables once). */
  constructor(byteCapacity = 1024) {
    const cap = nextPow2(Math.max(64, byteCapacity * 2));
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.children = new Int32Array(cap);
    this.mask = cap - 1;
    this.values = new Int32Array(Math.max(16, byteCapacity + 1)).fill(EMPTY);
  }

  /** Number of nodes, root included. */
  get size(): number {
    return this.nodeCount;
  }

  /** The child of `node` along `byte`, or -1. */
  child(node: number, byte: number): number {
    if (node === 0) return this.rootChildren[byte]!;
    const key = (node << 8) | byte;
    const keys = this.keys,
      mask = this.mask;
    let slot = (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
    for (;;) {
      const k = keys[slot]!;
      if (k === key) return this.children[slot]!;
      if (k === EMPTY) return EMPTY;
      slot = (slot + 1) & mask;
    }
  }

  /** The piece id ending at `node`, or -1. */
  value(node: number): number {
    return this.values[node]!;
  }

  /** The node reached by bytes[begin, end) from `node`, or -1. */
  walk(node: number, bytes: Uint8Array, begin: number, end: number): number {
    for (let i = begin; i < end && node >= 0; i++) node = this.child(node, bytes[i]!);
    return node;
  }

  /** Adds key bytes[begin, end) with `value`; a key inserted twice keeps the first value. */
  insert(bytes: Uint8Array, begin: number, end: number, value: number): void {
    let node = 0;
    for (let i = begin; i < end; i++) {
      const b = bytes[i]!;
      let next = this.child(node, b);
      if (next === EMPTY) next = this.addChild(node, b);
      node = next;
    }
    if (this.values[node] === EMPTY) this.values[node] = value;
  }

  private addChild(node: number, byte: number): number {
    // Edge keys are node * 256 + byte in an int32.
    if (this.nodeCount >= MAX_NODES) throw new RangeError(`PieceTrie: more than ${MAX_NODES} nodes (the vocabulary is too large)`);
    const child = this.nodeCount++;
    if (child >= this.values.length) {
      const grown = new Int32Array(this.values.length * 2).fill(EMPTY);
      grown.set(this.values);
      this.values = grown;
    }
    if (node === 0) {
      this.rootChildren[byte] = child;
      return child;
    }
    if ((this.edgeCount + 1) * 2 > this.keys.length) this.rehash(this.keys.length * 2);
    this.put((node << 8) | byte, child);
    this.edgeCount++;
    return child;
  }

  private put(key: number, child: number): void {
    const keys = this.keys,
      mask = this.mask;
    let slot = (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
    while (keys[slot] !== EMPTY) slot = (slot + 1) & mask;
    keys[slot] = key;
    this.children[slot] = child;
  }

  private rehash(capacity: number): void {
    const oldKeys = this.keys,
      oldChildren = this.children;
    this.keys = new Int32Array(capacity).fill(EMPTY);
    this.children = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.put(oldKeys[i]!, oldChildren[i]!);
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
