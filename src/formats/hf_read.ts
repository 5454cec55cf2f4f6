// Reading a Hugging Face checkpoint directory from a FileSet (a folder on disk, or the files a
// browser page was given): config.json, the weights (model.safetensors, or
// model.safetensors.index.json and its shards) and generation_config.json. Imports no Node
// module; hf.ts reads directories on disk through it and writes them (its header has the layout).
//
// GPT-2 weights: Hugging Face's GPT-2 uses `Conv1D` layers whose weight is stored (in, out),
// the transpose of nn.Linear. Inside tsgpt every linear weight is (out, in), so the c_attn,
// c_proj and c_fc weights are transposed on load (and back on save). GPT-2 files may also omit
// the `transformer.` prefix and carry causal-mask buffers (`attn.bias`, `attn.masked_bias`);
// names are normalised to GPT2LMHeadModel's and the buffers are dropped.
import { architectureOf, canonicalName as archCanonicalName, isTransposedInFiles, parseModelConfig } from "../arch/index.js";
import type { Checkpoint, ModelConfig, StoredTensor } from "./types.js";
import { FormatError } from "../util/errors.js";
import type { FileSet } from "./file_set.js";
import { SafetensorsSourceReader } from "./safetensors_reader.js";
import { generationConfigFromJson, parseJsonObject, type Json } from "./hf_json.js";
import { bytesOf, viewAs } from "./dtypes.js";

export const SINGLE_WEIGHTS = "model.safetensors";
export const WEIGHT_INDEX = "model.safetensors.index.json";

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

/** A JSON file of the folder as an object. */
export function readJsonFile(files: FileSet, name: string): Json {
  return parseJsonObject(files.text(name), files.pathOf(name));
}

/** The index's tensor name → shard file name, each shard a plain file name of the same folder. */
function indexedShards(files: FileSet): Map<string, string> {
  const index = files.pathOf(WEIGHT_INDEX);
  const map = readJsonFile(files, WEIGHT_INDEX).weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map))
    throw new FormatError(index, "weight_map", "expected an object mapping tensor names to shard files");
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    // Shards must be plain file names in this directory (an index is data, not a path to follow).
    if (typeof file !== "string" || /[/\\]/.test(file) || file === "." || file === ".." || !file.endsWith(".safetensors")) {
      throw new FormatError(
        index,
        `weight_map.${name}`,
        `expected a .safetensors file name in the same directory, got ${JSON.stringify(file)}`,
      );
    }
    out.set(name, file);
  }
  return out;
}

function noWeights(files: FileSet): never {
  const hint = files.has("pytorch_model.bin")
    ? " (pytorch_model.bin is a pickle, which tsgpt does not read: convert it to safetensors)"
    : "";
  throw new FormatError(files.path, SINGLE_WEIGHTS, `no model.safetensors or model.safetensors.index.json in the directory${hint}`);
}

/** The weight files of a directory: tensor name → safetensors file name. */
function weightFiles(files: FileSet): Map<string, string> {
  if (files.has(WEIGHT_INDEX)) return indexedShards(files);
  if (!files.has(SINGLE_WEIGHTS)) noWeights(files);
  const r = SafetensorsSourceReader.fromSource(files.open(SINGLE_WEIGHTS));
  try {
    return new Map(r.entries.map((e) => [e.name, SINGLE_WEIGHTS]));
  } finally {
    r.close();
  }
}

/** A tensor name as tsgpt uses it, or null for buffers that are not parameters (the architecture's rules). */
function canonicalName(config: ModelConfig, name: string, names: ReadonlySet<string>): string | null {
  if (architectureOf(config).ignoredTensors.some((re) => re.test(name))) return null;
  return archCanonicalName(config, name, names);
}

/** The model weights of one safetensors file, added to `tensors` under tsgpt's names. */
function readShard(
  files: FileSet,
  file: string,
  names: string[],
  config: ModelConfig,
  all: ReadonlySet<string>,
  tensors: Map<string, StoredTensor>,
): void {
  const path = files.pathOf(file);
  if (!files.has(file)) throw new FormatError(path, "shard", "listed in model.safetensors.index.json but missing");
  const r = SafetensorsSourceReader.fromSource(files.open(file));
  try {
    for (const name of names) {
      if (!r.has(name)) throw new FormatError(path, name, "listed in model.safetensors.index.json but not in this shard");
      const e = r.entry(name);
      const target = canonicalName(config, name, all);
      if (target === null) continue;
      if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16") {
        throw new FormatError(path, name, `dtype ${e.dtype} is not a weight dtype (expected F32, F16 or BF16)`);
      }
      let t = r.read(name);
      if (isTransposedInFiles(config, target)) t = transpose2d(t);
      if (tensors.has(target)) throw new FormatError(path, name, `tensor ${target} appears twice`);
      tensors.set(target, t);
    }
  } finally {
    r.close();
  }
}

/** What reading a checkpoint needs before its weights: the config, and which tensors each weight file holds. */
interface HFReadPlan {
  config: ModelConfig;
  /** Weight file → the tensor names it holds, in the order the files are read. */
  byFile: Map<string, string[]>;
  all: ReadonlySet<string>;
}

function planRead(files: FileSet): HFReadPlan {
  if (!files.has("config.json"))
    throw new FormatError(files.path, "config.json", "not found: a Hugging Face checkpoint directory needs config.json");
  const config = parseModelConfig(readJsonFile(files, "config.json"), files.pathOf("config.json"));
  const byTensor = weightFiles(files);
  const byFile = new Map<string, string[]>();
  for (const [name, file] of byTensor) byFile.set(file, [...(byFile.get(file) ?? []), name]);
  return { config, byFile, all: new Set(byTensor.keys()) };
}

function finishRead(files: FileSet, config: ModelConfig, tensors: Map<string, StoredTensor>): Checkpoint {
  const ck: Checkpoint = { config, tensors, source: { path: files.path, format: "hf" } };
  const gen = "generation_config.json";
  if (files.has(gen)) ck.generation = generationConfigFromJson(readJsonFile(files, gen), files.pathOf(gen));
  return ck;
}

/** Reads a Hugging Face checkpoint from its files, tensor by tensor (dtypes kept as stored). */
export function readHFCheckpointFrom(files: FileSet): Checkpoint {
  const { config, byFile, all } = planRead(files);
  const tensors = new Map<string, StoredTensor>();
  for (const [file, names] of byFile) readShard(files, file, names, config, all, tensors);
  return finishRead(files, config, tensors);
}

/**
 * readHFCheckpointFrom with a wait before each weight file and a call after it, for files that
 * arrive asynchronously: a page reads each shard's bytes just before it is parsed and lets them
 * go after, so a sharded model never sits in memory twice. The index (or model.safetensors, when
 * there is no index) must be readable from the start.
 */
export async function readHFCheckpointShardByShard(
  files: FileSet,
  hooks: { before(file: string): Promise<void>; after(file: string): void },
): Promise<Checkpoint> {
  const { config, byFile, all } = planRead(files);
  const tensors = new Map<string, StoredTensor>();
  for (const [file, names] of byFile) {
    await hooks.before(file);
    readShard(files, file, names, config, all, tensors);
    hooks.after(file);
  }
  return finishRead(files, config, tensors);
}

/** The folder's tokenizer file: tokenizer.model, else a single other *.model (tok* first), else tokenizer.json, else tokenizer.bin. */
export function findTokenizerName(files: FileSet): string | undefined {
  if (files.has("tokenizer.model")) return "tokenizer.model";
  const names = files.names();
  const models = names.filter((n) => n.endsWith(".model")).sort();
  if (models.length > 0) return models.find((n) => n.startsWith("tok")) ?? models[0]!;
  if (names.includes("tokenizer.json")) return "tokenizer.json";
  if (names.includes("tokenizer.bin")) return "tokenizer.bin";
  return undefined;
}
