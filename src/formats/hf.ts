// Hugging Face checkpoint directories: what `from_pretrained` reads and `save_pretrained` writes.
//
//   config.json               architecture and sizes (LlamaForCausalLM / GPT2LMHeadModel)
//   model.safetensors         the weights, or model.safetensors.index.json + shards
//   generation_config.json    optional sampling defaults
//   tokenizer.model           optional SentencePiece model
//   tokenizer.json            or a Hugging Face tokenizers file (+ tokenizer_config.json)
//
// GPT-2 weights: Hugging Face's GPT-2 uses `Conv1D` layers whose weight is stored (in, out),
// the transpose of nn.Linear. Inside tsgpt every linear weight is (out, in), so the c_attn,
// c_proj and c_fc weights are transposed on load and transposed back on save. GPT-2 files may
// also omit the `transformer.` prefix and carry causal-mask buffers (`attn.bias`,
// `attn.masked_bias`); names are normalised to GPT2LMHeadModel's and the buffers are dropped.
import { architectureOf, canonicalName as archCanonicalName, isTransposedInFiles } from "../arch/index.js";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Checkpoint, ModelConfig, StoredTensor } from "./types.js";
import { FormatError } from "../util/errors.js";
import { SafetensorsReader, writeSafetensors, type LazyTensor, type TensorSource } from "./safetensors.js";
import { hfConfigJson, readGenerationConfig, readHFConfig, readJsonObject } from "./hf_config.js";
import { QUANT_BLOCKS, bytesOf, convertFloat, viewAs } from "./dtypes.js";
import { copyFileAtomic, writeBytesAtomic } from "../util/atomic_write.js";

/** True when `dir` looks like a Hugging Face checkpoint directory (has config.json). */
export function isHFDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() && existsSync(join(dir, "config.json"));
  } catch {
    return false;
  }
}

/** Swaps the two axes of a 2-D tensor of any element size (bytes are moved element by element). */
export function transpose2d(t: StoredTensor): StoredTensor {
  if (t.shape.length !== 2) throw new RangeError(`transpose2d: expected a 2-D tensor, got shape [${t.shape.join(", ")}]`);
  const [rows, cols] = t.shape as [number, number];
  const src = bytesOf(t.data);
  const size = rows * cols === 0 ? 1 : src.length / (rows * cols);
  const dst = new Uint8Array(new ArrayBuffer(src.length));
  if (size === 4) {
    const s = new Uint32Array(src.buffer, src.byteOffset, rows * cols),
      d = new Uint32Array(dst.buffer);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) d[c * rows + r] = s[r * cols + c]!;
  } else if (size === 2) {
    const s = new Uint16Array(src.buffer, src.byteOffset, rows * cols),
      d = new Uint16Array(dst.buffer);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) d[c * rows + r] = s[r * cols + c]!;
  } else {
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) dst.set(src.subarray((r * cols + c) * size, (r * cols + c + 1) * size), (c * rows + r) * size);
  }
  return { dtype: t.dtype, shape: [cols, rows], data: viewAs(t.dtype, dst) };
}

/** The weight files of a directory: tensor name → safetensors file. */
function weightFiles(dir: string): Map<string, string> {
  const single = join(dir, "model.safetensors");
  const index = join(dir, "model.safetensors.index.json");
  if (existsSync(index)) {
    const json = readJsonObject(index);
    const map = json.weight_map;
    if (typeof map !== "object" || map === null || Array.isArray(map))
      throw new FormatError(index, "weight_map", "expected an object mapping tensor names to shard files");
    const out = new Map<string, string>();
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      // Shards must be plain file names in this directory (an index is data, not a path to follow).
      if (typeof file !== "string" || file !== basename(file) || file === "." || file === ".." || !file.endsWith(".safetensors")) {
        throw new FormatError(
          index,
          `weight_map.${name}`,
          `expected a .safetensors file name in the same directory, got ${JSON.stringify(file)}`,
        );
      }
      out.set(name, join(dir, file));
    }
    return out;
  }
  if (existsSync(single)) {
    const r = SafetensorsReader.open(single);
    try {
      return new Map(r.entries.map((e) => [e.name, single]));
    } finally {
      r.close();
    }
  }
  const hint = existsSync(join(dir, "pytorch_model.bin"))
    ? " (pytorch_model.bin is a pickle, which tsgpt does not read: convert it to safetensors)"
    : "";
  throw new FormatError(dir, "model.safetensors", `no model.safetensors or model.safetensors.index.json in the directory${hint}`);
}

/** A tensor name as tsgpt uses it, or null for buffers that are not parameters (the architecture's rules). */
function canonicalName(config: ModelConfig, name: string, names: ReadonlySet<string>): string | null {
  if (architectureOf(config).ignoredTensors.some((re) => re.test(name))) return null;
  return archCanonicalName(config, name, names);
}

/** Reads a Hugging Face checkpoint directory, tensor by tensor (dtypes kept as stored). */
export function readHFCheckpoint(dir: string): Checkpoint {
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath))
    throw new FormatError(dir, "config.json", "not found: a Hugging Face checkpoint directory needs config.json");
  const config = readHFConfig(configPath);
  const files = weightFiles(dir);
  const tensors = new Map<string, StoredTensor>();
  const byFile = new Map<string, string[]>();
  for (const [name, file] of files) byFile.set(file, [...(byFile.get(file) ?? []), name]);
  const allNames = new Set(files.keys());
  for (const [file, names] of byFile) {
    if (!existsSync(file)) throw new FormatError(file, "shard", "listed in model.safetensors.index.json but missing");
    const r = SafetensorsReader.open(file);
    try {
      for (const name of names) {
        if (!r.has(name)) throw new FormatError(file, name, "listed in model.safetensors.index.json but not in this shard");
        const e = r.entry(name);
        const target = canonicalName(config, name, allNames);
        if (target === null) continue;
        if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16") {
          throw new FormatError(file, name, `dtype ${e.dtype} is not a weight dtype (expected F32, F16 or BF16)`);
        }
        let t = r.read(name);
        if (isTransposedInFiles(config, target)) t = transpose2d(t);
        if (tensors.has(target)) throw new FormatError(file, name, `tensor ${target} appears twice`);
        tensors.set(target, t);
      }
    } finally {
      r.close();
    }
  }
  const ck: Checkpoint = { config, tensors, source: { path: dir, format: "hf" } };
  const tok = findTokenizer(dir);
  if (tok) ck.tokenizerPath = tok;
  const gen = join(dir, "generation_config.json");
  if (existsSync(gen)) ck.generation = readGenerationConfig(gen);
  return ck;
}

/** tokenizer.model, else a single other *.model file, else tokenizer.json, else tokenizer.bin, in `dir`. */
export function findTokenizer(dir: string): string | undefined {
  const first = join(dir, "tokenizer.model");
  if (existsSync(first)) return first;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const models = names.filter((n) => n.endsWith(".model")).sort();
  if (models.length > 0) return join(dir, models.find((n) => n.startsWith("tok")) ?? models[0]!);
  if (names.includes("tokenizer.json")) return join(dir, "tokenizer.json");
  if (names.includes("tokenizer.bin")) return join(dir, "tokenizer.bin");
  return undefined;
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
