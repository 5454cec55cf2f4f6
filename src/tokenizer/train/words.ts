// Splitting normalized sentences into words at the space symbol, and counting the words
// (TrainerInterface::SplitSentencesByWhitespace / SplitIntoWords).
import { sortedByValue } from "./order.js";
import type { Sentence } from "./sentences.js";

const WS = "\u2581";

/**
 * "▁a▁b" → ["▁a", "▁b"]; with `suffix` the space ends a word instead ("a▁b▁" → ["a▁", "b▁"]).
 * With `allowWhitespaceOnly`, a run of spaces stays together as one word.
 */
export function splitIntoWords(text: string, suffix: boolean, allowWhitespaceOnly: boolean): string[] {
  const words: string[] = [];
  let inWsRun = false;
  if (suffix) {
    if (text.length > 0) words.push("");
    for (let i = 0; i < text.length; ) {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      const isWs = ch === WS;
      if (isWs) inWsRun = true;
      else if (inWsRun) {
        if (allowWhitespaceOnly) words.push("");
        inWsRun = false;
      }
      words[words.length - 1] += ch;
      i += ch.length;
      if (i < text.length && isWs && !allowWhitespaceOnly) words.push("");
    }
  } else {
    for (let i = 0; i < text.length; ) {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      const isWs = ch === WS;
      if (i === 0 || (isWs && (!inWsRun || !allowWhitespaceOnly))) {
        words.push("");
        inWsRun = true;
      }
      if (inWsRun && !isWs) inWsRun = false;
      words[words.length - 1] += ch;
      i += ch.length;
    }
  }
  return words;
}

/** Word → total frequency, most frequent first (ties in code point order). */
export function countWords(sentences: Sentence[], suffix: boolean, allowWhitespaceOnly: boolean): Sentence[] {
  const counts = new Map<string, number>();
  const add = (w: string, freq: number): void => {
    counts.set(w, (counts.get(w) ?? 0) + freq);
  };
  for (const s of sentences) {
    if (suffix || allowWhitespaceOnly) {
      for (const w of splitIntoWords(s.text, suffix, allowWhitespaceOnly)) add(w, s.freq);
      continue;
    }
    // The default rules: a word starts at the text's start and at every space symbol.
    const text = s.text;
    let start = 0;
    for (let ws = text.indexOf(WS, 1); ws >= 0; ws = text.indexOf(WS, ws + 1)) {
      add(text.slice(start, ws), s.freq);
      start = ws;
    }
    if (start < text.length) add(text.slice(start), s.freq);
  }
  return sortedByValue(counts).map(([text, freq]) => ({ text, freq }));
}

/**
 * The default rules' words (split before every space symbol), each with the character that
 * follows it appended (a space symbol, or "\0" at the end of a sentence), with their summed
 * `weight`. Unigram training needs both: the seed search counts the words with what follows
 * them, EM the words alone (wordsWithoutNext).
 */
export function countWordsWithNext(sentences: Sentence[], weight: (s: Sentence) => number): Map<string, number> {
  const table = new WordTable(sentences);
  for (let i = 0; i < sentences.length; i++) {
    const s = sentences[i]!;
    const text = s.text,
      w = weight(s);
    let start = 0;
    for (let ws = text.indexOf(WS, 1); ws >= 0; ws = text.indexOf(WS, ws + 1)) {
      table.add(text, i, start, ws + 1, false, w);
      start = ws;
    }
    table.add(text, i, start, text.length, true, w);
  }
  return table.toMap();
}

/**
 * Counts of substrings of the sentences (a word, plus "\0" after it when `nul`) without
 * making a string per occurrence: a hash table of (sentence, start, end) references, and a
 * string only for each distinct word. A million words per corpus make this worth it.
 */
class WordTable {
  private slots = new Int32Array(1 << 16); // entry index + 1, or 0
  private readonly texts: string[];
  private sentence: number[] = [];
  private start: number[] = [];
  private end: number[] = [];
  private nul: boolean[] = [];
  private hash: number[] = [];
  private count: number[] = [];

  /** `sentences`: the texts the references point into. */
  constructor(sentences: Sentence[]) {
    this.texts = sentences.map((s) => s.text);
  }

  add(text: string, sentence: number, start: number, end: number, nul: boolean, weight: number): void {
    let h = nul ? 0x2f1 : 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    h >>>= 0;
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s]! - 1;
      if (e < 0) {
        this.slots[s] = this.sentence.length + 1;
        this.sentence.push(sentence);
        this.start.push(start);
        this.end.push(end);
        this.nul.push(nul);
        this.hash.push(h);
        this.count.push(weight);
        if (this.sentence.length * 2 > this.slots.length) this.rehash();
        return;
      }
      if (this.hash[e] === h && this.nul[e] === nul && this.end[e]! - this.start[e]! === end - start && this.sameText(e, text, start)) {
        this.count[e] = this.count[e]! + weight;
        return;
      }
    }
  }

  private sameText(e: number, text: string, start: number): boolean {
    const other = this.texts[this.sentence[e]!]!;
    const from = this.start[e]!;
    for (let i = 0, n = this.end[e]! - from; i < n; i++) if (other.charCodeAt(from + i) !== text.charCodeAt(start + i)) return false;
    return true;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.hash.length; e++) {
      let s = this.hash[e]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = e + 1;
    }
    this.slots = slots;
  }

  /** word (with "\0" when nul) → count, in first-seen order. */
  toMap(): Map<string, number> {
    const m = new Map<string, number>();
    for (let e = 0; e < this.sentence.length; e++) {
      const word = this.texts[this.sentence[e]!]!.slice(this.start[e]!, this.end[e]!);
      m.set(this.nul[e] ? `${word}\0` : word, this.count[e]!);
    }
    return m;
  }
}

/** countWords's result (default rules) from countWordsWithNext's counts with weight = freq. */
export function wordsWithoutNext(counts: Map<string, number>): Sentence[] {
  const words = new Map<string, number>();
  for (const [w, n] of counts) {
    const word = w.slice(0, -1);
    words.set(word, (words.get(word) ?? 0) + n);
  }
  return sortedByValue(words).map(([text, freq]) => ({ text, freq }));
}
