// A trie of the Unigram trainer's seed pieces over code points, for finding every seed that
// occurs in a text (the trainer's lattices). Characters get dense ids; a node's child along a
// character is found in one open-addressing hash table keyed by (node, character), so a walk
// is a few typed-array reads per character, with no strings and no Map.

const EMPTY = -1;

export class PieceTrie {
  /** code point → dense character id + 1 (0: the character is in no piece). */
  private readonly charIdPlusOne = new Int32Array(0x110000);
  private numChars = 0;
  /** Hash table slots: key (node * numChars + char) and child node. */
  private keys: Int32Array;
  private children: Int32Array;
  private mask: number;
  private shift: number;
  private numNodes = 1; // the root is node 0
  /** Piece id ending at each node, or -1. */
  private value: Int32Array;
  /** The root's children, by character id (every walk starts there). */
  private rootChild: Int32Array;

  /** The trie of `pieces`; piece i gets id i. */
  constructor(pieces: readonly string[]) {
    for (const p of pieces) {
      for (let i = 0; i < p.length; ) {
        const c = p.codePointAt(i)!;
        i += c > 0xffff ? 2 : 1;
        if (this.charIdPlusOne[c] === 0) this.charIdPlusOne[c] = ++this.numChars;
      }
    }
    let totalChars = 0;
    for (const p of pieces) totalChars += p.length;
    const bits = Math.max(4, Math.ceil(Math.log2(totalChars * 2 + 2)));
    const slots = 2 ** bits;
    this.shift = 32 - bits;
    this.keys = new Int32Array(slots).fill(EMPTY);
    this.children = new Int32Array(slots);
    this.mask = slots - 1;
    this.value = new Int32Array(totalChars + 1).fill(-1);
    if ((totalChars + 1) * Math.max(1, this.numChars) >= 2 ** 31) throw new Error("PieceTrie: too many pieces for 32-bit keys");
    for (let id = 0; id < pieces.length; id++) this.insert(pieces[id]!, id);
    this.rootChild = new Int32Array(this.numChars);
    for (let ch = 0; ch < this.numChars; ch++) this.rootChild[ch] = this.lookup(0, ch);
  }

  /** Dense id of code point c, or -1 when no piece contains it. */
  charId(c: number): number {
    return this.charIdPlusOne[c]! - 1;
  }

  /** The child of `node` along character id `ch`, or -1. */
  child(node: number, ch: number): number {
    return node === 0 ? this.rootChild[ch]! : this.lookup(node, ch);
  }

  private lookup(node: number, ch: number): number {
    const key = node * this.numChars + ch;
    const keys = this.keys;
    for (let s = hash(key, this.shift); ; s = (s + 1) & this.mask) {
      const k = keys[s]!;
      if (k === key) return this.children[s]!;
      if (k === EMPTY) return -1;
    }
  }

  /** The piece id that ends at `node`, or -1. */
  pieceAt(node: number): number {
    return this.value[node]!;
  }

  private insert(piece: string, id: number): void {
    let node = 0;
    for (let i = 0; i < piece.length; ) {
      const c = piece.codePointAt(i)!;
      i += c > 0xffff ? 2 : 1;
      const ch = this.charIdPlusOne[c]! - 1;
      const key = node * this.numChars + ch;
      let s = hash(key, this.shift);
      while (this.keys[s] !== EMPTY && this.keys[s] !== key) s = (s + 1) & this.mask;
      if (this.keys[s] === EMPTY) {
        this.keys[s] = key;
        this.children[s] = this.numNodes++;
      }
      node = this.children[s]!;
    }
    // A piece given twice keeps its first id (the trainer's seeds are distinct).
    if (this.value[node] === -1) this.value[node] = id;
  }
}

/** The slot of a key: Knuth's multiplicative hash, top bits (spreads consecutive keys). */
function hash(key: number, shift: number): number {
  return Math.imul(key, 0x9e3779b1) >>> shift;
}
