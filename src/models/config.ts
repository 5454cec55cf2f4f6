// Model configs in Hugging Face's config.json vocabulary (LlamaConfig, GPT2Config), with
// defaults filled in and every constraint checked up front, so a bad config fails with a
// message naming the field rather than deep inside a matmul. The rules themselves live in
// src/formats/model_config.ts, the same ones a Hugging Face directory is read with.
import type { GPT2Config, LlamaConfig, ModelConfig } from "../formats/types.js";
import { normalizeModelConfig } from "../formats/model_config.js";

export type { GPT2Config, LlamaConfig, ModelConfig };
export { ConfigError } from "../formats/model_config.js";

/**
 * Parses a config.json object into a validated ModelConfig. `source` (usually the file name)
 * starts every error message. Unknown fields are ignored, as transformers does.
 */
export function configFromJSON(obj: unknown, source = "config.json"): ModelConfig {
  return normalizeModelConfig(obj, source);
}

/**
 * Checks the constraints the model code relies on; returns the config with transformers'
 * defaults filled in for the optional fields it leaves out (a copy: the argument is not changed).
 */
export function validateConfig<C extends ModelConfig>(config: C, source = "config"): C {
  return normalizeModelConfig(config, source) as C;
}

/** Longest sequence a config allows (n_positions / max_position_embeddings). */
export function contextLength(config: ModelConfig): number {
  return config.model_type === "llama" ? config.max_position_embeddings : config.n_positions;
}
