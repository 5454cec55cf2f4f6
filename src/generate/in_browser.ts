// Generation inside a web page, on the page's GPU (navigator.gpu): what the static page
// src/serve/static/gpu.html loads. A GGUF file the user picked is parsed from its bytes (the
// weights and the tokenizer vocabulary it carries), uploaded to the GPU, and decoded there: the
// server does no work. Imports no Node module (test/generate/browser_imports.test.ts checks).
//
//   const model = await loadGGUFInBrowser(new Uint8Array(await file.arrayBuffer()), file.name);
//   for await (const piece of model.stream("Once upon a time", { temperature: 0 })) out.append(piece);
import { MemoryBytes } from "../formats/byte_source.js";
import { GGUFSourceReader, hasGGUFMagicBytes } from "../formats/gguf_reader.js";
import { checkpointFromGGUF } from "../formats/gguf_llama_read.js";
import { tokenizerForCheckpoint } from "../formats/gguf_tokenizer.js";
import { WebGPUDecoder } from "./webgpu_decoder.js";
import { optionsFromGenerationConfig, stream, type GenerateOptions, type GenerationResult } from "./generate.js";
import type { TextStream } from "./stream.js";
import type { SentencePieceCore } from "../tokenizer/processor_core.js";

export interface BrowserModel {
  model: WebGPUDecoder;
  tokenizer: SentencePieceCore;
  /** Defaults from the file (eos id, generation settings). */
  defaults: GenerateOptions;
  /** Streams the continuation of `prompt`; `.result` resolves with the ids and text. */
  stream(prompt: string, options?: GenerateOptions): TextStream<GenerationResult>;
  destroy(): void;
}

/** Parses a GGUF's bytes (weights and embedded vocabulary) and uploads the model to the page's GPU. */
export async function loadGGUFInBrowser(bytes: Uint8Array, name: string): Promise<BrowserModel> {
  const source = new MemoryBytes(bytes, name);
  if (!hasGGUFMagicBytes(source)) throw new Error(`${name}: not a GGUF file (it does not start with "GGUF")`);
  const ckpt = checkpointFromGGUF(GGUFSourceReader.fromSource(source));
  if (!ckpt.vocab) throw new Error(`${name}: this GGUF carries no tokenizer vocabulary (tokenizer.ggml.*)`);
  const tokenizer = tokenizerForCheckpoint(ckpt);
  const model = await WebGPUDecoder.load(ckpt);
  const defaults = optionsFromGenerationConfig(ckpt.generation);
  if (defaults.eosTokenId === undefined && ckpt.vocab.eosId !== undefined) defaults.eosTokenId = ckpt.vocab.eosId;
  return {
    model,
    tokenizer,
    defaults,
    stream: (prompt, options = {}) => stream(model, tokenizer, prompt, { ...defaults, ...options }),
    destroy: () => model.destroy(),
  };
}
