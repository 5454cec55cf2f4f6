// Tiny configs of each Llama-like family, shared by the architecture tests.
import type { ModelConfig } from "../../src/models/index.js";

const base = {
  vocab_size: 23,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
};

export const FAMILIES: Array<{
  name: string;
  config: ModelConfig & { vocab_size: number; num_hidden_layers: number; tie_word_embeddings: boolean };
}> = [
  { name: "Llama (GQA, untied)", config: { model_type: "llama", ...base, tie_word_embeddings: false } },
  {
    name: "Llama 3 (rope_scaling llama3, tied)",
    config: {
      model_type: "llama",
      ...base,
      rope_theta: 500,
      tie_word_embeddings: true,
      rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
    },
  },
  { name: "Qwen2 (q/k/v biases, tied)", config: { model_type: "qwen2", ...base, tie_word_embeddings: true } },
  // head_dim 8 with 4 heads: q is 32 wide for a hidden size of 16.
  {
    name: "Qwen3 (q/k RMSNorm, head_dim 8 ≠ 16/4)",
    config: { model_type: "qwen3", ...base, head_dim: 8, attention_bias: false, tie_word_embeddings: true },
  },
  // A window of 3 over 10-token sequences: most queries lose keys to it.
  { name: "Mistral (sliding window 3)", config: { model_type: "mistral", ...base, tie_word_embeddings: false, sliding_window: 3 } },
];
