// `--tokenizer PATH` for the commands that rewrite a checkpoint (`convert`, `quantize`): the
// tokenizer that goes with the output, in place of the one found beside (or inside) the input.
//
//   GGUF output   the vocabulary is embedded (tokenizer.ggml.*): a SentencePiece .model or a
//                 llama2.c tokenizer.bin
//   HF output     the file is copied into the directory: tokenizer.model, or tokenizer.json with
//                 its tokenizer_config.json
//   llama2.c      the .bin holds weights only, so there is nowhere to put a tokenizer
//
// The tokenizer is checked before anything is written: it must load, and its vocabulary must fit
// the model's embedding table (a tokenizer with more pieces than embeddings would index past it).
import { existsSync, statSync } from "node:fs";
import { basename } from "node:path";
import { UsageError, type OptionSpec } from "./args.js";
import type { Checkpoint } from "../formats/types.js";
import type { CheckpointFormat } from "../formats/load.js";
import { readVocab } from "../formats/vocab.js";
import { findTokenizerFile, loadTokenizer } from "../tokenizer/tokenizer.js";

export const TOKENIZER_OUTPUT_SPEC: OptionSpec = {
  type: "string",
  arg: "PATH",
  help: "tokenizer to write with the output: SentencePiece .model, llama2.c tokenizer.bin, tokenizer.json or a folder with one (default: the checkpoint's own)",
};

/** The tokenizer file `path` names: the file itself, or the one a folder holds. */
function tokenizerFile(path: string): string {
  if (!existsSync(path)) throw new UsageError(`--tokenizer ${path}: no such file or directory`);
  if (!statSync(path).isDirectory()) return path;
  const found = findTokenizerFile(path);
  if (!found) throw new UsageError(`--tokenizer ${path}: the folder holds no tokenizer.json or tokenizer.model`);
  return found;
}

/** Which kinds of tokenizer file each output format can carry. */
function checkFormatCarries(file: string, format: CheckpointFormat): void {
  const name = basename(file);
  const sentencePiece = name.endsWith(".model");
  const llama2c = name.endsWith(".bin");
  const hfJson = name === "tokenizer.json";
  if (format === "llama2c") {
    throw new UsageError("--tokenizer: a llama2.c .bin holds only weights; keep the tokenizer file beside it instead");
  }
  if (format === "gguf" && !sentencePiece && !llama2c) {
    throw new UsageError(`--tokenizer ${file}: a GGUF file embeds a SentencePiece vocabulary; give a .model or a llama2.c tokenizer.bin`);
  }
  if (format === "hf" && !sentencePiece && !hfJson) {
    throw new UsageError(`--tokenizer ${file}: a Hugging Face directory takes a tokenizer.model or a tokenizer.json`);
  }
}

/** Number of pieces in the tokenizer file, read by the same code that will embed or copy it. */
function vocabularySize(file: string): number {
  try {
    return basename(file) === "tokenizer.json" ? loadTokenizer(file).vocabSize : readVocab(file).tokens.length;
  } catch (err) {
    throw new UsageError(`--tokenizer ${file}: ${(err as Error).message}`);
  }
}

/**
 * Makes `ck` carry the tokenizer at `path` (given with --tokenizer) into an output of `format`;
 * with no path the checkpoint keeps its own. Refuses a tokenizer the format cannot carry or whose
 * vocabulary is larger than the model's.
 */
export function applyTokenizerFlag(ck: Checkpoint, path: string | undefined, format: CheckpointFormat): void {
  if (path === undefined) return;
  const file = tokenizerFile(path);
  checkFormatCarries(file, format);
  const pieces = vocabularySize(file);
  if (pieces > ck.config.vocab_size) {
    throw new UsageError(
      `--tokenizer ${file}: has ${pieces} pieces but the model has ${ck.config.vocab_size} embeddings (config vocab_size); it belongs to another model`,
    );
  }
  ck.tokenizerPath = file;
  // The input's embedded vocabulary and its GGUF tokenizer.* keys described the old tokenizer.
  ck.vocab = undefined;
  if (ck.metadata) for (const key of [...ck.metadata.keys()]) if (key.startsWith("tokenizer.")) ck.metadata.delete(key);
}
