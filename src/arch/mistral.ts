// Mistral (Jiang et al., 2023), as Hugging Face's MistralForCausalLM names its weights.
//
// Llama's block and module names, with sliding-window attention: the query at position i sees
// only the keys at positions i − W < j ≤ i (W = sliding_window; null means full causal
// attention, as in Mistral 7B v0.2 and later).
//
// GGUF: llama.cpp's converter writes Mistral as its llama architecture (q/k rows permuted) and
// llama.cpp's llama architecture has no sliding window; tsgpt adds llama.attention.sliding_window
// (the key llama.cpp uses for the families it does window) so that a round trip keeps it.
import type { Architecture } from "./architecture.js";
import type { JsonFields } from "./config_fields.js";
import { llama, parseLlamaLikeFields, type LlamaConfig } from "./llama.js";

/** Mistral config: Llama's fields plus sliding_window (transformers' MistralConfig). */
export interface MistralConfig extends Omit<LlamaConfig, "model_type" | "rope_scaling"> {
  model_type: "mistral";
  /** Keys a query sees, itself included; null for full causal attention. */
  sliding_window: number | null;
}

// Defaults are those of transformers' MistralConfig (GQA 32/8, context 4096·32, window 4096).
function parseConfig(f: JsonFields): MistralConfig {
  f.oneOf("hidden_act", ["silu"], "silu", " (Mistral's gated MLP)");
  if (f.get("rope_scaling") !== undefined) f.fail("rope_scaling", "null (no RoPE scaling is supported for Mistral)");
  const window = f.obj.sliding_window === null ? null : f.positiveInt("sliding_window", 4096);
  const c = parseLlamaLikeFields(f, "mistral", { maxPositions: 4096 * 32, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
  return { ...c, sliding_window: window };
}

export const mistral: Architecture<MistralConfig> = {
  modelType: "mistral",
  hfClass: "MistralForCausalLM",
  ggufArch: "llama",
  ggufPairsRotary: true,
  paths: llama.paths,
  order: llama.order,
  ignoredTensors: llama.ignoredTensors,
  parseConfig,
  dims: (c) => llama.dims({ ...c, model_type: "llama" }),
  layout: (c) => ({ ...llama.layout({ ...c, model_type: "llama" }), slidingWindow: c.sliding_window }),
  hfConfigExtras: () => ({ hidden_act: "silu" }),
  contextField: "max_position_embeddings",
  lora: llama.lora,
  transposedInFiles: [],
};
