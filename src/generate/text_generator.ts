// TextGenerator: a checkpoint, its tokenizer and its generation defaults in one object.
//
//   const gen = await TextGenerator.load("stories260K.bin", { tokenizerPath: "tok512.model" });
//   const { text } = await gen.generate("Once upon a time", { temperature: 0 });
//   for await (const piece of gen.stream("Once upon a time", { seed: 1 })) process.stdout.write(piece);
//
// Options given to a call override the checkpoint's generation_config.json, which overrides
// the library defaults (sampling.ts, generate.ts).
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Checkpoint } from "../formats/types.js";
import { loadCheckpoint } from "../formats/load.js";
import { mergeAdapter, readAdapter } from "../formats/peft.js";
import { dequantize } from "../quant/quantize.js";
import { isQuantDType } from "../quant/types.js";
import { tokenizerForCheckpoint } from "../formats/gguf_tokenizer.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import { DecoderModel } from "./decoder.js";
import { WebGPUDecoder } from "./webgpu_decoder.js";
import type { GpuContext } from "../backend/webgpu/context.js";
import {
  generate,
  generateBatch,
  optionsFromGenerationConfig,
  stream,
  type GenerateOptions,
  type GenerationResult,
  type GenerationModel,
  type GenerationTokenizer,
} from "./generate.js";
import type { TextStream } from "./stream.js";

export interface LoadOptions {
  /** A SentencePiece .model, a tokenizer.json (or GPT-2 vocab.json); default: the checkpoint's own, or one beside the weights. */
  tokenizerPath?: string;
  /** A PEFT LoRA adapter directory, merged into the weights at load. */
  adapter?: string;
  /**
   * Where the model runs: "cpu" (default; DecoderModel on the current backend) or "webgpu"
   * (WebGPUDecoder: weights and KV cache in GPU memory; an error when no adapter is found).
   */
  device?: "cpu" | "webgpu";
  /** With device "webgpu": an already open device (openWebGPU); default: the default adapter's. */
  gpu?: GpuContext;
}

/** The model of a TextGenerator: DecoderModel on the CPU, WebGPUDecoder on the GPU. */
export type GeneratorModel = DecoderModel | WebGPUDecoder;

export class TextGenerator<M extends GeneratorModel = DecoderModel> {
  constructor(
    readonly model: M,
    readonly tokenizer: GenerationTokenizer,
    /** Defaults from the checkpoint (generation_config.json and config eos id). */
    readonly defaults: GenerateOptions = {},
  ) {}

  /** Loads a checkpoint (HF directory, llama2.c .bin, …) and its tokenizer (SentencePiece or tokenizer.json). */
  static load(modelPath: string, options?: LoadOptions & { device?: "cpu" }): Promise<TextGenerator<DecoderModel>>;
  static load(modelPath: string, options: LoadOptions & { device: "webgpu" }): Promise<TextGenerator<WebGPUDecoder>>;
  static load(modelPath: string, options: LoadOptions): Promise<TextGenerator<GeneratorModel>>;
  static async load(modelPath: string, options: LoadOptions = {}): Promise<TextGenerator<GeneratorModel>> {
    if (options.device !== undefined && options.device !== "cpu" && options.device !== "webgpu")
      throw new TypeError(`device: expected "cpu" or "webgpu", got ${JSON.stringify(options.device)}`);
    const ckpt = await loadCheckpoint(modelPath);
    if (options.adapter) mergeAdapterInto(ckpt, options.adapter);
    const tokenizer = tokenizerFor(ckpt, modelPath, options.tokenizerPath);
    if (options.device === "webgpu") return TextGenerator.fromCheckpointWebGPU(ckpt, tokenizer, options.gpu);
    return TextGenerator.fromCheckpoint(ckpt, tokenizer);
  }

  /** `load` with the model on the GPU (WebGPU): its weights and KV cache live in GPU memory. */
  static loadWebGPU(modelPath: string, options: Omit<LoadOptions, "device"> = {}): Promise<TextGenerator<WebGPUDecoder>> {
    return TextGenerator.load(modelPath, { ...options, device: "webgpu" });
  }

  /** Builds a generator from an already loaded checkpoint and tokenizer. */
  static fromCheckpoint(ckpt: Checkpoint, tokenizer: GenerationTokenizer): TextGenerator<DecoderModel> {
    const model = DecoderModel.fromCheckpoint(ckpt);
    checkVocab(ckpt, tokenizer, model.dims.vocabSize);
    return new TextGenerator(model, tokenizer, optionsFromGenerationConfig(ckpt.generation));
  }

  /** fromCheckpoint with the weights uploaded to the GPU (WebGPUDecoder). */
  static async fromCheckpointWebGPU(
    ckpt: Checkpoint,
    tokenizer: GenerationTokenizer,
    gpu?: GpuContext,
  ): Promise<TextGenerator<WebGPUDecoder>> {
    const model = await WebGPUDecoder.load(ckpt, gpu ? { gpu } : {});
    try {
      checkVocab(ckpt, tokenizer, model.dims.vocabSize);
    } catch (e) {
      model.destroy();
      throw e;
    }
    return new TextGenerator(model, tokenizer, optionsFromGenerationConfig(ckpt.generation));
  }

  /** Frees what the model holds outside the JS heap (GPU memory and device); a CPU model needs nothing. */
  destroy(): void {
    if (this.model instanceof WebGPUDecoder) this.model.destroy();
  }

  /** The model as the generation loop sees it (both kinds have what it needs). */
  private get generationModel(): GenerationModel {
    return this.model;
  }

  /** Defaults merged under the call's options. */
  options(options: GenerateOptions = {}): GenerateOptions {
    const merged: GenerateOptions = { ...this.defaults };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
    return merged;
  }

  generate(prompt: string | readonly number[], options?: GenerateOptions): Promise<GenerationResult> {
    return generate(this.generationModel, this.tokenizer, prompt, this.options(options));
  }

  generateBatch(prompts: readonly (string | readonly number[])[], options?: GenerateOptions): Promise<GenerationResult[]> {
    return generateBatch(this.generationModel, this.tokenizer, prompts, this.options(options));
  }

  stream(prompt: string | readonly number[], options?: GenerateOptions): TextStream<GenerationResult> {
    return stream(this.generationModel, this.tokenizer, prompt, this.options(options));
  }
}

/** The tokenizer to generate with: the path given, else one found beside the weights, else the GGUF's own vocabulary. */
function tokenizerFor(ckpt: Checkpoint, modelPath: string, given: string | undefined): GenerationTokenizer {
  const tokPath = given ?? findTokenizer(ckpt, modelPath);
  // A GGUF carries its vocabulary: use it when no .model was given or found.
  if (!tokPath && ckpt.vocab) return tokenizerForCheckpoint(ckpt);
  if (!tokPath) {
    throw new Error(
      `${modelPath}: no tokenizer (tokenizer.model / tokenizer.json) found beside the weights; pass one with --tokenizer / tokenizerPath`,
    );
  }
  if (tokPath.endsWith(".bin")) {
    throw new Error(`${tokPath}: a llama2.c tokenizer.bin cannot be used for generation; pass the SentencePiece .model it was made from`);
  }
  return loadTokenizer(tokPath);
}

function checkVocab(ckpt: Checkpoint, tokenizer: GenerationTokenizer, modelVocab: number): void {
  const vocab = tokenizer.vocabSize;
  if (vocab !== undefined && vocab > modelVocab) {
    throw new Error(`${ckpt.source.path}: the tokenizer has ${vocab} pieces but the model only ${modelVocab} embeddings`);
  }
}

/** The checkpoint's tokenizer, else tokenizer.model, tok<vocab>.model (llama2.c's naming) or tokenizer.json beside the weights. */
function findTokenizer(ckpt: Checkpoint, modelPath: string): string | undefined {
  if (ckpt.tokenizerPath && !ckpt.tokenizerPath.endsWith(".bin")) return ckpt.tokenizerPath;
  const dir = existsSync(modelPath) && statSync(modelPath).isDirectory() ? modelPath : dirname(modelPath);
  const stem = basename(modelPath).replace(/\.[^.]*$/, "");
  const candidates = ["tokenizer.model", `${stem}.model`, `tok${ckpt.config.vocab_size}.model`, "tokenizer.json"];
  for (const c of candidates) {
    const p = join(dir, c);
    if (existsSync(p)) return p;
  }
  return ckpt.tokenizerPath; // may be a .bin: load() explains
}

/**
 * Merges a PEFT LoRA adapter into the checkpoint's weights. LoRA adds B·A in float, so a
 * quantized weight that the adapter changes is dequantized first (it then stays f32); the
 * weights the adapter leaves alone stay quantized.
 */
function mergeAdapterInto(ckpt: Checkpoint, adapterDir: string): void {
  const adapter = readAdapter(adapterDir);
  for (const module of adapter.layers.keys()) {
    const name = `${module}.weight`;
    const w = ckpt.tensors.get(name);
    if (w && isQuantDType(w.dtype)) ckpt.tensors.set(name, dequantize(w));
  }
  mergeAdapter(ckpt, adapter);
}
