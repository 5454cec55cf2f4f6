// Public API of text generation: sampling, the inference model with its KV cache, the
// generation loop, streaming and prompt templates.
// argmax / softmax / logSoftmax here work on plain Float32Array logits; the tensor library has
// Tensor functions of the same names, so src/index.ts re-exports this module by explicit names.
export {
  SAMPLING_DEFAULTS,
  resolveSamplingOptions,
  isGreedy,
  processLogits,
  sampleToken,
  argmax,
  softmax,
  logSoftmax,
  topLogprobs,
  repetitionPenalty,
  frequencyPenalty,
  presencePenalty,
  temperature,
  topK,
  topP,
  minP,
  drawFromProbabilities,
  penalizeLogits,
  applyLogitsProcessors,
  logitsContext,
  type SamplingOptions,
  type ResolvedSamplingOptions,
  type UniformSource,
  type LogitsProcessor,
  type LogitsContext,
  type TokenHistory,
  type PreviousTokens,
} from "./sampling.js";
export { explainStep, type ExplainedStep, type ExplainedCandidate, type ExplainOptions, type CutBy } from "./explain.js";
export { KVCache, kvCacheEstimate, type KVCacheShape, type KVCacheEstimate } from "./kv_cache.js";
export { DecoderModel, type DecoderDims, type InferenceModel, type DecoderOptions } from "./decoder.js";
export { halfLinear, halfEmbedding, type HalfMatrix, type HalfLinearBackend } from "./half_matmul.js";
export {
  generate,
  generateBatch,
  stream,
  generationLoop,
  resolveGenerateOptions,
  optionsFromGenerationConfig,
  describeSettings,
  GENERATE_DEFAULTS,
  type GenerateOptions,
  type ResolvedGenerateOptions,
  type GenerationResult,
  type GenerationEvent,
  type TokenLogprob,
  type FinishReason,
  type GenerationTokenizer,
  type TokenEvent,
  type GenerationModel,
  type GenerationCache,
  type DeviceGreedyChoice,
  GREEDY_IN_FLIGHT,
} from "./generate.js";
export { StopStringFilter, TextStream } from "./stream.js";
export { TextGenerator, type LoadOptions, type GeneratorModel } from "./text_generator.js";
export { WebGPUDecoder, WebGPUKVCache, type WebGPUDecoderOptions, type GreedyChoice } from "./webgpu_decoder.js";
export {
  TEMPLATES,
  getTemplate,
  detectTemplate,
  templateForCheckpoint,
  encodeChat,
  jinjaPromptTemplate,
  llama2Template,
  alpacaTemplate,
  vicunaTemplate,
  type PromptTemplate,
  type TemplateName,
  type ChatMessage,
  type PromptSegment,
  type Role,
  type ChatTokenizer,
} from "./templates.js";
export { quantLinear, quantEmbedding, prepareQuantMatrix, type QuantMatrix } from "./quant_linear.js";
export { perplexity, evaluateQuantization, tokenWindows, type PerplexityResult, type QuantizationEvalRow } from "./perplexity.js";
