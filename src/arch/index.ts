// Architecture descriptions: one file per model family; see architecture.ts.
export type {
  Architecture,
  BlockLayout,
  RopeScaling,
  GlobalRole,
  HFModulePaths,
  LayerRole,
  ModelDims,
  ModuleOrder,
} from "./architecture.js";
export { ConfigError, JsonFields, isObject } from "./config_fields.js";
export type { Json, SpecialTokenIds } from "./config_fields.js";
export { llama, type LlamaConfig } from "./llama.js";
export { gpt2, type GPT2Config } from "./gpt2.js";
export { qwen2, type Qwen2Config } from "./qwen2.js";
export { mistral, type MistralConfig } from "./mistral.js";
export { qwen3, type Qwen3Config } from "./qwen3.js";
export { ARCHITECTURES, architectureOf, contextLength, parseModelConfig, type ModelConfig } from "./registry.js";
export {
  canonicalName,
  checkTensors,
  hasGlobalRole,
  isIgnoredTensor,
  isTransposedInFiles,
  modulePath,
  roleOfName,
  roleShapes,
  tensorSpecs,
} from "./tensors.js";
export type { Role, TensorSpec } from "./tensors.js";
