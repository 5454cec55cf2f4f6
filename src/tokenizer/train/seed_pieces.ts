// Seed vocabulary of the Unigram trainer (MakeSeedSentencePieces): every character, plus the
// substrings that occur at least twice and are "branching" (followed by at least two different
// characters: the internal nodes of the corpus's suffix tree), scored by frequency x length.
//
// The library builds a suffix array of all sentences; we sort the occurrences level by level
// instead (an MSD radix sort cut off at the longest piece): at depth d every group holds the
// positions where one substring of length d-1 occurs, and bucketing them by their next
// character gives its children. Only groups that occur twice or more and could still become a
// valid piece are carried to the next depth, which finds the same set of nodes.
//
// With the default rules (split_by_whitespace, the space symbol only at the start of a piece)
// no piece reaches across a space symbol, so the text searched need not be the whole corpus:
// each distinct word, followed by the character after it (a space symbol or the end of the
// sentence), written once with its number of occurrences as a weight, has the same substrings
// with the same counts and the same next characters. That text is several times shorter.
import { isValidPiece, UNK_CHAR, type PieceRules } from "./piece_rules.js";
import { compareSuffixTreeOrder, sortedByValue } from "./order.js";
import type { Sentence } from "./sentences.js";
import { countWordsWithNext } from "./words.js";

const BOUNDARY = 0;

export interface SeedInput {
  sentences: Sentence[];
  rules: PieceRules;
  seedSentencepieceSize: number;
  /** TSV input: each sentence is written twice so that its substrings count as repeated. */
  duplicateSentences: boolean;
  /**
   * countWordsWithNext's counts of occurrences (each sentence once, or twice with
   * duplicateSentences), if the caller has them; used when wordsSuffice(rules).
   */
  wordCounts?: Map<string, number>;
}

/** The text searched for substrings: code points, each position with a weight. */
export interface OccurrenceText {
  text: Int32Array;
  /**
   * How many times the corpus has the text at each position (1 for the whole corpus); 0 where
   * a character only closes the string before it (no occurrence starts there).
   */
  weight: Int32Array;
  /** text with every code point replaced by a dense id (0 .. numChars-1; boundary: 0). */
  charIds: Int32Array;
  numChars: number;
}

/** Seed pieces with log-probability scores: characters first, then substrings by score. */
export function makeSeedPieces(input: SeedInput): Array<[string, number]> {
  const repeat = input.duplicateSentences ? 2 : 1;
  const occurrences = wordsSuffice(input.rules)
    ? wordText(input.wordCounts ?? countWordsWithNext(input.sentences, () => repeat))
    : corpusText(input.sentences, input.duplicateSentences);
  const found = branchingSubstrings(occurrences, input.rules);
  const text = occurrences.text;

  // The best seedSentencepieceSize substrings; ties in the order the library's suffix tree
  // lists them (it matters: later ties between pieces are broken by their position).
  const substrings: Array<[string, number]> = [];
  for (let i = 0; i < found.count; i++) {
    const off = found.offset[i]!,
      l = found.length[i]!;
    substrings.push([String.fromCodePoint(...text.subarray(off, off + l)), found.score[i]!]);
  }
  substrings.sort((a, b) => (a[1] !== b[1] ? b[1] - a[1] : compareSuffixTreeOrder(a[0], b[0])));
  if (substrings.length > input.seedSentencepieceSize) substrings.length = input.seedSentencepieceSize;

  const seeds: Array<[string, number]> = [...sortedByValue(charFrequencies(input.sentences)), ...substrings];
  // Scores become log probabilities (float arithmetic, as in the library).
  let sum = 0;
  for (const [, v] of seeds) sum = Math.fround(sum + Math.fround(v));
  const logsum = Math.fround(Math.log(sum));
  for (const s of seeds) s[1] = Math.fround(Math.log(Math.fround(s[1])) - logsum);
  return seeds;
}

/** True when no valid piece can contain a space symbol after its first character. */
export function wordsSuffice(rules: PieceRules): boolean {
  return rules.splitByWhitespace && !rules.treatWhitespaceAsSuffix && !rules.allowWhitespaceOnlyPieces;
}

/** Every character (but the boundary and UNK_CHAR) with its summed sentence frequency. */
function charFrequencies(sentences: Sentence[]): Array<[string, number]> {
  const table = new Float64Array(0x110000);
  const seen: number[] = [];
  for (const s of sentences) {
    const str = s.text;
    for (let i = 0; i < str.length; i++) {
      const c = str.codePointAt(i)!;
      if (c > 0xffff) i++;
      if (c === BOUNDARY || c === UNK_CHAR) continue;
      if (table[c] === 0) seen.push(c);
      table[c] = table[c]! + s.freq;
    }
  }
  return seen.map((c) => [String.fromCodePoint(c), table[c]!]);
}

/** Builds an OccurrenceText from strings, each written once with its weight. */
class TextBuilder {
  private text: Int32Array;
  private weight: Int32Array;
  private charIds: Int32Array;
  private len = 0;
  // code point → dense id + 1 (0: not seen yet); the boundary gets id 0.
  private readonly idOf = new Int32Array(0x110000);
  private numChars = 1;

  constructor(capacity: number) {
    this.text = new Int32Array(capacity);
    this.weight = new Int32Array(capacity);
    this.charIds = new Int32Array(capacity);
    this.idOf[BOUNDARY] = 1;
  }

  /**
   * Appends the code points of str with `weight`, then `after`, the character that follows
   * it, with weight 0: it is read as a next character but no occurrence starts there.
   */
  add(str: string, after: number, weight: number): void {
    if (this.len + str.length + 1 > this.text.length) this.grow(this.len + str.length + 1);
    for (let i = 0; i < str.length; ) {
      const c = str.codePointAt(i)!;
      i += c > 0xffff ? 2 : 1;
      this.put(c, weight);
    }
    this.put(after, 0);
  }

  private put(c: number, weight: number): void {
    let id = this.idOf[c]! - 1;
    if (id < 0) {
      id = this.numChars++;
      this.idOf[c] = id + 1;
    }
    this.text[this.len] = c;
    this.weight[this.len] = weight;
    this.charIds[this.len++] = id;
  }

  private grow(n: number): void {
    const size = Math.max(n, 2 * this.text.length);
    for (const key of ["text", "weight", "charIds"] as const) {
      const b = new Int32Array(size);
      b.set(this[key]);
      this[key] = b;
    }
  }

  finish(): OccurrenceText {
    const n = this.len;
    return {
      text: this.text.subarray(0, n),
      weight: this.weight.subarray(0, n),
      charIds: this.charIds.subarray(0, n),
      numChars: this.numChars,
    };
  }
}

/** All sentences, each followed by a boundary (twice each with `duplicate`), as the library has them. */
export function corpusText(sentences: Sentence[], duplicate: boolean): OccurrenceText {
  let n = 0;
  for (const s of sentences) n += (s.text.length + 1) * (duplicate ? 2 : 1);
  const b = new TextBuilder(n);
  for (const s of sentences) for (let k = duplicate ? 2 : 1; k > 0; k--) b.add(s.text, BOUNDARY, 1);
  return b.finish();
}

/** Each distinct word with the character that follows it (countWordsWithNext), once, weighted by its count. */
export function wordText(counts: Map<string, number>): OccurrenceText {
  let n = 0;
  for (const w of counts.keys()) n += w.length;
  const b = new TextBuilder(n);
  for (const [w, count] of counts) {
    // The last character (a space symbol or "\0", one UTF-16 unit) is what follows the word.
    b.add(w.slice(0, -1), w.charCodeAt(w.length - 1), count);
  }
  return b.finish();
}

/** Suffix-tree nodes of length >= 2 that are valid pieces: where one occurs, length, score. */
interface Found {
  offset: number[];
  length: number[];
  score: number[];
  count: number;
}

export function branchingSubstrings(occ: OccurrenceText, rules: PieceRules): Found {
  const { text, weight, charIds, numChars } = occ;
  const len = text.length;
  const maxLength = rules.maxSentencepieceLength;
  const found: Found = { offset: [], length: [], score: [], count: 0 };

  // Depth 1: positions whose character could start a piece, grouped by character (counting
  // sort); characters seen only once are dropped. A character that cannot start a piece can
  // be in none.
  const startOk = new Int8Array(numChars); // 0 unknown, 1 yes, -1 no
  const positions = new Int32Array(numChars);
  const weights = new Float64Array(numChars);
  for (let p = 0; p < len; p++) {
    const id = charIds[p]!;
    if (startOk[id] === 0) startOk[id] = isValidPiece(text, rules, p, p + 1, true) ? 1 : -1;
    if (startOk[id] !== 1 || weight[p] === 0) continue;
    positions[id]!++;
    weights[id] = weights[id]! + weight[p]!;
  }
  const fill = new Int32Array(numChars);
  // Group g is order[groups[g] .. groups[g+1]).
  let groups: Int32Array = new Int32Array(Math.max(numChars, len) + 1);
  let numGroups = 0;
  let total = 0;
  for (let id = 0; id < numChars; id++) {
    fill[id] = -1;
    if (startOk[id] !== 1 || weights[id]! < 2) continue;
    groups[numGroups++] = total;
    fill[id] = total;
    total += positions[id]!;
  }
  groups[numGroups] = total;
  let order: Int32Array = new Int32Array(total);
  for (let p = 0; p < len; p++) {
    const at = fill[charIds[p]!]!;
    if (at < 0 || weight[p] === 0) continue;
    order[at] = p;
    fill[charIds[p]!] = at + 1;
  }

  // Deeper levels. Scratch for bucketing one group by its next character.
  const childPositions = new Int32Array(numChars);
  const childWeight = new Float64Array(numChars);
  const childFirst = new Int32Array(numChars);
  const childAt = new Int32Array(numChars);
  const touched = new Int32Array(numChars);
  const keys = new Int32Array(total); // next character of order[i], read once
  let next: Int32Array = new Int32Array(total);
  let nextGroups: Int32Array = new Int32Array(groups.length);
  for (let depth = 2; numGroups > 0 && depth <= maxLength + 1; depth++) {
    const nodeLength = depth - 1;
    const extend = depth <= maxLength;
    let out = 0,
      outGroups = 0;
    for (let g = 0; g < numGroups; g++) {
      const s = groups[g]!,
        e = groups[g + 1]!;
      if (e - s <= 2) {
        // Most groups deep down: one or two positions, one child or two.
        const p0 = order[s]!,
          p1 = e - s === 2 ? order[s + 1]! : -1;
        if (p1 >= 0 && charIds[p0 + nodeLength] !== charIds[p1 + nodeLength]) {
          if (nodeLength >= 2 && isValidPiece(text, rules, p0, p0 + nodeLength)) addFound(found, p0, nodeLength, weight[p0]! + weight[p1]!);
        } else if (extend && extensible(occ, startOk, rules, p0, depth)) {
          nextGroups[outGroups++] = out;
          next[out++] = p0;
          if (p1 >= 0) next[out++] = p1;
        }
        continue;
      }
      // Count the children (the distinct next characters) of this node.
      let numChildren = 0;
      let nodeWeight = 0;
      for (let i = s; i < e; i++) {
        const p = order[i]!;
        const k = charIds[p + nodeLength]!;
        keys[i] = k;
        nodeWeight += weight[p]!;
        if (childPositions[k]!++ === 0) {
          touched[numChildren++] = k;
          childFirst[k] = p;
          childWeight[k] = 0;
        }
        childWeight[k] = childWeight[k]! + weight[p]!;
      }
      if (numChildren >= 2 && nodeLength >= 2 && isValidPiece(text, rules, order[s]!, order[s]! + nodeLength))
        addFound(found, order[s]!, nodeLength, nodeWeight);
      // Children that occur twice or more and could still be (the start of) a piece form the
      // groups of the next depth.
      let kept = 0;
      for (let j = 0; j < numChildren; j++) {
        const k = touched[j]!;
        const c = childPositions[k]!;
        childPositions[k] = 0;
        if (!extend || childWeight[k]! < 2 || !extensible(occ, startOk, rules, childFirst[k]!, depth)) {
          childAt[k] = -1;
          continue;
        }
        nextGroups[outGroups++] = out;
        childAt[k] = out;
        out += c;
        kept++;
      }
      if (kept === 0) continue;
      for (let i = s; i < e; i++) {
        const k = keys[i]!;
        const at = childAt[k]!;
        if (at < 0) continue;
        next[at] = order[i]!;
        childAt[k] = at + 1;
      }
    }
    nextGroups[outGroups] = out;
    [order, next] = [next, order];
    [groups, nextGroups] = [nextGroups, groups];
    numGroups = outGroups;
  }
  return found;
}

/** Whether text[p .. p+length) could be (the start of) a piece: its last character may be in one, and the whole is a valid prefix. */
function extensible(occ: OccurrenceText, startOk: Int8Array, rules: PieceRules, p: number, length: number): boolean {
  return startOk[occ.charIds[p + length - 1]!] === 1 && isValidPiece(occ.text, rules, p, p + length, true);
}

function addFound(found: Found, offset: number, length: number, occurrences: number): void {
  found.offset.push(offset);
  found.length.push(length);
  found.score.push(occurrences * length);
  found.count++;
}
