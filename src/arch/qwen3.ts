// Qwen3 (Qwen team, 2025), as Hugging Face's Qwen3ForCausalLM names its weights.
//
// A Llama block with an RMSNorm over each head of q and of k, before RoPE, and a head size of
// its own (head_dim, 128 by default, not hidden_size / num_attention_heads):
//
//   q = rope(q_norm(q_proj(n).view(heads, head_dim)))     k = rope(k_norm(k_proj(n).view(kv_heads, head_dim)))
//
// attention_bias (false in released checkpoints) puts biases on q, k, v and o. Module names are
// Llama's plus self_attn.q_norm / self_attn.k_norm (GGUF: blk.N.attn_q_norm / attn_k_norm).
import type { Architecture } from "./architecture.js";
import type { JsonFields } from "./config_fields.js";
import { llama, parseLlamaLikeFields, type LlamaConfig } from "./llama.js";

/** Qwen3 config (transformers' Qwen3Config): Llama's fields, head_dim always set, attention_bias. */
export interface Qwen3Config extends Omit<LlamaConfig, "model_type" | "rope_scaling" | "head_dim"> {
  model_type: "qwen3";
  head_dim: number;
  attention_bias: boolean;
}

// Defaults are those of transformers' Qwen3Config (head_dim 128, context 32768, eps 1e-6, untied).
function parseConfig(f: JsonFields): Qwen3Config {
  f.oneOf("hidden_act", ["silu"], "silu", " (Qwen3's gated MLP)");
  if (f.optBool("use_sliding_window") === true) f.fail("use_sliding_window", "false (Qwen3's sliding-window attention is not supported)");
  if (f.get("rope_scaling") !== undefined) f.fail("rope_scaling", "null (no RoPE scaling is supported for Qwen3)");
  const c = parseLlamaLikeFields(f, "qwen3", {
    maxPositions: 32768,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
    headDim: 128,
  });
  return { ...c, head_dim: c.head_dim!, attention_bias: f.bool("attention_bias", false) };
}

export const qwen3: Architecture<Qwen3Config> = {
  modelType: "qwen3",
  hfClass: "Qwen3ForCausalLM",
  ggufArch: "qwen3",
  ggufPairsRotary: false,
  paths: {
    ...llama.paths,
    layer: { ...llama.paths.layer, attn_q_norm: "self_attn.q_norm", attn_k_norm: "self_attn.k_norm" },
  },
  // transformers registers q, k, v, o, then q_norm, k_norm, then the MLP and the block's norms.
  order: {
    ...llama.order,
    layer: [
      "attn_q",
      "attn_k",
      "attn_v",
      "attn_output",
      "attn_q_norm",
      "attn_k_norm",
      "ffn_gate",
      "ffn_up",
      "ffn_down",
      "attn_norm",
      "ffn_norm",
    ],
  },
  ignoredTensors: llama.ignoredTensors,
  parseConfig,
  dims: (c) => llama.dims({ ...c, model_type: "llama" }),
  layout: (c) => ({ ...llama.layout({ ...c, model_type: "llama" }), qkNorm: true, qkvBias: c.attention_bias, outBias: c.attention_bias }),
  hfConfigExtras: () => ({ hidden_act: "silu", use_sliding_window: false }),
  contextField: "max_position_embeddings",
  lora: llama.lora,
  transposedInFiles: [],
};
