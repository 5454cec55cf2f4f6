// Hugging Face checkpoint directories: what `from_pretrained` reads and `save_pretrained` writes.
//
//   config.json               architecture and sizes (LlamaForCausalLM / GPT2LMHeadModel)
//   model.safetensors         the weights, or model.safetensors.index.json + shards
//   generation_config.json    optional sampling defaults
//   tokenizer.model           optional SentencePiece model
//   tokenizer.json            or a Hugging Face tokenizers file (+ tokenizer_config.json)
//
// This file reads directories on disk and writes them; the reading itself (names, shards, GPT-2's
// transposed Conv1D weights) is hf_read.ts's, which a browser page uses on the files it was given.
import { architectureOf, isTransposedInFiles } from "../arch/index.js";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Checkpoint } from "./types.js";
import { FormatError } from "../util/errors.js";
import { writeSafetensors, type LazyTensor, type TensorSource } from "./safetensors.js";
import { hfConfigJson } from "./hf_config.js";
import { QUANT_BLOCKS, convertFloat } from "./dtypes.js";
import { copyFileAtomic, writeBytesAtomic } from "../util/atomic_write.js";
import { BinaryFile } from "./binary.js";
import type { ByteSource } from "./byte_source.js";
import type { FileSet } from "./file_set.js";
import { findTokenizerName, readHFCheckpointFrom, transpose2d } from "./hf_read.js";

export { transpose2d } from "./hf_read.js";

/** True when `dir` looks like a Hugging Face checkpoint directory (has config.json). */
export function isHFDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() && existsSync(join(dir, "config.json"));
  } catch {
    return false;
  }
}

/** A directory on disk as a FileSet: files are opened (and read at offsets) only when asked for. */
export class DirectoryFiles implements FileSet {
  constructor(readonly path: string) {}

  has(name: string): boolean {
    return existsSync(join(this.path, name));
  }

  names(): string[] {
    try {
      return readdirSync(this.path).sort();
    } catch {
      return [];
    }
  }

  pathOf(name: string): string {
    return join(this.path, name);
  }

  text(name: string): string {
    const path = this.pathOf(name);
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new FormatError(path, "file", `cannot read (${(err as Error).message})`);
    }
  }

  open(name: string): ByteSource {
    return new BinaryFile(this.pathOf(name));
  }
}

/** Reads a Hugging Face checkpoint directory, tensor by tensor (dtypes kept as stored). */
export function readHFCheckpoint(dir: string): Checkpoint {
  const ck = readHFCheckpointFrom(new DirectoryFiles(dir));
  const tok = findTokenizer(dir);
  if (tok) ck.tokenizerPath = tok;
  return ck;
}

/** tokenizer.model, else a single other *.model file, else tokenizer.json, else tokenizer.bin, in `dir`. */
export function findTokenizer(dir: string): string | undefined {
  const name = findTokenizerName(new DirectoryFiles(dir));
  return name === undefined ? undefined : join(dir, name);
}

export interface SaveHFOptions {
  /** Store float weights in this dtype; by default each tensor keeps its own. */
  dtype?: "F32" | "F16" | "BF16";
}

const TORCH_DTYPES = { F32: "float32", F16: "float16", BF16: "bfloat16" } as const;

/**
 * Writes a Hugging Face checkpoint directory (created if needed): config.json, model.safetensors,
 * generation_config.json and a copy of the tokenizer. Each file is written atomically.
 */
export function saveHFCheckpoint(dir: string, checkpoint: Checkpoint, options: SaveHFOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const config = checkpoint.config;
  const tied = architectureOf(config).layout(config).tiedEmbeddings;
  const entries: Array<[string, TensorSource]> = [];
  const counts = { F32: 0, F16: 0, BF16: 0 };
  for (const [name, t] of checkpoint.tensors) {
    if (name === "lm_head.weight" && tied) continue; // shared with the embedding; HF re-ties it on load
    if (QUANT_BLOCKS[t.dtype])
      throw new Error(`tensor ${name} is ${t.dtype}: Hugging Face safetensors hold F32 / F16 / BF16 weights (dequantize first)`);
    const isFloat = t.dtype === "F32" || t.dtype === "F16" || t.dtype === "BF16";
    const dtype = isFloat && options.dtype ? options.dtype : t.dtype;
    if (dtype === "F32" || dtype === "F16" || dtype === "BF16") counts[dtype]++;
    const conv1d = isTransposedInFiles(config, name);
    const shape = conv1d ? [t.shape[1]!, t.shape[0]!] : [...t.shape];
    // Conversion and transposition happen when the writer reaches the tensor, one at a time.
    const lazy: LazyTensor = {
      dtype,
      shape,
      load: () => {
        let out = dtype === t.dtype ? t : convertFloat(t, dtype as "F32" | "F16" | "BF16");
        if (conv1d) out = transpose2d(out);
        return out.data;
      },
    };
    entries.push([name, lazy]);
  }
  const main = (Object.keys(counts) as Array<keyof typeof counts>).reduce((a, b) => (counts[b] > counts[a] ? b : a), "F32");
  writeSafetensors(join(dir, "model.safetensors"), entries, { format: "pt" });
  writeBytesAtomic(join(dir, "config.json"), JSON.stringify(hfConfigJson(config, TORCH_DTYPES[main]), null, 2) + "\n");
  const gen = {
    bos_token_id: config.bos_token_id,
    eos_token_id: config.eos_token_id,
    pad_token_id: config.pad_token_id,
    ...checkpoint.generation,
  };
  writeBytesAtomic(join(dir, "generation_config.json"), JSON.stringify(gen, null, 2) + "\n");
  const tok = checkpoint.tokenizerPath;
  if (tok && tok.endsWith(".model")) {
    const dest = join(dir, "tokenizer.model");
    if (!existsSync(dest) || statSync(dest).ino !== statSync(tok).ino) copyFileAtomic(tok, dest);
  }
  if (tok && basename(tok) === "tokenizer.json") {
    // A Hugging Face tokenizer travels with its settings (special tokens, chat template).
    for (const name of ["tokenizer.json", "tokenizer_config.json"]) {
      const src = join(dirname(tok), name),
        dest = join(dir, name);
      if (existsSync(src) && (!existsSync(dest) || statSync(dest).ino !== statSync(src).ino)) copyFileAtomic(src, dest);
    }
  }
}
