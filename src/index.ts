// Public API of tsgpt. Each layer re-exports its own public names from its index file.
export * from "./tensor/index.js";
export * from "./tokenizer/index.js";
export * from "./formats/index.js";
export { createServer, type ServeOptions, type ServeHandle } from "./serve/index.js";
export {
  TextGenerator,
  DecoderModel,
  WebGPUDecoder,
  type GeneratorModel,
  KVCache,
  kvCacheEstimate,
  generate,
  generateBatch,
  stream,
  explainStep,
  processLogits,
  sampleToken,
  resolveGenerateOptions,
  getTemplate,
  encodeChat,
  templateForCheckpoint,
  repetitionPenalty,
  frequencyPenalty,
  presencePenalty,
  temperature,
  topK,
  topP,
  minP,
  StopStringFilter,
  TextStream,
  type GenerateOptions,
  type GenerationResult,
  type SamplingOptions,
  type PromptTemplate,
  type ChatMessage,
  type LogitsProcessor,
  type LogitsContext,
  type TokenEvent,
} from "./generate/index.js";
export * from "./nn/index.js";
export * from "./models/index.js";
export * from "./train/index.js";
export { IGNORE_INDEX } from "./models/index.js";
export { setNumThreads, getNumThreads, cpuFeatures } from "./backend/native.js";
export * as quant from "./quant/index.js";
export { QuantizedLinear } from "./quant/index.js";
export {
  perplexity,
  evaluateQuantization,
  tokenWindows,
  type PerplexityResult as DecoderPerplexityResult,
  type QuantizationEvalRow,
} from "./generate/index.js";
