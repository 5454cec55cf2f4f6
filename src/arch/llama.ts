// Llama (Touvron et al., 2023), as Hugging Face's LlamaForCausalLM names its weights.
//
//   x = embed_tokens[ids]
//   for each layer:  x = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))   n = input_layernorm(x)
//                    x = x + down_proj(silu(gate_proj(n)) ⊙ up_proj(n))                        n = post_attention_layernorm(x)
//   logits = lm_head(norm(x))      (lm_head may be tied to embed_tokens)
//
// Differences from GPT-2: RMSNorm instead of LayerNorm, no biases, rotary position embeddings
// instead of learned ones, a gated (SwiGLU) MLP, grouped-query attention
// (num_key_value_heads ≤ num_attention_heads), and an lm_head that may be tied or not.
import type { Architecture } from "./architecture.js";
import { ConfigError, type JsonFields, type SpecialTokenIds } from "./config_fields.js";

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
}

// Defaults are those of transformers' LlamaConfig, except the token ids: its bos 1 / eos 2 belong
// to Llama's own vocabulary, so a config without them leaves them to the tokenizer.
function parseConfig(f: JsonFields): LlamaConfig {
  const heads = f.positiveInt("num_attention_heads");
  const c: LlamaConfig = {
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
    tie_word_embeddings: f.bool("tie_word_embeddings", false),
    ...f.specialTokenIds(),
  };
  f.divides("num_attention_heads", heads, "hidden_size", c.hidden_size);
  const headSize = c.hidden_size / heads;
  if (headSize % 2 !== 0) {
    throw new ConfigError(f.source, "hidden_size",
      `expected hidden_size / num_attention_heads to be even (rotary embeddings turn pairs of dimensions), got ${c.hidden_size} / ${heads} = ${headSize}`);
  }
  f.divides("num_key_value_heads", c.num_key_value_heads, "num_attention_heads", heads);
  return c;
}

export const llama: Architecture<LlamaConfig> = {
  modelType: "llama",
  hfClass: "LlamaForCausalLM",
  ggufArch: "llama",
  paths: {
    global: { token_embd: "model.embed_tokens", output_norm: "model.norm", output: "lm_head" },
    layerPrefix: "model.layers",
    layer: {
      attn_norm: "input_layernorm",
      attn_q: "self_attn.q_proj", attn_k: "self_attn.k_proj", attn_v: "self_attn.v_proj", attn_output: "self_attn.o_proj",
      ffn_norm: "post_attention_layernorm",
      ffn_gate: "mlp.gate_proj", ffn_up: "mlp.up_proj", ffn_down: "mlp.down_proj",
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
    vocabSize: c.vocab_size, hidden: c.hidden_size, layers: c.num_hidden_layers,
    heads: c.num_attention_heads, kvHeads: c.num_key_value_heads, headDim: c.hidden_size / c.num_attention_heads,
    intermediate: c.intermediate_size, context: c.max_position_embeddings,
  }),
  layout: (c) => ({
    norm: "rms", eps: c.rms_norm_eps, normBias: false,
    qkv: "separate", qkvBias: false, outBias: false,
    mlp: "gated", mlpBias: false, activation: "silu",
    positions: "rope", ropeTheta: c.rope_theta,
    tiedEmbeddings: c.tie_word_embeddings,
  }),
  hfConfigExtras: () => ({ hidden_act: "silu" }),
  contextField: "max_position_embeddings",
  lora: { defaults: ["q_proj", "v_proj"], targetable: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
  transposedInFiles: [],
};
