// Training text → normalized sentences and the alphabet (TrainerInterface::LoadSentences):
// read lines, skip over-long ones, optionally sample them, normalize, hide meta pieces, pick
// the characters that reach `characterCoverage`, and replace all others by UNK_CHAR.
import { closeSync, openSync, readSync } from "node:fs";
import { Normalizer } from "../normalizer.js";
import type { NormalizerSpec } from "../model_proto.js";
import type { ResolvedOptions } from "../trainer_options.js";
import { Mt19937 } from "./mt19937.js";
import { BOUNDARY_CHAR, UNK_CHAR } from "./piece_rules.js";
import { sortedByValue } from "./order.js";

export interface Sentence {
  text: string;
  freq: number;
}

export interface Corpus {
  /** Normalized sentences; characters outside the alphabet are UNK_CHAR. */
  sentences: Sentence[];
  /** The alphabet: [code point, frequency], most frequent first. */
  requiredChars: Array<[number, number]>;
}

const UNK_STR = String.fromCodePoint(UNK_CHAR);
const BOUNDARY_STR = String.fromCodePoint(BOUNDARY_CHAR);

/** Lines of UTF-8 files, split at "\n" only (a "\r" stays), with their length in bytes. */
export function* readLines(files: string[]): Generator<{ line: string; bytes: number }> {
  const decoder = new TextDecoder("utf-8");
  const chunk = Buffer.alloc(1 << 20);
  for (const file of files) {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch (err) {
      throw new Error(`cannot read training input ${file}: ${(err as Error).message}`);
    }
    try {
      let carry = Buffer.alloc(0);
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        let start = 0;
        for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
          yield { line: decoder.decode(data.subarray(start, nl)), bytes: nl - start };
          start = nl + 1;
        }
        carry = Buffer.from(data.subarray(start));
        if (n === 0) break;
      }
      if (carry.length > 0) yield { line: decoder.decode(carry), bytes: carry.length };
    } finally {
      closeSync(fd);
    }
  }
}

async function* sourceLines(o: ResolvedOptions): AsyncGenerator<{ line: string; bytes: number }> {
  if (o.sentences !== undefined) {
    for await (const s of o.sentences as AsyncIterable<string>) {
      if (typeof s !== "string") throw new TypeError(`trainer option sentences: expected strings, got ${typeof s}`);
      yield { line: s, bytes: Buffer.byteLength(s) };
    }
  } else {
    yield* readLines(o.input);
  }
}

/** Keeps all sentences, the first N, or N drawn at random like spm_train's reservoir sampler. */
class SentenceSelector {
  readonly kept: Sentence[] = [];
  total = 0;
  private readonly rng: Mt19937 | null;

  constructor(
    private readonly size: number,
    shuffle: boolean,
    seed: number,
  ) {
    this.rng = size > 0 && shuffle ? new Mt19937(seed) : null;
  }

  /** False when no more sentences are wanted. */
  add(s: Sentence): boolean {
    if (this.size === 0) {
      this.kept.push(s);
    } else if (this.rng) {
      this.total++;
      if (this.kept.length < this.size) this.kept.push(s);
      else {
        const n = this.rng.uniformBelow(this.total);
        if (n < this.kept.length) this.kept[n] = s;
      }
      return true;
    } else {
      this.kept.push(s);
      if (this.kept.length >= this.size) return false;
    }
    this.total = this.kept.length;
    return true;
  }
}

/** Replaces every occurrence of the given pieces (longest first) by `by`. */
export function makeReplacer(pieces: string[], by: string): (text: string) => string {
  const byFirst = new Map<number, string[]>();
  for (const p of pieces) {
    const c = p.charCodeAt(0);
    const list = byFirst.get(c) ?? [];
    list.push(p);
    byFirst.set(c, list);
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.length - a.length);
  const firsts = [...byFirst.keys()].map((c) => String.fromCharCode(c));
  return (text: string): string => {
    // Most texts contain no piece's first character: one indexOf each says so.
    if (!firsts.some((f) => text.includes(f))) return text;
    let out = "";
    let last = 0;
    for (let i = 0; i < text.length; ) {
      const list = byFirst.get(text.charCodeAt(i));
      const hit = list?.find((p) => text.startsWith(p, i));
      if (hit) {
        out += text.slice(last, i) + by;
        i += hit.length;
        last = i;
      } else {
        i++;
      }
    }
    return last === 0 ? text : out + text.slice(last);
  };
}

export async function loadCorpus(o: ResolvedOptions, normalizerSpec: NormalizerSpec, metaPieceStrings: string[]): Promise<Corpus> {
  const isTsv = o.inputFormat === "tsv";
  const selector = new SentenceSelector(o.inputSentenceSize, o.shuffleInputSentence, o.seed);
  let tooLong = 0;
  let lineNo = 0;
  for await (const { line, bytes } of sourceLines(o)) {
    lineNo++;
    let text = line;
    let freq = 1;
    if (isTsv) {
      const cols = line.split("\t");
      if (cols.length !== 2) throw new Error(`training input line ${lineNo}: expected 'text<TAB>frequency', got ${cols.length} column(s)`);
      text = cols[0]!;
      freq = Number(cols[1]);
      if (!Number.isSafeInteger(freq) || freq < 1)
        throw new Error(`training input line ${lineNo}: frequency must be an integer >= 1, got '${cols[1]}'`);
    }
    if (text === "") continue;
    if ((isTsv ? Buffer.byteLength(text) : bytes) > o.maxSentenceLength) {
      tooLong++;
      continue;
    }
    if (text.includes(UNK_STR)) continue; // the library reserves U+2585
    if (!selector.add({ text, freq })) break;
    if (lineNo % 1000000 === 0) o.onProgress(`read ${lineNo} lines`);
  }
  const sentences = selector.kept;
  o.onProgress(
    sentences.length === selector.total
      ? `loaded ${sentences.length} sentences` + (tooLong ? ` (${tooLong} longer than ${o.maxSentenceLength} bytes skipped)` : "")
      : `sampled ${sentences.length} of ${selector.total} sentences`,
  );

  // Normalize; meta pieces in the text become a boundary so no learned piece contains them.
  const normalizer = new Normalizer(normalizerSpec, { treatWhitespaceAsSuffix: o.treatWhitespaceAsSuffix });
  const hideMeta = makeReplacer(metaPieceStrings, BOUNDARY_STR);
  for (let i = 0; i < sentences.length; i++) {
    const s = sentences[i]!;
    s.text = hideMeta(normalizer.normalize(s.text));
  }
  // Drop empty results the way the library does (swap with the last one), keeping its order.
  for (let i = 0; i < sentences.length; i++) {
    if (sentences[i]!.text === "") {
      sentences[i] = sentences[sentences.length - 1]!;
      sentences.length--;
    }
  }
  if (sentences.length === 0) throw new Error("training input has no usable sentence (all empty or too long)");

  const requiredChars = chooseAlphabet(sentences, o);
  o.onProgress(`alphabet: ${requiredChars.length} characters`);
  const keep = new Uint8Array(0x110000);
  for (const [c] of requiredChars) keep[c] = 1;
  for (const s of sentences) s.text = replaceUnknown(s.text, keep);
  const metaCount = metaPieceStrings.length;
  if (o.modelType !== "word" && o.modelType !== "char" && requiredChars.length + metaCount > o.vocabSize) {
    throw new Error(
      `vocabSize ${o.vocabSize} is smaller than the alphabet (${requiredChars.length} characters) plus ${metaCount} special pieces; ` +
        "increase vocabSize or decrease characterCoverage",
    );
  }
  return { sentences, requiredChars };
}

/** `text` with every character outside `keep` (a 0/1 table by code point) replaced by UNK_CHAR. */
function replaceUnknown(text: string, keep: Uint8Array): string {
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.codePointAt(i)!;
    if (!keep[c]) break;
    if (c > 0xffff) i++;
  }
  if (i === text.length) return text; // the usual case: nothing to replace
  let out = text.slice(0, i);
  for (const ch of text.slice(i)) out += keep[ch.codePointAt(0)!] ? ch : UNK_STR;
  return out;
}

/** The characters kept: most frequent first until characterCoverage is reached (float math, as in C++). */
function chooseAlphabet(sentences: Sentence[], o: ResolvedOptions): Array<[number, number]> {
  // Counts by code point in a flat table (seen: the code points met, in order).
  const table = new Float64Array(0x110000);
  const seen: number[] = [];
  let all = 0;
  for (const s of sentences) {
    const text = s.text;
    for (let i = 0; i < text.length; i++) {
      const c = text.codePointAt(i)!;
      if (c > 0xffff) i++;
      if (c === 0 || c === 0x20 || (c >= 0xd800 && c <= 0xdfff)) continue;
      if (table[c] === 0) seen.push(c);
      table[c] = table[c]! + s.freq;
      all += s.freq;
    }
  }
  const counts = new Map<number, number>(seen.map((c) => [c, table[c]!]));
  const forced = new Set<number>();
  for (const ch of o.requiredChars) forced.add(ch.codePointAt(0)!);
  // Required characters sort first, then by count.
  const BIG = 2 ** 52;
  const ranked = sortedByValue(
    [...new Set([...counts.keys(), ...forced])].map((c): [number, number] => [c, (forced.has(c) ? BIG : 0) + (counts.get(c) ?? 0)]),
  );
  const coverage = Math.fround(o.characterCoverage);
  const chosen: Array<[number, number]> = [];
  let accumulated = 0;
  for (const [c] of ranked) {
    if (!o.useAllVocab && Math.fround(accumulated / all) >= coverage) break;
    const n = counts.get(c) ?? 0;
    accumulated += n;
    if (c === BOUNDARY_CHAR) continue; // tab (hidden meta pieces) never becomes a piece
    chosen.push([c, n]);
  }
  return chosen;
}
