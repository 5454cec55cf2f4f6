// Public API of the neural-network layers.
export { Module, ModuleDict, ModuleList, Parameter, parameter, initEmptyWeights, buildingEmptyWeights } from "./module.js";
export type { ParameterOptions, LoadStateDictOptions, LoadStateDictResult } from "./module.js";
export { normalInit } from "./init.js";
export type { InitOptions } from "./init.js";
export { Linear } from "./linear.js";
export type { LinearOptions } from "./linear.js";
export { Embedding } from "./embedding.js";
export { LayerNorm } from "./layer_norm.js";
export type { LayerNormOptions } from "./layer_norm.js";
export { RMSNorm } from "./rms_norm.js";
export { RotaryEmbedding } from "./rope.js";
export {
  SelfAttention,
  attentionContext,
  maskedCausalSoftmax,
  packedCausalAttention,
  scaledDotProductAttention,
} from "./attention.js";
export type { AttentionContext, SelfAttentionOptions } from "./attention.js";
export { GeluMLP, SwiGLUMLP } from "./mlp.js";
export type { MLPOptions } from "./mlp.js";
export {
  LoRALinear,
  isFrozenLinear,
  LoRAFactor,
  addLoRA,
  loraLayers,
  loraParameters,
  mergeLoRA,
  unmergeLoRA,
  setLoRAEnabled,
  getLoRAFactors,
  setLoRAFactors,
  countParameters,
  formatTrainableParameters,
} from "./lora.js";
export type { FrozenLinear, LoRABase, LoRAOptions, AddLoRAOptions, LoRAFactorData, ParameterCounts } from "./lora.js";
