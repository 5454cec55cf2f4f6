// User-defined symbols are matched longest-first before anything else (SentencePiece's
// PrefixMatcher): the normalizer copies them unchanged and BPE keeps each as one frozen symbol.

import { PieceTrie } from "./piece_trie.js";
import { utf8Encode } from "./utf8.js";

/** A trie of the symbols (value 1 where a symbol ends), or null when there are none. */
export function buildSymbolTrie(symbols: readonly string[]): PieceTrie | null {
  const keys = symbols.filter((s) => s.length > 0).map(utf8Encode);
  if (keys.length === 0) return null;
  const trie = new PieceTrie(keys.reduce((n, k) => n + k.length, 0));
  for (const k of keys) trie.insert(k, 0, k.length, 1);
  return trie;
}

/** Byte length of the longest symbol that is a prefix of bytes[pos, end), 0 if none. */
export function longestMatch(trie: PieceTrie, bytes: Uint8Array, pos: number, end: number): number {
  let node = 0,
    best = 0;
  for (let i = pos; i < end; i++) {
    node = trie.child(node, bytes[i]!);
    if (node < 0) break;
    if (trie.value(node) >= 0) best = i - pos + 1;
  }
  return best;
}
