// Qwen2 / Qwen2.5 (Qwen team, 2024), as Hugging Face's Qwen2ForCausalLM names its weights.
//
// A Llama block with biases on the q, k and v projections (not on o_proj, not in the MLP):
//
//   per layer:  q, k, v = q_proj(n) + b_q, k_proj(n) + b_k, v_proj(n) + b_v     n = input_layernorm(x)
//               x = x + o_proj(attention(rope(q), rope(k), v))
//               x = x + down_proj(silu(gate_proj(n)) ⊙ up_proj(n))               n = post_attention_layernorm(x)
//
// The module names are Llama's. Qwen2's sliding-window option (use_sliding_window, off in every
// released checkpoint) is refused rather than ignored.
import type { Architecture } from "./architecture.js";
import type { JsonFields } from "./config_fields.js";
import { llama, parseLlamaLikeFields, type LlamaConfig } from "./llama.js";

/** Qwen2 config: Llama's fields under the same names (transformers' Qwen2Config). */
export interface Qwen2Config extends Omit<LlamaConfig, "model_type"> {
  model_type: "qwen2";
}

// Defaults are those of transformers' Qwen2Config (context 32768, eps 1e-6, untied).
function parseConfig(f: JsonFields): Qwen2Config {
  f.oneOf("hidden_act", ["silu"], "silu", " (Qwen2's gated MLP)");
  if (f.optBool("use_sliding_window") === true) f.fail("use_sliding_window", "false (Qwen2's sliding-window attention is not supported)");
  if (f.get("rope_scaling") !== undefined) f.fail("rope_scaling", "null (no RoPE scaling is supported for Qwen2)");
  return parseLlamaLikeFields(f, "qwen2", { maxPositions: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
}

export const qwen2: Architecture<Qwen2Config> = {
  modelType: "qwen2",
  hfClass: "Qwen2ForCausalLM",
  ggufArch: "qwen2",
  ggufPairsRotary: false,
  paths: llama.paths,
  order: llama.order,
  ignoredTensors: llama.ignoredTensors,
  parseConfig,
  dims: (c) => llama.dims({ ...c, model_type: "llama" }),
  layout: (c) => ({ ...llama.layout({ ...c, model_type: "llama" }), qkvBias: true }),
  hfConfigExtras: () => ({ hidden_act: "silu", use_sliding_window: false }),
  contextField: "max_position_embeddings",
  lora: llama.lora,
  transposedInFiles: [],
};
