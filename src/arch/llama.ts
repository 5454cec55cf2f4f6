// Llama (Touvron et al., 2023), as Hugging Face's LlamaForCausalLM names its weights.
//
//   x = embed_tokens[ids]
//   for each layer:  x = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))   n = input_layernorm(x)
//                    x = x + down_proj(silu(gate_proj(n)) ⊙ up_proj(n))                        n = post_attention_layernorm(x)
//   logits = lm_head(norm(x))      (lm_head may be tied to embed_tokens)
//
// Llama 3.1 / 3.2 are this model with rope_scaling {rope_type: "llama3", …} (rescaled rotary
// frequencies, src/nn/rope.ts) and, for 1B / 3B, tied embeddings.
//
// Differences from GPT-2: RMSNorm instead of LayerNorm, no biases, rotary position embeddings
// instead of learned ones, a gated (SwiGLU) MLP, grouped-query attention
// (num_key_value_heads ≤ num_attention_heads), and an lm_head that may be tied or not.
import type { Architecture, RopeScaling } from "./architecture.js";
import { ConfigError, JsonFields, isObject, type SpecialTokenIds } from "./config_fields.js";

/** Llama-family config, with the names of Hugging Face's config.json. */
export interface LlamaConfig extends SpecialTokenIds {
  model_type: "llama";
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  /** Size of each attention head; absent means hidden_size / num_attention_heads (Qwen3 gives it). */
  head_dim?: number;
  /** Llama 3.1+'s rope_scaling (rope_type "llama3"); absent or null for none. */
  rope_scaling?: Llama3RopeScaling | null;
}

/** config.json's rope_scaling for Llama 3.1 / 3.2 (transformers' rope_type "llama3"). */
export interface Llama3RopeScaling {
  rope_type: "llama3";
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

/**
 * Reads rope_scaling: null, or rope_type "llama3" with its four numbers (older files say "type").
 * Other kinds (linear, dynamic, yarn, …) are refused by name rather than ignored.
 */
function parseRopeScaling(f: JsonFields): Llama3RopeScaling | undefined {
  const v = f.get("rope_scaling");
  if (v === undefined) return undefined;
  if (!isObject(v)) return f.fail("rope_scaling", "null or an object");
  const sub = new JsonFields(`${f.source}: rope_scaling`, v);
  const kind = v.rope_type ?? v.type;
  if (kind !== "llama3") {
    throw new ConfigError(
      f.source,
      "rope_scaling.rope_type",
      `expected "llama3" (the only RoPE scaling tsgpt implements), got ${JSON.stringify(kind ?? null)}`,
    );
  }
  const r: Llama3RopeScaling = {
    rope_type: "llama3",
    factor: sub.positiveNumber("factor"),
    low_freq_factor: sub.positiveNumber("low_freq_factor"),
    high_freq_factor: sub.positiveNumber("high_freq_factor"),
    original_max_position_embeddings: sub.positiveInt("original_max_position_embeddings"),
  };
  if (!(r.high_freq_factor > r.low_freq_factor)) sub.fail("high_freq_factor", `a number above low_freq_factor (${r.low_freq_factor})`);
  return r;
}

/** The layout's form of a config's rope_scaling. */
export function ropeScalingOf(c: { rope_scaling?: Llama3RopeScaling | null }): RopeScaling | null {
  const r = c.rope_scaling;
  if (!r) return null;
  return {
    type: "llama3",
    factor: r.factor,
    lowFreqFactor: r.low_freq_factor,
    highFreqFactor: r.high_freq_factor,
    originalContext: r.original_max_position_embeddings,
  };
}

/** The defaults a family's config gives its fields (transformers' values for that family). */
export interface LlamaLikeDefaults {
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** head_dim when config.json leaves it out: a number (Qwen3's 128), or undefined for hidden / heads. */
  headDim?: number;
}

/**
 * Reads the fields Llama and the families built like it (Qwen2, Mistral, …) share, under the
 * same config.json names, with the family's defaults. `source` errors name the file.
 */
export function parseLlamaLikeFields<T extends string>(
  f: JsonFields,
  modelType: T,
  defaults: LlamaLikeDefaults,
): Omit<LlamaConfig, "model_type"> & { model_type: T } {
  const heads = f.positiveInt("num_attention_heads");
  const c = {
    model_type: modelType,
    vocab_size: f.positiveInt("vocab_size"),
    hidden_size: f.positiveInt("hidden_size"),
    intermediate_size: f.positiveInt("intermediate_size"),
    num_hidden_layers: f.layerCount("num_hidden_layers"),
    num_attention_heads: heads,
    num_key_value_heads: f.positiveInt("num_key_value_heads", heads),
    max_position_embeddings: f.positiveInt("max_position_embeddings", defaults.maxPositions),
    rms_norm_eps: f.positiveNumber("rms_norm_eps", defaults.rmsNormEps),
    rope_theta: f.positiveNumber("rope_theta", defaults.ropeTheta),
    tie_word_embeddings: f.bool("tie_word_embeddings", defaults.tieWordEmbeddings),
    ...f.specialTokenIds(),
  };
  const scaling = parseRopeScaling(f);
  if (scaling) Object.assign(c, { rope_scaling: scaling });
  const headDim = f.get("head_dim") !== undefined ? f.positiveInt("head_dim") : defaults.headDim;
  if (headDim !== undefined) Object.assign(c, { head_dim: headDim });
  else f.divides("num_attention_heads", heads, "hidden_size", c.hidden_size);
  const headSize = headDim ?? c.hidden_size / heads;
  if (headSize % 2 !== 0) {
    if (headDim !== undefined) f.fail("head_dim", "an even number (rotary embeddings turn pairs of dimensions)");
    throw new ConfigError(
      f.source,
      "hidden_size",
      `expected hidden_size / num_attention_heads to be even (rotary embeddings turn pairs of dimensions), got ${c.hidden_size} / ${heads} = ${headSize}`,
    );
  }
  f.divides("num_key_value_heads", c.num_key_value_heads, "num_attention_heads", heads);
  return c;
}

// Defaults are those of transformers' LlamaConfig, except the token ids: its bos 1 / eos 2 belong
// to Llama's own vocabulary, so a config without them leaves them to the tokenizer.
function parseConfig(f: JsonFields): LlamaConfig {
  return parseLlamaLikeFields(f, "llama", { maxPositions: 2048, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
}

export const llama: Architecture<LlamaConfig> = {
  modelType: "llama",
  hfClass: "LlamaForCausalLM",
  ggufArch: "llama",
  ggufPairsRotary: true,
  paths: {
    global: { token_embd: "model.embed_tokens", output_norm: "model.norm", output: "lm_head" },
    layerPrefix: "model.layers",
    layer: {
      attn_norm: "input_layernorm",
      attn_q: "self_attn.q_proj",
      attn_k: "self_attn.k_proj",
      attn_v: "self_attn.v_proj",
      attn_output: "self_attn.o_proj",
      ffn_norm: "post_attention_layernorm",
      ffn_gate: "mlp.gate_proj",
      ffn_up: "mlp.up_proj",
      ffn_down: "mlp.down_proj",
    },
  },
  // transformers registers self_attn, mlp, then the two norms.
  order: {
    before: ["token_embd"],
    layer: ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "attn_norm", "ffn_norm"],
    after: ["output_norm", "output"],
  },
  ignoredTensors: [/\.rotary_emb\.inv_freq$/],
  parseConfig,
  dims: (c) => ({
    vocabSize: c.vocab_size,
    hidden: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads: c.num_key_value_heads,
    headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    intermediate: c.intermediate_size,
    context: c.max_position_embeddings,
  }),
  layout: (c) => ({
    norm: "rms",
    eps: c.rms_norm_eps,
    normBias: false,
    qkv: "separate",
    qkNorm: false,
    qkvBias: false,
    outBias: false,
    mlp: "gated",
    mlpBias: false,
    activation: "silu",
    positions: "rope",
    ropeTheta: c.rope_theta,
    ropeScaling: ropeScalingOf(c),
    slidingWindow: null,
    tiedEmbeddings: c.tie_word_embeddings,
  }),
  hfConfigExtras: () => ({ hidden_act: "silu" }),
  contextField: "max_position_embeddings",
  lora: { defaults: ["q_proj", "v_proj"], targetable: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
  transposedInFiles: [],
};
