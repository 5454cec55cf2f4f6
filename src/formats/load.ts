// One entry point for every checkpoint format: detect the format of a path, read it; and the
// matching writers.
//
//   a directory with config.json          Hugging Face (hf.ts)
//   a file starting with "GGUF"           GGUF (gguf_llama.ts)
//   a file with a valid llama2.c header   llama2.c legacy .bin (llama2c.ts); the tokenizer is
//                                         looked for beside it: tokenizer.model, tok*.model,
//                                         then tokenizer.bin / tok*.bin
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Checkpoint } from "./types.js";
import { elementCount } from "./dtypes.js";
import { FormatError } from "../util/errors.js";
import { isLlama2cCheckpoint, readLlama2c, writeLlama2c } from "./llama2c.js";
import { isHFDirectory, readHFCheckpoint, saveHFCheckpoint } from "./hf.js";
import { hasGGUFMagic } from "./gguf.js";
import { readGGUFCheckpoint, writeGGUFCheckpoint } from "./gguf_llama.js";

export type CheckpointFormat = "hf" | "llama2c" | "gguf";

/** Number of model parameters (elements of every weight tensor; a tied head is not stored twice). */
export function parameterCount(checkpoint: Checkpoint): number {
  let n = 0;
  for (const t of checkpoint.tensors.values()) n += elementCount(t.shape);
  return n;
}

/** Which format `path` holds, or an error saying why it is none of them. */
export function detectFormat(path: string): CheckpointFormat {
  if (!existsSync(path)) throw new FormatError(path, "path", "no such file or directory");
  if (statSync(path).isDirectory()) {
    if (isHFDirectory(path)) return "hf";
    throw new FormatError(path, "config.json", "a checkpoint directory must contain config.json (Hugging Face layout)");
  }
  if (hasGGUFMagic(path)) return "gguf";
  if (isLlama2cCheckpoint(path)) return "llama2c";
  if (path.endsWith(".bin")) readLlama2c(path); // throws the precise reason the header is wrong
  if (path.endsWith(".safetensors")) {
    throw new FormatError(path, "format", "a bare .safetensors file has no config: load the directory that holds it with its config.json");
  }
  throw new FormatError(path, "format", "not a Hugging Face directory, a GGUF file or a llama2.c .bin checkpoint");
}

/** Reads a checkpoint in any supported format (tensors are read one at a time). */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  return loadCheckpointSync(path);
}

export function loadCheckpointSync(path: string): Checkpoint {
  switch (detectFormat(path)) {
    case "hf":
      return readHFCheckpoint(path);
    case "gguf":
      return readGGUFCheckpoint(path);
    case "llama2c": {
      const ck = readLlama2c(path);
      const tok = findLlama2cTokenizer(path);
      if (tok) ck.tokenizerPath = tok;
      return ck;
    }
  }
}

/** The tokenizer beside a llama2.c checkpoint: tokenizer.model, tok*.model, tokenizer.bin, tok*.bin. */
export function findLlama2cTokenizer(binPath: string): string | undefined {
  const dir = dirname(binPath);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  const self = basename(binPath);
  const pick = (exact: string, prefix: string, ext: string) =>
    names.includes(exact) ? exact : names.find((n) => n !== self && n.startsWith(prefix) && n.endsWith(ext));
  const found = pick("tokenizer.model", "tok", ".model") ?? pick("tokenizer.bin", "tok", ".bin");
  return found ? join(dir, found) : undefined;
}

export interface SaveCheckpointOptions {
  /** Float dtype of the weights (llama2.c is always F32). */
  dtype?: "F32" | "F16" | "BF16";
}

/** Writes a checkpoint in the given format: a directory for hf, a file for gguf / llama2c. */
export async function saveCheckpoint(
  path: string,
  checkpoint: Checkpoint,
  format: CheckpointFormat,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  saveCheckpointSync(path, checkpoint, format, options);
}

export function saveCheckpointSync(
  path: string,
  checkpoint: Checkpoint,
  format: CheckpointFormat,
  options: SaveCheckpointOptions = {},
): void {
  switch (format) {
    case "hf":
      return saveHFCheckpoint(path, checkpoint, options);
    case "gguf":
      return writeGGUFCheckpoint(path, checkpoint, options);
    case "llama2c":
      if (options.dtype && options.dtype !== "F32") throw new Error(`llama2.c checkpoints are float32 only (asked for ${options.dtype})`);
      return writeLlama2c(path, checkpoint);
  }
}
