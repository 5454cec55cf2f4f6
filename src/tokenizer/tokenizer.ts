// One interface for the two kinds of tokenizer files, and a loader that picks the kind:
//
//   loadTokenizer("tokenizer.model")         SentencePiece model (SentencePieceProcessor)
//   loadTokenizer("tokenizer.json")          Hugging Face tokenizers file (HFTokenizer), with
//                                            tokenizer_config.json beside it when present
//   loadTokenizer("vocab.json" | "merges.txt")  GPT-2's files (HFTokenizer)
//   loadTokenizer("some/checkpoint/")        the first of tokenizer.json, vocab.json + merges.txt,
//                                            tokenizer.model found in the folder
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { loadGpt2Files } from "./hf/gpt2_files.js";
import { HFTokenizer } from "./hf/hf_tokenizer.js";
import { SentencePieceProcessor } from "./processor.js";

/** What generation, batching, the server and the CLI need from a tokenizer. */
export interface Tokenizer {
  readonly kind: "sentencepiece" | "huggingface";
  readonly vocabSize: number;
  /** Ids of the special tokens; -1 when the tokenizer has none. */
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  encodeAsIds(text: string, options?: { addBos?: boolean; addEos?: boolean }): number[];
  encodeAsPieces(text: string, options?: { addBos?: boolean; addEos?: boolean }): string[];
  decode(ids: readonly number[]): string;
  idToPiece(id: number): string;
  pieceToId(piece: string): number;
  /** Text of ids pushed one at a time, never half a UTF-8 character. */
  createStreamDecoder(): { push(id: number): string; flush(): string };
  /** Bytes that identify the tokenizer (the .model itself; a digest of tokenizer.json), for caches. */
  serialize(): Uint8Array;
}

/** Loads a tokenizer file or a folder holding one; the kind comes from the file. */
export function loadTokenizer(path: string): Tokenizer {
  if (!existsSync(path)) throw new Error(`tokenizer '${path}' does not exist`);
  if (statSync(path).isDirectory()) return loadFromDirectory(path);
  const name = basename(path);
  const dir = dirname(path);
  if (name.endsWith(".model")) return SentencePieceProcessor.load(path);
  if (name === "vocab.json" || name === "merges.txt") {
    const vocab = join(dir, "vocab.json"),
      merges = join(dir, "merges.txt");
    if (!existsSync(vocab) || !existsSync(merges))
      throw new Error(`${path}: GPT-2 tokenizers need vocab.json and merges.txt side by side in ${dir}`);
    return loadGpt2Files(vocab, merges);
  }
  if (name.endsWith(".json")) {
    if (name === "tokenizer_config.json")
      throw new Error(`${path}: this is the tokenizer's settings; give tokenizer.json (or the folder holding both)`);
    return loadHF(path);
  }
  throw new Error(
    `${path}: unknown tokenizer file (expected a SentencePiece .model, a tokenizer.json, GPT-2's vocab.json + merges.txt, or a folder with one of them)`,
  );
}

/** tokenizer.json, with tokenizer_config.json from the same folder when there is one. */
function loadHF(path: string): HFTokenizer {
  const config = join(dirname(path), "tokenizer_config.json");
  return HFTokenizer.load(path, existsSync(config) ? config : undefined);
}

function loadFromDirectory(dir: string): Tokenizer {
  const hf = join(dir, "tokenizer.json");
  if (existsSync(hf)) return loadHF(hf);
  if (existsSync(join(dir, "vocab.json")) && existsSync(join(dir, "merges.txt")))
    return loadGpt2Files(join(dir, "vocab.json"), join(dir, "merges.txt"));
  const sp = join(dir, "tokenizer.model");
  if (existsSync(sp)) return SentencePieceProcessor.load(sp);
  throw new Error(`${dir}: no tokenizer found (looked for tokenizer.json, vocab.json + merges.txt, tokenizer.model)`);
}

/** The tokenizer file a checkpoint folder holds, by the same preference as loadTokenizer; undefined if none. */
export function findTokenizerFile(dir: string): string | undefined {
  for (const name of ["tokenizer.json", "vocab.json", "tokenizer.model"]) {
    const p = join(dir, name);
    if (existsSync(p) && (name !== "vocab.json" || existsSync(join(dir, "merges.txt")))) return p;
  }
  return undefined;
}
