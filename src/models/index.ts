// Public API of the models: the transformer built from an architecture description (GPT-2,
// Llama, …), configs, presets, checkpoint conversion.
export { GPT2LMHeadModel, GPT2Model, GPT2Block, GPT2Attention } from "./gpt2.js";
export { LlamaForCausalLM, LlamaModel, LlamaDecoderLayer } from "./llama.js";
export { TransformerLM, TransformerBlock } from "./transformer.js";
export type { TransformerOptions } from "./transformer.js";
export { IGNORE_INDEX, causalLMLoss } from "./causal_lm.js";
export type { CausalLM, CausalLMOutput, ForwardOptions } from "./causal_lm.js";
export { ConfigError, configFromJSON, validateConfig, contextLength } from "./config.js";
export type { GPT2Config, LlamaConfig, ModelConfig } from "./config.js";
export { presetConfig, presetNames } from "./presets.js";
export type { PresetOverrides } from "./presets.js";
export { createModel, modelFromPreset } from "./create.js";
export type { CreateModelOptions } from "./create.js";
export { modelFromCheckpoint, modelToCheckpoint, storedToTensor } from "./checkpoint.js";
export type { ModelFromCheckpointOptions } from "./checkpoint.js";
