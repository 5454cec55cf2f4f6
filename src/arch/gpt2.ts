// GPT-2 (Radford et al., 2019), as Hugging Face's GPT2LMHeadModel names its weights.
//
//   x = wte[ids] + wpe[positions]
//   for each block:  x = x + c_proj(attention(split(c_attn(ln_1(x)))))     one fused q/k/v projection
//                    x = x + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(x))))
//   logits = ln_f(x) · wteᵀ        (the head is always the token embedding)
//
// Learned position embeddings, LayerNorm, GELU in its tanh form ("gelu_new"). `bias: false`
// (nanoGPT's option, a tsgpt extension of the config) drops every bias.
import type { Architecture } from "./architecture.js";
import type { JsonFields, SpecialTokenIds } from "./config_fields.js";

/** GPT-2 config, with the names of Hugging Face's config.json. */
export interface GPT2Config extends SpecialTokenIds {
  model_type: "gpt2";
  vocab_size: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_positions: number;
  n_inner?: number | null; // default 4 * n_embd
  layer_norm_epsilon: number;
  activation_function?: string; // "gelu_new" (tanh form) by default
  tie_word_embeddings?: boolean; // true by default
  bias?: boolean; // tsgpt extension: false drops every bias (nanoGPT's option); default true
}

// Defaults are those of transformers' GPT2Config (which ties lm_head to the token embedding).
// n_inner stays as given: absent or null both mean 4 * n_embd.
function parseConfig(f: JsonFields): GPT2Config {
  const inner = f.obj.n_inner;
  const c: GPT2Config = {
    model_type: "gpt2",
    vocab_size: f.positiveInt("vocab_size"),
    n_embd: f.positiveInt("n_embd"),
    n_layer: f.layerCount("n_layer"),
    n_head: f.positiveInt("n_head"),
    n_positions: f.positiveInt("n_positions", 1024),
    ...(inner === null ? { n_inner: null } : inner !== undefined ? { n_inner: f.positiveInt("n_inner") } : {}),
    layer_norm_epsilon: f.positiveNumber("layer_norm_epsilon", 1e-5),
    activation_function: f.oneOf("activation_function", ["gelu_new", "gelu_pytorch_tanh"], "gelu_new", " (the tanh form of GELU)"),
    tie_word_embeddings: f.bool("tie_word_embeddings", true),
    bias: f.bool("bias", true), // tsgpt's extension: false drops every bias, as nanoGPT can
    ...f.specialTokenIds(),
  };
  f.divides("n_head", c.n_head, "n_embd", c.n_embd);
  if (!c.tie_word_embeddings) f.fail("tie_word_embeddings", "true (tsgpt's GPT-2 uses the token embedding as its lm_head)");
  return c;
}

export const gpt2: Architecture<GPT2Config> = {
  modelType: "gpt2",
  hfClass: "GPT2LMHeadModel",
  ggufArch: "gpt2",
  ggufPairsRotary: false,
  paths: {
    global: { token_embd: "transformer.wte", position_embd: "transformer.wpe", output_norm: "transformer.ln_f", output: "lm_head" },
    layerPrefix: "transformer.h",
    layer: {
      attn_norm: "ln_1",
      attn_qkv: "attn.c_attn",
      attn_output: "attn.c_proj",
      ffn_norm: "ln_2",
      ffn_up: "mlp.c_fc",
      ffn_down: "mlp.c_proj",
    },
  },
  order: {
    before: ["token_embd", "position_embd"],
    layer: ["attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"],
    after: ["output_norm"],
  },
  // The causal-mask buffers older transformers versions saved.
  ignoredTensors: [/\.attn\.(masked_)?bias$/],
  parseConfig,
  dims: (c) => ({
    vocabSize: c.vocab_size,
    hidden: c.n_embd,
    layers: c.n_layer,
    heads: c.n_head,
    kvHeads: c.n_head,
    headDim: c.n_embd / c.n_head,
    intermediate: c.n_inner ?? 4 * c.n_embd,
    context: c.n_positions,
  }),
  layout: (c) => {
    const bias = c.bias ?? true;
    return {
      norm: "layer",
      eps: c.layer_norm_epsilon,
      normBias: bias,
      qkv: "fused",
      qkNorm: false,
      qkvBias: bias,
      outBias: bias,
      mlp: "plain",
      mlpBias: bias,
      activation: "gelu_tanh",
      positions: "learned",
      ropeTheta: 0,
      ropeScaling: null,
      slidingWindow: null,
      tiedEmbeddings: true,
    };
  },
  hfConfigExtras: () => ({}),
  contextField: "n_positions",
  lora: { defaults: ["c_attn"], targetable: ["c_attn", "c_proj", "c_fc"] },
  transposedInFiles: ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"],
};
