// Model configs in Hugging Face's config.json vocabulary (LlamaConfig, GPT2Config), with
// defaults filled in and every constraint checked up front, so a bad config fails with a
// message naming the field rather than deep inside a matmul.
import type { GPT2Config, LlamaConfig, ModelConfig } from "../formats/types.js";

export type { GPT2Config, LlamaConfig, ModelConfig };

/** A config problem: names the source (file) and the field. */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly field: string, message: string) {
    super(`${source}: config field '${field}' ${message}`);
    this.name = "ConfigError";
  }
}

type Json = Record<string, unknown>;

/** Reads fields of a JSON object with type checks and defaults. */
class Fields {
  constructor(private readonly source: string, private readonly obj: Json) {}

  fail(field: string, message: string): never {
    throw new ConfigError(this.source, field, message);
  }

  positiveInt(field: string, fallback?: number): number {
    const v = this.obj[field] ?? fallback;
    if (v === undefined) this.fail(field, "is missing");
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) this.fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }

  positiveNumber(field: string, fallback: number): number {
    const v = this.obj[field] ?? fallback;
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) this.fail(field, `must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  }

  optBool(field: string): boolean | undefined {
    const v = this.obj[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  optString(field: string): string | undefined {
    const v = this.obj[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") this.fail(field, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A token id, or the first of a list (HF allows eos_token_id: [2, 32000]). */
  optTokenId(field: string): number | undefined {
    let v = this.obj[field];
    if (Array.isArray(v)) v = v[0];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) this.fail(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v;
  }
}

/**
 * Parses a config.json object into a validated ModelConfig. `source` (usually the file name)
 * starts every error message. Unknown fields are ignored, as transformers does.
 */
export function configFromJSON(obj: unknown, source = "config.json"): ModelConfig {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new ConfigError(source, "(root)", "must be a JSON object");
  }
  const json = obj as Json;
  const archs = Array.isArray(json.architectures) ? json.architectures : [];
  const type = json.model_type ?? (archs.includes("LlamaForCausalLM") ? "llama" : archs.includes("GPT2LMHeadModel") ? "gpt2" : undefined);
  const f = new Fields(source, json);
  if (type === "llama") {
    const heads = f.positiveInt("num_attention_heads");
    return validateConfig({
      model_type: "llama",
      vocab_size: f.positiveInt("vocab_size"),
      hidden_size: f.positiveInt("hidden_size"),
      intermediate_size: f.positiveInt("intermediate_size"),
      num_hidden_layers: f.positiveInt("num_hidden_layers"),
      num_attention_heads: heads,
      num_key_value_heads: f.positiveInt("num_key_value_heads", heads),
      max_position_embeddings: f.positiveInt("max_position_embeddings", 2048),
      rms_norm_eps: f.positiveNumber("rms_norm_eps", 1e-6),
      rope_theta: f.positiveNumber("rope_theta", 10000),
      tie_word_embeddings: f.optBool("tie_word_embeddings") ?? false,
      ...tokenIds(f),
    }, source);
  }
  if (type === "gpt2") {
    const nInner = json.n_inner === null || json.n_inner === undefined ? undefined : f.positiveInt("n_inner");
    return validateConfig({
      model_type: "gpt2",
      vocab_size: f.positiveInt("vocab_size"),
      n_embd: f.positiveInt("n_embd"),
      n_layer: f.positiveInt("n_layer"),
      n_head: f.positiveInt("n_head"),
      n_positions: f.positiveInt("n_positions", 1024),
      ...(nInner !== undefined ? { n_inner: nInner } : {}),
      layer_norm_epsilon: f.positiveNumber("layer_norm_epsilon", 1e-5),
      activation_function: f.optString("activation_function") ?? "gelu_new",
      tie_word_embeddings: f.optBool("tie_word_embeddings") ?? true,
      bias: f.optBool("bias") ?? true,
      ...tokenIds(f),
    }, source);
  }
  throw new ConfigError(source, "model_type", `must be "llama" or "gpt2" (or architectures LlamaForCausalLM / GPT2LMHeadModel), got ${JSON.stringify(type ?? null)}`);
}

function tokenIds(f: Fields): Pick<LlamaConfig, "bos_token_id" | "eos_token_id" | "pad_token_id"> {
  const out: Pick<LlamaConfig, "bos_token_id" | "eos_token_id" | "pad_token_id"> = {};
  for (const k of ["bos_token_id", "eos_token_id", "pad_token_id"] as const) {
    const v = f.optTokenId(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Checks the constraints the model code relies on; returns the config unchanged. */
export function validateConfig<C extends ModelConfig>(config: C, source = "config"): C {
  const fail = (field: string, msg: string): never => { throw new ConfigError(source, field, msg); };
  const posInt = (field: string, v: unknown): void => {
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  };
  if (config.model_type === "llama") {
    const c = config as LlamaConfig;
    for (const k of ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "max_position_embeddings"] as const) posInt(k, c[k]);
    if (c.hidden_size % c.num_attention_heads !== 0) fail("num_attention_heads", `(${c.num_attention_heads}) must divide hidden_size (${c.hidden_size})`);
    if ((c.hidden_size / c.num_attention_heads) % 2 !== 0) fail("hidden_size", `/ num_attention_heads must be even for rotary embeddings, got head size ${c.hidden_size / c.num_attention_heads}`);
    if (c.num_key_value_heads > c.num_attention_heads || c.num_attention_heads % c.num_key_value_heads !== 0) {
      fail("num_key_value_heads", `(${c.num_key_value_heads}) must divide num_attention_heads (${c.num_attention_heads})`);
    }
    if (!(c.rms_norm_eps > 0)) fail("rms_norm_eps", `must be positive, got ${c.rms_norm_eps}`);
    if (!(c.rope_theta > 0)) fail("rope_theta", `must be positive, got ${c.rope_theta}`);
    return config;
  }
  if (config.model_type === "gpt2") {
    const c = config as GPT2Config;
    for (const k of ["vocab_size", "n_embd", "n_layer", "n_head", "n_positions"] as const) posInt(k, c[k]);
    if (c.n_inner !== undefined && c.n_inner !== null) posInt("n_inner", c.n_inner);
    if (c.n_embd % c.n_head !== 0) fail("n_head", `(${c.n_head}) must divide n_embd (${c.n_embd})`);
    const act = c.activation_function ?? "gelu_new";
    if (act !== "gelu_new" && act !== "gelu_pytorch_tanh") fail("activation_function", `must be "gelu_new" (the tanh form of GELU), got ${JSON.stringify(act)}`);
    if (c.tie_word_embeddings === false) fail("tie_word_embeddings", "must be true for GPT-2 (its lm_head is the token embedding)");
    if (!(c.layer_norm_epsilon > 0)) fail("layer_norm_epsilon", `must be positive, got ${c.layer_norm_epsilon}`);
    return config;
  }
  return fail("model_type", `must be "llama" or "gpt2", got ${JSON.stringify((config as { model_type?: unknown }).model_type)}`);
}

/** Longest sequence a config allows (n_positions / max_position_embeddings). */
export function contextLength(config: ModelConfig): number {
  return config.model_type === "llama" ? config.max_position_embeddings : config.n_positions;
}
