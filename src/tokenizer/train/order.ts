// Orderings the trainers share. SentencePiece sorts std::string (UTF-8 bytes); for valid
// text that is code point order, which JavaScript's UTF-16 `<` gets wrong above U+FFFF.

/** Compares two strings by code points (= UTF-8 byte order). */
export function compareCodepoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i),
      y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..DFFF as code units) stand for code points above U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff,
      ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The order in which a suffix tree lists its nodes (the library's seed pieces come from one):
 * code point order, except that a string comes after the strings it is a prefix of.
 */
export function compareSuffixTreeOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return compareCodepoints(a, b);
  }
  return b.length - a.length;
}

/**
 * SentencePiece's Sorted(): by value descending, then key ascending (code point order for
 * strings, numeric for numbers).
 */
export function sortedByValue<K extends string | number>(entries: Iterable<[K, number]>): Array<[K, number]> {
  const v = [...entries];
  v.sort((p, q) => {
    if (p[1] !== q[1]) return p[1] > q[1] ? -1 : 1;
    return typeof p[0] === "string" ? compareCodepoints(p[0] as string, q[0] as string) : (p[0] as number) - (q[0] as number);
  });
  return v;
}
