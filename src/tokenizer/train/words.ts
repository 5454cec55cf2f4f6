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
  const counts = new Map<string, number>();
  for (const s of sentences) {
    const text = s.text,
      w = weight(s);
    let start = 0;
    for (let ws = text.indexOf(WS, 1); ws >= 0; ws = text.indexOf(WS, ws + 1)) {
      const word = text.slice(start, ws + 1);
      counts.set(word, (counts.get(word) ?? 0) + w);
      start = ws;
    }
    const last = `${text.slice(start)}\0`;
    counts.set(last, (counts.get(last) ?? 0) + w);
  }
  return counts;
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
