// Model configs in Hugging Face's config.json vocabulary (LlamaConfig, GPT2Config), with
// defaults filled in and every constraint checked up front, so a bad config fails with a
// message naming the field rather than deep inside a matmul. The rules live with each
// architecture's description (src/arch/), the same ones a Hugging Face directory is read with.
import { parseModelConfig, type GPT2Config, type LlamaConfig, type ModelConfig } from "../arch/index.js";

export type { GPT2Config, LlamaConfig, ModelConfig };
export { ConfigError, contextLength } from "../arch/index.js";

/**
 * Parses a config.json object into a validated ModelConfig. `source` (usually the file name)
 * starts every error message. Unknown fields are ignored, as transformers does.
 */
export function configFromJSON(obj: unknown, source = "config.json"): ModelConfig {
  return parseModelConfig(obj, source);
}

/**
 * Checks the constraints the model code relies on; returns the config with transformers'
 * defaults filled in for the optional fields it leaves out (a copy: the argument is not changed).
 */
export function validateConfig<C extends ModelConfig>(config: C, source = "config"): C {
  return parseModelConfig(config, source) as C;
}
