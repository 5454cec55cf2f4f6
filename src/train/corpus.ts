// A tokenized corpus: the training text turned into one array of token ids, through the
// token cache (token_cache.ts) so each text is tokenized only once per tokenizer.
//
// Lines are tokenized one at a time and joined by a line-break token: the tokenizer's own
// piece for "\n" when it has one (character vocabularies do), else its EOS id, else nothing.
// The corpus is then split by position: the first part trains, the last part validates
// (nanoGPT's 90 / 10 split), as views of the same array (no copies).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { ParallelEncoder, SentencePieceProcessor } from "../tokenizer/index.js";
import { DataError, forEachLine, hashFiles } from "./text_source.js";
import { readTokenCache, readTokenCacheHeader, writeTokenCache, type TokenIds } from "./token_cache.js";
import { numberInRange } from "../util/validate.js";

/** What tokenizing a corpus needs from a tokenizer (SentencePieceProcessor has it). */
export interface CorpusTokenizer {
  encodeAsIds(text: string): number[];
  readonly vocabSize: number;
  readonly eosId: number;
  readonly unkId: number;
  serialize(): Uint8Array;
}

export interface TokenCorpus {
  ids: TokenIds;
  /** Path of the cache file the ids came from. */
  cachePath: string;
  /** True when the cache was (re)built in this call. */
  built: boolean;
}

export interface CorpusOptions {
  /** Threads that tokenize (worker threads; 1 = this thread only). The ids are the same for any count. */
  threads?: number;
}

/** Below this much text, starting workers costs more than it saves. */
const PARALLEL_MIN_BYTES = 1 << 20;
/** Text per batch handed to the threads. */
const PARALLEL_BATCH_CHARS = 4 << 20;

function totalSize(files: readonly string[]): number {
  return files.reduce((n, f) => n + statSync(f).size, 0);
}

/** The ids put between lines (see the file comment). */
export function lineBreakIds(tokenizer: CorpusTokenizer): number[] {
  const ids = tokenizer.encodeAsIds("\n");
  if (ids.length === 1 && ids[0] !== tokenizer.unkId) return ids;
  return tokenizer.eosId >= 0 ? [tokenizer.eosId] : [];
}

/** sha256 of a tokenizer's serialized model (identifies it in caches and checkpoints). */
export function tokenizerChecksum(tokenizer: Pick<CorpusTokenizer, "serialize">): string {
  return createHash("sha256").update(tokenizer.serialize()).digest("hex");
}

/**
 * Tokenizes `files` into a cache file under `cacheDir` (reused when the text and the tokenizer
 * are unchanged) and returns the ids. `name` names the cache file.
 */
export function loadTokenCorpus(
  files: readonly string[],
  tokenizer: CorpusTokenizer,
  cacheDir: string,
  name = basename(files[0] ?? "corpus"),
  options: CorpusOptions = {},
): TokenCorpus {
  const tokSha = tokenizerChecksum(tokenizer);
  mkdirSync(cacheDir, { recursive: true });
  const cachePath = join(cacheDir, `${name.replace(/[^A-Za-z0-9._-]/g, "_")}.${tokSha.slice(0, 12)}.tokens`);
  if (existsSync(cachePath)) {
    const current = isCurrent(cachePath, tokSha, files);
    if (current) {
      const { ids } = readTokenCache(cachePath, { tokenizerSha256: tokSha, sourceSha256: current, vocabSize: tokenizer.vocabSize });
      return { ids, cachePath, built: false };
    }
  }
  const breakIds = lineBreakIds(tokenizer);
  const threads = options.threads ?? 1;
  const parallel = threads > 1 && tokenizer instanceof SentencePieceProcessor && totalSize(files) >= PARALLEL_MIN_BYTES;
  writeTokenCache(cachePath, {
    vocabSize: tokenizer.vocabSize,
    tokenizerSha256: tokSha,
    produce: (push) => {
      let first = true;
      const pushLine = (ids: ArrayLike<number>, from: number, to: number): void => {
        if (!first) for (const id of breakIds) push(id);
        first = false;
        for (let k = from; k < to; k++) push(ids[k]!);
      };
      if (!parallel) {
        const sourceSha256 = forEachLine(files, (line) => {
          const ids = tokenizer.encodeAsIds(line);
          pushLine(ids, 0, ids.length);
        });
        return { sourceSha256 };
      }
      // Batches of lines go to every core; their ids come back in line order.
      const encoder = new ParallelEncoder(tokenizer as SentencePieceProcessor, threads);
      let batch: string[] = [];
      let batchChars = 0;
      const flush = (): void => {
        const { ids, lengths } = encoder.encodeLines(batch);
        let at = 0;
        for (const n of lengths) {
          pushLine(ids, at, at + n);
          at += n;
        }
        batch = [];
        batchChars = 0;
      };
      try {
        const sourceSha256 = forEachLine(files, (line) => {
          batch.push(line);
          batchChars += line.length;
          if (batchChars >= PARALLEL_BATCH_CHARS) flush();
        });
        flush();
        return { sourceSha256 };
      } finally {
        encoder.close();
      }
    },
  });
  const { ids } = readTokenCache(cachePath, { tokenizerSha256: tokSha });
  if (ids.length === 0) throw new DataError(files.join(", "), "the text gives no tokens");
  return { ids, cachePath, built: true };
}

/** The source checksum when the cache at `path` matches this tokenizer and text; null when it must be rebuilt. */
function isCurrent(path: string, tokSha: string, files: readonly string[]): string | null {
  try {
    const h = readTokenCacheHeader(path);
    if (h.tokenizerSha256 !== tokSha) return null;
    const src = hashFiles(files);
    return h.sourceSha256 === src ? src : null;
  } catch {
    return null; // a damaged cache is rebuilt, never trusted
  }
}

/** The train and validation parts of a corpus: the last `valFraction` of the ids validates. */
export function splitCorpus(ids: TokenIds, valFraction: number): { train: TokenIds; val: TokenIds } {
  numberInRange("splitCorpus: valFraction", valFraction, 0, 1, { includeHigh: false });
  const cut = Math.round(ids.length * (1 - valFraction));
  return { train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

/** Tokenizes `files` into one in-memory array (for evaluation texts; training corpora go through the cache). */
export function tokenizeFiles(files: readonly string[], tokenizer: CorpusTokenizer): Uint32Array {
  const breakIds = lineBreakIds(tokenizer);
  let ids = new Uint32Array(1 << 16);
  let n = 0;
  const push = (id: number) => {
    if (n === ids.length) {
      const grown = new Uint32Array(ids.length * 2);
      grown.set(ids);
      ids = grown;
    }
    ids[n++] = id;
  };
  let first = true;
  forEachLine(files, (line) => {
    if (!first) for (const id of breakIds) push(id);
    first = false;
    for (const id of tokenizer.encodeAsIds(line)) push(id);
  });
  return ids.slice(0, n);
}
