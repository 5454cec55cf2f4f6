// User-defined symbols are matched longest-first before anything else (SentencePiece's
// PrefixMatcher): the normalizer copies them unchanged and BPE keeps each as one frozen symbol.

import { DoubleArrayTrie } from "./double_array_trie.js";

/** A trie of the symbols, or null when there are none. */
export function buildSymbolTrie(symbols: readonly string[]): DoubleArrayTrie | null {
  const keys = symbols.filter((s) => s.length > 0);
  return keys.length === 0 ? null : DoubleArrayTrie.fromStrings(keys);
}

/** Byte length of the longest symbol that is a prefix of bytes[pos, end), 0 if none. */
export function longestMatch(trie: DoubleArrayTrie, bytes: Uint8Array, pos: number, end: number): number {
  return trie.longestPrefix(bytes, pos, end);
}
