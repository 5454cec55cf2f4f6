// A trie over UTF-8 bytes, for "which pieces start here?" questions: the user-defined symbol
// matcher (longest match) and the Unigram lattice (every match).

import { oneCharLen, utf8Encode } from "./utf8.js";

export class ByteTrie {
  /** Child edges: key = node * 256 + byte, value = child node. */
  private readonly edges = new Map<number, number>();
  /** Value stored at each node, -1 where no key ends. */
  private readonly values: number[] = [-1];

  insert(key: string, value: number): void {
    const bytes = utf8Encode(key);
    let node = 0;
    for (const b of bytes) {
      const k = node * 256 + b;
      let next = this.edges.get(k);
      if (next === undefined) {
        next = this.values.length;
        this.values.push(-1);
        this.edges.set(k, next);
      }
      node = next;
    }
    this.values[node] = value;
  }

  get empty(): boolean {
    return this.values.length === 1;
  }

  /** Calls visit(length, value) for every key that is a prefix of bytes[pos..end), shortest first. */
  forEachPrefix(bytes: Uint8Array, pos: number, end: number, visit: (length: number, value: number) => void): void {
    let node = 0;
    for (let i = pos; i < end; i++) {
      const next = this.edges.get(node * 256 + bytes[i]!);
      if (next === undefined) return;
      node = next;
      const v = this.values[node]!;
      if (v >= 0) visit(i - pos + 1, v);
    }
  }

  /** Length of the longest key that is a prefix of bytes[pos..end), 0 if none. */
  longestPrefix(bytes: Uint8Array, pos: number, end: number): number {
    let best = 0;
    this.forEachPrefix(bytes, pos, end, (len) => { best = len; });
    return best;
  }
}

/**
 * SentencePiece's PrefixMatcher: the longest user-defined symbol at `pos` (found = true), else
 * one UTF-8 character (found = false).
 */
export class PrefixMatcher {
  private readonly trie = new ByteTrie();

  constructor(symbols: readonly string[]) {
    for (const s of symbols) if (s.length > 0) this.trie.insert(s, 1);
  }

  get empty(): boolean {
    return this.trie.empty;
  }

  match(bytes: Uint8Array, pos: number, end: number): { length: number; found: boolean } {
    const len = this.trie.empty ? 0 : this.trie.longestPrefix(bytes, pos, end);
    if (len > 0) return { length: len, found: true };
    return { length: Math.min(end - pos, oneCharLen(bytes[pos]!)), found: false };
  }
}
