// Named model sizes, so `tsgpt train --model llama-15m` needs no config file.
//
//   gpt-mini    GPT-2 architecture, 4 layers × 4 heads × 128 dims, 64 context (vocab from the tokenizer)
//   llama-15m   llama2.c's 15M "stories" model: 288 dims, 6 layers, 6 heads, 256 context, 32,000 vocab
//   llama-110m  llama2.c's 110M model: 768 dims, 12 layers, 12 heads, 1,024 context, 32,000 vocab
import type { GPT2Config, LlamaConfig, ModelConfig } from "./config.js";
import { ConfigError, configFromJSON } from "./config.js";

export interface PresetOverrides {
  /** Vocabulary size (from the tokenizer). Required for gpt-mini. */
  vocabSize?: number;
  /** Context length (n_positions / max_position_embeddings). */
  context?: number;
  /** Any other config.json field, by its Hugging Face name (e.g. { num_key_value_heads: 2 }). */
  config?: Record<string, unknown>;
}

/** Each preset's config.json fields (gpt-mini has no vocab_size: it comes from the tokenizer). */
const PRESETS: Record<string, () => Omit<GPT2Config, "vocab_size"> | LlamaConfig> = {
  "gpt-mini": () => ({
    model_type: "gpt2",
    n_embd: 128,
    n_layer: 4,
    n_head: 4,
    n_positions: 64,
    layer_norm_epsilon: 1e-5,
    activation_function: "gelu_new",
    tie_word_embeddings: true,
    bias: true,
  }),
  "llama-15m": () => llamaPreset(288, 6, 6, 768, 256),
  "llama-110m": () => llamaPreset(768, 12, 12, 2048, 1024),
};

function llamaPreset(hidden: number, layers: number, heads: number, intermediate: number, context: number): LlamaConfig {
  return {
    model_type: "llama",
    vocab_size: 32000,
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: heads,
    max_position_embeddings: context,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

/** The names of the presets. */
export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** The validated config of a preset with overrides applied. */
export function presetConfig(name: string, overrides: PresetOverrides = {}): ModelConfig {
  const make = PRESETS[name];
  if (!make) throw new Error(`unknown model preset '${name}' (known: ${presetNames().join(", ")})`);
  const base: Record<string, unknown> = { ...make(), ...(overrides.config ?? {}) };
  const llama = base.model_type === "llama";
  if (overrides.vocabSize !== undefined) base.vocab_size = overrides.vocabSize;
  if (overrides.context !== undefined) base[llama ? "max_position_embeddings" : "n_positions"] = overrides.context;
  if (base.vocab_size === undefined) {
    throw new ConfigError(`preset '${name}'`, "vocab_size", "must be given (the tokenizer's vocabulary size: overrides.vocabSize)");
  }
  return configFromJSON(base, `preset '${name}'`);
}
