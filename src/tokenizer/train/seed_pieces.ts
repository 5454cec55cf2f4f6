// Seed vocabulary of the Unigram trainer (MakeSeedSentencePieces): every character, plus the
// substrings that occur at least twice and are "branching" (followed by at least two different
// characters: the internal nodes of the corpus's suffix tree), scored by frequency x length.
// The library builds a suffix array; we count substrings level by level (length 2, 3, ...),
// extending only those that occur twice or more and could still become a valid piece, which
// finds the same set.
import { isValidPiece, UNK_CHAR, type PieceRules } from "./piece_rules.js";
import { compareSuffixTreeOrder, sortedByValue } from "./order.js";
import type { Sentence } from "./sentences.js";

const BOUNDARY = 0;
const RADIX = 0x110000;

export interface SeedInput {
  sentences: Sentence[];
  rules: PieceRules;
  seedSentencepieceSize: number;
  /** TSV input: each sentence is written twice so that its substrings count as repeated. */
  duplicateSentences: boolean;
}

/** Seed pieces with log-probability scores: characters first, then substrings by score. */
export function makeSeedPieces(input: SeedInput): Array<[string, number]> {
  const { rules } = input;
  // All sentences in one array of code points, each followed by a boundary.
  let n = 0;
  for (const s of input.sentences) n += (s.text.length + 1) * (input.duplicateSentences ? 2 : 1);
  const text = new Int32Array(n);
  const charFreq = new Map<string, number>();
  let len = 0;
  for (const s of input.sentences) {
    const start = len;
    for (const ch of s.text) {
      const c = ch.codePointAt(0)!;
      text[len++] = c;
      if (c !== UNK_CHAR && c !== BOUNDARY) charFreq.set(ch, (charFreq.get(ch) ?? 0) + s.freq);
    }
    text[len++] = BOUNDARY;
    if (input.duplicateSentences) {
      text.copyWithin(len, start, len);
      len += len - start;
    }
  }

  // Level 1: positions whose character could start a piece; node id = dense char id.
  let positions: Int32Array = new Int32Array(len);
  let nodeIds: Int32Array = new Int32Array(len);
  let count = 0;
  const charIds = new Map<number, number>();
  let counts: number[] = [];
  for (let p = 0; p < len; p++) {
    const c = text[p]!;
    if (!isValidPiece(text, rules, p, p + 1, true)) continue;
    let id = charIds.get(c);
    if (id === undefined) {
      id = counts.length;
      charIds.set(c, id);
      counts.push(0);
    }
    counts[id]!++;
    positions[count] = p;
    nodeIds[count++] = id;
  }
  // Keep positions whose node occurs at least twice.
  ({ positions, nodeIds, count } = keepRepeated(positions, nodeIds, count, counts, () => true));

  const found: Array<[number, number, number]> = []; // [offset, length, score]
  for (let depth = 2; count > 0 && depth <= rules.maxSentencepieceLength + 1; depth++) {
    // Children of every node of length depth-1: one more character.
    const childIds = new Map<number, number>();
    const childCounts: number[] = [];
    const childOffset: number[] = [];
    const numChildren = new Int32Array(counts.length);
    const parentOffset = new Int32Array(counts.length).fill(-1);
    const next: Int32Array = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const p = positions[i]!,
        parent = nodeIds[i]!;
      if (parentOffset[parent] === -1) parentOffset[parent] = p;
      const key = parent * RADIX + text[p + depth - 1]!;
      let id = childIds.get(key);
      if (id === undefined) {
        id = childCounts.length;
        childIds.set(key, id);
        childCounts.push(0);
        childOffset.push(p);
        numChildren[parent]!++;
      }
      childCounts[id]!++;
      next[i] = id;
    }
    // A parent with two or more different continuations is a suffix-tree node: a seed.
    if (depth - 1 >= 2) {
      for (let parent = 0; parent < counts.length; parent++) {
        const off = parentOffset[parent]!;
        if (off < 0 || numChildren[parent]! < 2) continue;
        if (!isValidPiece(text, rules, off, off + depth - 1)) continue;
        found.push([off, depth - 1, counts[parent]! * (depth - 1)]);
      }
    }
    if (depth > rules.maxSentencepieceLength) break;
    const extendable = new Int8Array(childCounts.length); // 0 unknown, 1 yes, -1 no
    ({ positions, nodeIds, count } = keepRepeated(positions, next, count, childCounts, (id) => {
      if (extendable[id] === 0) {
        const off = childOffset[id]!;
        extendable[id] = isValidPiece(text, rules, off, off + depth, true) ? 1 : -1;
      }
      return extendable[id] === 1;
    }));
    counts = childCounts;
  }

  // The best seedSentencepieceSize substrings; ties in the order the library's suffix tree
  // lists them (it matters: later ties between pieces are broken by their position).
  const substrings = found.map(([off, l, score]): [string, number] => [String.fromCodePoint(...text.subarray(off, off + l)), score]);
  substrings.sort((a, b) => (a[1] !== b[1] ? b[1] - a[1] : compareSuffixTreeOrder(a[0], b[0])));
  if (substrings.length > input.seedSentencepieceSize) substrings.length = input.seedSentencepieceSize;

  const seeds: Array<[string, number]> = [...sortedByValue(charFreq), ...substrings];
  // Scores become log probabilities (float arithmetic, as in the library).
  let sum = 0;
  for (const [, v] of seeds) sum = Math.fround(sum + Math.fround(v));
  const logsum = Math.fround(Math.log(sum));
  for (const s of seeds) s[1] = Math.fround(Math.log(Math.fround(s[1])) - logsum);
  return seeds;
}

/** Compacts (positions, ids) to the entries whose node count is >= 2 and that `keep` accepts. */
function keepRepeated(
  positions: Int32Array,
  ids: Int32Array,
  count: number,
  counts: number[],
  keep: (id: number) => boolean,
): { positions: Int32Array; nodeIds: Int32Array; count: number } {
  let k = 0;
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    if (counts[id]! < 2 || !keep(id)) continue;
    positions[k] = positions[i]!;
    ids[k++] = id;
  }
  return { positions, nodeIds: ids, count: k };
}
