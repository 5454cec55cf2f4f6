// The Unigram model of tokenizer.json (Rust tokenizers: models/unigram): the segmentation whose
// piece scores sum highest (Viterbi, in float64). At a position no piece covers, one character
// becomes the unknown token with score min_score - 10; a run of unknown characters is fused into
// one unknown token, which becomes UTF-8 byte pieces "<0xAB>" when byte_fallback is set.
import { bool, node, TokenizerFileError } from "./config.js";
import { byteToPiece } from "../vocab.js";

const UNK_PENALTY = 10;
const encoder = new TextEncoder();

export class UnigramModel {
  readonly vocab = new Map<string, number>();
  readonly unkId: number;
  private readonly scores: Float64Array;
  private readonly unkScore: number;
  private readonly byteFallback: boolean;
  /** Longest piece, in UTF-16 units. */
  private readonly maxLength: number;

  constructor(json: unknown, where: string) {
    const n = node(json, where);
    const v = n.json.vocab;
    if (!Array.isArray(v) || v.length === 0) throw new TokenizerFileError(`${where}.vocab: expected a non-empty array of ["piece", score]`);
    this.scores = new Float64Array(v.length);
    let min = Infinity,
      maxLength = 0;
    v.forEach((entry, id) => {
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") {
        throw new TokenizerFileError(`${where}.vocab[${id}]: expected ["piece", score], got ${JSON.stringify(entry)}`);
      }
      if (!this.vocab.has(entry[0])) this.vocab.set(entry[0], id);
      this.scores[id] = entry[1];
      min = Math.min(min, entry[1]);
      maxLength = Math.max(maxLength, entry[0].length);
    });
    this.maxLength = maxLength;
    this.unkScore = min - UNK_PENALTY;
    const unk = n.json.unk_id;
    if (unk === null || unk === undefined)
      throw new TokenizerFileError(`${where}.unk_id: a Unigram model without an unknown token is not supported`);
    if (!Number.isInteger(unk) || (unk as number) < 0 || (unk as number) >= v.length)
      throw new TokenizerFileError(`${where}.unk_id: ${JSON.stringify(unk)} is not an id of the vocabulary`);
    this.unkId = unk as number;
    this.byteFallback = bool(n, "byte_fallback", false);
  }

  /** Appends the ids of one pre-tokenized word. */
  encodeWord(word: string, _byteLevel: boolean, out: number[]): void {
    const n = word.length;
    if (n === 0) return;
    // At each end position (UTF-16 index): best score, where its last piece starts, and its id.
    const score = new Float64Array(n + 1);
    const start = new Int32Array(n + 1).fill(-1);
    const ids = new Int32Array(n + 1);
    start[0] = 0;
    for (let pos = 0; pos < n; pos = nextChar(word, pos)) {
      const here = score[pos]!;
      const charEnd = nextChar(word, pos);
      let hasSingleChar = false;
      for (let end = charEnd; end <= n && end - pos <= this.maxLength; end = nextChar(word, end)) {
        const id = this.vocab.get(word.slice(pos, end));
        if (id !== undefined) {
          const cand = this.scores[id]! + here;
          if (start[end] === -1 || cand > score[end]!) {
            score[end] = cand;
            start[end] = pos;
            ids[end] = id;
          }
          if (end === charEnd) hasSingleChar = true;
        }
        if (end === n) break;
      }
      if (!hasSingleChar) {
        const cand = this.unkScore + here;
        if (start[charEnd] === -1 || cand > score[charEnd]!) {
          score[charEnd] = cand;
          start[charEnd] = pos;
          ids[charEnd] = this.unkId;
        }
      }
    }
    // Walk back from the end; runs of unknown characters become one token.
    const pieces: { begin: number; end: number; id: number }[] = [];
    for (let end = n; end > 0; ) {
      const begin = start[end]!;
      const id = ids[end]!;
      const last = pieces[pieces.length - 1];
      if (id === this.unkId && last && last.id === this.unkId) last.begin = begin;
      else pieces.push({ begin, end, id });
      end = begin;
    }
    for (let i = pieces.length - 1; i >= 0; i--) {
      const p = pieces[i]!;
      if (p.id === this.unkId && this.byteFallback) this.pushBytes(word.slice(p.begin, p.end), out);
      else out.push(p.id);
    }
  }

  /** An unknown run as byte pieces (all must exist), else the unknown token. */
  private pushBytes(text: string, out: number[]): void {
    const bytes = Array.from(encoder.encode(text), (b) => this.vocab.get(byteToPiece(b)));
    if (bytes.every((id) => id !== undefined)) out.push(...(bytes as number[]));
    else out.push(this.unkId);
  }
}

function nextChar(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? i + 2 : i + 1;
}
