// Seed vocabulary of the Unigram trainer (MakeSeedSentencePieces): every character, plus the
// substrings that occur at least twice and are "branching" (followed by at least two different
// characters: the internal nodes of the corpus's suffix tree), scored by frequency x length.
// The library builds a suffix array; we sort the occurrences level by level instead (an MSD
// radix sort cut off at the longest piece): at depth d every group holds the positions where
// one substring of length d-1 occurs, and bucketing them by their next character gives its
// children. Only groups of two or more positions that could still become a valid piece are
// carried to the next depth, which finds the same set of nodes.
import { isValidPiece, UNK_CHAR, type PieceRules } from "./piece_rules.js";
import { compareSuffixTreeOrder, sortedByValue } from "./order.js";
import type { Sentence } from "./sentences.js";

const BOUNDARY = 0;

export interface SeedInput {
  sentences: Sentence[];
  rules: PieceRules;
  seedSentencepieceSize: number;
  /** TSV input: each sentence is written twice so that its substrings count as repeated. */
  duplicateSentences: boolean;
}

/** All sentences as one array of code points, each sentence followed by a boundary. */
interface CorpusText {
  text: Int32Array;
  /** text with every code point replaced by a dense id (0 .. numChars-1). */
  charIds: Int32Array;
  numChars: number;
  /** code point → summed sentence frequency (boundary and UNK_CHAR left out). */
  charFreq: Map<number, number>;
}

/** Seed pieces with log-probability scores: characters first, then substrings by score. */
export function makeSeedPieces(input: SeedInput): Array<[string, number]> {
  const corpus = corpusText(input.sentences, input.duplicateSentences);
  const found = branchingSubstrings(corpus, input.rules);
  const text = corpus.text;

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

  const chars = [...corpus.charFreq].map(([c, f]): [string, number] => [String.fromCodePoint(c), f]);
  const seeds: Array<[string, number]> = [...sortedByValue(chars), ...substrings];
  // Scores become log probabilities (float arithmetic, as in the library).
  let sum = 0;
  for (const [, v] of seeds) sum = Math.fround(sum + Math.fround(v));
  const logsum = Math.fround(Math.log(sum));
  for (const s of seeds) s[1] = Math.fround(Math.log(Math.fround(s[1])) - logsum);
  return seeds;
}

function corpusText(sentences: Sentence[], duplicate: boolean): CorpusText {
  let n = 0;
  for (const s of sentences) n += (s.text.length + 1) * (duplicate ? 2 : 1);
  const text = new Int32Array(n);
  const charIds = new Int32Array(n);
  // code point → dense id + 1 (0: not seen yet); the boundary gets id 0.
  const idOf = new Int32Array(0x110000);
  idOf[BOUNDARY] = 1;
  let numChars = 1;
  const freqById: number[] = [0];
  let len = 0;
  for (const s of sentences) {
    const start = len;
    const str = s.text;
    for (let i = 0; i < str.length; ) {
      const c = str.codePointAt(i)!;
      i += c > 0xffff ? 2 : 1;
      let id = idOf[c]! - 1;
      if (id < 0) {
        id = numChars++;
        idOf[c] = id + 1;
        freqById.push(0);
      }
      text[len] = c;
      charIds[len++] = id;
      freqById[id] = freqById[id]! + s.freq;
    }
    text[len] = BOUNDARY;
    charIds[len++] = 0;
    if (duplicate) {
      text.copyWithin(len, start, len);
      charIds.copyWithin(len, start, len);
      len += len - start;
    }
  }
  const charFreq = new Map<number, number>();
  for (let c = 1; c < idOf.length; c++) {
    const id = idOf[c]! - 1;
    if (id > 0 && c !== UNK_CHAR) charFreq.set(c, freqById[id]!);
  }
  return { text: text.subarray(0, len), charIds: charIds.subarray(0, len), numChars, charFreq };
}

/** Suffix-tree nodes of length >= 2 that are valid pieces: where one occurs, length, score. */
interface Found {
  offset: number[];
  length: number[];
  score: number[];
  count: number;
}

function branchingSubstrings(corpus: CorpusText, rules: PieceRules): Found {
  const { text, charIds, numChars } = corpus;
  const len = text.length;
  const maxLength = rules.maxSentencepieceLength;
  const found: Found = { offset: [], length: [], score: [], count: 0 };

  // Depth 1: positions whose character could start a piece, grouped by character (counting
  // sort); characters seen only once are dropped.
  const startOk = new Int8Array(numChars); // 0 unknown, 1 yes, -1 no
  const counts = new Int32Array(numChars);
  for (let p = 0; p < len; p++) {
    const id = charIds[p]!;
    if (startOk[id] === 0) startOk[id] = isValidPiece(text, rules, p, p + 1, true) ? 1 : -1;
    if (startOk[id] === 1) counts[id]!++;
  }
  const fill = new Int32Array(numChars);
  // Group g is order[groups[g] .. groups[g+1]); every group has two positions or more.
  let groups: Int32Array = new Int32Array(numChars + 1);
  let numGroups = 0;
  let total = 0;
  for (let id = 0; id < numChars; id++) {
    fill[id] = -1;
    if (startOk[id] !== 1 || counts[id]! < 2) continue;
    groups[numGroups++] = total;
    fill[id] = total;
    total += counts[id]!;
  }
  groups[numGroups] = total;
  let order: Int32Array = new Int32Array(total);
  for (let p = 0; p < len; p++) {
    const at = fill[charIds[p]!]!;
    if (at < 0) continue;
    order[at] = p;
    fill[charIds[p]!] = at + 1;
  }

  // Deeper levels. Scratch for bucketing one group by its next character.
  const childCount = new Int32Array(numChars);
  const childFirst = new Int32Array(numChars);
  const childAt = new Int32Array(numChars);
  const touched = new Int32Array(numChars);
  const keys = new Int32Array(total); // next character of order[i], read once
  let next: Int32Array = new Int32Array(total);
  let nextGroups: Int32Array = new Int32Array((total >> 1) + 1);
  for (let depth = 2; numGroups > 0 && depth <= maxLength + 1; depth++) {
    const nodeLength = depth - 1;
    const extend = depth <= maxLength;
    if (nextGroups.length < (total >> 1) + 1) nextGroups = new Int32Array((total >> 1) + 1);
    let out = 0,
      outGroups = 0;
    for (let g = 0; g < numGroups; g++) {
      const s = groups[g]!,
        e = groups[g + 1]!;
      if (e - s === 2) {
        // Most groups deep down: two occurrences, one child or two.
        const p0 = order[s]!,
          p1 = order[s + 1]!;
        if (charIds[p0 + nodeLength] !== charIds[p1 + nodeLength]) {
          if (nodeLength >= 2 && isValidPiece(text, rules, p0, p0 + nodeLength)) addFound(found, p0, nodeLength, 2);
        } else if (extend && extensible(corpus, startOk, rules, p0, depth)) {
          nextGroups[outGroups++] = out;
          next[out++] = p0;
          next[out++] = p1;
        }
        continue;
      }
      // Count the children (the distinct next characters) of this node.
      let numChildren = 0;
      for (let i = s; i < e; i++) {
        const p = order[i]!;
        const k = charIds[p + nodeLength]!;
        keys[i] = k;
        if (childCount[k]!++ === 0) {
          touched[numChildren++] = k;
          childFirst[k] = p;
        }
      }
      if (numChildren >= 2 && nodeLength >= 2 && isValidPiece(text, rules, order[s]!, order[s]! + nodeLength))
        addFound(found, order[s]!, nodeLength, e - s);
      // The children that go on form the groups of the next depth.
      let kept = 0;
      for (let j = 0; j < numChildren; j++) {
        const k = touched[j]!;
        const c = childCount[k]!;
        childCount[k] = 0;
        if (!extend || c < 2 || !extensible(corpus, startOk, rules, childFirst[k]!, depth)) {
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
function extensible(corpus: CorpusText, startOk: Int8Array, rules: PieceRules, p: number, length: number): boolean {
  return startOk[corpus.charIds[p + length - 1]!] === 1 && isValidPiece(corpus.text, rules, p, p + length, true);
}

function addFound(found: Found, offset: number, length: number, occurrences: number): void {
  found.offset.push(offset);
  found.length.push(length);
  found.score.push(occurrences * length);
  found.count++;
}
