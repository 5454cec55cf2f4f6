// Generation inside a web page, on the page's GPU (navigator.gpu): what the static page
// src/serve/static/gpu.html loads. The user picks a checkpoint — a GGUF file, or a Hugging Face
// folder (config.json, model.safetensors or shards with their index, tokenizer.model or
// tokenizer.json) — the page reads it, parses it here, uploads it to the GPU and decodes there:
// the server does no work. Imports no Node module (test/generate/browser_imports.test.ts checks).
//
//   const model = await loadPickedFiles([...input.files], "my-model");   // a File has what is needed
//   for await (const piece of model.stream("Once upon a time", { temperature: 0 })) out.append(piece);
import { MemoryBytes } from "../formats/byte_source.js";
import { GGUFSourceReader, hasGGUFMagicBytes } from "../formats/gguf_reader.js";
import { checkpointFromGGUF } from "../formats/gguf_llama_read.js";
import { tokenizerForCheckpoint } from "../formats/gguf_tokenizer.js";
import { MemoryFiles, type FileSet } from "../formats/file_set.js";
import { SINGLE_WEIGHTS, WEIGHT_INDEX, findTokenizerName, readHFCheckpointShardByShard } from "../formats/hf_read.js";
import type { Checkpoint } from "../formats/types.js";
import { FormatError } from "../util/errors.js";
import { SentencePieceCore } from "../tokenizer/processor_core.js";
import { HFTokenizerCore, parseTokenizerJson } from "../tokenizer/hf/hf_tokenizer_core.js";
import { WebGPUDecoder, type WebGPUDecoderOptions } from "./webgpu_decoder.js";
import { optionsFromGenerationConfig, stream, type GenerateOptions, type GenerationResult, type GenerationTokenizer } from "./generate.js";
import type { TextStream } from "./stream.js";

/** A file the page was given: a browser File has both (a test may pass anything alike). */
export interface PickedFile {
  readonly name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The tokenizers a page can build: SentencePiece (.model, a GGUF's vocabulary) or tokenizer.json. */
export type BrowserTokenizer = SentencePieceCore | HFTokenizerCore;

export interface BrowserModel {
  model: WebGPUDecoder;
  tokenizer: BrowserTokenizer;
  /** Which checkpoint format was loaded. */
  format: "gguf" | "hf";
  /** Defaults from the checkpoint (eos id, generation settings). */
  defaults: GenerateOptions;
  /** Streams the continuation of `prompt`; `.result` resolves with the ids and text. */
  stream(prompt: string, options?: GenerateOptions): TextStream<GenerationResult>;
  destroy(): void;
}

/** The files of a Hugging Face folder a page reads besides the weights (those it has). */
const SMALL_FILES = ["config.json", "generation_config.json", WEIGHT_INDEX, "tokenizer_config.json"];

/**
 * Loads what the user picked: a Hugging Face folder when the files include config.json, else a
 * single GGUF file (alone, or the only .gguf among the files). `folder` names the folder in
 * messages. Only the files the checkpoint needs are read. `options.gpu`: an open device to use
 * (default: the page's adapter).
 */
export async function loadPickedFiles(
  files: readonly PickedFile[],
  folder: string,
  options: WebGPUDecoderOptions = {},
): Promise<BrowserModel> {
  if (files.length === 0) throw new Error("no file was picked");
  if (files.some((f) => f.name === "config.json")) return loadHFInBrowser(files, folder, options);
  const ggufs = files.filter((f) => f.name.toLowerCase().endsWith(".gguf"));
  const one = files.length === 1 ? files[0]! : ggufs.length === 1 ? ggufs[0]! : undefined;
  if (one) return loadGGUFInBrowser(new Uint8Array(await one.arrayBuffer()), one.name, options);
  const names = files
    .map((f) => f.name)
    .slice(0, 8)
    .join(", ");
  throw new FormatError(
    folder,
    "config.json",
    `not found: pick a GGUF file, or a Hugging Face folder with config.json, model.safetensors and a tokenizer (the folder has ${names}${files.length > 8 ? ", …" : ""})`,
  );
}

/** Parses a GGUF's bytes (weights and embedded vocabulary) and uploads the model to the page's GPU. */
export async function loadGGUFInBrowser(bytes: Uint8Array, name: string, options: WebGPUDecoderOptions = {}): Promise<BrowserModel> {
  const source = new MemoryBytes(bytes, name);
  if (!hasGGUFMagicBytes(source)) throw new Error(`${name}: not a GGUF file (it does not start with "GGUF")`);
  const ckpt = checkpointFromGGUF(GGUFSourceReader.fromSource(source));
  if (!ckpt.vocab) throw new Error(`${name}: this GGUF carries no tokenizer vocabulary (tokenizer.ggml.*)`);
  const tokenizer = tokenizerForCheckpoint(ckpt);
  const defaults = optionsFromGenerationConfig(ckpt.generation);
  if (defaults.eosTokenId === undefined && ckpt.vocab.eosId !== undefined) defaults.eosTokenId = ckpt.vocab.eosId;
  return browserModel(ckpt, tokenizer, defaults, "gguf", options);
}

/**
 * Reads a Hugging Face folder's files (those directly in it: config.json, the weights, the
 * tokenizer, generation_config.json, tokenizer_config.json), parses them as `tsgpt` does a
 * directory on disk, and uploads the model to the page's GPU.
 */
export async function loadHFInBrowser(
  files: readonly PickedFile[],
  folder: string,
  options: WebGPUDecoderOptions = {},
): Promise<BrowserModel> {
  const byName = new Map<string, PickedFile>();
  for (const f of files) {
    if (byName.has(f.name)) throw new FormatError(`${folder}/${f.name}`, "file", "picked twice (pick one folder's files)");
    byName.set(f.name, f);
  }
  const contents = new Map<string, Uint8Array>();
  const set = new MemoryFiles(folder, byName.keys(), contents);
  if (!set.has("config.json"))
    throw new FormatError(folder, "config.json", "not found: a Hugging Face checkpoint folder needs config.json");
  const read = async (name: string): Promise<void> => {
    const f = byName.get(name);
    if (f && !contents.has(name)) contents.set(name, new Uint8Array(await f.arrayBuffer()));
  };
  const tokenizerName = findTokenizerName(set);
  if (tokenizerName === undefined || tokenizerName.endsWith(".bin")) {
    throw new FormatError(
      folder,
      "tokenizer",
      tokenizerName === undefined
        ? "no tokenizer.model or tokenizer.json in the folder"
        : `${tokenizerName} is a llama2.c tokenizer, which cannot be used for generation: add the SentencePiece .model it was made from`,
    );
  }
  for (const name of [...SMALL_FILES, tokenizerName]) await read(name);
  const tokenizer = tokenizerFromFiles(set, tokenizerName);
  if (!set.has(WEIGHT_INDEX)) await read(SINGLE_WEIGHTS); // without an index, its tensor list is in the file
  // One weight file in memory at a time: the tensors read from it are copies, so its bytes can go.
  const ckpt = await readHFCheckpointShardByShard(set, { before: read, after: (name) => contents.delete(name) });
  contents.clear();
  return browserModel(ckpt, tokenizer, optionsFromGenerationConfig(ckpt.generation), "hf", options);
}

/** The folder's tokenizer: a SentencePiece .model, or tokenizer.json with tokenizer_config.json when present. */
function tokenizerFromFiles(files: FileSet, name: string): BrowserTokenizer {
  if (name.endsWith(".model")) {
    const source = files.open(name);
    return SentencePieceCore.fromBytes(source.read(0, source.size, "model"), files.pathOf(name));
  }
  const json = parseTokenizerJson(files.text(name), files.pathOf(name));
  const configName = "tokenizer_config.json";
  const config = files.has(configName) ? parseTokenizerJson(files.text(configName), files.pathOf(configName)) : {};
  return new HFTokenizerCore(json, config, files.pathOf(name));
}

/** Uploads the checkpoint to the GPU; the tokenizer must not have more pieces than the model has embeddings. */
async function browserModel(
  ckpt: Checkpoint,
  tokenizer: BrowserTokenizer,
  defaults: GenerateOptions,
  format: BrowserModel["format"],
  options: WebGPUDecoderOptions,
): Promise<BrowserModel> {
  const model = await WebGPUDecoder.load(ckpt, options);
  if (tokenizer.vocabSize > model.dims.vocabSize) {
    model.destroy();
    throw new Error(
      `${ckpt.source.path}: the tokenizer has ${tokenizer.vocabSize} pieces but the model only ${model.dims.vocabSize} embeddings`,
    );
  }
  const tok: GenerationTokenizer = tokenizer;
  return {
    model,
    tokenizer,
    format,
    defaults,
    stream: (prompt, options = {}) => stream(model, tok, prompt, { ...defaults, ...options }),
    destroy: () => model.destroy(),
  };
}
