// The architectures tsgpt knows, and the one entry point from a config object to a validated
// config: config.json files, presets, `--model config.json` and configs built in code all go
// through parseModelConfig, so a config is accepted, refused and defaulted the same way.
import type { Architecture } from "./architecture.js";
import { ConfigError, JsonFields, isObject, type Json } from "./config_fields.js";
import { gpt2, type GPT2Config } from "./gpt2.js";
import { llama, type LlamaConfig } from "./llama.js";
import { qwen2, type Qwen2Config } from "./qwen2.js";
import { mistral, type MistralConfig } from "./mistral.js";
import { qwen3, type Qwen3Config } from "./qwen3.js";

export type ModelConfig = LlamaConfig | GPT2Config | Qwen2Config | MistralConfig | Qwen3Config;

/** Every architecture, by model_type. A new family is one file in this folder plus one line here. */
export const ARCHITECTURES: readonly Architecture<ModelConfig>[] = [llama, gpt2, qwen2, mistral, qwen3] as Architecture<ModelConfig>[];

/** The description of a config's family. */
export function architectureOf(config: { model_type: string }): Architecture<ModelConfig> {
  const arch = ARCHITECTURES.find((a) => a.modelType === config.model_type);
  if (!arch) throw new ConfigError("config", "model_type", `expected ${knownTypes()}, got ${JSON.stringify(config.model_type)}`);
  return arch;
}

function knownTypes(): string {
  const classes = ARCHITECTURES.map((a) => a.hfClass).join(" or ");
  const types = ARCHITECTURES.map((a) => JSON.stringify(a.modelType)).join(" or ");
  return `${classes} (model_type ${types})`;
}

/** Which family a config.json describes: from `architectures` (the class HF builds), else `model_type`. */
function familyOf(f: JsonFields, json: Json): Architecture<ModelConfig> {
  const archs = json.architectures;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === "string")) f.fail("architectures", "a list of class names");
    for (const name of archs as string[]) {
      const found = ARCHITECTURES.find((a) => a.hfClass === name);
      if (found) return found;
    }
  }
  const found = ARCHITECTURES.find((a) => a.modelType === json.model_type);
  if (found) return found;
  const field = archs !== undefined && archs !== null ? "architectures" : "model_type";
  return f.fail(field, knownTypes(), archs ?? json.model_type);
}

/**
 * Checks a config object (parsed config.json, or a config built in code) and returns a clean
 * ModelConfig: known fields only, defaults filled in. `source` (a file path, a preset name)
 * starts every error message. Unknown fields are ignored, as transformers does.
 */
export function parseModelConfig(obj: unknown, source = "config"): ModelConfig {
  if (!isObject(obj))
    throw new ConfigError(
      source,
      "(root)",
      `expected a JSON object, got ${Array.isArray(obj) ? "a list" : (JSON.stringify(obj) ?? "nothing")}`,
    );
  const f = new JsonFields(source, obj);
  return familyOf(f, obj).parseConfig(f);
}

/** Longest sequence a config allows (n_positions / max_position_embeddings). */
export function contextLength(config: ModelConfig): number {
  return architectureOf(config).dims(config).context;
}
